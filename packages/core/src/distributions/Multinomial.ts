/**
 * The multinomial distribution: the counts in each of K categories after `n` independent
 * categorical draws with probabilities `probs` (normalised here). Use it for a table of counts
 * with a known total. Values are Float64Arrays of integer counts.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { isVector, requireInteger, type Distribution, type Support } from "../Distribution.ts"
import { normaliseProbabilities, sampleBinomial } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/**
 * Multinomial(n, probs): mass n! / Π x_i! · Π p_i^(x_i) for non-negative integer counts x
 * with Σx = n.
 *
 * **Details** Draws are sequential conditional binomials, x_i ~ Binomial(n − Σ_{j<i} x_j,
 * p_i / Σ_{j≥i} p_j), each exact (inversion or BTRS).
 *
 * @example
 * const d = new MultinomialDistribution(2, new Float64Array([0.5, 0.5]))
 * d.logProb(new Float64Array([1, 1])) // log 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export class MultinomialDistribution implements Distribution<Float64Array> {
  get family(): "Multinomial" {
    return "Multinomial"
  }
  get kind(): "vector" {
    return "vector"
  }
  readonly support: Support
  readonly n: number
  /** The normalised probabilities. */
  readonly probs: Float64Array
  /** log p_i (−∞ where p_i = 0), cached. */
  readonly logProbs: Float64Array
  /** p_i / Σ_{j≥i} p_j, the conditional success probability of each sequential binomial. */
  readonly conditional: Float64Array
  /** log n!, cached. */
  readonly logFactorialN: number
  constructor(n: number, probs: Float64Array) {
    const k = probs.length
    this.n = n
    this.probs = probs
    this.logProbs = probs.map(Math.log)
    this.conditional = new Float64Array(k)
    let tail = 0
    for (let i = k - 1; i >= 0; i--) {
      tail += probs[i]
      this.conditional[i] = tail > 0 ? Math.min(1, probs[i] / tail) : 0
    }
    this.logFactorialN = gammaln(n + 1)
    this.support = { _tag: "IntegerVector", dimension: k, total: n }
  }
  sample(rng: Rng): Float64Array {
    const k = this.probs.length
    const out = new Float64Array(k)
    let left = this.n
    for (let i = 0; i < k - 1 && left > 0; i++) {
      const x = sampleBinomial(rng, left, this.conditional[i])
      out[i] = x
      left -= x
    }
    out[k - 1] += left
    return out
  }
  logProb(x: Float64Array): number {
    if (!isVector(x) || x.length !== this.probs.length) return -Infinity
    let total = 0
    let lp = this.logFactorialN
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]
      if (!Number.isInteger(xi) || xi < 0) return -Infinity
      total += xi
      // 0 · log 0 = 0: a zero count in a zero-probability category is fine.
      if (xi > 0) lp += xi * this.logProbs[i] - gammaln(xi + 1)
    }
    return total === this.n ? lp : -Infinity
  }
  isValue(x: unknown): x is Float64Array {
    return isVector(x)
  }
  mean(): Float64Array {
    return this.probs.map((p) => this.n * p)
  }
  variance(): Float64Array {
    return this.probs.map((p) => this.n * p * (1 - p))
  }
}

/**
 * A multinomial distribution; throws `InvalidDistributionError` unless `n` is an integer ≥ 0
 * and `probs` is a non-empty list of non-negative finite weights, not all zero.
 *
 * @example
 * const d = Multinomial(10, [1, 1, 2])
 * d.mean() // Float64Array [2.5, 2.5, 5]
 *
 * @category constructors
 * @since 0.1.0
 */
export const Multinomial = (n: number, probs: ArrayLike<number>): MultinomialDistribution =>
  new MultinomialDistribution(requireInteger("Multinomial", "n", n, 0), normaliseProbabilities("Multinomial", "probs", probs))
