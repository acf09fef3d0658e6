// Rejection ABC (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002, without the regression
// adjustment): N simulations from the prior, each kept when its distance d to the observed
// summary is within the tolerance ε (the uniform kernel 1[d ≤ ε]). With `quantile` q, ε is the
// ⌈q·N⌉-th smallest finite distance, and every simulation at distance ≤ ε is kept (ties at ε
// included, so the result is rejection ABC at that ε). The kept draws are iid from the ABC
// posterior π(θ | d ≤ ε); a model with observe or factor statements weights each kept draw by
// exp(logLikelihood + logFactors), as importance sampling does.
//
// Memory: with a tolerance only the kept simulations are held; with a quantile the candidates
// at distance ≤ the running ⌈q·N⌉-th smallest, pruned whenever they reach twice that many.
// Their traces are borrowed from the run's pool (abcSimulator.ts): a rejected simulation's
// trace goes back at once, a pruned candidate's at the prune, the kept ones once `finish` has
// copied them into the posterior; `returnAll` gives back whatever a failed or interrupted run
// still holds.
import type { PoolStats } from "@fugue/memory/TracePool"
import type { Trace } from "@fugue/runtime/Trace"
import { ZeroWeightError } from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import { ACCEPTABLE, type Simulator } from "./abcSimulator.ts"
import { now, type PoolUse, poolUse } from "./shell.ts"
import { effectiveSampleSize, normalise } from "./weights.ts"

export interface RejectionConfig {
  readonly simulations: number
  readonly tolerance: number | undefined
  readonly quantile: number | undefined
}

/** What `finish` puts in the stats (Abc.RejectionStats). */
export interface RejectionOutcome {
  /** Simulations run (N). */
  readonly simulations: number
  /** Simulations kept (the posterior's draws). */
  readonly accepted: number
  /** accepted / simulations. */
  readonly acceptanceRate: number
  /** The tolerance ε: the option, or the kept quantile's largest distance. */
  readonly tolerance: number
  /** The kept simulations' distances, in the posterior's draw order. */
  readonly distances: Float64Array
  /** The smallest valid distance of all simulations. */
  readonly smallestDistance: number
  /** The draws' effective sample size: `accepted` unless observe or factor statements weight them. */
  readonly ess: number
  /** Simulations rejected for a NaN summary or distance (or a negative distance, a NaN or +∞ log weight). */
  readonly invalid: number
  /** Simulations rejected because a factor, observation or prior was impossible (log weight −∞). */
  readonly impossible: number
  /** Simulations whose execution raised InvalidDistributionError (rejected, the run goes on). */
  readonly rejectedInvalid: number
  /** What to worry about, in words: few accepted draws, collapsed weights, many invalid simulations. */
  readonly warnings: ReadonlyArray<string>
  /** How the run's trace pool did: one acquire per simulation, every trace returned by the end. */
  readonly tracePool: PoolUse
}

/** Fewer accepted draws than this are warned about: posterior moments then carry large Monte Carlo error. */
const FEW_ACCEPTED = 100

const CLOCK_EVERY = 8

export class RejectionSampler<A> {
  readonly simulator: Simulator<A>
  readonly config: RejectionConfig
  /** The number kept by a quantile, ⌈q·N⌉ (rounding noise in q·N forgiven). */
  readonly keep: number
  private threshold: number
  private traces: Array<Trace> = []
  private results: Array<A> = []
  private distances: Array<number> = []
  private logWeights: Array<number> = []
  private readonly poolStart: PoolStats
  constructor(simulator: Simulator<A>, config: RejectionConfig) {
    this.simulator = simulator
    this.poolStart = simulator.pool.statsUnsafe()
    this.config = config
    this.keep = config.quantile === undefined ? 0 : Math.max(1, Math.ceil(config.quantile * config.simulations - 1e-9))
    this.threshold = config.tolerance ?? Infinity
  }
  get done(): number {
    return this.simulator.simulations
  }
  /** Simulates until all are done or the clock passes `deadline`; returns whether all are done. */
  draw(deadline: number): boolean {
    const sim = this.simulator
    const n = this.config.simulations
    const byQuantile = this.config.quantile !== undefined
    while (sim.simulations < n) {
      if (sim.simulate() === ACCEPTABLE) {
        const d = sim.distance
        if (d <= this.threshold && !(byQuantile && d === Infinity)) {
          this.traces.push(sim.take())
          this.results.push(sim.result as A)
          this.distances.push(d)
          this.logWeights.push(sim.logWeight)
          if (byQuantile && this.distances.length >= 2 * this.keep + 16) this.prune()
        }
      }
      if ((sim.simulations & (CLOCK_EVERY - 1)) === 0 && deadline < Infinity && now() > deadline) break
    }
    return sim.simulations >= n
  }
  /** Keeps the candidates within the ⌈q·N⌉-th smallest distance (ties included), in simulation order. */
  private prune(): void {
    const sorted = Float64Array.from(this.distances).sort()
    const cut = sorted[Math.min(this.keep, sorted.length) - 1]
    this.threshold = cut
    let m = 0
    for (let i = 0; i < this.distances.length; i++) {
      if (this.distances[i] > cut) {
        this.simulator.give(this.traces[i])
        continue
      }
      this.traces[m] = this.traces[i]
      this.results[m] = this.results[i]
      this.distances[m] = this.distances[i]
      this.logWeights[m] = this.logWeights[i]
      m++
    }
    this.traces.length = this.results.length = this.distances.length = this.logWeights.length = m
  }
  /** Returns every trace the run still borrows to the pool (a failed or interrupted run). */
  returnAll(): void {
    for (const trace of this.traces) this.simulator.give(trace)
    this.simulator.give()
  }
  finish(algorithm: string, seed: number | undefined): Posterior<A, RejectionOutcome> {
    const sim = this.simulator
    sim.give()
    if (this.config.quantile !== undefined && this.distances.length > 0) this.prune()
    const m = this.distances.length
    if (m === 0) {
      const within = this.config.tolerance === undefined ? "at a finite distance" : `within tolerance ${this.config.tolerance}`
      throw new ZeroWeightError({
        algorithm,
        attempts: sim.simulations,
        detail: `no simulation ${within}; the smallest distance was ${sim.smallest} (${sim.invalid} invalid, ${sim.impossible} impossible, ${sim.rejectedInvalid} raised InvalidDistributionError)`
      })
    }
    const builder = new Builder<A>(algorithm, 1, m)
    const logWeights = new Float64Array(this.logWeights)
    for (let i = 0; i < m; i++) {
      builder.record(0, i, this.traces[i], this.results[i], logWeights[i])
      sim.give(this.traces[i])
    }
    this.traces.length = 0
    let equal = true
    for (let i = 1; i < m && equal; i++) equal = logWeights[i] === logWeights[0]
    let weights: Float64Array | undefined
    if (!equal) {
      weights = new Float64Array(m)
      normalise(logWeights, weights)
    }
    const ess = weights === undefined ? m : effectiveSampleSize(weights)
    const warnings: Array<string> = []
    if (m < FEW_ACCEPTED) warnings.push(`only ${m} of ${sim.simulations} simulations were accepted: posterior moments carry large Monte Carlo error (more simulations, or a larger tolerance or quantile)`)
    if (ess < Math.min(FEW_ACCEPTED, m / 2)) warnings.push(`the accepted draws' weights collapsed: ESS ${ess.toFixed(1)} of ${m} (observe or factor statements weight them)`)
    const lost = sim.invalid + sim.impossible + sim.rejectedInvalid
    if (lost > sim.simulations / 2) warnings.push(`${lost} of ${sim.simulations} simulations were invalid, impossible or raised InvalidDistributionError: check the simulator and its summaries`)
    const stats: RejectionOutcome = {
      simulations: sim.simulations,
      accepted: m,
      acceptanceRate: m / sim.simulations,
      tolerance: this.config.tolerance ?? this.threshold,
      distances: Float64Array.from(this.distances),
      smallestDistance: sim.smallest,
      ess,
      invalid: sim.invalid,
      impossible: sim.impossible,
      rejectedInvalid: sim.rejectedInvalid,
      warnings,
      tracePool: poolUse(sim.pool, this.poolStart)
    }
    return builder.build({ weights: weights === undefined ? undefined : [weights], stats, seed })
  }
}
