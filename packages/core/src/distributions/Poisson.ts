/**
 * The Poisson distribution with a given `rate`: counts of events in a fixed window when they
 * occur independently at a constant rate. Use it for unbounded counts.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { fail, isNumber, type Distribution, type Support } from "../Distribution.ts"
import { poissonLogPmf } from "../internal/saddlePoint.ts"
import { samplePoisson } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Integers", lower: 0, upper: Infinity }

/**
 * Poisson(rate): mass e^(−rate) rate^k / k! for k = 0, 1, 2, …
 *
 * **Details** `logProb` uses Loader's (2000) saddle-point form, accurate for large counts.
 * Draws use inversion for rate < 10 and Hörmann's PTRS (1993) otherwise, and for rates from
 * 2^110 (where the spread is below one ulp) a rounded normal draw. A rate of 0 is the point mass at 0.
 *
 * @example
 * const d = new PoissonDistribution(3)
 * d.logProb(0) // −3
 *
 * @category constructors
 * @since 0.1.0
 */
export class PoissonDistribution implements Distribution<number> {
  get family(): "Poisson" {
    return "Poisson"
  }
  get kind(): "integer" {
    return "integer"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly rate: number
  constructor(rate: number) {
    this.rate = rate
  }
  sample(rng: Rng): number {
    return samplePoisson(rng, this.rate)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0) return -Infinity
    const lp = poissonLogPmf(k, this.rate)
    // Rounding may leave a mass near 1 a few ulps above it.
    return lp > 0 ? 0 : lp
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return poissonKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.rate]
  }
  mean(): number {
    return this.rate
  }
  variance(): number {
    return this.rate
  }
}

/**
 * The Poisson log mass with its partials in (k, rate): ∂rate = k/rate − 1 (−1 at k = 0, also at
 * rate 0); ∂k = 0 (k is discrete). −∞ unless rate is finite and ≥ 0 and k an integer ≥ 0.
 *
 * @example
 * poissonKernel(out, 0, 3, 0, 0) // −3, out = [0, −1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const poissonKernel: Kernel = (out, k, rate) => {
  if (!(rate >= 0 && rate < Infinity && Number.isInteger(k) && k >= 0)) return -Infinity
  out[0] = 0
  out[1] = k > 0 ? k / rate - 1 : -1
  const lp = poissonLogPmf(k, rate)
  return lp > 0 ? 0 : lp
}

const poissonScalar = (rate: Real): PoissonDistribution => {
  if (typeof rate === "number") {
    return rate >= 0 && rate < Infinity ? new PoissonDistribution(rate) : fail("Poisson", "rate", rate, "must be a finite number >= 0")
  }
  const r = primal(rate)
  if (!(typeof r === "number" && r >= 0 && r < Infinity)) fail("Poisson", "rate", r, "must be a finite number >= 0")
  const d = new PoissonDistribution(r)
  track(d, [rate])
  return d
}

const POISSON_BROADCAST: Spec = registerSpec({
  family: "Poisson",
  parameters: ["rate"],
  checks: ["nonNegative"],
  kernel: poissonKernel,
  element: (p0) => poissonScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A Poisson distribution; throws `InvalidDistributionError` unless `rate` is finite and ≥ 0.
 * The rate may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Poisson(4)
 * d.variance() // 4
 *
 * @category constructors
 * @since 0.1.0
 */
export function Poisson(rate: Reals): BroadcastDistribution
export function Poisson(rate: Real): PoissonDistribution
export function Poisson(rate: Real | Reals): PoissonDistribution | BroadcastDistribution {
  if (typeof rate === "number") return poissonScalar(rate)
  return isArrayParameter(rate) ? broadcast(POISSON_BROADCAST, [rate]) : poissonScalar(rate as Real)
}
