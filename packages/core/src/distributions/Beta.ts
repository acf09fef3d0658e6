/**
 * The beta distribution on the unit interval with shapes `alpha` and `beta`. Use it for
 * probabilities and proportions; it is the conjugate prior of a Bernoulli or binomial `p`.
 *
 * @since 0.1.0
 */
import digamma from "@stdlib/math-base-special-digamma"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampUnit, LOG_UNSCALE, MIN_POSITIVE, ONE_BELOW } from "../internal/limits.ts"
import { betaSaddleConstant, betaSaddleDeviance, betaUsesSaddle, lbeta } from "../internal/saddlePoint.ts"
import { logStandardGammaScaled, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Interval", lower: 0, upper: 1 }

/** log(1 + e^x), without overflow. */
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))

/**
 * Beta(alpha, beta): density x^(α−1) (1−x)^(β−1) / B(α, β) on [0, 1].
 *
 * **Details** `logProb` is R's dbeta (Loader 2000): the direct (α−1) log x + (β−1) log1p(−x) −
 * log B(α, β) when a shape is at most 2, and log(α + β − 1) + dbinom_raw(α − 1; α + β − 2, x, 1 − x)
 * (saddle-point deviances, no cancelling log-gammas) when both exceed 2, so it is finite wherever
 * the true value is, up to α = β = MAX_VALUE. Draws are X/(X + Y) for independent
 * X ~ Gamma(α), Y ~ Gamma(β) (Marsaglia & Tsang); when a shape is below 1 they are
 * 1/(1 + e^(log Y − log X)) from log-gammas carried in units of 2^60, so tiny shapes never give
 * 0/0. Every draw is clamped into the open interval [2^-1074, 1 − 2^-53]: for small shapes most
 * of the mass lies closer to an end than the nearest double (73 % for Beta(1e-3, 1e-3)). At x = 0
 * `logProb` is log β for α = 1 and −∞ for α > 1; for α < 1, where the density diverges, it scores
 * 0 as the clamped value 2^-1074, and likewise 1 as 1 − 2^-53 for β < 1, so neither a draw nor a
 * value rounded to an end by a transform has density +∞.
 *
 * @example
 * const d = new BetaDistribution(2, 2)
 * d.mean() // 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export class BetaDistribution implements Distribution<number> {
  get family(): "Beta" {
    return "Beta"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly alpha: number
  readonly beta: number
  /** −log B(α, β) (a shape ≤ 2), or the saddle-point constant (both shapes > 2), cached. */
  readonly logNorm: number
  constructor(alpha: number, beta: number) {
    this.alpha = alpha
    this.beta = beta
    this.logNorm = betaUsesSaddle(alpha, beta) ? betaSaddleConstant(alpha, beta) : -lbeta(alpha, beta)
  }
  sample(rng: Rng): number {
    const a = this.alpha
    const b = this.beta
    if (a >= 1 && b >= 1) {
      const x = standardGamma(rng, a)
      const y = standardGamma(rng, b)
      const s = x + y
      return clampUnit(s < Infinity ? x / s : (0.5 * x) / (0.5 * x + 0.5 * y))
    }
    // log(Y/X) in units of 2^60 is always finite; unscaled it may be ±∞ (then x is 0 or 1).
    const lx = logStandardGammaScaled(rng, a)
    const ly = logStandardGammaScaled(rng, b)
    return clampUnit(1 / (1 + Math.exp((ly - lx) * LOG_UNSCALE)))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < 1) {
      const a = this.alpha
      const b = this.beta
      if (!betaUsesSaddle(a, b)) return this.logNorm + (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x)
      return this.logNorm - betaSaddleDeviance(a, b, x, 1 - x)
    }
    if (x === 0) return this.alpha < 1 ? this.logProb(MIN_POSITIVE) : this.alpha === 1 ? this.logNorm : -Infinity
    if (x === 1) return this.beta < 1 ? this.logProb(ONE_BELOW) : this.beta === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  /**
   * log p(x) at x = σ(u), from u: log σ(u) = −softplus(−u) and log(1 − σ(u)) = −softplus(u) are
   * exact for every finite u, so the density stays right where x rounds to 0 or 1 (for
   * Beta(1.01, 0.01), 69 % of the mass lies within 1e-16 of 1).
   */
  logProbLogit(u: number): number {
    if (!(u > -Infinity && u < Infinity)) return u === u ? this.logProb(u > 0 ? 1 : 0) : -Infinity
    const a = this.alpha
    const b = this.beta
    if (!betaUsesSaddle(a, b)) return this.logNorm - (a - 1) * softplus(-u) - (b - 1) * softplus(u)
    return this.logNorm - betaSaddleDeviance(a, b, 1 / (1 + Math.exp(-u)), 1 / (1 + Math.exp(u)))
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return betaKernel
  }
  get logProbLogitKernel(): Kernel {
    return betaLogitKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.alpha, this.beta]
  }
  mean(): number {
    const a = this.alpha
    const b = this.beta
    const s = a + b
    return s < Infinity ? a / s : (0.5 * a) / (0.5 * a + 0.5 * b)
  }
  /** αβ/((α+β)²(α+β+1)), as m(1 − m)/(α + β + 1) with m the mean (no overflowing products). */
  variance(): number {
    const a = this.alpha
    const b = this.beta
    const s = a + b
    return s < Infinity ? ((a / s) * (b / s)) / (s + 1) : 0
  }
}

/**
 * The beta log density with its partials in (x, alpha α, beta β): ∂x = (α − 1)/x − (β − 1)/(1 − x),
 * ∂α = log x − ψ(α) + ψ(α + β), ∂β = log(1 − x) − ψ(β) + ψ(α + β) (ψ the digamma function).
 *
 * **Details** The value is `logProb`'s (the same direct or saddle-point form). Defined on the
 * open interval 0 < x < 1: at an end a partial in a shape is −∞ (and the density may diverge),
 * so x ≤ 0 and x ≥ 1 give −∞.
 *
 * @example
 * betaKernel(out, 0.5, 1, 1, 0) // 0, out = [0, 1 − log 2, 1 − log 2]
 *
 * @category numerics
 * @since 0.2.0
 */
export const betaKernel: Kernel = (out, x, alpha, beta) => {
  if (!(alpha > 0 && alpha < Infinity && beta > 0 && beta < Infinity && x > 0 && x < 1)) return -Infinity
  const logX = Math.log(x)
  const log1mX = Math.log1p(-x)
  const psiSum = digamma(alpha + beta)
  out[0] = (alpha - 1) / x - (beta - 1) / (1 - x)
  out[1] = logX - digamma(alpha) + psiSum
  out[2] = log1mX - digamma(beta) + psiSum
  if (!betaUsesSaddle(alpha, beta)) return -lbeta(alpha, beta) + (alpha - 1) * logX + (beta - 1) * log1mX
  return betaSaddleConstant(alpha, beta) - betaSaddleDeviance(alpha, beta, x, 1 - x)
}

const betaScalar = (alpha: Real, beta: Real): BetaDistribution => {
  if (typeof alpha === "number" && typeof beta === "number") {
    return new BetaDistribution(requirePositive("Beta", "alpha", alpha), requirePositive("Beta", "beta", beta))
  }
  const d = new BetaDistribution(requirePositive("Beta", "alpha", primal(alpha)), requirePositive("Beta", "beta", primal(beta)))
  track(d, [alpha, beta])
  return d
}

const BETA_BROADCAST: Spec = registerSpec({
  family: "Beta",
  parameters: ["alpha", "beta"],
  checks: ["positive", "positive"],
  kernel: betaKernel,
  element: (p0, p1) => betaScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A beta distribution; throws `InvalidDistributionError` unless `alpha` and `beta` are finite and > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Beta(1, 1)
 * d.logProb(0.3) // 0
 *
 * @category constructors
 * @since 0.1.0
 */
export function Beta(alpha: Reals, beta: Real | Reals): BroadcastDistribution
export function Beta(alpha: Real, beta: Reals): BroadcastDistribution
export function Beta(alpha: Real, beta: Real): BetaDistribution
export function Beta(alpha: Real | Reals, beta: Real | Reals): BetaDistribution | BroadcastDistribution {
  if (typeof alpha === "number" && typeof beta === "number") return betaScalar(alpha, beta)
  return isArrayParameter(alpha) || isArrayParameter(beta) ? broadcast(BETA_BROADCAST, [alpha, beta]) : betaScalar(alpha as Real, beta as Real)
}

/**
 * `logProbLogit` as a kernel in (u, α, β): log p(σ(u)) with ∂u = (α − 1)σ(−u) − (β − 1)σ(u),
 * ∂α = −softplus(−u) − ψ(α) + ψ(α + β), ∂β = −softplus(u) − ψ(β) + ψ(α + β); finite for every
 * finite u, where the value-scale kernel is −∞ once σ(u) rounds to 0 or 1.
 *
 * @example
 * betaLogitKernel(out, 0, 2, 2, 0) // log 1.5 − 2 log 2 … the Beta(2, 2) density at ½
 *
 * @category numerics
 * @since 0.2.0
 */
export const betaLogitKernel: Kernel = (out, u, alpha, beta) => {
  if (!(alpha > 0 && alpha < Infinity && beta > 0 && beta < Infinity && u > -Infinity && u < Infinity)) return -Infinity
  const spNeg = softplus(-u), spPos = softplus(u)
  const sigmaPos = Math.exp(-spNeg), sigmaNeg = Math.exp(-spPos)
  const psiSum = digamma(alpha + beta)
  out[0] = (alpha - 1) * sigmaNeg - (beta - 1) * sigmaPos
  out[1] = -spNeg - digamma(alpha) + psiSum
  out[2] = -spPos - digamma(beta) + psiSum
  if (!betaUsesSaddle(alpha, beta)) return -lbeta(alpha, beta) - (alpha - 1) * spNeg - (beta - 1) * spPos
  return betaSaddleConstant(alpha, beta) - betaSaddleDeviance(alpha, beta, 1 / (1 + Math.exp(-u)), 1 / (1 + Math.exp(u)))
}
