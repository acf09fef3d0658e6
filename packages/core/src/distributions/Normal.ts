/**
 * The normal (Gaussian) distribution with mean `mu` and standard deviation `sigma`.
 *
 * @since 0.1.0
 */
import { HALF_LOG_2PI, isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * Normal(mu, sigma): density exp(−(x−mu)²/(2σ²)) / (σ√(2π)).
 *
 * @category constructors
 * @since 0.1.0
 */
export class NormalDistribution implements Distribution<number> {
  // family, kind and support live on the prototype (getters), not in every instance: a Normal
  // is built per observation, so a smaller object is measurably cheaper.
  get family(): "Normal" {
    return "Normal"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly mu: number
  readonly sigma: number
  /** −log σ − log(2π)/2, cached: logProb is the hot path. */
  readonly logNorm: number
  constructor(mu: number, sigma: number) {
    this.mu = mu
    this.sigma = sigma
    this.logNorm = -Math.log(sigma) - HALF_LOG_2PI
  }
  sample(rng: Rng): number {
    return this.mu + this.sigma * rng.normal()
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const z = (x - this.mu) / this.sigma
    const lp = this.logNorm - 0.5 * z * z
    // ±∞ (or a non-number) gives −∞, never NaN.
    return lp === lp ? lp : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.mu
  }
  variance(): number {
    return this.sigma * this.sigma
  }
}

/**
 * A normal distribution; throws `InvalidDistributionError` unless `mu` is finite and `sigma` > 0.
 *
 * @example
 * const d = Normal(0, 2)
 * d.logProb(1) // −log 2 − log(2π)/2 − 1/8
 *
 * @category constructors
 * @since 0.1.0
 */
export const Normal = (mu: number, sigma: number): NormalDistribution =>
  new NormalDistribution(requireFinite("Normal", "mu", mu), requirePositive("Normal", "sigma", sigma))
