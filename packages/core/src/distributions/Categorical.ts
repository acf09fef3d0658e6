/**
 * The categorical distribution over the indices 0, …, K − 1 with given (unnormalised)
 * weights. Use it for a choice among K alternatives; values are integer indices.
 *
 * @since 0.1.0
 */
import { isNumber, type Distribution, type Support } from "../Distribution.ts"
import { logNormalisedWeights, normaliseProbabilities } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/**
 * Categorical(probs): mass probs[k] / Σ probs at index k.
 *
 * **Details** The log masses are formed from the weights' logarithms, so a positive weight whose
 * normalised probability underflows (2^-1074 beside 1e308) still has its finite log mass.
 *
 * @example
 * const d = new CategoricalDistribution(new Float64Array([0.25, 0.75]))
 * d.logProb(1) // log 0.75
 *
 * @category constructors
 * @since 0.1.0
 */
export class CategoricalDistribution implements Distribution<number> {
  get family(): "Categorical" {
    return "Categorical"
  }
  get kind(): "integer" {
    return "integer"
  }
  readonly support: Support
  /** The normalised probabilities. */
  readonly probs: Float64Array
  /** Their logs (−∞ for zero weights), cached. */
  readonly logProbs: Float64Array
  /** Cumulative sums, the last forced to 1, for inversion by binary search. */
  readonly cdf: Float64Array
  constructor(probs: Float64Array, logProbs: Float64Array = probs.map(Math.log)) {
    const k = probs.length
    this.probs = probs
    this.logProbs = logProbs
    this.cdf = new Float64Array(k)
    let acc = 0
    for (let i = 0; i < k; i++) this.cdf[i] = acc += probs[i]
    // Rounding can leave the total a few ulps off 1: the last index with positive mass takes it.
    let last = k - 1
    while (probs[last] === 0) last--
    for (let i = last; i < k; i++) this.cdf[i] = 1
    this.support = { _tag: "Integers", lower: 0, upper: k - 1 }
  }
  sample(rng: Rng): number {
    const u = rng.uniform()
    const cdf = this.cdf
    // Smallest index with cdf ≥ u: a zero-mass index repeats its predecessor's cdf, so it is
    // never the smallest, and u = 1 still lands on the last index with mass.
    let lo = 0
    let hi = cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid] >= u) hi = mid
      else lo = mid + 1
    }
    return lo
  }
  logProb(k: number): number {
    return Number.isInteger(k) && k >= 0 && k < this.probs.length ? this.logProbs[k] : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    let m = 0
    for (let i = 0; i < this.probs.length; i++) m += i * this.probs[i]
    return m
  }
  variance(): number {
    const m = this.mean()
    let v = 0
    for (let i = 0; i < this.probs.length; i++) v += (i - m) * (i - m) * this.probs[i]
    return v
  }
}

/**
 * A categorical distribution from non-negative weights, normalised here; throws
 * `InvalidDistributionError` for an empty list, a negative, NaN or infinite weight, or all zeros.
 *
 * @example
 * const d = Categorical([1, 1, 2])
 * d.logProb(2) // log 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export const Categorical = (probs: ArrayLike<number>): CategoricalDistribution =>
  new CategoricalDistribution(normaliseProbabilities("Categorical", "probs", probs), logNormalisedWeights(probs))
