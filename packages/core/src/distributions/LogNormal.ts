/**
 * The log-normal distribution: `exp(X)` for `X ~ Normal(mu, sigma)`. Use it for positive
 * quantities whose logarithm is roughly normal (sizes, rates, durations); `mu` and `sigma` are
 * the mean and standard deviation on the log scale.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { HALF_LOG_2PI, isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Positive" }

/**
 * LogNormal(mu, sigma): density exp(−(log x − mu)²/(2σ²)) / (x σ √(2π)) on x > 0.
 *
 * **Details** A draw e^(mu + σZ) beyond the doubles is clamped into [2^-1074, MAX_VALUE].
 *
 * @example
 * const d = new LogNormalDistribution(0, 1)
 * d.mean() // e^(1/2)
 *
 * @category constructors
 * @since 0.1.0
 */
export class LogNormalDistribution implements Distribution<number> {
  get family(): "LogNormal" {
    return "LogNormal"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly mu: number
  readonly sigma: number
  /** −log σ − log(2π)/2, cached. */
  readonly logNorm: number
  constructor(mu: number, sigma: number) {
    this.mu = mu
    this.sigma = sigma
    this.logNorm = -Math.log(sigma) - HALF_LOG_2PI
  }
  sample(rng: Rng): number {
    const x = Math.exp(this.mu + this.sigma * rng.normal())
    return x > 0 && x < Infinity ? x : clampPositive(x)
  }
  logProb(x: number): number {
    // x = 0 is the density's limit 0; +∞ and NaN fall out of the comparisons (after the type
    // check: comparing a Symbol or Object.create(null) throws).
    if (typeof x !== "number" || !(x > 0) || x === Infinity) return -Infinity
    const lx = Math.log(x)
    const z = (lx - this.mu) / this.sigma
    return this.logNorm - lx - 0.5 * z * z
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return logNormalKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.mu, this.sigma]
  }
  mean(): number {
    return Math.exp(this.mu + 0.5 * this.sigma * this.sigma)
  }
  variance(): number {
    const s2 = this.sigma * this.sigma
    return Math.expm1(s2) * Math.exp(2 * this.mu + s2)
  }
}

/**
 * The log-normal log density with its partials in (x, mu, sigma): with z = (log x − mu)/σ,
 * ∂x = −(1 + z/σ)/x, ∂mu = z/σ, ∂σ = (z² − 1)/σ; −∞ for x ≤ 0 or x not finite.
 *
 * @example
 * logNormalKernel(out, 1, 0, 1, 0) // −log(2π)/2, out = [−1, 0, −1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const logNormalKernel: Kernel = (out, x, mu, sigma) => {
  if (!(sigma > 0 && sigma < Infinity && x > 0 && x < Infinity) || mu - mu !== 0) return -Infinity
  const inv = 1 / sigma
  const lx = Math.log(x)
  const z = (lx - mu) / sigma
  out[0] = -(1 + z * inv) / x
  out[1] = z * inv
  out[2] = (z * z - 1) * inv
  return -Math.log(sigma) - HALF_LOG_2PI - lx - 0.5 * z * z
}

const logNormalScalar = (mu: Real, sigma: Real): LogNormalDistribution => {
  if (typeof mu === "number" && typeof sigma === "number") {
    return new LogNormalDistribution(requireFinite("LogNormal", "mu", mu), requirePositive("LogNormal", "sigma", sigma))
  }
  const d = new LogNormalDistribution(requireFinite("LogNormal", "mu", primal(mu)), requirePositive("LogNormal", "sigma", primal(sigma)))
  track(d, [mu, sigma])
  return d
}

const LOGNORMAL_BROADCAST: Spec = registerSpec({
  family: "LogNormal",
  parameters: ["mu", "sigma"],
  checks: ["finite", "positive"],
  kernel: logNormalKernel,
  element: (p0, p1) => logNormalScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A log-normal distribution; throws `InvalidDistributionError` unless `mu` is finite and `sigma` > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = LogNormal(0, 0.5)
 * d.logProb(1) // −log 0.5 − log(2π)/2
 *
 * @category constructors
 * @since 0.1.0
 */
export function LogNormal(mu: Reals, sigma: Real | Reals): BroadcastDistribution
export function LogNormal(mu: Real, sigma: Reals): BroadcastDistribution
export function LogNormal(mu: Real, sigma: Real): LogNormalDistribution
export function LogNormal(mu: Real | Reals, sigma: Real | Reals): LogNormalDistribution | BroadcastDistribution {
  if (typeof mu === "number" && typeof sigma === "number") return logNormalScalar(mu, sigma)
  return isArrayParameter(mu) || isArrayParameter(sigma) ? broadcast(LOGNORMAL_BROADCAST, [mu, sigma]) : logNormalScalar(mu as Real, sigma as Real)
}
