// ADVI (Kucukelbir, Tran, Ranganath, Gelman & Blei 2017, "Automatic Differentiation
// Variational Inference", JMLR 18): a Gaussian guide q(ζ) on the unconstrained space,
// ζ = μ + L ε with ε ~ N(0, I), fitted by maximising
//   ELBO(μ, L) = E_q[log p(ζ)] + H[q],   H[q] = Σ_i log L_ii + (d/2)(1 + log 2π),
// where log p(ζ) is the model's log density on the unconstrained space, Jacobian included (so the
// guide pushed through the bijections approximates the posterior of the constrained values).
//
// Parameters. Mean field: L = diag(σ), σ_i = exp(ω_i); stored [μ (d) | ω (d)]. Full rank: L
// lower triangular with L_ii = exp(ρ_i) (a positive diagonal, so L is the Cholesky factor of the
// guide's covariance and log L_ii is free), stored [μ (d) | L packed by rows, row i holding
// L_i0 … L_i,i−1 and ρ_i at i(i+1)/2 + j]. With its off-diagonal at zero, the full-rank guide is
// the mean-field guide with ω = ρ, so the two share the initialisation μ = start, σ = initScale
// (0.1 by default, Pyro's AutoNormal; Stan's is 1: see `Vi.Options.initScale`).
//
// Reparameterised gradient (the "reparameterisation trick"; Kingma & Welling 2014, Titsias &
// Lázaro-Gredilla 2014). With g = ∇ log p(ζ) at ζ = μ + Lε, the chain rule through ζ gives
//   ∂/∂μ_i  E[log p] = E[g_i]
//   ∂/∂L_ij E[log p] = E[g_i ε_j]                  (j < i: ζ_i = … + L_ij ε_j)
//   ∂/∂ρ_i  E[log p] = E[g_i ε_i L_ii]            (L_ii = e^ρ_i, ∂L_ii/∂ρ_i = L_ii)
// and the entropy adds ∂H/∂ρ_i = 1 (∂H/∂ω_i = 1 for mean field). Each step estimates the
// expectations with `gradientSamples` draws of ε (unbiased), and takes one Adam step (Kingma & Ba
// 2015: β1 = 0.9, β2 = 0.999, ε = 1e-8, bias-corrected moments) uphill. A draw whose log density or
// gradient is not finite is skipped (counted); a step with no valid draw leaves the parameters
// unchanged (counted); MAX_FAILED consecutive such steps are `NonFiniteDensityError`.
//
// The optimiser (`Optimizer`: Adam, the windows, the convergence check, the averaged guide) takes
// its gradient estimates and ELBO estimates from an `Estimator`: here the Gaussian guide's
// reparameterised one (`GaussianGuide`), in viGuide.ts the score-function one of a user's guide.
//
// The ELBO's value is estimated as the mean of log p(ζ_k) − log q(ζ_k) over `evalSamples` draws
// (exact when q is the posterior, where log p − log q is the constant log p(data)).
//
// Convergence (after Stan's ADVI, `tol_rel_obj` and `eval_elbo`). Every `evalEvery` steps (a
// window) the ELBO is estimated with `evalSamples` draws at the average of the window's iterates;
// once there are 2W estimates, W = max(2, min(10, ⌊0.1·iterations/evalEvery⌋)) (Stan's
// circular-buffer length, capped), the run has converged when the relative change of a running
// ELBO average, |Ē_recent − Ē_before| / |Ē_recent| between the means of the last W estimates and
// the W before, is below `tolerance`. Stan compares consecutive single estimates (the mean or
// median of their last W relative changes); three departures, all to make the change measure the
// optimisation rather than Monte Carlo noise:
// - the ELBO estimates use the same `evalSamples` standard-normal vectors every time (common
//   random numbers), so two estimates differ only through the parameters (at a fixed guide the
//   change is exactly 0, where independent draws give changes of order sd(log p)/√K);
// - each estimate is at a window's average iterate, and the fitted guide is the average of the
//   last W windows' iterates (Polyak & Juditsky 1992): constant-step Adam does not settle but
//   wanders around the optimum, and the average's error no longer depends on the step size: it
//   is ≈ H⁻¹ Σ H⁻¹ / N for N averaged draws (Σ the covariance of one draw's gradient, H the
//   ELBO's Hessian), e.g. sd σ_i/√N for a mean-field location on a Gaussian posterior;
// - block means, not single estimates: on a 5-D regression the single estimates' changes at the
//   optimum (≈ 4e-4 relative, from the iterates' wandering) are as large as those of the slow
//   final approach of the scales, which stopped Stan's rule 40 % early (measured).
// Relative changes, like Stan's, depend on the ELBO's scale (a model with |ELBO| = 10⁵ converges at
// changes of 100 nats for tolerance 1e-3); lower the tolerance for such models.
// Nothing is allocated per step (with the Gaussian guide).
import type * as CoreRng from "@fugue/core/Rng"
import { NonFiniteDensityError, type Target } from "./viCommon.ts"
import { now } from "./shell.ts"

/** Steps in a row without a valid draw before `NonFiniteDensityError`. */
export const MAX_FAILED = 50
/** Steps between two looks at the clock inside a time slice. */
const CLOCK_EVERY = 16
const BETA1 = 0.9
const BETA2 = 0.999
const ADAM_EPSILON = 1e-8
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)
/** A relative change of the block means above this: Stan's "may be diverging". */
const DIVERGING = 0.5

export type Family = "meanField" | "fullRank"

/** Where the optimiser's gradients and ELBO values come from. */
export interface Estimator {
  /** Number of parameters. */
  readonly size: number
  /** Writes an estimate of ∇ELBO at θ into `grad`; returns how many draws were valid (0: no estimate, θ is left alone). */
  gradient(theta: Float64Array, grad: Float64Array): number
  /** The ELBO at `params` on the fixed evaluation draws (−∞ when none is valid). */
  elbo(params: Float64Array): number
  /** Why the last invalid draw was invalid. */
  explainInvalid(): Array<string>
  /** Draws whose density (or gradient) was not finite, skipped. */
  readonly rejectedDraws: number
}

export interface OptimizerConfig {
  readonly iterations: number
  readonly learningRate: number
  readonly tolerance: number
  readonly evalEvery: number
}

/** W = max(2, min(10, ⌊0.1·iterations/evalEvery⌋)): Stan's circular-buffer length, at most 10. */
export const blockSize = (config: OptimizerConfig): number => Math.max(2, Math.min(10, Math.floor((0.1 * config.iterations) / config.evalEvery)))

/** Adam on an estimator's ELBO gradients, with the windows, the convergence check and the averaged guide. */
export class Optimizer {
  readonly estimator: Estimator
  readonly config: OptimizerConfig
  /** The current parameters. */
  readonly theta: Float64Array
  /** The fitted guide: the average of the last W windows' iterates. */
  readonly fitted: Float64Array
  private readonly grad: Float64Array
  private readonly m: Float64Array
  private readonly v: Float64Array
  private readonly windowSum: Float64Array
  private windowCount = 0
  private beta1Power = 1
  private beta2Power = 1
  /** W: the windows per block of the convergence check (and of the fitted guide's average). */
  readonly block: number
  /** The last W windows' average iterates (ring, W × size) and their lengths. */
  private readonly windowMeans: Float64Array
  private readonly windowCounts: Float64Array
  private readonly windowViews: ReadonlyArray<Float64Array>
  private windows = 0
  iteration = 0
  done = false
  converged = false
  failedSteps = 0
  private consecutiveFailures = 0
  readonly elbo: Array<number> = []
  readonly elboIterations: Array<number> = []
  /** The last relative change |Ē_recent − Ē_before| / |Ē_recent| of the block means (NaN before 2W estimates). */
  relativeChange = Number.NaN

  constructor(estimator: Estimator, config: OptimizerConfig, theta0: Float64Array) {
    const size = estimator.size
    this.estimator = estimator
    this.config = config
    this.theta = Float64Array.from(theta0)
    this.fitted = Float64Array.from(theta0)
    this.grad = new Float64Array(size)
    this.m = new Float64Array(size)
    this.v = new Float64Array(size)
    this.windowSum = new Float64Array(size)
    this.block = blockSize(config)
    this.windowMeans = new Float64Array(this.block * size)
    this.windowCounts = new Float64Array(this.block)
    this.windowViews = Array.from({ length: this.block }, (_, w) => this.windowMeans.subarray(w * size, (w + 1) * size))
    this.record(estimator.elbo(this.theta))
  }

  private record(elbo: number): void {
    this.elbo.push(elbo)
    this.elboIterations.push(this.iteration)
  }

  /** One step: an ELBO gradient estimate and one Adam step uphill (none when no draw was valid). */
  step(): void {
    const theta = this.theta, grad = this.grad
    const valid = this.estimator.gradient(theta, grad)
    this.iteration++
    if (valid === 0) {
      this.failedSteps++
      if (++this.consecutiveFailures >= MAX_FAILED) {
        throw new NonFiniteDensityError({ algorithm: "VI", iteration: this.iteration, steps: this.consecutiveFailures, reasons: this.estimator.explainInvalid() })
      }
    } else {
      this.consecutiveFailures = 0
      this.adam()
    }
    const sum = this.windowSum
    for (let k = 0; k < theta.length; k++) sum[k] += theta[k]!
    this.windowCount++
  }

  /** Adam (Kingma & Ba 2015), ascending. */
  private adam(): void {
    const theta = this.theta, grad = this.grad, m = this.m, v = this.v, lr = this.config.learningRate
    this.beta1Power *= BETA1
    this.beta2Power *= BETA2
    const c1 = 1 / (1 - this.beta1Power), c2 = 1 / (1 - this.beta2Power)
    for (let k = 0; k < theta.length; k++) {
      const gk = grad[k]!
      const mk = (m[k] = BETA1 * m[k]! + (1 - BETA1) * gk)
      const vk = (v[k] = BETA2 * v[k]! + (1 - BETA2) * gk * gk)
      theta[k] += (lr * mk * c1) / (Math.sqrt(vk * c2) + ADAM_EPSILON)
    }
  }

  /**
   * Ends a window: its ELBO is estimated at the average of its iterates, and once there are 2W
   * estimates the means of the last W and the W before are compared; the fitted guide is the
   * average of the iterates of the last W windows.
   */
  private endWindow(): void {
    const size = this.theta.length, W = this.block
    const slot = this.windows % W
    const means = this.windowMeans, sum = this.windowSum, n = this.windowCount
    for (let k = 0; k < size; k++) means[slot * size + k] = sum[k]! / n
    this.windowCounts[slot] = n
    sum.fill(0)
    this.windowCount = 0
    this.windows++
    this.record(this.estimator.elbo(this.windowViews[slot]!))
    this.fit()
    const e = this.elbo, k = e.length - 1
    // e[0] is the start's estimate: the blocks are made of window estimates e[1 …]
    if (k < 2 * W) return
    let recent = 0, before = 0
    for (let j = 0; j < W; j++) {
      recent += e[k - j]!
      before += e[k - W - j]!
    }
    recent /= W
    before /= W
    const change = Math.abs((recent - before) / recent)
    this.relativeChange = change === change ? change : Infinity
    if (this.relativeChange < this.config.tolerance) {
      this.converged = true
      this.done = true
    }
  }

  /** The fitted guide: the average of the last min(W, windows) windows' iterates, weighted by their lengths. */
  private fit(): void {
    const size = this.theta.length, W = this.block, fitted = this.fitted
    const used = Math.min(W, this.windows)
    fitted.fill(0)
    let total = 0
    for (let w = 0; w < used; w++) {
      const c = this.windowCounts[w]!
      total += c
      for (let k = 0; k < size; k++) fitted[k] += c * this.windowMeans[w * size + k]!
    }
    for (let k = 0; k < size; k++) fitted[k]! /= total
  }

  /** Steps until converged, the iteration limit, or the clock passes `deadline`; returns whether the optimisation is over. */
  advance(deadline: number, clockEvery = CLOCK_EVERY): boolean {
    const { iterations, evalEvery } = this.config
    while (!this.done) {
      this.step()
      if (this.iteration % evalEvery === 0 || this.iteration === iterations) this.endWindow()
      if (this.iteration >= iterations) this.done = true
      if (deadline < Infinity && this.iteration % clockEvery === 0 && now() > deadline) break
    }
    return this.done
  }

  /** Whether the last convergence check looked like divergence (Stan's warning). */
  get diverging(): boolean {
    return this.relativeChange > DIVERGING
  }

  /** The ELBO at the fitted guide, on the evaluation draws. */
  fittedElbo(): number {
    return this.estimator.elbo(this.fitted)
  }
}

/** Offset of row i of the packed lower triangle. */
const row = (i: number): number => (i * (i + 1)) / 2

/** The Gaussian guide on a target's unconstrained space, with the reparameterised gradient. */
export class GaussianGuide implements Estimator {
  readonly target: Target
  readonly dimension: number
  readonly fullRank: boolean
  readonly size: number
  readonly gradientSamples: number
  /** The diagonal scales exp(ω_i) or exp(ρ_i) of the parameters being used. */
  private readonly scale: Float64Array
  private readonly eps: Float64Array
  private readonly zeta: Float64Array
  private readonly g: Float64Array
  private readonly evalEps: Float64Array
  private readonly evalHalfSquares: Float64Array
  private readonly rng: CoreRng.Rng
  /** The last draw that was not valid (for the error's explanation). */
  private readonly lastInvalid: Float64Array
  rejectedDraws = 0
  gradientEvaluations = 0

  constructor(target: Target, family: Family, gradientSamples: number, evalSamples: number, rng: CoreRng.Rng, evalRng: CoreRng.Rng) {
    const d = target.dimension
    this.target = target
    this.dimension = d
    this.fullRank = family === "fullRank"
    this.size = d + (this.fullRank ? row(d) : d)
    this.gradientSamples = gradientSamples
    this.scale = new Float64Array(d)
    this.eps = new Float64Array(d)
    this.zeta = new Float64Array(d)
    this.g = new Float64Array(d)
    this.lastInvalid = new Float64Array(d)
    this.rng = rng
    this.evalEps = new Float64Array(evalSamples * d)
    this.evalHalfSquares = new Float64Array(evalSamples)
    for (let k = 0; k < evalSamples; k++) {
      let ss = 0
      for (let i = 0; i < d; i++) {
        const e = (this.evalEps[k * d + i] = evalRng.normal())
        ss += e * e
      }
      this.evalHalfSquares[k] = 0.5 * ss
    }
  }

  /** The starting parameters: μ = start, ω = log initScale (or L = initScale·I). */
  initial(start: Float64Array, initScale: number): Float64Array {
    const d = this.dimension, theta = new Float64Array(this.size)
    theta.set(start)
    const logScale = Math.log(initScale)
    for (let i = 0; i < d; i++) theta[d + (this.fullRank ? row(i) + i : i)] = logScale
    return theta
  }

  /** exp of the diagonal parameters of `params` into `scale`. */
  private prepare(params: Float64Array): void {
    const d = this.dimension, scale = this.scale
    if (this.fullRank) for (let i = 0; i < d; i++) scale[i] = Math.exp(params[d + row(i) + i]!)
    else for (let i = 0; i < d; i++) scale[i] = Math.exp(params[d + i]!)
  }

  /** ζ = μ + L ε for `params` (after `prepare(params)`). */
  private transform(params: Float64Array, eps: Float64Array, epsOffset: number, out: Float64Array): void {
    const d = this.dimension, scale = this.scale
    if (!this.fullRank) {
      for (let i = 0; i < d; i++) out[i] = params[i]! + scale[i]! * eps[epsOffset + i]!
      return
    }
    for (let i = 0; i < d; i++) {
      const r = d + row(i)
      let z = params[i]! + scale[i]! * eps[epsOffset + i]!
      for (let j = 0; j < i; j++) z += params[r + j]! * eps[epsOffset + j]!
      out[i] = z
    }
  }

  /** Σ log L_ii + (d/2)(1 + log 2π). */
  entropy(params: Float64Array): number {
    const d = this.dimension
    let h = d * (0.5 + HALF_LOG_2PI)
    for (let i = 0; i < d; i++) h += this.fullRank ? params[d + row(i) + i]! : params[d + i]!
    return h
  }

  /**
   * The ELBO at `params` on the fixed evaluation draws: the mean of log p(ζ_k) − log q(ζ_k), with
   * log q(ζ_k) = −‖ε_k‖²/2 − Σ log L_ii − (d/2) log 2π. Against log p plus the exact entropy, the
   * two differ by the constant mean(‖ε_k‖²)/2 − d/2 over a run (so the convergence check is the
   * same), but this one has no variance when q is the posterior. Non-finite draws are skipped.
   */
  elbo(params: Float64Array): number {
    const d = this.dimension, K = this.evalHalfSquares.length, zeta = this.zeta, halfSq = this.evalHalfSquares
    this.prepare(params)
    let sum = 0, n = 0
    for (let k = 0; k < K; k++) {
      this.transform(params, this.evalEps, k * d, zeta)
      const lp = this.target.logDensity(zeta)
      if (lp > -Infinity && lp < Infinity) {
        sum += lp + halfSq[k]!
        n++
      } else this.rejectedDraws++
    }
    return n === 0 ? -Infinity : sum / n + this.entropy(params) - 0.5 * d
  }

  /** The reparameterised gradient of the ELBO at θ, averaged over the valid draws. */
  gradient(theta: Float64Array, grad: Float64Array): number {
    const d = this.dimension, eps = this.eps, zeta = this.zeta, g = this.g
    const S = this.gradientSamples, rng = this.rng, fullRank = this.fullRank, scale = this.scale
    grad.fill(0)
    this.prepare(theta)
    let valid = 0
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < d; i++) eps[i] = rng.normal()
      this.transform(theta, eps, 0, zeta)
      const lp = this.target.logDensityGradient(zeta, g)
      this.gradientEvaluations++
      let ok = lp > -Infinity && lp < Infinity
      for (let i = 0; ok && i < d; i++) ok = g[i]! - g[i]! === 0
      if (!ok) {
        this.rejectedDraws++
        this.lastInvalid.set(zeta)
        continue
      }
      valid++
      if (!fullRank) {
        for (let i = 0; i < d; i++) {
          grad[i] += g[i]!
          grad[d + i] += g[i]! * eps[i]! * scale[i]!
        }
      } else {
        for (let i = 0; i < d; i++) {
          const gi = g[i]!, r = d + row(i)
          grad[i] += gi
          for (let j = 0; j < i; j++) grad[r + j] += gi * eps[j]!
          grad[r + i] += gi * eps[i]! * scale[i]!
        }
      }
    }
    if (valid === 0) return 0
    const inv = 1 / valid
    for (let k = 0; k < grad.length; k++) grad[k]! *= inv
    // the entropy's gradient: 1 on every log-scale parameter
    if (fullRank) for (let i = 0; i < d; i++) grad[d + row(i) + i] += 1
    else for (let i = 0; i < d; i++) grad[d + i] += 1
    return valid
  }

  explainInvalid(): Array<string> {
    return this.target.explain(this.lastInvalid)
  }

  /** A draw ζ from the guide with `params` into `out` (ε from `rng`); returns log q(ζ). */
  draw(params: Float64Array, rng: CoreRng.Rng, out: Float64Array): number {
    const d = this.dimension, eps = this.eps
    this.prepare(params)
    let ss = 0
    for (let i = 0; i < d; i++) {
      const e = (eps[i] = rng.normal())
      ss += e * e
    }
    this.transform(params, eps, 0, out)
    return -0.5 * ss - this.entropy(params) + d * 0.5
  }

  /** The guide's mean μ. */
  mean(params: Float64Array): Float64Array {
    return params.slice(0, this.dimension)
  }

  /** The guide's marginal standard deviations, √(L Lᵀ)_ii. */
  sd(params: Float64Array): Float64Array {
    const d = this.dimension, p = params
    const out = new Float64Array(d)
    for (let i = 0; i < d; i++) {
      if (!this.fullRank) out[i] = Math.exp(p[d + i]!)
      else {
        const r = d + row(i)
        let s = Math.exp(2 * p[r + i]!)
        for (let j = 0; j < i; j++) s += p[r + j]! * p[r + j]!
        out[i] = Math.sqrt(s)
      }
    }
    return out
  }

  /** The full-rank guide's L, row-major d × d (zeros above the diagonal). */
  scaleTril(params: Float64Array): Float64Array {
    const d = this.dimension, p = params
    const out = new Float64Array(d * d)
    for (let i = 0; i < d; i++) {
      const r = d + row(i)
      for (let j = 0; j < i; j++) out[i * d + j] = p[r + j]!
      out[i * d + i] = Math.exp(p[r + i]!)
    }
    return out
  }
}
