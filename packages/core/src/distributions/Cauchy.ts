/**
 * The Cauchy (Lorentz) distribution with a location and a scale: Student-t with one degree
 * of freedom. Use it as a very heavy-tailed prior or noise model; it has no mean or variance.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { locScale, logAbsDiff } from "../internal/limits.ts"
import { log1pSquare } from "../internal/saddlePoint.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Real" }
const LOG_PI = Math.log(Math.PI)

/**
 * Cauchy(loc, scale): density 1 / (π·scale·(1 + ((x − loc)/scale)²)).
 *
 * **Details** Where z = (x − loc)/scale overflows, log(1 + z²) = 2 log|z| is taken from
 * log|x − loc| − log scale, so `logProb` is finite at every finite x; a draw beyond the doubles
 * is clamped to ±MAX_VALUE.
 *
 * @example
 * const d = new CauchyDistribution(0, 1)
 * d.logProb(0) // −log π
 *
 * @category constructors
 * @since 0.1.0
 */
export class CauchyDistribution implements Distribution<number> {
  get family(): "Cauchy" {
    return "Cauchy"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly loc: number
  readonly scale: number
  /** −log(π·scale), cached. */
  readonly logNorm: number
  constructor(loc: number, scale: number) {
    this.loc = loc
    this.scale = scale
    // −log π − log scale, not −log(π·scale): the product overflows for scale > MAX_VALUE/π.
    this.logNorm = -LOG_PI - Math.log(scale)
  }
  sample(rng: Rng): number {
    // Inversion: loc + scale·tan(π(U − ½)), written as ∓cot(π·min(U, 1 − U)) so the tails keep
    // full relative precision (1 − U is exact for U ≥ ½).
    const u = rng.uniform()
    const t = u < 0.5 ? -1 / Math.tan(Math.PI * u) : 1 / Math.tan(Math.PI * (1 - u))
    return locScale(this.loc, this.scale, t)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const lp = this.logNorm - log1pSquare((x - this.loc) / this.scale)
    return lp > -Infinity ? lp : logProbFromLogs(x, this.loc, this.scale, this.logNorm)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return cauchyKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.loc, this.scale]
  }
  /** Undefined: the Cauchy distribution has no mean. */
  mean(): undefined {
    return undefined
  }
  /** Undefined: the Cauchy distribution has no variance. */
  variance(): undefined {
    return undefined
  }
}

/**
 * The rare path of `logProb`: NaN or ±∞ get −∞, and where z overflowed for a finite x (x − loc
 * or the quotient) log(1 + z²) is taken from log|z| = log|x − loc| − log scale.
 */
const logProbFromLogs = (x: number, loc: number, scale: number, logNorm: number): number => {
  if (x - x !== 0) return -Infinity
  const logZ = logAbsDiff(x, loc) - Math.log(scale)
  return logNorm - (logZ > 300 ? 2 * logZ : Math.log1p(Math.exp(2 * logZ)))
}

/**
 * The Cauchy log density with its partials in (x, loc, scale s): with z = (x − loc)/s,
 * ∂x = −2z/(s(1 + z²)), ∂loc = 2z/(s(1 + z²)), ∂s = (z² − 1)/(s(1 + z²)).
 *
 * **Details** z/(1 + z²) is formed as 1/(z + 1/z) and z²/(1 + z²) as 1/(1 + 1/z²), so neither
 * overflows for huge z (nor is NaN at z = 0); the value is `logProb`'s, finite at every finite x.
 *
 * @example
 * cauchyKernel(out, 1, 0, 1, 0) // −log π − log 2, out = [−1, 1, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const cauchyKernel: Kernel = (out, x, loc, scale) => {
  if (!(scale > 0 && scale < Infinity) || x - x !== 0 || loc - loc !== 0) return -Infinity
  const z = (x - loc) / scale
  const ratio = 1 / (z + 1 / z)
  const share = 1 / (1 + 1 / (z * z))
  out[0] = (-2 * ratio) / scale
  out[1] = (2 * ratio) / scale
  out[2] = (2 * share - 1) / scale
  const logNorm = -LOG_PI - Math.log(scale)
  const lp = logNorm - log1pSquare(z)
  return lp > -Infinity ? lp : logProbFromLogs(x, loc, scale, logNorm)
}

const cauchyScalar = (loc: Real, scale: Real): CauchyDistribution => {
  if (typeof loc === "number" && typeof scale === "number") {
    return new CauchyDistribution(requireFinite("Cauchy", "loc", loc), requirePositive("Cauchy", "scale", scale))
  }
  const d = new CauchyDistribution(requireFinite("Cauchy", "loc", primal(loc)), requirePositive("Cauchy", "scale", primal(scale)))
  track(d, [loc, scale])
  return d
}

const CAUCHY_BROADCAST: Spec = registerSpec({
  family: "Cauchy",
  parameters: ["loc", "scale"],
  checks: ["finite", "positive"],
  kernel: cauchyKernel,
  element: (p0, p1) => cauchyScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A Cauchy distribution; throws `InvalidDistributionError` unless `loc` is finite and `scale` > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Cauchy(0, 2)
 * d.mean() // undefined
 *
 * @category constructors
 * @since 0.1.0
 */
export function Cauchy(loc: Reals, scale: Real | Reals): BroadcastDistribution
export function Cauchy(loc: Real, scale: Reals): BroadcastDistribution
export function Cauchy(loc: Real, scale: Real): CauchyDistribution
export function Cauchy(loc: Real | Reals, scale: Real | Reals): CauchyDistribution | BroadcastDistribution {
  if (typeof loc === "number" && typeof scale === "number") return cauchyScalar(loc, scale)
  return isArrayParameter(loc) || isArrayParameter(scale) ? broadcast(CAUCHY_BROADCAST, [loc, scale]) : cauchyScalar(loc as Real, scale as Real)
}
