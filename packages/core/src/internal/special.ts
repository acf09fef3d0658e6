/**
 * Shared numerics for the distribution families: exact samplers for the gamma, Poisson and
 * binomial laws (used directly and as building blocks of Beta, Dirichlet, ChiSquared,
 * StudentT, NegativeBinomial and Multinomial), Loader's saddle-point log masses for the
 * Poisson and binomial families (accurate for large counts), parameter checks for
 * vector-valued parameters and the Cholesky factorisation used by MultivariateNormal.
 * Internal: never imported from outside the package.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { fail, HALF_LOG_2PI } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

const LOG_2PI = 2 * HALF_LOG_2PI

// ---------------------------------------------------------------------------------------------
// Log-mass helpers
// ---------------------------------------------------------------------------------------------

/** Exact stirlerr(n) for small n: log Γ(n+1) − (n+½) log n + n − log(2π)/2. */
const stirlerrDirect = (n: number): number => gammaln(n + 1) - (n + 0.5) * Math.log(n) + n - HALF_LOG_2PI

/**
 * Stirling's error, log n! − log(√(2πn) (n/e)^n), for real n > 0 (Loader 2000): directly from
 * log Γ below 15, where there is no cancellation to speak of, and by its asymptotic series above.
 *
 * @example
 * stirlerr(20) // ≈ 1/240, log 20! − log(√(40π)(20/e)^20)
 *
 * @category numerics
 * @since 0.1.0
 */
export const stirlerr = (n: number): number => {
  if (n <= 15) return stirlerrDirect(n)
  const nn = n * n
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / nn) / nn) / nn) / nn) / n
}

/**
 * The deviance term x log(x/m) + m − x ≥ 0, computed without cancellation when x ≈ m by the
 * series of Loader (2000), "Fast and accurate computation of binomial probabilities".
 *
 * @example
 * bd0(100, 100) // 0
 *
 * @category numerics
 * @since 0.1.0
 */
export const bd0 = (x: number, m: number): number => {
  // Halved sums so that x + m cannot overflow near the top of the double range.
  const d = x - m
  const mid = 0.5 * x + 0.5 * m
  if (Math.abs(d) < 0.2 * mid) {
    let v = (0.5 * d) / mid
    let s = d * v
    let ej = x * v * 2
    v = v * v
    for (let j = 1; j < 1000; j++) {
      ej *= v
      const s1 = s + ej / (2 * j + 1)
      if (s1 === s) return s1
      s = s1
    }
    return s
  }
  return x * Math.log(x / m) - d
}

/**
 * log of the Poisson mass e^(−λ) λ^k / k! for an integer k ≥ 0 and λ ≥ 0, by Loader's
 * saddle-point form (no cancellation between k log λ, λ and log k! for large k and λ).
 *
 * @example
 * poissonLogPmf(0, 3) // −3
 *
 * @category numerics
 * @since 0.1.0
 */
export const poissonLogPmf = (k: number, lambda: number): number => {
  if (k === 0) return -lambda
  if (lambda === 0) return -Infinity
  return -stirlerr(k) - bd0(k, lambda) - 0.5 * (LOG_2PI + Math.log(k))
}

/**
 * log of the binomial-shaped mass Γ(n+1)/(Γ(x+1)Γ(n−x+1)) p^x q^(n−x) for real 0 ≤ x ≤ n
 * (Loader's dbinom_raw); `q` = 1 − p is passed separately so it keeps full precision.
 *
 * @example
 * binomialLogPmfRaw(5, 10, 0.5, 0.5) // log(252/1024)
 *
 * @category numerics
 * @since 0.1.0
 */
export const binomialLogPmfRaw = (x: number, n: number, p: number, q: number): number => {
  if (p === 0) return x === 0 ? 0 : -Infinity
  if (q === 0) return x === n ? 0 : -Infinity
  if (x === 0) return n === 0 ? 0 : n * Math.log(q)
  if (x === n) return n * Math.log(p)
  const lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q)
  // ½ log(n / (2π x (n − x))), grouped so no intermediate overflows.
  return lc + 0.5 * Math.log(n / (n - x) / x / (2 * Math.PI))
}

const LGAMMA_HALF_SERIES_FROM = 1000

/**
 * log Γ(x + ½) − log Γ(x) for x > 0, by its asymptotic series for large x (where subtracting
 * two large log-gammas would lose digits): ½ log x − 1/(8x) + 1/(192x³) − 1/(640x⁵), error
 * below 1e-23 from x = 1000 (checked against mpmath).
 *
 * @example
 * lgammaHalfStep(1) // log Γ(3/2) = log(√π/2)
 *
 * @category numerics
 * @since 0.1.0
 */
export const lgammaHalfStep = (x: number): number => {
  if (x < LGAMMA_HALF_SERIES_FROM) return gammaln(x + 0.5) - gammaln(x)
  const r = 1 / x
  const r2 = r * r
  return 0.5 * Math.log(x) - r * (1 / 8 - r2 * (1 / 192 - r2 / 640))
}

/**
 * log(1 + z²) without overflow for huge |z| (the Cauchy and Student-t kernels).
 *
 * @example
 * log1pSquare(1e200) // 400·log 10, where log1p(z²) would overflow
 *
 * @category numerics
 * @since 0.1.0
 */
export const log1pSquare = (z: number): number => {
  const a = Math.abs(z)
  return a < 1e150 ? Math.log1p(a * a) : 2 * Math.log(a)
}

// ---------------------------------------------------------------------------------------------
// Samplers
// ---------------------------------------------------------------------------------------------

/**
 * One Gamma(shape, 1) draw for shape ≥ 1 by Marsaglia & Tsang (2000), "A simple method for
 * generating gamma variables": d = a − 1/3, c = 1/√(9d), accept d·v³ with v = (1 + c·z)³.
 */
const marsagliaTsang = (rng: Rng, shape: number): number => {
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const z = rng.normal()
    let v = 1 + c * z
    if (v <= 0) continue
    v = v * v * v
    const u = rng.uniform()
    const z2 = z * z
    // Squeeze first, then the exact log test.
    if (u < 1 - 0.0331 * z2 * z2) return d * v
    if (Math.log(u) < 0.5 * z2 + d * (1 - v + Math.log(v))) return d * v
  }
}

/**
 * log of one Gamma(shape, 1) draw. For shape < 1 uses Marsaglia & Tsang's boost
 * G(a) = G(a + 1)·U^(1/a), in log space so tiny shapes never underflow to log 0.
 *
 * @example
 * const logG = logStandardGamma(Rng.make(1), 1e-3) // finite, though e^logG may underflow
 *
 * @category numerics
 * @since 0.1.0
 */
export const logStandardGamma = (rng: Rng, shape: number): number => {
  if (shape >= 1) return Math.log(marsagliaTsang(rng, shape))
  return Math.log(marsagliaTsang(rng, shape + 1)) + Math.log(rng.uniform()) / shape
}

/**
 * One Gamma(shape, 1) draw (Marsaglia & Tsang 2000; boosted for shape < 1). For very small
 * shapes the draw may underflow to 0, the nearest double.
 *
 * @example
 * standardGamma(Rng.make(1), 2.5) // one Gamma(2.5, 1) draw
 *
 * @category numerics
 * @since 0.1.0
 */
export const standardGamma = (rng: Rng, shape: number): number =>
  shape >= 1 ? marsagliaTsang(rng, shape) : Math.exp(logStandardGamma(rng, shape))

/** Rates below this use inversion; above, PTRS. */
const POISSON_PTRS_FROM = 10

/**
 * One Poisson(λ) draw, λ ≥ 0: sequential-search inversion for λ < 10 (one uniform, about
 * λ + 1 steps), otherwise PTRS, the transformed rejection with squeeze of Hörmann (1993),
 * "The transformed rejection method for generating Poisson random variables".
 *
 * @example
 * samplePoisson(Rng.make(1), 1e6) // PTRS
 *
 * @category numerics
 * @since 0.1.0
 */
export const samplePoisson = (rng: Rng, lambda: number): number => {
  if (lambda === 0) return 0
  if (lambda < POISSON_PTRS_FROM) {
    const p0 = Math.exp(-lambda)
    for (;;) {
      const u = rng.uniform()
      let k = 0
      let p = p0
      let cdf = p0
      while (u > cdf) {
        k++
        p *= lambda / k
        const next = cdf + p
        // The accumulated CDF stalls just below 1 by rounding: redraw (mass < 1e-15).
        if (next === cdf) break
        cdf = next
      }
      if (u <= cdf) return k
    }
  }
  const slam = Math.sqrt(lambda)
  const b = 0.931 + 2.53 * slam
  const a = -0.059 + 0.02483 * b
  const logInvAlpha = Math.log(1.1239 + 1.1328 / (b - 3.4))
  const vr = 0.9277 - 3.6224 / (b - 2)
  for (;;) {
    const u = rng.uniform() - 0.5
    const v = rng.uniform()
    const us = 0.5 - Math.abs(u)
    const k = Math.floor((2 * a / us + b) * u + lambda + 0.43)
    if (us >= 0.07 && v <= vr) return k
    if (k < 0 || (us < 0.013 && v > us)) continue
    if (Math.log(v) + logInvAlpha - Math.log(a / (us * us) + b) <= poissonLogPmf(k, lambda)) return k
  }
}

/** n·min(p, 1 − p) below this uses inversion; above, BTRS. */
const BINOMIAL_BTRS_FROM = 10

/** fc(k) = log k! − [(k + ½) log(k + 1) − (k + 1) + log(2π)/2], the tail used by BTRS. */
const FC_TABLE: ReadonlyArray<number> = Array.from({ length: 10 }, (_, k) => gammaln(k + 1) - (k + 0.5) * Math.log(k + 1) + (k + 1) - HALF_LOG_2PI)
const fc = (k: number): number => {
  if (k < 10) return FC_TABLE[k]
  const k1 = k + 1
  const k1sq = k1 * k1
  return (1 / 12 - (1 / 360 - 1 / 1260 / k1sq) / k1sq) / k1
}

/**
 * One Binomial(n, p) draw: reflected to p ≤ ½; inversion by sequential search when n·p < 10,
 * otherwise BTRS, Hörmann (1993), "The generation of binomial random variates" (transformed
 * rejection with squeeze; the acceptance bound uses Stirling tails so it stays accurate for
 * large n).
 *
 * @example
 * sampleBinomial(Rng.make(1), 1000, 0.3) // BTRS
 *
 * @category numerics
 * @since 0.1.0
 */
export const sampleBinomial = (rng: Rng, n: number, p: number): number => {
  if (n === 0 || p === 0) return 0
  if (p === 1) return n
  if (p > 0.5) return n - sampleBinomialLow(rng, n, 1 - p)
  return sampleBinomialLow(rng, n, p)
}

const sampleBinomialLow = (rng: Rng, n: number, p: number): number => {
  const q = 1 - p
  if (n * p < BINOMIAL_BTRS_FROM) {
    // q^n ≥ e^(−20) here (p ≤ ½, np < 10), so the search never starts from an underflowed mass.
    const r = p / q
    const p0 = Math.exp(n * Math.log1p(-p))
    for (;;) {
      const u = rng.uniform()
      let k = 0
      let f = p0
      let cdf = p0
      while (u > cdf && k < n) {
        f *= (r * (n - k)) / (k + 1)
        k++
        const next = cdf + f
        if (next === cdf) break
        cdf = next
      }
      if (u <= cdf || k === n) return k
    }
  }
  const spq = Math.sqrt(n * p * q)
  const b = 1.15 + 2.53 * spq
  const a = -0.0873 + 0.0248 * b + 0.01 * p
  const c = n * p + 0.5
  const alpha = (2.83 + 5.1 / b) * spq
  const vr = 0.92 - 4.2 / b
  const m = Math.floor((n + 1) * p)
  const r = p / q
  const head = (m + 0.5) * Math.log((m + 1) / (r * (n - m + 1))) + fc(m) + fc(n - m)
  for (;;) {
    const u = rng.uniform() - 0.5
    let v = rng.uniform()
    const us = 0.5 - Math.abs(u)
    const k = Math.floor((2 * a / us + b) * u + c)
    if (k < 0 || k > n) continue
    if (us >= 0.07 && v <= vr) return k
    v = Math.log((v * alpha) / (a / (us * us) + b))
    // log f(k)/f(m) written with Stirling tails (no large log-gamma differences).
    const bound = head + (n + 1) * Math.log((n - m + 1) / (n - k + 1)) + (k + 0.5) * Math.log((r * (n - k + 1)) / (k + 1)) - fc(k) - fc(n - k)
    if (v <= bound) return k
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter checks
// ---------------------------------------------------------------------------------------------

const isArrayLike = (value: unknown): value is ArrayLike<unknown> =>
  value != null && typeof value === "object" && typeof (value as { length?: unknown }).length === "number"

/**
 * Checks a vector parameter: array-like, non-empty (at least `minLength`), every entry a
 * finite number; returns a fresh Float64Array copy.
 *
 * @example
 * requireFiniteVector("Dirichlet", "alpha", [1, 2], 2) // Float64Array [1, 2]
 *
 * @category numerics
 * @since 0.1.0
 */
export const requireFiniteVector = (family: string, parameter: string, value: ArrayLike<number>, minLength: number): Float64Array => {
  if (!isArrayLike(value)) return fail(family, parameter, value, "must be an array of numbers")
  if (value.length < minLength) return fail(family, parameter, value, `must have at least ${minLength} entries`)
  const out = new Float64Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const v = value[i]
    if (typeof v !== "number" || !Number.isFinite(v)) return fail(family, parameter, value, `entry ${i} must be a finite number`)
    out[i] = v
  }
  return out
}

/**
 * Checks and normalises a vector of non-negative weights (not all zero, none NaN or infinite)
 * into probabilities summing to 1.
 *
 * @example
 * normaliseProbabilities("Categorical", "probs", [1, 3]) // Float64Array [0.25, 0.75]
 *
 * @category numerics
 * @since 0.1.0
 */
export const normaliseProbabilities = (family: string, parameter: string, value: ArrayLike<number>): Float64Array => {
  if (!isArrayLike(value)) return fail(family, parameter, value, "must be an array of numbers")
  if (value.length === 0) return fail(family, parameter, value, "must not be empty")
  let max = 0
  for (let i = 0; i < value.length; i++) {
    const v = value[i]
    if (typeof v !== "number" || !(v >= 0) || v === Infinity) return fail(family, parameter, value, `entry ${i} must be a finite number >= 0`)
    if (v > max) max = v
  }
  if (max === 0) return fail(family, parameter, value, "must not be all zero")
  // Scale by the largest weight first so the sum cannot overflow.
  const out = new Float64Array(value.length)
  let total = 0
  for (let i = 0; i < value.length; i++) total += out[i] = value[i] / max
  for (let i = 0; i < out.length; i++) out[i] /= total
  return out
}

/** Relative tolerance of the symmetry check, |Σ_ij − Σ_ji| ≤ tol·√(Σ_ii Σ_jj). */
const SYMMETRY_TOLERANCE = 1e-10

/**
 * The lower Cholesky factor of a symmetric positive-definite matrix (Cholesky–Banachiewicz),
 * row-major; throws `InvalidDistributionError` naming `covariance` when the matrix is not
 * K×K, not finite, not symmetric or not positive definite.
 *
 * @example
 * choleskyFactor("MultivariateNormal", [[4, 2], [2, 2]], 2) // Float64Array [2, 0, 1, 1]
 *
 * @category numerics
 * @since 0.1.0
 */
export const choleskyFactor = (family: string, covariance: ReadonlyArray<ArrayLike<number>>, k: number): Float64Array => {
  if (covariance == null || typeof covariance.length !== "number" || covariance.length !== k) {
    return fail(family, "covariance", covariance, `must be a ${k}×${k} matrix`)
  }
  const a = new Float64Array(k * k)
  for (let i = 0; i < k; i++) {
    const row = requireFiniteVector(family, "covariance", covariance[i], k)
    if (row.length !== k) return fail(family, "covariance", covariance, `must be a ${k}×${k} matrix`)
    a.set(row, i * k)
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      const tol = SYMMETRY_TOLERANCE * Math.sqrt(Math.abs(a[i * k + i] * a[j * k + j]))
      if (!(Math.abs(a[i * k + j] - a[j * k + i]) <= tol)) return fail(family, "covariance", covariance, `must be symmetric (entry ${i},${j})`)
    }
  }
  const l = new Float64Array(k * k)
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * k + j]
      for (let m = 0; m < j; m++) s -= l[i * k + m] * l[j * k + m]
      if (i === j) {
        if (!(s > 0)) return fail(family, "covariance", covariance, "must be positive definite")
        l[i * k + i] = Math.sqrt(s)
      } else {
        l[i * k + j] = s / l[j * k + j]
      }
    }
  }
  return l
}
