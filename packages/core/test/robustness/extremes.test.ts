/**
 * The failures reported in issue 11, one test each, with reference values from the textbook
 * formula evaluated in mpmath at 450 digits (enough for terms of size 1e310 to cancel exactly).
 * Tolerance 1e-12 relative (1e-12 absolute below 1); −∞ where the true value is below −MAX_VALUE.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  Beta,
  Categorical,
  Cauchy,
  ChiSquared,
  Dirichlet,
  Gamma,
  HalfCauchy,
  InverseGamma,
  Multinomial,
  NegativeBinomial,
  Normal,
  Poisson,
  StudentT,
  Weibull
} from "../../src/distributions/index.ts"
import * as Rng from "../../src/Rng.ts"

const vec = (xs: ReadonlyArray<number>): Float64Array => Float64Array.from(xs)
const MIN = Number.MIN_VALUE
const MAX = Number.MAX_VALUE

describe("log densities at extreme parameters match mpmath", () => {
  const cases: Array<[string, () => number, number]> = [
    // Saddle-point forms, where the direct formula is ∞ − ∞ = NaN.
    ["Gamma(1e308, 1) at 1e308", () => Gamma(1e308, 1).logProb(1e308), -355.5170428542877],
    ["ChiSquared(1e308) at 1e308", () => ChiSquared(1e308).logProb(1e308), -355.8636164445677],
    ["InverseGamma(1e308, 1e308) at 1", () => InverseGamma(1e308, 1e308).logProb(1), 353.6791657878784],
    ["InverseGamma(2.55e70, MAX) at 7.05e237 (β/x needs its rounding error)", () => InverseGamma(2.5508889423356798e70, MAX).logProb(7.047320269522582e237), -3.9914165755928626e41],
    ["Beta(MAX, MAX) at ½ (a + b overflows)", () => Beta(MAX, MAX).logProb(0.5), 355.0121386843272],
    ["Dirichlet([8e307, 8e307]) at [½, ½]", () => Dirichlet([8e307, 8e307]).logProb(vec([0.5, 0.5])), 354.60731478306116],
    ["Dirichlet([1e300, 1e300, 2e300]) at its mode", () => Dirichlet([1e300, 1e300, 2e300]).logProb(vec([0.25, 0.25, 0.5])), 692.0568131443241],
    ["StudentT(1e308) at 0 (νπ overflowed: −∞)", () => StudentT(1e308).logProb(0), -0.9189385332046728],
    // Tiny shapes, where Γ overflows inside betaln or a ratio underflows.
    ["Beta(1e-310, 1e-310) at ½", () => Beta(1e-310, 1e-310).logProb(0.5), -713.1082316475943],
    ["NegativeBinomial(4e-323, ½) at 6 (was +∞)", () => NegativeBinomial(4e-323, 0.5).logProb(6), -748.3112729322892],
    ["StudentT(1e-310, 0, 1e-310) at 0 (√ν·s underflows)", () => StudentT(1e-310, 0, 1e-310).logProb(0), 356.20754223351713],
    ["Poisson(2^-1074) at 1e10 (k/λ overflows)", () => Poisson(MIN).logProb(1e10), -7664659228525.649],
    ["Categorical([2^-1074, MAX]) at 0 (its probability underflows)", () => Categorical([MIN, MAX]).logProb(0), -1454.2227848147652],
    ["Multinomial(2, [2^-1074, MAX]) at [1, 1]", () => Multinomial(2, [MIN, MAX]).logProb(vec([1, 1])), -1453.5296376342053],
    // Counts near 2^53, where log n! − Σ log x_i! loses whole units.
    ["Multinomial(2^53 − 1, [1, 1, 0]) at the mode", () => Multinomial(2 ** 53 - 1, [1, 1, 0]).logProb(vec([(2 ** 53 - 2) / 2, 2 ** 53 / 2, 0])), -18.594191637483277],
    // Overflowing differences and ratios of finite values.
    ["Normal(1e308, 1e308) at −1e308 (x − μ overflows)", () => Normal(1e308, 1e308).logProb(-1e308), -712.1151471753708],
    ["Cauchy(−1e308, 1e308) at MAX", () => Cauchy(-1e308, 1e308).logProb(MAX), -712.5187635761775],
    ["HalfCauchy(2.8e-313) at 4 (x/scale overflows)", () => HalfCauchy(2.79802712957e-313).logProb(4), -722.9043909624113],
    // A diverging end scored as the clamped value.
    ["Gamma(0.01, 1) at 0 = at 2^-1074", () => Gamma(0.01, 1).logProb(0), 732.3961913241254]
  ]
  for (const [name, actual, expected] of cases) {
    it(name, () => {
      expect(Math.abs(actual() - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)))
    })
  }

  it("true values below −MAX_VALUE are −∞, never NaN", () => {
    // Weibull(1.5, ½) at 1e308: −(2e308)^1.5; Gamma(1e308, 1) at 10: −7.06e310 (mpmath).
    expect(Weibull(1.5, 0.5).logProb(1e308)).toBe(-Infinity)
    expect(Gamma(1e308, 1).logProb(10)).toBe(-Infinity)
    expect(Normal(0, 1e-300).logProb(1)).toBe(-Infinity)
  })

  it("a log mass never exceeds 0 near 2^53", () => {
    const d = Multinomial(2 ** 53 - 1, [1, 1, 0])
    for (let a = 2 ** 52 - 50; a < 2 ** 52 + 50; a++) expect(d.logProb(vec([a, 2 ** 53 - 1 - a, 0]))).toBeLessThanOrEqual(0)
  })
})

describe("samplers of the issue's cases", () => {
  it(
    "NegativeBinomial(1e-3, 1e-310) returns 10^4 draws, each an integer with a finite log mass",
    () => {
      const d = NegativeBinomial(1e-3, 1e-310)
      const rng = Rng.make(1)
      for (let i = 0; i < 10_000; i++) {
        const k = d.sample(rng)
        if (!(Number.isInteger(k) && k >= 0 && Number.isFinite(d.logProb(k)))) expect.fail(`draw ${k}`)
      }
    },
    2_000
  )

  it("Beta(1e-310, 1e-310) and Dirichlet([1e-310, 1e-310]) draws are never NaN: half at each end, clamped inside", () => {
    const rng = Rng.make(2)
    const beta = Beta(1e-310, 1e-310)
    const dirichlet = Dirichlet([1e-310, 1e-310])
    let low = 0
    for (let i = 0; i < 10_000; i++) {
      const x = beta.sample(rng)
      if (!(x > 0 && x < 1 && Number.isFinite(beta.logProb(x)))) expect.fail(`Beta draw ${x}`)
      if (x < 0.5) low++
      const v = dirichlet.sample(rng)
      if (!(v[0] > 0 && v[1] > 0 && Number.isFinite(dirichlet.logProb(v)))) expect.fail(`Dirichlet draw ${Array.from(v)}`)
    }
    // Symmetric: the count at the lower end is Binomial(10^4, ½), 5 SE = 250.
    expect(Math.abs(low - 5000)).toBeLessThan(250)
  }, 2_000)

  it("small-shape Gamma and Beta draws never sit where the density is +∞: each has a finite log density, and 0, 1 score as the clamped values", () => {
    const rng = Rng.make(3)
    for (const d of [Gamma(1e-3, 1), Gamma(0.01, 1), Beta(1e-3, 1e-3), Beta(0.01, 0.01)]) {
      for (let i = 0; i < 10_000; i++) {
        const x = d.sample(rng)
        if (!(x > 0 && Number.isFinite(d.logProb(x)))) expect.fail(`${d.family} draw ${x}`)
      }
    }
    expect(Gamma(1e-3, 1).logProb(0)).toBe(Gamma(1e-3, 1).logProb(MIN))
    expect(Beta(1e-3, 1e-3).logProb(0)).toBe(Beta(1e-3, 1e-3).logProb(MIN))
    expect(Beta(1e-3, 1e-3).logProb(1)).toBe(Beta(1e-3, 1e-3).logProb(1 - 2 ** -53))
    expect(Weibull(0.5, 1).logProb(0)).toBe(Weibull(0.5, 1).logProb(MIN))
    expect(ChiSquared(1).logProb(0)).toBe(ChiSquared(1).logProb(MIN))
    expect(Dirichlet([0.5, 2]).logProb(vec([0, 1]))).toBe(Dirichlet([0.5, 2]).logProb(vec([MIN, 1])))
  }, 2_000)
})
