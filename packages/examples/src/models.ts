/**
 * The example models used by the demo, the docs, the tests and the benchmarks.
 *
 * @since 0.1.0
 */
import { Ad, addr, Gamma, Normal, observe, sample, type Model } from "@fugue/core"

/**
 * The seed's data: x = 1..5, y roughly 2x.
 *
 * @category models
 * @since 0.1.0
 */
export const seedData = { xs: [1, 2, 3, 4, 5], ys: [2.1, 4.2, 5.8, 8.1, 10.3] } as const

/**
 * Bayesian linear regression: slope ~ N(0, 2), intercept ~ N(0, 1), noise ~ Gamma(2, 1),
 * y_i ~ N(slope·x_i + intercept, √noise).
 *
 * @example
 * const [fit, trace] = run(new PriorHandler(Rng.make(42)), linearRegression(seedData.xs, seedData.ys))
 *
 * @category models
 * @since 0.1.0
 */
export const linearRegression = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<{ slope: number; intercept: number; noise: number }> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Math.sqrt(noise)
    for (let i = 0; i < xs.length; i++) {
      yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, sd), ys[i])
    }
    return { slope, intercept, noise }
  }

/**
 * The same regression with its arithmetic on latent values written with `Ad`, so `LogDensity`
 * compiles its gradient and `Nuts` can sample it; in an ordinary run it computes plain numbers.
 *
 * @example
 * const post = Nuts.runUnsafe(linearRegressionAd(seedData.xs, seedData.ys), { samples: 1000, chains: 4 })
 *
 * @category models
 * @since 0.2.0
 */
export const linearRegressionAd = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<{ slope: Ad.Real; intercept: Ad.Real; noise: Ad.Real }> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Ad.sqrt(noise)
    for (let i = 0; i < xs.length; i++) {
      yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), sd), ys[i]!)
    }
    return { slope, intercept, noise }
  }

/**
 * A posterior mean and standard deviation.
 *
 * @category models
 * @since 0.2.0
 */
export interface Moments {
  readonly mean: number
  readonly sd: number
}

/**
 * The exact posterior moments of `linearRegression` by one-dimensional quadrature over the noise
 * variance v: given v the coefficients β = (slope, intercept) are conjugate, β | v, y ~ N(m(v), Λ(v)⁻¹)
 * with Λ = S₀⁻¹ + XᵀX / v and m = Λ⁻¹ Xᵀy / v (S₀ = diag(2², 1²), X = [x 1]); and
 * p(v | y) ∝ Gamma(v; 2, 1) · p(y | v), where by Bayes' identity at β = m,
 * log p(y | v) = log N(y; Xm, vI) + log N(m; 0, S₀) − log N(m; m, Λ⁻¹). The moments of β follow from
 * the laws of total expectation and variance. Trapezoid rule in t = log v over [−20, 10] with 20 000
 * points: the integrand is smooth and negligible outside, so the error is far below 1e-8.
 *
 * @example
 * linearRegressionExact(seedData.xs, seedData.ys).slope.mean // ≈ 2.02
 *
 * @category constructors
 * @since 0.2.0
 */
export const linearRegressionExact = (
  xs: ReadonlyArray<number>,
  ys: ReadonlyArray<number>
): { readonly slope: Moments; readonly intercept: Moments; readonly noise: Moments } => {
  const n = xs.length
  let sxx = 0, sx = 0, sxy = 0, sy = 0
  for (let i = 0; i < n; i++) {
    sxx += xs[i]! * xs[i]!
    sx += xs[i]!
    sxy += xs[i]! * ys[i]!
    sy += ys[i]!
  }
  const s0 = [4, 1] // prior variances of slope and intercept
  const T = 20_000, lo = -20, hi = 10, h = (hi - lo) / (T - 1)
  const logW: Array<number> = [], rows: Array<[number, number, number, number, number, number]> = []
  for (let k = 0; k < T; k++) {
    const t = lo + k * h, v = Math.exp(t)
    // Λ = S₀⁻¹ + XᵀX / v, a 2×2 [[a, b], [b, c]]
    const a = 1 / s0[0]! + sxx / v, b = sx / v, c = 1 / s0[1]! + n / v
    const det = a * c - b * b
    const r0 = sxy / v, r1 = sy / v
    const m0 = (c * r0 - b * r1) / det, m1 = (a * r1 - b * r0) / det
    let rss = 0
    for (let i = 0; i < n; i++) rss += (ys[i]! - m0 * xs[i]! - m1) ** 2
    const logLik = -0.5 * n * Math.log(2 * Math.PI * v) - rss / (2 * v)
    const logPriorAtM = -Math.log(2 * Math.PI) - 0.5 * Math.log(s0[0]! * s0[1]!) - 0.5 * (m0 * m0 / s0[0]! + m1 * m1 / s0[1]!)
    const logPostAtM = -Math.log(2 * Math.PI) + 0.5 * Math.log(det)
    const logEvidence = logLik + logPriorAtM - logPostAtM
    // Gamma(2, 1) density of v, times dv/dt = v
    logW.push(Math.log(v) - v + logEvidence + t)
    rows.push([v, m0, m1, c / det, a / det, v * v])
  }
  const top = Math.max(...logW)
  let z = 0
  const acc = [0, 0, 0, 0, 0, 0, 0]
  for (let k = 0; k < T; k++) {
    const w = Math.exp(logW[k]! - top) * (k === 0 || k === T - 1 ? 0.5 : 1)
    const [v, m0, m1, var0, var1, v2] = rows[k]!
    z += w
    acc[0] += w * v
    acc[1] += w * v2
    acc[2] += w * m0
    acc[3] += w * (var0 + m0 * m0)
    acc[4] += w * m1
    acc[5] += w * (var1 + m1 * m1)
  }
  const moments = (first: number, second: number): Moments => {
    const mean = first / z
    return { mean, sd: Math.sqrt(second / z - mean * mean) }
  }
  return { slope: moments(acc[2]!, acc[3]!), intercept: moments(acc[4]!, acc[5]!), noise: moments(acc[0]!, acc[1]!) }
}
