/**
 * The half-Cauchy distribution: |X| for X ~ Cauchy(0, scale). A common weakly informative
 * prior for scale parameters (Gelman 2006); its mean is infinite.
 *
 * @since 0.1.0
 */
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { log1pSquare } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * HalfCauchy(scale): density 2 / (π·scale·(1 + (x/scale)²)) on x ≥ 0.
 *
 * @example
 * const d = new HalfCauchyDistribution(1)
 * d.logProb(0) // log(2/π)
 *
 * @category constructors
 * @since 0.1.0
 */
export class HalfCauchyDistribution implements Distribution<number> {
  get family(): "HalfCauchy" {
    return "HalfCauchy"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly scale: number
  /** log(2/(π·scale)), cached. */
  readonly logNorm: number
  constructor(scale: number) {
    this.scale = scale
    this.logNorm = Math.log(2 / Math.PI) - Math.log(scale)
  }
  sample(rng: Rng): number {
    // Inversion: scale·tan(πU/2), as scale·cot(π(1 − U)/2) for U ≥ ½ to keep the tail precise.
    const u = rng.uniform()
    return this.scale * (u < 0.5 ? Math.tan(0.5 * Math.PI * u) : 1 / Math.tan(0.5 * Math.PI * (1 - u)))
  }
  logProb(x: number): number {
    if (!(x >= 0) || x === Infinity || typeof x !== "number") return -Infinity
    return this.logNorm - log1pSquare(x / this.scale)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  /** +∞: the mean diverges. */
  mean(): number {
    return Infinity
  }
  /** Undefined: there is no finite mean to measure a variance about. */
  variance(): undefined {
    return undefined
  }
}

/**
 * A half-Cauchy distribution; throws `InvalidDistributionError` unless `scale` is finite and > 0.
 *
 * @example
 * const tau = HalfCauchy(2.5)
 * tau.sample(Rng.make(1)) // ≥ 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const HalfCauchy = (scale: number): HalfCauchyDistribution => new HalfCauchyDistribution(requirePositive("HalfCauchy", "scale", scale))
