import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { InvalidDistributionError, type Distribution } from "../src/Distribution.ts"
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
import { integrate, integrateReal, integrateToInfinity } from "./helpers.ts"

const vec = (xs: ReadonlyArray<number>): Float64Array => Float64Array.from(xs)
const density = (d: Distribution<number>) => (x: number): number => Math.exp(d.logProb(x))

// ---------------------------------------------------------------------------------------------
// 1. logProb normalises
// ---------------------------------------------------------------------------------------------

describe("continuous densities integrate to 1", () => {
  // Tanh-sinh quadrature (test/helpers.ts); half-lines and the real line are mapped to (0, 1) by
  // x = a + s·t/(1 − t), with s a typical scale of the distribution.
  const cases: Array<[string, Distribution<number>, (f: (x: number) => number) => number]> = [
    ["Normal(1, 2)", Normal(1, 2), (f) => integrateReal(f, 1, 2)],
    ["LogNormal(0.3, 0.8)", LogNormal(0.3, 0.8), (f) => integrateToInfinity(f, 0, Math.exp(0.3))],
    ["LogNormal(2, 0.1)", LogNormal(2, 0.1), (f) => integrateToInfinity(f, 0, Math.exp(2))],
    ["Uniform(-1, 3)", Uniform(-1, 3), (f) => integrate(f, -1, 3)],
    ["Exponential(2.5)", Exponential(2.5), (f) => integrateToInfinity(f, 0, 0.4)],
    ["Gamma(2.5, 1.5)", Gamma(2.5, 1.5), (f) => integrateToInfinity(f, 0, 1.7)],
    ["Gamma(0.3, 2) (singular at 0)", Gamma(0.3, 2), (f) => integrateToInfinity(f, 0, 0.15)],
    ["Gamma(50, 2)", Gamma(50, 2), (f) => integrateToInfinity(f, 0, 25)],
    ["Beta(2, 3)", Beta(2, 3), (f) => integrate(f, 0, 1)],
    ["Beta(0.5, 0.5) (singular at both ends)", Beta(0.5, 0.5), (f) => integrate(f, 0, 1)],
    ["Beta(0.3, 4)", Beta(0.3, 4), (f) => integrate(f, 0, 1)],
    ["Beta(1, 1)", Beta(1, 1), (f) => integrate(f, 0, 1)],
    ["Cauchy(1, 2)", Cauchy(1, 2), (f) => integrateReal(f, 1, 2)],
    ["HalfCauchy(1.5)", HalfCauchy(1.5), (f) => integrateToInfinity(f, 0, 1.5)],
    ["HalfNormal(2)", HalfNormal(2), (f) => integrateToInfinity(f, 0, 2)],
    ["StudentT(4.5, 1, 2)", StudentT(4.5, 1, 2), (f) => integrateReal(f, 1, 2)],
    ["StudentT(1.5)", StudentT(1.5), (f) => integrateReal(f, 0, 1)],
    ["StudentT(1e6) (large-df constant)", StudentT(1e6), (f) => integrateReal(f, 0, 1)],
    ["Laplace(1, 0.5)", Laplace(1, 0.5), (f) => integrateReal(f, 1, 0.5)],
    ["Weibull(1.5, 2)", Weibull(1.5, 2), (f) => integrateToInfinity(f, 0, 2)],
    ["Weibull(0.6, 1) (singular at 0)", Weibull(0.6, 1), (f) => integrateToInfinity(f, 0, 1)],
    ["ChiSquared(3)", ChiSquared(3), (f) => integrateToInfinity(f, 0, 3)],
    ["ChiSquared(1) (singular at 0)", ChiSquared(1), (f) => integrateToInfinity(f, 0, 1)],
    ["InverseGamma(3, 2)", InverseGamma(3, 2), (f) => integrateToInfinity(f, 0, 1)],
    ["InverseGamma(0.8, 1) (heavy tail)", InverseGamma(0.8, 1), (f) => integrateToInfinity(f, 0, 1)]
  ]
  for (const [name, d, integral] of cases) {
    it(`${name}: ∫ exp(logProb) = 1 to 1e-6`, () => {
      expect(Math.abs(integral(density(d)) - 1)).toBeLessThan(1e-6)
    })
  }

  it("Uniform puts no density outside [low, high]", () => {
    const d = Uniform(-1, 3)
    expect(d.logProb(-1.000001)).toBe(-Infinity)
    expect(d.logProb(3.000001)).toBe(-Infinity)
  })
})

/**
 * Σ_k exp(logProb(k)) from `lower`, stopping at the first k where the rest of the tail is
 * provably below 1e-12: if ρ bounds every later ratio p(j+1)/p(j) (j ≥ k) and ρ < 1, then
 * Σ_{j>k} p(j) ≤ p(k)·(ρ + ρ² + …) = p(k)·ρ/(1 − ρ).
 */
const sumMass = (d: Distribution<number>, lower: number, upper: number, ratioBound: (k: number) => number): number => {
  let total = 0
  for (let k = lower; k <= upper; k++) {
    const p = Math.exp(d.logProb(k))
    total += p
    const rho = ratioBound(k)
    if (rho < 1 && (p * rho) / (1 - rho) < 1e-12) break
  }
  return total
}

describe("discrete masses sum to 1", () => {
  const finite = (): number => Infinity // finite support: sum every value
  // Poisson: p(j+1)/p(j) = λ/(j+1), decreasing in j.
  const poissonRatio = (rate: number) => (k: number) => rate / (k + 1)
  // Negative binomial: p(j+1)/p(j) = q·(j+r)/(j+1), monotone in j towards q, so
  // q·max(1, (k+r)/(k+1)) bounds every later ratio.
  const nbRatio = (r: number, p: number) => (k: number) => (1 - p) * Math.max(1, (k + r) / (k + 1))
  const cases: Array<[string, Distribution<number>, number, number, (k: number) => number]> = [
    ["Binomial(10, 0.3)", Binomial(10, 0.3), 0, 10, finite],
    ["Binomial(1000, 0.01)", Binomial(1000, 0.01), 0, 1000, finite],
    ["Binomial(100000, 0.4)", Binomial(100000, 0.4), 0, 100000, finite],
    ["Binomial(5, 0)", Binomial(5, 0), 0, 5, finite],
    ["Binomial(5, 1)", Binomial(5, 1), 0, 5, finite],
    ["Binomial(0, 0.4)", Binomial(0, 0.4), 0, 0, finite],
    ["Categorical([1, 0, 3, 4])", Categorical([1, 0, 3, 4]), 0, 3, finite],
    ["Poisson(3.5)", Poisson(3.5), 0, Infinity, poissonRatio(3.5)],
    ["Poisson(250)", Poisson(250), 0, Infinity, poissonRatio(250)],
    ["Poisson(0)", Poisson(0), 0, Infinity, poissonRatio(0)],
    ["DiscreteUniform(-2, 5)", DiscreteUniform(-2, 5), -2, 5, finite],
    ["Geometric(0.3)", Geometric(0.3), 0, Infinity, () => 0.7],
    ["Geometric(0.01)", Geometric(0.01), 0, Infinity, () => 0.99],
    ["Geometric(1)", Geometric(1), 0, Infinity, () => 0],
    ["NegativeBinomial(2.5, 0.4)", NegativeBinomial(2.5, 0.4), 0, Infinity, nbRatio(2.5, 0.4)],
    ["NegativeBinomial(0.7, 0.05)", NegativeBinomial(0.7, 0.05), 0, Infinity, nbRatio(0.7, 0.05)],
    ["NegativeBinomial(40, 0.9)", NegativeBinomial(40, 0.9), 0, Infinity, nbRatio(40, 0.9)]
  ]
  for (const [name, d, lower, upper, ratio] of cases) {
    it(`${name}: Σ exp(logProb) = 1 to 1e-10`, () => {
      expect(Math.abs(sumMass(d, lower, upper, ratio) - 1)).toBeLessThan(1e-10)
    })
  }

  it("Bernoulli(p): the two masses sum to 1, including p = 0 and p = 1", () => {
    for (const p of [0, 0.3, 1]) {
      const d = Bernoulli(p)
      expect(Math.exp(d.logProb(true)) + Math.exp(d.logProb(false))).toBeCloseTo(1, 14)
    }
  })

  it("Multinomial: the mass over all count vectors with total n sums to 1", () => {
    for (const [n, probs] of [[7, [0.2, 0.3, 0.5]], [5, [0.5, 0, 0.5]], [0, [1, 2, 3]]] as const) {
      const d = Multinomial(n, probs)
      let total = 0
      for (let a = 0; a <= n; a++) for (let b = 0; a + b <= n; b++) total += Math.exp(d.logProb(vec([a, b, n - a - b])))
      expect(Math.abs(total - 1)).toBeLessThan(1e-12)
    }
  })
})

describe("vector densities integrate to 1", () => {
  it("Dirichlet with K = 2 reduces to a 1-d integral over x ↦ (x, 1 − x)", () => {
    const d = Dirichlet([0.5, 0.7])
    expect(Math.abs(integrate((x) => Math.exp(d.logProb(vec([x, 1 - x]))), 0, 1) - 1)).toBeLessThan(1e-6)
  })

  it("Dirichlet with K = 3 integrates to 1 over the triangle (nested tanh-sinh)", () => {
    for (const alpha of [[1.5, 2, 3], [0.6, 1, 2.5]]) {
      const d = Dirichlet(alpha)
      const inner = (x: number) => integrate((y) => Math.exp(d.logProb(vec([x, y, 1 - x - y]))), 0, 1 - x, 1e-9)
      expect(Math.abs(integrate(inner, 0, 1, 1e-9) - 1)).toBeLessThan(1e-6)
    }
  })

  it("MultivariateNormal integrates to 1 in one and two dimensions", () => {
    const d1 = MultivariateNormal([0.5], [[2]])
    expect(Math.abs(integrateReal((x) => Math.exp(d1.logProb(vec([x]))), 0.5, 1.4) - 1)).toBeLessThan(1e-6)
    const d2 = MultivariateNormal([1, -1], [[2, 0.6], [0.6, 1]])
    const inner = (x: number) => integrateReal((y) => Math.exp(d2.logProb(vec([x, y]))), -1, 1, 1e-9)
    expect(Math.abs(integrateReal(inner, 1, 1.4, 1e-9) - 1)).toBeLessThan(1e-6)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. Reference values
// ---------------------------------------------------------------------------------------------

describe("logProb matches independently computed reference values", () => {
  // Each value is the textbook formula in the comment, evaluated with Python 3's math module
  // (math.lgamma, math.log, math.log1p) on this machine; the three marked "mpmath" use mpmath
  // at 40 digits because double-precision lgamma cannot resolve them. Tolerance: 1e-12 relative.
  const cases: Array<[string, () => number, number]> = [
    // −log σ − ½log(2π) − (x−μ)²/(2σ²)
    ["Normal(1, 2) at 0.5", () => Normal(1, 2).logProb(0.5), -1.643335713764618],
    // −log x − log σ − ½log(2π) − (log x − μ)²/(2σ²)
    ["LogNormal(0.3, 0.8) at 1.7", () => LogNormal(0.3, 0.8).logProb(1.7), -1.2679774440370046],
    ["LogNormal(0.3, 0.8) at 0.2", () => LogNormal(0.3, 0.8).logProb(0.2), -1.9347579612069057],
    // −log(high − low)
    ["Uniform(-1, 3) at 0", () => Uniform(-1, 3).logProb(0), -1.3862943611198906],
    ["Uniform(-1, 3) at 3 (closed end)", () => Uniform(-1, 3).logProb(3), -1.3862943611198906],
    // log λ − λx
    ["Exponential(2.5) at 0.7", () => Exponential(2.5).logProb(0.7), -0.8337092681258449],
    // a·log b − lgamma(a) + (a−1)·log x − b·x
    ["Gamma(2.5, 1.5) at 0.8", () => Gamma(2.5, 1.5).logProb(0.8), -0.8057354271738233],
    ["Gamma(0.5, 2) at 0.1", () => Gamma(0.5, 2).logProb(0.1), 0.7255011938522951],
    // lgamma(a+b) − lgamma(a) − lgamma(b) + (a−1)·log x + (b−1)·log(1−x)
    ["Beta(2, 3) at 0.4", () => Beta(2, 3).logProb(0.4), 0.5469646703818634],
    ["Beta(0.5, 0.5) at 0.9", () => Beta(0.5, 0.5).logProb(0.9), 0.05924291847653507],
    // at x = 0 with a = 1: −log B(1, b) = log b
    ["Beta(1, 3) at 0", () => Beta(1, 3).logProb(0), 1.0986122886681098],
    // log p, log(1 − p)
    ["Bernoulli(0.3) at true", () => Bernoulli(0.3).logProb(true), -1.2039728043259361],
    ["Bernoulli(0.3) at false", () => Bernoulli(0.3).logProb(false), -0.35667494393873245],
    // lgamma(n+1) − lgamma(k+1) − lgamma(n−k+1) + k·log p + (n−k)·log(1−p)
    ["Binomial(10, 0.3) at 3", () => Binomial(10, 0.3).logProb(3), -1.3211512777668908],
    ["Binomial(1000, 0.01) at 12", () => Binomial(1000, 0.01).logProb(12), -2.35217966506241],
    ["Binomial(1e9, 0.4) at 400010000 (mpmath)", () => Binomial(1e9, 0.4).logProb(400010000), -10.775350195209175],
    // log(w_k / Σw)
    ["Categorical([1, 2, 3, 4]) at 2", () => Categorical([1, 2, 3, 4]).logProb(2), -1.2039728043259361],
    // k·log λ − λ − lgamma(k+1)
    ["Poisson(3.5) at 5", () => Poisson(3.5).logProb(5), -2.0236769003052064],
    ["Poisson(1e12) at 1000000500000 (mpmath)", () => Poisson(1e12).logProb(1000000500000), -14.85944932033564],
    // −log(π s) − log(1 + ((x−m)/s)²)
    ["Cauchy(1, 2) at 4", () => Cauchy(1, 2).logProb(4), -3.0165320627509917],
    ["Cauchy(0, 1) at 1e200 (no overflow)", () => Cauchy(0, 1).logProb(1e200), -922.1787670834677],
    // log(2/(π s)) − log(1 + (x/s)²)
    ["HalfCauchy(1.5) at 2", () => HalfCauchy(1.5).logProb(2), -1.8786990609296006],
    // log 2 − log σ − ½log(2π) − x²/(2σ²)
    ["HalfNormal(2) at 1.5", () => HalfNormal(2).logProb(1.5), -1.2001885332046727],
    // lgamma((ν+1)/2) − lgamma(ν/2) − ½log(νπ) − log s − (ν+1)/2·log(1 + z²/ν)
    ["StudentT(4.5, 1, 2) at 3", () => StudentT(4.5, 1, 2).logProb(3), -2.219052282371157],
    ["StudentT(1e6) at 1 (mpmath)", () => StudentT(1e6).logProb(1), -1.4189390332045895],
    // −log(2b) − |x − m|/b
    ["Laplace(1, 0.5) at -0.3", () => Laplace(1, 0.5).logProb(-0.3), -2.6],
    // log(k/λ) + (k−1)·log(x/λ) − (x/λ)^k
    ["Weibull(1.5, 2) at 1.2", () => Weibull(1.5, 2).logProb(1.2), -1.0078528858796663],
    // −(ν/2)·log 2 − lgamma(ν/2) + (ν/2 − 1)·log x − x/2
    ["ChiSquared(3) at 2.5", () => ChiSquared(3).logProb(2.5), -1.710793167267595],
    // a·log b − lgamma(a) − (a+1)·log x − b/x
    ["InverseGamma(3, 2) at 0.8", () => InverseGamma(3, 2).logProb(0.8), -0.22113143362327037],
    // −log(high − low + 1)
    ["DiscreteUniform(-2, 5) at 0", () => DiscreteUniform(-2, 5).logProb(0), -2.0794415416798357],
    // log p + k·log(1 − p)
    ["Geometric(0.3) at 4", () => Geometric(0.3).logProb(4), -2.6306725800808657],
    // lgamma(k+r) − lgamma(k+1) − lgamma(r) + r·log p + k·log(1 − p)
    ["NegativeBinomial(2.5, 0.4) at 3", () => NegativeBinomial(2.5, 0.4).logProb(3), -1.941832073065618],
    ["NegativeBinomial(0.7, 0.05) at 40", () => NegativeBinomial(0.7, 0.05).logProb(40), -5.5188960177895074],
    // lgamma(Σa) − Σ lgamma(a_i) + Σ (a_i − 1)·log x_i
    ["Dirichlet([1.5, 2, 3]) at [.2, .3, .5]", () => Dirichlet([1.5, 2, 3]).logProb(vec([0.2, 0.3, 0.5])), 1.695210995269563],
    // lgamma(n+1) − Σ lgamma(x_i+1) + Σ x_i·log p_i
    ["Multinomial(6, [.2, .3, .5]) at [1, 2, 3]", () => Multinomial(6, [0.2, 0.3, 0.5]).logProb(vec([1, 2, 3])), -2.0024805005437063],
    // −log(2π) − ½log det Σ − ½(x−μ)ᵀΣ⁻¹(x−μ), with the explicit 2×2 inverse
    ["MultivariateNormal 2-d at [.5, .2]", () => MultivariateNormal([1, -1], [[2, 0.6], [0.6, 1]]).logProb(vec([0.5, 0.2])), -3.2590056751322765]
  ]
  for (const [name, actual, expected] of cases) {
    it(name, () => {
      expect(Math.abs(actual() - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)))
    })
  }

  it("edge parameters give exact 0 or −∞, never NaN", () => {
    expect(Bernoulli(0).logProb(true)).toBe(-Infinity)
    expect(Bernoulli(0).logProb(false)).toBeCloseTo(0, 15)
    expect(Bernoulli(1).logProb(true)).toBeCloseTo(0, 15)
    expect(Bernoulli(1).logProb(false)).toBe(-Infinity)
    expect(Binomial(5, 0).logProb(0)).toBeCloseTo(0, 15)
    expect(Binomial(5, 0).logProb(1)).toBe(-Infinity)
    expect(Binomial(5, 1).logProb(5)).toBeCloseTo(0, 15)
    expect(Binomial(5, 1).logProb(4)).toBe(-Infinity)
    expect(Binomial(0, 0.5).logProb(0)).toBeCloseTo(0, 15)
    expect(Poisson(0).logProb(0)).toBeCloseTo(0, 15)
    expect(Poisson(0).logProb(1)).toBe(-Infinity)
    expect(Geometric(1).logProb(0)).toBeCloseTo(0, 15)
    expect(Geometric(1).logProb(1)).toBe(-Infinity)
    expect(NegativeBinomial(2, 1).logProb(0)).toBeCloseTo(0, 15)
    expect(NegativeBinomial(2, 1).logProb(3)).toBe(-Infinity)
    expect(Categorical([1, 0, 1]).logProb(1)).toBe(-Infinity)
    expect(Multinomial(3, [1, 0, 1]).logProb(vec([2, 0, 1]))).toBeCloseTo(Math.log(3 / 8), 14)
    expect(Multinomial(3, [1, 0, 1]).logProb(vec([2, 1, 0]))).toBe(-Infinity)
  })

  it("boundary densities take their limits (finite or −∞), and a diverging end scores as the nearest double inside", () => {
    expect(Beta(2, 2).logProb(0)).toBe(-Infinity)
    expect(Beta(2, 2).logProb(1)).toBe(-Infinity)
    expect(Beta(1, 1).logProb(0)).toBeCloseTo(0, 15)
    expect(Beta(1, 1).logProb(1)).toBeCloseTo(0, 15)
    expect(Beta(3, 1).logProb(1)).toBeCloseTo(Math.log(3), 14)
    // A diverging end is scored as the nearest interior double (the value a sampler clamps to).
    expect(Beta(0.5, 2).logProb(0)).toBe(Beta(0.5, 2).logProb(Number.MIN_VALUE))
    expect(Beta(2, 0.5).logProb(1)).toBe(Beta(2, 0.5).logProb(1 - 2 ** -53))
    expect(Gamma(1, 2).logProb(0)).toBeCloseTo(Math.log(2), 14)
    expect(Gamma(2, 2).logProb(0)).toBe(-Infinity)
    expect(Gamma(0.5, 2).logProb(0)).toBe(Gamma(0.5, 2).logProb(Number.MIN_VALUE))
    expect(Number.isFinite(Gamma(0.5, 2).logProb(0))).toBe(true)
    expect(Exponential(2).logProb(0)).toBeCloseTo(Math.log(2), 14)
    expect(Weibull(1, 2).logProb(0)).toBeCloseTo(-Math.log(2), 14)
    expect(ChiSquared(2).logProb(0)).toBeCloseTo(-Math.log(2), 14)
    expect(InverseGamma(2, 1).logProb(0)).toBe(-Infinity)
    expect(LogNormal(0, 1).logProb(0)).toBe(-Infinity)
    expect(Dirichlet([1, 2, 3]).logProb(vec([0, 0.5, 0.5]))).toBeCloseTo(Math.log(60 * 0.5 * 0.25), 12)
    expect(Dirichlet([2, 2, 3]).logProb(vec([0, 0.5, 0.5]))).toBe(-Infinity)
    expect(Dirichlet([0.5, 2, 3]).logProb(vec([0, 0.5, 0.5]))).toBe(Dirichlet([0.5, 2, 3]).logProb(vec([Number.MIN_VALUE, 0.5, 0.5])))
    // Mixed limits (+∞ from α < 1, −∞ from α > 1) resolve to −∞, not NaN.
    expect(Dirichlet([0.5, 2, 3]).logProb(vec([0, 0, 1]))).toBe(-Infinity)
  })
})

// ---------------------------------------------------------------------------------------------
// 5. logProb is total; constructors validate
// ---------------------------------------------------------------------------------------------

const scalarFamilies: Array<Distribution<number>> = [
  Normal(0, 1), LogNormal(0, 1), Uniform(-1, 3), Exponential(2), Gamma(0.5, 1), Gamma(1, 2), Gamma(3, 1), Beta(0.5, 0.5),
  Beta(1, 1), Beta(2, 3), Binomial(10, 0), Binomial(10, 1), Binomial(10, 0.3), Binomial(0, 0.5), Binomial(1e9, 0.4),
  Categorical([1, 0, 2]), Poisson(0), Poisson(3), Poisson(1e6), Cauchy(0, 1), HalfCauchy(1), HalfNormal(1), StudentT(0.5),
  StudentT(3, 1, 2), StudentT(1e8), Laplace(0, 1), Weibull(0.5, 1), Weibull(1, 1), Weibull(3, 2), ChiSquared(1),
  ChiSquared(2), ChiSquared(5), InverseGamma(0.5, 1), InverseGamma(3, 2), DiscreteUniform(-3, 3), Geometric(1),
  Geometric(0.2), NegativeBinomial(0.5, 1), NegativeBinomial(2.5, 0.3), NegativeBinomial(1e-3, 0.5)
]
const vectorFamilies: Array<Distribution<Float64Array>> = [
  Dirichlet([1, 2, 3]), Dirichlet([0.5, 2, 1]), Dirichlet([0.1, 0.1]), Multinomial(5, [1, 0, 2]), Multinomial(0, [1, 1]),
  MultivariateNormal([0, 1], [[1, 0.5], [0.5, 2]]), MultivariateNormal([3], [[0.25]])
]

const interestingNumber = fc.oneof(
  fc.double(), // includes NaN, ±∞, ±0, subnormals and extremes by default
  fc.integer({ min: -3, max: 40 }),
  fc.constantFrom(0, -0, 1, -1, 0.5, 1 - 2 ** -53, Number.MIN_VALUE, Number.MAX_VALUE, Infinity, -Infinity, Number.NaN)
)
const interestingVector = fc.oneof(
  fc.array(fc.double(), { maxLength: 4 }),
  fc.array(fc.integer({ min: -1, max: 6 }), { minLength: 1, maxLength: 4 }),
  // Points near the simplex, including zeros and exact ends.
  fc.array(fc.constantFrom(0, 1, 0.25, 0.5, Number.MIN_VALUE), { minLength: 2, maxLength: 3 }),
  fc.array(fc.double({ min: 0, max: 1 }), { minLength: 2, maxLength: 3 }).map((xs) => {
    const s = xs.reduce((a, b) => a + b, 0)
    return s > 0 ? xs.map((x) => x / s) : xs
  })
).map((xs) => Float64Array.from(xs))

describe("logProb is total and never NaN", () => {
  for (const d of scalarFamilies) {
    it(`${d.family} (${JSON.stringify(d.support)}): no NaN for any double`, () => {
      fc.assert(fc.property(interestingNumber, (x) => !Number.isNaN(d.logProb(x))), { numRuns: 300 })
    })
  }
  for (const d of vectorFamilies) {
    it(`${d.family} (${JSON.stringify(d.support)}): no NaN for any vector`, () => {
      fc.assert(fc.property(interestingVector, (x) => !Number.isNaN(d.logProb(x))), { numRuns: 300 })
    })
  }
  it("Bernoulli: no NaN for anything, −∞ for non-booleans", () => {
    for (const d of [Bernoulli(0), Bernoulli(0.3), Bernoulli(1)]) {
      fc.assert(
        fc.property(fc.anything(), (x) => {
          const lp = d.logProb(x as boolean)
          return !Number.isNaN(lp) && (typeof x === "boolean" || lp === -Infinity)
        })
      )
    }
  })

  const wrongTyped: ReadonlyArray<unknown> = ["1", "0.5", null, undefined, true, {}, Object.create(null), Symbol("x"), [1], 1n]
  it("wrong-typed values get −∞ from every scalar family (type checked before any comparison)", () => {
    for (const d of scalarFamilies) {
      for (const x of wrongTyped) expect(d.logProb(x as number), `${d.family} at a ${typeof x}`).toBe(-Infinity)
      expect(d.isValue(1)).toBe(true)
      expect(d.isValue("1")).toBe(false)
    }
  })
  it("wrong-typed or wrong-length vectors get −∞", () => {
    for (const d of vectorFamilies) {
      const k = (d.support as { dimension: number }).dimension
      for (const x of [...wrongTyped, [0.5, 0.5], new Float32Array(k), new Float64Array(k + 1), new Float64Array(0)]) {
        expect(d.logProb(x as Float64Array), `${d.family} at a ${typeof x}`).toBe(-Infinity)
      }
      expect(d.isValue(new Float64Array(k))).toBe(true)
      expect(d.isValue([0])).toBe(false)
    }
  })
  it("discrete families give −∞ to non-integers and out-of-range integers", () => {
    const cases: Array<[Distribution<number>, ReadonlyArray<number>]> = [
      [Binomial(10, 0.3), [0.5, -1, 11, 2.000001]],
      [Categorical([1, 2]), [0.5, -1, 2]],
      [Poisson(3), [0.5, -1, 1e308 * 10]],
      [DiscreteUniform(-2, 5), [-3, 6, 0.5]],
      [Geometric(0.3), [-1, 1.5]],
      [NegativeBinomial(2, 0.5), [-1, 1.5]]
    ]
    for (const [d, xs] of cases) for (const x of xs) expect(d.logProb(x), `${d.family} at ${x}`).toBe(-Infinity)
    expect(Multinomial(3, [1, 1]).logProb(vec([1.5, 1.5]))).toBe(-Infinity)
    expect(Multinomial(3, [1, 1]).logProb(vec([4, -1]))).toBe(-Infinity)
    expect(Multinomial(3, [1, 1]).logProb(vec([1, 1]))).toBe(-Infinity)
    expect(Dirichlet([1, 1]).logProb(vec([0.5, 0.6]))).toBe(-Infinity)
  })
})

describe("constructors reject bad parameters with InvalidDistributionError", () => {
  const cases: Array<[() => unknown, string, string]> = [
    [() => LogNormal(0, -1), "LogNormal", "sigma"],
    [() => LogNormal(Number.NaN, 1), "LogNormal", "mu"],
    [() => LogNormal(0, Infinity), "LogNormal", "sigma"],
    [() => Uniform(1, 1), "Uniform", "high"],
    [() => Uniform(Number.NaN, 1), "Uniform", "low"],
    [() => Uniform(0, Infinity), "Uniform", "high"],
    [() => Uniform(-1e308, 1e308), "Uniform", "high"],
    [() => Exponential(0), "Exponential", "rate"],
    [() => Exponential(-1), "Exponential", "rate"],
    [() => Exponential(Number.NaN), "Exponential", "rate"],
    [() => Gamma(0, 1), "Gamma", "shape"],
    [() => Gamma(1, -1), "Gamma", "rate"],
    [() => Gamma(Infinity, 1), "Gamma", "shape"],
    [() => Beta(-1, 1), "Beta", "alpha"],
    [() => Beta(1, Number.NaN), "Beta", "beta"],
    [() => Bernoulli(1.5), "Bernoulli", "p"],
    [() => Bernoulli(-0.1), "Bernoulli", "p"],
    [() => Bernoulli(Number.NaN), "Bernoulli", "p"],
    [() => Binomial(2.5, 0.5), "Binomial", "n"],
    [() => Binomial(-1, 0.5), "Binomial", "n"],
    [() => Binomial(Number.NaN, 0.5), "Binomial", "n"],
    [() => Binomial(10, 1.1), "Binomial", "p"],
    [() => Categorical([]), "Categorical", "probs"],
    [() => Categorical([1, -1]), "Categorical", "probs"],
    [() => Categorical([0, 0]), "Categorical", "probs"],
    [() => Categorical([Number.NaN, 1]), "Categorical", "probs"],
    [() => Categorical([Infinity, 1]), "Categorical", "probs"],
    [() => Poisson(-1), "Poisson", "rate"],
    [() => Poisson(Number.NaN), "Poisson", "rate"],
    [() => Poisson(Infinity), "Poisson", "rate"],
    [() => Cauchy(0, 0), "Cauchy", "scale"],
    [() => Cauchy(Infinity, 1), "Cauchy", "loc"],
    [() => HalfCauchy(-2), "HalfCauchy", "scale"],
    [() => HalfNormal(0), "HalfNormal", "sigma"],
    [() => StudentT(0), "StudentT", "df"],
    [() => StudentT(1, Number.NaN), "StudentT", "loc"],
    [() => StudentT(1, 0, -1), "StudentT", "scale"],
    [() => Laplace(0, -1), "Laplace", "scale"],
    [() => Weibull(0, 1), "Weibull", "shape"],
    [() => Weibull(1, 0), "Weibull", "scale"],
    [() => ChiSquared(-3), "ChiSquared", "df"],
    [() => InverseGamma(0, 1), "InverseGamma", "shape"],
    [() => InverseGamma(1, -1), "InverseGamma", "scale"],
    [() => DiscreteUniform(0.5, 3), "DiscreteUniform", "low"],
    [() => DiscreteUniform(3, 1), "DiscreteUniform", "high"],
    [() => DiscreteUniform(0, Infinity), "DiscreteUniform", "high"],
    [() => DiscreteUniform(-(2 ** 53) + 1, 2 ** 53 - 1), "DiscreteUniform", "high"],
    [() => Geometric(0), "Geometric", "p"],
    [() => Geometric(1.2), "Geometric", "p"],
    [() => NegativeBinomial(0, 0.5), "NegativeBinomial", "r"],
    [() => NegativeBinomial(1, 0), "NegativeBinomial", "p"],
    [() => NegativeBinomial(1, 1.5), "NegativeBinomial", "p"],
    [() => Dirichlet([]), "Dirichlet", "alpha"],
    [() => Dirichlet([1]), "Dirichlet", "alpha"],
    [() => Dirichlet([1, -1]), "Dirichlet", "alpha"],
    [() => Dirichlet([1, Number.NaN]), "Dirichlet", "alpha"],
    [() => Multinomial(-1, [1]), "Multinomial", "n"],
    [() => Multinomial(2.5, [1, 1]), "Multinomial", "n"],
    [() => Multinomial(3, []), "Multinomial", "probs"],
    [() => Multinomial(3, [-1, 2]), "Multinomial", "probs"],
    [() => MultivariateNormal([], []), "MultivariateNormal", "mean"],
    [() => MultivariateNormal([0, Number.NaN], [[1, 0], [0, 1]]), "MultivariateNormal", "mean"],
    [() => MultivariateNormal([0, 0], [[1, 0.5], [0.4, 1]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0, 0], [[1, 2], [2, 1]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0, 0], [[1, 0]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0, 0], [[1, 0], [0]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0, 0], [[1, 0], [0, Number.NaN]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0], [[0]]), "MultivariateNormal", "covariance"],
    [() => MultivariateNormal([0, 0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 1]]), "MultivariateNormal", "covariance"]
  ]
  for (const [make, family, parameter] of cases) {
    it(`${family}: bad ${parameter} (${make.toString().slice(6)})`, () => {
      let error: unknown
      try {
        make()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidDistributionError)
      const e = error as InvalidDistributionError
      expect(e.family).toBe(family)
      expect(e.parameter).toBe(parameter)
      expect(e.message).toContain(`${family}: invalid parameter ${parameter}`)
    })
  }
  it("the error carries the offending value", () => {
    expect(() => Gamma(2, -3)).toThrow(expect.objectContaining({ _tag: "InvalidDistributionError", value: -3 }))
  })
  it("accepts the edge values that are valid", () => {
    expect(() => [Bernoulli(0), Bernoulli(1), Binomial(0, 0), Poisson(0), Geometric(1), NegativeBinomial(0.01, 1), DiscreteUniform(4, 4), Categorical([0, 1])]).not.toThrow()
  })
})

// ---------------------------------------------------------------------------------------------
// Exact draws from a scripted source; metadata
// ---------------------------------------------------------------------------------------------

describe("inversion samplers map scripted uniforms exactly", () => {
  const draw = <T>(d: Distribution<T>, u: number): T => d.sample(Rng.fromUniforms([u]))
  it("continuous inversions", () => {
    expect(draw(Exponential(2), 0.5)).toBeCloseTo(Math.LN2 / 2, 15)
    expect(draw(Uniform(-1, 3), 0.25)).toBeCloseTo(0, 15)
    expect(draw(Weibull(2, 3), Math.exp(-1))).toBeCloseTo(3, 14)
    expect(draw(Laplace(1, 2), 0.25)).toBeCloseTo(1 + 2 * Math.log(0.5), 14)
    expect(draw(Laplace(1, 2), 0.75)).toBeCloseTo(1 - 2 * Math.log(0.5), 14)
    expect(draw(Cauchy(1, 2), 0.75)).toBeCloseTo(3, 14)
    expect(draw(Cauchy(1, 2), 0.25)).toBeCloseTo(-1, 14)
    // Far tail: −cot(π·1e-12)·2 + 1 ≈ −2/(π·1e-12), to full relative precision.
    expect(draw(Cauchy(1, 2), 1e-12) / (1 - 2 / Math.tan(Math.PI * 1e-12))).toBeCloseTo(1, 14)
    expect(draw(HalfCauchy(2), 0.5)).toBeCloseTo(2, 14)
  })
  it("discrete inversions", () => {
    expect(draw(Bernoulli(0.3), 0.29)).toBe(true)
    expect(draw(Bernoulli(0.3), 0.31)).toBe(false)
    // log 0.2 / log 0.5 = 2.32…
    expect(draw(Geometric(0.5), 0.2)).toBe(2)
    expect(draw(Geometric(1), 0.2)).toBeCloseTo(0, 15)
    // Cumulative masses 0.25, 0.5, 1.
    expect(draw(Categorical([1, 1, 2]), 0.3)).toBe(1)
    expect(draw(Categorical([1, 1, 2]), 0.6)).toBe(2)
    expect(draw(Categorical([1, 0, 1]), 0.5)).toBe(0)
    expect(draw(Categorical([1, 0, 1]), 0.6)).toBe(2)
    // Even a source that (wrongly) returns exactly 1 never lands on a zero-mass index.
    expect(draw(Categorical([1, 1, 0]), 1)).toBe(1)
    expect(draw(Bernoulli(1), 1)).toBe(true)
    expect(draw(DiscreteUniform(1, 6), 0.5)).toBe(4)
    expect(draw(DiscreteUniform(1, 6), 1 - 2 ** -53)).toBe(6)
    // Poisson(3) CDF: 0.0498, 0.199, 0.423, 0.647 → the median draw is 3.
    expect(draw(Poisson(3), 0.5)).toBe(3)
    // Binomial(10, 0.3) CDF: 0.028, 0.149, 0.383, 0.650.
    expect(draw(Binomial(10, 0.3), 0.5)).toBe(3)
    expect(draw(Binomial(10, 0.7), 0.5)).toBe(7)
  })
})

describe("metadata", () => {
  it("kind, support and isValue agree with the value type", () => {
    expect(Normal(0, 1).kind).toBe("real")
    expect(Gamma(1, 1).support).toEqual({ _tag: "Positive" })
    expect(Exponential(1).support).toEqual({ _tag: "NonNegative" })
    expect(Beta(1, 1).support).toEqual({ _tag: "Interval", lower: 0, upper: 1 })
    expect(Binomial(4, 0.5).support).toEqual({ _tag: "Integers", lower: 0, upper: 4 })
    expect(Poisson(1).support).toEqual({ _tag: "Integers", lower: 0, upper: Infinity })
    expect(Categorical([1, 1, 1]).support).toEqual({ _tag: "Integers", lower: 0, upper: 2 })
    expect(Bernoulli(0.5).kind).toBe("boolean")
    expect(Bernoulli(0.5).isValue(true)).toBe(true)
    expect(Bernoulli(0.5).isValue(1)).toBe(false)
    expect(Dirichlet([1, 1, 1]).support).toEqual({ _tag: "Simplex", dimension: 3 })
    expect(Multinomial(5, [1, 1]).support).toEqual({ _tag: "IntegerVector", dimension: 2, total: 5 })
    expect(MultivariateNormal([0, 0], [[1, 0], [0, 1]]).support).toEqual({ _tag: "RealVector", dimension: 2 })
    for (const d of vectorFamilies) expect(d.kind).toBe("vector")
  })
  it("moments that do not exist are undefined or +∞ as documented", () => {
    expect(Cauchy(0, 1).mean()).toBeUndefined()
    expect(Cauchy(0, 1).variance()).toBeUndefined()
    expect(HalfCauchy(1).mean()).toBe(Infinity)
    expect(HalfCauchy(1).variance()).toBeUndefined()
    expect(StudentT(1).mean()).toBeUndefined()
    expect(StudentT(1).variance()).toBeUndefined()
    expect(StudentT(1.5).mean()).toBeCloseTo(0, 15)
    expect(StudentT(1.5).variance()).toBe(Infinity)
    expect(InverseGamma(0.5, 1).mean()).toBe(Infinity)
    expect(InverseGamma(0.5, 1).variance()).toBeUndefined()
    expect(InverseGamma(1.5, 1).variance()).toBe(Infinity)
  })
  it("vector moments are fresh Float64Arrays", () => {
    const d = MultivariateNormal([1, 2], [[4, 1], [1, 9]])
    expect(d.mean()).toEqual(vec([1, 2]))
    expect(d.variance()).toEqual(vec([4, 9]))
    d.mean()[0] = 99
    expect(d.mean()[0]).toBe(1)
    expect(Dirichlet([1, 3]).mean()).toEqual(vec([0.25, 0.75]))
    expect(Multinomial(8, [1, 3]).variance()).toEqual(vec([1.5, 1.5]))
  })
  it("Categorical and Multinomial normalise their weights and keep their own copy", () => {
    const w = [2, 6]
    const d = Categorical(w)
    w[0] = 100
    expect(Array.from(d.probs)).toEqual([0.25, 0.75])
    expect(Array.from(Multinomial(1, [1e308, 1e308]).probs)).toEqual([0.5, 0.5])
  })
})
