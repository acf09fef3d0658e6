/**
 * Student's t distribution with `df` degrees of freedom, a location and a scale. Use it as a
 * robust, heavier-tailed alternative to the normal for noise or priors; df → ∞ recovers the
 * normal and df = 1 is the Cauchy.
 *
 * @since 0.1.0
 */
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { lgammaHalfStep, log1pSquare, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * StudentT(df, loc, scale): density Γ((ν+1)/2) / (Γ(ν/2) √(νπ) s) · (1 + z²/ν)^(−(ν+1)/2),
 * z = (x − loc)/s.
 *
 * **Details** The mean is `loc` for ν > 1 and undefined otherwise; the variance is
 * s²ν/(ν − 2) for ν > 2, +∞ for 1 < ν ≤ 2 and undefined for ν ≤ 1. Draws are
 * loc + s·Z/√(V/ν) with Z standard normal and V ~ χ²(ν) = 2·Gamma(ν/2).
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
    this.logNorm = lgammaHalfStep(df / 2) - 0.5 * Math.log(df * Math.PI) - Math.log(scale)
    this.kernelScale = Math.sqrt(df) * scale
  }
  sample(rng: Rng): number {
    const v = 2 * standardGamma(rng, this.df / 2)
    return this.loc + (this.scale * rng.normal()) / Math.sqrt(v / this.df)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    // log(1 + z²/ν) = log1p((z/√ν)²) with z = (x − loc)/s, overflow-safe for huge z.
    const lp = this.logNorm - 0.5 * (this.df + 1) * log1pSquare((x - this.loc) / this.kernelScale)
    // ±∞ or NaN gives NaN or −∞ here, never a finite value.
    return lp === lp ? lp : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number | undefined {
    return this.df > 1 ? this.loc : undefined
  }
  variance(): number | undefined {
    if (this.df > 2) return (this.scale * this.scale * this.df) / (this.df - 2)
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
