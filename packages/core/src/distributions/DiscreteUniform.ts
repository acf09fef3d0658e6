/**
 * The discrete uniform distribution on the integers `low, low + 1, …, high` (both ends
 * included). Use it for a uniformly random index or a flat prior on a bounded count.
 *
 * @since 0.1.0
 */
import { fail, isNumber, requireInteger, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

/** The largest number of values: draws use floor(U·n) with a 53-bit U. */
const MAX_COUNT = 2 ** 53

/**
 * DiscreteUniform(low, high): mass 1/(high − low + 1) at each integer in [low, high].
 *
 * @example
 * const d = new DiscreteUniformDistribution(1, 6)
 * d.logProb(3) // −log 6
 *
 * @category constructors
 * @since 0.1.0
 */
export class DiscreteUniformDistribution implements Distribution<number> {
  get family(): "DiscreteUniform" {
    return "DiscreteUniform"
  }
  get kind(): "integer" {
    return "integer"
  }
  readonly support: Support
  readonly low: number
  readonly high: number
  /** high − low + 1. */
  readonly count: number
  /** −log(count), cached. */
  readonly logMass: number
  constructor(low: number, high: number) {
    this.low = low
    this.high = high
    this.count = high - low + 1
    this.logMass = -Math.log(this.count)
    this.support = { _tag: "Integers", lower: low, upper: high }
  }
  sample(rng: Rng): number {
    const k = this.low + Math.floor(rng.uniform() * this.count)
    return k > this.high ? this.high : k
  }
  logProb(k: number): number {
    return Number.isInteger(k) && k >= this.low && k <= this.high ? this.logMass : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return 0.5 * this.low + 0.5 * this.high
  }
  variance(): number {
    return (this.count * this.count - 1) / 12
  }
}

/**
 * A discrete uniform distribution on [low, high]; throws `InvalidDistributionError` unless
 * both are safe integers with low ≤ high and at most 2^53 values.
 *
 * @example
 * const die = DiscreteUniform(1, 6)
 * die.mean() // 3.5
 *
 * @category constructors
 * @since 0.1.0
 */
export const DiscreteUniform = (low: number, high: number): DiscreteUniformDistribution => {
  requireInteger("DiscreteUniform", "low", low, Number.MIN_SAFE_INTEGER)
  requireInteger("DiscreteUniform", "high", high, Number.MIN_SAFE_INTEGER)
  if (high < low) fail("DiscreteUniform", "high", high, "must be >= low")
  if (high - low + 1 > MAX_COUNT) fail("DiscreteUniform", "high", high, "high − low + 1 must be at most 2^53")
  return new DiscreteUniformDistribution(low, high)
}
