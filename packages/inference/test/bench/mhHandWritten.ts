// A hand-written single-site MH for the seed linear-regression model, in plain JavaScript
// arithmetic: the physical limit `Mh.runUnsafe` is measured against (see mhPerf.ts). It does
// what the library does per iteration: pick one of the 3 sites uniformly, Gaussian random walk
// on the unconstrained scale (identity for slope/intercept, log for noise, with the Jacobian),
// recompute the full log joint (3 priors + 5 normal likelihood terms), accept/reject,
// Robbins–Monro scale adaptation during warm-up, record every kept draw.
import * as Rng from "@fugue/core/Rng"

const HALF_LOG_2PI = 0.9189385332046728
const normalLogPdf = (x: number, mu: number, sigma: number): number => {
  const z = (x - mu) / sigma
  return -Math.log(sigma) - HALF_LOG_2PI - 0.5 * z * z
}
// Gamma(2, 1): shape·log(rate) − lgamma(shape) = 0
const gammaLogPdf = (x: number): number => (x > 0 ? Math.log(x) - x : -Infinity)

export const handWrittenMh = (
  xs: ReadonlyArray<number>,
  ys: ReadonlyArray<number>,
  samples: number,
  warmup: number,
  seed: number
): { slope: Float64Array; intercept: Float64Array; noise: Float64Array; accepted: number } => {
  const rng = Rng.streams(seed, 1)[0]
  const logJoint = (s: number, b: number, v: number): number => {
    let lp = normalLogPdf(s, 0, 2) + normalLogPdf(b, 0, 1) + gammaLogPdf(v)
    const sd = Math.sqrt(v)
    for (let i = 0; i < xs.length; i++) lp += normalLogPdf(ys[i], s * xs[i] + b, sd)
    return lp
  }
  const state = [0, 0, 1]
  const logScale = [0, 0, 0]
  const adapted = [0, 0, 0]
  let current = logJoint(state[0], state[1], state[2])
  const out = { slope: new Float64Array(samples), intercept: new Float64Array(samples), noise: new Float64Array(samples), accepted: 0 }
  const total = warmup + samples
  for (let it = 0; it < total; it++) {
    const site = Math.floor(rng.uniform() * 3)
    const scale = Math.exp(logScale[site])
    const old = state[site]
    let logRatio = 0
    if (site === 2) {
      const step = scale * rng.normal()
      state[2] = Math.exp(Math.log(old) + step)
      logRatio = step
    } else {
      state[site] = old + scale * rng.normal()
    }
    const proposed = logJoint(state[0], state[1], state[2])
    const logAlpha = proposed - current + logRatio
    if (logAlpha >= 0 || Math.log(rng.uniform()) < logAlpha) {
      current = proposed
      if (it >= warmup) out.accepted++
    } else {
      state[site] = old
    }
    if (it < warmup) {
      adapted[site]++
      logScale[site] += Math.pow(adapted[site], -0.6) * ((logAlpha >= 0 ? 1 : Math.exp(logAlpha)) - 0.44)
    } else {
      const k = it - warmup
      out.slope[k] = state[0]
      out.intercept[k] = state[1]
      out.noise[k] = state[2]
    }
  }
  return out
}
