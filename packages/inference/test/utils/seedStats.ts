// Checks over independent seeds, shared by the SMC statistical tests (Smc, SmcLinear,
// SmcVector): an estimate's mean and standard error over K seeds, the Student-t check of a mean
// and of a log evidence (E[log Ẑ] = log Z − σ²/2 when log Ẑ is normal; Bérard, Del Moral & Doucet
// 2014), a weighted population's mean and sd, and the normal log density used by the Kalman
// references.
import { expect } from "@effect/vitest"
import type { Posterior } from "../../src/Posterior.ts"

/** Mean, sd and standard error of the mean of `xs` (sd with K − 1). */
export const meanSd = (xs: ReadonlyArray<number>) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length
  const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1))
  return { mean: m, sd: s, se: s / Math.sqrt(xs.length) }
}

/** |ē − truth| < q · s/√K: the seeds' mean agrees with `truth` at the Student-t quantile q. */
export const expectAgrees = (estimates: ReadonlyArray<number>, truth: number, q: number) => {
  const { mean, se } = meanSd(estimates)
  expect(Math.abs(mean - truth)).toBeLessThan(q * se)
}

/** ē + s²/2 − log Z within q times its sd √(s²/K + s⁴/(2(K − 1))). */
export const expectEvidence = (estimates: ReadonlyArray<number>, logZ: number, q: number) => {
  const { mean, sd } = meanSd(estimates)
  const k = estimates.length
  expect(Math.abs(mean + (sd * sd) / 2 - logZ)).toBeLessThan(q * Math.sqrt((sd * sd) / k + sd ** 4 / (2 * (k - 1))))
}

/** The weighted mean and sd of `site` in chain 0 of a weighted posterior. */
export const weighted = (post: Posterior<unknown>, site: string) => {
  const x = post.draws.get(site)![0], w = post.weights![0]
  let m = 0
  for (let i = 0; i < x.length; i++) if (w[i] > 0) m += w[i] * x[i]
  let v = 0
  for (let i = 0; i < x.length; i++) if (w[i] > 0) v += w[i] * (x[i] - m) ** 2
  return { mean: m, sd: Math.sqrt(v) }
}

const LOG_2PI = Math.log(2 * Math.PI)

/** log N(y; m, v), v the variance. */
export const logNormal = (y: number, m: number, v: number) => -0.5 * LOG_2PI - 0.5 * Math.log(v) - (0.5 * (y - m) ** 2) / v
