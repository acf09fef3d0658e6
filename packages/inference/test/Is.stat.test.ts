import { addr, Bernoulli, Beta, Dirichlet, factor, Gamma, Normal, observe, Poisson, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Is from "../src/Is.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import type { Posterior } from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"

// ---------------------------------------------------------------------------------------------
// Closed forms and Monte Carlo standard errors
// ---------------------------------------------------------------------------------------------

const LOG_2PI = Math.log(2 * Math.PI)
const logFactorial = (n: number): number => {
  let s = 0
  for (let k = 2; k <= n; k++) s += Math.log(k)
  return s
}
/** log B(a, b) for positive integers: (a−1)!(b−1)!/(a+b−1)!. */
const logBetaInt = (a: number, b: number): number => logFactorial(a - 1) + logFactorial(b - 1) - logFactorial(a + b - 1)

/** Normal–Normal, known variance: mu ~ N(m0, tau), y_i ~ N(mu, sigma). */
const normalNormal = (ys: ReadonlyArray<number>, m0: number, tau: number, sigma: number) => {
  const n = ys.length
  const precision = 1 / tau ** 2 + n / sigma ** 2
  const mean = (m0 / tau ** 2 + ys.reduce((a, b) => a + b, 0) / sigma ** 2) / precision
  // Jointly y ~ N(m0·1, Σ) with Σ = σ²I + τ²11ᵀ (integrate mu out). det Σ = σ^(2n)(1 + nτ²/σ²)
  // (matrix determinant lemma), and by Sherman–Morrison
  // rᵀΣ⁻¹r = (‖r‖² − τ²(Σr)²/(σ² + nτ²))/σ², r = y − m0.
  const r = ys.map((y) => y - m0)
  const rr = r.reduce((a, b) => a + b * b, 0)
  const rs = r.reduce((a, b) => a + b, 0)
  const logDet = 2 * n * Math.log(sigma) + Math.log(1 + (n * tau ** 2) / sigma ** 2)
  const quad = (rr - (tau ** 2 * rs ** 2) / (sigma ** 2 + n * tau ** 2)) / sigma ** 2
  const logEvidence = -0.5 * n * LOG_2PI - 0.5 * logDet - 0.5 * quad
  return { mean, sd: Math.sqrt(1 / precision), logEvidence }
}

/** The same evidence by the chain rule: Σ log N(y_i; E[mu | y_<i], Var[mu | y_<i] + σ²). */
const normalNormalSequential = (ys: ReadonlyArray<number>, m0: number, tau: number, sigma: number): number => {
  let m = m0, v = tau ** 2, logZ = 0
  for (const y of ys) {
    const s = v + sigma ** 2
    logZ += -0.5 * LOG_2PI - 0.5 * Math.log(s) - (0.5 * (y - m) ** 2) / s
    const k = v / s
    m += k * (y - m)
    v *= 1 - k
  }
  return logZ
}

/**
 * Weighted mean / sd of a site and their delta-method standard errors for self-normalised IS
 * (e.g. Owen, "Monte Carlo theory, methods and examples", §9.2): with normalised weights w,
 * Var(μ̂) ≈ Σ wᵢ²(xᵢ − μ̂)², Var(σ̂²) ≈ Σ wᵢ²((xᵢ − μ̂)² − σ̂²)², se(σ̂) = se(σ̂²)/(2σ̂). For the log
 * evidence, Var(Ẑ)/Z² ≈ Var(W)/(N·E[W]²) ≈ Σ w̄ᵢ² − 1/N = 1/ESS − 1/N, and E[log Ẑ] ≈ log Z − se²/2.
 */
const summary = (post: Posterior<unknown>, site: string) => {
  const x = post.draws.get(site)![0]
  const w = post.weights![0]
  let mean = 0
  for (let i = 0; i < x.length; i++) if (w[i] > 0) mean += w[i] * x[i]
  let variance = 0
  for (let i = 0; i < x.length; i++) if (w[i] > 0) variance += w[i] * (x[i] - mean) ** 2
  let seMean2 = 0, seVar2 = 0, sumW2 = 0
  for (let i = 0; i < x.length; i++) {
    if (w[i] === 0) continue
    seMean2 += w[i] ** 2 * (x[i] - mean) ** 2
    seVar2 += w[i] ** 2 * ((x[i] - mean) ** 2 - variance) ** 2
    sumW2 += w[i] ** 2
  }
  const sd = Math.sqrt(variance)
  return {
    mean,
    sd,
    seMean: Math.sqrt(seMean2),
    seSd: Math.sqrt(seVar2) / (2 * sd),
    seLogEvidence: Math.sqrt(Math.max(0, sumW2 - 1 / x.length))
  }
}

/** The checks every conjugate case makes: 4 SE on mean and sd; 4 SE + the log bias on log Z. */
const expectRecovers = (
  post: Posterior<unknown>,
  site: string,
  exact: { mean: number; sd: number; logEvidence: number }
) => {
  const s = summary(post, site)
  expect(Math.abs(s.mean - exact.mean)).toBeLessThan(4 * s.seMean)
  expect(Math.abs(s.sd - exact.sd)).toBeLessThan(4 * s.seSd)
  const logZ = post.logEvidence![0]
  expect(Math.abs(logZ - exact.logEvidence)).toBeLessThan(4 * s.seLogEvidence + s.seLogEvidence ** 2 / 2)
  return s
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

const nnData = [2.3, 1.1, 3.4, 2.8, 1.9, 2.6, 3.1, 2.2]
const nn = { m0: 1, tau: 2, sigma: 1.5 }
const normalModel: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(nn.m0, nn.tau))
  for (let i = 0; i < nnData.length; i++) yield* observe(addr("y", i), Normal(mu, nn.sigma), nnData[i])
  return mu
}

const flips = [true, false, true, true, true, false, true, true, false, true] // k = 7 of n = 10
const bb = { a: 2, b: 3 }
const coinModel: Model<number> = function*() {
  const p = yield* sample("p", Beta(bb.a, bb.b))
  for (let i = 0; i < flips.length; i++) yield* observe(addr("flip", i), Bernoulli(p), flips[i])
  return p
}

const counts = [2, 4, 1, 3, 2, 5] // n = 6, Σ = 17
const gp = { shape: 3, rate: 2 }
const poissonModel: Model<number> = function*() {
  const rate = yield* sample("rate", Gamma(gp.shape, gp.rate))
  for (let i = 0; i < counts.length; i++) yield* observe(addr("count", i), Poisson(rate), counts[i])
  return rate
}

const exactNormal = normalNormal(nnData, nn.m0, nn.tau, nn.sigma)
const exactCoin = (() => {
  const k = flips.filter((f) => f).length, n = flips.length
  const a = bb.a + k, b = bb.b + n - k
  return {
    mean: a / (a + b),
    sd: Math.sqrt((a * b) / ((a + b) ** 2 * (a + b + 1))),
    logEvidence: logBetaInt(a, b) - logBetaInt(bb.a, bb.b) // B(a+k, b+n−k)/B(a, b)
  }
})()
const exactPoisson = (() => {
  const n = counts.length, s = counts.reduce((a, b) => a + b, 0)
  const shape = gp.shape + s, rate = gp.rate + n
  // p(y) = Π(1/yᵢ!) · βᵅ/Γ(α) · Γ(α + Σy)/(β + n)^(α + Σy)  (a product of negative-binomial terms)
  const logEvidence = -counts.reduce((a, y) => a + logFactorial(y), 0) + gp.shape * Math.log(gp.rate) -
    logFactorial(gp.shape - 1) + logFactorial(shape - 1) - shape * Math.log(rate)
  return { mean: shape / rate, sd: Math.sqrt(shape) / rate, logEvidence }
})()

// ---------------------------------------------------------------------------------------------

describe("closed forms used below", () => {
  it("the Normal–Normal evidence (Sherman–Morrison) equals its chain-rule form", () => {
    expect(exactNormal.logEvidence).toBeCloseTo(normalNormalSequential(nnData, nn.m0, nn.tau, nn.sigma), 10)
  })
})

describe("Is: importance sampling with the prior as proposal recovers conjugate posteriors", () => {
  it("Normal–Normal with known variance: mean, sd and log evidence", () => {
    const post = Is.runUnsafe(normalModel, { particles: 20_000, seed: 11 })
    const s = expectRecovers(post, "mu", exactNormal)
    expect(Is.stats(post).ess).toBeCloseTo(1 / post.weights![0].reduce((a, w) => a + w * w, 0), 6)
    expect(s.seMean).toBeLessThan(0.02) // the test has power: 4 SE ≈ 0.06 vs a posterior sd of 0.5
  }, 10_000)

  it("Beta–Bernoulli: mean, sd and evidence B(a+k, b+n−k)/B(a, b)", () => {
    const post = Is.runUnsafe(coinModel, { particles: 20_000, seed: 12 })
    expectRecovers(post, "p", exactCoin)
  }, 10_000)

  it("Gamma–Poisson: mean, sd and the negative-binomial evidence", () => {
    const post = Is.runUnsafe(poissonModel, { particles: 20_000, seed: 13 })
    expectRecovers(post, "rate", exactPoisson)
  }, 10_000)

  it("normalised weights sum to 1 and log evidence is lse(log w) − log N", () => {
    const post = Is.runUnsafe(normalModel, { particles: 1000, seed: 3 })
    const w = post.weights![0], lw = post.logWeights[0]
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    const max = Math.max(...lw)
    const lse = max + Math.log(lw.reduce((a, b) => a + Math.exp(b - max), 0))
    expect(post.logEvidence![0]).toBeCloseTo(lse - Math.log(1000), 12)
    for (let i = 0; i < 1000; i++) expect(w[i]).toBeCloseTo(Math.exp(lw[i] - lse), 12)
  })
})

describe("Is: a user proposal", () => {
  // q(mu) = N(posterior mean + 0.3, 1.5 × posterior sd): close to the posterior, so ESS is high.
  const proposal: Model<number> = function*() {
    return yield* sample("mu", Normal(exactNormal.mean + 0.3, 1.5 * exactNormal.sd))
  }

  it("weights p(x, y)/q(x) recover the same posterior and evidence, with a much larger ESS", () => {
    const post = Is.runUnsafe(normalModel, { particles: 5000, seed: 21, proposal })
    expectRecovers(post, "mu", exactNormal)
    const prior = Is.runUnsafe(normalModel, { particles: 5000, seed: 21 })
    expect(Is.stats(post).ess).toBeGreaterThan(2 * Is.stats(prior).ess)
    expect(Is.stats(post).missing).toBe(0)
    expect(Is.stats(post).unused).toBe(0)
  })

  it("a proposal that never proposes a target site gives ZeroWeightError saying so", () => {
    const wrong: Model<number> = function*() {
      return yield* sample("nu", Normal(0, 1))
    }
    const error = (() => {
      try {
        Is.runUnsafe(normalModel, { particles: 50, seed: 1, proposal: wrong })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ZeroWeightError)
    expect((error as ZeroWeightError).detail).toContain("missed 50")
  })
})

describe("Is: the prior path records each particle from its visit order", () => {
  it("the same draws, bit for bit, as the user-proposal path (which records through the B-tree) with the prior as proposal", () => {
    // The proposal path draws the proposal with the particle's stream exactly as the prior path
    // does, then scores the model on those choices (no draw), weight = log p(x, y) − log q(x) =
    // the likelihood and factors: the same draws, written into the columns by another route.
    // Branches visit different sites (absent ones stay NaN), in different orders, with
    // booleans and a vector among them.
    const branching: Model<number> = function*() {
      const b = yield* sample("b", Bernoulli(0.4))
      if (b) {
        const w = yield* sample("w", Dirichlet([1, 2, 3]))
        const z = yield* sample("z", Normal(w[0]!, 1))
        yield* observe("y", Normal(z, 1), 0.3)
        return z
      }
      const a = yield* sample("a", Normal(0, 2))
      for (let k = 0; k < 3; k++) yield* sample(addr("c", 2 - k), Bernoulli(0.5))
      yield* factor(-0.5 * a * a)
      return a
    }
    const visits = Is.runUnsafe(branching, { particles: 400, seed: 8 })
    const tree = Is.runUnsafe(branching, { particles: 400, seed: 8, proposal: branching })
    expect(visits.sites).toEqual(["a", "b", "c#0", "c#1", "c#2", "w[0]", "w[1]", "w[2]", "z"])
    expect(visits.sites).toEqual(tree.sites)
    for (const site of visits.sites) expect(Array.from(visits.draws.get(site)![0]!)).toEqual(Array.from(tree.draws.get(site)![0]!))
    // (the proposal path's weight is (log p(x) + log p(y | x)) − log q(x), the prior path's
    // log p(y | x) itself: equal up to the rounding of that sum, a few ulps)
    const lw = visits.logWeights[0]!, lwTree = tree.logWeights[0]!
    for (let i = 0; i < 400; i++) expect(Math.abs(lw[i]! - lwTree[i]!)).toBeLessThan(1e-12 * (1 + Math.abs(lw[i]!)))
    expect(visits.returns).toEqual(tree.returns)
    const b = visits.draws.get("b")![0]!, z = visits.draws.get("z")![0]!
    for (let i = 0; i < 400; i++) expect(Number.isNaN(z[i]!)).toBe(b[i] === 0)
  })
})

describe("Is: impossible and invalid weights", () => {
  it("every weight −∞ gives ZeroWeightError", () => {
    const impossible: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Uniform(0, 1), 2) // outside the support for every x
      return x
    }
    expect(() => Is.runUnsafe(impossible, { particles: 100, seed: 1 })).toThrow(ZeroWeightError)
  })

  it("NaN weights count as −∞, are counted, and never reach the weights or the evidence", () => {
    // x ~ N(0, 1), a NaN factor when x > 1, then y = 0.5 ~ N(x, 1): the target is the posterior
    // N(0.25, 1/√2) truncated to x ≤ 1, whose mean we integrate numerically (Simpson, 4000 panels).
    const model: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1 ? Number.NaN : 0)
      yield* observe("y", Normal(x, 1), 0.5)
      return x
    }
    const post = Is.runUnsafe(model, { particles: 20_000, seed: 5 })
    const xs = post.draws.get("x")![0]
    const above = xs.reduce((a, x) => a + (x > 1 ? 1 : 0), 0)
    expect(above).toBeGreaterThan(0)
    expect(Is.stats(post).invalid).toBe(above)
    expect(Is.stats(post).zero).toBe(above)
    for (const w of post.weights![0]) expect(Number.isNaN(w)).toBe(false)
    expect(Number.isFinite(post.logEvidence![0])).toBe(true)
    const m = 0.25, s = Math.SQRT1_2
    const density = (x: number) => Math.exp(-0.5 * ((x - m) / s) ** 2)
    let num = 0, den = 0
    const lo = m - 12 * s, hi = 1, panels = 4000, h = (hi - lo) / panels
    for (let k = 0; k <= panels; k++) {
      const x = lo + k * h
      const c = k === 0 || k === panels ? 1 : k % 2 === 1 ? 4 : 2
      num += c * x * density(x)
      den += c * density(x)
    }
    const sm = summary(post, "x")
    expect(Math.abs(sm.mean - num / den)).toBeLessThan(4 * sm.seMean)
  }, 10_000)
})

describe("Is: options, errors, reproducibility and the Effect API", () => {
  it("invalid options are rejected with InvalidOptionsError before any work", () => {
    let runs = 0
    const counting: Model<number> = function*() {
      runs++
      return yield* sample("x", Normal(0, 1))
    }
    for (const particles of [0, -1, 2.5, Number.NaN]) {
      expect(() => Is.runUnsafe(counting, { particles })).toThrow(InvalidOptionsError)
    }
    expect(() => Is.runUnsafe(counting, { particles: 10, seed: 0.5 })).toThrow(InvalidOptionsError)
    expect(() => Is.runUnsafe(counting, { particles: 10, proposal: 3 as unknown as Model<unknown> })).toThrow(InvalidOptionsError)
    expect(runs).toBe(0)
  })

  it("the same seed gives the same results; another seed others", () => {
    const a = Is.runUnsafe(normalModel, { particles: 500, seed: 9 })
    const b = Is.runUnsafe(normalModel, { particles: 500, seed: 9 })
    const c = Is.runUnsafe(normalModel, { particles: 500, seed: 10 })
    expect(b).toEqual(a)
    expect(c.logEvidence).not.toEqual(a.logEvidence)
  })

  it.effect("run with a seed equals runUnsafe, and Rng.withSeed(s) equals seed: s", () =>
    Effect.gen(function*() {
      const direct = Is.runUnsafe(normalModel, { particles: 1200, seed: 4 })
      const effect = yield* Is.run(normalModel, { particles: 1200, seed: 4 })
      const service = yield* Is.run(normalModel, { particles: 1200 }).pipe(RuntimeRng.withSeed(4))
      expect(effect).toEqual(direct)
      // streams from an Rng service carry no seed of their own: the posterior records none
      expect(service.seed).toBeUndefined()
      expect({ ...service, seed: 4 }).toEqual(direct)
    }))

  it.effect("run reports progress per time slice and puts typed errors in the error channel", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      yield* Is.run(normalModel, { particles: 1200, seed: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => reports.push(r)))
      )
      const done = reports.map((r) => r.done)
      expect(done.length).toBeGreaterThan(0)
      for (let k = 1; k < done.length; k++) expect(done[k]).toBeGreaterThanOrEqual(done[k - 1])
      expect(done[done.length - 1]).toBe(1200)
      const invalid = yield* Effect.flip(Is.run(normalModel, { particles: 0 }))
      expect(invalid).toBeInstanceOf(InvalidOptionsError)
      const impossible = yield* Effect.flip(Is.run(function*() {
        yield* observe("y", Uniform(0, 1), 2)
      }, { particles: 10, seed: 1 }))
      expect(impossible).toBeInstanceOf(ZeroWeightError)
      const duplicate = yield* Effect.flip(Is.run(function*() {
        yield* sample("x", Normal(0, 1))
        yield* sample("x", Normal(0, 1))
      }, { particles: 10, seed: 1 }))
      expect(duplicate).toBeInstanceOf(DuplicateAddressError)
    }))
})
