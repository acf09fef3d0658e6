/**
 * The half-Cauchy distribution: |X| for X ~ Cauchy(0, scale). A common weakly informative
 * prior for scale parameters (Gelman 2006); its mean is infinite.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { MAX_FINITE } from "../internal/limits.ts"
import { log1pSquare } from "../internal/saddlePoint.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * HalfCauchy(scale): density 2 / (π·scale·(1 + (x/scale)²)) on x ≥ 0.
 *
 * **Details** Where x/scale overflows, log(1 + z²) = 2(log x − log scale), so `logProb` is
 * finite at every finite x ≥ 0; a draw beyond MAX_VALUE is clamped to it.
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
    const x = this.scale * (u < 0.5 ? Math.tan(0.5 * Math.PI * u) : 1 / Math.tan(0.5 * Math.PI * (1 - u)))
    return x < Infinity ? x : MAX_FINITE
  }
  logProb(x: number): number {
    if (typeof x !== "number" || !(x >= 0) || x === Infinity) return -Infinity
    const z = x / this.scale
    return z < Infinity ? this.logNorm - log1pSquare(z) : this.logNorm - 2 * (Math.log(x) - Math.log(this.scale))
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return halfCauchyKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.scale]
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

/** log(2/π), the half-Cauchy's normaliser without its scale (computed once). */
const LOG_2_OVER_PI = Math.log(2 / Math.PI)

/**
 * The half-Cauchy log density with its partials in (x, scale s): with z = x/s,
 * ∂x = −2z/(s(1 + z²)), ∂s = (z² − 1)/(s(1 + z²)); −∞ for x < 0 or x not finite.
 *
 * **Details** The ratios are formed as in `cauchyKernel` (no overflow for huge z); the value is
 * `logProb`'s.
 *
 * @example
 * halfCauchyKernel(out, 1, 1, 0, 0) // log(2/π) − log 2, out = [−1, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const halfCauchyKernel: Kernel = (out, x, scale) => {
  if (!(scale > 0 && scale < Infinity && x >= 0 && x < Infinity)) return -Infinity
  const z = x / scale
  out[0] = (-2 / (z + 1 / z)) / scale
  out[1] = (2 / (1 + 1 / (z * z)) - 1) / scale
  // a prior's scale is usually a constant: its log(2/(π·scale)) computed once, not per call
  if (scale !== lastScale) {
    lastScale = scale
    lastLogNorm = LOG_2_OVER_PI - Math.log(scale)
  }
  const logNorm = lastLogNorm
  return z < Infinity ? logNorm - log1pSquare(z) : logNorm - 2 * (Math.log(x) - Math.log(scale))
}

/** The last scale `halfCauchyKernel` saw, and its log(2/(π·scale)). */
let lastScale = Number.NaN
let lastLogNorm = Number.NaN

const halfCauchyScalar = (scale: Real): HalfCauchyDistribution => {
  if (typeof scale === "number") return new HalfCauchyDistribution(requirePositive("HalfCauchy", "scale", scale))
  const d = new HalfCauchyDistribution(requirePositive("HalfCauchy", "scale", primal(scale)))
  track(d, [scale])
  return d
}

const HALFCAUCHY_BROADCAST: Spec = registerSpec({
  family: "HalfCauchy",
  parameters: ["scale"],
  checks: ["positive"],
  kernel: halfCauchyKernel,
  element: (p0) => halfCauchyScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A half-Cauchy distribution; throws `InvalidDistributionError` unless `scale` is finite and > 0.
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const tau = HalfCauchy(2.5)
 * tau.sample(Rng.make(1)) // ≥ 0
 *
 * @category constructors
 * @since 0.1.0
 */
export function HalfCauchy(scale: Reals): BroadcastDistribution
export function HalfCauchy(scale: Real): HalfCauchyDistribution
export function HalfCauchy(scale: Real | Reals): HalfCauchyDistribution | BroadcastDistribution {
  if (typeof scale === "number") return halfCauchyScalar(scale)
  return isArrayParameter(scale) ? broadcast(HALFCAUCHY_BROADCAST, [scale]) : halfCauchyScalar(scale as Real)
}
