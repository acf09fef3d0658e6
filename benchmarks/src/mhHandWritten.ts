/**
 * A hand-written single-site MH for the seed's linear regression, with warm-up adaptation: the
 * physical limit `Mh.runUnsafe` (which adapts by default) is measured against in `mhPerf.ts`.
 * It does what the library does per iteration: pick one of the 3 sites uniformly, Gaussian
 * random walk on the unconstrained scale (identity for slope/intercept, log for noise, with the
 * Jacobian), recompute the full log joint (`regressionLogJoint`: 3 priors + 5 normal likelihood
 * terms), accept/reject, Robbins–Monro scale adaptation during warm-up towards acceptance 0.44,
 * record every kept draw. (`models.ts`'s `regressionMh` is the fixed-scale variant the
 * inference suite uses.)
 *
 * @since 0.1.0
 */
import * as Rng from "@fugue/core/Rng"
import { regressionLogJoint } from "./models.ts"

/**
 * Runs `warmup` adapting iterations, then records `samples` draws of slope, intercept and noise.
 *
 * @example
 * const { slope, accepted } = handWrittenMh(200_000, 200_000, 1)
 *
 * @category models
 * @since 0.1.0
 */
export const handWrittenMh = (
  samples: number,
  warmup: number,
  seed: number
): { slope: Float64Array; intercept: Float64Array; noise: Float64Array; accepted: number } => {
  const rng = Rng.streams(seed, 1)[0]
  const state = [0, 0, 1]
  const logScale = [0, 0, 0]
  const adapted = [0, 0, 0]
  let current = regressionLogJoint(state[0], state[1], state[2])
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
    const proposed = regressionLogJoint(state[0], state[1], state[2])
    const logAlpha = proposed - current + logRatio
    if (logAlpha >= 0 || Math.log(rng.uniform()) < logAlpha) {
      current = proposed
      if (it >= warmup) out.accepted++
    } else {
      state[site] = old
    }
    if (it < warmup) {
      adapted[site]++
      // Robbins–Monro on the log scale, log s += n^−0.6 (α − 0.44), as the library does (Andrieu & Thoms 2008, §5).
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
