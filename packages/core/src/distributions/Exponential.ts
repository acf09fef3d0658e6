/**
 * The exponential distribution with a given `rate`: waiting times of a Poisson process,
 * memoryless. Use it for positive scale parameters or durations with a known mean 1/rate.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { MAX_FINITE } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

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
  get logProbKernel(): Kernel {
    return exponentialKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.rate]
  }
  mean(): number {
    return 1 / this.rate
  }
  variance(): number {
    return 1 / (this.rate * this.rate)
  }
}

/**
 * The exponential log density with its partials in (x, rate): ∂x = −rate, ∂rate = 1/rate − x;
 * −∞ for x < 0 or x not finite.
 *
 * @example
 * exponentialKernel(out, 1, 2, 0, 0) // log 2 − 2, out = [−2, −0.5]
 *
 * @category numerics
 * @since 0.2.0
 */
export const exponentialKernel: Kernel = (out, x, rate) => {
  if (!(rate > 0 && rate < Infinity && x >= 0 && x < Infinity)) return -Infinity
  out[0] = -rate
  out[1] = 1 / rate - x
  return Math.log(rate) - rate * x
}

const exponentialScalar = (rate: Real): ExponentialDistribution => {
  if (typeof rate === "number") return new ExponentialDistribution(requirePositive("Exponential", "rate", rate))
  const d = new ExponentialDistribution(requirePositive("Exponential", "rate", primal(rate)))
  track(d, [rate])
  return d
}

const EXPONENTIAL_BROADCAST: Spec = registerSpec({
  family: "Exponential",
  parameters: ["rate"],
  checks: ["positive"],
  kernel: exponentialKernel,
  element: (p0) => exponentialScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * An exponential distribution; throws `InvalidDistributionError` unless `rate` is finite and > 0.
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Exponential(0.5)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export function Exponential(rate: Reals): BroadcastDistribution
export function Exponential(rate: Real): ExponentialDistribution
export function Exponential(rate: Real | Reals): ExponentialDistribution | BroadcastDistribution {
  if (typeof rate === "number") return exponentialScalar(rate)
  return isArrayParameter(rate) ? broadcast(EXPONENTIAL_BROADCAST, [rate]) : exponentialScalar(rate as Real)
}
