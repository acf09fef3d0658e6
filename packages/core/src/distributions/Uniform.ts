/**
 * The continuous uniform distribution on a finite interval `[low, high]`. Use it for a flat
 * prior on a bounded quantity or as the base of a transform.
 *
 * @since 0.1.0
 */
import { fail, isNumber, requireFinite, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

/**
 * Uniform(low, high): density 1/(high − low) on [low, high].
 *
 * @example
 * const d = new UniformDistribution(0, 2)
 * d.logProb(1) // −log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class UniformDistribution implements Distribution<number> {
  get family(): "Uniform" {
    return "Uniform"
  }
  get kind(): "real" {
    return "real"
  }
  readonly support: Support
  readonly low: number
  readonly high: number
  /** −log(high − low), cached. */
  readonly logDensity: number
  constructor(low: number, high: number) {
    this.low = low
    this.high = high
    this.support = { _tag: "Interval", lower: low, upper: high }
    this.logDensity = -Math.log(high - low)
  }
  sample(rng: Rng): number {
    const x = this.low + (this.high - this.low) * rng.uniform()
    // Rounding may land one ulp past `high`.
    return x > this.high ? this.high : x
  }
  logProb(x: number): number {
    return typeof x === "number" && x >= this.low && x <= this.high ? this.logDensity : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return 0.5 * this.low + 0.5 * this.high
  }
  variance(): number {
    const w = this.high - this.low
    return (w * w) / 12
  }
}

/**
 * A uniform distribution; throws `InvalidDistributionError` unless `low` < `high`, both finite
 * and `high − low` finite.
 *
 * @example
 * const d = Uniform(-1, 1)
 * d.mean() // 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const Uniform = (low: number, high: number): UniformDistribution => {
  requireFinite("Uniform", "low", low)
  requireFinite("Uniform", "high", high)
  if (!(high > low)) fail("Uniform", "high", high, "must be > low")
  if (!Number.isFinite(high - low)) fail("Uniform", "high", high, "high − low must be finite")
  return new UniformDistribution(low, high)
}
