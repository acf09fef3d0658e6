/**
 * The Bernoulli distribution: a single coin flip that is `true` with probability `p`. Use it
 * for binary outcomes and indicators; values are booleans.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isBoolean, requireProbability, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Boolean" }

/**
 * Bernoulli(p): mass p at `true`, 1 − p at `false`.
 *
 * @example
 * const d = new BernoulliDistribution(0.25)
 * d.logProb(true) // log 0.25
 *
 * @category constructors
 * @since 0.1.0
 */
export class BernoulliDistribution implements Distribution<boolean> {
  get family(): "Bernoulli" {
    return "Bernoulli"
  }
  get kind(): "boolean" {
    return "boolean"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly p: number
  /** log p and log(1 − p), cached (−∞ at the ends, never NaN). */
  readonly logP: number
  readonly logQ: number
  constructor(p: number) {
    this.p = p
    this.logP = Math.log(p)
    this.logQ = Math.log1p(-p)
  }
  sample(rng: Rng): boolean {
    // U ≤ p (not <) so that p = 1 is always true whatever the source returns.
    return rng.uniform() <= this.p
  }
  logProb(x: boolean): number {
    return x === true ? this.logP : x === false ? this.logQ : -Infinity
  }
  isValue(x: unknown): x is boolean {
    return isBoolean(x)
  }
  get logProbKernel(): Kernel {
    return bernoulliKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.p]
  }
  /** The mean of the indicator, p. */
  mean(): number {
    return this.p
  }
  variance(): number {
    return this.p * (1 - this.p)
  }
}

/**
 * The Bernoulli log mass with its partials in (x, p), x = 1 for `true` and 0 for `false`:
 * ∂p = 1/p at x = 1 and −1/(1 − p) at x = 0; ∂x = 0 (x is discrete). Any other x gives −∞.
 *
 * @example
 * bernoulliKernel(out, 1, 0.25, 0, 0) // log 0.25, out = [0, 4]
 *
 * @category numerics
 * @since 0.2.0
 */
export const bernoulliKernel: Kernel = (out, x, p) => {
  if (!(p >= 0 && p <= 1)) return -Infinity
  out[0] = 0
  if (x === 1) {
    out[1] = 1 / p
    return Math.log(p)
  }
  if (x === 0) {
    out[1] = -1 / (1 - p)
    return Math.log1p(-p)
  }
  return -Infinity
}

const bernoulliScalar = (p: Real): BernoulliDistribution => {
  if (typeof p === "number") return new BernoulliDistribution(requireProbability("Bernoulli", "p", p))
  const d = new BernoulliDistribution(requireProbability("Bernoulli", "p", primal(p)))
  track(d, [p])
  return d
}

const BERNOULLI_BROADCAST: Spec = registerSpec({
  family: "Bernoulli",
  parameters: ["p"],
  checks: ["probability"],
  kernel: bernoulliKernel,
  element: (p0) => bernoulliScalar(p0),
  support: SUPPORT,
  boolean: true
})

/**
 * A Bernoulli distribution; throws `InvalidDistributionError` unless `p` is in [0, 1].
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Bernoulli(0.5)
 * d.sample(Rng.make(1)) // true or false
 *
 * @category constructors
 * @since 0.1.0
 */
export function Bernoulli(p: Reals): BroadcastDistribution
export function Bernoulli(p: Real): BernoulliDistribution
export function Bernoulli(p: Real | Reals): BernoulliDistribution | BroadcastDistribution {
  if (typeof p === "number") return bernoulliScalar(p)
  return isArrayParameter(p) ? broadcast(BERNOULLI_BROADCAST, [p]) : bernoulliScalar(p as Real)
}
