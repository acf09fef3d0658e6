// Log-weight arithmetic shared by importance sampling and SMC: a stable log-sum-exp, in-place
// normalisation and the effective sample size 1 / Σ w². NaN weights never get here: the
// callers turn them into −∞ (and count them) first.

/** log Σ exp(logWeights[i]), stable (shifts by the maximum); −∞ when every entry is −∞. */
export const logSumExp = (logWeights: Float64Array): number => {
  let max = -Infinity
  for (let i = 0; i < logWeights.length; i++) if (logWeights[i] > max) max = logWeights[i]
  if (max === -Infinity) return -Infinity
  if (max === Infinity) return Infinity
  let sum = 0
  for (let i = 0; i < logWeights.length; i++) sum += Math.exp(logWeights[i] - max)
  return max + Math.log(sum)
}

/**
 * Writes the normalised weights exp(logWeights[i] − lse) into `out` and returns lse, the
 * log-sum-exp. The caller has checked that lse is finite.
 */
export const normalise = (logWeights: Float64Array, out: Float64Array): number => {
  const lse = logSumExp(logWeights)
  let total = 0
  for (let i = 0; i < logWeights.length; i++) {
    const w = Math.exp(logWeights[i] - lse)
    out[i] = w
    total += w
  }
  // exp of the shifted weights sums to 1 up to rounding; divide it away so Σ w is 1 to the ulp.
  for (let i = 0; i < out.length; i++) out[i] /= total
  return lse
}

/** The effective sample size 1 / Σ w² of normalised weights. */
export const effectiveSampleSize = (weights: Float64Array): number => {
  let s = 0
  for (let i = 0; i < weights.length; i++) s += weights[i] * weights[i]
  return 1 / s
}
