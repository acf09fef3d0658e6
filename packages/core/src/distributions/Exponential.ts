/**
 * The exponential distribution with a given `rate`: waiting times of a Poisson process,
 * memoryless. Use it for positive scale parameters or durations with a known mean 1/rate.
 *
 * @since 0.1.0
 */
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { MAX_FINITE } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * Exponential(rate): density rate·e^(−rate·x) on x ≥ 0.
 *
 * **Details** A draw beyond MAX_VALUE (rates below about 1e-306) is clamped to MAX_VALUE.
 *
 * @example
 * const d = new ExponentialDistribution(2)
 * d.logProb(0) // log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class ExponentialDistribution implements Distribution<number> {
  get family(): "Exponential" {
    return "Exponential"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly rate: number
  /** log rate, cached. */
  readonly logRate: number
  constructor(rate: number) {
    this.rate = rate
    this.logRate = Math.log(rate)
  }
  sample(rng: Rng): number {
    // Inversion: −log U / rate (U in (0, 1), so −log U is finite; the quotient may overflow).
    const x = -Math.log(rng.uniform()) / this.rate
    return x < Infinity ? x : MAX_FINITE
  }
  logProb(x: number): number {
    if (typeof x !== "number" || !(x >= 0)) return -Infinity
    return this.logRate - this.rate * x
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return 1 / this.rate
  }
  variance(): number {
    return 1 / (this.rate * this.rate)
  }
}

/**
 * An exponential distribution; throws `InvalidDistributionError` unless `rate` is finite and > 0.
 *
 * @example
 * const d = Exponential(0.5)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export const Exponential = (rate: number): ExponentialDistribution =>
  new ExponentialDistribution(requirePositive("Exponential", "rate", rate))
