/**
 * The normal (Gaussian) distribution with mean `mu` and standard deviation `sigma`.
 *
 * @since 0.1.0
 */
import { primal, registerNormalKernel, track, type Kernel, type Real } from "../Ad.ts"
import { HALF_LOG_2PI, isNumber, requireFinite, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampReal } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Real" }

/**
 * Normal(mu, sigma): density exp(−(x−mu)²/(2σ²)) / (σ√(2π)).
 *
 * **Details** Where x − mu overflows (|x|, |mu| near MAX_VALUE with opposite signs) `logProb`
 * works from the halves, so it is finite wherever the true log density is; a draw that
 * overflows is clamped to ±MAX_VALUE.
 *
 * @example
 * const d = new NormalDistribution(0, 1)
 * d.logProb(0) // −log(2π)/2 ≈ −0.9189
 *
 * @category constructors
 * @since 0.1.0
 */
export class NormalDistribution implements Distribution<number> {
  // family, kind and support live on the prototype (getters), not in every instance: a Normal
  // is built per observation, so a smaller object is measurably cheaper.
  get family(): "Normal" {
    return "Normal"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly mu: number
  readonly sigma: number
  /** −log σ − log(2π)/2, cached: logProb is the hot path. */
  readonly logNorm: number
  constructor(mu: number, sigma: number) {
    this.mu = mu
    this.sigma = sigma
    this.logNorm = -Math.log(sigma) - HALF_LOG_2PI
  }
  sample(rng: Rng): number {
    const x = this.mu + this.sigma * rng.normal()
    return x - x === 0 ? x : clampReal(x)
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    const z = (x - this.mu) / this.sigma
    const lp = this.logNorm - 0.5 * z * z
    // lp − lp is 0 for finite lp, NaN for NaN and ±∞: the one comparison of the hot path.
    return lp - lp === 0 ? lp : logProbFromHalves(this, x)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return normalKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.mu, this.sigma]
  }
  mean(): number {
    return this.mu
  }
  variance(): number {
    return this.sigma * this.sigma
  }
}

/**
 * The rare path of `logProb`, out of line so the hot path stays small: NaN and ±∞ get −∞, and a
 * finite x whose x − mu overflowed is redone from the halves (a true overflow stays −∞).
 */
const logProbFromHalves = (d: NormalDistribution, x: number): number => {
  if (x - x !== 0) return -Infinity
  const h = (0.5 * x - 0.5 * d.mu) / d.sigma
  return d.logNorm - 2 * h * h
}

/**
 * The normal log density with its partials in (x, mu, sigma): with z = (x − mu)/σ,
 * ∂x = −z/σ, ∂mu = z/σ, ∂σ = (z² − 1)/σ.
 *
 * @example
 * normalKernel(out, 1, 0, 1, 0) // −0.5 − log(2π)/2, out = [−1, 1, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const normalKernel: Kernel = (out, x, mu, sigma) => {
  if (!(sigma > 0 && sigma < Infinity) || x - x !== 0 || mu - mu !== 0) return -Infinity
  const inv = 1 / sigma
  const z = (x - mu) * inv
  out[0] = -z * inv
  out[1] = z * inv
  out[2] = (z * z - 1) * inv
  return -Math.log(sigma) - HALF_LOG_2PI - 0.5 * z * z
}
registerNormalKernel(normalKernel)

const normalScalar = (mu: Real, sigma: Real): NormalDistribution => {
  if (typeof mu === "number" && typeof sigma === "number") {
    return new NormalDistribution(requireFinite("Normal", "mu", mu), requirePositive("Normal", "sigma", sigma))
  }
  const d = new NormalDistribution(requireFinite("Normal", "mu", primal(mu)), requirePositive("Normal", "sigma", primal(sigma)))
  track(d, [mu, sigma])
  return d
}

const NORMAL_BROADCAST: Spec = registerSpec({
  family: "Normal",
  parameters: ["mu", "sigma"],
  checks: ["finite", "positive"],
  kernel: normalKernel,
  element: (p0, p1) => normalScalar(p0, p1),
  support: SUPPORT,
  boolean: false,
  sum: (x, values, strides, n) => {
    const mu = values[0]!, sm = strides[0]!, sigma = values[1]!, ss = strides[1]!
    if (ss === 0) {
      // a shared σ: log σ once, Σ z² in one pass (a non-number, NaN or overflow makes it NaN or
      // ±∞, and the caller redoes it with the kernel)
      const s = sigma[0]!, inv = 1 / s
      let q = 0
      for (let i = 0; i < n; i++) {
        const z = ((x[i] as number) - mu[i * sm]!) * inv
        q += z * z
      }
      return -0.5 * q - n * (Math.log(s) + HALF_LOG_2PI)
    }
    let total = 0
    for (let i = 0; i < n; i++) {
      const s = sigma[i]!
      const z = ((x[i] as number) - mu[i * sm]!) / s
      total += -0.5 * z * z - Math.log(s)
    }
    return total - n * HALF_LOG_2PI
  },
  linear: (ys, design, a, beta, slot, sigma, _unused, grad) => {
    // the mean is the predictor and σ is shared: one pass for Σ z², ∂a = Σ z/σ, ∂βⱼ = Σ Xᵢⱼ z/σ,
    // ∂σ = (Σ z² − n)/σ (a non-finite σ or value declines: the kernel loop gives −∞)
    if (slot !== 0 || !(sigma > 0 && sigma < Infinity)) return Number.NaN
    const n = design.rows, d = design.columns, X = design.data
    const inv = 1 / sigma
    for (let j = 0; j <= d; j++) grad[j] = 0
    let q = 0, ga = 0
    if (d <= 4) {
      // up to four columns: the coefficients and their partials in locals, one pass (the typed
      // array round trips of the general loop cost about 2× here; measured)
      const b0 = d > 0 ? beta[0]! : 0, b1 = d > 1 ? beta[1]! : 0, b2 = d > 2 ? beta[2]! : 0, b3 = d > 3 ? beta[3]! : 0
      let g0 = 0, g1 = 0, g2 = 0, g3 = 0
      for (let i = 0; i < n; i++) {
        const base = i * d
        const x0 = d > 0 ? X[base]! : 0, x1 = d > 1 ? X[base + 1]! : 0, x2 = d > 2 ? X[base + 2]! : 0, x3 = d > 3 ? X[base + 3]! : 0
        const z = (ys[i]! - (a + b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3)) * inv
        q += z * z
        const g = z * inv
        ga += g
        g0 += g * x0
        g1 += g * x1
        g2 += g * x2
        g3 += g * x3
      }
      if (d > 0) grad[1] = g0
      if (d > 1) grad[2] = g1
      if (d > 2) grad[3] = g2
      if (d > 3) grad[4] = g3
    } else for (let i = 0; i < n; i++) {
      const base = i * d
      let eta = a
      for (let j = 0; j < d; j++) eta += X[base + j]! * beta[j]!
      const z = (ys[i]! - eta) * inv
      q += z * z
      const g = z * inv
      ga += g
      for (let j = 0; j < d; j++) grad[1 + j] += g * X[base + j]!
    }
    if (!(q < Infinity)) return Number.NaN
    grad[0] = ga
    grad[1 + d] = (q - n) * inv
    grad[2 + d] = 0
    return -0.5 * q - n * (Math.log(sigma) + HALF_LOG_2PI)
  }
})

/**
 * A normal distribution; throws `InvalidDistributionError` unless `mu` is finite and `sigma` > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Normal(0, 2)
 * d.logProb(1) // −log 2 − log(2π)/2 − 1/8
 *
 * @category constructors
 * @since 0.1.0
 */
export function Normal(mu: Reals, sigma: Real | Reals): BroadcastDistribution
export function Normal(mu: Real, sigma: Reals): BroadcastDistribution
export function Normal(mu: Real, sigma: Real): NormalDistribution
export function Normal(mu: Real | Reals, sigma: Real | Reals): NormalDistribution | BroadcastDistribution {
  if (typeof mu === "number" && typeof sigma === "number") return normalScalar(mu, sigma)
  return isArrayParameter(mu) || isArrayParameter(sigma) ? broadcast(NORMAL_BROADCAST, [mu, sigma]) : normalScalar(mu as Real, sigma as Real)
}
