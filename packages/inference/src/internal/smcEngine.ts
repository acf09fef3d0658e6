// The general SMC engine behind `Smc.runUnsafe` / `Smc.run`. Particles are paused executions
// of the one driver (`Execution`, @fugue/runtime): each step resumes every live particle up to
// its next barrier (an `observe` or a `factor` reaching the particle's handler, after the run's
// handler transformation, so `condition` or `mask` layers move barriers as they should),
// drawing latent choices from the prior on the way, and reweights it by the barrier's log
// probability. When the ESS falls below threshold·N the population is resampled. A particle
// whose execution raises InvalidDistributionError gets weight −∞ and is counted
// (`rejectedInvalid`), as MH rejects such a proposal; the run goes on.
//
// A particle records its sample sites on a tape — addresses, values and log probabilities in
// execution order — plus its running logPrior / logLikelihood / logFactors. Its `Trace` (a
// B-tree) is built only when needed: for the posterior at the end and for MH rejuvenation.
// Keeping a thousand B-tree traces alive and copy-on-write-diverging during the run cost about
// half of the run time on the random-walk benchmark; appending to arrays costs little. A repeated
// address is therefore detected when the trace is built (DuplicateAddressError, at the end of the
// run or at a rejuvenation), not at the instruction.
//
// Generators cannot be copied, so a resampled particle must be rebuilt. Strategy "duplicates"
// (the default): the first copy of each ancestor takes over the ancestor's live execution and
// tape (no work at all); every further copy gets a copy of the tape with the weights carried
// over, and a fresh execution fast-forwarded through the driver to the same barrier by feeding
// it the tape's values (the particle handler's replay mode): nothing is rescored and nothing is
// looked up, only the address at each position is checked (a model must be deterministic given
// its choices). Strategy "all" (the naive
// baseline, kept for measurement and as a cross-check) rebuilds every particle by a full replay
// that rescores every site and observation, as a ReplayHandler would. Neither draws random
// numbers, so both give identical results for the same seed.
//
// The barrier step, the log evidence and the resampling decision are shared with the unfold
// engine (smcPopulation.ts). Models made by `unfold` take that engine instead (smcUnfold.ts):
// this one rebuilds a duplicate by replaying its tape from the start, O(t) per rebuild, so a
// run costs O(N·T²) (O(N·T³) with rejuvenation).
//
// MH rejuvenation (Gilks & Berzuini 2001; Chopin 2002) moves each resampled particle with a
// kernel that leaves the current intermediate target invariant: the model cut right after its
// t-th barrier. Every particle gets the same number of single-site steps (sweeps × the largest
// number of choices in the population): a number of steps that depended on the particle's own
// state (its number of choices) would not leave the target invariant when branches differ in
// their choices, and biased such models (P(x) = 0.63 instead of 0.5 on the two-branch test).
import { InvalidDistributionError, type Distribution, type Support } from "@fugue/core/Distribution"
import type { Address } from "@fugue/core/Address"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { Execution } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { MissingAddressError, Trace, type ChoiceValue } from "@fugue/runtime/Trace"
import { Builder, type Posterior } from "../Posterior.ts"
import { kernel } from "./mhChain.ts"
import { wrapHandler } from "./shell.ts"
import { type PopulationConfig, SmcPopulation } from "./smcPopulation.ts"
import { normalise } from "./weights.ts"

export type RebuildStrategy = "duplicates" | "all"

export interface EngineConfig extends PopulationConfig {
  readonly rebuild: RebuildStrategy
}

/** How the particle handler treats sample sites and barriers. */
const LIVE = 0, REPLAY_TAPE = 1, RESCORE_TAPE = 2, REPLAY_TRACE = 3

/**
 * The handler at the bottom of every particle: records sample sites on the tape and stops the
 * execution at each barrier with the barrier's log weight in `increment`. In a replay mode it
 * feeds recorded values back instead, up to barrier `replayTo`.
 */
export class ParticleHandler implements Handler<void> {
  readonly rng: Rng
  readonly supports: Map<string, Support> | undefined
  execution!: Execution<unknown, void>
  mode = LIVE
  /** The barrier at which a replay ends (the execution stops there and goes live). */
  replayTo = 0
  cursor = 0
  source: Trace | undefined = undefined
  addresses: Array<string> = []
  values: Array<unknown> = []
  logProbs: Array<number> = []
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  barriers = 0
  increment = 0
  barrierAddress = ""
  constructor(rng: Rng, supports: Map<string, Support> | undefined) {
    this.rng = rng
    this.supports = supports
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const mode = this.mode
    if (mode === REPLAY_TAPE) {
      // the hot path of a rebuild: the tape's value, its address checked
      const k = this.cursor++
      if (this.addresses[k] !== address) throw new MissingAddressError({ address })
      return this.values[k] as T
    }
    if (mode === LIVE) {
      const value = dist.sample(this.rng)
      const logProb = dist.logProb(value)
      this.addresses.push(address)
      this.values.push(value)
      this.logProbs.push(logProb)
      this.logPrior += logProb
      const supports = this.supports
      if (supports !== undefined && !supports.has(address)) supports.set(address, dist.support)
      return value
    }
    return this.sampleOther(address, dist)
  }
  /** The rarer replays: a moved trace (by address), or the naive rescoring rebuild. */
  private sampleOther<T>(address: Address, dist: Distribution<T>): T {
    if (this.mode === REPLAY_TRACE) {
      const choice = this.source!.choices.get(address)
      if (choice === undefined) throw new MissingAddressError({ address })
      this.addresses.push(address)
      this.values.push(choice.value)
      this.logProbs.push(choice.logProb)
      return choice.value as T
    }
    const k = this.cursor++
    if (this.addresses[k] !== address) throw new MissingAddressError({ address })
    const value = this.values[k] as T
    const logProb = dist.logProb(value)
    this.logProbs[k] = logProb
    this.logPrior += logProb
    return value
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    if (this.mode !== LIVE) {
      if (this.mode === RESCORE_TAPE) this.logLikelihood += dist.logProb(value)
      if (++this.barriers >= this.replayTo) this.endReplay()
      return
    }
    const logProb = dist.logProb(value)
    this.logLikelihood += logProb
    this.increment = logProb
    this.barrierAddress = address
    this.barriers++
    this.execution.stop()
  }
  factor(logWeight: number): void {
    if (this.mode !== LIVE) {
      if (this.mode === RESCORE_TAPE) this.logFactors += logWeight
      if (++this.barriers >= this.replayTo) this.endReplay()
      return
    }
    this.logFactors += logWeight
    this.increment = logWeight
    this.barrierAddress = ""
    this.barriers++
    this.execution.stop()
  }
  finish(): void {}
  /** The replay reached barrier `replayTo`: it is over, and the execution stops there. */
  private endReplay(): void {
    this.mode = LIVE
    this.source = undefined
    this.execution.stop()
  }
}

export class Particle<A> {
  readonly handler: ParticleHandler
  execution: Execution<A, void>
  done: boolean
  result: A | undefined
  /** Whether the particle's execution raised InvalidDistributionError (weight −∞ from then on). */
  broken = false
  /** Whether `execution` is driven by `handler` (false: a copy still holding its ancestor's execution, awaiting a rebuild). */
  bound = true
  constructor(handler: ParticleHandler, execution: Execution<A, void>) {
    this.handler = handler
    this.execution = execution
    this.done = false
    this.result = undefined
  }
  /** The particle's trace, built from the tape; throws DuplicateAddressError on a repeated address. */
  toTrace(): Trace {
    const h = this.handler
    const trace = new Trace(undefined, h.logPrior, h.logLikelihood, h.logFactors)
    const choices = trace.choices
    const addresses = h.addresses, values = h.values, logProbs = h.logProbs
    for (let k = 0; k < addresses.length; k++) {
      const address = addresses[k]
      if (!choices.set(address, { address, value: values[k] as ChoiceValue, logProb: logProbs[k] }, false)) {
        throw new DuplicateAddressError({ address })
      }
    }
    return trace
  }
}

export class SmcEngine<A> extends SmcPopulation<A, Particle<A>> {
  readonly config: EngineConfig
  /** The support of each latent site (only when rejuvenating: the kernel's scales need it). */
  readonly supports: Map<string, Support> | undefined
  /** Traces produced by rejuvenation, awaiting `rebuildFromTrace`. */
  private readonly moved = new Map<object, Trace>()

  constructor(model: Model<A>, rng: Rng, config: EngineConfig) {
    super(model, rng, config)
    this.config = config
    this.supports = config.rejuvenation > 0 ? new Map() : undefined
  }

  /** A particle with a fresh execution of the model (live, at the start). */
  protected override spawn(handler: ParticleHandler = new ParticleHandler(this.rng, this.supports)): Particle<A> {
    const execution = new Execution<A, void>(this.model, wrapHandler("SMC", this.transform, handler, this.sideRng), {
      context: this.context,
      maxInstructions: this.config.maxInstructions
    })
    handler.execution = execution as Execution<unknown, void>
    return new Particle(handler, execution)
  }

  /**
   * Runs `p` up to and including its next barrier (returns true, the log weight in
   * `p.handler.increment`) or to its end (returns false). A particle whose execution raises
   * InvalidDistributionError is broken: weight −∞ (increment −∞, counted), never run again.
   */
  protected override advance(p: Particle<A>): boolean {
    let status
    try {
      status = p.execution.resume()
    } catch (error) {
      if (!(error instanceof InvalidDistributionError)) throw error
      this.rejectedInvalid++
      p.broken = true
      p.done = true
      p.handler.increment = -Infinity
      return true
    }
    if (status === "stopped") return true
    p.done = true
    p.result = p.execution.result
    return false
  }

  protected override anyLive(): boolean {
    const particles = this.particles
    for (let i = 0; i < particles.length; i++) if (!particles[i].done && !particles[i].execution.atEnd) return true
    return false
  }

  /** A copy of `src` awaiting a rebuild: its tape copied (shared when `share`), weights carried over. */
  private copy(src: Particle<A>, share: boolean, spare: Particle<A> | undefined): Particle<A> {
    // a dead particle's handler and execution are reused (fewer allocations per resampling)
    const h = spare !== undefined ? spare.handler : new ParticleHandler(this.rng, this.supports)
    if (spare !== undefined) {
      h.mode = LIVE
      h.replayTo = 0
      h.cursor = 0
      h.source = undefined
      h.increment = 0
      h.barrierAddress = ""
    }
    const s = src.handler
    h.addresses = share ? s.addresses : s.addresses.slice()
    h.values = share ? s.values : s.values.slice()
    h.logProbs = share ? s.logProbs : s.logProbs.slice()
    h.logPrior = s.logPrior
    h.logLikelihood = s.logLikelihood
    h.logFactors = s.logFactors
    h.barriers = s.barriers
    const p = new Particle<A>(h, spare !== undefined ? spare.execution : src.execution)
    p.bound = spare !== undefined
    p.done = src.done
    p.result = src.result
    p.broken = src.broken
    return p
  }

  protected override resample(): void {
    const n = this.particles.length
    const ancestors = this.config.resampler(this.weights, n, this.rng)
    const old = this.particles
    const next = new Array<Particle<A>>(n)
    // 1: keeps the ancestor's live execution; 0: replay the tape; 2: replay the (moved) trace.
    const live = new Uint8Array(n)
    const taken = new Uint8Array(n)
    const naive = this.config.rebuild === "all"
    // particles with no descendant: their handler and execution objects can serve the copies
    const chosen = new Uint8Array(n)
    for (let k = 0; k < n; k++) chosen[ancestors[k]] = 1
    const spares: Array<Particle<A>> = []
    for (let j = 0; j < n; j++) if (chosen[j] === 0 && old[j] !== undefined && old[j].bound) spares.push(old[j])
    for (let k = 0; k < n; k++) {
      const j = ancestors[k]
      const src = old[j]
      if (!naive && taken[j] === 0) {
        taken[j] = 1
        next[k] = src
        live[k] = 1
        this.kept++
      } else {
        // Done particles never run again (their tape is shared); the naive rebuild writes a new tape.
        next[k] = this.copy(src, src.done, src.done ? undefined : spares.pop())
      }
    }
    this.resamplings++
    this.resampledAt.push(this.steps)
    if (this.config.rejuvenation > 0) this.rejuvenate(next, live)
    for (let k = 0; k < n; k++) {
      const p = next[k]
      if (live[k] === 2) next[k] = this.rebuildFromTrace(p)
      else if (p.done && naive && live[k] !== 1) continue
      else if (p.done || live[k] === 1) continue
      else next[k] = this.rebuildFromTape(p, naive)
    }
    this.particles = next
  }

  /**
   * `config.rejuvenation` MH sweeps per particle: single-site MH on the model cut right after
   * the current step's barrier, the target every particle shares at this point (a particle
   * whose execution has fewer barriers runs to its end), with the same number of steps for
   * every particle. A move may change how many barriers an execution has; the replay that
   * follows it finds out whether the particle is now done.
   */
  private rejuvenate(next: Array<Particle<A>>, live: Uint8Array): void {
    const traces = next.map((p) => p.toTrace())
    const scales = this.rejuvenationScales(traces, this.supports!)
    let largest = 0
    for (let k = 0; k < traces.length; k++) if (!next[k].broken && traces[k].size > largest) largest = traces[k].size
    const steps = this.config.rejuvenation * largest
    for (let k = 0; k < next.length; k++) {
      const p = next[k]
      if (p.broken) continue
      const moved = kernel(this.model, { trace: traces[k], result: undefined }, this.rng, {
        steps,
        scales,
        transform: this.transform,
        cutAfterBarriers: this.steps,
        maxInstructions: this.config.maxInstructions,
        context: { algorithm: "SMC rejuvenation", chain: undefined, iteration: this.steps }
      })
      this.rejuvenationProposed += moved.proposed
      this.rejuvenationAccepted += moved.accepted
      if (moved.accepted > 0) {
        live[k] = 2 // the tape is stale: rebuild it by replaying the moved trace
        this.moved.set(p, moved.trace)
      }
    }
  }

  /**
   * A fresh execution fast-forwarded through the driver to the particle's barrier, fed its
   * tape: nothing is rescored or looked up (`rescore`: the naive baseline, every site and
   * observation rescored into the tape's weights).
   */
  private rebuildFromTape(p: Particle<A>, rescore: boolean): Particle<A> {
    const h = p.handler
    const target = h.barriers
    h.mode = rescore ? RESCORE_TAPE : REPLAY_TAPE
    h.cursor = 0
    h.barriers = 0
    h.replayTo = target
    if (rescore) {
      h.logPrior = 0
      h.logLikelihood = 0
      h.logFactors = 0
    }
    let q: Particle<A>
    if (p.bound) {
      p.execution.restart(this.model)
      q = p
    } else q = this.spawn(h)
    const status = target === 0 ? "stopped" : q.execution.resume()
    if (status !== "stopped" || h.barriers !== target) throw new MissingAddressError({ address: `<barrier ${target}>` })
    h.mode = LIVE
    this.rebuilds++
    this.replayedInstructions += q.execution.instructions
    return q
  }

  /**
   * After an MH move: replays the moved trace up to the current step's barrier (or the model's
   * end, when the moved execution has fewer barriers), writing a new tape, taking the trace's
   * weights, and leaving the particle live at the barrier or done.
   */
  private rebuildFromTrace(p: Particle<A>): Particle<A> {
    const trace = this.moved.get(p)!
    this.moved.delete(p)
    const h = new ParticleHandler(this.rng, this.supports)
    h.mode = REPLAY_TRACE
    h.source = trace
    h.replayTo = this.steps
    const q = this.spawn(h)
    const status = this.steps === 0 ? "stopped" : q.execution.resume()
    h.mode = LIVE
    h.source = undefined
    h.logPrior = trace.logPrior
    h.logLikelihood = trace.logLikelihood
    h.logFactors = trace.logFactors
    if (status === "done") {
      q.done = true
      q.result = q.execution.result
    }
    this.rebuilds++
    this.replayedInstructions += q.execution.instructions
    return q
  }

  /** The weighted particle population as a posterior. */
  override finish<S>(stats: S, seed: number | undefined): Posterior<A, S> {
    const n = this.particles.length
    const builder = new Builder<A>("SMC", 1, n)
    normalise(this.logWeights, this.weights)
    for (let i = 0; i < n; i++) {
      const p = this.particles[i]
      builder.record(0, i, p.toTrace(), p.result as A, this.logWeights[i])
    }
    return builder.build({
      weights: [Float64Array.from(this.weights)],
      logEvidence: [this.logEvidence],
      stats,
      seed
    })
  }
}
