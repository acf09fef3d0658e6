/**
 * The chi-squared distribution with `df` degrees of freedom: the sum of df squared standard
 * normals, i.e. Gamma(df/2, rate ½). Use it for variance statistics and scaled-variance priors.
 *
 * @since 0.1.0
 */
import digamma from "@stdlib/math-base-special-digamma"
import gammaln from "@stdlib/math-base-special-gammaln"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive, MIN_POSITIVE } from "../internal/limits.ts"
import { bd0Product, gammaSaddleConstant } from "../internal/saddlePoint.ts"
import { logStandardGamma, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Positive" }

/** Half-degrees of freedom above this use the saddle-point form (as Gamma's shape). */
const SADDLE_FROM = 1000

/**
 * The log density's constant: −(ν/2) log 2 − log Γ(ν/2) (ν ≤ 2000), or the saddle-point constant
 * of Gamma(ν/2) above. ν/2 underflows to 0 for ν = 2^-1074: log Γ(ν/2) = −log(ν/2) to double
 * precision there.
 */
const logNormOf = (df: number): number => {
  const k = 0.5 * df
  return k <= SADDLE_FROM ? -k * Math.LN2 - (k > 0 ? gammaln(k) : Math.LN2 - Math.log(df)) : gammaSaddleConstant(k)
}

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
    this.logNorm = logNormOf(df)
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
  get logProbKernel(): Kernel {
    return chiSquaredKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.df]
  }
  mean(): number {
    return this.df
  }
  variance(): number {
    return 2 * this.df
  }
}

/**
 * The chi-squared log density with its partials in (x, df ν): with k = ν/2,
 * ∂x = (k − 1)/x − ½, ∂ν = (log x − log 2 − ψ(k))/2 (ψ the digamma function).
 *
 * **Details** The value is `logProb`'s (the same direct or saddle-point form). Defined on the
 * open support x > 0: at x = 0 the partial in ν is −∞, so x ≤ 0 and x = +∞ give −∞.
 *
 * @example
 * chiSquaredKernel(out, 1, 2, 0, 0) // −log 2 − ½, out = [−½, −(log 2 + ψ(1))/2]
 *
 * @category numerics
 * @since 0.2.0
 */
export const chiSquaredKernel: Kernel = (out, x, df) => {
  if (!(df > 0 && df < Infinity && x > 0 && x < Infinity)) return -Infinity
  const k = 0.5 * df
  const logX = Math.log(x)
  out[0] = (k - 1) / x - 0.5
  out[1] = 0.5 * (logX - Math.LN2 - digamma(k))
  if (k <= SADDLE_FROM) return logNormOf(df) + (k - 1) * logX - 0.5 * x
  return gammaSaddleConstant(k) - logX - bd0Product(k, 0.5, x)
}

const chiSquaredScalar = (df: Real): ChiSquaredDistribution => {
  if (typeof df === "number") return new ChiSquaredDistribution(requirePositive("ChiSquared", "df", df))
  const d = new ChiSquaredDistribution(requirePositive("ChiSquared", "df", primal(df)))
  track(d, [df])
  return d
}

const CHISQUARED_BROADCAST: Spec = registerSpec({
  family: "ChiSquared",
  parameters: ["df"],
  checks: ["positive"],
  kernel: chiSquaredKernel,
  element: (p0) => chiSquaredScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A chi-squared distribution; throws `InvalidDistributionError` unless `df` is finite and > 0.
 * The parameter may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = ChiSquared(2)
 * d.logProb(0) // −log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export function ChiSquared(df: Reals): BroadcastDistribution
export function ChiSquared(df: Real): ChiSquaredDistribution
export function ChiSquared(df: Real | Reals): ChiSquaredDistribution | BroadcastDistribution {
  if (typeof df === "number") return chiSquaredScalar(df)
  return isArrayParameter(df) ? broadcast(CHISQUARED_BROADCAST, [df]) : chiSquaredScalar(df as Real)
}
