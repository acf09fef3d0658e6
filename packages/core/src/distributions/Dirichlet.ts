/**
 * The Dirichlet distribution on the probability simplex with concentrations `alpha`. Use it
 * for a random probability vector (mixture weights, category probabilities); it is the
 * conjugate prior of the categorical and multinomial families. Values are Float64Arrays.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { fail, isVector, type Distribution, type Support } from "../Distribution.ts"
import { LOG_MIN_POSITIVE, LOG_UNSCALE, MIN_POSITIVE } from "../internal/limits.ts"
import { betaSaddleConstant, betaSaddleDevianceOfParts, betaUsesSaddle, lbeta, twoSumError } from "../internal/saddlePoint.ts"
import { logStandardGammaScaled, requireFiniteVector, standardGamma } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"

/** How far Σx may stray from 1 for x to count as a point of the simplex. */
const SIMPLEX_TOLERANCE = 1e-9

/**
 * Σα up to this uses the direct log density: its log-gammas are then at most about 6000, so
 * their cancellation costs under 1e-12; above, the stick-breaking product of beta densities.
 */
const DIRECT_MAX_TOTAL = 1000

/**
 * Dirichlet(alpha): density Γ(Σα) / ΠΓ(α_i) · Π x_i^(α_i − 1) on the simplex (with respect to
 * Lebesgue measure on the first K − 1 coordinates).
 *
 * **Details** `logProb` accepts x with entries in [0, 1] summing to 1 within 1e-9. For Σα ≤ 1000
 * it is the direct formula; above, the stick-breaking factorisation x_i = v_i·r_i with
 * r_i = Σ_{j≥i} x_j, v_i ~ Beta(α_i, Σ_{j>i} α_j) and Jacobian Π_{i<K−1} r_i (e.g. Frigyik, Kapila
 * & Gupta 2010, "Introduction to the Dirichlet distribution"), each beta density in R's dbeta form
 * (saddle-point for large shapes), so huge concentrations never give ∞ − ∞. On the boundary
 * (some x_i = 0) it is −∞ if any such α_i > 1; a zero with α_i = 1 contributes nothing, and one
 * with α_i < 1, where the density diverges, is scored as the clamped value 2^-1074. Draws
 * normalise independent Gamma(α_i) draws: directly when every α_i ≥ 1, otherwise from
 * log-gammas in units of 2^60 (finite for every α ≥ 2^-1074, so small α never gives 0/0), with
 * coordinates that underflow clamped to 2^-1074, so every draw has a finite log density.
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
  /** log Γ(Σα) − Σ log Γ(α_i) (direct form), or 0 (stick-breaking form), cached. */
  readonly logNorm: number
  /**
   * The stick-breaking form's per-stick beta constants (the beta density's cached constant for
   * shapes α_i, Σ_{j>i} α_j, i < K − 1), or undefined when the direct form is used.
   */
  readonly stickNorm: Float64Array | undefined
  /** Σ_{j>i} α_j for each i (the sticks' second shapes), with the stick-breaking form. */
  readonly stickRest: Float64Array | undefined
  /** The rounding errors of `stickRest` (TwoSum). */
  readonly stickRestLow: Float64Array | undefined
  /** min α_i: draws with every α_i ≥ 1 normalise Gamma draws directly. */
  readonly minAlpha: number
  constructor(alpha: Float64Array) {
    const k = alpha.length
    this.alpha = alpha
    let sum = 0
    let min = Infinity
    for (let i = 0; i < k; i++) {
      sum += alpha[i]
      if (alpha[i] < min) min = alpha[i]
    }
    this.alphaSum = sum
    this.minAlpha = min
    this.support = { _tag: "Simplex", dimension: k }
    if (sum <= DIRECT_MAX_TOTAL) {
      let lg = 0
      for (let i = 0; i < k; i++) lg += gammaln(alpha[i])
      this.logNorm = gammaln(sum) - lg
      this.stickNorm = undefined
      this.stickRest = undefined
      this.stickRestLow = undefined
    } else {
      this.logNorm = 0
      const norm = new Float64Array(k - 1)
      const rest = new Float64Array(k - 1)
      const restLow = new Float64Array(k - 1)
      // Suffix sums Σ_{j>i} α_j with their rounding errors (TwoSum): near a huge stick's mode the
      // deviation moves by the error times the coordinate.
      let tail = alpha[k - 1]
      let tailLow = 0
      for (let i = k - 2; i >= 0; i--) {
        const a = alpha[i]
        rest[i] = tail
        restLow[i] = tailLow
        norm[i] = betaUsesSaddle(a, tail) ? betaSaddleConstant(a, tail) : -lbeta(a, tail)
        tailLow += twoSumError(tail, a)
        tail += a
      }
      this.stickNorm = norm
      this.stickRest = rest
      this.stickRestLow = restLow
    }
  }
  sample(rng: Rng): Float64Array {
    const k = this.alpha.length
    const out = new Float64Array(k)
    if (this.minAlpha >= 1) {
      // Gamma draws directly (full relative precision, which a huge, narrow α needs), each
      // halved so that their sum cannot overflow.
      let total = 0
      for (let i = 0; i < k; i++) total += out[i] = 0.5 * standardGamma(rng, this.alpha[i])
      for (let i = 0; i < k; i++) out[i] = out[i] / total || MIN_POSITIVE
      return out
    }
    let max = -Infinity
    for (let i = 0; i < k; i++) {
      const l = logStandardGammaScaled(rng, this.alpha[i])
      out[i] = l
      if (l > max) max = l
    }
    // Differences of scaled logs are finite; unscaled they may be −∞ (e^−∞ = 0, clamped below).
    let total = 0
    for (let i = 0; i < k; i++) total += out[i] = Math.exp((out[i] - max) * LOG_UNSCALE)
    for (let i = 0; i < k; i++) {
      const v = out[i] / total
      out[i] = v > 0 ? v : MIN_POSITIVE
    }
    return out
  }
  logProb(x: Float64Array): number {
    const alpha = this.alpha
    if (!isVector(x) || x.length !== alpha.length) return -Infinity
    const k = x.length
    const norm = this.stickNorm
    const direct = norm === undefined
    let sum = 0
    let lp = this.logNorm
    for (let i = 0; i < k; i++) {
      const xi = x[i]
      if (!(xi >= 0 && xi <= 1)) return -Infinity
      sum += xi
      if (xi === 0 && alpha[i] > 1) return -Infinity
      if (!direct) continue
      if (xi > 0) lp += (alpha[i] - 1) * Math.log(xi)
      else if (alpha[i] < 1) lp += (alpha[i] - 1) * LOG_MIN_POSITIVE
    }
    if (!(Math.abs(sum - 1) <= SIMPLEX_TOLERANCE)) return -Infinity
    return direct ? lp : this.stickBreaking(x, norm, this.stickRest as Float64Array, this.stickRestLow as Float64Array)
  }
  /** The stick-breaking log density (Σα > 1000), for x already checked to be on the simplex. */
  private stickBreaking(x: Float64Array, norm: Float64Array, rest: Float64Array, restLow: Float64Array): number {
    const alpha = this.alpha
    const k = x.length
    // Zeros here have α ≤ 1 (checked): score them as the clamped value 2^-1074.
    let r = x[k - 1] > 0 ? x[k - 1] : MIN_POSITIVE
    // r's rounding error as a suffix sum of x (TwoSum), for the deviations of large sticks.
    let rLow = 0
    let logR = Math.log(r)
    let lp = 0
    for (let i = k - 2; i >= 0; i--) {
      const xi = x[i] > 0 ? x[i] : MIN_POSITIVE
      const ri = xi + r
      const logRi = Math.log(ri)
      const v = xi / ri
      const w = r / ri
      // Of v and w = 1 − v the smaller is the accurate one (its log from the numerator's, which
      // survives a subnormal quotient); the larger's log is log1p(−smaller).
      const logV = v <= w ? Math.log(xi) - logRi : Math.log1p(-w)
      const logW = v <= w ? Math.log1p(-v) : logR - logRi
      const a = alpha[i]
      const b = rest[i]
      lp += betaUsesSaddle(a, b)
        ? norm[i] - betaSaddleDevianceOfParts(a, b, xi, r, logV, logW, restLow[i], rLow)
        : norm[i] + (a - 1) * logV + (b - 1) * logW
      // The Jacobian r_i, for i < K − 1.
      lp -= logRi
      rLow += twoSumError(r, xi)
      r = ri
      logR = logRi
    }
    return lp
  }
  isValue(x: unknown): x is Float64Array {
    return isVector(x)
  }
  mean(): Float64Array {
    return this.alpha.map((a) => a / this.alphaSum)
  }
  /** α_i(s − α_i)/(s²(s + 1)) with s = Σα, as m_i(1 − m_i)/(s + 1) (no overflowing products). */
  variance(): Float64Array {
    const s = this.alphaSum
    return this.alpha.map((a) => ((a / s) * ((s - a) / s)) / (s + 1))
  }
}

/**
 * A Dirichlet distribution; throws `InvalidDistributionError` unless `alpha` has at least two
 * entries, each finite and > 0, with a finite sum.
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
  let sum = 0
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] > 0)) fail("Dirichlet", "alpha", alpha, `entry ${i} must be > 0`)
    sum += a[i]
  }
  if (!(sum < Infinity)) fail("Dirichlet", "alpha", alpha, "the sum of the entries must be finite")
  return new DirichletDistribution(a)
}
