// Predictive draws and PSIS-LOO / WAIC on the conjugate normal model, where everything is
// closed form: μ ~ N(0, 3²), y_i ~ N(μ, 1), i = 1..20. Posterior N(m, v), v = 1/(1/9 + n),
// m = v·Σy. Posterior predictive y_rep ~ N(m, 1 + v); prior predictive N(0, 1 + 9). Exact LOO:
// p(y_i | y₋ᵢ) = N(y_i; m₋ᵢ, 1 + v₋ᵢ) with v₋ᵢ = 1/(1/9 + n − 1), m₋ᵢ = v₋ᵢ(Σy − y_i). Exact WAIC
// terms: lpd_i = log N(y_i; m, 1 + v), p_i = Var(log N(y_i | μ, 1)) = v²/2 + (y_i − m)²·v.
// The posterior draws are exact iid draws (a Builder posterior), so every Monte Carlo standard
// error below is the iid one, computed from the draws.
import { describe, expect, it } from "@effect/vitest"
import { Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as Loo from "../src/Loo.ts"
import { Builder } from "../src/Posterior.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Predictive from "../src/Predictive.ts"

const ys = (() => {
  const rng = CoreRng.make(9)
  return Array.from({ length: 20 }, () => 1.5 + rng.normal())
})()
const n = ys.length
const model = (data: ReadonlyArray<number>): Model<number> =>
  function*() {
    const mu = yield* sample("mu", Normal(0, 3))
    for (let i = 0; i < data.length; i++) yield* observe(`y${i}`, Normal(mu, 1), data[i]!)
    return mu
  }
const sum = ys.reduce((a, b) => a + b, 0)
const v = 1 / (1 / 9 + n), m = v * sum
const S = 4000

/** Exact posterior draws of μ as a posterior. */
const exactPosterior = (data: ReadonlyArray<number>, seed: number) => {
  const vv = 1 / (1 / 9 + data.length), mm = vv * data.reduce((a, b) => a + b, 0)
  const rng = CoreRng.make(seed)
  const b = new Builder<number>("exact", 1, S)
  b.columns.set("mu", [Float64Array.from({ length: S }, () => mm + Math.sqrt(vv) * rng.normal())])
  return b.build()
}
const logNormal = (x: number, mean: number, variance: number) => -0.5 * Math.log(2 * Math.PI * variance) - (x - mean) ** 2 / (2 * variance)

describe("predictive draws", () => {
  const post = exactPosterior(ys, 1)
  it("posterior predictive y_rep ~ N(m, 1 + v) and prior predictive N(0, 10): means and variances within 4 MCSE", () => {
    const rep = Predictive.posteriorUnsafe(model(ys), post, { seed: 2 })
    expect(rep.sites.length).toBe(n)
    const y0 = Posterior.pooled(rep, "y0")
    const mean = y0.reduce((a, b) => a + b, 0) / S
    const variance = y0.reduce((a, b) => a + (b - mean) ** 2, 0) / (S - 1)
    const sd = Math.sqrt(1 + v)
    expect(Math.abs(mean - m)).toBeLessThan((4 * sd) / Math.sqrt(S))
    // the sample variance's sd is σ²√(2/(S − 1)) for normal draws
    expect(Math.abs(variance - (1 + v))).toBeLessThan(4 * (1 + v) * Math.sqrt(2 / (S - 1)))
    const prior = Predictive.priorUnsafe(model(ys), { draws: S, seed: 3 })
    const p0 = Posterior.pooled(prior, "y0")
    const pm = p0.reduce((a, b) => a + b, 0) / S
    expect(Math.abs(pm)).toBeLessThan((4 * Math.sqrt(10)) / Math.sqrt(S))
  })

  it("the pointwise log-likelihood is log N(y_i | μ, 1) at each draw, exactly", () => {
    const ll = Predictive.logLikelihoodUnsafe(model(ys), post)
    const mu = post.draws.get("mu")![0]!
    for (const s of [0, 17, 3999]) expect(ll.draws.get("y3")![0]![s]).toBeCloseTo(logNormal(ys[3]!, mu[s]!, 1), 12)
  })

  it("a posterior that lacks a latent site is MissingDrawError naming it", () => {
    const b = new Builder<number>("x", 1, 2)
    b.columns.set("other", [new Float64Array(2)])
    expect(() => Predictive.posteriorUnsafe(model(ys), b.build())).toThrow(/latent site "mu" has no value in chain 0, draw 0/)
  })
})

describe("PSIS-LOO and WAIC", () => {
  it("PSIS-LOO matches the exact leave-one-out predictive densities (within 4 of their summed MCSE); every k̂ < 0.5", () => {
    const post = exactPosterior(ys, 4)
    const ll = Predictive.logLikelihoodUnsafe(model(ys), post)
    const loo = Loo.psisLoo(ll)
    const mu = post.draws.get("mu")![0]!
    let exact = 0, mcse = 0
    ys.forEach((y) => {
      const vi = 1 / (1 / 9 + n - 1), mi = vi * (sum - y)
      exact += logNormal(y, mi, 1 + vi)
      // the self-normalised IS estimate of p_i = 1 / E[1/p(y_i|μ)]: delta-method sd of its log,
      // from the raw ratios r = 1/p(y_i | μ): sd(log p̂) ≈ sd(r) / (√S · mean(r))
      const r = Array.from(mu, (x) => Math.exp(-logNormal(y, x, 1)))
      const rm = r.reduce((a, b) => a + b, 0) / S
      const rsd = Math.sqrt(r.reduce((a, b) => a + (b - rm) ** 2, 0) / (S - 1))
      mcse += rsd / (Math.sqrt(S) * rm)
    })
    expect(Math.abs(loo.elpd - exact)).toBeLessThan(4 * mcse)
    expect(loo.pointwise.every((p) => p.paretoK < 0.5)).toBe(true)
    expect(loo.warnings).toEqual([])
    expect(loo.pLoo).toBeGreaterThan(0.5)
    expect(loo.pLoo).toBeLessThan(1.5) // one parameter
  })

  it("WAIC matches its exact target Σ (lpd_i − p_i) within 4 summed MCSE", () => {
    const post = exactPosterior(ys, 5)
    const w = Loo.waic(Predictive.logLikelihoodUnsafe(model(ys), post))
    const mu = post.draws.get("mu")![0]!
    let exact = 0, mcse = 0
    ys.forEach((y) => {
      exact += logNormal(y, m, 1 + v) - (v * v / 2 + (y - m) ** 2 * v)
      const l = Array.from(mu, (x) => logNormal(y, x, 1))
      const p = l.map(Math.exp)
      const pm = p.reduce((a, b) => a + b, 0) / S
      const psd = Math.sqrt(p.reduce((a, b) => a + (b - pm) ** 2, 0) / (S - 1))
      const lm = l.reduce((a, b) => a + b, 0) / S
      const c2 = l.reduce((a, b) => a + (b - lm) ** 2, 0) / S, c4 = l.reduce((a, b) => a + (b - lm) ** 4, 0) / S
      // sd of log of a mean (delta method) plus sd of a sample variance, √((μ₄ − σ⁴)/S)
      mcse += psd / (Math.sqrt(S) * pm) + Math.sqrt(Math.max(0, c4 - c2 * c2) / S)
    })
    expect(Math.abs(w.elpd - exact)).toBeLessThan(4 * mcse)
    expect(w.pWaic).toBeGreaterThan(0.5)
    expect(w.pWaic).toBeLessThan(1.5)
  })

  it("an outlier's importance weights have a heavy tail: k̂ > 0.7, and the warning names it", () => {
    const withOutlier = [...ys.slice(0, 19), 25]
    const post = exactPosterior(withOutlier, 6)
    const loo = Loo.psisLoo(Predictive.logLikelihoodUnsafe(model(withOutlier), post))
    const k = loo.pointwise.find((p) => p.observation === "y19")!.paretoK
    expect(k).toBeGreaterThan(0.7)
    expect(loo.warnings[0]).toMatch(/y19/)
  })

  it("unusable input is LooInputError", () => {
    const b = new Builder<number>("x", 1, 1)
    expect(() => Loo.psisLoo(b.build())).toThrow(Loo.LooInputError)
  })
})
