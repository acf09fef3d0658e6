/**
 * The negative binomial distribution: the number of failures before the `r`-th success in
 * trials with success probability `p`, for real r > 0 (the Pólya distribution). Use it for
 * overdispersed counts: it is the Poisson–gamma mixture.
 *
 * @since 0.1.0
 */
import { fail, isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { binomialLogPmfRaw, samplePoisson, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Integers", lower: 0, upper: Infinity }

/**
 * NegativeBinomial(r, p): mass Γ(k + r) / (k! Γ(r)) p^r (1 − p)^k for k = 0, 1, 2, …
 *
 * **Details** `logProb` is r/(r + k) times Loader's binomial saddle-point form (as in R's
 * dnbinom), accurate for large k and r. Draws are Poisson(λ) with λ ~ Gamma(r, rate p/(1 − p)).
 *
 * @example
 * const d = new NegativeBinomialDistribution(2, 0.5)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class NegativeBinomialDistribution implements Distribution<number> {
  get family(): "NegativeBinomial" {
    return "NegativeBinomial"
  }
  get kind(): "integer" {
    return "integer"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly r: number
  readonly p: number
  /** 1 − p, kept separately for precision. */
  readonly q: number
  /** (1 − p)/p, the gamma mixing scale. */
  readonly odds: number
  constructor(r: number, p: number) {
    this.r = r
    this.p = p
    this.q = 1 - p
    this.odds = this.q / p
  }
  sample(rng: Rng): number {
    if (this.p === 1) return 0
    return samplePoisson(rng, standardGamma(rng, this.r) * this.odds)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0) return -Infinity
    const n = this.r + k
    return Math.log(this.r / n) + binomialLogPmfRaw(this.r, n, this.p, this.q)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.r * this.odds
  }
  variance(): number {
    return (this.r * this.odds) / this.p
  }
}

/**
 * A negative binomial distribution; throws `InvalidDistributionError` unless `r` is finite
 * and > 0 and `p` is in (0, 1].
 *
 * @example
 * const d = NegativeBinomial(3, 0.4)
 * d.logProb(0) // 3·log 0.4
 *
 * @category constructors
 * @since 0.1.0
 */
export const NegativeBinomial = (r: number, p: number): NegativeBinomialDistribution => {
  requirePositive("NegativeBinomial", "r", r)
  if (!(typeof p === "number" && p > 0 && p <= 1)) fail("NegativeBinomial", "p", p, "must be a probability in (0, 1]")
  return new NegativeBinomialDistribution(r, p)
}
