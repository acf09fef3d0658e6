/**
 * The normal (Gaussian) distribution with mean `mu` and standard deviation `sigma`.
 *
 * @since 0.1.0
 */
import { HALF_LOG_2PI, isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampReal } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * Normal(mu, sigma): density exp(−(x−mu)²/(2σ²)) / (σ√(2π)).
 *
 * **Details** Where x − mu overflows (|x|, |mu| near MAX_VALUE with opposite signs) `logProb`
 * works from the halves, so it is finite wherever the true log density is; a draw that
 * overflows is clamped to ±MAX_VALUE.
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
    const x = this.mu + this.sigma * rng.normal()
    return x - x === 0 ? x : clampReal(x)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const z = (x - this.mu) / this.sigma
    const lp = this.logNorm - 0.5 * z * z
    if (lp > -Infinity) return lp
    // Rare: x is NaN or ±∞ (−∞), or x − mu overflowed although x is finite (redo from halves).
    if (x - x !== 0) return -Infinity
    const h = (0.5 * x - 0.5 * this.mu) / this.sigma
    return this.logNorm - 2 * h * h
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
