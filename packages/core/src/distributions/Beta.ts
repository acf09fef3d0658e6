/**
 * The beta distribution on the unit interval with shapes `alpha` and `beta`. Use it for
 * probabilities and proportions; it is the conjugate prior of a Bernoulli or binomial `p`.
 *
 * @since 0.1.0
 */
import betaln from "@stdlib/math-base-special-betaln"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Interval", lower: 0, upper: 1 }

/**
 * Beta(alpha, beta): density x^(α−1) (1−x)^(β−1) / B(α, β) on [0, 1].
 *
 * **Details** At x = 0 `logProb` returns the density's limit: +∞ for α < 1, log β for α = 1,
 * −∞ for α > 1 (and symmetrically at x = 1). Draws are X/(X + Y) for independent
 * X ~ Gamma(α), Y ~ Gamma(β) (Marsaglia & Tsang), formed from log-gammas when a shape is
 * below 1 so tiny shapes never give 0/0.
 *
 * @example
 * const d = new BetaDistribution(2, 2)
 * d.mean() // 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export class BetaDistribution implements Distribution<number> {
  get family(): "Beta" {
    return "Beta"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly alpha: number
  readonly beta: number
  /** −log B(α, β), cached. */
  readonly logNorm: number
  constructor(alpha: number, beta: number) {
    this.alpha = alpha
    this.beta = beta
    this.logNorm = -betaln(alpha, beta)
  }
  sample(rng: Rng): number {
    if (this.alpha >= 1 && this.beta >= 1) {
      const x = standardGamma(rng, this.alpha)
      return x / (x + standardGamma(rng, this.beta))
    }
    const lx = logStandardGamma(rng, this.alpha)
    const ly = logStandardGamma(rng, this.beta)
    return 1 / (1 + Math.exp(ly - lx))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < 1) return this.logNorm + (this.alpha - 1) * Math.log(x) + (this.beta - 1) * Math.log1p(-x)
    if (x === 0) return edge(this.alpha, this.logNorm)
    if (x === 1) return edge(this.beta, this.logNorm)
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.alpha / (this.alpha + this.beta)
  }
  variance(): number {
    const s = this.alpha + this.beta
    return (this.alpha * this.beta) / (s * s * (s + 1))
  }
}

/** The log density's limit at an end whose exponent is `shape` − 1. */
const edge = (shape: number, logNorm: number): number => (shape < 1 ? Infinity : shape === 1 ? logNorm : -Infinity)

/**
 * A beta distribution; throws `InvalidDistributionError` unless `alpha` and `beta` are finite and > 0.
 *
 * @example
 * const d = Beta(1, 1)
 * d.logProb(0.3) // 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const Beta = (alpha: number, beta: number): BetaDistribution =>
  new BetaDistribution(requirePositive("Beta", "alpha", alpha), requirePositive("Beta", "beta", beta))
