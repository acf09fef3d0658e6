/**
 * The half-normal distribution: |X| for X ~ Normal(0, sigma). Use it as a prior for scale
 * parameters with a light tail.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { HALF_LOG_2PI, isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { MAX_FINITE } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * HalfNormal(sigma): density 2·exp(−x²/(2σ²)) / (σ√(2π)) on x ≥ 0.
 *
 * **Details** A draw beyond MAX_VALUE is clamped to MAX_VALUE.
 *
 * @example
 * const d = new HalfNormalDistribution(1)
 * d.mean() // √(2/π)
 *
 * @category constructors
 * @since 0.1.0
 */
export class HalfNormalDistribution implements Distribution<number> {
  get family(): "HalfNormal" {
    return "HalfNormal"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly sigma: number
  /** log 2 − log σ − log(2π)/2, cached. */
  readonly logNorm: number
  constructor(sigma: number) {
    this.sigma = sigma
    this.logNorm = Math.LN2 - Math.log(sigma) - HALF_LOG_2PI
  }
  sample(rng: Rng): number {
    const x = this.sigma * Math.abs(rng.normal())
    return x < Infinity ? x : MAX_FINITE
  }
  logProb(x: number): number {
    if (typeof x !== "number" || !(x >= 0)) return -Infinity
    const z = x / this.sigma
    return this.logNorm - 0.5 * z * z
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return halfNormalKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.sigma]
  }
  mean(): number {
    return this.sigma * Math.sqrt(2 / Math.PI)
  }
  variance(): number {
    return this.sigma * this.sigma * (1 - 2 / Math.PI)
  }
}

/**
 * The half-normal log density with its partials in (x, sigma): with z = x/σ, ∂x = −z/σ,
 * ∂σ = (z² − 1)/σ; −∞ for x < 0 or x not finite.
 *
 * @example
 * halfNormalKernel(out, 1, 1, 0, 0) // log 2 − log(2π)/2 − 0.5, out = [−1, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const halfNormalKernel: Kernel = (out, x, sigma) => {
  if (!(sigma > 0 && sigma < Infinity && x >= 0 && x < Infinity)) return -Infinity
  const inv = 1 / sigma
  const z = x / sigma
  out[0] = -z * inv
  out[1] = (z * z - 1) * inv
  return Math.LN2 - Math.log(sigma) - HALF_LOG_2PI - 0.5 * z * z
}

const halfNormalScalar = (sigma: Real): HalfNormalDistribution => {
  if (typeof sigma === "number") return new HalfNormalDistribution(requirePositive("HalfNormal", "sigma", sigma))
  const d = new HalfNormalDistribution(requirePositive("HalfNormal", "sigma", primal(sigma)))
  track(d, [sigma])
  return d
}

const HALFNORMAL_BROADCAST: Spec = registerSpec({
  family: "HalfNormal",
  parameters: ["sigma"],
  checks: ["positive"],
  kernel: halfNormalKernel,
  element: (p0) => halfNormalScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A half-normal distribution; throws `InvalidDistributionError` unless `sigma` is finite and > 0.
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = HalfNormal(2)
 * d.logProb(0) // log 2 − log 2 − log(2π)/2
 *
 * @category constructors
 * @since 0.1.0
 */
export function HalfNormal(sigma: Reals): BroadcastDistribution
export function HalfNormal(sigma: Real): HalfNormalDistribution
export function HalfNormal(sigma: Real | Reals): HalfNormalDistribution | BroadcastDistribution {
  if (typeof sigma === "number") return halfNormalScalar(sigma)
  return isArrayParameter(sigma) ? broadcast(HALFNORMAL_BROADCAST, [sigma]) : halfNormalScalar(sigma as Real)
}
