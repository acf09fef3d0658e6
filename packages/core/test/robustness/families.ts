/**
 * The distribution families as the robustness suite sees them, written independently of the
 * implementation: for each, an arbitrary of valid parameters with the extremes of the double range
 * (2^-1074, subnormals, 1e-300 … 1e300, MAX_VALUE), the support (what `logProb` must score −∞
 * outside), values near where the mass is, and an upper bound on |log density| at a point of the
 * support, from the textbook formula with every term taken in absolute value (and the deviance
 * bd0(x, m) = x log(x/m) + m − x bounded by (x − m)²/m, with slack for the rounding of m). Where
 * that bound is below 1e307 the true log density is a finite double, so `logProb` must be finite
 * there; where it is not, only "not NaN, not +∞" is required (e.g. Normal(0, 1e-300) at 1, whose
 * true log density −5e599 is no double).
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import fc from "fast-check"
import type { Distribution } from "../../src/Distribution.ts"
import * as F from "../../src/distributions/index.ts"
import * as Rng from "../../src/Rng.ts"

/** Where the bound must stay for a log density to count as provably finite. */
export const FINITE_BOUND = 1e307

const L = Math.log
const A = Math.abs
const MAX = Number.MAX_VALUE
const MIN = Number.MIN_VALUE

/** Special positive values: the ends of the range, subnormals, 1 ± ulp and ordinary shapes. */
const SPECIAL_POSITIVE = [
  MIN, 4e-323, 1e-320, 1e-310, 2.2250738585072014e-308, 1e-300, 1e-100, 1e-10, 1e-3, 0.01, 0.1, 0.5,
  1 - 2 ** -53, 1, 1 + 2 ** -52, 1.5, 2, 2.5, 3, 10, 1e3, 1e8, 2 ** 53, 1e100, 1e300, 1e308, MAX
]

/** A finite positive double: special values, log-uniform over the whole range, and any double. */
export const positive: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(...SPECIAL_POSITIVE),
  fc.double({ min: -323.3, max: 308.25, noNaN: true }).map((e) => 10 ** e).filter((x) => x > 0 && x < Infinity),
  fc.double({ min: MIN, max: MAX, noNaN: true })
)
/** A finite real: 0, ± a positive. */
export const real: fc.Arbitrary<number> = fc.oneof(fc.constant(0), positive, positive.map((x) => -x))
/** A probability in [0, 1], ends and near-ends included. */
const probability: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 0.5, MIN, 1e-310, 1e-300, 2 ** -53, 1 - 2 ** -53, 0.3),
  positive.filter((x) => x <= 1),
  positive.filter((x) => x <= 1).map((x) => 1 - x),
  fc.double({ min: 0, max: 1, noNaN: true })
)
/** A probability in (0, 1]. */
const probabilityPositive = probability.filter((p) => p > 0)
/** A count 0 … 2^53 − 1. */
const count: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 2, 10, 1e6, 1e15, 2 ** 53 - 1),
  fc.integer({ min: 0, max: 60 }),
  fc.double({ min: 0, max: 15.95, noNaN: true }).map((e) => Math.floor(10 ** e))
)
/** Non-negative weights, not all zero, extremes included. */
const weights = (minLength: number): fc.Arbitrary<Array<number>> =>
  fc.array(fc.oneof(fc.constant(0), positive), { minLength, maxLength: 4 }).filter((w) => w.some((v) => v > 0))

/** A value drawn from the distribution itself (clamped draws included). */
const drawn = (d: Distribution<unknown>): fc.Arbitrary<unknown> => fc.integer().map((seed) => d.sample(Rng.make(seed)))

/**
 * An upper bound on bd0(x, m) = x log(x/m) + m − x for x ≥ 0, m > 0 computed in doubles: the
 * smaller of (x − m)²/m (from log t ≤ t − 1) and x|log x − log m| + x + m, with the difference
 * widened by 1e-15·(x + m) for the rounding of m by the caller.
 */
export const bd0Bound = (x: number, m: number): number => {
  if (!(m > 0 && m < Infinity)) return Infinity
  if (x === 0) return m
  const d = A(x - m) + 1e-15 * (0.5 * x + 0.5 * m) * 2
  const quadratic = (d / m) * d
  const direct = x * A(L(x) - L(m)) + x + m
  return Math.min(quadratic, direct)
}

/** log|a − b|, also where a − b overflows. */
const logAbsDiff = (a: number, b: number): number => {
  const d = A(a - b)
  return d < Infinity ? L(d) : L(A(0.5 * a - 0.5 * b)) + Math.LN2
}

/**
 * |log Gamma(a, rate) density at x| ≤ 1.5|log a| + |log x| + 3 + bd0(a, rate·x), from Loader's
 * identity log f = log a − log x − stirlerr(a) − ½ log(2πa) − bd0(a, rate·x) with
 * |stirlerr(a) + ½ log(2πa)| ≤ ½|log a| + 3 (stirlerr(a) = log Γ(a+1) − (a+½) log a + a − ½ log 2π).
 */
const gammaBound = (a: number, rate: number, x: number): number => 1.5 * A(L(a)) + A(L(x)) + 3 + bd0Bound(a, rate * x)

/** The same for a mean λ = u/w given as a quotient (InverseGamma: log f = log α − log x + log dpois(α, β/x)). */
const gammaBoundQuotient = (a: number, u: number, w: number, x: number): number => 1.5 * A(L(a)) + A(L(x)) + 3 + bd0Bound(a, u / w)

/**
 * |log of the binomial kernel Γ(n+1)/(Γ(x+1)Γ(y+1)) p^x q^y|, n = x + y, x, y > 0, from Loader's
 * form: stirlerr terms (each ≤ ½|log ·| + 3) + ½|log(n/(2π x y))| + bd0(x, n·p) + bd0(y, n·q).
 */
const binomialKernelBound = (x: number, y: number, p: number, q: number): number => {
  const n = x + y
  const stir = 3 * (A(L(n)) + A(L(x)) + A(L(y))) + 12
  return stir + bd0Bound(x, n * p) + bd0Bound(y, n * q)
}

const isNumber = (x: unknown): x is number => typeof x === "number"
const isVector = (x: unknown): x is Float64Array => x instanceof Float64Array

/** One family: parameters, support, bound and the values to try. */
export interface Family {
  readonly name: string
  readonly discrete: boolean
  /** Valid parameter tuples, extremes included. */
  readonly params: fc.Arbitrary<ReadonlyArray<any>>
  readonly make: (p: ReadonlyArray<any>) => Distribution<any>
  /** Whether x is in the support (its closure for continuous families): elsewhere logProb must be −∞. */
  readonly inSupport: (p: ReadonlyArray<any>, x: unknown) => boolean
  /** An upper bound on |log density| at an in-support x (Infinity where none is cheap). */
  readonly bound: (p: ReadonlyArray<any>, x: any) => number
  /** Values near where the mass is. */
  readonly near: (p: ReadonlyArray<any>, d: Distribution<any>) => fc.Arbitrary<unknown>
}

/** loc + scale·t for moderate t, when representable. */
const locScaleValues = (loc: number, scale: number): fc.Arbitrary<unknown> =>
  fc.oneof(fc.constantFrom(-1e3, -3, -1, -1e-8, 0, 1e-8, 1, 3, 1e3), fc.double({ min: -1e100, max: 1e100, noNaN: true })).map((t) => loc + scale * t)

const positiveScaleValues = (scale: number): fc.Arbitrary<unknown> =>
  fc.oneof(fc.constantFrom(1e-300, 1e-10, 0.01, 0.5, 1, 1 + 1e-12, 2, 10, 1e3), positive).map((t) => scale * t)

const realFamily = (
  name: string,
  params: fc.Arbitrary<ReadonlyArray<any>>,
  make: (p: ReadonlyArray<any>) => Distribution<any>,
  bound: (p: ReadonlyArray<any>, x: number) => number,
  near: (p: ReadonlyArray<any>) => fc.Arbitrary<unknown>
): Family => ({
  name,
  discrete: false,
  params,
  make,
  inSupport: (_p, x) => isNumber(x) && Number.isFinite(x),
  bound,
  near: (p, d) => fc.oneof(near(p), drawn(d))
})

const positiveFamily = (
  name: string,
  params: fc.Arbitrary<ReadonlyArray<any>>,
  make: (p: ReadonlyArray<any>) => Distribution<any>,
  bound: (p: ReadonlyArray<any>, x: number) => number,
  near: (p: ReadonlyArray<any>) => fc.Arbitrary<unknown>
): Family => ({
  name,
  discrete: false,
  params,
  make,
  // The closure [0, ∞): at 0 logProb may be −∞ (a vanishing density) or finite, never NaN or +∞.
  inSupport: (_p, x) => isNumber(x) && x >= 0 && x < Infinity,
  bound: (p, x) => (x > 0 ? bound(p, x) : Infinity),
  near: (p, d) => fc.oneof(near(p), drawn(d))
})

const integerFamily = (
  name: string,
  params: fc.Arbitrary<ReadonlyArray<any>>,
  make: (p: ReadonlyArray<any>) => Distribution<any>,
  inSupport: (p: ReadonlyArray<any>, k: number) => boolean,
  bound: (p: ReadonlyArray<any>, k: number) => number,
  near: (p: ReadonlyArray<any>) => fc.Arbitrary<unknown>
): Family => ({
  name,
  discrete: true,
  params,
  make,
  inSupport: (p, x) => isNumber(x) && Number.isInteger(x) && inSupport(p, x),
  bound,
  near: (p, d) => fc.oneof(near(p), drawn(d), fc.integer({ min: -2, max: 40 }))
})

const orderedPair = fc.tuple(real, real).filter(([a, b]) => a !== b && Number.isFinite(Math.max(a, b) - Math.min(a, b))).map(([a, b]) => [Math.min(a, b), Math.max(a, b)])

export const families: ReadonlyArray<Family> = [
  realFamily("Normal", fc.tuple(real, positive), ([mu, s]) => F.Normal(mu, s), ([mu, s], x) => A(L(s)) + 1 + 0.5 * ((x - mu) / s) ** 2, ([mu, s]) => locScaleValues(mu, s)),
  positiveFamily(
    "LogNormal",
    fc.tuple(real, positive),
    ([mu, s]) => F.LogNormal(mu, s),
    ([mu, s], x) => {
      // log x is rounded: widen |log x − mu| by its possible error before dividing by σ.
      const lx = L(x)
      const e = A(lx - mu) + 4e-16 * (A(lx) + A(mu) + 1)
      return A(lx) + A(L(s)) + 1 + 0.5 * (e / s) ** 2
    },
    ([mu, s]) => locScaleValues(mu, s).map((t) => Math.exp(t as number))
  ),
  {
    name: "Uniform",
    discrete: false,
    params: orderedPair,
    make: ([a, b]) => F.Uniform(a, b),
    inSupport: ([a, b], x) => isNumber(x) && x >= a && x <= b,
    bound: ([a, b]) => A(L(b - a)) + 1,
    near: ([a, b], d) => fc.oneof(fc.constantFrom(a, b, 0.5 * a + 0.5 * b), drawn(d))
  },
  positiveFamily("Exponential", fc.tuple(positive), ([r]) => F.Exponential(r), ([r], x) => A(L(r)) + r * x, ([r]) => positiveScaleValues(1 / r)),
  positiveFamily("Gamma", fc.tuple(positive, positive), ([a, r]) => F.Gamma(a, r), ([a, r], x) => gammaBound(a, r, x), ([a, r]) => positiveScaleValues(a / r)),
  {
    name: "Beta",
    discrete: false,
    params: fc.tuple(positive, positive),
    make: ([a, b]) => F.Beta(a, b),
    inSupport: (_p, x) => isNumber(x) && x >= 0 && x <= 1,
    bound: ([a, b], x) => {
      if (!(x > 0 && x < 1)) return Infinity
      if (a <= 2 || b <= 2) {
        // |log B(a, b)| ≤ 1500 + 2|log a| + 2|log b| when a shape is at most 2.
        return A(a - 1) * A(L(x)) + A(b - 1) * A(Math.log1p(-x)) + 1500 + 2 * A(L(a)) + 2 * A(L(b))
      }
      // log(a + b − 1) + the binomial kernel at (a − 1, b − 1) with p = x.
      return A(L(a + b)) + 1 + binomialKernelBound(a - 1, b - 1, x, 1 - x)
    },
    near: ([a, b], d) =>
      fc.oneof(
        fc.constantFrom(a / (a + b), 0.5, 1e-300, 1 - 1e-15, MIN, 1 - 2 ** -53),
        fc.double({ min: 0, max: 1, noNaN: true }),
        drawn(d)
      )
  },
  {
    name: "Bernoulli",
    discrete: true,
    params: fc.tuple(probability),
    make: ([p]) => F.Bernoulli(p),
    inSupport: ([p], x) => (x === true && p > 0) || (x === false && p < 1),
    bound: ([p], x) => (x ? A(L(p)) : A(Math.log1p(-p))),
    near: (_p, d) => fc.oneof(fc.boolean(), drawn(d))
  },
  integerFamily(
    "Binomial",
    fc.tuple(count, probability),
    ([n, p]) => F.Binomial(n, p),
    ([n, p], k) => (p === 0 ? k === 0 : p === 1 ? k === n : k >= 0 && k <= n),
    ([n, p], k) => (k === 0 ? n * A(Math.log1p(-p)) : k === n ? n * A(L(p)) : binomialKernelBound(k, n - k, p, 1 - p)),
    ([n, p]) => fc.constantFrom(0, n, Math.round(n * p), Math.floor(n / 2), n - 1)
  ),
  {
    name: "Categorical",
    discrete: true,
    params: fc.tuple(weights(1)),
    make: ([w]) => F.Categorical(w),
    inSupport: ([w], x) => isNumber(x) && Number.isInteger(x) && x >= 0 && x < w.length && w[x] > 0,
    // log(w_k / Σw) with Σw ≤ K·max: at most |log w_k| + |log max| + log K + 1.
    bound: ([w], k) => A(L(w[k])) + A(L(Math.max(...w))) + L(w.length) + 1,
    near: ([w], d) => fc.oneof(fc.integer({ min: -1, max: w.length }), drawn(d))
  },
  integerFamily(
    "Poisson",
    fc.tuple(fc.oneof(fc.constant(0), positive)),
    ([r]) => F.Poisson(r),
    ([r], k) => (r === 0 ? k === 0 : k >= 0),
    ([r], k) => (k === 0 ? r : 2 * A(L(k)) + 4 + bd0Bound(k, r)),
    ([r]) => fc.constantFrom(0, 1, Math.round(r), Math.floor(r), Math.ceil(r + Math.sqrt(r)))
  ),
  {
    name: "BernoulliLogit",
    discrete: true,
    params: fc.tuple(real),
    make: ([eta]) => F.BernoulliLogit(eta),
    inSupport: (_p, x) => x === true || x === false,
    // |log σ(±η)| = softplus(∓η) ≤ |η| + log 2
    bound: ([eta]) => A(eta) + 1,
    near: (_p, d) => fc.oneof(fc.boolean(), drawn(d))
  },
  integerFamily(
    "BinomialLogit",
    fc.tuple(count, real),
    ([n, eta]) => F.BinomialLogit(n, eta),
    ([n], k) => k >= 0 && k <= n,
    // log C(n, k) ≤ n log 2, and each of the n log σ(±η) terms is at most |η| + log 2
    ([n, eta]) => n * (A(eta) + 2) + 1,
    ([n]) => fc.constantFrom(0, n, Math.floor(n / 2), n - 1)
  ),
  integerFamily(
    "PoissonLog",
    fc.tuple(real),
    ([eta]) => F.PoissonLog(eta),
    (_p, k) => k >= 0,
    // |kη − e^η − log k!| ≤ k|η| + e^η + k(|log k| + 1) + 1
    ([eta], k) => k * A(eta) + Math.exp(eta) + k * (A(L(Math.max(k, 1))) + 1) + 1,
    ([eta]) => fc.constantFrom(0, 1, Math.min(Math.round(Math.exp(eta)), 2 ** 53))
  ),
  realFamily(
    "Cauchy",
    fc.tuple(real, positive),
    ([loc, s]) => F.Cauchy(loc, s),
    ([loc, s], x) => 2 + A(L(s)) + (x === loc ? 0 : 2 * A(logAbsDiff(x, loc) - L(s)) + 1),
    ([loc, s]) => locScaleValues(loc, s)
  ),
  positiveFamily("HalfCauchy", fc.tuple(positive), ([s]) => F.HalfCauchy(s), ([s], x) => 2 + A(L(s)) + 2 * A(L(x) - L(s)) + 1, ([s]) => positiveScaleValues(s)),
  positiveFamily("HalfNormal", fc.tuple(positive), ([s]) => F.HalfNormal(s), ([s], x) => A(L(s)) + 2 + 0.5 * (x / s) ** 2, ([s]) => positiveScaleValues(s)),
  realFamily(
    "StudentT",
    fc.tuple(positive, real, positive),
    ([v, loc, s]) => F.StudentT(v, loc, s),
    ([v, loc, s], x) => {
      // |log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ)| ≤ 1.5|log ν| + 400; log1p(w²) ≤ w² or 2 log|w| + 1.
      if (x === loc) return 1000 + 1.5 * A(L(v)) + A(L(s))
      const lw = logAbsDiff(x, loc) - L(s) - 0.5 * L(v)
      const kernel = lw < 0 ? Math.exp(2 * lw) : 2 * lw + 1
      return 1000 + 1.5 * A(L(v)) + A(L(s)) + 0.5 * (v + 1) * kernel
    },
    ([, loc, s]) => locScaleValues(loc, s)
  ),
  realFamily("Laplace", fc.tuple(real, positive), ([loc, s]) => F.Laplace(loc, s), ([loc, s], x) => A(L(s)) + 1 + A(x - loc) / s, ([loc, s]) => locScaleValues(loc, s)),
  positiveFamily(
    "Weibull",
    fc.tuple(positive, positive),
    ([k, s]) => F.Weibull(k, s),
    ([k, s], x) => {
      const lz = L(x) - L(s)
      const slack = 4e-16 * (A(L(x)) + A(L(s)) + 1)
      return A(L(k)) + A(L(s)) + A(k - 1) * (A(lz) + slack) + Math.exp(k * (lz + slack))
    },
    ([, s]) => positiveScaleValues(s)
  ),
  positiveFamily(
    "ChiSquared",
    fc.tuple(positive),
    ([v]) => F.ChiSquared(v),
    // Gamma(ν/2, ½); ν/2 underflows to 0 at ν = 2^-1074, where log f ≈ log(ν/2) − log x − x/2.
    ([v], x) => (0.5 * v > 0 ? gammaBound(0.5 * v, 0.5, x) : A(L(v)) + 2 + A(L(x)) + x),
    ([v]) => positiveScaleValues(v)
  ),
  positiveFamily("InverseGamma", fc.tuple(positive, positive), ([a, b]) => F.InverseGamma(a, b), ([a, b], x) => gammaBoundQuotient(a, b, x, x), ([a, b]) => positiveScaleValues(b / a)),
  integerFamily(
    "DiscreteUniform",
    fc.tuple(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.integer({ min: 0, max: 2 ** 52 })).map(([a, w]) => [a, a + w]),
    ([a, b]) => F.DiscreteUniform(a, b),
    ([a, b], k) => k >= a && k <= b,
    ([a, b]) => L(b - a + 1) + 1,
    ([a, b]) => fc.constantFrom(a, b, a - 1, b + 1, Math.floor(0.5 * a + 0.5 * b))
  ),
  integerFamily(
    "Geometric",
    fc.tuple(probabilityPositive),
    ([p]) => F.Geometric(p),
    ([p], k) => (p === 1 ? k === 0 : k >= 0),
    ([p], k) => A(L(p)) + k * A(Math.log1p(-p)),
    ([p]) => fc.constantFrom(0, 1, Math.floor(1 / p), MAX)
  ),
  integerFamily(
    "NegativeBinomial",
    fc.tuple(positive, probabilityPositive),
    ([r, p]) => F.NegativeBinomial(r, p),
    ([, p], k) => (p === 1 ? k === 0 : k >= 0),
    ([r, p], k) => {
      if (k === 0) return r * A(L(p))
      // log(r/(r + k)) + the binomial kernel at (r, k) with success probability p.
      return A(L(r)) + A(L(r + k)) + 1 + binomialKernelBound(r, k, p, 1 - p)
    },
    ([r, p]) => fc.constantFrom(0, 1, 6, Math.floor((r * (1 - p)) / p), MAX)
  ),
  {
    name: "Dirichlet",
    discrete: false,
    params: fc.tuple(fc.array(positive, { minLength: 2, maxLength: 4 }).filter((a) => a.reduce((s, v) => s + v, 0) < Infinity)),
    make: ([a]) => F.Dirichlet(a),
    inSupport: ([a], x) => {
      if (!isVector(x) || x.length !== a.length) return false
      let s = 0
      for (const v of x) {
        if (!(v >= 0 && v <= 1)) return false
        s += v
      }
      return A(s - 1) <= 1e-9
    },
    // log Γ(Σα) − Σ log Γ(α_i) + Σ (α_i − 1) log x_i, term by term (finite only for moderate α).
    bound: ([a], x) => {
      if (x.some((v: number) => v === 0)) return Infinity
      let b = A(gammaln(a.reduce((s: number, v: number) => s + v, 0)))
      for (let i = 0; i < a.length; i++) b += A(gammaln(a[i])) + A(a[i] - 1) * A(L(x[i]))
      return b
    },
    near: ([a], d) =>
      fc.oneof(
        drawn(d),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: a.length, maxLength: a.length }).map((xs) => {
          const s = xs.reduce((t, v) => t + v, 0)
          return Float64Array.from(s > 0 ? xs.map((v) => v / s) : xs)
        }),
        fc.integer({ min: 0, max: a.length - 1 }).map((i) => Float64Array.from(a, (_: number, j: number) => (j === i ? 1 : 0)))
      )
  },
  {
    name: "Multinomial",
    discrete: true,
    params: fc.tuple(count, weights(1)),
    make: ([n, w]) => F.Multinomial(n, w),
    inSupport: ([n, w], x) => {
      if (!isVector(x) || x.length !== w.length) return false
      let s = 0
      for (let i = 0; i < x.length; i++) {
        if (!(Number.isInteger(x[i]) && x[i] >= 0) || (x[i] > 0 && w[i] === 0)) return false
        s += x[i]
      }
      return s === n
    },
    // Σ x_i |log p_i| + log n! ≤ n·(2·1500 + log K + 40): finite for every n ≤ 2^53.
    bound: ([n]) => n * 3100 + 10,
    near: ([n, w], d) =>
      fc.oneof(
        drawn(d),
        fc.integer({ min: 0, max: w.length - 1 }).map((i) => Float64Array.from(w, (_: number, j: number) => (j === i ? n : 0)))
      )
  },
  {
    name: "MultivariateNormal",
    discrete: false,
    // A diagonal covariance with extreme variances, or a correlated 2×2 one.
    params: fc.oneof(
      fc.array(real, { minLength: 1, maxLength: 3 }).chain((mu) =>
        fc.array(positive, { minLength: mu.length, maxLength: mu.length }).map((vs) => [mu, vs.map((v, i) => vs.map((_, j) => (i === j ? v : 0)))])
      ),
      fc.tuple(real, real, fc.double({ min: -0.99, max: 0.99, noNaN: true })).map(([m0, m1, r]) => [[m0, m1], [[1, r], [r, 1]]])
    ),
    make: ([mu, cov]) => F.MultivariateNormal(mu, cov),
    inSupport: ([mu], x) => isVector(x) && x.length === mu.length && x.every((v) => Number.isFinite(v)),
    bound: ([mu, cov], x) => {
      // Only the diagonal case has a cheap bound: Σ |log σ_i| + 1 + ½ z_i².
      if (cov.some((row: Array<number>, i: number) => row.some((v, j) => i !== j && v !== 0))) return Infinity
      let b = 0
      for (let i = 0; i < mu.length; i++) b += A(0.5 * L(cov[i][i])) + 1 + 0.5 * (x[i] - mu[i]) ** 2 / cov[i][i]
      return b
    },
    near: ([mu], d) => fc.oneof(drawn(d), fc.constant(Float64Array.from(mu)))
  }
]

/** Values of every kind a caller might pass by mistake: `logProb` must give −∞, never throw. */
export const wrongTyped: ReadonlyArray<unknown> = [
  "1", "", "0.5", undefined, null, true, false, {}, Object.create(null), [], [1], [0.5, 0.5], 1n, 0n, Symbol("x"),
  () => 1, new Date(0), new Float32Array(2), new Float64Array(0), new Map(), Number.NaN
]

/** Any value at all, for `logProb`: wrong types, every double, integers, and the family's own values. */
export const anyValue = (family: Family, p: ReadonlyArray<any>, d: Distribution<any>): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...wrongTyped), weight: 1 },
    { arbitrary: fc.anything(), weight: 1 },
    { arbitrary: fc.double(), weight: 2 },
    { arbitrary: fc.constantFrom(0, -0, 1, -1, MIN, -MIN, MAX, -MAX, Infinity, -Infinity, Number.NaN, 1 - 2 ** -53, 2 ** 53), weight: 1 },
    { arbitrary: fc.array(fc.double(), { maxLength: 4 }).map((xs) => Float64Array.from(xs)), weight: 1 },
    { arbitrary: family.near(p, d), weight: 4 }
  )
