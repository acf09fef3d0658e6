/**
 * The Dirichlet distribution on the probability simplex with concentrations `alpha`. Use it
 * for a random probability vector (mixture weights, category probabilities); it is the
 * conjugate prior of the categorical and multinomial families. Values are Float64Arrays.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { fail, isVector, type Distribution, type Support } from "../Distribution.ts"
import { logStandardGamma, requireFiniteVector } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/** How far Σx may stray from 1 for x to count as a point of the simplex. */
const SIMPLEX_TOLERANCE = 1e-9

/**
 * Dirichlet(alpha): density Γ(Σα) / ΠΓ(α_i) · Π x_i^(α_i − 1) on the simplex (with respect to
 * Lebesgue measure on the first K − 1 coordinates).
 *
 * **Details** `logProb` accepts x with entries in [0, 1] summing to 1 within 1e-9. On the
 * boundary (some x_i = 0) it returns the density's limit: −∞ if any α_i > 1 there, else +∞ if
 * any α_i < 1 there. Draws normalise independent Gamma(α_i) draws, formed from log-gammas so
 * small α never gives 0/0.
 *
 * @example
 * const d = new DirichletDistribution(new Float64Array([1, 1, 1]))
 * d.logProb(new Float64Array([0.2, 0.3, 0.5])) // log 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class DirichletDistribution implements Distribution<Float64Array> {
  get family(): "Dirichlet" {
    return "Dirichlet"
  }
  get kind(): "vector" {
    return "vector"
  }
  readonly support: Support
  readonly alpha: Float64Array
  /** Σα. */
  readonly alphaSum: number
  /** log Γ(Σα) − Σ log Γ(α_i), cached. */
  readonly logNorm: number
  constructor(alpha: Float64Array) {
    this.alpha = alpha
    let sum = 0
    let lg = 0
    for (let i = 0; i < alpha.length; i++) {
      sum += alpha[i]
      lg += gammaln(alpha[i])
    }
    this.alphaSum = sum
    this.logNorm = gammaln(sum) - lg
    this.support = { _tag: "Simplex", dimension: alpha.length }
  }
  sample(rng: Rng): Float64Array {
    const k = this.alpha.length
    const out = new Float64Array(k)
    let max = -Infinity
    for (let i = 0; i < k; i++) {
      const l = logStandardGamma(rng, this.alpha[i])
      out[i] = l
      if (l > max) max = l
    }
    let total = 0
    for (let i = 0; i < k; i++) total += out[i] = Math.exp(out[i] - max)
    for (let i = 0; i < k; i++) out[i] /= total
    return out
  }
  logProb(x: Float64Array): number {
    const alpha = this.alpha
    if (!isVector(x) || x.length !== alpha.length) return -Infinity
    let sum = 0
    let lp = this.logNorm
    let zeroPlus = false
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]
      if (!(xi >= 0 && xi <= 1)) return -Infinity
      sum += xi
      if (xi > 0) lp += (alpha[i] - 1) * Math.log(xi)
      else if (alpha[i] > 1) return -Infinity
      else if (alpha[i] < 1) zeroPlus = true
    }
    if (!(Math.abs(sum - 1) <= SIMPLEX_TOLERANCE)) return -Infinity
    return zeroPlus ? Infinity : lp
  }
  isValue(x: unknown): x is Float64Array {
    return isVector(x)
  }
  mean(): Float64Array {
    return this.alpha.map((a) => a / this.alphaSum)
  }
  variance(): Float64Array {
    const s = this.alphaSum
    return this.alpha.map((a) => (a * (s - a)) / (s * s * (s + 1)))
  }
}

/**
 * A Dirichlet distribution; throws `InvalidDistributionError` unless `alpha` has at least two
 * entries, each finite and > 0.
 *
 * @example
 * const w = Dirichlet([1, 2, 3])
 * w.mean() // Float64Array [1/6, 1/3, 1/2]
 *
 * @category constructors
 * @since 0.1.0
 */
export const Dirichlet = (alpha: ArrayLike<number>): DirichletDistribution => {
  const a = requireFiniteVector("Dirichlet", "alpha", alpha, 2)
  for (let i = 0; i < a.length; i++) if (!(a[i] > 0)) fail("Dirichlet", "alpha", alpha, `entry ${i} must be > 0`)
  return new DirichletDistribution(a)
}
