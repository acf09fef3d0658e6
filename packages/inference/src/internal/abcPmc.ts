// ABC-SMC as population Monte Carlo (ABC-PMC: Beaumont, Cornuet, Marin & Robert 2009; the
// ABC-SMC of Toni, Welch, Strelkowa, Ipsen & Stumpf 2009 with its weights), behind
// `Abc.smcUnsafe` / `Abc.smc`.
//
// Generation 0 is N prior simulations (tolerance ε₀ = ∞; weights ∝ exp(logLikelihood +
// logFactors), equal for a pure simulator). Generation t ≥ 1, at tolerance
// ε_t = the weighted α-quantile of generation t−1's distances (never below the final
// `tolerance`): repeat until N are accepted — pick j with probability w_j, perturb it with the
// kernel K(· | θ_j), simulate, accept when d ≤ ε_t — then weight each accepted θ*
//
//   w ∝ π(θ*) · |dθ*/du*| · exp(logLikelihood + logFactors) / Σ_j w_j K(u* | u_j),
//
// the importance weight of the target π(θ) p(x | θ) 1[d(x) ≤ ε_t] against the mixture
// proposal Σ_j w_j K(· | θ_j) p(x | θ). π(θ*) is Σ log p over the parameter sites of the new
// trace (each given the sites before it); sites that are not parameters are drawn from their
// conditional prior in both target and proposal and cancel.
//
// The kernel, per parameter site:
//   continuous   Gaussian on the unconstrained scale u of the site's support (Bijection):
//                u* = u_j + L z, z ~ N(0, I), LLᵀ = Σ = 2 × the weighted covariance of the
//                previous population's u (Beaumont et al. 2009, §3: twice the weighted
//                variance; the full covariance is Filippi et al. 2013's multivariate form;
//                "diagonal" keeps its diagonal). θ* = T(u*) with T the site's bijection in the
//                new execution, and |dθ*/du*| = Π_sites |dT/du| is the change of variables
//                (π is a density on θ, the kernel one on u).
//   discrete     with probability 1 − p kept at θ_j's value, with probability p redrawn from
//                its conditional prior in the new execution:
//                k(θ*_d | θ_j) = (1 − p)·1[θ*_d = θ_{j,d}] + p·π(θ*_d | past).
// The proposal density of θ* given j is the product over sites in execution order, so the
// denominator is Σ_j w_j N(u*; u_j, Σ) Π_d k(θ*_d | θ_j). It costs O(N²·D) per generation,
// with the Cholesky solves y = L⁻¹u done once per particle.
//
// Stopping: after `generations` generations, at the final `tolerance`, when ε reaches 0, or
// when the tolerance stalls (the α-quantile equals ε_{t−1} and no particle is strictly closer:
// ties at ε_{t−1}; with some closer particle the largest such distance is taken instead).
// A generation is abandoned (the previous one is the result, with a warning) once its
// simulations exceed N / minAcceptance without N accepted, or the total reaches
// `maxSimulations`.
//
// Traces are borrowed from the run's pool (abcSimulator.ts): a rejected simulation's goes back
// at once; a population's once the next one replaces it (or, for an abandoned generation, at
// the abandonment); the result's once `finish` has copied it into the posterior. `returnAll`
// gives back whatever a failed or interrupted run still holds.
import type { PoolStats } from "@fugue/memory/TracePool"
import type { ChoiceValue, Trace } from "@fugue/runtime/Trace"
import { ZeroWeightError } from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import { type Layout, REDRAW, type SimulationHandler, type Slot } from "./abcHandler.ts"
import { ACCEPTABLE, IMPOSSIBLE, REJECTED_INVALID, type Simulator, structureError } from "./abcSimulator.ts"
import { weightedQuantile } from "./quantile.ts"
import { now, type PoolUse, poolUse } from "./shell.ts"
import { effectiveSampleSize, logSumExp, normalise } from "./weights.ts"

export type Kernel = "gaussian" | "diagonal"

export interface PmcConfig {
  readonly particles: number
  /** Generations after the prior one (Infinity: until another rule stops). */
  readonly generations: number
  readonly tolerance: number | undefined
  readonly minAcceptance: number
  readonly maxSimulations: number
  /** α: ε_t is the weighted α-quantile of the previous generation's distances. */
  readonly quantile: number
  readonly kernel: Kernel
  /** p: the probability of redrawing a discrete parameter from its conditional prior. */
  readonly redraw: number
}

/** Why the run stopped. */
export type StopReason = "generations" | "tolerance" | "exact" | "stalled" | "acceptance" | "budget"

/** What `finish` puts in the stats (Abc.SmcStats). */
export interface PmcOutcome {
  readonly particles: number
  /** Complete generations, the prior one (0) included. */
  readonly generations: number
  /** The tolerance of each complete generation (generation 0: Infinity). */
  readonly tolerances: ReadonlyArray<number>
  /** The ESS 1/Σw² of each complete generation's weights. */
  readonly ess: ReadonlyArray<number>
  /** Accepted / simulated in each complete generation. */
  readonly acceptanceRates: ReadonlyArray<number>
  readonly simulationsPerGeneration: ReadonlyArray<number>
  /** Simulations in all, an abandoned generation's included. */
  readonly simulations: number
  /** The result's tolerance (the last complete generation's). */
  readonly tolerance: number
  /** The result's distances, in draw order. */
  readonly distances: Float64Array
  /** The parameter sites the kernel perturbed, in visit order. */
  readonly parameters: ReadonlyArray<string>
  /** Simulations rejected for a NaN summary or distance (or a negative distance, a NaN or +∞ log weight, a parameter on the boundary of its support). */
  readonly invalid: number
  /** Simulations rejected because a factor, observation or the proposed parameters' prior was impossible (log weight −∞). */
  readonly impossible: number
  /** Simulations whose execution raised InvalidDistributionError (rejected, the run goes on). */
  readonly rejectedInvalid: number
  /** Why the run stopped: "generations", "tolerance", "exact" (ε = 0), "stalled", "acceptance" or "budget". */
  readonly stopped: StopReason
  /** Weight collapse (ESS below 10 % of the particles), an abandoned generation, a stalled tolerance, a final tolerance not reached. */
  readonly warnings: ReadonlyArray<string>
  /** How the run's trace pool did: one acquire per simulation, every trace returned by the end. */
  readonly tracePool: PoolUse
}

/** A complete generation. */
interface Population<A> {
  readonly size: number
  readonly traces: Array<Trace>
  readonly results: Array<A>
  readonly distances: Float64Array
  readonly logWeights: Float64Array
  readonly weights: Float64Array
  /** size × D unconstrained coordinates. */
  readonly u: Float64Array
  readonly discrete: Array<Array<ChoiceValue>>
}

const LOG_2PI = Math.log(2 * Math.PI)
const CLOCK_EVERY = 8
/** An ESS below this fraction of the particles gets a warning. */
const ESS_WARNING = 0.1

const sameValue = (a: ChoiceValue, b: ChoiceValue): boolean => {
  if (a === b) return true
  if (a instanceof Float64Array && b instanceof Float64Array && a.length === b.length) {
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false
    return true
  }
  return false
}

/** In-place Cholesky factor (lower, row-major d × d) of a symmetric matrix; false when not positive definite. */
const cholesky = (a: Float64Array, d: number): boolean => {
  for (let r = 0; r < d; r++) {
    for (let c = 0; c <= r; c++) {
      let s = a[r * d + c]
      for (let k = 0; k < c; k++) s -= a[r * d + k] * a[c * d + k]
      if (r === c) {
        if (!(s > 0)) return false
        a[r * d + r] = Math.sqrt(s)
      } else {
        a[r * d + c] = s / a[c * d + c]
      }
    }
    for (let c = r + 1; c < d; c++) a[r * d + c] = 0
  }
  return true
}

export class PmcSampler<A> {
  readonly simulator: Simulator<A>
  readonly handler: SimulationHandler
  readonly config: PmcConfig
  layout: Layout | undefined = undefined
  /** The generation being built (0 = the prior one). */
  generation = 0
  /** Its tolerance. */
  epsilon = Infinity
  current: Population<A> | undefined = undefined
  finished = false
  stopped: StopReason = "generations"
  readonly warnings: Array<string> = []
  readonly tolerances: Array<number> = []
  readonly essList: Array<number> = []
  readonly acceptanceRates: Array<number> = []
  readonly simulationsPerGeneration: Array<number> = []
  /** Simulations in the generation being built. */
  generationSimulations = 0
  // the generation being built
  private traces: Array<Trace> = []
  private results: Array<A> = []
  private distances: Array<number> = []
  private numerators: Array<number> = []
  private us: Array<Float64Array> = []
  private discretes: Array<Array<ChoiceValue>> = []
  private discreteLogProbs: Array<Float64Array> = []
  // the kernel around `current`
  private chol = new Float64Array(0)
  private logNormaliser = 0
  private whitened = new Float64Array(0)
  private cumulative = new Float64Array(0)
  private readonly plan: { u: Float64Array; discrete: Array<ChoiceValue | typeof REDRAW> } = { u: new Float64Array(0), discrete: [] }
  private z = new Float64Array(0)
  private readonly poolStart: PoolStats
  constructor(simulator: Simulator<A>, handler: SimulationHandler, config: PmcConfig) {
    this.simulator = simulator
    this.poolStart = simulator.pool.statsUnsafe()
    this.handler = handler
    this.config = config
    handler.track = true
  }
  get accepted(): number {
    return this.distances.length
  }
  /** Works until the run is finished or the clock passes `deadline`; returns whether it is finished. */
  step(deadline: number): boolean {
    const n = this.config.particles
    const sim = this.simulator
    while (!this.finished) {
      if (this.accepted >= n) {
        this.completeGeneration()
        continue
      }
      if (sim.simulations >= this.config.maxSimulations) {
        this.abandon("the maxSimulations budget is exhausted", "budget")
        continue
      }
      if (this.generationSimulations >= n / this.config.minAcceptance) {
        this.abandon("its acceptance rate fell below minAcceptance", "acceptance")
        continue
      }
      this.generationSimulations++
      if (this.generation === 0) this.simulatePrior()
      else this.simulateProposal()
      if ((sim.simulations & (CLOCK_EVERY - 1)) === 0 && deadline < Infinity && now() > deadline) return this.finished
    }
    return true
  }
  private simulatePrior(): void {
    const sim = this.simulator
    if (sim.simulate() !== ACCEPTABLE) return
    const h = this.handler
    if (this.layout === undefined) this.layout = layoutOf(h)
    const layout = this.layout
    const u = new Float64Array(layout.dimension)
    const discrete = new Array<ChoiceValue>(layout.discrete)
    for (let k = 0; k < h.addresses.length; k++) {
      const slot = layout.byAddress.get(h.addresses[k])
      const b = h.bijections[k]
      if (slot === undefined) throw structureError(sim.simulations - 1, h.addresses[k], "the first simulation did not have")
      if (slot.kind === "discrete") {
        if (b !== undefined) throw structureError(sim.simulations - 1, slot.address, "changed between discrete and continuous")
        discrete[slot.offset] = h.values[k]
      } else if (b === undefined || (b._tag === "Scalar") !== (slot.kind === "scalar") || (b._tag === "Vector" && b.dimension !== slot.dimension)) {
        throw structureError(sim.simulations - 1, slot.address, "changed its support")
      } else if (b._tag === "Scalar") {
        u[slot.offset] = b.inverse(h.values[k] as number)
      } else {
        b.inverse(h.values[k] as Float64Array, u, slot.offset)
      }
    }
    if (h.addresses.length !== layout.slots.length) this.missingSite()
    for (let k = 0; k < u.length; k++) {
      // a value on the boundary of its support has no unconstrained point
      if (!Number.isFinite(u[k])) {
        sim.invalid++
        return
      }
    }
    this.push(u, discrete, new Float64Array(0), sim.logWeight)
  }
  private simulateProposal(): void {
    const sim = this.simulator
    const h = this.handler
    const rng = h.rng
    const pop = this.current!
    const layout = this.layout!
    const d = layout.dimension
    // ancestor j ~ w (inverse CDF by bisection)
    const r = rng.uniform()
    let lo = 0, hi = pop.size - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.cumulative[mid] < r) lo = mid + 1
      else hi = mid
    }
    const j = lo
    const u = new Float64Array(d)
    const z = this.z
    for (let k = 0; k < d; k++) z[k] = rng.normal()
    const L = this.chol
    for (let row = 0; row < d; row++) {
      let s = pop.u[j * d + row]
      for (let c = 0; c <= row; c++) s += L[row * d + c] * z[c]
      u[row] = s
    }
    const plan = this.plan
    plan.u = u
    h.plan = plan
    for (let k = 0; k < layout.discrete; k++) plan.discrete[k] = rng.uniform() < this.config.redraw ? REDRAW : pop.discrete[j][k]
    h.discreteValues = new Array<ChoiceValue>(layout.discrete)
    h.discreteLogProbs = new Float64Array(layout.discrete)
    const status = sim.simulate()
    if (status !== IMPOSSIBLE && status !== REJECTED_INVALID && h.addresses.length !== layout.slots.length) this.missingSite()
    if (status !== ACCEPTABLE || !(sim.distance <= this.epsilon)) return
    this.push(u, h.discreteValues, h.discreteLogProbs, h.logPriorParameters + h.logJacobian + sim.logWeight)
  }
  private missingSite(): never {
    const h = this.handler
    const seen = new Set(h.addresses)
    const missing = this.layout!.slots.find((s) => !seen.has(s.address))
    throw structureError(this.simulator.simulations - 1, missing?.address ?? h.addresses[0], "this simulation did not draw")
  }
  private push(u: Float64Array, discrete: Array<ChoiceValue>, discreteLogProbs: Float64Array, numerator: number): void {
    const sim = this.simulator
    this.traces.push(sim.take())
    this.results.push(sim.result as A)
    this.distances.push(sim.distance)
    this.numerators.push(numerator)
    this.us.push(u)
    this.discretes.push(discrete)
    this.discreteLogProbs.push(discreteLogProbs)
  }
  /** Weighs the accepted particles, records the generation, and picks the next tolerance and kernel (or stops). */
  private completeGeneration(): void {
    const m = this.accepted
    const layout = this.layout!
    const d = layout.dimension
    const logWeights = Float64Array.from(this.numerators)
    if (this.generation > 0) this.subtractProposalDensity(logWeights)
    const weights = new Float64Array(m)
    normalise(logWeights, weights)
    const u = new Float64Array(m * d)
    for (let i = 0; i < m; i++) u.set(this.us[i], i * d)
    const pop: Population<A> = {
      size: m,
      traces: this.traces,
      results: this.results,
      distances: Float64Array.from(this.distances),
      logWeights,
      weights,
      u,
      discrete: this.discretes
    }
    if (this.current !== undefined) this.giveAll(this.current.traces)
    this.current = pop
    const ess = effectiveSampleSize(weights)
    const t = this.generation
    this.tolerances.push(this.epsilon)
    this.essList.push(ess)
    this.acceptanceRates.push(m / this.generationSimulations)
    this.simulationsPerGeneration.push(this.generationSimulations)
    if (ess < ESS_WARNING * m) {
      this.warnings.push(`generation ${t}: ESS ${ess.toFixed(1)} of ${m} particles (the weights collapsed; more particles or a larger quantile help)`)
    }
    this.traces = []
    this.results = []
    this.distances = []
    this.numerators = []
    this.us = []
    this.discretes = []
    this.discreteLogProbs = []
    this.generationSimulations = 0
    if (m < this.config.particles) return // a partial generation 0 (abandon): already stopping
    const tolerance = this.config.tolerance
    if (tolerance !== undefined && this.epsilon <= tolerance) return this.stop("tolerance")
    if (this.epsilon === 0) return this.stop("exact")
    if (t >= this.config.generations) return this.stop("generations")
    // ε_{t+1}: the weighted α-quantile of this generation's distances, not below `tolerance`
    let next = weightedQuantile(pop.distances, weights, this.config.quantile)
    if (tolerance !== undefined && next < tolerance) next = tolerance
    if (!(next < this.epsilon)) {
      // ties at ε_t: take the largest distance strictly below it, if any
      let below = -Infinity
      for (let i = 0; i < m; i++) if (pop.distances[i] < this.epsilon && pop.distances[i] > below) below = pop.distances[i]
      if (below === -Infinity) {
        this.warnings.push(`the tolerance stalled at ${this.epsilon}: every particle of generation ${t} is at that distance`)
        return this.stop("stalled")
      }
      next = tolerance !== undefined && below < tolerance ? tolerance : below
    }
    this.buildKernel(pop, d)
    this.generation = t + 1
    this.epsilon = next
  }
  /** logWeights[i] −= log Σ_j w_j K(θ*_i | θ_j), the mixture proposal density of each new particle. */
  private subtractProposalDensity(logWeights: Float64Array): void {
    const pop = this.current!
    const layout = this.layout!
    const d = layout.dimension
    const nd = layout.discrete
    const p = this.config.redraw
    const m = logWeights.length
    const prev = pop.size
    const terms = new Float64Array(prev)
    const y = new Float64Array(d)
    const logKeep = new Float64Array(nd)
    const logMove = new Float64Array(nd)
    const logW = new Float64Array(prev)
    for (let j = 0; j < prev; j++) logW[j] = Math.log(pop.weights[j])
    for (let i = 0; i < m; i++) {
      this.whiten(this.us[i], 0, y)
      for (let k = 0; k < nd; k++) {
        const prior = Math.exp(this.discreteLogProbs[i][k])
        logKeep[k] = Math.log(1 - p + p * prior)
        logMove[k] = Math.log(p * prior)
      }
      const own = this.discretes[i]
      for (let j = 0; j < prev; j++) {
        let s = 0
        const w = this.whitened
        for (let k = 0; k < d; k++) {
          const e = y[k] - w[j * d + k]
          s += e * e
        }
        let lt = logW[j] - 0.5 * s - this.logNormaliser
        for (let k = 0; k < nd; k++) lt += sameValue(own[k], pop.discrete[j][k]) ? logKeep[k] : logMove[k]
        terms[j] = lt
      }
      logWeights[i] -= logSumExp(terms)
    }
  }
  /** y = L⁻¹ x[offset … offset + d) by forward substitution. */
  private whiten(x: Float64Array, offset: number, y: Float64Array): void {
    const L = this.chol
    const d = y.length
    for (let r = 0; r < d; r++) {
      let s = x[offset + r]
      for (let c = 0; c < r; c++) s -= L[r * d + c] * y[c]
      y[r] = s / L[r * d + r]
    }
  }
  /** Σ = 2 × the weighted covariance of the population's u (Beaumont et al. 2009), its Cholesky factor, and the whitened particles. */
  private buildKernel(pop: Population<A>, d: number): void {
    const m = pop.size
    const w = pop.weights
    const cumulative = new Float64Array(m)
    let acc = 0
    for (let i = 0; i < m; i++) cumulative[i] = acc += w[i]
    for (let i = 0; i < m; i++) cumulative[i] /= acc
    cumulative[m - 1] = 1
    this.cumulative = cumulative
    this.z = new Float64Array(d)
    if (d === 0) {
      this.chol = new Float64Array(0)
      this.whitened = new Float64Array(0)
      this.logNormaliser = 0
      return
    }
    const mean = new Float64Array(d)
    for (let i = 0; i < m; i++) for (let k = 0; k < d; k++) mean[k] += w[i] * pop.u[i * d + k]
    const cov = new Float64Array(d * d)
    for (let i = 0; i < m; i++) {
      for (let r = 0; r < d; r++) {
        const er = pop.u[i * d + r] - mean[r]
        for (let c = 0; c <= r; c++) cov[r * d + c] += 2 * w[i] * er * (pop.u[i * d + c] - mean[c])
      }
    }
    for (let r = 0; r < d; r++) for (let c = 0; c < r; c++) cov[c * d + r] = cov[r * d + c]
    if (this.config.kernel === "diagonal") for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) if (r !== c) cov[r * d + c] = 0
    // a collapsed or collinear population: add a ridge, growing, relative to the mean variance
    let scale = 0
    for (let k = 0; k < d; k++) scale += cov[k * d + k] / d
    if (!(scale > 0)) scale = 1
    const a = new Float64Array(d * d)
    let ridge = 0
    for (let attempt = 0; ; attempt++) {
      a.set(cov)
      for (let k = 0; k < d; k++) a[k * d + k] += ridge
      if (cholesky(a, d)) break
      ridge = ridge === 0 ? 1e-12 * scale : ridge * 100
      // unreachable with finite coordinates (generation 0 drops non-finite ones)
      if (attempt > 12) throw new Error("ABC-SMC: the kernel covariance is not positive definite")
    }
    this.chol = a
    let logDet = 0
    for (let k = 0; k < d; k++) logDet += Math.log(a[k * d + k])
    this.logNormaliser = logDet + 0.5 * d * LOG_2PI
    const whitened = new Float64Array(m * d)
    const y = new Float64Array(d)
    for (let i = 0; i < m; i++) {
      this.whiten(pop.u, i * d, y)
      whitened.set(y, i * d)
    }
    this.whitened = whitened
  }
  private abandon(why: string, reason: StopReason): void {
    const t = this.generation
    if (t === 0) {
      const m = this.accepted
      const sim = this.simulator
      if (m === 0) {
        throw new ZeroWeightError({
          algorithm: "ABC-SMC",
          attempts: sim.simulations,
          detail: `no prior simulation had a valid distance (${sim.invalid} invalid, ${sim.impossible} impossible, ${sim.rejectedInvalid} raised InvalidDistributionError)`
        })
      }
      this.warnings.push(`generation 0 stopped with ${m} of ${this.config.particles} particles after ${this.generationSimulations} simulations: ${why}`)
      this.completeGeneration()
      return this.stop(reason)
    }
    this.giveAll(this.traces)
    this.traces = []
    this.warnings.push(
      `generation ${t} (tolerance ${this.epsilon}) was abandoned after ${this.generationSimulations} simulations with ${this.accepted} of ${this.config.particles} accepted: ${why}; the result is generation ${t - 1} at tolerance ${this.tolerances[t - 1]}`
    )
    this.stop(reason)
  }
  private stop(reason: StopReason): void {
    this.stopped = reason
    this.finished = true
    const tolerance = this.config.tolerance
    const reached = this.tolerances[this.tolerances.length - 1]
    if (tolerance !== undefined && !(reached <= tolerance)) {
      this.warnings.push(`the final tolerance ${tolerance} was not reached: the result is at tolerance ${reached}`)
    }
  }
  private giveAll(traces: ReadonlyArray<Trace>): void {
    for (const trace of traces) this.simulator.give(trace)
  }
  /** Returns every trace the run still borrows to the pool (a failed or interrupted run). */
  returnAll(): void {
    if (this.current !== undefined) this.giveAll(this.current.traces)
    this.giveAll(this.traces)
    this.simulator.give()
  }
  finish(seed: number | undefined): Posterior<A, PmcOutcome> {
    const pop = this.current!
    const builder = new Builder<A>("ABC-SMC", 1, pop.size)
    for (let i = 0; i < pop.size; i++) builder.record(0, i, pop.traces[i], pop.results[i], pop.logWeights[i])
    const sim = this.simulator
    this.returnAll()
    const stats: PmcOutcome = {
      particles: this.config.particles,
      generations: this.tolerances.length,
      tolerances: this.tolerances,
      ess: this.essList,
      acceptanceRates: this.acceptanceRates,
      simulationsPerGeneration: this.simulationsPerGeneration,
      simulations: sim.simulations,
      tolerance: this.tolerances[this.tolerances.length - 1],
      distances: pop.distances,
      parameters: this.layout === undefined ? [] : this.layout.slots.map((s) => s.address),
      invalid: sim.invalid,
      impossible: sim.impossible,
      rejectedInvalid: sim.rejectedInvalid,
      stopped: this.stopped,
      warnings: this.warnings,
      tracePool: poolUse(sim.pool, this.poolStart)
    }
    return builder.build({ weights: [pop.weights], stats, seed })
  }
}

/** The layout of the parameter sites the handler met, in visit order. */
const layoutOf = (h: SimulationHandler): Layout => {
  const slots: Array<Slot> = []
  let dimension = 0, discrete = 0
  for (let k = 0; k < h.addresses.length; k++) {
    const b = h.bijections[k]
    const address = h.addresses[k]
    if (b === undefined) slots.push({ address, kind: "discrete", offset: discrete++, dimension: 0 })
    else if (b._tag === "Scalar") slots.push({ address, kind: "scalar", offset: dimension++, dimension: 1 })
    else {
      slots.push({ address, kind: "vector", offset: dimension, dimension: b.dimension })
      dimension += b.dimension
    }
  }
  const layout: Layout = { slots, byAddress: new Map(slots.map((s) => [s.address, s])), dimension, discrete }
  h.layout = layout
  return layout
}
