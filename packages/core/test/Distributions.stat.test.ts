/**
 * Statistical tests of every sampler at fixed seeds, n = 100 000 draws per case.
 *
 * - Moments: |sample mean − μ| < 5·√(σ²/n), and |sample variance − σ²| < 5·SE with
 *   SE = √((m4 − s⁴)/n), estimated from the sample's own fourth central moment m4 (only where
 *   the eighth moment exists, so that estimate is itself stable). A 5-SE band is a two-sided
 *   normal false-alarm rate of about 6e-7 per check.
 * - Goodness of fit at false-alarm rate α = 1e-4 per test: Kolmogorov–Smirnov against a closed-
 *   form CDF for continuous families (critical D ≈ 2.2244/√n), Pearson's chi-square for discrete
 *   families over bins with expected count ≥ 5 (critical value the 1 − 1e-4 quantile of χ²(bins − 1)).
 *   Vector families are tested through their marginals (Beta for Dirichlet, binomial for
 *   Multinomial, normal for MultivariateNormal) and their covariances.
 */
import betainc from "@stdlib/math-base-special-betainc"
import erfc from "@stdlib/math-base-special-erfc"
import gammainc from "@stdlib/math-base-special-gammainc"
import { describe, expect, it } from "@effect/vitest"
import type { Distribution } from "../src/Distribution.ts"
import {
  Bernoulli,
  Beta,
  Binomial,
  Categorical,
  Cauchy,
  ChiSquared,
  Dirichlet,
  DiscreteUniform,
  Exponential,
  Gamma,
  Geometric,
  HalfCauchy,
  HalfNormal,
  InverseGamma,
  Laplace,
  LogNormal,
  Multinomial,
  MultivariateNormal,
  NegativeBinomial,
  Normal,
  Poisson,
  StudentT,
  Uniform,
  Weibull
} from "../src/distributions/index.ts"
import * as Rng from "../src/Rng.ts"
import { chiSquare, chiSquareCritical, ksCritical, ksStatistic, momentErrors } from "./helpers.ts"

const N = 100_000
const ALPHA = 1e-4
const KS_CRITICAL = ksCritical(N, ALPHA)

const draw = <T>(d: Distribution<T>, seed: number, n = N): Array<T> => {
  const rng = Rng.make(seed)
  const out: Array<T> = []
  for (let i = 0; i < n; i++) out.push(d.sample(rng))
  return out
}

/** The moment checks of the module doc; `which` says which moments exist well enough to test. */
const checkMoments = (xs: ArrayLike<number>, mean: number, variance: number, which: "both" | "mean"): void => {
  const m = momentErrors(xs, variance)
  expect(Math.abs(m.mean - mean), `mean ${m.mean} vs ${mean} (SE ${m.seMean})`).toBeLessThan(5 * m.seMean)
  if (which === "both") {
    expect(Math.abs(m.variance - variance), `variance ${m.variance} vs ${variance} (SE ${m.seVariance})`).toBeLessThan(5 * m.seVariance)
  }
}

const normalCdf = (mu: number, sigma: number) => (x: number) => 0.5 * erfc(-(x - mu) / (sigma * Math.SQRT2))
const studentCdf = (df: number, loc: number, scale: number) => (x: number) => {
  const t = (x - loc) / scale
  const tail = 0.5 * betainc(df / (df + t * t), df / 2, 0.5)
  return t > 0 ? 1 - tail : tail
}

describe("continuous samplers: moments and Kolmogorov–Smirnov", () => {
  const cases: Array<[string, Distribution<number>, (x: number) => number, "both" | "mean" | "none"]> = [
    ["Normal(1, 2)", Normal(1, 2), normalCdf(1, 2), "both"],
    ["LogNormal(0.2, 0.5)", LogNormal(0.2, 0.5), (x) => 0.5 * erfc(-(Math.log(x) - 0.2) / (0.5 * Math.SQRT2)), "both"],
    ["Uniform(-1, 3)", Uniform(-1, 3), (x) => Math.min(1, Math.max(0, (x + 1) / 4)), "both"],
    ["Exponential(2.5)", Exponential(2.5), (x) => -Math.expm1(-2.5 * x), "both"],
    ["Gamma(4.5, 0.5) (Marsaglia–Tsang)", Gamma(4.5, 0.5), (x) => gammainc(0.5 * x, 4.5), "both"],
    ["Gamma(1, 3)", Gamma(1, 3), (x) => gammainc(3 * x, 1), "both"],
    ["Gamma(0.3, 2) (shape < 1 boost)", Gamma(0.3, 2), (x) => gammainc(2 * x, 0.3), "both"],
    ["Beta(2.5, 6)", Beta(2.5, 6), (x) => betainc(x, 2.5, 6), "both"],
    ["Beta(0.4, 0.7) (log-gamma path)", Beta(0.4, 0.7), (x) => betainc(x, 0.4, 0.7), "both"],
    ["Beta(0.1, 3)", Beta(0.1, 3), (x) => betainc(x, 0.1, 3), "both"],
    ["Cauchy(1, 2)", Cauchy(1, 2), (x) => 0.5 + Math.atan((x - 1) / 2) / Math.PI, "none"],
    ["HalfCauchy(1.5)", HalfCauchy(1.5), (x) => (2 / Math.PI) * Math.atan(x / 1.5), "none"],
    ["HalfNormal(2)", HalfNormal(2), (x) => 1 - erfc(x / (2 * Math.SQRT2)), "both"],
    ["StudentT(3.5, 1, 2)", StudentT(3.5, 1, 2), studentCdf(3.5, 1, 2), "mean"],
    ["StudentT(10, -1, 0.5)", StudentT(10, -1, 0.5), studentCdf(10, -1, 0.5), "both"],
    ["StudentT(0.7)", StudentT(0.7), studentCdf(0.7, 0, 1), "none"],
    ["Laplace(1, 0.5)", Laplace(1, 0.5), (x) => (x < 1 ? 0.5 * Math.exp((x - 1) / 0.5) : 1 - 0.5 * Math.exp(-(x - 1) / 0.5)), "both"],
    ["Weibull(0.7, 2)", Weibull(0.7, 2), (x) => -Math.expm1(-Math.pow(x / 2, 0.7)), "both"],
    ["Weibull(2.5, 1)", Weibull(2.5, 1), (x) => -Math.expm1(-Math.pow(x, 2.5)), "both"],
    ["ChiSquared(1)", ChiSquared(1), (x) => gammainc(x / 2, 0.5), "both"],
    ["ChiSquared(7.5)", ChiSquared(7.5), (x) => gammainc(x / 2, 3.75), "both"],
    ["InverseGamma(3, 2)", InverseGamma(3, 2), (x) => gammainc(2 / x, 3, true, true), "mean"],
    ["InverseGamma(9, 4)", InverseGamma(9, 4), (x) => gammainc(4 / x, 9, true, true), "both"],
    ["InverseGamma(0.5, 1)", InverseGamma(0.5, 1), (x) => gammainc(1 / x, 0.5, true, true), "none"]
  ]
  cases.forEach(([name, d, cdf, which], i) => {
    it(`${name}`, () => {
      const xs = draw(d, 1009 * (i + 1))
      expect(xs.filter((x) => !(d.logProb(x) > -Infinity))).toEqual([])
      if (which !== "none") checkMoments(xs, d.mean() as number, d.variance() as number, which)
      expect(ksStatistic(xs, cdf)).toBeLessThan(KS_CRITICAL)
    }, 10_000)
  })
})

/** Chi-square against the family's own mass function (checked against formulas in Distributions.test.ts). */
const checkChiSquare = (xs: ArrayLike<number>, pmf: (k: number) => number, lower: number, upper: number): void => {
  const { statistic, df } = chiSquare(xs, pmf, lower, upper)
  expect(df).toBeGreaterThanOrEqual(1)
  expect(statistic, `X² on ${df} df`).toBeLessThan(chiSquareCritical(df, ALPHA))
}

describe("discrete samplers: moments and chi-square", () => {
  const weights50 = Array.from({ length: 50 }, (_, i) => 1 + ((i * 37) % 11))
  const cases: Array<[string, Distribution<number>, number, number]> = [
    ["Binomial(20, 0.3) (inversion)", Binomial(20, 0.3), 0, 20],
    ["Binomial(34, 0.3) (BTRS, just past the switch)", Binomial(34, 0.3), 0, 34],
    ["Binomial(200, 0.3) (BTRS)", Binomial(200, 0.3), 0, 200],
    ["Binomial(50, 0.85) (reflected inversion)", Binomial(50, 0.85), 0, 50],
    ["Binomial(1000, 0.7) (reflected BTRS)", Binomial(1000, 0.7), 0, 1000],
    ["Binomial(100000, 0.02) (BTRS, large n)", Binomial(100000, 0.02), 0, 100000],
    ["Categorical([0.1, 0, 0.5, 0.4])", Categorical([0.1, 0, 0.5, 0.4]), 0, 3],
    ["Categorical(50 weights)", Categorical(weights50), 0, 49],
    ["Poisson(3.5) (inversion)", Poisson(3.5), 0, Infinity],
    ["Poisson(9.99) (inversion)", Poisson(9.99), 0, Infinity],
    ["Poisson(10) (PTRS)", Poisson(10), 0, Infinity],
    ["Poisson(75) (PTRS)", Poisson(75), 0, Infinity],
    ["Poisson(5000) (PTRS)", Poisson(5000), 0, Infinity],
    ["DiscreteUniform(-2, 5)", DiscreteUniform(-2, 5), -2, 5],
    ["Geometric(0.3)", Geometric(0.3), 0, Infinity],
    ["Geometric(0.02)", Geometric(0.02), 0, Infinity],
    ["NegativeBinomial(2.5, 0.4)", NegativeBinomial(2.5, 0.4), 0, Infinity],
    ["NegativeBinomial(0.7, 0.05)", NegativeBinomial(0.7, 0.05), 0, Infinity],
    ["NegativeBinomial(50, 0.3)", NegativeBinomial(50, 0.3), 0, Infinity]
  ]
  cases.forEach(([name, d, lower, upper], i) => {
    it(`${name}`, () => {
      const xs = draw(d, 7919 * (i + 1))
      checkMoments(xs, d.mean() as number, d.variance() as number, "both")
      checkChiSquare(xs, (k) => Math.exp(d.logProb(k)), lower, upper)
    }, 10_000)
  })

  it("Categorical never draws a zero-weight index", () => {
    expect(draw(Categorical([0.1, 0, 0.5, 0.4]), 3).includes(1)).toBe(false)
    expect(new Set(draw(Categorical([0, 0, 1, 0]), 4, 1000))).toEqual(new Set([2]))
  })

  it("Bernoulli(0.3)", () => {
    const d = Bernoulli(0.3)
    const xs = draw(d, 11).map((b) => (b ? 1 : 0))
    checkMoments(xs, d.mean(), d.variance(), "both")
    checkChiSquare(xs, (k) => Math.exp(d.logProb(k === 1)), 0, 1)
    expect(draw(Bernoulli(0), 12, 1000).every((b) => b === false)).toBe(true)
    expect(draw(Bernoulli(1), 13, 1000).every((b) => b === true)).toBe(true)
  })

  it("degenerate parameters draw their single value", () => {
    expect(draw(Binomial(7, 0), 1, 100).every((k) => k === 0)).toBe(true)
    expect(draw(Binomial(7, 1), 1, 100).every((k) => k === 7)).toBe(true)
    expect(draw(Binomial(0, 0.5), 1, 100).every((k) => k === 0)).toBe(true)
    expect(draw(Poisson(0), 1, 100).every((k) => k === 0)).toBe(true)
    expect(draw(Geometric(1), 1, 100).every((k) => k === 0)).toBe(true)
    expect(draw(NegativeBinomial(3, 1), 1, 100).every((k) => k === 0)).toBe(true)
  })
})

describe("vector samplers: marginals and covariances", () => {
  const column = (xs: ReadonlyArray<Float64Array>, i: number): Float64Array => Float64Array.from(xs, (x) => x[i])

  for (const [alpha, seed] of [[[1.5, 2, 3], 101], [[0.1, 0.3, 0.2], 102]] as const) {
    it(`Dirichlet([${alpha}]): points on the simplex, Beta(α_i, Σα − α_i) marginals`, () => {
      const d = Dirichlet(alpha)
      const xs = draw(d, seed)
      const total = alpha.reduce((a, b) => a + b, 0)
      const mean = d.mean()
      const variance = d.variance()
      expect(xs.filter((x) => !(Math.abs(x[0] + x[1] + x[2] - 1) < 1e-12))).toEqual([])
      alpha.forEach((a, i) => {
        const xi = column(xs, i)
        checkMoments(xi, mean[i], variance[i], "both")
        expect(ksStatistic(xi, (x) => betainc(x, a, total - a))).toBeLessThan(KS_CRITICAL)
      })
    }, 20_000)
  }

  for (const [n, probs, seed] of [[30, [0.2, 0.3, 0.5], 201], [500, [0.1, 0.6, 0.3], 202]] as const) {
    it(`Multinomial(${n}, [${probs}]): totals, Binomial(n, p_i) marginals, covariance −n·p_i·p_j`, () => {
      const d = Multinomial(n, probs)
      const xs = draw(d, seed)
      expect(xs.filter((x) => x[0] + x[1] + x[2] !== n)).toEqual([])
      const mean = d.mean()
      const variance = d.variance()
      probs.forEach((p, i) => {
        const xi = column(xs, i)
        checkMoments(xi, mean[i], variance[i], "both")
        const marginal = Binomial(n, p)
        checkChiSquare(xi, (k) => Math.exp(marginal.logProb(k)), 0, n)
      })
      // Cov(x_0, x_1) = −n·p_0·p_1; its sample estimate has SE √(Var((x_0 − μ_0)(x_1 − μ_1))/n),
      // estimated from the sample.
      const prod = Float64Array.from(xs, (x) => (x[0] - mean[0]) * (x[1] - mean[1]))
      const m = momentErrors(prod, 0)
      expect(Math.abs(m.mean + n * probs[0] * probs[1])).toBeLessThan(5 * Math.sqrt(m.variance / N))
    }, 10_000)
  }

  it("MultivariateNormal: normal marginals and the covariance matrix", () => {
    const mu = [1, -2, 0.5]
    const sigma = [[2, 0.8, -0.5], [0.8, 1, 0.3], [-0.5, 0.3, 1.5]]
    const d = MultivariateNormal(mu, sigma)
    const xs = draw(d, 301)
    for (let i = 0; i < 3; i++) {
      const xi = column(xs, i)
      checkMoments(xi, mu[i], sigma[i][i], "both")
      expect(ksStatistic(xi, normalCdf(mu[i], Math.sqrt(sigma[i][i])))).toBeLessThan(KS_CRITICAL)
    }
    // For Gaussian data the sample covariance s_ij has SE √((Σ_ii Σ_jj + Σ_ij²)/n).
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < i; j++) {
        let s = 0
        for (const x of xs) s += (x[i] - mu[i]) * (x[j] - mu[j])
        const se = Math.sqrt((sigma[i][i] * sigma[j][j] + sigma[i][j] ** 2) / N)
        expect(Math.abs(s / N - sigma[i][j]), `cov(${i}, ${j})`).toBeLessThan(5 * se)
      }
    }
  }, 10_000)
})

describe("samplers are reproducible", () => {
  it("the same seed gives the same draws for every family", () => {
    const ds: Array<Distribution<unknown>> = [
      Gamma(0.5, 1), Beta(2, 3), Poisson(50), Binomial(100, 0.4), NegativeBinomial(3, 0.2), StudentT(4), Dirichlet([1, 2]),
      Multinomial(10, [1, 2]), MultivariateNormal([0, 0], [[1, 0.2], [0.2, 1]])
    ]
    for (const d of ds) expect(draw(d, 5, 50)).toEqual(draw(d, 5, 50))
  })
})
