// Statistical tests of ABC against exact ABC posteriors. With the uniform kernel at tolerance ε
// the ABC posterior is π_ε(θ) ∝ π(θ) · P(d(s(x), s(y)) ≤ ε | θ), and each case below has it in
// closed form (or as a finite sum), so an estimate can be compared with the truth at that ε, not
// just with the posterior it tends to.
//
// Normal–Normal. μ ~ N(m0, s0²), yᵢ ~ N(μ, σ²) (i = 1…n, σ known), summary t = ȳ_sim, distance
// |t − ȳ|. Given μ, t ~ N(μ, σₙ²) with σₙ² = σ²/n, so the acceptance probability is
// P(A | μ) = Φ((ȳ + ε − μ)/σₙ) − Φ((ȳ − ε − μ)/σₙ). Swap the order of integration: marginally
// t ~ N(m0, S²) with S² = s0² + σₙ², and μ | t ~ N(m(t), v), v = (1/s0² + 1/σₙ²)⁻¹,
// m(t) = m0 + k(t − m0), k = s0²/S². Acceptance A = {t ∈ [ȳ − ε, ȳ + ε]} depends on t only, so
//   E[μ | A] = m0 + k (E[t | A] − m0),   Var[μ | A] = v + k² Var[t | A],
// with t | A the normal N(m0, S²) truncated to [a, b] = [ȳ − ε, ȳ + ε]: α = (a − m0)/S,
// β = (b − m0)/S, Z = Φ(β) − Φ(α),
//   E[t | A] = m0 + S (φ(α) − φ(β))/Z,   Var[t | A] = S² [1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²],
// and P(A) = Z. As ε → 0, Var[t | A] → 0 and E[t | A] → ȳ: the exact posterior N(m(ȳ), v).
// Φ differences are computed by Simpson's rule on φ (error < 1e-13 here; @stdlib's erfc is not
// a dependency of this package), and the closed form is checked against a direct 2-D quadrature
// of π(μ)·P(A | μ) below.
//
// Tolerances. Rejection ABC's kept draws are iid from π_ε: se(mean) = sd/√k and
// se(sd) = √(m₄ − sd⁴)/(2·sd·√k) (delta method), with k draws. ABC-SMC's final population is, given
// the generations before it, an iid sample from the mixture proposal q_T, self-normalised
// importance-weighted to π_ε with ε = the final tolerance exactly, so the self-normalised IS delta
// method applies (Owen, "Monte Carlo theory, methods and examples", §9.2): Var(μ̂) ≈ Σwᵢ²(xᵢ − μ̂)²,
// Var(σ̂²) ≈ Σwᵢ²((xᵢ − μ̂)² − σ̂²)², se(σ̂) = se(σ̂²)/(2σ̂); this is se ≈ sd/√ESS for equal-ish
// weights. Measured over 30 seeds (N = 1000, ε = 0.1, Normal–Normal) the z-scores had sd 1.10
// (mean) and 0.94 (sd), consistent with 1. Every check is at 4 standard errors (two-sided
// p ≈ 6e-5 per check). Timeouts: 15 s per test, over 5× the slowest measured (1.7 s, the mixture,
// on a loaded 2-core machine; the whole file takes about 8 s). The checks have teeth: leaving
// the Jacobian |dθ/du| out of ABC-SMC's weights fails the three constrained-parameter tests, and
// leaving the discrete kernel's factor out of the proposal density fails the two discrete ones.
import { addr, Bernoulli, Binomial, Dirichlet, DiscreteUniform, Gamma, Multinomial, Normal, Poisson, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import * as Abc from "../src/Abc.ts"
import type { Posterior } from "../src/Posterior.ts"

// ---------------------------------------------------------------------------------------------
// Closed forms
// ---------------------------------------------------------------------------------------------

const phi = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)

/** ∫_a^b f by composite Simpson with m (even) panels. */
const simpson = (f: (x: number) => number, a: number, b: number, m = 2000): number => {
  const h = (b - a) / m
  let s = f(a) + f(b)
  for (let k = 1; k < m; k++) s += (k % 2 === 1 ? 4 : 2) * f(a + k * h)
  return (s * h) / 3
}

/** Φ(b) − Φ(a). */
const normalMass = (a: number, b: number): number => simpson(phi, a, b)

interface NormalNormal {
  readonly m0: number
  readonly s0: number
  readonly sigma: number
  readonly n: number
  readonly ybar: number
}

/** The exact ABC posterior of μ at tolerance ε (derivation in the header): P(A), mean, sd. */
const abcNormal = (c: NormalNormal, eps: number) => {
  const sn2 = c.sigma ** 2 / c.n
  const S = Math.sqrt(c.s0 ** 2 + sn2)
  const v = 1 / (1 / c.s0 ** 2 + 1 / sn2)
  const k = c.s0 ** 2 / S ** 2
  const al = (c.ybar - eps - c.m0) / S, be = (c.ybar + eps - c.m0) / S
  const Z = normalMass(al, be)
  const r = (phi(al) - phi(be)) / Z
  const Et = c.m0 + S * r
  const Vt = S ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - r * r)
  return { mass: Z, mean: c.m0 + k * (Et - c.m0), sd: Math.sqrt(v + k * k * Vt), variance: v + k * k * Vt }
}

/** The exact posterior (ε = 0). */
const exactNormal = (c: NormalNormal) => {
  const sn2 = c.sigma ** 2 / c.n
  const v = 1 / (1 / c.s0 ** 2 + 1 / sn2)
  return { mean: v * (c.m0 / c.s0 ** 2 + c.ybar / sn2), sd: Math.sqrt(v) }
}

/** The ABC posterior mean and sd by 2-D quadrature of π(μ)·P(A | μ) (the check of the closed form). */
const abcNormalQuadrature = (c: NormalNormal, eps: number) => {
  const sn = c.sigma / Math.sqrt(c.n)
  const accept = (mu: number) => normalMass((c.ybar - eps - mu) / sn, (c.ybar + eps - mu) / sn)
  const density = (mu: number) => phi((mu - c.m0) / c.s0) * accept(mu)
  const lo = c.ybar - 10 * sn - eps, hi = c.ybar + 10 * sn + eps
  const z = simpson(density, lo, hi, 1000)
  const mean = simpson((mu) => mu * density(mu), lo, hi, 1000) / z
  const second = simpson((mu) => mu * mu * density(mu), lo, hi, 1000) / z
  return { mean, sd: Math.sqrt(second - mean * mean) }
}

// ---------------------------------------------------------------------------------------------
// Estimates and their standard errors
// ---------------------------------------------------------------------------------------------

interface Estimate {
  readonly mean: number
  readonly sd: number
  readonly seMean: number
  readonly seSd: number
}

/** Mean and sd of draws (equal weights: iid; else self-normalised weights) with delta-method standard errors (header). */
const estimate = (post: Posterior<unknown, unknown>, site: string, f: (x: number) => number = (x) => x): Estimate => {
  const raw = post.draws.get(site)![0]
  const x = raw.map(f)
  const n = x.length
  const w = post.weights?.[0] ?? new Float64Array(n).fill(1 / n)
  let mean = 0
  for (let i = 0; i < n; i++) mean += w[i] * x[i]
  let variance = 0
  for (let i = 0; i < n; i++) variance += w[i] * (x[i] - mean) ** 2
  let seMean2 = 0, seVar2 = 0
  for (let i = 0; i < n; i++) {
    seMean2 += w[i] ** 2 * (x[i] - mean) ** 2
    seVar2 += w[i] ** 2 * ((x[i] - mean) ** 2 - variance) ** 2
  }
  const sd = Math.sqrt(variance)
  return { mean, sd, seMean: Math.sqrt(seMean2), seSd: Math.sqrt(seVar2) / (2 * sd) }
}

/** The checks of every case: mean and sd within 4 standard errors (plus a known bias bound, where stated). */
const expectMatches = (e: Estimate, exact: { mean: number; sd: number }, bias = { mean: 0, sd: 0 }): void => {
  expect(Math.abs(e.mean - exact.mean)).toBeLessThan(4 * e.seMean + bias.mean)
  expect(Math.abs(e.sd - exact.sd)).toBeLessThan(4 * e.seSd + bias.sd)
}

const average = (y: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < y.length; i++) s += y[i]
  return s / y.length
}

// ---------------------------------------------------------------------------------------------
// Normal–Normal
// ---------------------------------------------------------------------------------------------

const nn: NormalNormal = { m0: 0, s0: 2, sigma: 1, n: 10, ybar: 1.2 }
// data with mean exactly 1.2
const ys = Float64Array.from({ length: nn.n }, (_, i) => nn.ybar + (i % 2 === 0 ? 0.3 : -0.3))
const simulator: Model<Float64Array> = function*() {
  const mu = yield* sample("mu", Normal(nn.m0, nn.s0))
  const y = new Float64Array(nn.n)
  for (let i = 0; i < nn.n; i++) y[i] = yield* sample(addr("y", i), Normal(mu, nn.sigma))
  return y
}
const normalOptions = { observed: ys, summary: average, distance: (a: ArrayLike<number>, b: ArrayLike<number>) => Math.abs(a[0] - b[0]) }

describe("closed forms used below", () => {
  it("the truncated-normal form of the Normal–Normal ABC posterior equals a 2-D quadrature of π(μ)·P(A | μ)", () => {
    expect(average(ys)).toBeCloseTo(nn.ybar, 14)
    for (const eps of [0.02, 0.2, 1]) {
      const closed = abcNormal(nn, eps), quadrature = abcNormalQuadrature(nn, eps)
      expect(closed.mean).toBeCloseTo(quadrature.mean, 9)
      expect(closed.sd).toBeCloseTo(quadrature.sd, 9)
    }
  })

  // Var[t | A] ≤ ε²/3 (t | A lies in an interval of width 2ε with a nearly flat density) and
  // √(v + x) − √v ≤ x/(2√v), so sd_ε − sd_0 ≤ k²ε²/(6·sd_0): the gap is O(ε²).
  it("as ε → 0 the ABC posterior tends to the exact posterior, the gap shrinking like ε²", () => {
    const exact = exactNormal(nn)
    const k = nn.s0 ** 2 / (nn.s0 ** 2 + nn.sigma ** 2 / nn.n)
    let previous = Infinity
    for (const eps of [0.4, 0.2, 0.1, 0.05, 0.01]) {
      const gap = abcNormal(nn, eps).sd - exact.sd
      expect(gap).toBeGreaterThan(0)
      expect(gap).toBeLessThan(previous)
      expect(gap).toBeLessThan((k * k * eps * eps) / (6 * exact.sd))
      previous = gap
    }
    expect(abcNormal(nn, 1e-3).mean).toBeCloseTo(exact.mean, 6)
  })
})

describe("Abc.rejection on Normal–Normal", () => {
  it("matches the exact ABC posterior mean and sd at ε = 0.2 within 4 MCSE (iid draws)", () => {
    const eps = 0.2
    const post = Abc.rejectionUnsafe(simulator, { ...normalOptions, simulations: 50_000, tolerance: eps, seed: 11 })
    const stats = Abc.rejectionStats(post)
    const exact = abcNormal(nn, eps)
    expect(post.algorithm).toBe("ABC")
    expect(post.weights).toBeUndefined()
    // the acceptance rate estimates P(A) = Z: binomial se √(Z(1 − Z)/N)
    expect(Math.abs(stats.acceptanceRate - exact.mass)).toBeLessThan(4 * Math.sqrt((exact.mass * (1 - exact.mass)) / 50_000))
    expect(stats.accepted).toBeGreaterThan(2500)
    for (let i = 0; i < stats.accepted; i++) {
      expect(stats.distances[i]).toBeLessThanOrEqual(eps)
      expect(stats.distances[i]).toBe(Math.abs(average(post.returns[0][i]) - nn.ybar))
    }
    expectMatches(estimate(post, "mu"), exact)
  }, 15_000)

  it("a quantile keeps the ⌈q·N⌉ nearest simulations: rejection at the tolerance it picks, draw for draw", () => {
    const byQuantile = Abc.rejectionUnsafe(simulator, { ...normalOptions, simulations: 20_000, quantile: 0.02, seed: 12 })
    const q = Abc.rejectionStats(byQuantile)
    expect(q.accepted).toBe(400) // continuous distances: no ties
    expect(q.tolerance).toBe(Math.max(...q.distances))
    const byTolerance = Abc.rejectionUnsafe(simulator, { ...normalOptions, simulations: 20_000, tolerance: q.tolerance, seed: 12 })
    expect(byTolerance.draws).toEqual(byQuantile.draws)
    expect(Abc.rejectionStats(byTolerance).distances).toEqual(q.distances)
  }, 15_000)

  it("warns when few simulations are accepted, and not otherwise", () => {
    expect(Abc.rejectionStats(Abc.rejectionUnsafe(simulator, { ...normalOptions, simulations: 20_000, quantile: 0.02, seed: 12 })).warnings).toEqual([])
    const few = Abc.rejectionStats(Abc.rejectionUnsafe(simulator, { ...normalOptions, simulations: 2_000, quantile: 0.01, seed: 13 }))
    expect(few.accepted).toBe(20)
    expect(few.warnings.some((w) => w.includes("only 20 of 2000 simulations were accepted"))).toBe(true)
  }, 15_000)
})

describe("Abc.smc on Normal–Normal", () => {
  it("the final population at ε = 0.1 matches the exact ABC posterior at 0.1 within 4 SE from the weights", () => {
    const eps = 0.1
    const post = Abc.smcUnsafe(simulator, { ...normalOptions, particles: 1000, tolerance: eps, parameters: ["mu"], seed: 21 })
    const stats = Abc.smcStats(post)
    expect(post.algorithm).toBe("ABC-SMC")
    expect(stats.stopped).toBe("tolerance")
    expect(stats.tolerance).toBe(eps)
    expect(stats.tolerances[0]).toBe(Infinity)
    for (let t = 1; t < stats.tolerances.length; t++) expect(stats.tolerances[t]).toBeLessThan(stats.tolerances[t - 1])
    expect(stats.parameters).toEqual(["mu"])
    expect(stats.warnings).toEqual([])
    for (const d of stats.distances) expect(d).toBeLessThanOrEqual(eps)
    const w = post.weights![0]
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(stats.ess[stats.ess.length - 1]).toBeGreaterThan(500)
    expectMatches(estimate(post, "mu"), abcNormal(nn, eps))
  }, 15_000)

  it("at a small tolerance (ε = 0.02) it approaches the exact posterior: within 4 SE plus the ABC gap at that ε", () => {
    const eps = 0.02
    const post = Abc.smcUnsafe(simulator, { ...normalOptions, particles: 1000, tolerance: eps, parameters: ["mu"], seed: 22 })
    const exact = exactNormal(nn), abc = abcNormal(nn, eps)
    expect(Abc.smcStats(post).tolerance).toBe(eps)
    const e = estimate(post, "mu")
    expectMatches(e, abc)
    expectMatches(e, exact, { mean: Math.abs(abc.mean - exact.mean), sd: Math.abs(abc.sd - exact.sd) })
    // the ABC gap itself is negligible against the Monte Carlo error here
    expect(Math.abs(abc.sd - exact.sd)).toBeLessThan(0.05 * e.seSd)
  }, 15_000)

  it("the diagonal kernel gives the same posterior", () => {
    const eps = 0.1
    const post = Abc.smcUnsafe(simulator, { ...normalOptions, particles: 1000, tolerance: eps, parameters: ["mu"], kernel: "diagonal", seed: 23 })
    expectMatches(estimate(post, "mu"), abcNormal(nn, eps))
  }, 15_000)
})

// ---------------------------------------------------------------------------------------------
// Discrete, mixed, positive, vector and dependent-support parameters
// ---------------------------------------------------------------------------------------------

const logChoose = (n: number, k: number): number => {
  let s = 0
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i)
  return s
}
const binomialPmf = (k: number, n: number, p: number): number => Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p))

// θ ~ DiscreteUniform(1, 9), y ~ Binomial(30, θ/10), y_obs = 12, d = |y − 12| ≤ 2:
// π_ε(θ) ∝ Σ_{y=10}^{14} Binomial(y; 30, θ/10), a finite sum.
const coin: Model<number> = function*() {
  const theta = yield* sample("theta", DiscreteUniform(1, 9))
  return yield* sample("y", Binomial(30, theta / 10))
}
const coinExact = (() => {
  let z = 0, m = 0, m2 = 0
  const mass: Array<number> = []
  for (let theta = 1; theta <= 9; theta++) {
    let p = 0
    for (let y = 10; y <= 14; y++) p += binomialPmf(y, 30, theta / 10)
    mass.push(p)
    z += p
    m += theta * p
    m2 += theta * theta * p
  }
  return { mean: m / z, sd: Math.sqrt(m2 / z - (m / z) ** 2), p4: mass[3] / z }
})()

describe("discrete parameters", () => {
  it("rejection and SMC on a Binomial with a discrete uniform prior match the exact ABC posterior at ε = 2", () => {
    const rejection = Abc.rejectionUnsafe(coin, { observed: 12, simulations: 20_000, tolerance: 2, seed: 31 })
    expectMatches(estimate(rejection, "theta"), coinExact)
    const smc = Abc.smcUnsafe(coin, { observed: 12, particles: 2000, tolerance: 2, parameters: ["theta"], seed: 32 })
    expect(Abc.smcStats(smc).tolerance).toBe(2)
    expectMatches(estimate(smc, "theta"), coinExact)
    // P(θ = 4) as the mean of an indicator
    const p4 = estimate(smc, "theta", (x) => (x === 4 ? 1 : 0))
    expect(Math.abs(p4.mean - coinExact.p4)).toBeLessThan(4 * p4.seMean)
  }, 15_000)

  // z ~ Bernoulli(1/2), μ | z ~ N(z ? 2 : −2, 1), yᵢ ~ N(μ, 1), n = 5, summary ȳ, ε = 0.1: given z,
  // the Normal–Normal closed form with m0 = ±2, s0 = 1; P(z | A) ∝ P(A | z) = Z_z, and the mixture's
  // moments E[μ | A] = Σ_z P(z | A) E[μ | z, A], E[μ² | A] = Σ_z P(z | A)(Var + mean²)[μ | z, A].
  it("a discrete and a continuous parameter together (a two-component mixture) match the exact ABC posterior", () => {
    const ybar = 0.9, eps = 0.1
    const data = Float64Array.from([0.5, 1.3, 0.7, 1.1, 0.9])
    const mixture: Model<Float64Array> = function*() {
      const z = yield* sample("z", Bernoulli(0.5))
      const mu = yield* sample("mu", Normal(z ? 2 : -2, 1))
      const y = new Float64Array(5)
      for (let i = 0; i < 5; i++) y[i] = yield* sample(addr("y", i), Normal(mu, 1))
      return y
    }
    const one = abcNormal({ m0: 2, s0: 1, sigma: 1, n: 5, ybar }, eps)
    const zero = abcNormal({ m0: -2, s0: 1, sigma: 1, n: 5, ybar }, eps)
    const pz = one.mass / (one.mass + zero.mass)
    const mean = pz * one.mean + (1 - pz) * zero.mean
    const second = pz * (one.variance + one.mean ** 2) + (1 - pz) * (zero.variance + zero.mean ** 2)
    const post = Abc.smcUnsafe(mixture, {
      observed: data,
      summary: average,
      particles: 2000,
      tolerance: eps,
      parameters: ["z", "mu"],
      seed: 33
    })
    expect(Abc.smcStats(post).parameters).toEqual(["z", "mu"])
    const z = estimate(post, "z")
    expect(Math.abs(z.mean - pz)).toBeLessThan(4 * z.seMean)
    expectMatches(estimate(post, "mu"), { mean, sd: Math.sqrt(second - mean * mean) })
  }, 15_000)
})

describe("constrained parameters (the Jacobian of the unconstrained kernel)", () => {
  // rate ~ Gamma(3, 2), yᵢ ~ Poisson(rate), summary S = Σyᵢ (sufficient), ε = 0: the ABC
  // posterior is the exact posterior Gamma(3 + S, 2 + n). The kernel walks on log(rate); leaving
  // out |d rate/du| = rate would give Gamma(2 + S, 2 + n), a mean 0.125 lower (≈ 8 SE here).
  it("a positive parameter: SMC at ε = 0 on a sufficient statistic matches the exact Gamma posterior", () => {
    const counts = [2, 4, 1, 3, 2, 5]
    const total = counts.reduce((a, b) => a + b, 0)
    const poisson: Model<number> = function*() {
      const rate = yield* sample("rate", Gamma(3, 2))
      let s = 0
      for (let i = 0; i < counts.length; i++) s += yield* sample(addr("y", i), Poisson(rate))
      return s
    }
    const shape = 3 + total, rate = 2 + counts.length
    const post = Abc.smcUnsafe(poisson, { observed: total, particles: 2000, tolerance: 0, parameters: ["rate"], seed: 41 })
    const stats = Abc.smcStats(post)
    expect(stats.tolerance).toBe(0)
    expect(stats.tolerances.slice(1).every(Number.isInteger)).toBe(true)
    expectMatches(estimate(post, "rate"), { mean: shape / rate, sd: Math.sqrt(shape) / rate })
  }, 15_000)

  // p ~ Dirichlet(1, 1, 1), c ~ Multinomial(10, p), summary c itself, Euclidean ε = 1: two count
  // vectors with the same total differ in at least two entries when they differ, so distance ≤ 1
  // means c = c_obs, and the ABC posterior is the exact Dirichlet(1 + c_obs).
  it("a simplex parameter (stick-breaking): SMC matches the exact Dirichlet posterior", () => {
    const observed = Float64Array.from([5, 3, 2])
    const multinomial: Model<Float64Array> = function*() {
      const p = yield* sample("p", Dirichlet([1, 1, 1]))
      return yield* sample("c", Multinomial(10, p))
    }
    const post = Abc.smcUnsafe(multinomial, { observed, particles: 2000, tolerance: 1, parameters: ["p"], seed: 42 })
    expect(Abc.smcStats(post).tolerance).toBe(1)
    const alpha = [6, 4, 3], a0 = 13
    for (let k = 0; k < 3; k++) {
      const m = alpha[k] / a0
      expectMatches(estimate(post, `p[${k}]`), { mean: m, sd: Math.sqrt((m * (1 - m)) / (a0 + 1)) })
    }
  }, 15_000)

  // b ~ Gamma(2, 1), a | b ~ Uniform(0, b) (a support that depends on b), yᵢ ~ N(a, 0.5), n = 4,
  // summary ȳ, ε = 0.1. No closed form: SMC is compared with rejection ABC at the same ε (iid),
  // within 4 × the combined standard error √(se₁² + se₂²).
  it("a support that depends on another parameter: SMC agrees with rejection ABC at the same tolerance", () => {
    const eps = 0.1
    const data = Float64Array.from([1.4, 0.9, 1.6, 1.1])
    const nested: Model<Float64Array> = function*() {
      const b = yield* sample("b", Gamma(2, 1))
      const a = yield* sample("a", Uniform(0, b))
      const y = new Float64Array(4)
      for (let i = 0; i < 4; i++) y[i] = yield* sample(addr("y", i), Normal(a, 0.5))
      return y
    }
    const options = { observed: data, summary: average }
    const rejection = Abc.rejectionUnsafe(nested, { ...options, simulations: 40_000, tolerance: eps, seed: 43 })
    const smc = Abc.smcUnsafe(nested, { ...options, particles: 2000, tolerance: eps, parameters: ["a", "b"], seed: 44 })
    for (const site of ["a", "b"]) {
      const r = estimate(rejection, site), s = estimate(smc, site)
      expect(Math.abs(r.mean - s.mean)).toBeLessThan(4 * Math.hypot(r.seMean, s.seMean))
      expect(Math.abs(r.sd - s.sd)).toBeLessThan(4 * Math.hypot(r.seSd, s.seSd))
    }
  }, 15_000)
})
