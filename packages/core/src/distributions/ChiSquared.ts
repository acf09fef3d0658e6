/**
 * The chi-squared distribution with `df` degrees of freedom: the sum of df squared standard
 * normals, i.e. Gamma(df/2, rate ½). Use it for variance statistics and scaled-variance priors.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive, MIN_POSITIVE } from "../internal/limits.ts"
import { bd0Product, gammaSaddleConstant } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Positive" }

/** Half-degrees of freedom above this use the saddle-point form (as Gamma's shape). */
const SADDLE_FROM = 1000

/**
 * ChiSquared(df): density x^(ν/2−1) e^(−x/2) / (2^(ν/2) Γ(ν/2)) on x > 0.
 *
 * **Details** Computed as Gamma(ν/2, ½): the direct form for ν ≤ 2000, Loader's saddle-point form
 * above (see Gamma). Draws are 2·Gamma(ν/2) (Marsaglia & Tsang 2000, log-space boost for ν < 2),
 * clamped into [2^-1074, MAX_VALUE]. At x = 0 `logProb` is −∞ for ν > 2 and −log 2 for ν = 2;
 * for ν < 2, where the density diverges, it scores 0 as the clamped value 2^-1074 (finite).
 * Real (non-integer) ν is allowed.
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
  /**
   * The log density's constant, cached: −(ν/2) log 2 − log Γ(ν/2) (ν ≤ 2000), or the
   * saddle-point constant of Gamma(ν/2) above.
   */
  readonly logNorm: number
  constructor(df: number) {
    this.df = df
    const k = 0.5 * df
    // ν/2 underflows to 0 for ν = 2^-1074: log Γ(ν/2) = −log(ν/2) to double precision there.
    this.logNorm = k <= SADDLE_FROM ? -k * Math.LN2 - (k > 0 ? gammaln(k) : Math.LN2 - Math.log(df)) : gammaSaddleConstant(k)
  }
  sample(rng: Rng): number {
    const k = 0.5 * this.df
    if (k >= 1) return clampPositive(2 * standardGamma(rng, k))
    return clampPositive(Math.exp(Math.LN2 + logStandardGamma(rng, k)))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const k = 0.5 * this.df
    if (x > 0 && x < Infinity) {
      if (k <= SADDLE_FROM) return this.logNorm + (k - 1) * Math.log(x) - 0.5 * x
      return this.logNorm - Math.log(x) - bd0Product(k, 0.5, x)
    }
    if (x === 0) return k < 1 ? this.logProb(MIN_POSITIVE) : k === 1 ? this.logNorm : -Infinity
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
