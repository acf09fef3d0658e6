/**
 * The multivariate normal distribution with a mean vector and a covariance matrix. Use it for
 * correlated real vectors (random effects, Gaussian-process values). The Cholesky factor of
 * the covariance is computed once, in the constructor; values are Float64Arrays.
 *
 * @since 0.1.0
 */
import { HALF_LOG_2PI, isVector, type Distribution, type Support } from "../Distribution.ts"
import { clampReal } from "../internal/limits.ts"
import { choleskyFactor, requireFiniteVector } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/**
 * MultivariateNormal(mean, covariance): density (2π)^(−K/2) |Σ|^(−½) exp(−½ (x − μ)ᵀ Σ⁻¹ (x − μ)).
 *
 * **Details** With Σ = L Lᵀ (Cholesky), `logProb` solves L y = x − μ and returns
 * −½|y|² − Σ log L_ii − K log(2π)/2 (from the halves of x and μ where x − μ overflows); draws
 * are μ + L z for standard normal z, each coordinate clamped to ±MAX_VALUE if it overflows.
 *
 * @example
 * const d = MultivariateNormal([0, 0], [[1, 0.5], [0.5, 1]])
 * d.sample(Rng.make(1)) // Float64Array(2)
 *
 * @category constructors
 * @since 0.1.0
 */
export class MultivariateNormalDistribution implements Distribution<Float64Array> {
  get family(): "MultivariateNormal" {
    return "MultivariateNormal"
  }
  get kind(): "vector" {
    return "vector"
  }
  readonly support: Support
  /** The mean vector μ. */
  readonly mu: Float64Array
  /** The lower Cholesky factor L of Σ, row-major K×K (upper triangle zero). */
  readonly cholesky: Float64Array
  /** −Σ log L_ii − K log(2π)/2, cached. */
  readonly logNorm: number
  constructor(mu: Float64Array, cholesky: Float64Array) {
    const k = mu.length
    this.mu = mu
    this.cholesky = cholesky
    let logDet = 0
    for (let i = 0; i < k; i++) logDet += Math.log(cholesky[i * k + i])
    this.logNorm = -logDet - k * HALF_LOG_2PI
    this.support = { _tag: "RealVector", dimension: k }
  }
  sample(rng: Rng): Float64Array {
    const k = this.mu.length
    const l = this.cholesky
    const z = new Float64Array(k)
    for (let i = 0; i < k; i++) z[i] = rng.normal()
    const out = new Float64Array(k)
    for (let i = 0; i < k; i++) {
      let s = this.mu[i]
      for (let j = 0; j <= i; j++) s += l[i * k + j] * z[j]
      out[i] = s - s === 0 ? s : clampReal(s)
    }
    return out
  }
  logProb(x: Float64Array): number {
    const k = this.mu.length
    if (!isVector(x) || x.length !== k) return -Infinity
    const l = this.cholesky
    const y = new Float64Array(k)
    let q = 0
    // Forward substitution L y = x − μ.
    for (let i = 0; i < k; i++) {
      let s = x[i] - this.mu[i]
      for (let j = 0; j < i; j++) s -= l[i * k + j] * y[j]
      const yi = s / l[i * k + i]
      y[i] = yi
      q += yi * yi
    }
    const lp = this.logNorm - 0.5 * q
    if (lp > -Infinity) return lp
    // Rare: a coordinate is NaN or ±∞ (−∞), or some x_i − μ_i overflowed: redo from the halves.
    for (let i = 0; i < k; i++) if (x[i] - x[i] !== 0) return -Infinity
    q = 0
    for (let i = 0; i < k; i++) {
      let s = 0.5 * x[i] - 0.5 * this.mu[i]
      for (let j = 0; j < i; j++) s -= l[i * k + j] * y[j]
      const yi = s / l[i * k + i]
      y[i] = yi
      q += yi * yi
    }
    // q may be NaN here (0·∞ once some y_i truly overflows): the true value is then below −MAX_VALUE.
    const lpHalves = this.logNorm - 2 * q
    return lpHalves > -Infinity ? lpHalves : -Infinity
  }
  isValue(x: unknown): x is Float64Array {
    return isVector(x)
  }
  mean(): Float64Array {
    return this.mu.slice()
  }
  /** The marginal variances, the diagonal of Σ = L Lᵀ. */
  variance(): Float64Array {
    const k = this.mu.length
    const out = new Float64Array(k)
    for (let i = 0; i < k; i++) {
      let s = 0
      for (let j = 0; j <= i; j++) s += this.cholesky[i * k + j] * this.cholesky[i * k + j]
      out[i] = s
    }
    return out
  }
}

/**
 * A multivariate normal distribution; throws `InvalidDistributionError` unless `mean` is a
 * non-empty finite vector and `covariance` a matching symmetric positive-definite matrix.
 *
 * @example
 * const d = MultivariateNormal([1, 2], [[2, 0.3], [0.3, 1]])
 * d.mean() // Float64Array [1, 2]
 *
 * @category constructors
 * @since 0.1.0
 */
export const MultivariateNormal = (mean: ArrayLike<number>, covariance: ReadonlyArray<ArrayLike<number>>): MultivariateNormalDistribution => {
  const mu = requireFiniteVector("MultivariateNormal", "mean", mean, 1)
  return new MultivariateNormalDistribution(mu, choleskyFactor("MultivariateNormal", covariance, mu.length))
}
