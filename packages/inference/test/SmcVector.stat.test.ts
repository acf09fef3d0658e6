// Vectorised unfold steps (internal/smcVector.ts) against exact answers: a linear-Gaussian
// state-space model written with `Ad` (so every step is recorded and run as generated code)
// against the Kalman filter — its log evidence, and the filtering means and sds — with one
// observation per step and with two (a step with two barriers and a site after the first).
//
// Tolerances, as in SmcLinear.stat.test.ts: each check runs K = 8 independent seeds; with
// estimates e₁…e_K, mean ē and sd s, (ē − truth)/(s/√K) is Student-t with 7 degrees of freedom,
// and each test allows the two-sided t₇ quantile at a family-wise error of 1e-3 (Bonferroni over
// its m checks). The log evidence is checked on ē + s²/2 − log Z (E[log Ẑ] = log Z − σ²/2 when
// log Ẑ is normal; Bérard, Del Moral & Doucet 2014), whose sd is √(s²/K + s⁴/(2(K − 1))).
import * as Ad from "@fugue/core/Ad"
import { Normal, observe, Rng, sample, unfold } from "@fugue/core"
import { describe, expect, it } from "@effect/vitest"
import type { Posterior } from "../src/Posterior.ts"
import * as Smc from "../src/Smc.ts"
import { expectAgrees, expectEvidence, logNormal, meanSd, weighted } from "./utils/seedStats.ts"

/** Two-sided t₇ quantiles at 1e-3/m (scipy.stats.t.ppf(1 − 1e-3/(2m), 7)). */
const T7: Record<number, number> = { 3: 6.503, 4: 6.814 }
const K = 8
const seeds = Array.from({ length: K }, (_, k) => 500 + k)


// x₋₁ = 0, x_t = a·x_{t−1} + N(0, q), y_t = x_t + N(0, r) (and z_t = x_t + N(0, r₂)), t = 0 … T − 1
const A = 0.9, Q = 0.5, R = 1, R2 = 2, T = 200
const data = (() => {
  const rng = Rng.make(91)
  const ys: Array<number> = [], zs: Array<number> = []
  let x = 0
  for (let t = 0; t < T; t++) {
    x = A * x + Math.sqrt(Q) * rng.normal()
    ys.push(x + Math.sqrt(R) * rng.normal())
    zs.push(x + Math.sqrt(R2) * rng.normal())
  }
  return { ys, zs }
})()

/** The Kalman filter (exact log evidence by the prediction decomposition), with the second observation or without. */
const kalman = (both: boolean) => {
  const means: Array<number> = [], variances: Array<number> = []
  let m = 0, P = 0, logEvidence = 0
  const update = (y: number, r: number) => {
    logEvidence += logNormal(y, m, P + r)
    const gain = P / (P + r)
    m = m + gain * (y - m)
    P = (1 - gain) * P
  }
  for (let t = 0; t < T; t++) {
    m = A * m
    P = A * A * P + Q
    update(data.ys[t], R)
    if (both) update(data.zs[t], R2)
    means.push(m)
    variances.push(P)
  }
  return { means, variances, logEvidence }
}

function* oneStep(prev: number, t: number) {
  const x = yield* sample("x", Normal(Ad.mul(A, prev), Math.sqrt(Q)))
  yield* observe("y", Normal(x, Math.sqrt(R)), data.ys[t])
  return x
}
/** Two barriers per step, and a site after the first (x = u + w: the same transition, split). */
function* twoStep(prev: number, t: number) {
  const u = yield* sample("u", Normal(Ad.mul(A, prev), Math.sqrt(Q / 2)))
  yield* observe("y0", Normal(0, 1), 0)
  const w = yield* sample("w", Normal(0, Math.sqrt(Q / 2)))
  const x = Ad.add(u, w)
  yield* observe("y", Normal(x, Math.sqrt(R)), data.ys[t])
  yield* observe("z", Normal(x, Math.sqrt(R2)), data.zs[t])
  return x as number
}

describe("vectorised steps on a 200-step linear-Gaussian model (K = 8 seeds × 1000 particles)", () => {
  it("one observation per step: log evidence, the final filtering mean and sd, and a mid-run filtering mean match the Kalman filter", () => {
    const exact = kalman(false)
    const model = unfold("s", T, 0, (prev: number, t: number) => () => oneStep(prev, t))
    const runs = seeds.map((seed) => Smc.runUnsafe(model, { particles: 1000, seed }))
    expect(Smc.stats(runs[0]).vectorisedSteps).toBe(T)
    // four checks: t₇ at 1e-3/4
    expectEvidence(runs.map((p) => p.logEvidence![0]), exact.logEvidence, T7[4])
    expectAgrees(runs.map((p) => weighted(p, `s#${T - 1}/x`).mean), exact.means[T - 1], T7[4])
    expectAgrees(runs.map((p) => weighted(p, `s#${T - 1}/x`).sd), Math.sqrt(exact.variances[T - 1]), T7[4])
    // a filtering mean mid-run: a run that stops at step 100
    const half = unfold("s", 100, 0, (prev: number, t: number) => () => oneStep(prev, t))
    expectAgrees(seeds.map((seed) => weighted(Smc.runUnsafe(half, { particles: 1000, seed }), "s#99/x").mean), exact.means[99], T7[4])
    // the estimates are tight enough for the checks to mean something
    expect(meanSd(runs.map((p) => p.logEvidence![0])).sd).toBeLessThan(1)
  }, 30_000) // about 0.8 s

  it("three barriers per step with a draw between them: log evidence and the final filtering mean and sd match", () => {
    // log N(0 | 0, 1) per step is a known constant of the evidence
    const exact = kalman(true)
    const logZ = exact.logEvidence + T * logNormal(0, 0, 1)
    const model = unfold("s", T, 0, (prev: number, t: number) => () => twoStep(prev, t))
    const runs = seeds.map((seed) => Smc.runUnsafe(model, { particles: 1000, seed, threshold: 0.5 }))
    expect(Smc.stats(runs[0]).vectorisedSteps).toBe(T)
    expect(Smc.stats(runs[0]).steps).toBe(3 * T)
    const final = (p: Posterior<unknown>) => {
      // x_{T−1} = u + w, per particle
      const u = p.draws.get(`s#${T - 1}/u`)![0], w = p.draws.get(`s#${T - 1}/w`)![0], weights = p.weights![0]
      let m = 0
      for (let i = 0; i < u.length; i++) m += weights[i] * (u[i] + w[i])
      let v = 0
      for (let i = 0; i < u.length; i++) v += weights[i] * (u[i] + w[i] - m) ** 2
      return { mean: m, sd: Math.sqrt(v) }
    }
    // three checks: t₇ at 1e-3/3
    expectEvidence(runs.map((p) => p.logEvidence![0]), logZ, T7[3])
    expectAgrees(runs.map((p) => final(p).mean), exact.means[T - 1], T7[3])
    expectAgrees(runs.map((p) => final(p).sd), Math.sqrt(exact.variances[T - 1]), T7[3])
    expect(meanSd(runs.map((p) => p.logEvidence![0])).sd).toBeLessThan(1.5)
  }, 30_000) // about 0.6 s
})
