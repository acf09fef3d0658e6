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
 * log-sum-exp, in one pass of `exp` (shifted by the maximum m: wᵢ = exp(ℓᵢ − m) / Σ exp(ℓⱼ − m),
 * lse = m + log Σ exp(ℓⱼ − m)). When every entry is −∞ it returns −∞ (+∞ when one is +∞) and
 * leaves `out` as it was: the caller raises its own error then.
 */
export const normalise = (logWeights: Float64Array, out: Float64Array): number => {
  const n = logWeights.length
  let max = -Infinity
  for (let i = 0; i < n; i++) if (logWeights[i]! > max) max = logWeights[i]!
  if (max === -Infinity || max === Infinity) return max
  let total = 0
  for (let i = 0; i < n; i++) {
    const w = Math.exp(logWeights[i]! - max)
    out[i] = w
    total += w
  }
  // divide the sum away, so Σ w is 1 to the ulp
  for (let i = 0; i < n; i++) out[i] = out[i]! / total
  return max + Math.log(total)
}

/** The effective sample size 1 / Σ w² of normalised weights. */
export const effectiveSampleSize = (weights: Float64Array): number => {
  let s = 0
  for (let i = 0; i < weights.length; i++) s += weights[i] * weights[i]
  return 1 / s
}
