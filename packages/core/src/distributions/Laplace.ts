/**
 * The Laplace (double exponential) distribution with a location and a scale. Use it for
 * noise with heavier-than-normal tails or as a sparsity-inducing prior (the Bayesian lasso).
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { locScale } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * Laplace(loc, scale): density exp(−|x − loc|/scale) / (2·scale).
 *
 * **Details** `logProb` survives |x − loc| overflowing (from the halves); a draw beyond the
 * doubles is clamped to ±MAX_VALUE.
 *
 * @example
 * const d = new LaplaceDistribution(0, 1)
 * d.logProb(0) // −log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class LaplaceDistribution implements Distribution<number> {
  get family(): "Laplace" {
    return "Laplace"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly loc: number
  readonly scale: number
  /** −log(2·scale), cached. */
  readonly logNorm: number
  constructor(loc: number, scale: number) {
    this.loc = loc
    this.scale = scale
    // −log 2 − log scale, not −log(2·scale): the product overflows for scale > MAX_VALUE/2.
    this.logNorm = -Math.LN2 - Math.log(scale)
  }
  sample(rng: Rng): number {
    // Inversion: loc + scale·log(2U) below the median, loc − scale·log(2(1 − U)) above it
    // (1 − U is exact for U ≥ ½, so both tails keep full precision).
    const u = rng.uniform()
    return locScale(this.loc, this.scale, u < 0.5 ? Math.log(2 * u) : -Math.log(2 - 2 * u))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const lp = this.logNorm - Math.abs(x - this.loc) / this.scale
    if (lp > -Infinity) return lp
    // Rare: NaN or ±∞ (−∞), or x − loc overflowed although x is finite (redo from halves).
    if (x - x !== 0) return -Infinity
    return this.logNorm - 2 * (Math.abs(0.5 * x - 0.5 * this.loc) / this.scale)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return laplaceKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.loc, this.scale]
  }
  mean(): number {
    return this.loc
  }
  variance(): number {
    return 2 * this.scale * this.scale
  }
}

/**
 * The Laplace log density with its partials in (x, loc, scale s): with a = |x − loc|/s,
 * ∂x = −sign(x − loc)/s, ∂loc = sign(x − loc)/s, ∂s = (a − 1)/s; at the kink x = loc the
 * partials in x and loc are 0 (the midpoint of the one-sided ones).
 *
 * @example
 * laplaceKernel(out, 1, 0, 1, 0) // −log 2 − 1, out = [−1, 1, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const laplaceKernel: Kernel = (out, x, loc, scale) => {
  if (!(scale > 0 && scale < Infinity) || x - x !== 0 || loc - loc !== 0) return -Infinity
  const d = x - loc
  // x − loc may overflow for finite x and loc: then |x − loc|/s from the halves, as logProb.
  const a = d - d === 0 ? Math.abs(d) / scale : 2 * (Math.abs(0.5 * x - 0.5 * loc) / scale)
  const sign = d > 0 ? 1 : d < 0 ? -1 : 0
  out[0] = -sign / scale
  out[1] = sign / scale
  out[2] = (a - 1) / scale
  return -Math.LN2 - Math.log(scale) - a
}

const laplaceScalar = (loc: Real, scale: Real): LaplaceDistribution => {
  if (typeof loc === "number" && typeof scale === "number") {
    return new LaplaceDistribution(requireFinite("Laplace", "loc", loc), requirePositive("Laplace", "scale", scale))
  }
  const d = new LaplaceDistribution(requireFinite("Laplace", "loc", primal(loc)), requirePositive("Laplace", "scale", primal(scale)))
  track(d, [loc, scale])
  return d
}

const LAPLACE_BROADCAST: Spec = registerSpec({
  family: "Laplace",
  parameters: ["loc", "scale"],
  checks: ["finite", "positive"],
  kernel: laplaceKernel,
  element: (p0, p1) => laplaceScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A Laplace distribution; throws `InvalidDistributionError` unless `loc` is finite and `scale` > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Laplace(1, 0.5)
 * d.variance() // 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export function Laplace(loc: Reals, scale: Real | Reals): BroadcastDistribution
export function Laplace(loc: Real, scale: Reals): BroadcastDistribution
export function Laplace(loc: Real, scale: Real): LaplaceDistribution
export function Laplace(loc: Real | Reals, scale: Real | Reals): LaplaceDistribution | BroadcastDistribution {
  if (typeof loc === "number" && typeof scale === "number") return laplaceScalar(loc, scale)
  return isArrayParameter(loc) || isArrayParameter(scale) ? broadcast(LAPLACE_BROADCAST, [loc, scale]) : laplaceScalar(loc as Real, scale as Real)
}
