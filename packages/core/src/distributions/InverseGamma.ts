/**
 * The inverse-gamma distribution: 1/X for X ~ Gamma(shape, rate = scale). Use it as the
 * conjugate prior of a normal variance.
 *
 * @since 0.1.0
 */
import digamma from "@stdlib/math-base-special-digamma"
import gammaln from "@stdlib/math-base-special-gammaln"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive } from "../internal/limits.ts"
import { bd0Quotient, gammaSaddleConstant } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

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
  get logProbKernel(): Kernel {
    return inverseGammaKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.shape, this.scale]
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
 * The inverse-gamma log density with its partials in (x, shape α, scale β):
 * ∂x = (β/x − α − 1)/x, ∂α = log β − log x − ψ(α) (ψ the digamma function), ∂β = α/β − 1/x.
 *
 * **Details** The value is `logProb`'s (the same direct or saddle-point form); −∞ for x ≤ 0 or
 * x not finite.
 *
 * @example
 * inverseGammaKernel(out, 1, 2, 1, 0) // −1, out = [−2, −ψ(2), 1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const inverseGammaKernel: Kernel = (out, x, shape, scale) => {
  if (!(shape > 0 && shape < Infinity && scale > 0 && scale < Infinity && x > 0 && x < Infinity)) return -Infinity
  const logX = Math.log(x)
  const logScale = Math.log(scale)
  out[0] = (scale / x - shape - 1) / x
  out[1] = logScale - logX - digamma(shape)
  out[2] = shape / scale - 1 / x
  if (shape <= SADDLE_FROM) return shape * logScale - gammaln(shape) - (shape + 1) * logX - scale / x
  return gammaSaddleConstant(shape) - logX - bd0Quotient(shape, scale, x)
}

const inverseGammaScalar = (shape: Real, scale: Real): InverseGammaDistribution => {
  if (typeof shape === "number" && typeof scale === "number") {
    return new InverseGammaDistribution(requirePositive("InverseGamma", "shape", shape), requirePositive("InverseGamma", "scale", scale))
  }
  const d = new InverseGammaDistribution(
    requirePositive("InverseGamma", "shape", primal(shape)),
    requirePositive("InverseGamma", "scale", primal(scale))
  )
  track(d, [shape, scale])
  return d
}

const INVERSEGAMMA_BROADCAST: Spec = registerSpec({
  family: "InverseGamma",
  parameters: ["shape", "scale"],
  checks: ["positive", "positive"],
  kernel: inverseGammaKernel,
  element: (p0, p1) => inverseGammaScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * An inverse-gamma distribution; throws `InvalidDistributionError` unless `shape` and `scale`
 * are finite and > 0. The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const sigma2 = InverseGamma(2, 1)
 * sigma2.logProb(1) // −1
 *
 * @category constructors
 * @since 0.1.0
 */
export function InverseGamma(shape: Reals, scale: Real | Reals): BroadcastDistribution
export function InverseGamma(shape: Real, scale: Reals): BroadcastDistribution
export function InverseGamma(shape: Real, scale: Real): InverseGammaDistribution
export function InverseGamma(shape: Real | Reals, scale: Real | Reals): InverseGammaDistribution | BroadcastDistribution {
  if (typeof shape === "number" && typeof scale === "number") return inverseGammaScalar(shape, scale)
  return isArrayParameter(shape) || isArrayParameter(scale) ? broadcast(INVERSEGAMMA_BROADCAST, [shape, scale]) : inverseGammaScalar(shape as Real, scale as Real)
}
