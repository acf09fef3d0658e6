/**
 * The geometric distribution: the number of failures before the first success in
 * independent trials with success probability `p` (support 0, 1, 2, …). Use it for waiting
 * counts in discrete time.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { fail, isNumber, type Distribution, type Support } from "../Distribution.ts"
import { MAX_FINITE } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Integers", lower: 0, upper: Infinity }

/**
 * Geometric(p): mass p (1 − p)^k for k = 0, 1, 2, …
 *
 * @example
 * const d = new GeometricDistribution(0.5)
 * d.logProb(2) // log(1/8)
 *
 * @category constructors
 * @since 0.1.0
 */
export class GeometricDistribution implements Distribution<number> {
  get family(): "Geometric" {
    return "Geometric"
  }
  get kind(): "integer" {
    return "integer"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly p: number
  /** log p and log(1 − p) (−∞ at p = 1), cached. */
  readonly logP: number
  readonly logQ: number
  constructor(p: number) {
    this.p = p
    this.logP = Math.log(p)
    this.logQ = Math.log1p(-p)
  }
  sample(rng: Rng): number {
    if (this.p === 1) return 0
    // Inversion: P(X ≥ k) = (1 − p)^k, so X = ⌊log U / log(1 − p)⌋; for p below about 1e-307
    // the quotient overflows, and MAX_VALUE (an integer) is the nearest count a double holds.
    const k = Math.floor(Math.log(rng.uniform()) / this.logQ)
    return k < Infinity ? k : MAX_FINITE
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0) return -Infinity
    // k = 0 separately: 0·log(1 − p) would be NaN at p = 1.
    return k === 0 ? this.logP : this.logP + k * this.logQ
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return geometricKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.p]
  }
  mean(): number {
    return (1 - this.p) / this.p
  }
  variance(): number {
    return (1 - this.p) / this.p / this.p
  }
}

/**
 * The geometric log mass with its partials in (k, p): ∂p = 1/p − k/(1 − p) (1/p at k = 0, also
 * at p = 1); ∂k = 0 (k is discrete). −∞ unless p is in (0, 1] and k an integer ≥ 0.
 *
 * @example
 * geometricKernel(out, 2, 0.5, 0, 0) // log(1/8), out = [0, −2]
 *
 * @category numerics
 * @since 0.2.0
 */
export const geometricKernel: Kernel = (out, k, p) => {
  if (!(p > 0 && p <= 1 && Number.isInteger(k) && k >= 0)) return -Infinity
  out[0] = 0
  if (k === 0) {
    out[1] = 1 / p
    return Math.log(p)
  }
  out[1] = 1 / p - k / (1 - p)
  return Math.log(p) + k * Math.log1p(-p)
}

const geometricScalar = (p: Real): GeometricDistribution => {
  if (typeof p === "number") return p > 0 && p <= 1 ? new GeometricDistribution(p) : fail("Geometric", "p", p, "must be a probability in (0, 1]")
  const v = primal(p)
  if (!(typeof v === "number" && v > 0 && v <= 1)) fail("Geometric", "p", v, "must be a probability in (0, 1]")
  const d = new GeometricDistribution(v)
  track(d, [p])
  return d
}

const GEOMETRIC_BROADCAST: Spec = registerSpec({
  family: "Geometric",
  parameters: ["p"],
  checks: ["openProbability"],
  kernel: geometricKernel,
  element: (p0) => geometricScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A geometric distribution; throws `InvalidDistributionError` unless `p` is in (0, 1].
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Geometric(0.25)
 * d.mean() // 3
 *
 * @category constructors
 * @since 0.1.0
 */
export function Geometric(p: Reals): BroadcastDistribution
export function Geometric(p: Real): GeometricDistribution
export function Geometric(p: Real | Reals): GeometricDistribution | BroadcastDistribution {
  if (typeof p === "number") return geometricScalar(p)
  return isArrayParameter(p) ? broadcast(GEOMETRIC_BROADCAST, [p]) : geometricScalar(p as Real)
}
