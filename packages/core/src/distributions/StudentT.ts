/**
 * Student's t distribution with `df` degrees of freedom, a location and a scale. Use it as a
 * robust, heavier-tailed alternative to the normal for noise or priors; df → ∞ recovers the
 * normal and df = 1 is the Cauchy.
 *
 * @since 0.1.0
 */
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { locScale, logAbsDiff, MIN_NORMAL } from "../internal/limits.ts"
import { lgammaHalfStep, log1pSquare } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Real" }
const LOG_PI = Math.log(Math.PI)
/** log Γ(½) − log 2: log Γ(ν/2 + ½) − log Γ(ν/2) = this + log ν for tiny ν. */
const LGAMMA_HALF_MINUS_LN2 = 0.5 * LOG_PI - Math.LN2

/**
 * StudentT(df, loc, scale): density Γ((ν+1)/2) / (Γ(ν/2) √(νπ) s) · (1 + z²/ν)^(−(ν+1)/2),
 * z = (x − loc)/s.
 *
 * **Details** The mean is `loc` for ν > 1 and undefined otherwise; the variance is
 * s²ν/(ν − 2) for ν > 2, +∞ for 1 < ν ≤ 2 and undefined for ν ≤ 1. Draws are
 * loc + s·Z/√(V/ν) with Z standard normal and V ~ χ²(ν) = 2·Gamma(ν/2), formed in log space for
 * ν < 2 (log|T| = log|Z| − ½(log 2 + log G − log ν), G ~ Gamma(ν/2) by the log-space boost), so a
 * draw overflows only as often as the law puts mass beyond MAX_VALUE (about 8e-4 for ν = 0.01);
 * such a draw is clamped to ±MAX_VALUE. Where z/√ν over- or underflows `logProb` takes the
 * kernel from logarithms, so it is finite at every finite x where the true value is.
 *
 * @example
 * const d = new StudentTDistribution(3, 0, 1)
 * d.variance() // 3
 *
 * @category constructors
 * @since 0.1.0
 */
export class StudentTDistribution implements Distribution<number> {
  get family(): "StudentT" {
    return "StudentT"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly df: number
  readonly loc: number
  readonly scale: number
  /** log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − log s, cached. */
  readonly logNorm: number
  /** √ν·s, the scale of the kernel's argument, cached. */
  readonly kernelScale: number
  constructor(df: number, loc: number, scale: number) {
    this.df = df
    this.loc = loc
    this.scale = scale
    // log Γ((ν+1)/2) − log Γ(ν/2); ν/2 underflows to 0 for ν = 2^-1074, so tiny ν directly
    // (log Γ(ε) = −log ε there). ½ log(νπ) as a sum: νπ overflows for ν > MAX_VALUE/π.
    const lg = df < 1e-300 ? LGAMMA_HALF_MINUS_LN2 + Math.log(df) : lgammaHalfStep(df / 2)
    this.logNorm = lg - 0.5 * (Math.log(df) + LOG_PI) - Math.log(scale)
    this.kernelScale = Math.sqrt(df) * scale
  }
  sample(rng: Rng): number {
    const df = this.df
    const z = rng.normal()
    if (df >= 2) return locScale(this.loc, this.scale, z / Math.sqrt(standardGamma(rng, df / 2) / (df / 2)))
    // Log space: χ²(ν)/ν underflows for small ν far more often than |T| truly exceeds MAX_VALUE.
    const logAbsT = Math.log(Math.abs(z)) - 0.5 * (Math.LN2 + logStandardGamma(rng, df / 2) - Math.log(df))
    const t = Math.exp(logAbsT)
    return locScale(this.loc, this.scale, z < 0 ? -t : t)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const ks = this.kernelScale
    if (ks >= MIN_NORMAL && ks < Infinity) {
      // log(1 + z²/ν) = log1p((z/√ν)²) with z = (x − loc)/s, overflow-safe for huge z.
      const lp = this.logNorm - 0.5 * (this.df + 1) * log1pSquare((x - this.loc) / ks)
      if (lp > -Infinity) return lp
    }
    if (x - x !== 0) return -Infinity
    // Rare: √ν·s or (x − loc)/(√ν·s) is out of range; w = z/√ν from logarithms.
    const logW = logAbsDiff(x, this.loc) - Math.log(this.scale) - 0.5 * Math.log(this.df)
    const kernel = logW > 300 ? 2 * logW : Math.log1p(Math.exp(2 * logW))
    return this.logNorm - 0.5 * (this.df + 1) * kernel
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number | undefined {
    return this.df > 1 ? this.loc : undefined
  }
  variance(): number | undefined {
    if (this.df > 2) return this.scale * this.scale * (this.df / (this.df - 2))
    return this.df > 1 ? Infinity : undefined
  }
}

/**
 * A Student-t distribution; throws `InvalidDistributionError` unless `df` and `scale` are
 * finite and > 0 and `loc` is finite.
 *
 * @example
 * const d = StudentT(4)       // loc 0, scale 1
 * const e = StudentT(4, 1, 2)
 *
 * @category constructors
 * @since 0.1.0
 */
export const StudentT = (df: number, loc = 0, scale = 1): StudentTDistribution =>
  new StudentTDistribution(requirePositive("StudentT", "df", df), requireFinite("StudentT", "loc", loc), requirePositive("StudentT", "scale", scale))
