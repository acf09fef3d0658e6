/**
 * The gamma distribution with a `shape` and a `rate` (inverse scale). Use it for positive
 * quantities such as precisions, rates and waiting times of several events; it is the
 * conjugate prior of a Poisson rate and of a normal precision.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"

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
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

const SUPPORT: Support = { _tag: "Positive" }

/**
 * Gamma(shape, rate): density rate^shape x^(shape−1) e^(−rate·x) / Γ(shape) on x > 0.
 *
 * **Details** At the boundary x = 0 `logProb` returns the density's limit: +∞ for shape < 1,
 * log rate for shape = 1, −∞ for shape > 1. Draws use Marsaglia & Tsang (2000), boosted by
 * U^(1/shape) for shape < 1; for very small shapes a draw can underflow to 0.
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
  /** shape·log rate − log Γ(shape), cached. */
  readonly logNorm: number
  constructor(shape: number, rate: number) {
    this.shape = shape
    this.rate = rate
    this.logNorm = shape * Math.log(rate) - gammalnCached(shape)
  }
  sample(rng: Rng): number {
    return standardGamma(rng, this.shape) / this.rate
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < Infinity) return this.logNorm + (this.shape - 1) * Math.log(x) - this.rate * x
    if (x === 0) return this.shape < 1 ? Infinity : this.shape === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  mean(): number {
    return this.shape / this.rate
  }
  variance(): number {
    return this.shape / (this.rate * this.rate)
  }
}

/**
 * A gamma distribution; throws `InvalidDistributionError` unless `shape` and `rate` are finite and > 0.
 *
 * @example
 * const d = Gamma(2, 1)
 * d.logProb(1) // −1
 *
 * @category constructors
 * @since 0.1.0
 */
export const Gamma = (shape: number, rate: number): GammaDistribution =>
  new GammaDistribution(requirePositive("Gamma", "shape", shape), requirePositive("Gamma", "rate", rate))
