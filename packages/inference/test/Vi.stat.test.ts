// Statistical tests of Vi (ADVI, MAP, Laplace, user-written guides) against exact answers.
//
// 1. Bayesian linear regression with known noise: y = Xβ + e, e ~ N(0, σ²I), β ~ N(0, s²I). The
//    posterior is exactly Gaussian, N(m, S) with precision Λ = S⁻¹ = XᵀX/σ² + I/s² and mean
//    m = S Xᵀy/σ²; the log posterior is −½(β − m)ᵀΛ(β − m) + const.
//    - The mean-field optimum. For q = Π N(μ_i, σ_i²), KL(q‖p) = ½(μ − m)ᵀΛ(μ − m) + ½ Σ_i Λ_ii σ_i²
//      − Σ_i log σ_i + const: ∂/∂μ = Λ(μ − m) = 0 gives μ = m (Λ is positive definite), and
//      ∂/∂σ_i = Λ_ii σ_i − 1/σ_i = 0 gives σ_i² = 1/Λ_ii (not S_ii: the mean-field guide is too
//      narrow where the posterior is correlated). Its KL is ½(Σ_i log Λ_ii − log det Λ), so the
//      optimal ELBO is log p(y) − ½(Σ log Λ_ii − log det Λ).
//    - The full-rank optimum is q = p: μ = m, L Lᵀ = S, ELBO = log p(y), and log p(ζ) − log q(ζ)
//      is the constant log p(y) for every ζ.
//    - MAP is m (any jacobian: β is unconstrained), and the Laplace approximation is N(m, S)
//      exactly: the Hessian of a quadratic is constant.
// 2. A positive site: y_i ~ N(0, σ), σ ~ HalfNormal(1), with S = Σ y_i². On u = log σ the log
//    density, Jacobian included, is f(u) = −e^{2u}/2 − (n − 1)u − S e^{−2u}/2 + const, whose
//    mode solves e^{4u} + (n − 1)e^{2u} − S = 0; without the Jacobian (σ's own density) the mode
//    solves σ⁴ + nσ² − S = 0. Laplace: N(u*, −1/f''(u*)), f'' = −2e^{2u} − 2S e^{−2u}. The VI
//    optimum: with u ~ N(μ, s²), E e^{±2u} = e^{±2μ + 2s²}, so ELBO(μ, s) = −½e^{2μ+2s²} − (n − 1)μ
//    − ½S e^{−2μ+2s²} + log s + const, maximised by Newton's method here. The exact posterior
//    (the evidence, E σ) comes from 1-D quadrature (trapezoid rule on a wide grid of u: the
//    integrand is smooth and decays like exp(−e^{2|u|}), so the rule converges geometrically;
//    20 001 points over ±12 posterior sds are exact to rounding).
// 3. User-written guides (score-function gradients) with a discrete site: a factorised posterior
//    that the guide family contains (reached exactly: the estimator's variance vanishes there), and
//    a mixture whose mean-field optimum is found from the closed-form ELBO (section 3's comments).
//
// Tolerances of the stochastic optimisation. Vi returns the average of the iterates of the last
// W = 10 windows of 100 steps, N = 1000 one-draw gradient estimates (defaults). For averaged
// stochastic gradient ascent (Polyak & Juditsky 1992) the average's error is asymptotically
// Gaussian with covariance H⁻¹ Σ H⁻¹ / N, H the Hessian of the ELBO in the parameters and Σ the
// covariance of one draw's gradient estimate at the optimum; Adam's preconditioner and momentum
// cancel out of the average (the sum of the preconditioned steps is the sum of the gradients).
// - Mean field on the Gaussian posterior: with ζ = m + σ⊙ε at the optimum, the μ-gradient is
//   −Λσ⊙ε (covariance Λ D⁻¹ Λ, D = diag Λ) and H_μμ = −Λ, so sd(μ̄_i) = σ_i/√N; the ω-gradient
//   (ω = log σ) is 1 − ε_i² − ε_i Σ_{j≠i} R_ij ε_j with R_ij = Λ_ij/√(Λ_ii Λ_jj), of variance
//   2 + Σ_{j≠i} R_ij², and H_ωω = −2I, so sd(ω̄_i) = √((2 + Σ_{j≠i} R_ij²)/(4N)). The μ–ω
//   cross terms vanish (odd moments of ε).
// - Full rank: every quantity is invariant under the lower-triangular whitening ζ ↦ L*⁻¹(ζ − m),
//   where the target is N(0, I) and the optimum μ = 0, L = I. There the gradient estimates are
//   −ε_i (μ_i), −ε_i ε_j (L_ij, j < i), 1 − ε_i² (ρ_i = log L_ii): uncorrelated, with variances
//   1, 1, 2, and H = diag(−1, −1, −2). So the excess KL, ½ δᵀ(−H)δ for the parameter error δ, is
//   ½ Σ_k (Σ_kk/(−H_kk N)) χ²₁ = χ²_p / (2N) with p = 2d + d(d − 1)/2 parameters: 2N·KL(q̂‖p) ~ χ²_p.
//   And sd(μ̄_i) = √(S_ii/N) (Σ_μ = Λ, H_μμ = −Λ).
// - The positive site (1-D): H by central differences of the closed-form ELBO gradient, Σ by
//   quadrature over ε of the one-draw gradient at the optimum.
// Calibration (.scratch/vi_calib.ts, 40 seeds, this regression, default options): z(μ) had mean
// 0.14 and sd 0.99, z(log σ) mean −0.10 and sd 0.99, full-rank 2N·KL mean 13.1 for χ²₁₄'s 14 (sd
// 5.5 for √28 = 5.3). Each z is checked at |z| < 4.5 (6.8e-6 false-alarm rate per check; ≈ 150
// checks here, so a family-wise rate near 1e-3), and 2N·KL below χ²_p's 0.9999 quantile.
//
// MAP and Laplace are deterministic: their tolerances are the optimiser's and the finite
// differences' error bounds, derived where they are checked. Measured run time: ≈ 1.3 s in all
// (the slowest test 0.8 s; timeouts 20 s).
import { describe, expect, it } from "@effect/vitest"
import { Ad, addr, Bernoulli, BernoulliLogit, HalfNormal, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as LogDensity from "../src/LogDensity.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Vi from "../src/Vi.ts"
import { cholesky, inverseSpd } from "./utils/nutsModels.ts"

const Z = 4.5
const TIMEOUT = 20_000
/** Iterates averaged into the fitted guide with the default options: W = 10 windows of 100 one-draw steps. */
const N = 1000

const expectZ = (label: string, estimate: number, exact: number, sd: number): number => {
  const z = (estimate - exact) / sd
  expect(Math.abs(z), `${label}: estimate ${estimate} exact ${exact} sd ${sd}`).toBeLessThan(Z)
  return z
}

/** Wilson–Hilferty: the q-quantile of χ²_p ≈ p(1 − 2/(9p) + z_q √(2/(9p)))³ (relative error < 1 % for p ≥ 10). */
const chiSquareQuantile = (p: number, q: number): number => p * (1 - 2 / (9 * p) + CoreRng.normalQuantile(q) * Math.sqrt(2 / (9 * p))) ** 3

// ---------------------------------------------------------------------------------------------
// 1. Regression with known noise
// ---------------------------------------------------------------------------------------------

const d = 4, n = 30, sigmaY = 1, sigmaPrior = 1
const dataRng = CoreRng.make(2024)
// covariates 1–2 correlated 0.8 and 3–4 −0.5, so the posterior is correlated and the mean-field
// optimum (variances 1/Λ_ii) differs from the posterior (S_ii) visibly
const X: Array<Array<number>> = Array.from({ length: n }, () => {
  const a = dataRng.normal(), b = 0.8 * a + 0.6 * dataRng.normal(), c = dataRng.normal(), e = -0.5 * c + 0.866 * dataRng.normal()
  return [a, b, c, e]
})
const betaTrue = [1, -0.5, 0.3, 0.8]
const y = X.map((row) => row.reduce((s, x, j) => s + x * betaTrue[j], 0) + sigmaY * dataRng.normal())

const regression: Model<void> = function*() {
  const b: Array<Ad.Real> = []
  for (let j = 0; j < d; j++) b.push(yield* sample(addr("b", j), Normal(0, sigmaPrior)))
  for (let i = 0; i < n; i++) yield* observe(addr("y", i), Normal(Ad.dot(X[i], b), sigmaY), y[i])
}

const Lambda = Array.from({ length: d }, (_, i) =>
  Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + r[i] * r[j], 0) / sigmaY ** 2 + (i === j ? 1 / sigmaPrior ** 2 : 0)))
const S = inverseSpd(Lambda)
const Xty = Array.from({ length: d }, (_, j) => X.reduce((s, r, i) => s + r[j] * y[i], 0) / sigmaY ** 2)
const m = S.map((row) => row.reduce((s, v, j) => s + v * Xty[j], 0))
const logDetLambda = cholesky(Lambda).reduce((s, row, i) => s + 2 * Math.log(row[i]), 0)
const logNormal = (x: number, mu: number, sd: number) => -0.5 * ((x - mu) / sd) ** 2 - Math.log(sd) - 0.5 * Math.log(2 * Math.PI)
// log p(y) = log p(y | m) + log p(m) − log p(m | y), with log p(m | y) = ½ log det Λ − (d/2) log 2π
const logEvidence = y.reduce((s, yi, i) => s + logNormal(yi, X[i].reduce((t, x, j) => t + x * m[j], 0), sigmaY), 0) +
  m.reduce((s, mj) => s + logNormal(mj, 0, sigmaPrior), 0) - (0.5 * logDetLambda - (d / 2) * Math.log(2 * Math.PI))
const meanFieldSd = Lambda.map((row, i) => 1 / Math.sqrt(row[i]))
const R2 = Lambda.map((row, i) => row.reduce((s, v, j) => (j === i ? s : s + (v * v) / (row[i] * Lambda[j][j])), 0))
const meanFieldElbo = logEvidence - 0.5 * (Lambda.reduce((s, row, i) => s + Math.log(row[i]), 0) - logDetLambda)

/** KL(N(μ, L Lᵀ) ‖ N(m, S)) = ½[tr(Λ L Lᵀ) − d + (μ − m)ᵀΛ(μ − m) − log det(L Lᵀ) − log det Λ]. */
const klToPosterior = (mu: Float64Array, L: Float64Array): number => {
  let tr = 0, quad = 0, logDetQ = 0
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let sq = 0
      for (let k = 0; k < d; k++) sq += L[j * d + k] * L[i * d + k]
      tr += Lambda[i][j] * sq
      quad += (mu[i] - m[i]) * Lambda[i][j] * (mu[j] - m[j])
    }
    logDetQ += 2 * Math.log(L[i * d + i])
  }
  return 0.5 * (tr - d + quad - logDetQ - logDetLambda)
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8]

describe("Vi on Bayesian linear regression with known noise", () => {
  it("the mean-field guide reaches the exact mean-field optimum: μ = m, σ_i² = 1/Λ_ii (every run within 4.5 predicted sds)", () => {
    const zMu: Array<number> = [], zLogSd: Array<number> = []
    for (const seed of SEEDS) {
      const post = Vi.runUnsafe(regression, { seed })
      const s = Vi.stats(post)
      expect(s.converged).toBe(true)
      expect(s.warnings).toEqual([])
      expect(s.coordinates).toEqual(["b#0", "b#1", "b#2", "b#3"])
      for (let i = 0; i < d; i++) {
        zMu.push(expectZ(`seed ${seed} mean b#${i}`, s.mean[i], m[i], meanFieldSd[i] / Math.sqrt(N)))
        zLogSd.push(expectZ(`seed ${seed} log sd b#${i}`, Math.log(s.sd[i]), Math.log(meanFieldSd[i]), Math.sqrt((2 + R2[i]) / (4 * N))))
      }
      // the final ELBO estimate: the mean of log p(ζ) − log q(ζ) over 100 fixed draws at the fitted
      // guide. At the optimum, with ζ − m = σ⊙ε, that is ELBO* − ½ εᵀ(R − I)ε + const, of variance
      // ½ Σ_{i≠j} R_ij², so the estimate's sd is √(Σ_{i≠j} R_ij² / 200); the fitted guide's own
      // ELBO deficit is ≈ p/(2N) = 0.004 (added).
      const offDiagonalR2 = R2.reduce((a, r) => a + r, 0)
      expect(Math.abs(s.elboFinal - meanFieldElbo)).toBeLessThan(Z * Math.sqrt(offDiagonalR2 / 200) + 0.004)
      console.log(`mean field seed ${seed}: ${s.iterations} iterations, ELBO ${s.elboFinal.toFixed(4)} (optimum ${meanFieldElbo.toFixed(4)}, log p(y) ${logEvidence.toFixed(4)})`)
    }
    // the average z over all runs: 32 values, sd 1/√32 each if unbiased
    const mean = (a: Array<number>) => a.reduce((s, x) => s + x, 0) / a.length
    console.log(`mean field: mean z(μ) ${mean(zMu).toFixed(3)}, mean z(log σ) ${mean(zLogSd).toFixed(3)}`)
    expect(Math.abs(mean(zMu))).toBeLessThan(Z / Math.sqrt(zMu.length))
    expect(Math.abs(mean(zLogSd))).toBeLessThan(Z / Math.sqrt(zLogSd.length))
    // and it is not the posterior: the correlated coefficients' posterior sds are ≥ 1.6 × wider
    expect(Math.sqrt(S[0][0]) / meanFieldSd[0]).toBeGreaterThan(1.6)
  }, TIMEOUT)

  it("the full-rank guide reaches the exact posterior N(m, S): μ within 4.5 sds, 2N·KL(q̂‖p) below χ²_p's 0.9999 quantile", () => {
    const p = 2 * d + (d * (d - 1)) / 2
    const limit = chiSquareQuantile(p, 0.9999)
    for (const seed of SEEDS) {
      const post = Vi.runUnsafe(regression, { seed, guide: "fullRank" })
      const s = Vi.stats(post)
      expect(s.converged).toBe(true)
      for (let i = 0; i < d; i++) expectZ(`seed ${seed} mean b#${i}`, s.mean[i], m[i], Math.sqrt(S[i][i] / N))
      const kl = klToPosterior(s.mean, s.scaleTril!)
      console.log(`full rank seed ${seed}: ${s.iterations} iterations, 2N·KL = ${(2 * N * kl).toFixed(2)} (χ²_${p}: mean ${p}, limit ${limit.toFixed(1)}), ELBO ${s.elboFinal.toFixed(4)} vs log p(y) ${logEvidence.toFixed(4)}`)
      expect(2 * N * kl).toBeLessThan(limit)
      // the ELBO estimate at the fitted guide: its mean is log p(y) − KL(q̂‖p), and its 100 draws of
      // log p − log q = log p(y) − log(q/p) fluctuate by √(Var log(q/p) / 100), with Var log(q/p)
      // ≈ 2 KL for a small parameter error (log(q/p) is then nearly linear in ε): within
      // KL_max + 4.5 √(2 KL_max / 100), KL_max = limit/(2N)
      const klMax = limit / (2 * N)
      expect(Math.abs(s.elboFinal - logEvidence)).toBeLessThan(klMax + Z * Math.sqrt((2 * klMax) / 100))
      // sds from L match the posterior's: implied by the KL bound, checked directly for the report
      for (let i = 0; i < d; i++) expect(Math.abs(s.sd[i] / Math.sqrt(S[i][i]) - 1)).toBeLessThan(0.1)
    }
  }, TIMEOUT)

  it("the draws are the fitted guide pushed through: sample means within 4.5 MCSE of the guide's mean, lp − logWeights the log-Jacobian (0 here)", () => {
    const post = Vi.runUnsafe(regression, { seed: 11, guide: "fullRank", draws: 4000 })
    const s = Vi.stats(post)
    for (let i = 0; i < d; i++) {
      expectZ(`draws b#${i}`, Posterior.mean(post, `b#${i}`), s.mean[i], s.sd[i] / Math.sqrt(4000))
    }
    for (let k = 0; k < 4000; k++) expect(s.lp[k]).toBeCloseTo(post.logWeights[0][k], 10)
    // log q of each draw: the guide's own log density, so the mean of lp − logGuide over the 4000
    // draws and the 100-draw estimate elboFinal are two estimates of one ELBO: within 4.5 sds of
    // their difference, sd·√(1/4000 + 1/100)
    const diff = Array.from(s.lp, (lp, k) => lp - s.logGuide[k])
    const mean = diff.reduce((a, b) => a + b, 0) / diff.length
    const sd = Math.sqrt(diff.reduce((a, b) => a + (b - mean) ** 2, 0) / (diff.length - 1))
    expect(Math.abs(mean - s.elboFinal)).toBeLessThan(Z * sd * Math.sqrt(1 / 4000 + 1 / 100))
  }, TIMEOUT)

  it("MAP is the posterior mean m, to the optimiser's tolerance", () => {
    const map = Vi.mapUnsafe(regression, { seed: 3 })
    expect(map.converged).toBe(true)
    // For a quadratic log density the error is exactly δ = S ∇f at the returned point, so it is
    // checked against that: |δ_i| ≤ Σ_j |S_ij| |∇f_j| + rounding; the stopping rules leave
    // ‖∇f‖∞ well below 1e-6 (measured 1e-8), so within 1e-6 · max_i Σ_j |S_ij| + 1e-12.
    const ld = LogDensity.make(regression)
    const g = new Float64Array(d)
    ld.logDensityGradient(map.point, g)
    const gradNorm = Math.max(...Array.from(g, Math.abs))
    console.log(`MAP: ${map.iterations} iterations, ${map.gradientEvaluations} gradients, ‖∇‖∞ ${gradNorm.toExponential(2)}, error ${Math.max(...m.map((mj, j) => Math.abs((map.values[`b#${j}`] as number) - mj))).toExponential(2)} (${map.reason})`)
    expect(gradNorm).toBeLessThan(1e-6)
    const bound = 1e-6 * Math.max(...S.map((row) => row.reduce((a, v) => a + Math.abs(v), 0))) + 1e-12
    for (let j = 0; j < d; j++) expect(Math.abs((map.values[`b#${j}`] as number) - m[j])).toBeLessThan(bound)
    // and the objective is the log joint at m (jacobian: false; the same with it, β being unconstrained)
    const jac = Vi.mapUnsafe(regression, { seed: 3, jacobian: true })
    expect(jac.logDensity).toBeCloseTo(map.logDensity, 9)
  })

  it("Laplace is N(m, S) exactly: mean to the optimiser's tolerance, covariance to the finite differences' rounding error", () => {
    const post = Vi.laplaceUnsafe(regression, { seed: 4, draws: 4000 })
    const s = Vi.laplaceStats(post)
    expect(s.converged).toBe(true)
    // Central differences of a linear gradient have no truncation error; rounding contributes
    // about ε·G/h per entry, G the size of the gradient's terms (|Xᵀy|/σ², |XᵀX β|/σ² ≲ 100 here),
    // h = 6e-6·max(1, |β|): ≈ 2e-9 absolute on Hessian entries of order 30, 1e-10 relative; the
    // inverse multiplies by cond(Λ) ≈ 20. So 1e-7 relative to √(S_ii S_jj) is a 50× margin.
    let worst = 0
    for (let i = 0; i < d; i++) {
      expect(Math.abs(s.mean[i] - m[i])).toBeLessThan(1e-6 * Math.sqrt(S[i][i]))
      for (let j = 0; j < d; j++) worst = Math.max(worst, Math.abs(s.covariance[i * d + j] - S[i][j]) / Math.sqrt(S[i][i] * S[j][j]))
    }
    console.log(`Laplace: covariance relative error ${worst.toExponential(2)}, ${s.gradientEvaluations} gradients`)
    expect(worst).toBeLessThan(1e-7)
    // the draws: means within 4.5 MCSE of m, and the Gaussian's log density per draw (Stan's log_g__):
    // for an exactly Gaussian posterior lp − logGuide is the constant log p(y)
    for (let i = 0; i < d; i++) expectZ(`Laplace draws b#${i}`, Posterior.mean(post, `b#${i}`), m[i], Math.sqrt(S[i][i] / 4000))
    for (let k = 0; k < 4000; k += 97) expect(s.lp[k] - s.logGuide[k]).toBeCloseTo(logEvidence, 6)
  })
})

// ---------------------------------------------------------------------------------------------
// 2. A positive site: the Jacobian
// ---------------------------------------------------------------------------------------------

const nObs = 10
const scaleRng = CoreRng.make(99)
const ys = Array.from({ length: nObs }, () => 0.7 * scaleRng.normal())
const sumSq = ys.reduce((s, v) => s + v * v, 0)
const scaleModel: Model<void> = function*() {
  const sigma = yield* sample("sigma", HalfNormal(1))
  for (let i = 0; i < nObs; i++) yield* observe(addr("y", i), Normal(0, sigma), ys[i])
}
// f(u) in full (constants included): log HalfNormal(e^u; 1) + u + Σ log N(y_i; 0, e^u)
const logDensityU = (u: number) =>
  Math.log(2) - 0.5 * Math.log(2 * Math.PI) - 0.5 * Math.exp(2 * u) + u - nObs * (u + 0.5 * Math.log(2 * Math.PI)) - 0.5 * sumSq * Math.exp(-2 * u)
const f2 = (u: number) => -2 * Math.exp(2 * u) - 2 * sumSq * Math.exp(-2 * u)
const modeWithJacobian = 0.5 * Math.log((-(nObs - 1) + Math.sqrt((nObs - 1) ** 2 + 4 * sumSq)) / 2)
const modeWithoutJacobian = Math.sqrt((-nObs + Math.sqrt(nObs ** 2 + 4 * sumSq)) / 2)

/** ∫ g(u) e^{f(u)} du by the trapezoid rule over u* ± 12 posterior sds (20 001 points). */
const quadrature = (g: (u: number) => number): number => {
  const sd = Math.sqrt(-1 / f2(modeWithJacobian)), lo = modeWithJacobian - 12 * sd, hi = modeWithJacobian + 12 * sd
  const K = 20_000, h = (hi - lo) / K, peak = logDensityU(modeWithJacobian)
  let s = 0
  for (let k = 0; k <= K; k++) {
    const u = lo + k * h
    s += (k === 0 || k === K ? 0.5 : 1) * g(u) * Math.exp(logDensityU(u) - peak)
  }
  return s * h * Math.exp(peak)
}

/** E over ε ~ N(0, 1) of g(ε), by the trapezoid rule on ±12 (spectrally accurate for these smooth integrands). */
const gaussianExpectation = (g: (e: number) => number): number => {
  const K = 4_000, h = 24 / K
  let s = 0
  for (let k = 0; k <= K; k++) {
    const e = -12 + k * h
    s += (k === 0 || k === K ? 0.5 : 1) * g(e) * Math.exp(-0.5 * e * e)
  }
  return (s * h) / Math.sqrt(2 * Math.PI)
}

// the VI optimum in (μ, ω = log s): the closed-form ELBO gradient, solved by Newton's method
const f1 = (u: number) => -Math.exp(2 * u) - (nObs - 1) + sumSq * Math.exp(-2 * u)
const elboGradient = (mu: number, omega: number): [number, number] => {
  const s2 = Math.exp(2 * omega)
  const a = Math.exp(2 * mu + 2 * s2), b = sumSq * Math.exp(-2 * mu + 2 * s2)
  return [-a - (nObs - 1) + b, -2 * s2 * (a + b) + 1]
}
const elboValue = (mu: number, omega: number): number => {
  const s2 = Math.exp(2 * omega)
  return Math.log(2) - 0.5 * Math.log(2 * Math.PI) - 0.5 * Math.exp(2 * mu + 2 * s2) + mu - nObs * (mu + 0.5 * Math.log(2 * Math.PI)) -
    0.5 * sumSq * Math.exp(-2 * mu + 2 * s2) + omega + 0.5 * (1 + Math.log(2 * Math.PI))
}
const hessianAt = (mu: number, omega: number): [[number, number], [number, number]] => {
  const h = 1e-6
  const [a1, b1] = elboGradient(mu + h, omega), [a2, b2] = elboGradient(mu - h, omega)
  const [c1, d1] = elboGradient(mu, omega + h), [c2, d2] = elboGradient(mu, omega - h)
  return [[(a1 - a2) / (2 * h), (c1 - c2) / (2 * h)], [(b1 - b2) / (2 * h), (d1 - d2) / (2 * h)]]
}
const viOptimum = (() => {
  let mu = modeWithJacobian, omega = 0.5 * Math.log(-1 / f2(modeWithJacobian))
  for (let k = 0; k < 50; k++) {
    const [g1, g2] = elboGradient(mu, omega)
    const [[h11, h12], [h21, h22]] = hessianAt(mu, omega)
    const det = h11 * h22 - h12 * h21
    mu -= (h22 * g1 - h12 * g2) / det
    omega -= (-h21 * g1 + h11 * g2) / det
  }
  return { mu, omega }
})()

describe("Vi with a positive site (σ ~ HalfNormal(1)): the Jacobian in MAP, Laplace and VI", () => {
  it("the closed forms agree with quadrature: the mode of u = log σ, and the ELBO optimum below log p(y)", () => {
    // the mode of the quadrature density on a fine grid, and the evidence
    let best = -Infinity, arg = 0
    for (let k = -20_000; k <= 20_000; k++) {
      const u = modeWithJacobian + k * 1e-6
      if (logDensityU(u) > best) {
        best = logDensityU(u)
        arg = u
      }
    }
    expect(Math.abs(arg - modeWithJacobian)).toBeLessThanOrEqual(1e-6)
    const logZ = Math.log(quadrature(() => 1))
    expect(elboValue(viOptimum.mu, viOptimum.omega)).toBeLessThan(logZ)
    expect(Math.max(...elboGradient(viOptimum.mu, viOptimum.omega).map(Math.abs))).toBeLessThan(1e-10)
    console.log(`positive site: mode of log σ ${modeWithJacobian.toFixed(6)}, σ's own mode ${modeWithoutJacobian.toFixed(6)}, VI optimum μ ${viOptimum.mu.toFixed(6)} s ${Math.exp(viOptimum.omega).toFixed(6)}, ELBO* ${elboValue(viOptimum.mu, viOptimum.omega).toFixed(6)} < log p(y) ${logZ.toFixed(6)}`)
  })

  it("MAP without the Jacobian is the mode of p(σ | y), with it the mode of p(log σ | y), both to 1e-8 relative", () => {
    const plain = Vi.mapUnsafe(scaleModel, { seed: 1 })
    const withJacobian = Vi.mapUnsafe(scaleModel, { seed: 1, jacobian: true })
    expect(plain.converged && withJacobian.converged).toBe(true)
    // ‖∇‖∞ ≤ 1e-8 at the end (or a relative change below 2.2e-12): on a curvature |f''| ≈ 20 this
    // is an error below 1e-9 in log σ
    expect(Math.abs((plain.values.sigma as number) / modeWithoutJacobian - 1)).toBeLessThan(1e-8)
    expect(Math.abs(Math.log(withJacobian.values.sigma as number) - modeWithJacobian)).toBeLessThan(1e-8)
    expect(withJacobian.logDensity).toBeCloseTo(logDensityU(modeWithJacobian), 9)
    // the two objectives differ by exactly the log-Jacobian log σ at the respective points
    expect(plain.logDensity).toBeCloseTo(logDensityU(Math.log(modeWithoutJacobian)) - Math.log(modeWithoutJacobian), 9)
  })

  it("Laplace is N(u*, −1/f''(u*)) on log σ; its draws of σ are log-normal (mean within 4.5 MCSE)", () => {
    const post = Vi.laplaceUnsafe(scaleModel, { seed: 2, draws: 4000 })
    const s = Vi.laplaceStats(post)
    const variance = -1 / f2(modeWithJacobian)
    expect(Math.abs(s.mean[0] - modeWithJacobian)).toBeLessThan(1e-8)
    // central differences of the exact gradient: truncation h²/6·|f⁗|/|f''| ≈ 1e-11, rounding ≈ 1e-10
    expect(Math.abs(s.covariance[0] / variance - 1)).toBeLessThan(1e-7)
    const mean = Math.exp(modeWithJacobian + variance / 2), sd = mean * Math.sqrt(Math.expm1(variance))
    expectZ("Laplace E σ", Posterior.mean(post, "sigma"), mean, sd / Math.sqrt(4000))
  })

  it("VI reaches the exact ELBO optimum on log σ (within 4.5 Polyak–Juditsky sds), and its ELBO is below log p(y)", () => {
    const { mu, omega } = viOptimum
    const s = Math.exp(omega)
    // Σ: covariance of the one-draw gradient (f'(ζ), f'(ζ)·ε·s + 1) at ζ = μ + sε, by quadrature
    const g1 = (e: number) => f1(mu + s * e), g2 = (e: number) => f1(mu + s * e) * e * s + 1
    const m1 = gaussianExpectation(g1), m2 = gaussianExpectation(g2)
    const s11 = gaussianExpectation((e) => g1(e) ** 2) - m1 ** 2
    const s22 = gaussianExpectation((e) => g2(e) ** 2) - m2 ** 2
    const s12 = gaussianExpectation((e) => g1(e) * g2(e)) - m1 * m2
    expect(Math.abs(m1) + Math.abs(m2)).toBeLessThan(1e-8) // the optimum: the expected gradient is 0
    // Cov = H⁻¹ Σ H⁻¹ / N
    const [[a, b], [c, dd]] = hessianAt(mu, omega)
    const det = a * dd - b * c
    const Hi = [[dd / det, -b / det], [-c / det, a / det]]
    const Sg = [[s11, s12], [s12, s22]]
    const cov = [0, 1].map((i) => [0, 1].map((j) => {
      let t = 0
      for (let k = 0; k < 2; k++) for (let l = 0; l < 2; l++) t += Hi[i][k] * Sg[k][l] * Hi[l][j]
      return t / N
    }))
    const logZ = Math.log(quadrature(() => 1))
    const posteriorMeanSigma = quadrature(Math.exp) / Math.exp(logZ)
    for (const seed of [1, 2, 3, 4]) {
      for (const guide of ["meanField", "fullRank"] as const) {
        const post = Vi.runUnsafe(scaleModel, { seed, guide, draws: 4000 })
        const st = Vi.stats(post)
        expect(st.converged).toBe(true)
        expectZ(`${guide} seed ${seed} μ`, st.mean[0], mu, Math.sqrt(cov[0][0]))
        expectZ(`${guide} seed ${seed} log s`, Math.log(st.sd[0]), omega, Math.sqrt(cov[1][1]))
        // the draws of σ are log-normal(μ̂, ŝ)
        const m0 = Math.exp(st.mean[0] + st.sd[0] ** 2 / 2), sd0 = m0 * Math.sqrt(Math.expm1(st.sd[0] ** 2))
        expectZ(`${guide} seed ${seed} E σ`, Posterior.mean(post, "sigma"), m0, sd0 / Math.sqrt(4000))
        // ELBO at the fitted guide vs the optimum: the sd of the 100 draws' mean of
        // log p(ζ) − log q(ζ) = f(μ + sε) + ε²/2 + const (by quadrature), plus the deficit p/(2N)
        const elboSd = Math.sqrt(gaussianExpectation((e) => (logDensityU(mu + s * e) + 0.5 * e * e) ** 2) -
          gaussianExpectation((e) => logDensityU(mu + s * e) + 0.5 * e * e) ** 2) / 10
        expect(Math.abs(st.elboFinal - elboValue(mu, omega))).toBeLessThan(Z * elboSd + 0.002)
        expect(st.elboFinal).toBeLessThan(logZ + Z * elboSd)
        if (seed === 1) {
          console.log(`${guide}: μ ${st.mean[0].toFixed(5)} (exact ${mu.toFixed(5)} ± ${Math.sqrt(cov[0][0]).toExponential(1)}), log s ${Math.log(st.sd[0]).toFixed(5)} (exact ${omega.toFixed(5)} ± ${Math.sqrt(cov[1][1]).toExponential(1)}), E σ ${Posterior.mean(post, "sigma").toFixed(4)} (posterior ${posteriorMeanSigma.toFixed(4)}), ELBO ${st.elboFinal.toFixed(4)} (optimum ${elboValue(mu, omega).toFixed(4)}, log p(y) ${logZ.toFixed(4)})`)
        }
      }
    }
  }, TIMEOUT)
})

// ---------------------------------------------------------------------------------------------
// 3. User-written guides: the score-function estimator, with a discrete site
// ---------------------------------------------------------------------------------------------

const logistic = (x: number) => 1 / (1 + Math.exp(-x))
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI)
const lnN = (x: number, mu: number, sd: number) => -0.5 * ((x - mu) / sd) ** 2 - Math.log(sd) - LOG_SQRT_2PI

describe("Vi.fitGuideUnsafe: a user-written guide, score-function gradients", () => {
  it("a guide family that contains the posterior reaches it exactly (discrete and continuous sites)", () => {
    // z ~ Bernoulli(0.3), y1 ~ N(2z, 1) = 1.5 and, independently, mu ~ N(0, 2), y2 ~ N(mu, 1) = 2:
    // the posterior factorises into Bernoulli(p1), p1 = 0.3 N(1.5; 2, 1) / (0.3 N(1.5; 2, 1) + 0.7 N(1.5; 0, 1)),
    // and N(1.6, √0.8), so the mean-field guide below contains it, and at that optimum
    // f = log p(z, mu, y) − log q(z, mu) is the constant log p(y): the score-function estimate is
    // exactly 0 there, for every draw. Its variance vanishes with the distance to the optimum, so
    // the iterates converge to it (measured: to 1e-13), not to a noise floor: 1e-6 is a wide margin.
    const model: Model<void> = function*() {
      const z = yield* sample("z", Bernoulli(0.3))
      yield* observe("y1", Normal(z ? 2 : 0, 1), 1.5)
      const mu = yield* sample("mu", Normal(0, 2))
      yield* observe("y2", Normal(mu, 1), 2)
    }
    const guide = Vi.guide({ logit: 0, loc: 0, logScale: -1 }, (p) => function*() {
      yield* sample("z", BernoulliLogit(p.logit))
      yield* sample("mu", Normal(p.loc, Ad.exp(p.logScale)))
    })
    const a = 0.3 * Math.exp(lnN(1.5, 2, 1)), b = 0.7 * Math.exp(lnN(1.5, 0, 1))
    const p1 = a / (a + b)
    const logEvidenceY = Math.log(a + b) + lnN(2, 0, Math.sqrt(5))
    for (const seed of [1, 2]) {
      const post = Vi.fitGuideUnsafe(model, guide, { seed, draws: 4000 })
      const s = Vi.guideStats(post)
      expect(s.converged).toBe(true)
      expect(Math.abs(logistic(s.parameters.logit) - p1)).toBeLessThan(1e-6)
      expect(Math.abs(s.parameters.loc - 1.6)).toBeLessThan(1e-6)
      expect(Math.abs(Math.exp(s.parameters.logScale) - Math.sqrt(0.8))).toBeLessThan(1e-6)
      // the ELBO at the posterior is log p(y), with no Monte Carlo error
      expect(Math.abs(s.elboFinal - logEvidenceY)).toBeLessThan(1e-6)
      // the draws: P(z = 1) within 4.5 binomial standard errors
      expectZ(`seed ${seed} draws of z`, Posterior.mean(post, "z"), p1, Math.sqrt((p1 * (1 - p1)) / 4000))
      console.log(`exact guide seed ${seed}: ${s.iterations} iterations, q(z = 1) ${logistic(s.parameters.logit)} (exact ${p1}), loc ${s.parameters.loc}, ELBO ${s.elboFinal} (log p(y) ${logEvidenceY})`)
    }
  }, TIMEOUT)

  it("a mean-field guide of a mixture reaches the exact mean-field optimum (within 4.5 Polyak–Juditsky sds)", () => {
    // z ~ Bernoulli(0.5), mu ~ N(2z − 1, 1), y ~ N(mu, 1) = 0.3: the posterior couples z and mu, so the
    // guide q(z) q(mu) = BernoulliLogit(a) × N(m, e^w) does not contain it. Its ELBO in closed form
    // (E over q(mu) of Gaussian log densities: −½((m − c)² + e^{2w}) − log √(2π)):
    //   ELBO = log ½ + π E log N(mu; 1, 1) + (1 − π) E log N(mu; −1, 1) + E log N(y; mu, 1) + H[q(z)] + w + ½ + log √(2π)
    // with π = σ(a), maximised by gradient ascent here. Tolerance: as in the header, the average of
    // N = 1000 steps has covariance H⁻¹ Σ H⁻¹ / N; here Σ, the covariance of one step's estimate
    // ĝ = 1/(S − 1) Σ_s (f_s − f̄) ∇ log q(z_s) (S = 10), is estimated by simulating 20 000 steps
    // at the optimum (so its own relative error is ≈ 1 %), and H by central differences of the
    // closed-form gradient. Calibration (.scratch/vi_mix.ts, 20 seeds): predicted sds 0.045, 0.018,
    // 0.011 for a, m, w; spread over seeds 0.042, 0.019, 0.012.
    const y0 = 0.3
    const model: Model<void> = function*() {
      const z = yield* sample("z", Bernoulli(0.5))
      const mu = yield* sample("mu", Normal(z ? 1 : -1, 1))
      yield* observe("y", Normal(mu, 1), y0)
    }
    const guide = Vi.guide({ a: 0, m: 0, w: -1 }, (p) => function*() {
      yield* sample("z", BernoulliLogit(p.a))
      yield* sample("mu", Normal(p.m, Ad.exp(p.w)))
    })
    const elbo = ([a, m, w]: ReadonlyArray<number>): number => {
      const pi = logistic(a), s2 = Math.exp(2 * w)
      const e = (c: number) => -0.5 * ((m - c) ** 2 + s2) - LOG_SQRT_2PI
      return Math.log(0.5) + pi * e(1) + (1 - pi) * e(-1) + (-0.5 * ((y0 - m) ** 2 + s2) - LOG_SQRT_2PI) -
        (pi * Math.log(pi) + (1 - pi) * Math.log(1 - pi)) + w + 0.5 + LOG_SQRT_2PI
    }
    const gradient = (t: ReadonlyArray<number>, h = 1e-6): Array<number> =>
      t.map((_, i) => (elbo(t.map((v, k) => (k === i ? v + h : v))) - elbo(t.map((v, k) => (k === i ? v - h : v)))) / (2 * h))
    let opt = [0, 0, 0]
    for (let k = 0; k < 20_000; k++) opt = gradient(opt).map((g, i) => opt[i] + 0.05 * g)
    expect(Math.max(...gradient(opt).map(Math.abs))).toBeLessThan(1e-8)
    const H = opt.map((_, i) => {
      const up = gradient(opt.map((v, k) => (k === i ? v + 1e-5 : v))), down = gradient(opt.map((v, k) => (k === i ? v - 1e-5 : v)))
      return up.map((u, j) => (u - down[j]) / 2e-5)
    })
    // Σ by simulation of the estimator at the optimum
    const [a0, m0, w0] = opt, s0 = Math.exp(w0), pi0 = logistic(a0)
    const sim = CoreRng.make(5), S = 10, R = 20_000
    const second = [[0, 0, 0], [0, 0, 0], [0, 0, 0]], first = [0, 0, 0]
    const f = new Float64Array(S), score = Array.from({ length: S }, () => [0, 0, 0])
    let fSum = 0, fSquares = 0
    for (let r = 0; r < R; r++) {
      let mean = 0
      for (let k = 0; k < S; k++) {
        const z = sim.uniform() < pi0 ? 1 : 0, e = sim.normal(), mu = m0 + s0 * e
        f[k] = Math.log(0.5) + lnN(mu, z ? 1 : -1, 1) + lnN(y0, mu, 1) - Math.log(z ? pi0 : 1 - pi0) - lnN(mu, m0, s0)
        fSum += f[k]
        fSquares += f[k] * f[k]
        score[k] = [z - pi0, e / s0, e * e - 1] // ∇ log q for (a, m, w)
        mean += f[k] / S
      }
      const g = [0, 0, 0]
      for (let k = 0; k < S; k++) for (let i = 0; i < 3; i++) g[i] += ((f[k] - mean) * score[k][i]) / (S - 1)
      for (let i = 0; i < 3; i++) {
        first[i] += g[i] / R
        for (let j = 0; j < 3; j++) second[i][j] += (g[i] * g[j]) / R
      }
    }
    const Sigma = second.map((row, i) => row.map((v, j) => v - first[i] * first[j]))
    const fSd = Math.sqrt(fSquares / (R * S) - (fSum / (R * S)) ** 2)
    const Hinv = inverseSpd(H.map((row) => row.map((v) => -v))).map((row) => row.map((v) => -v))
    const predicted = [0, 1, 2].map((i) => {
      let t = 0
      for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) t += Hinv[i][k] * Sigma[k][l] * Hinv[l][i]
      return Math.sqrt(t / N)
    })
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const s = Vi.guideStats(Vi.fitGuideUnsafe(model, guide, { seed, draws: 1 }))
      expect(s.converged).toBe(true)
      const fitted = [s.parameters.a, s.parameters.m, s.parameters.w]
      fitted.forEach((v, i) => expectZ(`seed ${seed} ${"amw"[i]}`, v, opt[i], predicted[i]))
      // the ELBO estimate at the fitted guide: 100 draws of f, of sd sd(f) (simulated above) at the
      // optimum; the fitted guide's deficit, ½ δᵀ(−H)δ, is ≈ 3/(2N) on average: within 4.5 sd(f)/10 + 0.01
      expect(Math.abs(s.elboFinal - elbo(opt))).toBeLessThan((Z * fSd) / 10 + 0.01)
      if (seed === 1) {
        console.log(`mixture: optimum a ${opt[0].toFixed(4)} m ${opt[1].toFixed(4)} w ${opt[2].toFixed(4)}, predicted sds ${predicted.map((v) => v.toExponential(2)).join(" ")}; seed 1: ${fitted.map((v) => v.toFixed(4)).join(" ")} in ${s.iterations} iterations, ELBO ${s.elboFinal.toFixed(4)} (optimum ${elbo(opt).toFixed(4)})`)
      }
    }
  }, TIMEOUT)
})
