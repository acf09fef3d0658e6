/**
 * The multinomial distribution: the counts in each of K categories after `n` independent
 * categorical draws with probabilities `probs` (normalised here). Use it for a table of counts
 * with a known total. Values are Float64Arrays of integer counts.
 *
 * @since 0.1.0
 */
import { isVector, requireInteger, type Distribution, type Support } from "../Distribution.ts"
import { logBinomialKernel } from "../internal/saddlePoint.ts"
import { logNormalisedWeights, normaliseProbabilities, sampleBinomial } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/**
 * Multinomial(n, probs): mass n! / Π x_i! · Π p_i^(x_i) for non-negative integer counts x
 * with Σx = n.
 *
 * **Details** Both `logProb` and the draws use the factorisation into sequential conditional
 * binomials, x_i ~ Binomial(n − Σ_{j<i} x_j, p_i / Σ_{j≥i} p_j): the log mass is the sum of
 * their Loader saddle-point log masses (Loader 2000), each ≤ 0 and accurate for counts up to
 * 2^53 (the direct log n! − Σ log x_i! loses whole units there: Multinomial(2^53 − 1, [1, 1, 0])
 * gave log masses above 0); the draws are exact (inversion or BTRS). The conditional
 * probabilities' logs come from the weights' logs, so a positive weight whose normalised
 * probability underflows (2^-1074 beside 1e308) keeps a finite log mass.
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
  /** log p_i (−∞ where the weight is 0), from the weights' logs, cached. */
  readonly logProbs: Float64Array
  /** p_i / Σ_{j≥i} p_j, the conditional success probability of each sequential binomial. */
  readonly conditional: Float64Array
  /** Σ_{j>i} p_j / Σ_{j≥i} p_j, its complement (kept separately for precision; 0 with no mass left). */
  readonly complement: Float64Array
  /** log of `conditional` and of `complement`, cached. */
  readonly logConditional: Float64Array
  readonly logComplement: Float64Array
  constructor(n: number, probs: Float64Array, logProbs: Float64Array = probs.map(Math.log)) {
    const k = probs.length
    this.n = n
    this.probs = probs
    this.logProbs = logProbs
    this.conditional = new Float64Array(k)
    this.complement = new Float64Array(k)
    this.logConditional = new Float64Array(k)
    this.logComplement = new Float64Array(k)
    let tail = 0
    let logTail = -Infinity
    for (let i = k - 1; i >= 0; i--) {
      const rest = tail
      const logRest = logTail
      tail += probs[i]
      // log-sum-exp, so that tails of weights whose probabilities underflowed keep their logs.
      const hi = logProbs[i] > logTail ? logProbs[i] : logTail
      const lo = logProbs[i] > logTail ? logTail : logProbs[i]
      logTail = hi === -Infinity ? -Infinity : hi + Math.log1p(Math.exp(lo - hi))
      this.conditional[i] = tail > 0 ? Math.min(1, probs[i] / tail) : 0
      this.complement[i] = tail > 0 ? Math.min(1, rest / tail) : 0
      this.logConditional[i] = logTail === -Infinity ? -Infinity : Math.min(0, logProbs[i] - logTail)
      this.logComplement[i] = logTail === -Infinity ? -Infinity : Math.min(0, logRest - logTail)
    }
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
    const k = this.probs.length
    if (!isVector(x) || x.length !== k) return -Infinity
    let left = this.n
    let lp = 0
    for (let i = 0; i < k - 1; i++) {
      const xi = x[i]
      if (!Number.isInteger(xi) || xi < 0 || xi > left) return -Infinity
      // A zero count in a zero-probability category is fine (the kernel's x = 0 end).
      lp += logBinomialKernel(xi, left - xi, this.conditional[i], this.complement[i], this.logConditional[i], this.logComplement[i])
      left -= xi
    }
    if (x[k - 1] !== left) return -Infinity
    // Rounding may leave a mass near 1 a few ulps above it.
    return lp > 0 ? 0 : lp
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
  new MultinomialDistribution(requireInteger("Multinomial", "n", n, 0), normaliseProbabilities("Multinomial", "probs", probs), logNormalisedWeights(probs))
