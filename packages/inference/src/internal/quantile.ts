/**
 * The sample-quantile rule, the one place it is written. Everything that reads a quantile off
 * draws goes through here: `Posterior.quantile`, the quantile columns of `Diagnostics.summary`,
 * the thresholds of `Diagnostics.essQuantile` / `essTail` and the median that folds draws for
 * the tail R-hat, and the benchmarks' medians (through `Diagnostics.quantile`).
 *
 * Equally weighted draws: linear interpolation between order statistics, h = (S − 1)·q,
 * θ̂_q = θ_(⌊h⌋) + (h − ⌊h⌋)(θ_(⌊h⌋+1) − θ_(⌊h⌋)) (Hyndman & Fan 1996 type 7; R's and NumPy's
 * default, and what Stan, ArviZ and posterior report).
 *
 * Weighted draws: the inverse of the weighted empirical CDF, the smallest draw whose cumulative
 * normalised weight reaches q (Hyndman & Fan type 1 with weights; NumPy's `np.quantile(…,
 * weights=w, method="inverted_cdf")`, the one method NumPy defines for weights, since the
 * interpolating rules have no agreed weighted form). Draws of weight 0 are not in the weighted
 * sample; a cumulative sum within 1e-12 of q counts as reaching it (rounding in the sum).
 *
 * @internal
 */

/** Type-7 quantile of draws already sorted ascending (at least one). */
export const quantileSorted = (s: ArrayLike<number>, q: number): number => {
  const h = (s.length - 1) * q
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, s.length - 1)
  const frac = h - lo
  // On an order statistic, or between equal ones, no arithmetic (so ±∞ draws give ±∞, not NaN).
  if (frac === 0 || s[lo] === s[hi]) return s[lo]
  // Between −∞ and +∞ the interpolation is undefined: take the nearer order statistic.
  if (s[lo] === -Infinity && s[hi] === Infinity) return frac < 0.5 ? s[lo] : s[hi]
  return s[lo] + frac * (s[hi] - s[lo])
}

/**
 * Weighted inverse-CDF quantile. `values` need not be sorted; `weights` are ≥ 0 with a positive
 * sum (they are normalised here).
 */
export const weightedQuantile = (values: ArrayLike<number>, weights: ArrayLike<number>, q: number): number => {
  const order = Array.from({ length: values.length }, (_, i) => i).filter((i) => weights[i] > 0)
  order.sort((a, b) => values[a] - values[b])
  let total = 0
  for (const i of order) total += weights[i]
  let acc = 0
  for (const i of order) {
    acc += weights[i] / total
    if (acc >= q - 1e-12) return values[i]
  }
  return values[order[order.length - 1]]
}

/**
 * The sample q-quantile of `values` (at least one draw), weighted when `weights` is given.
 * Type 7 for equal weights, the weighted inverse CDF otherwise (module header).
 */
export const sampleQuantile = (values: ArrayLike<number>, q: number, weights?: ArrayLike<number>): number =>
  weights === undefined ? quantileSorted(Float64Array.from(values).sort(), q) : weightedQuantile(values, weights, q)
