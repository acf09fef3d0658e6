/**
 * The chi-squared distribution with `df` degrees of freedom: the sum of df squared standard
 * normals, i.e. Gamma(df/2, rate ½). Use it for variance statistics and scaled-variance priors.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Positive" }

/**
 * ChiSquared(df): density x^(ν/2−1) e^(−x/2) / (2^(ν/2) Γ(ν/2)) on x > 0.
 *
 * **Details** At x = 0 `logProb` returns the density's limit: +∞ for ν < 2, −log 2 for ν = 2,
 * −∞ for ν > 2. Draws are 2·Gamma(ν/2) (Marsaglia & Tsang 2000). Real (non-integer) ν is allowed.
 *
 * @example
 * const d = new ChiSquaredDistribution(3)
 * d.variance() // 6
 *
 * @category constructors
 * @since 0.1.0
 */
export class ChiSquaredDistribution implements Distribution<number> {
  get family(): "ChiSquared" {
    return "ChiSquared"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly df: number
  /** −(ν/2) log 2 − log Γ(ν/2), cached. */
  readonly logNorm: number
  constructor(df: number) {
    this.df = df
    this.logNorm = -0.5 * df * Math.LN2 - gammaln(0.5 * df)
  }
  sample(rng: Rng): number {
    return 2 * standardGamma(rng, 0.5 * this.df)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const k = 0.5 * this.df
    if (x > 0 && x < Infinity) return this.logNorm + (k - 1) * Math.log(x) - 0.5 * x
    if (x === 0) return k < 1 ? Infinity : k === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.df
  }
  variance(): number {
    return 2 * this.df
  }
}

/**
 * A chi-squared distribution; throws `InvalidDistributionError` unless `df` is finite and > 0.
 *
 * @example
 * const d = ChiSquared(2)
 * d.logProb(0) // −log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export const ChiSquared = (df: number): ChiSquaredDistribution => new ChiSquaredDistribution(requirePositive("ChiSquared", "df", df))
