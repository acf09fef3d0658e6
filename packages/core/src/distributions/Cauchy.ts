/**
 * The Cauchy (Lorentz) distribution with a location and a scale: Student-t with one degree
 * of freedom. Use it as a very heavy-tailed prior or noise model; it has no mean or variance.
 *
 * @since 0.1.0
 */
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { locScale, logAbsDiff } from "../internal/limits.ts"
import { log1pSquare } from "../internal/saddlePoint.ts"
import type { Rng } from "../Rng.ts"

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
    if (lp > -Infinity) return lp
    // Rare: NaN or ±∞ (−∞), or z overflowed for a finite x (x − loc or the quotient): then
    // log(1 + z²) from log|z| = log|x − loc| − log scale.
    if (x - x !== 0) return -Infinity
    const logZ = logAbsDiff(x, this.loc) - Math.log(this.scale)
    return this.logNorm - (logZ > 300 ? 2 * logZ : Math.log1p(Math.exp(2 * logZ)))
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
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
 * A Cauchy distribution; throws `InvalidDistributionError` unless `loc` is finite and `scale` > 0.
 *
 * @example
 * const d = Cauchy(0, 2)
 * d.mean() // undefined
 *
 * @category constructors
 * @since 0.1.0
 */
export const Cauchy = (loc: number, scale: number): CauchyDistribution =>
  new CauchyDistribution(requireFinite("Cauchy", "loc", loc), requirePositive("Cauchy", "scale", scale))
