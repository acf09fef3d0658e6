/**
 * The negative binomial distribution: the number of failures before the `r`-th success in
 * trials with success probability `p`, for real r > 0 (the Pólya distribution). Use it for
 * overdispersed counts: it is the Poisson–gamma mixture.
 *
 * @since 0.1.0
 */
import digamma from "@stdlib/math-base-special-digamma"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { fail, isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { LOG_MAX_FINITE, MAX_FINITE } from "../internal/limits.ts"
import { logBinomialKernel, logShare } from "../internal/saddlePoint.ts"
import { logStandardGamma, samplePoisson, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Integers", lower: 0, upper: Infinity }

/**
 * NegativeBinomial(r, p): mass Γ(k + r) / (k! Γ(r)) p^r (1 − p)^k for k = 0, 1, 2, …
 *
 * **Details** `logProb` is r/(r + k) times Loader's binomial saddle-point form (as in R's
 * dnbinom, Loader 2000), with r and k passed separately so k ≪ r keeps its digits and r + k may
 * overflow; it is ≤ 0, and finite for every integer k ≥ 0 where the true value is (down to
 * r = 2^-1074). Draws are Poisson(λ) with λ ~ Gamma(r, rate p/(1 − p)); for r < 1 or a subnormal
 * p, λ is formed in log space (log G + log(1 − p) − log p) so a tiny r or p cannot give 0·∞; a λ
 * beyond MAX_VALUE gives the draw MAX_VALUE (an integer), the nearest count a double can hold.
 *
 * @example
 * const d = new NegativeBinomialDistribution(2, 0.5)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class NegativeBinomialDistribution implements Distribution<number> {
  get family(): "NegativeBinomial" {
    return "NegativeBinomial"
  }
  get kind(): "integer" {
    return "integer"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly r: number
  readonly p: number
  /** 1 − p, kept separately for precision. */
  readonly q: number
  /** (1 − p)/p, the gamma mixing scale (+∞ for a subnormal p). */
  readonly odds: number
  /** log p and log(1 − p) (−∞ at p = 1), cached. */
  readonly logP: number
  readonly logQ: number
  constructor(r: number, p: number) {
    this.r = r
    this.p = p
    this.q = 1 - p
    this.odds = this.q / p
    this.logP = Math.log(p)
    this.logQ = Math.log1p(-p)
  }
  sample(rng: Rng): number {
    if (this.p === 1) return 0
    if (this.r >= 1 && this.odds < Infinity) {
      // Directly: exp(log λ) would cost λ about 1e-13 of relative precision, which matters
      // when r is huge and the law correspondingly narrow.
      const lambda = standardGamma(rng, this.r) * this.odds
      return lambda < Infinity ? samplePoisson(rng, lambda) : MAX_FINITE
    }
    const logLambda = logStandardGamma(rng, this.r) + this.logQ - this.logP
    return logLambda < LOG_MAX_FINITE ? samplePoisson(rng, Math.exp(logLambda)) : MAX_FINITE
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0) return -Infinity
    const lp = logShare(this.r, k) + logBinomialKernel(this.r, k, this.p, this.q, this.logP, this.logQ)
    // Rounding may leave a mass near 1 a few ulps above it.
    return lp > 0 ? 0 : lp
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return negativeBinomialKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.r, this.p]
  }
  mean(): number {
    const m = this.r * this.odds
    return m < Infinity ? m : Math.exp(Math.log(this.r) + this.logQ - this.logP)
  }
  variance(): number {
    const v = (this.r * this.odds) / this.p
    return v < Infinity ? v : Math.exp(Math.log(this.r) + this.logQ - 2 * this.logP)
  }
}

/** Counts below this sum ψ(r + k) − ψ(r) = Σ_{j<k} 1/(r + j) directly (exact where r ≫ k). */
const DIGAMMA_STEP_SUM_BELOW = 16

/**
 * The negative binomial log mass with its partials in (k, r, p): ∂r = ψ(k + r) − ψ(r) + log p
 * (ψ the digamma function; the difference as Σ_{j<k} 1/(r + j) for small k), ∂p = r/p − k/(1 − p)
 * (r/p at k = 0, also at p = 1); ∂k = 0 (k is discrete). −∞ unless r is finite and > 0, p in
 * (0, 1] and k an integer ≥ 0.
 *
 * @example
 * negativeBinomialKernel(out, 0, 3, 0.5, 0) // 3·log 0.5, out = [0, log 0.5, 6]
 *
 * @category numerics
 * @since 0.2.0
 */
export const negativeBinomialKernel: Kernel = (out, k, r, p) => {
  if (!(r > 0 && r < Infinity && p > 0 && p <= 1 && Number.isInteger(k) && k >= 0)) return -Infinity
  const q = 1 - p
  const logP = Math.log(p)
  let step = 0
  if (k < DIGAMMA_STEP_SUM_BELOW) for (let j = 0; j < k; j++) step += 1 / (r + j)
  else step = digamma(r + k) - digamma(r)
  out[0] = 0
  out[1] = step + logP
  out[2] = k > 0 ? r / p - k / q : r / p
  const lp = logShare(r, k) + logBinomialKernel(r, k, p, q, logP, Math.log1p(-p))
  return lp > 0 ? 0 : lp
}

const negativeBinomialScalar = (r: Real, p: Real): NegativeBinomialDistribution => {
  if (typeof r === "number" && typeof p === "number") {
    requirePositive("NegativeBinomial", "r", r)
    if (!(p > 0 && p <= 1)) fail("NegativeBinomial", "p", p, "must be a probability in (0, 1]")
    return new NegativeBinomialDistribution(r, p)
  }
  const rv = requirePositive("NegativeBinomial", "r", primal(r))
  const pv = primal(p)
  if (!(typeof pv === "number" && pv > 0 && pv <= 1)) fail("NegativeBinomial", "p", pv, "must be a probability in (0, 1]")
  const d = new NegativeBinomialDistribution(rv, pv)
  track(d, [r, p])
  return d
}

const NEGATIVEBINOMIAL_BROADCAST: Spec = registerSpec({
  family: "NegativeBinomial",
  parameters: ["r", "p"],
  checks: ["positive", "openProbability"],
  kernel: negativeBinomialKernel,
  element: (p0, p1) => negativeBinomialScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A negative binomial distribution; throws `InvalidDistributionError` unless `r` is finite
 * and > 0 and `p` is in (0, 1]. The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = NegativeBinomial(3, 0.4)
 * d.logProb(0) // 3·log 0.4
 *
 * @category constructors
 * @since 0.1.0
 */
export function NegativeBinomial(r: Reals, p: Real | Reals): BroadcastDistribution
export function NegativeBinomial(r: Real, p: Reals): BroadcastDistribution
export function NegativeBinomial(r: Real, p: Real): NegativeBinomialDistribution
export function NegativeBinomial(r: Real | Reals, p: Real | Reals): NegativeBinomialDistribution | BroadcastDistribution {
  if (typeof r === "number" && typeof p === "number") return negativeBinomialScalar(r, p)
  return isArrayParameter(r) || isArrayParameter(p) ? broadcast(NEGATIVEBINOMIAL_BROADCAST, [r, p]) : negativeBinomialScalar(r as Real, p as Real)
}
