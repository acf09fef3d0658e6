/**
 * The continuous uniform distribution on a finite interval `[low, high]`. Use it for a flat
 * prior on a bounded quantity or as the base of a transform.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
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
  get logProbKernel(): Kernel {
    return uniformKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.low, this.high]
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
 * The uniform log density with its partials in (x, low, high): with w = high − low, ∂x = 0,
 * ∂low = 1/w, ∂high = −1/w (the density's, for x inside [low, high]); −∞ for x outside.
 *
 * @example
 * uniformKernel(out, 1, 0, 2, 0) // −log 2, out = [0, ½, −½]
 *
 * @category numerics
 * @since 0.2.0
 */
export const uniformKernel: Kernel = (out, x, low, high) => {
  const w = high - low
  if (!(w > 0 && w < Infinity && low > -Infinity && high < Infinity && x >= low && x <= high)) return -Infinity
  out[0] = 0
  out[1] = 1 / w
  out[2] = -1 / w
  return -Math.log(w)
}

/**
 * A uniform distribution; throws `InvalidDistributionError` unless `low` < `high`, both finite
 * and `high − low` finite. The bounds may be differentiable values (`Ad.Real`).
 *
 * @example
 * const d = Uniform(-1, 1)
 * d.mean() // 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const Uniform = (low: Real, high: Real): UniformDistribution => {
  if (typeof low === "number" && typeof high === "number") return checked(low, high)
  const d = checked(primal(low), primal(high))
  track(d, [low, high])
  return d
}

const checked = (low: number, high: number): UniformDistribution => {
  requireFinite("Uniform", "low", low)
  requireFinite("Uniform", "high", high)
  if (!(high > low)) fail("Uniform", "high", high, "must be > low")
  if (!Number.isFinite(high - low)) fail("Uniform", "high", high, "high − low must be finite")
  return new UniformDistribution(low, high)
}
