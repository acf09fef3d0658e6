/**
 * The gradient suite's models, each written twice: as a Fugue model whose arithmetic on latent
 * values goes through `Ad` (what `LogDensity` differentiates), and as a hand-written analytic
 * log density with its gradient on the same unconstrained coordinates (the physical limit: one
 * loop, constants folded once, no framework). `test/gradient.test.ts` checks that the two agree
 * to 1e-12, so the baseline cannot drift from the model. Data: eight schools and the arsenic
 * wells, both from posteriordb (`data/README.md`).
 *
 * @since 0.2.0
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Ad, addr, BernoulliLogit, factor, HalfCauchy, Normal, observe, Rng, sample, type Model } from "@fugue/core"
import { type EightSchoolsData, HALF_LOG_2PI } from "./models.ts"
import { packageRoot } from "./report.ts"

/**
 * A log density on the unconstrained space with its gradient: returns log p(q) and writes ∇ into
 * `grad` (the hand-written ones below, and `LogDensity`'s `logDensityGradient`).
 *
 * @example
 * const lp = hand(q, grad)
 *
 * @category models
 * @since 0.2.0
 */
export type DensityGradient = (q: Float64Array, grad: Float64Array) => number

/**
 * `count` points on the unconstrained space, coordinate k drawn from N(centre_k, spread_k²) with
 * a fixed seed: where the suite times gradients and the test compares them (near each
 * posterior's bulk, so no term is degenerate).
 *
 * @example
 * const points = gradientPoints([0, 1], [1, 0.5], 16, 1)
 *
 * @category constructors
 * @since 0.2.0
 */
export const gradientPoints = (
  centre: ReadonlyArray<number>,
  spread: ReadonlyArray<number>,
  count: number,
  seed: number
): Array<Float64Array> => {
  const rng = Rng.make(seed)
  return Array.from({ length: count }, () => Float64Array.from(centre, (m, k) => m + spread[k] * rng.normal()))
}

// ---------------------------------------------------------------------------------------------
// Eight schools, non-centred
// ---------------------------------------------------------------------------------------------

/** The scale of the priors on mu (Normal) and tau (HalfCauchy). */
const EIGHT_SCHOOLS_SCALE = 5

/**
 * Eight schools, non-centred: mu ~ N(0, 5), tau ~ HalfCauchy(5), eta_j ~ N(0, 1),
 * y_j ~ N(mu + tau·eta_j, sigma_j). Coordinates: q = [mu, log tau, eta_1 … eta_J].
 *
 * @example
 * LogDensity.make(eightSchoolsNonCentred(eightSchoolsData()))
 *
 * @category models
 * @since 0.2.0
 */
export const eightSchoolsNonCentred = (data: EightSchoolsData): Model.Model<Ad.Real> =>
  function*() {
    const mu = yield* sample("mu", Normal(0, EIGHT_SCHOOLS_SCALE))
    const tau = yield* sample("tau", HalfCauchy(EIGHT_SCHOOLS_SCALE))
    for (let j = 0; j < data.J; j++) {
      const eta = yield* sample(addr("eta", j), Normal(0, 1))
      yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), data.sigma[j]), data.y[j])
    }
    return mu
  }

/**
 * The hand-written log density and gradient of `eightSchoolsNonCentred` at q = [mu, u = log tau,
 * eta_1 … eta_J], the Jacobian term u included.
 *
 * **Details** With tau = e^u and r_j = (y_j − mu − tau·eta_j)/sigma_j,
 * log p = C − mu²/50 + u − log(1 + tau²/25) − Σ (eta_j² + r_j²)/2, where
 * C = −log 5 − log(2π)/2 + log(2/(5π)) − Σ (log sigma_j + log 2π) holds every constant. With
 * d_j = r_j/sigma_j: ∂mu = −mu/25 + Σ d_j, ∂u = 1 − 2tau²/(25 + tau²) + tau·Σ d_j·eta_j,
 * ∂eta_j = −eta_j + tau·d_j.
 *
 * @example
 * const hand = eightSchoolsNonCentredHand(eightSchoolsData())
 * const lp = hand(q, grad)
 *
 * @category models
 * @since 0.2.0
 */
export const eightSchoolsNonCentredHand = (data: EightSchoolsData): DensityGradient => {
  const J = data.J
  const y = Float64Array.from(data.y)
  const invSigma = Float64Array.from(data.sigma, (s) => 1 / s)
  const s2 = EIGHT_SCHOOLS_SCALE * EIGHT_SCHOOLS_SCALE
  let constant = -Math.log(EIGHT_SCHOOLS_SCALE) - HALF_LOG_2PI + Math.log(2 / Math.PI) - Math.log(EIGHT_SCHOOLS_SCALE)
  for (let j = 0; j < J; j++) constant += -HALF_LOG_2PI - Math.log(data.sigma[j]) - HALF_LOG_2PI
  return (q, grad) => {
    const mu = q[0]
    const u = q[1]
    const tau = Math.exp(u)
    let lp = constant - (0.5 * mu * mu) / s2 + u - Math.log1p((tau * tau) / s2)
    let gMu = -mu / s2
    let gTau = 0
    for (let j = 0; j < J; j++) {
      const eta = q[2 + j]
      const r = (y[j] - mu - tau * eta) * invSigma[j]
      lp -= 0.5 * (eta * eta + r * r)
      const d = r * invSigma[j]
      gMu += d
      gTau += d * eta
      grad[2 + j] = tau * d - eta
    }
    grad[0] = gMu
    grad[1] = 1 - (2 * tau * tau) / (s2 + tau * tau) + tau * gTau
    return lp
  }
}

/**
 * Points for eight schools: mu ~ N(4, 3²), log tau ~ N(1, 1), eta_j ~ N(0, 1).
 *
 * @example
 * const points = eightSchoolsPoints(eightSchoolsData(), 16)
 *
 * @category constructors
 * @since 0.2.0
 */
export const eightSchoolsPoints = (data: EightSchoolsData, count: number, seed = 1): Array<Float64Array> =>
  gradientPoints([4, 1, ...Array.from({ length: data.J }, () => 0)], [3, 1, ...Array.from({ length: data.J }, () => 1)], count, seed)

// ---------------------------------------------------------------------------------------------
// Arsenic wells, logistic regression
// ---------------------------------------------------------------------------------------------

/**
 * The arsenic wells data (Gelman & Hill 2007, ch. 5), from posteriordb (`data/wells.json`):
 * whether each of N = 3020 Bangladeshi households switched wells, the distance to the nearest
 * safe well (metres), the arsenic level of its own well, and two covariates the suite does not use.
 *
 * @example
 * const { N, switched, dist, arsenic } = wellsData()
 *
 * @category models
 * @since 0.2.0
 */
export interface WellsData {
  readonly N: number
  readonly switched: ReadonlyArray<number>
  readonly dist: ReadonlyArray<number>
  readonly arsenic: ReadonlyArray<number>
  readonly assoc: ReadonlyArray<number>
  readonly educ: ReadonlyArray<number>
}

/**
 * Reads `data/wells.json`.
 *
 * @example
 * const data = wellsData()
 *
 * @category constructors
 * @since 0.2.0
 */
export const wellsData = (): WellsData => JSON.parse(readFileSync(join(packageRoot, "data", "wells.json"), "utf8")) as WellsData

/**
 * The first `n` households.
 *
 * @example
 * wellsHead(wellsData(), 100).N // 100
 *
 * @category constructors
 * @since 0.2.0
 */
export const wellsHead = (data: WellsData, n: number): WellsData => ({
  N: n,
  switched: data.switched.slice(0, n),
  dist: data.dist.slice(0, n),
  arsenic: data.arsenic.slice(0, n),
  assoc: data.assoc.slice(0, n),
  educ: data.educ.slice(0, n)
})

/** The prior scale of the three coefficients. */
const WELLS_PRIOR_SCALE = 2.5

/**
 * The covariates the model uses: distance in hundreds of metres, arsenic, and the outcome as a
 * boolean.
 */
const wellsColumns = (data: WellsData) => ({
  dist100: Float64Array.from(data.dist, (d) => d / 100),
  arsenic: Float64Array.from(data.arsenic),
  switched: data.switched.map((s) => s === 1)
})

/**
 * Logistic regression on the wells: a, b, c ~ N(0, 2.5),
 * switched_i ~ BernoulliLogit(a + b·dist_i/100 + c·arsenic_i), with scalar `Ad` operations per
 * row (two products, two sums, one kernel). Coordinates: q = [a, b, c].
 *
 * @example
 * LogDensity.make(wellsLogistic(wellsData()))
 *
 * @category models
 * @since 0.2.0
 */
export const wellsLogistic = (data: WellsData): Model.Model<Ad.Real> => {
  const { arsenic, dist100, switched } = wellsColumns(data)
  return function*() {
    const a = yield* sample("a", Normal(0, WELLS_PRIOR_SCALE))
    const b = yield* sample("b", Normal(0, WELLS_PRIOR_SCALE))
    const c = yield* sample("c", Normal(0, WELLS_PRIOR_SCALE))
    for (let i = 0; i < switched.length; i++) {
      const eta = Ad.add(Ad.add(a, Ad.mul(b, dist100[i])), Ad.mul(c, arsenic[i]))
      yield* observe(addr("switched", i), BernoulliLogit(eta), switched[i])
    }
    return a
  }
}

/**
 * The same model with the linear predictor as one `Ad.dot` per row: [a, b, c]·[1, dist_i/100,
 * arsenic_i] (one n-ary node instead of four binary ones).
 *
 * @example
 * LogDensity.make(wellsLogisticDot(wellsData()))
 *
 * @category models
 * @since 0.2.0
 */
export const wellsLogisticDot = (data: WellsData): Model.Model<Ad.Real> => {
  const { arsenic, dist100, switched } = wellsColumns(data)
  const rows = switched.map((_, i) => [1, dist100[i], arsenic[i]])
  return function*() {
    const a = yield* sample("a", Normal(0, WELLS_PRIOR_SCALE))
    const b = yield* sample("b", Normal(0, WELLS_PRIOR_SCALE))
    const c = yield* sample("c", Normal(0, WELLS_PRIOR_SCALE))
    const coefficients = [a, b, c]
    for (let i = 0; i < rows.length; i++) {
      yield* observe(addr("switched", i), BernoulliLogit(Ad.dot(coefficients, rows[i])), switched[i])
    }
    return a
  }
}

/**
 * The same model with one vectorised observation over a linear predictor:
 * `BernoulliLogit(Ad.linear(X, [b, c], a))` with X = [dist/100, arsenic] packed once (one fused
 * tape node for all rows).
 *
 * @example
 * LogDensity.make(wellsLogisticLinear(wellsData()))
 *
 * @category models
 * @since 0.2.0
 */
export const wellsLogisticLinear = (data: WellsData): Model.Model<Ad.Real> => {
  const { arsenic, dist100, switched } = wellsColumns(data)
  const X = Ad.design(switched.map((_, i) => [dist100[i]!, arsenic[i]!]))
  const outcome = Float64Array.from(switched, (s) => (s ? 1 : 0))
  return function*() {
    const a = yield* sample("a", Normal(0, WELLS_PRIOR_SCALE))
    const b = yield* sample("b", Normal(0, WELLS_PRIOR_SCALE))
    const c = yield* sample("c", Normal(0, WELLS_PRIOR_SCALE))
    yield* observe("switched", BernoulliLogit(Ad.linear(X, [b, c], a)), outcome)
    return a
  }
}

/**
 * The hand-written log density and gradient of `wellsLogistic` at q = [a, b, c] (no Jacobian:
 * the coefficients are unconstrained), one pass over the rows.
 *
 * **Details** With eta_i = a + b·x_i + c·z_i and s_i = 2·switched_i − 1, the row's log mass is
 * −softplus(−s_i·eta_i) and its derivative in eta_i is switched_i − σ(eta_i). One `exp` per row:
 * with e = e^−|eta|, softplus(t) = max(t, 0) + log1p(e) and σ(eta) = 1/(1 + e) (eta ≥ 0) or
 * e/(1 + e); the priors give −(a² + b² + c²)/(2·2.5²) and −coefficient/2.5².
 *
 * @example
 * const hand = wellsLogisticHand(wellsData())
 * const lp = hand(q, grad)
 *
 * @category models
 * @since 0.2.0
 */
export const wellsLogisticHand = (data: WellsData): DensityGradient => {
  const { arsenic, dist100 } = wellsColumns(data)
  const n = data.N
  const y = Float64Array.from(data.switched)
  const v = WELLS_PRIOR_SCALE * WELLS_PRIOR_SCALE
  const constant = 3 * (-Math.log(WELLS_PRIOR_SCALE) - HALF_LOG_2PI)
  return (q, grad) => {
    const a = q[0]
    const b = q[1]
    const c = q[2]
    let lp = constant - (0.5 * (a * a + b * b + c * c)) / v
    let gA = 0
    let gB = 0
    let gC = 0
    for (let i = 0; i < n; i++) {
      const x = dist100[i]
      const z = arsenic[i]
      const eta = a + b * x + c * z
      const e = Math.exp(-Math.abs(eta))
      const p = eta >= 0 ? 1 / (1 + e) : e / (1 + e)
      // log σ(eta) = −softplus(−eta), log σ(−eta) = −softplus(eta)
      const t = y[i] === 1 ? -eta : eta
      lp -= (t > 0 ? t : 0) + Math.log1p(e)
      const r = y[i] - p
      gA += r
      gB += r * x
      gC += r * z
    }
    grad[0] = gA - a / v
    grad[1] = gB - b / v
    grad[2] = gC - c / v
    return lp
  }
}

/**
 * Points for the wells regression around Gelman & Hill's fit (a ≈ 0, b ≈ −0.9, c ≈ 0.46):
 * a, b ~ N(·, 0.1²), c ~ N(0.46, 0.05²).
 *
 * @example
 * const points = wellsPoints(16)
 *
 * @category constructors
 * @since 0.2.0
 */
export const wellsPoints = (count: number, seed = 2): Array<Float64Array> => gradientPoints([0, -0.9, 0.46], [0.1, 0.1, 0.05], count, seed)

// ---------------------------------------------------------------------------------------------
// Kid IQ, linear regression on the mother's IQ
// ---------------------------------------------------------------------------------------------

/**
 * The kid IQ data (Gelman & Hill 2007, ch. 3), from posteriordb (`data/kidiq.json`): the test
 * score of each of N = 434 children at age 3 and their mother's IQ.
 *
 * @example
 * const { N, kid_score, mom_iq } = kidiqData()
 *
 * @category models
 * @since 0.2.0
 */
export interface KidiqData {
  readonly N: number
  readonly kid_score: ReadonlyArray<number>
  readonly mom_iq: ReadonlyArray<number>
}

/**
 * Reads `data/kidiq.json`.
 *
 * @example
 * const data = kidiqData()
 *
 * @category constructors
 * @since 0.2.0
 */
export const kidiqData = (): KidiqData => JSON.parse(readFileSync(join(packageRoot, "data", "kidiq.json"), "utf8")) as KidiqData

/** The prior scale of the two coefficients (nearly flat against the likelihood). */
const KIDIQ_BETA_SCALE = 100
/** The prior scale of sigma (ARM's kidscore_momiq.stan: sigma ~ cauchy(0, 2.5), sigma > 0). */
const KIDIQ_SIGMA_SCALE = 2.5

/**
 * kid_score_i ~ N(beta0 + beta1·mom_iq_i, sigma), beta0, beta1 ~ N(0, 100), sigma ~
 * HalfCauchy(2.5) (ARM's `kidscore_momiq.stan`, whose betas are flat), on the raw mom_iq (mean
 * 100, sd 15): the posterior correlation of beta0 and beta1 is about −0.99, a geometry a
 * diagonal metric cannot undo. Coordinates: q = [beta0, beta1, log sigma].
 *
 * **Details** The 434 rows enter through their sufficient statistics, as one `factor`:
 * Σ log N(y_i; beta0 + beta1·x_i, sigma) = −N·log sigma − N·log(2π)/2 − S/(2·sigma²), with
 * S = Σy² − 2·beta0·Σy − 2·beta1·Σxy + N·beta0² + 2·beta0·beta1·Σx + beta1²·Σx² (the same
 * density; `test/nuts.test.ts` checks it against the row-by-row sum). Written row by row the
 * tape has 3 500 nodes, above `LogDensity`'s default `maxCompiledNodes`, and would be taped;
 * this way it is 49 nodes and compiled.
 *
 * @example
 * Nuts.runUnsafe(kidiqRegression(kidiqData()), { samples: 1000 })
 *
 * @category models
 * @since 0.2.0
 */
export const kidiqRegression = (data: KidiqData): Model.Model<Ad.Real> => {
  const n = data.N
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0
  for (let i = 0; i < n; i++) {
    const x = data.mom_iq[i], y = data.kid_score[i]
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
    syy += y * y
  }
  return function*() {
    const beta0 = yield* sample("beta0", Normal(0, KIDIQ_BETA_SCALE))
    const beta1 = yield* sample("beta1", Normal(0, KIDIQ_BETA_SCALE))
    const sigma = yield* sample("sigma", HalfCauchy(KIDIQ_SIGMA_SCALE))
    const squares = Ad.sum([
      syy,
      Ad.mul(-2 * sy, beta0),
      Ad.mul(-2 * sxy, beta1),
      Ad.mul(n, Ad.square(beta0)),
      Ad.mul(2 * sx, Ad.mul(beta0, beta1)),
      Ad.mul(sxx, Ad.square(beta1))
    ])
    const logLikelihood = Ad.sub(Ad.mul(-n, Ad.log(sigma)), Ad.add(n * HALF_LOG_2PI, Ad.div(squares, Ad.mul(2, Ad.square(sigma)))))
    yield* factor(logLikelihood)
    return beta1
  }
}
