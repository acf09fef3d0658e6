// The engine behind `Tempered.runUnsafe` / `Tempered.run`: SMC samplers (Del Moral, Doucet &
// Jasra 2006) on the sequence of tempered targets π_β(x) ∝ p(x) L(x)^β, 0 = β₀ < β₁ < … < β_T = 1,
// of a static model, on the unconstrained space of its `LogDensity` sites.
//
// Densities (internal/temperedDensity.ts). Two `LogDensity` objects of the same model: `full`, log p(x, y) + log|J| (every
// observation and factor), and `prior`, the same with every observation and factor scaled by 0
// (`Combinators.mask` on all observations, `Combinators.scale(·, 0)` for factors, inside the
// run's own layers, so a `condition` layer's observations are masked too): log p(x) + log|J|.
// The log likelihood at q is full(q) − prior(q), and log π_β(q) = prior(q) + β·(full(q) − prior(q)).
// Both are compiled once (LogDensity's fast path), so a point costs two compiled calls and no
// allocation, and β is a plain number: no density is rebuilt as the temperature moves. (A single
// density with observations scaled by β would bake β into the compiled tape.)
//
// Particles start as exact prior draws: the model runs under a small handler that draws each
// site from its distribution and writes its unconstrained coordinates (the site's bijection),
// so the initial weights are uniform. A draw whose prior density is not finite on the
// unconstrained space (a value that rounded onto the support's boundary) is drawn again (a
// null set: no bias) and counted.
//
// Step t: the next temperature by bisection on Δ = β_t − β_{t−1} so that the conditional ESS
// of the incremental weights w_i = L(x_i)^Δ (Zhou, Johansen & Aston 2016, §3.3),
//   CESS(Δ) = N (Σ W_i w_i)² / Σ W_i w_i²,
// equals ρ·CESS(0⁺) — ρ·N when every particle has a positive likelihood (CESS is non-increasing
// in Δ: its log-derivative is 2(E_Δ[ℓ] − E_{2Δ}[ℓ]) ≤ 0, the exponential tilt raising the mean);
// ρ = 0.5 by default, as in Jasra, Stephens, Doucet & Tsagaris (2011) and Zhou et al. The log
// evidence gains log Σ W_i w_i (Del Moral et al. 2006, §3.3; unbiased in Z for a fixed schedule),
// the weights become W_i ∝ W_i w_i, and unless β_t = 1 the particles are resampled (systematic
// by default) and moved by K MCMC sweeps that leave π_{β_t} invariant.
//
// Moves. The proposal's shape comes from the weighted population just before resampling (the
// ESS is then ρN, not the duplicates of a resampled or collapsed cloud): the weighted mean,
// then the centred weighted second moments (two passes: the one-pass form E[x²] − E[x]² loses
// every digit when the spread is small beside the location), Σ̂ = Σ W_i (x_i − x̄)(x_i − x̄)ᵀ /
// (1 − Σ W_i²). `rwmh`: Gaussian random walk x' = x + s·(2.38/√d)·L z, L Lᵀ = Σ̂, z ~ N(0, I)
// (Roberts & Rosenthal 2001: the scale 2.38²/d of the target covariance is optimal for
// Gaussian-like targets, acceptance ≈ 0.234, 0.44 in one dimension), with s adapted after
// every sweep of the population, log s += (acceptance − target). `nuts`: NUTS transitions
// (`Hamiltonian`, internal/hamiltonian.ts) on π_β, inverse metric the population's variances
// (or Σ̂, `metric: "dense"`), step size d^(−1/4) at first and adapted after every sweep,
// log ε += 2(mean acceptance statistic − 0.8). A population too small or too degenerate for Σ̂ (ESS < 2, or
// Σ̂ not positive definite after a 1e-10 jitter) keeps the previous shape (counted). Proposals
// whose tempered density is not finite are rejected (counted). Adapting a kernel from the
// population keeps each move π_β-invariant given the population (Jasra et al. 2011; Beskos,
// Jasra, Kantas & Thiery 2016 for the consistency of adaptive SMC).
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import { Execution, type Context } from "@fugue/runtime/Execution"
import * as LogDensity from "../LogDensity.ts"
import { ZeroWeightError } from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import type { Resampler } from "../Resampling.ts"
import { Hamiltonian, Metric } from "./hamiltonian.ts"
import { Recorder } from "./mhRecorder.ts"
import { now, sideStream, wrapHandler } from "./shell.ts"
import { ALGORITHM, cholesky, DrawHandler, priorTransform, tempered, TemperedTarget } from "./temperedDensity.ts"
import { essReport } from "./essHistory.ts"

export { ALGORITHM }

export type MoveKind = "rwmh" | "nuts"

export interface EngineConfig {
  readonly particles: number
  /** ρ: the conditional ESS each step aims at, as a fraction of its largest value. */
  readonly targetEss: number
  readonly moves: MoveKind
  readonly moveSteps: number
  readonly resampler: Resampler
  readonly maxSteps: number
  readonly metric: "diag" | "dense"
  readonly maxTreeDepth: number
  readonly gradient: "auto" | LogDensity.GradientSource
  readonly maxInstructions: number | undefined
}

/** Roberts & Rosenthal (2001): the random-walk covariance 2.38²/d × the target's. */
const RW_FACTOR = 2.38
/** Draws tried per particle before giving up on a prior whose density is never finite. */
const DRAW_ATTEMPTS = 100
/** The mean acceptance statistic NUTS moves aim at (Stan's default target). */
const NUTS_ACCEPTANCE = 0.8
/** Particles between two looks at the clock. */
const CLOCK_EVERY = 4

const INIT = 0, REWEIGHT = 1, MOVE = 2, DONE = 3

export class TemperedEngine {
  readonly model: Model<unknown>
  readonly config: EngineConfig
  readonly rng: Rng
  readonly transform: Transform
  readonly full: LogDensity.LogDensity
  readonly prior: LogDensity.LogDensity
  readonly n: number
  readonly d: number
  readonly context: Context = { algorithm: ALGORITHM, chain: undefined, iteration: 0 }
  /** Particle i's unconstrained point: positions[i·d … i·d + d). */
  private positions: Float64Array
  private spare: Float64Array
  /** log prior (Jacobian included) and log likelihood of each particle. */
  private logPrior: Float64Array
  private logLikelihood: Float64Array
  private sparePrior: Float64Array
  private spareLikelihood: Float64Array
  /** Normalised log weights, and the weights. */
  private readonly logWeights: Float64Array
  private readonly weights: Float64Array
  beta = 0
  logEvidence = 0
  steps = 0
  readonly temperatures: Array<number> = []
  readonly ess: Array<number> = []
  readonly increments: Array<number> = []
  readonly acceptance: Array<number> = []
  readonly moveScales: Array<number> = []
  proposals = 0
  accepted = 0
  invalidProposals = 0
  invalidDraws = 0
  covarianceFallbacks = 0
  divergences = 0
  densityEvaluations = 0
  scheduleTruncated = false
  private phase = INIT
  private cursor = 0
  private sweep = 0
  private sweepAccepted = 0
  private stepAccepted = 0
  private readonly draw: DrawHandler
  private readonly execution: Execution<unknown, void>
  // the proposal's shape: its Cholesky factor (rwmh) or the metric (nuts), and the scratch
  private readonly mean: Float64Array
  private readonly covariance: Float64Array
  private readonly factor: Float64Array
  private readonly factorScratch: Float64Array
  private haveFactor = false
  /** rwmh: the adapted multiplier s of 2.38/√d. */
  private scale = 1
  private readonly z: Float64Array
  private readonly proposal: Float64Array
  private readonly targetAcceptance: number
  private readonly target: TemperedTarget | undefined
  private readonly ham: Hamiltonian | undefined
  private readonly varianceScratch: Float64Array

  constructor(model: Model<unknown>, config: EngineConfig, rng: Rng, transform: Transform | undefined) {
    this.model = model
    this.config = config
    this.rng = rng
    this.transform = transform ?? identity
    const options = { transform: this.transform, maxInstructions: config.maxInstructions, gradient: config.gradient }
    this.full = LogDensity.make(model, options)
    this.prior = LogDensity.make(model, { ...options, transform: priorTransform(this.transform) })
    const d = this.full.dimension
    if (this.prior.dimension !== d || this.prior.sites.some((s, k) => s.address !== this.full.sites[k]!.address)) {
      throw new LogDensity.StructureChangedError({ address: this.full.sites[0]?.address ?? "", reason: "the model's sites differ without its observations" })
    }
    const n = config.particles
    this.n = n
    this.d = d
    this.positions = new Float64Array(n * d)
    this.spare = new Float64Array(n * d)
    this.logPrior = new Float64Array(n)
    this.logLikelihood = new Float64Array(n)
    this.sparePrior = new Float64Array(n)
    this.spareLikelihood = new Float64Array(n)
    this.logWeights = new Float64Array(n).fill(-Math.log(n))
    this.weights = new Float64Array(n).fill(1 / n)
    this.mean = new Float64Array(d)
    this.covariance = new Float64Array(d * d)
    this.factor = new Float64Array(d * d)
    this.factorScratch = new Float64Array(d * d)
    this.varianceScratch = new Float64Array(d)
    this.z = new Float64Array(d)
    this.proposal = new Float64Array(d)
    this.targetAcceptance = d === 1 ? 0.44 : 0.234
    this.draw = new DrawHandler(rng, this.full.sites)
    const side = this.transform === identity ? rng : sideStream(rng)
    this.execution = new Execution<unknown, void>(model, wrapHandler(ALGORITHM, this.transform, this.draw, side), {
      context: this.context,
      maxInstructions: config.maxInstructions
    })
    if (config.moves === "nuts" && d > 0) {
      this.target = new TemperedTarget(this.prior, this.full)
      this.ham = new Hamiltonian(this.target, new Metric(config.metric, d), rng)
      this.ham.maxTreeDepth = config.maxTreeDepth
    }
  }

  get finished(): boolean {
    return this.phase === DONE
  }

  /** Progress: particles drawn while drawing the prior, then steps (the total is not known in advance). */
  get progress(): { readonly done: number; readonly total: number; readonly phase: string } {
    return this.phase === INIT
      ? { done: this.cursor, total: this.n, phase: "prior" }
      : { done: this.steps, total: this.phase === DONE ? this.steps : this.steps + 1, phase: "tempering" }
  }

  /** Does the work that fits before `deadline`; returns whether the run is finished. */
  advance(deadline: number): boolean {
    while (this.phase !== DONE) {
      if (this.phase === INIT) {
        if (!this.drawParticles(deadline)) return false
      } else if (this.phase === REWEIGHT) {
        this.reweight()
      } else if (!this.moveParticles(deadline)) return false
      if (deadline < Infinity && now() > deadline && this.phase !== DONE) return false
    }
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // the prior

  private drawParticles(deadline: number): boolean {
    const n = this.n, d = this.d
    for (let i = this.cursor; i < n; i++) {
      this.context.iteration = i
      let attempts = 0
      while (true) {
        attempts++
        let lp0 = -Infinity, lp1 = -Infinity
        try {
          this.draw.reset(this.positions, i * d)
          this.execution.runFresh(this.model)
          const q = this.positions.subarray(i * d, i * d + d)
          lp0 = this.prior.logDensity(q)
          if (lp0 > -Infinity && lp0 < Infinity) lp1 = this.full.logDensity(q)
          this.densityEvaluations += 2
        } catch (error) {
          if (!(error instanceof InvalidDistributionError)) throw error
        }
        if (lp0 > -Infinity && lp0 < Infinity && lp1 < Infinity) {
          this.logPrior[i] = lp0
          this.logLikelihood[i] = lp1 === -Infinity ? -Infinity : lp1 - lp0
          break
        }
        this.invalidDraws++
        if (attempts >= DRAW_ATTEMPTS) {
          throw new ZeroWeightError({
            algorithm: ALGORITHM,
            attempts,
            detail: `no prior draw for particle ${i} had a finite log density on the unconstrained space in ${attempts} attempts`
          })
        }
      }
      if ((i & (CLOCK_EVERY - 1)) === CLOCK_EVERY - 1 && deadline < Infinity && now() > deadline) {
        this.cursor = i + 1
        return false
      }
    }
    this.cursor = 0
    // the first proposal shape: the prior population's (equal weights)
    this.updateShape(true)
    this.phase = REWEIGHT
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // reweighting: the next temperature, the evidence, resampling

  /** CESS(Δ) / N of the incremental weights e^{Δ ℓ} (shifted by ℓmax). */
  private cess(delta: number, top: number): number {
    const weights = this.weights, ll = this.logLikelihood
    let s1 = 0, s2 = 0
    for (let i = 0; i < this.n; i++) {
      const l = ll[i]!
      const W = weights[i]!
      if (l === -Infinity || W === 0) continue
      const w = Math.exp(delta * (l - top))
      s1 += W * w
      s2 += W * w * w
    }
    return s2 > 0 ? (s1 * s1) / s2 : 0
  }

  /** The next Δ: CESS(Δ) = ρ·CESS(0⁺), by bracketing then bisection (Zhou, Johansen & Aston 2016). */
  private nextDelta(): number {
    const ll = this.logLikelihood, weights = this.weights, n = this.n
    let top = -Infinity, alive = 0
    for (let i = 0; i < n; i++) {
      if (weights[i] === 0 || ll[i] === -Infinity) continue
      alive += weights[i]!
      if (ll[i]! > top) top = ll[i]!
    }
    const rest = 1 - this.beta
    if (top === -Infinity) return rest // every weight is zero: reported by the caller
    if (this.steps + 1 >= this.config.maxSteps) {
      this.scheduleTruncated = true
      return rest
    }
    // CESS(0⁺)/N = Σ W over the particles of positive likelihood
    const target = this.config.targetEss * alive
    if (this.cess(rest, top) >= target) return rest
    let hi = rest
    let lo = hi / 2
    for (let guard = 0; guard < 2100 && this.cess(lo, top) < target; guard++) {
      hi = lo
      lo = hi / 2
      if (lo === 0) return hi
    }
    for (let it = 0; it < 100 && hi - lo > 1e-14 * hi; it++) {
      const mid = 0.5 * (lo + hi)
      const c = this.cess(mid, top)
      if (Math.abs(c - target) <= 1e-6 * target) return mid
      if (c >= target) lo = mid
      else hi = mid
    }
    return lo
  }

  private reweight(): void {
    const n = this.n, lw = this.logWeights, ll = this.logLikelihood, w = this.weights
    this.context.iteration = this.steps
    const delta = this.nextDelta()
    const beta = delta === 1 - this.beta ? 1 : Math.min(1, this.beta + delta)
    // incremental weights and log Σ W_i w_i (Del Moral, Doucet & Jasra 2006)
    let max = -Infinity
    for (let i = 0; i < n; i++) {
      const l = ll[i]!
      const v = l === -Infinity || lw[i] === -Infinity ? -Infinity : lw[i]! + delta * l
      lw[i] = v
      if (v > max) max = v
    }
    this.steps++
    if (max === -Infinity) {
      throw new ZeroWeightError({
        algorithm: ALGORITHM,
        attempts: n,
        detail: `every particle has likelihood 0 at step ${this.steps} (temperature ${beta})${this.invalidDraws > 0 ? `; ${this.invalidDraws} prior draws were redrawn` : ""}`
      })
    }
    let sum = 0
    for (let i = 0; i < n; i++) sum += Math.exp(lw[i]! - max)
    const lse = max + Math.log(sum)
    const increment = lse // the weights before were normalised: log Σ W_i w_i
    this.logEvidence += increment
    let sumSq = 0
    for (let i = 0; i < n; i++) {
      lw[i] = lw[i]! - lse
      const wi = Math.exp(lw[i]!)
      w[i] = wi
      sumSq += wi * wi
    }
    const ess = 1 / sumSq
    this.beta = beta
    this.temperatures.push(beta)
    this.ess.push(ess)
    this.increments.push(increment)
    if (beta >= 1) {
      this.phase = DONE
      return
    }
    if (this.d > 0 && this.config.moveSteps > 0) this.updateShape(false)
    this.resample()
    this.phase = this.d > 0 && this.config.moveSteps > 0 ? MOVE : REWEIGHT
    this.startMoves()
  }

  private resample(): void {
    const n = this.n, d = this.d
    const ancestors = this.config.resampler(this.weights, n, this.rng)
    const from = this.positions, to = this.spare
    for (let k = 0; k < n; k++) {
      const a = ancestors[k]!
      for (let j = 0; j < d; j++) to[k * d + j] = from[a * d + j]!
      this.sparePrior[k] = this.logPrior[a]!
      this.spareLikelihood[k] = this.logLikelihood[a]!
    }
    this.positions = to
    this.spare = from
    const p = this.logPrior, l = this.logLikelihood
    this.logPrior = this.sparePrior
    this.logLikelihood = this.spareLikelihood
    this.sparePrior = p
    this.spareLikelihood = l
    this.logWeights.fill(-Math.log(n))
    this.weights.fill(1 / n)
  }

  // ---------------------------------------------------------------------------------------------
  // the proposal's shape from the weighted population

  /**
   * Weighted mean and covariance in two passes (the centred second moments), into `mean` and
   * `covariance`; then the Cholesky factor (rwmh) or the metric (nuts). Keeps the previous shape
   * when the population cannot support an estimate (counted, except for the very first).
   */
  private updateShape(first: boolean): void {
    const n = this.n, d = this.d, x = this.positions, w = this.weights, m = this.mean, c = this.covariance
    if (d === 0) return
    let sumSq = 0
    for (let i = 0; i < n; i++) sumSq += w[i]! * w[i]!
    let ok = 1 / sumSq >= 2
    if (ok) {
      m.fill(0)
      for (let i = 0; i < n; i++) {
        const wi = w[i]!
        if (wi === 0) continue
        for (let j = 0; j < d; j++) m[j] = m[j]! + wi * x[i * d + j]!
      }
      c.fill(0)
      for (let i = 0; i < n; i++) {
        const wi = w[i]!
        if (wi === 0) continue
        const row = i * d
        for (let j = 0; j < d; j++) {
          const dj = x[row + j]! - m[j]!
          for (let k = 0; k <= j; k++) c[j * d + k] = c[j * d + k]! + wi * dj * (x[row + k]! - m[k]!)
        }
      }
      // reliability weights: E Σ̂ = Σ with the 1 / (1 − Σ W²) correction
      const unbias = 1 / (1 - sumSq)
      for (let j = 0; j < d; j++) {
        for (let k = 0; k <= j; k++) {
          const v = c[j * d + k]! * unbias
          c[j * d + k] = v
          c[k * d + j] = v
        }
      }
      ok = this.factorize()
    }
    if (ok) this.haveFactor = true
    else if (!first || this.haveFactor) this.covarianceFallbacks++
    if (!this.haveFactor) {
      // no usable population shape yet: the identity
      this.factor.fill(0)
      for (let j = 0; j < d; j++) this.factor[j * d + j] = 1
      this.covariance.fill(0)
      for (let j = 0; j < d; j++) this.covariance[j * d + j] = 1
      this.haveFactor = true
      this.factorize()
    }
  }

  /** The Cholesky factor of `covariance` (with a 1e-10 jitter if needed) and the NUTS metric; false (nothing changed) if neither works. */
  private factorize(): boolean {
    const d = this.d, c = this.covariance, L = this.factorScratch
    let good = cholesky(c, d, L)
    if (!good) {
      let trace = 0
      for (let j = 0; j < d; j++) trace += c[j * d + j]!
      const jitter = 1e-10 * (trace / d)
      if (jitter > 0 && jitter < Infinity) {
        for (let j = 0; j < d; j++) c[j * d + j] = c[j * d + j]! + jitter
        good = cholesky(c, d, L)
      }
    }
    if (!good) return false
    if (this.ham !== undefined) {
      if (this.config.metric === "dense") {
        if (!this.ham.metric.set(c)) return false
      } else {
        const v = this.varianceScratch
        for (let j = 0; j < d; j++) v[j] = c[j * d + j]!
        this.ham.metric.set(v)
      }
    }
    this.factor.set(L)
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // moves

  private startMoves(): void {
    this.cursor = 0
    this.sweep = 0
    this.sweepAccepted = 0
    this.stepAccepted = 0
    const ham = this.ham
    if (ham !== undefined && this.phase === MOVE) {
      this.target!.beta = this.beta
      // the metric follows the population, so in its units the target is about standard at
      // every temperature: the first step size is d^(−1/4) (the HMC scaling of Beskos, Pillai,
      // Roberts, Sanz-Serna & Stuart 2013; Stan's one-particle heuristic was measured too noisy
      // here, overshooting into divergences), adapted after every sweep from then on
      if (this.acceptance.length === 0) ham.stepSize = Math.pow(this.d, -0.25)
    }
  }

  private moveParticles(deadline: number): boolean {
    const n = this.n, K = this.config.moveSteps
    while (this.sweep < K) {
      for (let i = this.cursor; i < n; i++) {
        if (this.ham !== undefined) this.nutsMove(i)
        else this.rwmhMove(i)
        if ((i & (CLOCK_EVERY - 1)) === CLOCK_EVERY - 1 && deadline < Infinity && now() > deadline) {
          this.cursor = i + 1
          return false
        }
      }
      this.cursor = 0
      this.endSweep()
    }
    this.acceptance.push(this.stepAccepted / (n * K))
    this.moveScales.push(this.ham !== undefined ? this.ham.stepSize : (this.scale * RW_FACTOR) / Math.sqrt(this.d))
    this.phase = REWEIGHT
    return true
  }

  private endSweep(): void {
    const rate = this.sweepAccepted / this.n
    this.stepAccepted += this.sweepAccepted
    this.sweepAccepted = 0
    this.sweep++
    if (this.ham === undefined) {
      // log s += (acceptance − target) after every sweep of the population
      this.scale = Math.min(1e4, Math.max(1e-4, this.scale * Math.exp(rate - this.targetAcceptance)))
    } else {
      // log ε += 2 (mean acceptance statistic − 0.8): at most ×0.2 or ×1.5 per sweep
      const ham = this.ham
      ham.stepSize = Math.min(1e4, Math.max(1e-8, ham.stepSize * Math.exp(2 * (rate - NUTS_ACCEPTANCE))))
    }
  }

  private rwmhMove(i: number): void {
    const d = this.d, x = this.positions, L = this.factor, z = this.z, q = this.proposal, rng = this.rng
    const row = i * d
    const sigma = (this.scale * RW_FACTOR) / Math.sqrt(d)
    for (let j = 0; j < d; j++) z[j] = rng.normal()
    for (let j = 0; j < d; j++) {
      let s = 0
      for (let k = 0; k <= j; k++) s += L[j * d + k]! * z[k]!
      q[j] = x[row + j]! + sigma * s
    }
    this.proposals++
    const beta = this.beta
    const lp0 = this.prior.logDensity(q)
    this.densityEvaluations++
    let lp1 = -Infinity
    if (lp0 > -Infinity && lp0 < Infinity) {
      lp1 = this.full.logDensity(q)
      this.densityEvaluations++
    }
    if (!(lp0 > -Infinity && lp0 < Infinity && lp1 > -Infinity && lp1 < Infinity)) {
      this.invalidProposals++
      return
    }
    const l = lp1 - lp0
    const logRatio = tempered(lp0, l, beta) - tempered(this.logPrior[i]!, this.logLikelihood[i]!, beta)
    if (logRatio >= 0 || rng.uniform() < Math.exp(logRatio)) {
      for (let j = 0; j < d; j++) x[row + j] = q[j]!
      this.logPrior[i] = lp0
      this.logLikelihood[i] = l
      this.accepted++
      this.sweepAccepted++
    }
  }

  private nutsMove(i: number): void {
    const d = this.d, x = this.positions, ham = this.ham!
    const row = i * d
    const q = x.subarray(row, row + d)
    // the sweep's transitions one by one, so each particle's K transitions are consecutive in
    // the sweep loop (sweep k moves every particle once)
    ham.setPosition(q)
    ham.nutsTransition()
    this.proposals++
    const s = ham.stats
    this.sweepAccepted += s.acceptStat
    if (s.diverging) this.divergences++
    const cur = ham.current.q
    let moved = false
    for (let j = 0; j < d; j++) if (cur[j] !== q[j]) moved = true
    if (!moved) return
    this.accepted++
    const lp0 = this.prior.logDensity(cur)
    const lp1 = this.full.logDensity(cur)
    this.densityEvaluations += 2
    if (!(lp0 > -Infinity && lp0 < Infinity && lp1 > -Infinity && lp1 < Infinity)) {
      // cannot happen for a point NUTS selected (its tempered density is finite); kept as a guard
      this.invalidProposals++
      return
    }
    for (let j = 0; j < d; j++) x[row + j] = cur[j]!
    this.logPrior[i] = lp0
    this.logLikelihood[i] = lp1 - lp0
  }

  // ---------------------------------------------------------------------------------------------
  // the result

  get gradientEvaluations(): number {
    return this.target?.evaluations ?? 0
  }

  /** The warnings of the run: collapse (from the ESS history), truncation, moves that did not move. */
  collectWarnings(): ReadonlyArray<string> {
    const report = essReport(ALGORITHM, this.ess, this.n, "step")
    const warnings = [...report.warnings]
    if (this.scheduleTruncated) {
      warnings.push(`${ALGORITHM}: the schedule reached maxSteps (${this.config.maxSteps}) and jumped to temperature 1 from ${this.temperatures[this.temperatures.length - 2] ?? 0}: the evidence is unreliable; raise maxSteps`)
    }
    const stuck: Array<number> = []
    for (let k = 0; k < this.acceptance.length; k++) if (this.acceptance[k]! < 0.01) stuck.push(k + 1)
    if (stuck.length > 0) {
      warnings.push(`${ALGORITHM}: the moves accepted under 1% of proposals after step${stuck.length > 1 ? "s" : ""} ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ", …" : ""}: the particles barely moved, so resampling left duplicates (raise moveSteps, or try moves: "nuts")`)
    }
    if (this.divergences > 0) {
      warnings.push(`${ALGORITHM}: ${this.divergences} of ${this.proposals} NUTS transitions diverged (each still leaves π_β invariant, but those particles moved less)`)
    }
    return warnings
  }

  get collapsedAt(): ReadonlyArray<number> {
    return essReport(ALGORITHM, this.ess, this.n, "step").collapsedAt
  }

  /** The weighted population as a posterior (constrained values; returns computed when read). */
  finish<S>(stats: S, seed: number | undefined): Posterior<unknown, S> {
    const n = this.n, d = this.d
    const builder = new Builder<unknown>(ALGORITHM, 1, n)
    const recorder = new Recorder(builder, 0)
    for (let i = 0; i < n; i++) {
      const q = this.positions.subarray(i * d, i * d + d)
      recorder.recordPoint(i, this.full, q, this.logPrior[i]! + this.logLikelihood[i]!)
      builder.logWeights[0][i] = this.logWeights[i]!
    }
    return builder.build({ weights: [Float64Array.from(this.weights)], logEvidence: [this.logEvidence], stats, seed })
  }
}
