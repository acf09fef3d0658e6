/**
 * The Weibull distribution with a `shape` k and a `scale` λ. Use it for lifetimes and
 * failure times: k < 1 means a falling hazard, k = 1 the exponential, k > 1 a rising hazard.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * Weibull(shape, scale): density (k/λ)(x/λ)^(k−1) exp(−(x/λ)^k) on x ≥ 0.
 *
 * **Details** At x = 0 `logProb` returns the density's limit: +∞ for k < 1, −log λ for k = 1,
 * −∞ for k > 1.
 *
 * @example
 * const d = new WeibullDistribution(1, 2)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class WeibullDistribution implements Distribution<number> {
  get family(): "Weibull" {
    return "Weibull"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly shape: number
  readonly scale: number
  /** log k − log λ, cached. */
  readonly logNorm: number
  constructor(shape: number, scale: number) {
    this.shape = shape
    this.scale = scale
    this.logNorm = Math.log(shape) - Math.log(scale)
  }
  sample(rng: Rng): number {
    // Inversion: λ·(−log U)^(1/k).
    return this.scale * Math.pow(-Math.log(rng.uniform()), 1 / this.shape)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < Infinity) {
      const lz = Math.log(x / this.scale)
      return this.logNorm + (this.shape - 1) * lz - Math.exp(this.shape * lz)
    }
    if (x === 0) return this.shape < 1 ? Infinity : this.shape === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.scale * Math.exp(gammaln(1 + 1 / this.shape))
  }
  variance(): number {
    const g1 = Math.exp(gammaln(1 + 1 / this.shape))
    const g2 = Math.exp(gammaln(1 + 2 / this.shape))
    return this.scale * this.scale * (g2 - g1 * g1)
  }
}

/**
 * A Weibull distribution; throws `InvalidDistributionError` unless `shape` and `scale` are finite and > 0.
 *
 * @example
 * const d = Weibull(2, 1)
 * d.logProb(1) // log 2 − 1
 *
 * @category constructors
 * @since 0.1.0
 */
export const Weibull = (shape: number, scale: number): WeibullDistribution =>
  new WeibullDistribution(requirePositive("Weibull", "shape", shape), requirePositive("Weibull", "scale", scale))
