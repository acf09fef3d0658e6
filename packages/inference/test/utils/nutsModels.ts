// Models for the NUTS / HMC statistical tests (test/Nuts.stat.test.ts), each with its exact
// posterior answer computed here: in closed form where the posterior is Gaussian or conjugate,
// otherwise by quadrature whose error is far below the Monte Carlo error of the tests (each
// quadrature's accuracy is stated where it is computed). Every model's arithmetic on latent values
// goes through `Ad`, so `LogDensity` compiles its gradient.
import { Ad, addr, BernoulliLogit, HalfCauchy, InverseGamma, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"

// ---------------------------------------------------------------------------------------------
// Small dense linear algebra (symmetric positive definite systems up to a few dozen unknowns)
// ---------------------------------------------------------------------------------------------

/** Lower Cholesky factor L of a symmetric positive definite A (row-major arrays), A = L Lᵀ. */
export const cholesky = (a: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> => {
  const n = a.length
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j]
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k]
      if (i === j) {
        if (!(s > 0)) throw new Error("cholesky: matrix is not positive definite")
        l[i][i] = Math.sqrt(s)
      } else l[i][j] = s / l[j][j]
    }
  }
  return l
}

/** Solves A x = b by A's Cholesky factor (forward then back substitution). */
export const solveSpd = (a: ReadonlyArray<ReadonlyArray<number>>, b: ReadonlyArray<number>): Array<number> => {
  const l = cholesky(a)
  const n = b.length
  const z = new Array<number>(n)
  for (let i = 0; i < n; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= l[i][k] * z[k]
    z[i] = s / l[i][i]
  }
  const x = new Array<number>(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]
    for (let k = i + 1; k < n; k++) s -= l[k][i] * x[k]
    x[i] = s / l[i][i]
  }
  return x
}

/** A⁻¹ of a symmetric positive definite A, column by column. */
export const inverseSpd = (a: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> => {
  const n = a.length
  const cols = Array.from({ length: n }, (_, j) => solveSpd(a, Array.from({ length: n }, (_, i) => (i === j ? 1 : 0))))
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => cols[j][i]))
}

// ---------------------------------------------------------------------------------------------
// 1. A strongly correlated bivariate Gaussian
// ---------------------------------------------------------------------------------------------

/** Means, standard deviations and correlation of the bivariate Gaussian. */
export interface Bivariate {
  readonly mx: number
  readonly my: number
  readonly sx: number
  readonly sy: number
  readonly rho: number
}

/**
 * (x, y) ~ N((mx, my), [[sx², ρ sx sy], [ρ sx sy, sy²]]) written as x ~ N(mx, sx) and the exact
 * conditional y | x ~ N(my + ρ (sy/sx)(x − mx), sy √(1 − ρ²)) (so the moments are exact by
 * construction). Sites "x" and "y"; both are unconstrained, so the sampler sees this density
 * directly: with ρ = 0.99 its principal standard deviations (after standardising each axis) are
 * √(1 ± ρ), a ratio of √(1.99/0.01) ≈ 14.
 */
export const bivariateGaussian = (p: Bivariate): Model<void> =>
  function*() {
    const x = yield* sample("x", Normal(p.mx, p.sx))
    const mean = Ad.add(p.my, Ad.mul((p.rho * p.sy) / p.sx, Ad.sub(x, p.mx)))
    yield* sample("y", Normal(mean, p.sy * Math.sqrt(1 - p.rho * p.rho)))
  }

// ---------------------------------------------------------------------------------------------
// 2. A 100-dimensional Gaussian: a non-stationary-scale AR(1)
// ---------------------------------------------------------------------------------------------

/** Means m_i, scales s_i and the lag-one correlation ρ of the AR(1) Gaussian. */
export interface Ar1 {
  readonly means: ReadonlyArray<number>
  readonly scales: ReadonlyArray<number>
  readonly rho: number
}

/** d coordinates with m_i = 2 cos(i), s_i = exp(sin(i)) (scales within [1/e, e]). */
export const ar1Parameters = (d: number, rho: number): Ar1 => ({
  means: Array.from({ length: d }, (_, i) => 2 * Math.cos(i)),
  scales: Array.from({ length: d }, (_, i) => Math.exp(Math.sin(i))),
  rho
})

/**
 * x_i = m_i + s_i w_i with w a stationary AR(1): w_0 ~ N(0, 1), w_i | w_{i−1} ~ N(ρ w_{i−1}, √(1 − ρ²)).
 * Written as sequential conditionals on x, sites addr("x", i):
 *   x_0 ~ N(m_0, s_0),   x_i | x_{i−1} ~ N(m_i + ρ (s_i/s_{i−1})(x_{i−1} − m_{i−1}), s_i √(1 − ρ²)).
 * Exact moments: E x_i = m_i, sd x_i = s_i, Corr(x_i, x_{i+k}) = ρ^k (stationarity of w).
 * The covariance is dense (every pair correlated) with condition number, after standardising,
 * (1 + ρ)²/(1 − ρ)² ≈ 361 at ρ = 0.9 (the extreme eigenvalues of the AR(1) correlation matrix
 * approach (1 ± ρ)/(1 ∓ ρ) as d grows).
 */
export const ar1Gaussian = (p: Ar1): Model<void> =>
  function*() {
    const d = p.means.length
    const innovation = Math.sqrt(1 - p.rho * p.rho)
    let previous = yield* sample(addr("x", 0), Normal(p.means[0], p.scales[0]))
    for (let i = 1; i < d; i++) {
      const mean = Ad.add(p.means[i], Ad.mul((p.rho * p.scales[i]) / p.scales[i - 1], Ad.sub(previous, p.means[i - 1])))
      previous = yield* sample(addr("x", i), Normal(mean, p.scales[i] * innovation))
    }
  }

// ---------------------------------------------------------------------------------------------
// 3. Bayesian linear regression with unknown noise, Normal–Inverse-Gamma prior
// ---------------------------------------------------------------------------------------------

/** Regression data and the Normal–Inverse-Gamma prior (V0 diagonal). */
export interface NigRegression {
  readonly X: ReadonlyArray<ReadonlyArray<number>>
  readonly y: ReadonlyArray<number>
  readonly m0: ReadonlyArray<number>
  readonly v0: ReadonlyArray<number>
  readonly a0: number
  readonly b0: number
}

/**
 * sigma2 ~ InvGamma(a0, b0), beta_j | sigma2 ~ N(m0_j, √(sigma2 · v0_j)),
 * y_i ~ N(x_iᵀ beta, √sigma2). Sites "sigma2" and addr("beta", j).
 */
export const nigRegression = (p: NigRegression): Model<void> =>
  function*() {
    const sigma2 = yield* sample("sigma2", InverseGamma(p.a0, p.b0))
    const beta: Array<Ad.Real> = []
    for (let j = 0; j < p.m0.length; j++) beta.push(yield* sample(addr("beta", j), Normal(p.m0[j], Ad.sqrt(Ad.mul(sigma2, p.v0[j])))))
    const sigma = Ad.sqrt(sigma2)
    for (let i = 0; i < p.y.length; i++) yield* observe(addr("y", i), Normal(Ad.dot(beta, p.X[i]), sigma), p.y[i])
  }

/** The exact posterior moments of `nigRegression`. */
export interface NigPosterior {
  readonly betaMean: ReadonlyArray<number>
  readonly betaSd: ReadonlyArray<number>
  readonly sigma2Mean: number
  readonly sigma2Sd: number
  readonly an: number
  readonly bn: number
}

/**
 * Conjugacy (e.g. Murphy 2007, "Conjugate Bayesian analysis of the Gaussian distribution", §9;
 * Gelman et al., BDA3 §14.8): with V0 = diag(v0),
 *   Vn = (V0⁻¹ + XᵀX)⁻¹,  mn = Vn (V0⁻¹ m0 + Xᵀy),
 *   an = a0 + n/2,        bn = b0 + ½ (yᵀy + m0ᵀ V0⁻¹ m0 − mnᵀ Vn⁻¹ mn),
 * and beta | sigma2, y ~ N(mn, sigma2 Vn), sigma2 | y ~ InvGamma(an, bn). Integrating sigma2 out,
 * beta | y is multivariate Student-t with 2an degrees of freedom, location mn and scale matrix
 * (bn/an) Vn, so E beta_j = mn_j and Var beta_j = (bn/an) Vn_jj · 2an/(2an − 2) = bn Vn_jj/(an − 1).
 * E sigma2 = bn/(an − 1), Var sigma2 = bn²/((an − 1)²(an − 2)).
 * (mnᵀ Vn⁻¹ mn = hᵀ mn with h = V0⁻¹ m0 + Xᵀy, which avoids forming Vn⁻¹ mn.)
 */
export const nigExact = (p: NigRegression): NigPosterior => {
  const n = p.y.length, d = p.m0.length
  const precision = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, k) => (j === k ? 1 / p.v0[j] : 0)))
  const h = p.m0.map((m, j) => m / p.v0[j])
  let yy = 0, prior = 0
  for (let i = 0; i < n; i++) {
    yy += p.y[i] * p.y[i]
    for (let j = 0; j < d; j++) {
      h[j] += p.X[i][j] * p.y[i]
      for (let k = 0; k < d; k++) precision[j][k] += p.X[i][j] * p.X[i][k]
    }
  }
  for (let j = 0; j < d; j++) prior += (p.m0[j] * p.m0[j]) / p.v0[j]
  const mn = solveSpd(precision, h)
  const vn = inverseSpd(precision)
  const an = p.a0 + n / 2
  const bn = p.b0 + 0.5 * (yy + prior - h.reduce((s, hj, j) => s + hj * mn[j], 0))
  return {
    betaMean: mn,
    betaSd: mn.map((_, j) => Math.sqrt((bn * vn[j][j]) / (an - 1))),
    sigma2Mean: bn / (an - 1),
    sigma2Sd: bn / ((an - 1) * Math.sqrt(an - 2)),
    an,
    bn
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Eight schools, non-centred
// ---------------------------------------------------------------------------------------------

/** The eight-schools data (posteriordb). */
export interface EightSchoolsData {
  readonly J: number
  readonly y: ReadonlyArray<number>
  readonly sigma: ReadonlyArray<number>
}

/**
 * mu ~ N(0, 5), tau ~ HalfCauchy(5), eta_j ~ N(0, 1), y_j ~ N(mu + tau·eta_j, sigma_j).
 * Sites "mu", "tau", addr("eta", j); theta_j = mu + tau·eta_j is derived from the draws.
 */
export const eightSchoolsNonCentred = (data: EightSchoolsData): Model<void> =>
  function*() {
    const mu = yield* sample("mu", Normal(0, 5))
    const tau = yield* sample("tau", HalfCauchy(5))
    for (let j = 0; j < data.J; j++) {
      const eta = yield* sample(addr("eta", j), Normal(0, 1))
      yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), data.sigma[j]), data.y[j])
    }
  }

/** Posterior means and standard deviations of tau, mu and theta_j. */
export interface EightSchoolsPosterior {
  readonly tauMean: number
  readonly tauSd: number
  readonly muMean: number
  readonly muSd: number
  readonly thetaMean: ReadonlyArray<number>
  readonly thetaSd: ReadonlyArray<number>
}

/**
 * The exact posterior moments by 1-D quadrature over tau (BDA3 §5.4, with a N(0, 5²) prior on mu
 * instead of BDA's flat one):
 * - given tau, theta_j integrates out: y_j | mu, tau ~ N(mu, √(sigma_j² + tau²)). With
 *   w_j = 1/(sigma_j² + tau²), mu | tau, y ~ N(m, 1/Λ), Λ = 1/25 + Σ w_j, m = Σ w_j y_j / Λ, and
 *   p(y | tau) ∝ Π w_j^½ · exp(−½ Σ w_j y_j² + ½ Λ m²) · Λ^−½ (the Gaussian integral over mu);
 * - p(tau | y) ∝ p(tau) p(y | tau), p(tau) ∝ 1/(1 + tau²/25);
 * - theta_j | mu, tau, y ~ N(B_j mu + (1 − B_j) y_j, V_j), B_j = sigma_j²/(sigma_j² + tau²),
 *   V_j = sigma_j² tau²/(sigma_j² + tau²), so E[theta_j | tau, y] = B_j m + (1 − B_j) y_j and
 *   Var[theta_j | tau, y] = V_j + B_j²/Λ;
 * - the moments over tau by the laws of total expectation and variance.
 * The tau integral is a trapezoid rule in u = log tau (Jacobian tau) on [−15, 10] with 25 000
 * intervals: below e^−15 the integrand (∝ tau) is < 1e−6 of its peak mass, above e^10 the tail
 * decays like tau^−(J+1) · tau = tau^−8, and the rule on this smooth integrand is accurate to far
 * below 1e−8 (halving the step changes nothing at that level).
 */
export const eightSchoolsExact = (data: EightSchoolsData, intervals = 25_000): EightSchoolsPosterior => {
  const { J, y, sigma } = data
  const lo = -15, hi = 10, du = (hi - lo) / intervals
  const logw: Array<number> = []
  const rows: Array<{ tau: number; m: number; vmu: number; th: Array<number>; vth: Array<number> }> = []
  for (let g = 0; g <= intervals; g++) {
    const tau = Math.exp(lo + g * du)
    let lambda = 1 / 25, hsum = 0, quad = 0, logDet = 0
    for (let j = 0; j < J; j++) {
      const w = 1 / (sigma[j] ** 2 + tau * tau)
      lambda += w
      hsum += w * y[j]
      quad += w * y[j] * y[j]
      logDet += 0.5 * Math.log(w)
    }
    const m = hsum / lambda
    const logLik = logDet - 0.5 * quad + 0.5 * lambda * m * m - 0.5 * Math.log(lambda)
    const logPrior = -Math.log1p((tau * tau) / 25)
    logw.push(logLik + logPrior + Math.log(tau) + (g === 0 || g === intervals ? Math.log(0.5) : 0))
    const th: Array<number> = [], vth: Array<number> = []
    for (let j = 0; j < J; j++) {
      const b = sigma[j] ** 2 / (sigma[j] ** 2 + tau * tau)
      th.push(b * m + (1 - b) * y[j])
      vth.push((sigma[j] ** 2 * tau * tau) / (sigma[j] ** 2 + tau * tau) + (b * b) / lambda)
    }
    rows.push({ tau, m, vmu: 1 / lambda, th, vth })
  }
  const top = Math.max(...logw)
  const w = logw.map((l) => Math.exp(l - top))
  const z = w.reduce((s, x) => s + x, 0)
  const e = (f: (r: (typeof rows)[number]) => number) => rows.reduce((s, r, i) => s + w[i] * f(r), 0) / z
  const tauMean = e((r) => r.tau), muMean = e((r) => r.m)
  const thetaMean = Array.from({ length: J }, (_, j) => e((r) => r.th[j]))
  return {
    tauMean,
    tauSd: Math.sqrt(e((r) => r.tau * r.tau) - tauMean ** 2),
    muMean,
    muSd: Math.sqrt(e((r) => r.vmu + r.m * r.m) - muMean ** 2),
    thetaMean,
    thetaSd: thetaMean.map((mean, j) => Math.sqrt(e((r) => r.vth[j] + r.th[j] ** 2) - mean ** 2))
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Neal's funnel
// ---------------------------------------------------------------------------------------------

/** Neal (2003), "Slice sampling", §8: v ~ N(0, 3), x_i | v ~ N(0, e^(v/2)), i < n. Sites "v", addr("x", i). */
export const funnelCentred = (n: number): Model<void> =>
  function*() {
    const v = yield* sample("v", Normal(0, 3))
    const scale = Ad.exp(Ad.mul(0.5, v))
    for (let i = 0; i < n; i++) yield* sample(addr("x", i), Normal(0, scale))
  }

/** The same distribution non-centred: v ~ N(0, 3), z_i ~ N(0, 1), x_i = e^(v/2) z_i. Sites "v", addr("z", i). */
export const funnelNonCentred = (n: number): Model<void> =>
  function*() {
    yield* sample("v", Normal(0, 3))
    for (let i = 0; i < n; i++) yield* sample(addr("z", i), Normal(0, 1))
  }

/**
 * P(|z| ≤ c) for z ~ N(0, 1), = 2 ∫_0^c φ: composite Simpson with 2 000 panels on [0, min(c, 12)]
 * (the mass beyond 12 is < 1e−32). The fourth derivative of φ is below 2, so the error is below
 * (12/2000)⁴ · 12 · 2 / 180 < 2e−10.
 */
export const probAbsNormalBelow = (c: number): number => {
  const b = Math.min(c, 12)
  if (b <= 0) return 0
  const panels = 2000, h = b / panels
  const phi = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI)
  let s = phi(0) + phi(b)
  for (let k = 1; k < panels; k++) s += (k % 2 === 1 ? 4 : 2) * phi(k * h)
  return (2 * s * h) / 3
}

/**
 * P(|x_i| ≤ c) under the funnel: E_v[P(|z| ≤ c e^(−v/2))], v ~ N(0, 3), by the trapezoid rule in
 * v on [−45, 45] (15 sd) with 9 000 intervals (a smooth, rapidly decaying integrand: the rule's
 * error is far below 1e−9).
 */
export const funnelProbAbsXBelow = (c: number): number => {
  const lo = -45, hi = 45, intervals = 9000, dv = (hi - lo) / intervals
  let s = 0, z = 0
  for (let g = 0; g <= intervals; g++) {
    const v = lo + g * dv
    const w = Math.exp(-(v * v) / 18) * (g === 0 || g === intervals ? 0.5 : 1)
    s += w * probAbsNormalBelow(c * Math.exp(-v / 2))
    z += w
  }
  return s / z
}

// ---------------------------------------------------------------------------------------------
// 6. Logistic regression on the arsenic wells
// ---------------------------------------------------------------------------------------------

/** The wells data (posteriordb `wells_data`). */
export interface WellsData {
  readonly N: number
  readonly switched: ReadonlyArray<number>
  readonly dist: ReadonlyArray<number>
  readonly arsenic: ReadonlyArray<number>
}

/** The prior scale of the three coefficients (as in benchmarks/src/gradientModels.ts). */
export const WELLS_PRIOR_SCALE = 2.5

/** Rows [1, dist_i/100, arsenic_i] and outcomes of the first n households. */
export const wellsRows = (data: WellsData, n: number): { rows: Array<Array<number>>; switched: Array<boolean> } => ({
  rows: Array.from({ length: n }, (_, i) => [1, data.dist[i] / 100, data.arsenic[i]]),
  switched: Array.from({ length: n }, (_, i) => data.switched[i] === 1)
})

/**
 * a, b, c ~ N(0, 2.5), switched_i ~ BernoulliLogit(a + b·dist_i/100 + c·arsenic_i), the linear
 * predictor as one `Ad.dot` per row. Sites "a", "b", "c".
 */
export const wellsLogistic = (data: WellsData, n: number): Model<void> => {
  const { rows, switched } = wellsRows(data, n)
  return function*() {
    const a = yield* sample("a", Normal(0, WELLS_PRIOR_SCALE))
    const b = yield* sample("b", Normal(0, WELLS_PRIOR_SCALE))
    const c = yield* sample("c", Normal(0, WELLS_PRIOR_SCALE))
    const coefficients = [a, b, c]
    for (let i = 0; i < rows.length; i++) yield* observe(addr("switched", i), BernoulliLogit(Ad.dot(coefficients, rows[i])), switched[i])
  }
}

/** Posterior means, sds and correlations (a, b, c order) of the wells regression. */
export interface WellsPosterior {
  readonly mean: ReadonlyArray<number>
  readonly sd: ReadonlyArray<number>
  /** corr[j][k] */
  readonly corr: ReadonlyArray<ReadonlyArray<number>>
  /** Points where the integrand was evaluated. */
  readonly points: number
}

/**
 * The exact posterior moments of `wellsLogistic` by 3-D quadrature (no Laplace approximation: the
 * Gaussian at the mode only chooses the coordinates). Newton's method finds the mode β̂ and the
 * Hessian H of −log p there; with H⁻¹ = L Lᵀ, β = β̂ + L z and the trapezoid rule on the cube
 * z ∈ [−R, R]³ with spacing `step` integrates p(β | y), β·p and ββᵀ·p. The integrand is smooth
 * and log-concave (a logistic likelihood times a Gaussian prior), so the rule converges
 * geometrically in 1/step and the mass beyond R = 7 whitened sds is negligible; measured on the
 * first 300 (and 500, and all 3 020) rows, spacing 0.5 / R = 7 and spacing 0.35 / R = 8 agree to
 * ≈ 1e−9 in every mean and sd, and the test re-checks one finer grid.
 */
export const wellsExact = (data: WellsData, n: number, step = 0.5, radius = 7): WellsPosterior => {
  const { rows, switched } = wellsRows(data, n)
  const v = WELLS_PRIOR_SCALE * WELLS_PRIOR_SCALE
  const logDensity = (beta: ReadonlyArray<number>): number => {
    let lp = -(beta[0] ** 2 + beta[1] ** 2 + beta[2] ** 2) / (2 * v)
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]
      const eta = beta[0] * r[0] + beta[1] * r[1] + beta[2] * r[2]
      // log σ(±eta) = −softplus(∓eta)
      const t = switched[i] ? -eta : eta
      lp -= (t > 0 ? t : 0) + Math.log1p(Math.exp(-Math.abs(t)))
    }
    return lp
  }
  const gradHess = (beta: ReadonlyArray<number>): { g: Array<number>; h: Array<Array<number>> } => {
    const g = beta.map((x) => -x / v)
    const h = [0, 1, 2].map((j) => [0, 1, 2].map((k) => (j === k ? 1 / v : 0)))
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]
      const eta = beta[0] * r[0] + beta[1] * r[1] + beta[2] * r[2]
      const p = 1 / (1 + Math.exp(-eta))
      const res = (switched[i] ? 1 : 0) - p
      for (let j = 0; j < 3; j++) {
        g[j] += res * r[j]
        for (let k = 0; k < 3; k++) h[j][k] += p * (1 - p) * r[j] * r[k]
      }
    }
    return { g, h }
  }
  let mode = [0, 0, 0]
  for (let it = 0; it < 100; it++) {
    const { g, h } = gradHess(mode)
    const delta = solveSpd(h, g)
    mode = mode.map((x, j) => x + delta[j])
    if (Math.max(...delta.map(Math.abs)) < 1e-13) break
  }
  const l = cholesky(inverseSpd(gradHess(mode).h))
  const top = logDensity(mode)
  const k = Math.round(radius / step)
  let z0 = 0
  const s1 = [0, 0, 0]
  const s2 = [0, 1, 2].map(() => [0, 0, 0])
  const z = [0, 0, 0], beta = [0, 0, 0]
  let points = 0
  for (let i0 = -k; i0 <= k; i0++) {
    for (let i1 = -k; i1 <= k; i1++) {
      for (let i2 = -k; i2 <= k; i2++) {
        z[0] = i0 * step; z[1] = i1 * step; z[2] = i2 * step
        for (let j = 0; j < 3; j++) beta[j] = mode[j] + l[j][0] * z[0] + l[j][1] * z[1] + l[j][2] * z[2]
        // trapezoid end weights ½ per coordinate on the boundary (negligible there anyway)
        const edge = (Math.abs(i0) === k ? 0.5 : 1) * (Math.abs(i1) === k ? 0.5 : 1) * (Math.abs(i2) === k ? 0.5 : 1)
        const w = edge * Math.exp(logDensity(beta) - top)
        points++
        z0 += w
        for (let j = 0; j < 3; j++) {
          s1[j] += w * beta[j]
          for (let m = 0; m < 3; m++) s2[j][m] += w * beta[j] * beta[m]
        }
      }
    }
  }
  const mean = s1.map((s) => s / z0)
  const cov = s2.map((row, j) => row.map((s, m) => s / z0 - mean[j] * mean[m]))
  const sd = cov.map((row, j) => Math.sqrt(row[j]))
  return { mean, sd, corr: cov.map((row, j) => row.map((c, m) => c / (sd[j] * sd[m]))), points }
}
