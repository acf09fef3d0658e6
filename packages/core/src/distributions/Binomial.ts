/**
 * The binomial distribution: the number of successes in `n` independent trials, each a
 * success with probability `p`. Use it for counts out of a known total.
 *
 * @since 0.1.0
 */
import { isNumber, requireInteger, requireProbability, type Distribution, type Support } from "../Distribution.ts"
import { logBinomialKernel } from "../internal/saddlePoint.ts"
import { sampleBinomial } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/**
 * Binomial(n, p): mass C(n, k) p^k (1 − p)^(n−k) for k = 0, …, n.
 *
 * **Details** `logProb` uses Loader's (2000) saddle-point form, accurate for large n. Draws use
 * inversion when n·min(p, 1 − p) < 10 and Hörmann's BTRS (1993) otherwise.
 *
 * @example
 * const d = new BinomialDistribution(10, 0.5)
 * d.logProb(5) // log(252 / 1024)
 *
 * @category constructors
 * @since 0.1.0
 */
export class BinomialDistribution implements Distribution<number> {
  get family(): "Binomial" {
    return "Binomial"
  }
  get kind(): "integer" {
    return "integer"
  }
  readonly support: Support
  readonly n: number
  readonly p: number
  /** 1 − p, kept separately for precision. */
  readonly q: number
  /** log p and log(1 − p) (−∞ at the ends), cached. */
  readonly logP: number
  readonly logQ: number
  constructor(n: number, p: number) {
    this.n = n
    this.p = p
    this.q = 1 - p
    this.logP = Math.log(p)
    this.logQ = Math.log1p(-p)
    this.support = { _tag: "Integers", lower: 0, upper: n }
  }
  sample(rng: Rng): number {
    return sampleBinomial(rng, this.n, this.p)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > this.n) return -Infinity
    const lp = logBinomialKernel(k, this.n - k, this.p, this.q, this.logP, this.logQ)
    // Rounding may leave a mass near 1 a few ulps above it.
    return lp > 0 ? 0 : lp
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.n * this.p
  }
  variance(): number {
    return this.n * this.p * this.q
  }
}

/**
 * A binomial distribution; throws `InvalidDistributionError` unless `n` is an integer ≥ 0 and
 * `p` is in [0, 1].
 *
 * @example
 * const d = Binomial(20, 0.1)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export const Binomial = (n: number, p: number): BinomialDistribution =>
  new BinomialDistribution(requireInteger("Binomial", "n", n, 0), requireProbability("Binomial", "p", p))
