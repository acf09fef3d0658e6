/**
 * The Laplace (double exponential) distribution with a location and a scale. Use it for
 * noise with heavier-than-normal tails or as a sparsity-inducing prior (the Bayesian lasso).
 *
 * @since 0.1.0
 */
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * Laplace(loc, scale): density exp(−|x − loc|/scale) / (2·scale).
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
    this.logNorm = -Math.log(2 * scale)
  }
  sample(rng: Rng): number {
    // Inversion: loc + scale·log(2U) below the median, loc − scale·log(2(1 − U)) above it
    // (1 − U is exact for U ≥ ½, so both tails keep full precision).
    const u = rng.uniform()
    return u < 0.5 ? this.loc + this.scale * Math.log(2 * u) : this.loc - this.scale * Math.log(2 - 2 * u)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const lp = this.logNorm - Math.abs(x - this.loc) / this.scale
    // ±∞ or NaN gives NaN or −∞ here, never a finite value.
    return lp === lp ? lp : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.loc
  }
  variance(): number {
    return 2 * this.scale * this.scale
  }
}

/**
 * A Laplace distribution; throws `InvalidDistributionError` unless `loc` is finite and `scale` > 0.
 *
 * @example
 * const d = Laplace(1, 0.5)
 * d.variance() // 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export const Laplace = (loc: number, scale: number): LaplaceDistribution =>
  new LaplaceDistribution(requireFinite("Laplace", "loc", loc), requirePositive("Laplace", "scale", scale))
