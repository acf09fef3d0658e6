/**
 * The benchmark models, written three ways: as Fugue models (what we measure), as hand-written
 * JavaScript (the physical limit: the same draws from the same `Rng` and the same samplers,
 * with the log densities inlined, no framework), and, in `webppl.ts`, as WebPPL programs. The
 * data sets are in `benchmarks/data/`: the random-walk observations were generated once by
 * `generateData.ts` from a fixed seed; eight schools is posteriordb's.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Ad, addr, Gamma, HalfCauchy, Normal, observe, sample, type Model, type Rng } from "@fugue/core"
import { packageRoot } from "./report.ts"

/**
 * log(2π)/2, the normal density's constant.
 *
 * @example
 * const logNorm = -Math.log(sigma) - HALF_LOG_2PI
 *
 * @category numerics
 * @since 0.1.0
 */
export const HALF_LOG_2PI = 0.9189385332046728
const LOG_2 = Math.LN2
const LOG_PI = Math.log(Math.PI)

// ---------------------------------------------------------------------------------------------
// (a) The seed's linear regression
// ---------------------------------------------------------------------------------------------

/**
 * The seed's data: x = 1..5, y roughly 2x.
 *
 * @example
 * regressionData.xs // [1, 2, 3, 4, 5]
 *
 * @category models
 * @since 0.1.0
 */
export const regressionData = { xs: [1, 2, 3, 4, 5], ys: [2.1, 4.2, 5.8, 8.1, 10.3] } as const

/**
 * slope ~ N(0, 2), intercept ~ N(0, 1), noise ~ Gamma(2, 1), y_i ~ N(slope·x_i + intercept, √noise).
 *
 * @example
 * run(new PriorHandler(Rng.make(1)), linearRegression)
 *
 * @category models
 * @since 0.1.0
 */
export const linearRegression: Model.Model<number> = function*() {
  const { xs, ys } = regressionData
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  const sd = Math.sqrt(noise)
  for (let i = 0; i < xs.length; i++) {
    yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, sd), ys[i])
  }
  return slope
}

/**
 * The same regression with its arithmetic on latent values written with `Ad`, so `LogDensity`
 * compiles it and MH steps on the compiled density without running the model.
 *
 * @example
 * Mh.runUnsafe(linearRegressionAd, { samples: 1000 })
 *
 * @category models
 * @since 0.2.0
 */
export const linearRegressionAd: Model.Model<Ad.Real> = function*() {
  const { xs, ys } = regressionData
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  const sd = Ad.sqrt(noise)
  for (let i = 0; i < xs.length; i++) {
    yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]), intercept), sd), ys[i])
  }
  return slope
}

/** The Gamma(2, 1) object whose sampler the hand-written code calls (same draws as the model's). */
const gamma21 = Gamma(2, 1)

/**
 * Hand-written log joint of the regression at (slope, intercept, noise): the 8 terms inlined.
 * Gamma(2, 1) has log density log x − x (2·log 1 − lgamma(2) = 0).
 *
 * @example
 * regressionLogJoint(2, 0, 1)
 *
 * @category models
 * @since 0.1.0
 */
export const regressionLogJoint = (slope: number, intercept: number, noise: number): number => {
  if (!(noise > 0)) return -Infinity
  const xs = regressionData.xs
  const ys = regressionData.ys
  let lp = -Math.log(2) - HALF_LOG_2PI - 0.125 * slope * slope
  lp += -HALF_LOG_2PI - 0.5 * intercept * intercept
  lp += Math.log(noise) - noise
  const sd = Math.sqrt(noise)
  const logNorm = -Math.log(sd) - HALF_LOG_2PI
  for (let i = 0; i < xs.length; i++) {
    const z = (ys[i] - slope * xs[i] - intercept) / sd
    lp += logNorm - 0.5 * z * z
  }
  return lp
}

/**
 * Hand-written forward sampler: draws the 3 latents (the same `rng.normal()` calls and the same
 * Gamma sampler the model's distributions use), scores all 8 terms, and writes
 * [slope, intercept, noise, logPrior, logLikelihood] into `out`.
 *
 * @example
 * const out = new Float64Array(5); regressionForward(Rng.make(1), out)
 *
 * @category models
 * @since 0.1.0
 */
export const regressionForward = (rng: Rng.Rng, out: Float64Array): void => {
  const xs = regressionData.xs
  const ys = regressionData.ys
  const slope = 2 * rng.normal()
  const intercept = rng.normal()
  const noise = gamma21.sample(rng)
  const logPrior = (-Math.log(2) - HALF_LOG_2PI - 0.125 * slope * slope) + (-HALF_LOG_2PI - 0.5 * intercept * intercept) +
    (Math.log(noise) - noise)
  const sd = Math.sqrt(noise)
  const logNorm = -Math.log(sd) - HALF_LOG_2PI
  let logLikelihood = 0
  for (let i = 0; i < xs.length; i++) {
    const z = (ys[i] - slope * xs[i] - intercept) / sd
    logLikelihood += logNorm - 0.5 * z * z
  }
  out[0] = slope
  out[1] = intercept
  out[2] = noise
  out[3] = logPrior
  out[4] = logLikelihood
}

/**
 * Hand-written single-site MH on the regression: each iteration picks one of the 3 sites
 * uniformly, proposes a Gaussian random walk (on log noise for the noise, with its Jacobian),
 * recomputes the full log joint, and accepts or rejects. Unit scales by default, as Fugue's MH
 * uses without warm-up. Returns the chain as a 3 × n
 * row-major array (slope, intercept, noise per iteration) and the acceptance count.
 *
 * @example
 * const { draws, accepted } = regressionMh(Rng.make(1), 100_000)
 *
 * @category models
 * @since 0.1.0
 */
export const regressionMh = (
  rng: Rng.Rng,
  iterations: number,
  steps: readonly [number, number, number] = [1, 1, 1]
): { draws: Float64Array; accepted: number } => {
  const state = new Float64Array([0, 0, 1])
  let current = regressionLogJoint(state[0], state[1], state[2])
  const draws = new Float64Array(3 * iterations)
  let accepted = 0
  for (let it = 0; it < iterations; it++) {
    const site = Math.floor(rng.uniform() * 3)
    const old = state[site]
    let logJacobian = 0
    if (site === 2) {
      const proposed = old * Math.exp(steps[2] * rng.normal())
      // Random walk on log noise: q is symmetric in log space, so the density picks up x'/x.
      logJacobian = Math.log(proposed) - Math.log(old)
      state[2] = proposed
    } else {
      state[site] = old + steps[site] * rng.normal()
    }
    const proposedLogJoint = regressionLogJoint(state[0], state[1], state[2])
    if (Math.log(rng.uniform()) < proposedLogJoint - current + logJacobian) {
      current = proposedLogJoint
      accepted++
    } else {
      state[site] = old
    }
    draws[3 * it] = state[0]
    draws[3 * it + 1] = state[1]
    draws[3 * it + 2] = state[2]
  }
  return { draws, accepted }
}

// ---------------------------------------------------------------------------------------------
// (c) The random walk and its particle filter
// ---------------------------------------------------------------------------------------------

/**
 * The random walk's fixed data set (`data/random-walk.json`).
 *
 * @example
 * const { ys, transitionSd } = randomWalkData()
 *
 * @category models
 * @since 0.1.0
 */
export interface RandomWalkData {
  readonly seed: number
  readonly steps: number
  readonly transitionSd: number
  readonly observationSd: number
  readonly xs: ReadonlyArray<number>
  readonly ys: ReadonlyArray<number>
}

/**
 * Reads `data/random-walk.json`.
 *
 * @example
 * const { ys } = randomWalkData()
 *
 * @category constructors
 * @since 0.1.0
 */
export const randomWalkData = (): RandomWalkData =>
  JSON.parse(readFileSync(join(packageRoot, "data", "random-walk.json"), "utf8")) as RandomWalkData

/**
 * x₁ ~ N(0, 1), x_t ~ N(x_{t−1}, 0.5), y_t ~ N(x_t, 1), as a general Fugue model.
 *
 * @example
 * Smc.runUnsafe(randomWalk(ys), { particles: 1000 })
 *
 * @category models
 * @since 0.1.0
 */
export const randomWalk = (ys: ReadonlyArray<number>): Model.Model<number> =>
  function*() {
    let x = 0
    for (let t = 0; t < ys.length; t++) {
      x = yield* sample(addr("x", t), t === 0 ? Normal(0, 1) : Normal(x, 0.5))
      yield* observe(addr("y", t), Normal(x, 1), ys[t])
    }
    return x
  }

/**
 * The exact filter (Kalman) for the random walk: log evidence and the final filtering mean and
 * variance. What every particle filter here estimates.
 *
 * @example
 * kalman(ys).logEvidence
 *
 * @category numerics
 * @since 0.1.0
 */
export const kalman = (ys: ReadonlyArray<number>): { logEvidence: number; mean: number; variance: number } => {
  let m = 0
  let p = 1
  let logEvidence = 0
  for (let t = 0; t < ys.length; t++) {
    if (t > 0) p += 0.25
    const s = p + 1
    const r = ys[t] - m
    logEvidence += -HALF_LOG_2PI - 0.5 * Math.log(s) - (0.5 * r * r) / s
    const k = p / s
    m += k * r
    p *= 1 - k
  }
  return { logEvidence, mean: m, variance: p }
}

/**
 * Hand-written bootstrap particle filter: propagate from the transition, weight by the
 * observation density, resample every step (systematic resampling, Kitagawa 1996).
 * Returns the log evidence estimate and the final weighted mean.
 *
 * @example
 * bootstrapFilter(Rng.make(1), ys, 1000).logEvidence
 *
 * @category models
 * @since 0.1.0
 */
export const bootstrapFilter = (
  rng: Rng.Rng,
  ys: ReadonlyArray<number>,
  particles: number
): { logEvidence: number; mean: number } => {
  let x = new Float64Array(particles)
  let next = new Float64Array(particles)
  const logW = new Float64Array(particles)
  const cumulative = new Float64Array(particles)
  let logEvidence = 0
  let mean = 0
  for (let t = 0; t < ys.length; t++) {
    const y = ys[t]
    let max = -Infinity
    for (let i = 0; i < particles; i++) {
      const xi = t === 0 ? rng.normal() : x[i] + 0.5 * rng.normal()
      x[i] = xi
      const r = y - xi
      const lw = -HALF_LOG_2PI - 0.5 * r * r
      logW[i] = lw
      if (lw > max) max = lw
    }
    let total = 0
    mean = 0
    for (let i = 0; i < particles; i++) {
      const w = Math.exp(logW[i] - max)
      total += w
      cumulative[i] = total
      mean += w * x[i]
    }
    mean /= total
    logEvidence += max + Math.log(total / particles)
    if (t === ys.length - 1) break
    // Systematic resampling: one uniform, N evenly spaced points through the cumulative weights.
    const u0 = rng.uniform()
    let j = 0
    for (let i = 0; i < particles; i++) {
      const target = ((i + u0) / particles) * total
      while (j < particles - 1 && cumulative[j] < target) j++
      next[i] = x[j]
    }
    const swap = x
    x = next
    next = swap
  }
  return { logEvidence, mean }
}

// ---------------------------------------------------------------------------------------------
// (d) Eight schools, centered
// ---------------------------------------------------------------------------------------------

/**
 * Eight schools (Rubin 1981), from posteriordb (`data/eight_schools.json`).
 *
 * @example
 * const { J, y, sigma } = eightSchoolsData()
 *
 * @category models
 * @since 0.1.0
 */
export interface EightSchoolsData {
  readonly J: number
  readonly y: ReadonlyArray<number>
  readonly sigma: ReadonlyArray<number>
}

/**
 * Reads `data/eight_schools.json`.
 *
 * @example
 * const { y, sigma } = eightSchoolsData()
 *
 * @category constructors
 * @since 0.1.0
 */
export const eightSchoolsData = (): EightSchoolsData =>
  JSON.parse(readFileSync(join(packageRoot, "data", "eight_schools.json"), "utf8")) as EightSchoolsData

/**
 * mu ~ N(0, 5), tau ~ HalfCauchy(5), theta_j ~ N(mu, tau), y_j ~ N(theta_j, sigma_j).
 *
 * @example
 * Mh.runUnsafe(eightSchools(eightSchoolsData()), { samples: 100_000 })
 *
 * @category models
 * @since 0.1.0
 */
export const eightSchools = (data: EightSchoolsData): Model.Model<number> =>
  function*() {
    const mu = yield* sample("mu", Normal(0, 5))
    const tau = yield* sample("tau", HalfCauchy(5))
    for (let j = 0; j < data.J; j++) {
      const theta = yield* sample(addr("theta", j), Normal(mu, tau))
      yield* observe(addr("y", j), Normal(theta, data.sigma[j]), data.y[j])
    }
    return mu
  }

/**
 * Hand-written log joint of eight schools at `state` = [mu, tau, theta_1..theta_J].
 *
 * @example
 * eightSchoolsLogJoint(data, state)
 *
 * @category models
 * @since 0.1.0
 */
export const eightSchoolsLogJoint = (data: EightSchoolsData, state: Float64Array): number => {
  const mu = state[0]
  const tau = state[1]
  if (!(tau > 0)) return -Infinity
  // N(mu | 0, 5) and HalfCauchy(tau | 5) = 2 / (π·5·(1 + (tau/5)²)).
  let lp = -Math.log(5) - HALF_LOG_2PI - (0.5 * mu * mu) / 25
  const s = tau / 5
  lp += LOG_2 - LOG_PI - Math.log(5) - Math.log1p(s * s)
  const logTau = Math.log(tau)
  const y = data.y
  const sigma = data.sigma
  for (let j = 0; j < data.J; j++) {
    const theta = state[2 + j]
    const z = (theta - mu) / tau
    lp += -logTau - HALF_LOG_2PI - 0.5 * z * z
    const r = (y[j] - theta) / sigma[j]
    lp += -Math.log(sigma[j]) - HALF_LOG_2PI - 0.5 * r * r
  }
  return lp
}

/**
 * Hand-written single-site MH on eight schools: pick one of the J + 2 sites uniformly, Gaussian
 * random walk (log scale for tau, with its Jacobian), full log-joint recompute, accept/reject.
 * Returns the mu and tau chains and the acceptance count.
 *
 * @example
 * eightSchoolsMh(Rng.make(1), data, 100_000).mu
 *
 * @category models
 * @since 0.1.0
 */
export const eightSchoolsMh = (
  rng: Rng.Rng,
  data: EightSchoolsData,
  iterations: number,
  step = 1
): { mu: Float64Array; tau: Float64Array; accepted: number } => {
  const sites = data.J + 2
  const state = new Float64Array(sites)
  state[1] = 1
  let current = eightSchoolsLogJoint(data, state)
  const mu = new Float64Array(iterations)
  const tau = new Float64Array(iterations)
  let accepted = 0
  for (let it = 0; it < iterations; it++) {
    const site = Math.floor(rng.uniform() * sites)
    const old = state[site]
    let logJacobian = 0
    if (site === 1) {
      const proposed = old * Math.exp(step * rng.normal())
      logJacobian = Math.log(proposed) - Math.log(old)
      state[1] = proposed
    } else {
      state[site] = old + step * rng.normal()
    }
    const proposedLogJoint = eightSchoolsLogJoint(data, state)
    if (Math.log(rng.uniform()) < proposedLogJoint - current + logJacobian) {
      current = proposedLogJoint
      accepted++
    } else {
      state[site] = old
    }
    mu[it] = state[0]
    tau[it] = state[1]
  }
  return { mu, tau, accepted }
}

// ---------------------------------------------------------------------------------------------
// Reference posteriors (exact up to a 1-D quadrature), to check every sampler's estimates
// ---------------------------------------------------------------------------------------------

/**
 * Integrates over a positive scale s = e^u with the trapezoid rule on u ∈ [lo, hi]: given
 * log w(s) (the unnormalised log posterior density of s, in s) and g(s), returns
 * ∫ g w ds / ∫ w ds. The integrand in u is w(e^u)·e^u, smooth and decaying at both ends.
 */
const ratioOfIntegrals = (logW: (s: number) => number, g: (s: number) => number, lo: number, hi: number, n: number): number => {
  const h = (hi - lo) / n
  const logs = new Float64Array(n + 1)
  let max = -Infinity
  for (let i = 0; i <= n; i++) {
    const u = lo + i * h
    logs[i] = logW(Math.exp(u)) + u
    if (logs[i] > max) max = logs[i]
  }
  let num = 0
  let den = 0
  for (let i = 0; i <= n; i++) {
    const w = Math.exp(logs[i] - max) * (i === 0 || i === n ? 0.5 : 1)
    num += w * g(Math.exp(lo + i * h))
    den += w
  }
  return num / den
}

/**
 * The regression's exact posterior means. Given the noise variance s, (slope, intercept) is
 * conjugate Gaussian: precision Λ = XᵀX/s + diag(1/4, 1), mean m = Λ⁻¹Xᵀy/s, and
 * p(y | s) = p(y | m, s)·p(m) / p(m | y, s) (evaluated at the posterior mean). The remaining
 * 1-D integral over s (prior Gamma(2, 1)) is done by quadrature on log s.
 *
 * @example
 * regressionPosteriorMeans().slope // E[slope | y]
 *
 * @category numerics
 * @since 0.1.0
 */
export const regressionPosteriorMeans = (): { slope: number; intercept: number; noise: number } => {
  const xs = regressionData.xs
  const ys = regressionData.ys
  let sxx = 0, sx = 0, sxy = 0, sy = 0
  const n = xs.length
  for (let i = 0; i < n; i++) {
    sxx += xs[i] * xs[i]
    sx += xs[i]
    sxy += xs[i] * ys[i]
    sy += ys[i]
  }
  const conditional = (s: number) => {
    // Λ = [[sxx/s + 1/4, sx/s], [sx/s, n/s + 1]]
    const a = sxx / s + 0.25, b = sx / s, d = n / s + 1
    const det = a * d - b * b
    const r1 = sxy / s, r2 = sy / s
    const slope = (d * r1 - b * r2) / det
    const intercept = (a * r2 - b * r1) / det
    let logLik = 0
    for (let i = 0; i < n; i++) {
      const r = ys[i] - slope * xs[i] - intercept
      logLik += -HALF_LOG_2PI - 0.5 * Math.log(s) - (0.5 * r * r) / s
    }
    const logPriorAtMean = (-Math.log(2) - HALF_LOG_2PI - 0.125 * slope * slope) + (-HALF_LOG_2PI - 0.5 * intercept * intercept)
    // log N(m; m, Λ⁻¹) = −log(2π) + ½ log det Λ.
    const logPosteriorAtMean = -2 * HALF_LOG_2PI + 0.5 * Math.log(det)
    const logEvidence = logLik + logPriorAtMean - logPosteriorAtMean
    return { slope, intercept, logW: logEvidence + Math.log(s) - s }
  }
  const logW = (s: number) => conditional(s).logW
  return {
    slope: ratioOfIntegrals(logW, (s) => conditional(s).slope, -20, 6, 40_000),
    intercept: ratioOfIntegrals(logW, (s) => conditional(s).intercept, -20, 6, 40_000),
    noise: ratioOfIntegrals(logW, (s) => s, -20, 6, 40_000)
  }
}

/**
 * Eight schools' exact posterior mean of mu. Given tau, mu is conjugate Gaussian: with
 * v_j = σ_j² + τ², precision P = 1/25 + Σ 1/v_j, mean m = (Σ y_j/v_j)/P, and
 * p(y | τ) = Π N(y_j; m, v_j)·N(m; 0, 25) / N(m; m, 1/P). The integral over τ (prior
 * HalfCauchy(5)) is done by quadrature on log τ.
 *
 * @example
 * eightSchoolsPosteriorMeanMu(eightSchoolsData()) // ≈ 4.4
 *
 * @category numerics
 * @since 0.1.0
 */
export const eightSchoolsPosteriorMeanMu = (data: EightSchoolsData): number => {
  const conditional = (tau: number) => {
    let p = 1 / 25
    let r = 0
    for (let j = 0; j < data.J; j++) {
      const v = data.sigma[j] * data.sigma[j] + tau * tau
      p += 1 / v
      r += data.y[j] / v
    }
    const m = r / p
    let logW = -Math.log(5) - HALF_LOG_2PI - (0.5 * m * m) / 25
    for (let j = 0; j < data.J; j++) {
      const v = data.sigma[j] * data.sigma[j] + tau * tau
      const e = data.y[j] - m
      logW += -HALF_LOG_2PI - 0.5 * Math.log(v) - (0.5 * e * e) / v
    }
    logW -= -HALF_LOG_2PI + 0.5 * Math.log(p)
    const s = tau / 5
    logW += -Math.log1p(s * s) // HalfCauchy(5) up to a constant
    return { m, logW }
  }
  return ratioOfIntegrals((t) => conditional(t).logW, (t) => conditional(t).m, -25, 12, 80_000)
}
