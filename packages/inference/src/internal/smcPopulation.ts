// What every SMC engine shares (the general one in smcEngine.ts, the unfold one in
// smcUnfold.ts): the weighted population and the barrier step. A step advances every live
// particle to its next barrier (an `observe` or a `factor` reaching the particle's handler,
// after the run's handler transformation) and adds the barrier's log probability to its log
// weight; NaN or +∞ counts as −∞ (`invalid`). Then the log evidence is updated, the ESS
// recorded, and the population resampled when ESS < threshold·N (at threshold 1, always) and
// some particle can still move. Engines differ in how they represent a particle, advance it
// and resample it.
//
// Log evidence (Del Moral 2004; Doucet & Johansen 2009): with unnormalised log weights lw that
// restart at 0 after each resampling, log Ẑ = Σ_t [lse(lw_t) − lse(lw_{t−1})], lse the
// log-sum-exp; it telescopes to Σ over resampling epochs of lse(lw) − log N, so skipped
// resamplings are accounted for exactly.
//
// Random streams: particle i draws from its own stream i at every step, and the resampling from
// the population's stream (particleStreams.ts), so a particle's draws do not depend on the
// particles advanced before it: the population can be split across worker threads
// (smcWorkers.ts: `advanceUnsafe` on the workers' batches, `weighUnsafe` in the parent) with the
// same numbers as the in-thread run.
import { COLLAPSE_ESS } from "./essHistory.ts"
import type { Support } from "@fugue/core/Distribution"
import * as Bijection from "@fugue/core/Bijection"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import type { Context } from "@fugue/runtime/Execution"
import { type Choice, Trace } from "@fugue/runtime/Trace"
import { ZeroWeightError } from "../Options.ts"
import type { Posterior } from "../Posterior.ts"
import type { Resampler } from "../Resampling.ts"
import { culprits } from "./culprits.ts"
import { ParticleStreams } from "./particleStreams.ts"
import { now, sideStream } from "./shell.ts"
import { effectiveSampleSize, normalise } from "./weights.ts"

export interface PopulationConfig {
  readonly particles: number
  readonly threshold: number
  readonly resampler: Resampler
  readonly rejuvenation: number
  readonly transform?: Transform | undefined
  readonly maxInstructions?: number | undefined
  /** The index of the first particle in the whole population (a worker's batch; default 0): its streams'. */
  readonly streamBase?: number | undefined
}

/** What the barrier step reads from a particle after advancing it. */
export interface BarrierParticle {
  done: boolean
  readonly handler: { readonly increment: number; readonly barrierAddress: string }
}

export abstract class SmcPopulation<A, P extends BarrierParticle> {
  readonly model: Model<A>
  /** The population's streams (`streams.rng` draws from particle i's after `streams.use(i)`). */
  readonly streams: ParticleStreams
  readonly rng: Rng
  readonly sideRng: Rng
  readonly transform: Transform
  readonly context: Context = { algorithm: "SMC", chain: undefined, iteration: 0 }
  readonly threshold: number
  particles: Array<P>
  readonly logWeights: Float64Array
  readonly weights: Float64Array
  /** lse of the log weights after the previous step (log N right after a resampling). */
  lsePrevious: number
  /** The last rejuvenation scales estimated from a population that had not collapsed. */
  private lastScales: Record<string, number> | undefined = undefined

  /**
   * Random-walk scales for this rejuvenation (`cloudScales` of the resampled cloud), except after
   * a collapse (ESS below 2 before resampling): the copies of one particle have no spread to
   * estimate a scale from, so the last scales estimated from a healthy population are kept.
   */
  rejuvenationScales(traces: ReadonlyArray<Trace | ReadonlyArray<Choice>>, supports: ReadonlyMap<string, Support>): Record<string, number> {
    const ess = this.ess[this.ess.length - 1]
    if (ess !== undefined && ess < COLLAPSE_ESS && this.lastScales !== undefined) return this.lastScales
    const scales = cloudScales(traces, supports)
    if (ess === undefined || ess >= COLLAPSE_ESS) this.lastScales = scales
    return scales
  }
  logEvidence = 0
  steps = 0
  finished = false
  resamplings = 0
  readonly ess: Array<number> = []
  /** The running log-evidence estimate after each step. */
  readonly logEvidenceHistory: Array<number> = []
  readonly resampledAt: Array<number> = []
  /** Particles given a new execution by replay. */
  rebuilds = 0
  /** Instructions stepped through by those replays. */
  replayedInstructions = 0
  /** Resampled particles that kept their ancestor's live execution. */
  kept = 0
  /** Barrier log weights that were NaN or +∞ (counted as −∞). */
  invalid = 0
  /** Particles whose execution raised InvalidDistributionError (weight −∞, the run goes on). */
  rejectedInvalid = 0
  rejuvenationProposed = 0
  rejuvenationAccepted = 0
  /** The particle the current step reached (a step can pause between particles). */
  private cursor = 0
  /** Particles that reached a barrier in the step in progress (@internal: the worker parent sums its batches'). */
  hits = 0
  /** The first such particle's barrier address ("" for a factor). */
  stepAddress: string | undefined = undefined

  constructor(model: Model<A>, rng: Rng, config: PopulationConfig) {
    this.model = model
    this.streams = new ParticleStreams(rng, config.particles, config.streamBase ?? 0)
    this.rng = this.streams.rng
    this.transform = config.transform ?? identity
    this.sideRng = this.transform === identity ? rng : sideStream(rng)
    this.threshold = config.threshold
    const n = config.particles
    // particles are spawned lazily by the first step, so that a large population is built
    // inside the time-sliced loop (interruptible), not in one go here
    this.particles = new Array(n)
    this.logWeights = new Float64Array(n)
    this.weights = new Float64Array(n).fill(1 / n)
    this.lsePrevious = Math.log(n)
  }

  /** A particle with a fresh execution of the model (live, at the start). */
  protected abstract spawn(): P
  /**
   * Runs `p` up to and including its next barrier (returns true, the log weight in
   * `p.handler.increment`) or to its end (returns false).
   */
  protected abstract advance(p: P): boolean
  /** Whether some particle can still move (resampling a finished population is pointless). */
  protected abstract anyLive(): boolean
  /** Resamples (and rejuvenates) the population from `weights`. */
  protected abstract resample(): void
  /**
   * The weighted particle population as a posterior, with the stats `stats()` gives once the
   * population has given back what it borrowed (its traces).
   */
  abstract finish<St>(stats: () => St, seed: number | undefined): Posterior<A, St>

  /**
   * One SMC step, or the part of it that fits before `deadline` (then false with the step
   * still in progress; the next call continues it). Returns false once every particle has
   * finished (nothing was done).
   */
  stepUnsafe(deadline: number = Infinity): boolean {
    if (this.finished) return false
    if (!this.advanceUnsafe(deadline)) return true
    return this.weighUnsafe()
  }

  /**
   * The first half of a step: advances every live particle to its next barrier and adds the
   * barrier's log weight to its log weight; false when paused by `deadline` (the next call
   * continues the step).
   */
  advanceUnsafe(deadline: number = Infinity): boolean {
    const particles = this.particles
    const n = particles.length
    const lw = this.logWeights
    const streams = this.streams
    this.context.iteration = this.steps
    let i = this.cursor
    if (i === 0) {
      this.hits = 0
      this.stepAddress = undefined
    }
    for (; i < n; i++) {
      let p = particles[i]
      if (p === undefined) p = particles[i] = this.spawn()
      if (p.done) continue
      streams.use(i)
      if (!this.advance(p)) continue
      this.hits++
      if (this.stepAddress === undefined) this.stepAddress = p.handler.barrierAddress
      let increment = p.handler.increment
      if (!(increment < Infinity)) {
        // NaN (a NaN factor) or +∞: counted and treated as an impossible particle.
        this.invalid++
        increment = -Infinity
      }
      lw[i] += increment
      if (deadline < Infinity && (i & 15) === 15 && now() > deadline) {
        this.cursor = i + 1
        return false
      }
    }
    this.cursor = 0
    return true
  }

  /**
   * The second half of a step: the log evidence, the ESS and, below the threshold, the
   * resampling (on the step's own stream). Returns false, the run finished, when no particle
   * reached a barrier.
   */
  weighUnsafe(): boolean {
    const n = this.logWeights.length
    const lw = this.logWeights
    if (this.hits === 0) {
      this.finished = true
      return false
    }
    this.steps++
    this.streams.use(n)
    const lse = normalise(lw, this.weights)
    if (lse === -Infinity) {
      const address = this.stepAddress
      throw new ZeroWeightError({
        algorithm: "SMC",
        attempts: n,
        detail: `every particle has weight -Infinity at step ${this.steps} (${
          address === "" ? "a factor" : `observe "${address}"`
        }${this.invalid > 0 ? `; ${this.invalid} NaN or +Infinity weights so far` : ""}${
          this.rejectedInvalid > 0 ? `; ${this.rejectedInvalid} particles raised InvalidDistributionError` : ""
        })${culprits(this.model as Model<unknown>, this.transform, this.rng.clone())}`
      })
    }
    this.logEvidence += lse - this.lsePrevious
    this.logEvidenceHistory.push(this.logEvidence)
    const ess = effectiveSampleSize(this.weights)
    this.ess.push(ess)
    const threshold = this.threshold
    if ((threshold >= 1 || ess < threshold * n) && this.anyLive()) {
      this.resample()
      lw.fill(0)
      this.weights.fill(1 / n)
      this.lsePrevious = Math.log(n)
    } else {
      this.lsePrevious = lse
    }
    return true
  }

  /** Whether the step in progress is between particles (paused by a deadline). */
  get midStep(): boolean {
    return this.cursor !== 0
  }
}

/** Roberts, Gelman & Gilks (1997): the optimal 1-d random-walk scale is about 2.38 target sds. */
const RW_FACTOR = 2.38

// The unconstrained scale the MH kernel walks on (the support's bijection, as in mhHandler.ts).
const unconstrained = (support: Support | undefined, x: number): number => {
  if (support === undefined) return Number.NaN
  const b = Bijection.of(support)
  return b !== undefined && b._tag === "Scalar" ? b.inverse(x) : Number.NaN
}

/**
 * Random-walk scales for MH rejuvenation from the resampled cloud: per continuous site,
 * 2.38 × the particles' standard deviation on the kernel's unconstrained scale (sites where the
 * cloud has collapsed keep the kernel's default).
 */
export const cloudScales = (traces: ReadonlyArray<Trace | ReadonlyArray<Choice>>, supports: ReadonlyMap<string, Support>): Record<string, number> => {
  // two passes (the mean, then the centred squares): a one-pass Σu² − n·m² loses every digit
  // when the spread is small beside the mean
  const points = new Map<string, Array<number>>()
  const add = (address: string, choice: Choice): void => {
    if (typeof choice.value !== "number") return
    const u = unconstrained(supports.get(address), choice.value)
    if (!Number.isFinite(u)) return
    let us = points.get(address)
    if (us === undefined) points.set(address, (us = []))
    us.push(u)
  }
  for (let k = 0; k < traces.length; k++) {
    const t = traces[k]!
    // a trace (in address order) or a particle's tape (in visit order): per address, the
    // points come in particle order either way
    if (t instanceof Trace) t.choices.forEachPair(add)
    else for (let j = 0; j < t.length; j++) add(t[j]!.address, t[j]!)
  }
  const scales: Record<string, number> = {}
  for (const [address, us] of points) {
    if (us.length < 2) continue
    let m = 0
    for (const u of us) m += u
    m /= us.length
    let v = 0
    for (const u of us) v += (u - m) * (u - m)
    const sd = Math.sqrt(v / us.length)
    if (sd > 1e-12 * Math.max(1, Math.abs(m)) && Number.isFinite(sd)) scales[address] = RW_FACTOR * sd
  }
  return scales
}
