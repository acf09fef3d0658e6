/**
 * Numerical helpers for the distribution tests: tanh-sinh quadrature (finite, half-infinite and
 * infinite ranges by substitution), sample moments, the Kolmogorov–Smirnov and chi-square
 * goodness-of-fit statistics with their critical values. Written here, independent of the
 * implementation under test (only @stdlib's regularised incomplete gamma is borrowed, for
 * chi-square tail probabilities).
 */
import gammainc from "@stdlib/math-base-special-gammainc"

const HALF_PI = Math.PI / 2

/**
 * ∫_a^b f(x) dx for finite a < b by tanh-sinh (double-exponential) quadrature, Takahasi & Mori
 * (1974): x = mid + half·tanh(π/2·sinh t). Nodes cluster doubly exponentially at the ends, so
 * integrable end-point singularities (x^(−½), log x) are handled; f is never evaluated at an
 * end itself. The step halves until two levels agree to `tol` (relative); the error is then far
 * below `tol` because the rule converges quadratically in the number of nodes.
 */
export const integrate = (f: (x: number) => number, a: number, b: number, tol = 1e-10): number => {
  const half = 0.5 * (b - a)
  // Sum of the two mirror nodes at ±t; a node that has reached its end in floating point is
  // dropped (the mass beyond it is below the resolution of x there); NaN once both have.
  const pair = (t: number): number => {
    const u = HALF_PI * Math.sinh(t)
    const e = Math.exp(-2 * u)
    const d = (2 * half * e) / (1 + e) // half·(1 − tanh u), the distance from each end
    const cu = Math.cosh(u)
    const w = (half * HALF_PI * Math.cosh(t)) / (cu * cu)
    const lo = a + d
    const hi = b - d
    const loOk = w > 0 && lo !== a
    const hiOk = w > 0 && hi !== b
    if (!loOk && !hiOk) return Number.NaN
    return w * ((loOk ? f(lo) : 0) + (hiOk ? f(hi) : 0))
  }
  const nodes = (start: number, step: number): number => {
    let s = 0
    for (let k = 0; ; k++) {
      const t = start + k * step
      if (t > 7) break
      const v = pair(t)
      if (v !== v) break
      s += v
    }
    return s
  }
  let h = 0.5
  let sum = HALF_PI * half * f(a + half) + nodes(h, h)
  let estimate = sum * h
  for (let level = 1; level <= 12; level++) {
    h /= 2
    sum += nodes(h, 2 * h)
    const next = sum * h
    if (level >= 3 && Math.abs(next - estimate) <= tol * Math.abs(next)) return next
    estimate = next
  }
  return estimate
}

/** ∫_a^∞ f(x) dx by x = a + s·t/(1 − t), t ∈ (0, 1), dx = s/(1 − t)² dt. */
export const integrateToInfinity = (f: (x: number) => number, a: number, s: number, tol = 1e-10): number =>
  integrate(
    (t) => {
      const om = 1 - t
      if (!(om > 0)) return 0
      const fx = f(a + (s * t) / om)
      return fx === 0 ? 0 : (fx * s) / (om * om)
    },
    0,
    1,
    tol
  )

/** ∫_−∞^∞ f(x) dx, split at `center`, each half mapped to (0, 1) with scale `s`. */
export const integrateReal = (f: (x: number) => number, center: number, s: number, tol = 1e-10): number =>
  integrateToInfinity(f, center, s, tol) + integrateToInfinity((y) => f(2 * center - y), center, s, tol)

/** Sample mean, variance (n − 1 denominator) and fourth central moment. */
export const moments = (xs: ArrayLike<number>): { mean: number; variance: number; m4: number; n: number } => {
  const n = xs.length
  let s = 0
  for (let i = 0; i < n; i++) s += xs[i]
  const mean = s / n
  let s2 = 0
  let s4 = 0
  for (let i = 0; i < n; i++) {
    const d = xs[i] - mean
    const d2 = d * d
    s2 += d2
    s4 += d2 * d2
  }
  return { mean, variance: s2 / (n - 1), m4: s4 / n, n }
}

/**
 * Standard errors for the moment checks: SE(mean) = √(σ²/n) from the true variance, and
 * SE(sample variance) = √((m4 − s⁴)/n), the delta-method standard error estimated from the
 * sample's own fourth central moment.
 */
export const momentErrors = (xs: ArrayLike<number>, trueVariance: number) => {
  const m = moments(xs)
  return {
    ...m,
    seMean: Math.sqrt(trueVariance / m.n),
    seVariance: Math.sqrt(Math.max(m.m4 - m.variance * m.variance, 0) / m.n)
  }
}

/** Q_KS(λ) = 2 Σ_{j≥1} (−1)^(j−1) e^(−2j²λ²), the Kolmogorov distribution's upper tail. */
const kolmogorovTail = (lambda: number): number => {
  if (lambda < 0.2) return 1
  let s = 0
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda)
    s += j % 2 === 1 ? term : -term
    if (term < 1e-18) break
  }
  return Math.min(1, Math.max(0, 2 * s))
}

/**
 * The Kolmogorov–Smirnov critical value for n draws at false-alarm rate `alpha`:
 * D_crit = λ_α / (√n + 0.12 + 0.11/√n), Q_KS(λ_α) = α (Stephens 1970, Numerical Recipes §14.3).
 */
export const ksCritical = (n: number, alpha: number): number => {
  let lo = 0.2
  let hi = 5
  for (let i = 0; i < 100; i++) {
    const mid = 0.5 * (lo + hi)
    if (kolmogorovTail(mid) > alpha) lo = mid
    else hi = mid
  }
  const sn = Math.sqrt(n)
  return (0.5 * (lo + hi)) / (sn + 0.12 + 0.11 / sn)
}

/** The KS statistic sup |F_n − F| of the draws against a continuous CDF. */
export const ksStatistic = (draws: ArrayLike<number>, cdf: (x: number) => number): number => {
  const xs = Float64Array.from(draws).sort()
  const n = xs.length
  let d = 0
  for (let i = 0; i < n; i++) {
    const f = cdf(xs[i])
    d = Math.max(d, f - i / n, (i + 1) / n - f)
  }
  return d
}

/** The (1 − alpha) quantile of χ²(df), by bisection on the regularised upper incomplete gamma. */
export const chiSquareCritical = (df: number, alpha: number): number => {
  let lo = 0
  let hi = df + 20 * Math.sqrt(2 * df) + 100
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi)
    if (gammainc(mid / 2, df / 2, true, true) > alpha) lo = mid
    else hi = mid
  }
  return 0.5 * (lo + hi)
}

/**
 * Pearson's chi-square statistic for integer draws against a mass function on
 * {lower, …, upper} (upper may be ∞). Consecutive values are pooled into bins with expected
 * count ≥ 5; the last bin takes the whole remaining tail, with expected count n·(1 − mass so far).
 */
export const chiSquare = (
  draws: ArrayLike<number>,
  pmf: (k: number) => number,
  lower: number,
  upper: number
): { statistic: number; df: number; bins: number } => {
  const n = draws.length
  const counts = new Map<number, number>()
  for (let i = 0; i < n; i++) counts.set(draws[i], (counts.get(draws[i]) ?? 0) + 1)
  const bins: Array<{ lo: number; hi: number; expected: number }> = []
  let cum = 0
  let lo = lower
  let expected = 0
  for (let k = lower; k <= upper; k++) {
    const p = pmf(k)
    cum += p
    expected += n * p
    const remaining = n * (1 - cum)
    if (remaining < 5) {
      bins.push({ lo, hi: upper, expected: expected + Math.max(remaining, 0) })
      break
    }
    if (expected >= 5) {
      bins.push({ lo, hi: k, expected })
      lo = k + 1
      expected = 0
    }
  }
  let statistic = 0
  for (const bin of bins) {
    let observed = 0
    for (const [k, c] of counts) if (k >= bin.lo && k <= bin.hi) observed += c
    statistic += ((observed - bin.expected) * (observed - bin.expected)) / bin.expected
  }
  // Draws outside every bin (outside the support) make the statistic infinite.
  let covered = 0
  for (const [k, c] of counts) if (bins.some((bin) => k >= bin.lo && k <= bin.hi)) covered += c
  if (covered !== n) statistic = Infinity
  return { statistic, df: bins.length - 1, bins: bins.length }
}
