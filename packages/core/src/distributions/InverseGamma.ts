/**
 * The inverse-gamma distribution: 1/X for X ~ Gamma(shape, rate = scale). Use it as the
 * conjugate prior of a normal variance.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive } from "../internal/limits.ts"
import { bd0Quotient, gammaSaddleConstant } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Positive" }

/** Shapes above this use the saddle-point form (as Gamma). */
const SADDLE_FROM = 1000

/**
 * InverseGamma(shape, scale): density β^α x^(−α−1) e^(−β/x) / Γ(α) on x > 0.
 *
 * **Details** The mean β/(α − 1) exists for α > 1 (+∞ otherwise); the variance
 * β²/((α − 1)²(α − 2)) for α > 2 (+∞ for 1 < α ≤ 2, undefined for α ≤ 1). Draws are
 * β/G with G ~ Gamma(α, 1), formed in log space and clamped into [2^-1074, MAX_VALUE] (for small
 * α much of the mass lies above MAX_VALUE). For α > 1000 `logProb` uses the saddle-point form
 * log α − log x + log dpois_raw(α, β/x) = ½ log(α/2π) − stirlerr(α) − log x − bd0(α, β/x)
 * (Loader 2000, as R's dgamma), finite wherever the true value is.
 *
 * @example
 * const d = new InverseGammaDistribution(3, 2)
 * d.mean() // 1
 *
 * @category constructors
 * @since 0.1.0
 */
export class InverseGammaDistribution implements Distribution<number> {
  get family(): "InverseGamma" {
    return "InverseGamma"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly shape: number
  readonly scale: number
  /** α log β − log Γ(α) (α ≤ 1000), or the saddle-point constant ½ log(α/2π) − stirlerr(α), cached. */
  readonly logNorm: number
  constructor(shape: number, scale: number) {
    this.shape = shape
    this.scale = scale
    this.logNorm = shape <= SADDLE_FROM ? shape * Math.log(scale) - gammaln(shape) : gammaSaddleConstant(shape)
  }
  sample(rng: Rng): number {
    // β/G directly for shape ≥ 1 (exp of a log would cost 1e-13 of relative precision, too much
    // for a huge, correspondingly narrow shape); in log space below, where G may underflow.
    if (this.shape >= 1) return clampPositive(this.scale / standardGamma(rng, this.shape))
    return clampPositive(Math.exp(Math.log(this.scale) - logStandardGamma(rng, this.shape)))
  }
  logProb(x: number): number {
    // x = 0 is the density's limit 0 (e^(−β/x) wins).
    if (typeof x !== "number" || !(x > 0) || x === Infinity) return -Infinity
    if (this.shape <= SADDLE_FROM) return this.logNorm - (this.shape + 1) * Math.log(x) - this.scale / x
    return this.logNorm - Math.log(x) - bd0Quotient(this.shape, this.scale, x)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.shape > 1 ? this.scale / (this.shape - 1) : Infinity
  }
  variance(): number | undefined {
    const a = this.shape
    if (a > 2) return (this.scale / (a - 1)) * (this.scale / (a - 1)) / (a - 2)
    return a > 1 ? Infinity : undefined
  }
}

/**
 * An inverse-gamma distribution; throws `InvalidDistributionError` unless `shape` and `scale`
 * are finite and > 0.
 *
 * @example
 * const sigma2 = InverseGamma(2, 1)
 * sigma2.logProb(1) // −1
 *
 * @category constructors
 * @since 0.1.0
 */
export const InverseGamma = (shape: number, scale: number): InverseGammaDistribution =>
  new InverseGammaDistribution(requirePositive("InverseGamma", "shape", shape), requirePositive("InverseGamma", "scale", scale))
