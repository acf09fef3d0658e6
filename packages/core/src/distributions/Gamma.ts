/**
 * The gamma distribution with a `shape` and a `rate` (inverse scale). Use it for positive
 * quantities such as precisions, rates and waiting times of several events; it is the
 * conjugate prior of a Poisson rate and of a normal precision.
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

// Priors such as Gamma(2, 1) are rebuilt on every execution with the same shape: remember the
// last log Γ(shape) (one entry, so parameters that vary cost one comparison more).
let lastShape = Number.NaN
let lastLogGamma = Number.NaN
const gammalnCached = (shape: number): number => {
  if (shape !== lastShape) {
    lastLogGamma = gammaln(shape)
    lastShape = shape
  }
  return lastLogGamma
}

/**
 * Shapes above this use the saddle-point form of the density: below it the direct form's terms
 * are at most about 1e3·745 in size, so its cancellation costs under 1e-12 relative, and it is
 * one log per call.
 */
const GAMMA_SADDLE_FROM = 1000

const SUPPORT: Support = { _tag: "Positive" }

/**
 * Gamma(shape, rate): density rate^shape x^(shape−1) e^(−rate·x) / Γ(shape) on x > 0.
 *
 * **Details** For shape ≤ 1000 `logProb` is the direct shape·log rate − log Γ(shape) +
 * (shape − 1) log x − rate·x; above, Loader's saddle-point form (R's dgamma, Loader 2000)
 * ½ log(shape/2π) − stirlerr(shape) − log x − bd0(shape, rate·x), finite wherever the true value
 * is (e.g. Gamma(1e308, 1) at 1e308, where the direct form is ∞ − ∞). Draws use Marsaglia & Tsang
 * (2000), boosted for shape < 1 in log space (log G = log G(shape + 1) + log U / shape), and are
 * clamped into [2^-1074, MAX_VALUE]: for small shapes much of the mass lies below the smallest
 * double (47 % for shape 1e-3), and those draws are returned as 2^-1074. At x = 0 `logProb` is
 * −∞ for shape > 1 and log rate for shape = 1; for shape < 1, where the density diverges, it
 * scores 0 as the clamped value 2^-1074 (finite), so neither a draw nor a value rounded to 0 by a
 * transform has density +∞.
 *
 * @example
 * const d = new GammaDistribution(2, 3)
 * d.mean() // 2/3
 *
 * @category constructors
 * @since 0.1.0
 */
export class GammaDistribution implements Distribution<number> {
  get family(): "Gamma" {
    return "Gamma"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly shape: number
  readonly rate: number
  /**
   * The log density's constant, cached: shape·log rate − log Γ(shape) (shape ≤ 1000), or the
   * saddle-point constant ½ log(shape/2π) − stirlerr(shape) above.
   */
  readonly logNorm: number
  constructor(shape: number, rate: number) {
    this.shape = shape
    this.rate = rate
    this.logNorm = shape <= GAMMA_SADDLE_FROM ? shape * Math.log(rate) - gammalnCached(shape) : gammaSaddleConstant(shape)
  }
  sample(rng: Rng): number {
    if (this.shape >= 1) {
      const x = standardGamma(rng, this.shape) / this.rate
      return x > 0 && x < Infinity ? x : clampPositive(x)
    }
    return clampPositive(Math.exp(logStandardGamma(rng, this.shape) - Math.log(this.rate)))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < Infinity) {
      if (this.shape <= GAMMA_SADDLE_FROM) return this.logNorm + (this.shape - 1) * Math.log(x) - this.rate * x
      return this.logNorm - Math.log(x) - bd0Product(this.shape, this.rate, x)
    }
    if (x === 0) return this.shape < 1 ? this.logProb(MIN_POSITIVE) : this.shape === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return gammaKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.shape, this.rate]
  }
  mean(): number {
    return this.shape / this.rate
  }
  variance(): number {
    return this.shape / this.rate / this.rate
  }
}

/**
 * The gamma log density with its partials in (x, shape, rate): ∂x = (shape − 1)/x − rate,
 * ∂shape = log rate + log x − ψ(shape) (ψ the digamma function), ∂rate = shape/rate − x.
 *
 * **Details** The value is `logProb`'s (the same direct or saddle-point form). Defined on the
 * open support x > 0: at x = 0 the partial in shape is −∞ (and for shape < 1 the density
 * diverges), so x ≤ 0 and x = +∞ give −∞.
 *
 * @example
 * gammaKernel(out, 1, 2, 1, 0) // −1, out = [0, −ψ(2), 1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const gammaKernel: Kernel = (out, x, shape, rate) => {
  if (!(shape > 0 && shape < Infinity && rate > 0 && rate < Infinity && x > 0 && x < Infinity)) return -Infinity
  const logX = Math.log(x)
  const logRate = Math.log(rate)
  out[0] = (shape - 1) / x - rate
  out[1] = logRate + logX - digamma(shape)
  out[2] = shape / rate - x
  if (shape <= GAMMA_SADDLE_FROM) return shape * logRate - gammalnCached(shape) + (shape - 1) * logX - rate * x
  return gammaSaddleConstant(shape) - logX - bd0Product(shape, rate, x)
}

const gammaScalar = (shape: Real, rate: Real): GammaDistribution => {
  if (typeof shape === "number" && typeof rate === "number") {
    return new GammaDistribution(requirePositive("Gamma", "shape", shape), requirePositive("Gamma", "rate", rate))
  }
  const d = new GammaDistribution(requirePositive("Gamma", "shape", primal(shape)), requirePositive("Gamma", "rate", primal(rate)))
  track(d, [shape, rate])
  return d
}

const GAMMA_BROADCAST: Spec = registerSpec({
  family: "Gamma",
  parameters: ["shape", "rate"],
  checks: ["positive", "positive"],
  kernel: gammaKernel,
  element: (p0, p1) => gammaScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A gamma distribution; throws `InvalidDistributionError` unless `shape` and `rate` are finite and > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Gamma(2, 1)
 * d.logProb(1) // −1
 *
 * @category constructors
 * @since 0.1.0
 */
export function Gamma(shape: Reals, rate: Real | Reals): BroadcastDistribution
export function Gamma(shape: Real, rate: Reals): BroadcastDistribution
export function Gamma(shape: Real, rate: Real): GammaDistribution
export function Gamma(shape: Real | Reals, rate: Real | Reals): GammaDistribution | BroadcastDistribution {
  if (typeof shape === "number" && typeof rate === "number") return gammaScalar(shape, rate)
  return isArrayParameter(shape) || isArrayParameter(rate) ? broadcast(GAMMA_BROADCAST, [shape, rate]) : gammaScalar(shape as Real, rate as Real)
}
