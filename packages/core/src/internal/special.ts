/**
 * Shared numerics for the distribution families: exact samplers for the gamma, Poisson and
 * binomial laws (used directly and as building blocks of Beta, Dirichlet, ChiSquared,
 * StudentT, NegativeBinomial and Multinomial), parameter checks for vector-valued parameters
 * and the Cholesky factorisation used by MultivariateNormal. The log densities and masses are
 * in `saddlePoint.ts`, the double-range clamps in `limits.ts`. Internal: never imported from
 * outside the package.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { fail, HALF_LOG_2PI } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"
import { LOG_SCALE, MAX_FINITE } from "./limits.ts"
import { poissonLogPmf } from "./saddlePoint.ts"

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
 * log of one Gamma(shape, 1) draw times 2^-60 (`LOG_SCALE`), finite for every shape ≥ 2^-1074:
 * log U / a alone overflows to −∞ once a < 2e-307, and the ratio of two such draws (Beta,
 * Dirichlet) would then be NaN. In units of 2^60, |log U|·2^-60 / a ≤ 37·2^-60 / 2^-1074 stays
 * finite; scaling by a power of two is exact, so nothing is lost for ordinary shapes. Same draws,
 * in the same order, as `logStandardGamma`.
 *
 * @example
 * const a = logStandardGammaScaled(rng, 1e-310), b = logStandardGammaScaled(rng, 1e-310)
 * const x = 1 / (1 + Math.exp((b - a) * LOG_UNSCALE)) // a Beta(1e-310, 1e-310) draw, never NaN
 *
 * @category numerics
 * @since 0.1.0
 */
export const logStandardGammaScaled = (rng: Rng, shape: number): number => {
  if (shape >= 1) return Math.log(marsagliaTsang(rng, shape)) * LOG_SCALE
  return Math.log(marsagliaTsang(rng, shape + 1)) * LOG_SCALE + (Math.log(rng.uniform()) * LOG_SCALE) / shape
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
 * Rates from 2^110 on: the Poisson spread, 6√λ ≤ 2^57.6, is below one ulp of λ (2^58), so a
 * normal draw rounded to the doubles is the exact law as far as doubles can show it.
 */
const POISSON_NORMAL_FROM = 2 ** 110

/**
 * One Poisson(λ) draw, λ ≥ 0: sequential-search inversion for λ < 10 (one uniform, about
 * λ + 1 steps), otherwise PTRS, the transformed rejection with squeeze of Hörmann (1993),
 * "The transformed rejection method for generating Poisson random variables". From λ = 2^110 on
 * (the spread below one ulp of λ) a rounded normal draw, clamped to MAX_VALUE; an infinite rate
 * gives MAX_VALUE.
 *
 * @example
 * samplePoisson(Rng.make(1), 1e6) // PTRS
 *
 * @category numerics
 * @since 0.1.0
 */
export const samplePoisson = (rng: Rng, lambda: number): number => {
  if (!(lambda > 0)) return 0
  if (lambda >= POISSON_NORMAL_FROM) {
    const k = Math.round(lambda + Math.sqrt(lambda) * rng.normal())
    return k < MAX_FINITE ? k : MAX_FINITE
  }
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

/**
 * Whether `value` is array-like with a sane length (a safe integer ≥ 0). Getters that throw (a
 * hostile Proxy) count as not array-like rather than escaping as an untyped error.
 */
const isArrayLike = (value: unknown): value is ArrayLike<unknown> => {
  if (value == null || typeof value !== "object") return false
  try {
    const n = (value as { length?: unknown }).length
    return typeof n === "number" && Number.isSafeInteger(n) && n >= 0
  } catch {
    return false
  }
}

/** value[i], or undefined where reading it throws. */
const entry = (value: ArrayLike<unknown>, i: number): unknown => {
  try {
    return value[i]
  } catch {
    return undefined
  }
}

/**
 * Checks a vector parameter: array-like, non-empty (at least `minLength`), every entry a
 * finite number; returns a fresh Float64Array copy. Entries are checked before anything is
 * allocated, so a bogus `{ length: 1e9 }` fails at once.
 *
 * @example
 * requireFiniteVector("Dirichlet", "alpha", [1, 2], 2) // Float64Array [1, 2]
 *
 * @category numerics
 * @since 0.1.0
 */
export const requireFiniteVector = (family: string, parameter: string, value: ArrayLike<number>, minLength: number): Float64Array => {
  if (!isArrayLike(value)) return fail(family, parameter, value, "must be an array of numbers")
  const n = value.length
  if (n < minLength) return fail(family, parameter, value, `must have at least ${minLength} entries`)
  for (let i = 0; i < n; i++) {
    const v = entry(value, i)
    if (typeof v !== "number" || !Number.isFinite(v)) return fail(family, parameter, value, `entry ${i} must be a finite number`)
  }
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = value[i]
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
  const n = value.length
  if (n === 0) return fail(family, parameter, value, "must not be empty")
  let max = 0
  for (let i = 0; i < n; i++) {
    const v = entry(value, i)
    if (typeof v !== "number" || !(v >= 0) || v === Infinity) return fail(family, parameter, value, `entry ${i} must be a finite number >= 0`)
    if (v > max) max = v
  }
  if (max === 0) return fail(family, parameter, value, "must not be all zero")
  // Scale by the largest weight first so the sum cannot overflow.
  const out = new Float64Array(n)
  let total = 0
  for (let i = 0; i < n; i++) total += out[i] = value[i] / max
  for (let i = 0; i < n; i++) out[i] /= total
  return out
}

/**
 * The logs of already-checked weights, normalised: log w_i − log max − log Σ(w/max). Finite for
 * every positive weight, also one whose normalised probability underflows to 0 (weights 2^-1074
 * and 1e308 give log masses ≈ −1453 and ≈ 0).
 *
 * @example
 * logNormalisedWeights([1, 3]) // Float64Array [log 0.25, log 0.75]
 *
 * @category numerics
 * @since 0.1.0
 */
export const logNormalisedWeights = (weights: ArrayLike<number>): Float64Array => {
  const n = weights.length
  let max = 0
  for (let i = 0; i < n; i++) if (weights[i] > max) max = weights[i]
  let total = 0
  for (let i = 0; i < n; i++) total += weights[i] / max
  const logMax = Math.log(max) + Math.log(total)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.log(weights[i]) - logMax
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
  if (!isArrayLike(covariance) || covariance.length !== k) return fail(family, "covariance", covariance, `must be a ${k}×${k} matrix`)
  const a = new Float64Array(k * k)
  for (let i = 0; i < k; i++) {
    const row = entry(covariance, i)
    if (!isArrayLike(row) || row.length !== k) return fail(family, "covariance", covariance, `must be a ${k}×${k} matrix`)
    for (let j = 0; j < k; j++) {
      const v = entry(row, j)
      if (typeof v !== "number" || !Number.isFinite(v)) return fail(family, "covariance", covariance, `entry (${i}, ${j}) must be a finite number`)
      a[i * k + j] = v
    }
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      // √|Σ_ii|·√|Σ_jj|, not √|Σ_ii Σ_jj|: the product of two large variances overflows.
      const tol = SYMMETRY_TOLERANCE * Math.sqrt(Math.abs(a[i * k + i])) * Math.sqrt(Math.abs(a[j * k + j]))
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
