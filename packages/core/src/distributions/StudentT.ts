/**
 * Student's t distribution with `df` degrees of freedom, a location and a scale. Use it as a
 * robust, heavier-tailed alternative to the normal for noise or priors; df → ∞ recovers the
 * normal and df = 1 is the Cauchy.
 *
 * @since 0.1.0
 */
import digamma from "@stdlib/math-base-special-digamma"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { locScale, logAbsDiff, MIN_NORMAL } from "../internal/limits.ts"
import { lgammaHalfStep, log1pSquare } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Real" }
const LOG_PI = Math.log(Math.PI)
/** log Γ(½) − log 2: log Γ(ν/2 + ½) − log Γ(ν/2) = this + log ν for tiny ν. */
const LGAMMA_HALF_MINUS_LN2 = 0.5 * LOG_PI - Math.LN2

/**
 * log Γ((ν+1)/2) − log Γ(ν/2). ν/2 underflows to 0 for ν = 2^-1074, so tiny ν directly
 * (log Γ(ε) = −log ε there).
 */
const lgammaStep = (df: number): number => (df < 1e-300 ? LGAMMA_HALF_MINUS_LN2 + Math.log(df) : lgammaHalfStep(df / 2))

/**
 * The log density's constant from `lgammaStep(ν)`; ½ log(νπ) as a sum: νπ overflows for
 * ν > MAX_VALUE/π.
 */
const logNormOf = (lgStep: number, df: number, scale: number): number => lgStep - 0.5 * (Math.log(df) + LOG_PI) - Math.log(scale)

// A likelihood such as StudentT(4, mu, sigma) calls the kernel once per observation with one df:
// remember the df-only terms of the last df (one entry, so a varying df costs one comparison more).
let lastDf = Number.NaN
let lastLgammaStep = Number.NaN
/** ψ((ν+1)/2) − ψ(ν/2) − 1/ν, as ψ((ν+1)/2) − ψ(1 + ν/2) + 1/ν (no ∞ − ∞ for tiny ν). */
let lastDigammaStep = Number.NaN

/**
 * log(1 + w²) for w = (x − loc)/(√ν·s) from logarithms, for when √ν·s or the quotient is out of
 * range (x, loc finite).
 */
const log1pSquareFromLogs = (x: number, df: number, loc: number, scale: number): number => {
  const logW = logAbsDiff(x, loc) - Math.log(scale) - 0.5 * Math.log(df)
  return logW > 300 ? 2 * logW : Math.log1p(Math.exp(2 * logW))
}

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
    this.logNorm = logNormOf(lgammaStep(df), df, scale)
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
    return this.logNorm - 0.5 * (this.df + 1) * log1pSquareFromLogs(x, this.df, this.loc, this.scale)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return studentTKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.df, this.loc, this.scale]
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
 * The Student-t log density with its partials in (x, df ν, loc, scale s): with w = (x − loc)/(√ν·s),
 * r = w/(1 + w²) and q = w²/(1 + w²),
 * ∂x = −(ν + 1)·r/(√ν·s), ∂loc = (ν + 1)·r/(√ν·s), ∂s = ((ν + 1)·q − 1)/s,
 * ∂ν = ½(ψ((ν+1)/2) − ψ(ν/2) − 1/ν − log(1 + w²) + (ν + 1)·q/ν) (ψ the digamma function).
 *
 * **Details** r and q are formed as 1/(w + 1/w) and 1/(1 + 1/w²) (no overflow for huge w); the
 * value is `logProb`'s, including its path through logarithms where w leaves the doubles.
 *
 * @example
 * studentTKernel(out, 0, 1, 0, 1) // −log π (the Cauchy at its centre), out = [0, ½(ψ(1) − ψ(½)) − ½, 0, −1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const studentTKernel: Kernel = (out, x, df, loc, scale) => {
  if (!(df > 0 && df < Infinity && scale > 0 && scale < Infinity) || x - x !== 0 || loc - loc !== 0) return -Infinity
  if (df !== lastDf) {
    lastLgammaStep = lgammaStep(df)
    lastDigammaStep = digamma(0.5 * (df + 1)) - digamma(1 + 0.5 * df) + 1 / df
    lastDf = df
  }
  const logNorm = logNormOf(lastLgammaStep, df, scale)
  const ks = Math.sqrt(df) * scale
  const half = 0.5 * (df + 1)
  let w = (x - loc) / ks
  let lp = Number.NaN
  let log1pW2 = Number.NaN
  if (ks >= MIN_NORMAL && ks < Infinity) {
    log1pW2 = log1pSquare(w)
    lp = logNorm - half * log1pW2
  }
  if (!(lp > -Infinity)) {
    // As logProb's rare path; w itself then only feeds the ratios (0 and 1 where it is ±∞).
    log1pW2 = log1pSquareFromLogs(x, df, loc, scale)
    lp = logNorm - half * log1pW2
    if (w !== w) w = x > loc ? Infinity : x < loc ? -Infinity : 0
  }
  const r = 1 / (w + 1 / w)
  const q = 1 / (1 + 1 / (w * w))
  out[0] = (-(df + 1) * r) / ks
  out[1] = 0.5 * (lastDigammaStep - log1pW2 + ((df + 1) * q) / df)
  out[2] = ((df + 1) * r) / ks
  out[3] = ((df + 1) * q - 1) / scale
  return lp
}

const studentTScalar = (df: Real, loc: Real = 0, scale: Real = 1): StudentTDistribution => {
  if (typeof df === "number" && typeof loc === "number" && typeof scale === "number") {
    return new StudentTDistribution(requirePositive("StudentT", "df", df), requireFinite("StudentT", "loc", loc), requirePositive("StudentT", "scale", scale))
  }
  const d = new StudentTDistribution(
    requirePositive("StudentT", "df", primal(df)),
    requireFinite("StudentT", "loc", primal(loc)),
    requirePositive("StudentT", "scale", primal(scale))
  )
  track(d, [df, loc, scale])
  return d
}

const STUDENTT_BROADCAST: Spec = registerSpec({
  family: "StudentT",
  parameters: ["df", "loc", "scale"],
  checks: ["positive", "finite", "positive"],
  kernel: studentTKernel,
  element: (p0, p1, p2) => studentTScalar(p0, p1, p2),
  support: SUPPORT,
  boolean: false
})

/**
 * A Student-t distribution; throws `InvalidDistributionError` unless `df` and `scale` are
 * finite and > 0 and `loc` is finite. The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = StudentT(4)       // loc 0, scale 1
 * const e = StudentT(4, 1, 2)
 *
 * @category constructors
 * @since 0.1.0
 */
export function StudentT(df: Reals, loc?: Real | Reals, scale?: Real | Reals): BroadcastDistribution
export function StudentT(df: Real, loc: Reals, scale?: Real | Reals): BroadcastDistribution
export function StudentT(df: Real, loc: Real, scale: Reals): BroadcastDistribution
export function StudentT(df: Real, loc?: Real, scale?: Real): StudentTDistribution
export function StudentT(df: Real | Reals, loc: Real | Reals = 0, scale: Real | Reals = 1): StudentTDistribution | BroadcastDistribution {
  if (typeof df === "number" && typeof loc === "number" && typeof scale === "number") return studentTScalar(df, loc, scale)
  return isArrayParameter(df) || isArrayParameter(loc) || isArrayParameter(scale) ? broadcast(STUDENTT_BROADCAST, [df, loc, scale]) : studentTScalar(df as Real, loc as Real, scale as Real)
}
