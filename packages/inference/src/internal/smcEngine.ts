// The general SMC engine behind `Smc.runUnsafe` / `Smc.run`. Particles are paused executions
// of the one driver (`Execution`, @fugue/runtime): each step resumes every live particle up to
// its next barrier (an `observe` or a `factor` reaching the particle's handler, after the run's
// handler transformation, so `condition` or `mask` layers move barriers as they should),
// drawing latent choices from the prior on the way, and reweights it by the barrier's log
// probability. When the ESS falls below threshold·N the population is resampled. A particle
// whose execution raises InvalidDistributionError gets weight −∞ and is counted
// (`rejectedInvalid`), as MH rejects such a proposal; the run goes on.
//
// A particle records its sample sites into a `Trace` borrowed from the run's `TracePool` (the
// context's, else the run's own: Smc.ts), appended in execution order (`Trace.append`, which
// checks nothing) and read back in that order (`trace.recorded`: the particle's tape); its running
// logPrior / logLikelihood / logFactors stay in the handler (writing them into a long-lived
// trace at every site cost ABC 5 %). This is the visit-order half of an MH chain's state
// (mhChain.ts): rejuvenation hands the tape to the kernel as it is, and the kernel's final state
// becomes the trace's buffer (`Trace.adopt`). Nobody reads a particle's choice map during the
// run, so no B-tree is loaded: one is built only where the kernel must look an address up (a run
// that visits sites out of order). Keeping a thousand loaded B-tree traces copy-on-write-diverging
// during the run cost about half of the run time on the random-walk benchmark; the trace's buffer
// costs what an array costs (paired CPU-time A/B against plain-array tapes, 1000 particles:
// 1.00–1.02 without rejuvenation, 1.01 with one sweep; 1.04 with a rejuvenation lag of 5, where
// the moved particles' rebuilds now write into long-lived pooled traces instead of fresh ones,
// which costs the scavenger more). A repeated address is therefore detected at a rejuvenation
// and when the posterior is recorded (DuplicateAddressError), not at the instruction.
//
// Traces and the pool: a particle with no descendant hands its handler, execution and trace to
// a resampled copy (`Trace.assign` copies the ancestor's tape into the trace's own buffer); a
// particle that is dropped gives its trace back, a moved particle gives its trace back before its
// rebuild borrows one, and at the end every trace goes back (the posterior keeps columns, not
// traces), as it does, all at once (`returnAll`), when a run fails or is interrupted.
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
// run costs O(N·T²) (O(N·T³) with rejuvenation, O(N·L·T²) with a rejuvenation lag L).
//
// MH rejuvenation (Gilks & Berzuini 2001; Chopin 2002) moves each resampled particle with a
// kernel that leaves the current intermediate target invariant: the model cut right after its
// t-th barrier. Every particle gets the same number of single-site steps (sweeps × the largest
// number of choices in the population): a number of steps that depended on the particle's own
// state (its number of choices) would not leave the target invariant when branches differ in
// their choices, and biased such models (P(x) = 0.63 instead of 0.5 on the two-branch test).
//
// With a lag L (`rejuvenationLag`), the rejuvenation after barrier k moves only the choices made
// after barrier k − L (fixed-lag resample-move, as in smcUnfold.ts, with barriers for steps):
// each proposal still replays the whole execution (a generator cannot be restarted midway), but
// the first m sample sites, those the particle met before barrier k − L, are fed their recorded
// values by an innermost layer (`PrefixReplay`) and are not the kernel's choices. Execution is
// sequential, so what happens before barrier k − L is a function of those m values alone: the
// kernel is MH on the cut target conditioned on them (an execution with fewer than k − L
// barriers has no free choice and does not move), which leaves the cut target invariant. Every
// particle gets sweeps × the largest window in the population steps, so a step costs O(N·L·t)
// and a run O(N·L·T²) instead of O(N·T³). The T² is the replay's, inherent to generators that
// cannot be forked; the unfold engine avoids it by restarting steps from stored states.
import { InvalidDistributionError, type Distribution, type Support } from "@fugue/core/Distribution"
import type { Address } from "@fugue/core/Address"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { compose, type Transform } from "@fugue/runtime/Combinators"
import { Execution } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { type Choice, MissingAddressError, Trace } from "@fugue/runtime/Trace"
import type { PoolStats, TracePoolShape } from "@fugue/memory/TracePool"
import { Builder, type Posterior } from "../Posterior.ts"
import { kernelOnVisits, type VisitsOutcome } from "./mhChain.ts"
import { MhChoice } from "./mhHandler.ts"
import { Recorder } from "./mhRecorder.ts"
import { type PoolUse, poolUse, wrapHandler } from "./shell.ts"
import { type PopulationConfig, SmcPopulation } from "./smcPopulation.ts"
import { normalise } from "./weights.ts"

/** `tape`, after checking that its addresses are distinct (DuplicateAddressError names the first repeated one). */
const checkDistinct = (tape: ReadonlyArray<Choice>): ReadonlyArray<Choice> => {
  const seen = new Set<string>()
  for (let k = 0; k < tape.length; k++) {
    const address = tape[k]!.address
    if (seen.has(address)) throw new DuplicateAddressError({ address })
    seen.add(address)
  }
  return tape
}

export type RebuildStrategy = "duplicates" | "all"

export interface EngineConfig extends PopulationConfig {
  readonly rebuild: RebuildStrategy
  /** Rejuvenation moves only the choices after barrier k − lag (undefined: every choice). */
  readonly lag?: number | undefined
  /** Where the particles' traces are borrowed from (undefined: made, as in the workers' batches). */
  readonly pool?: TracePoolShape | undefined
}

/** How the particle handler treats sample sites and barriers. */
const LIVE = 0, REPLAY_TAPE = 1, RESCORE_TAPE = 2

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
  /**
   * The particle's trace (borrowed from the run's pool): its choices in execution order, added
   * unchecked (`Trace.append`) and read back as `trace.recorded` (the tape); nobody reads its
   * B-tree during the run.
   */
  trace: Trace
  /** The naive rebuild's source: the old tape, rescored into `trace`. */
  private source: ReadonlyArray<Choice> = []
  /** marks[b]: the tape's length when barrier b + 1 was met (kept only with a rejuvenation lag). */
  marks: Array<number> | undefined = undefined
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  barriers = 0
  increment = 0
  barrierAddress = ""
  constructor(rng: Rng, supports: Map<string, Support> | undefined, trace: Trace) {
    this.rng = rng
    this.supports = supports
    this.trace = trace
  }
  /** The tape: the trace's choices in execution order. */
  get tape(): ReadonlyArray<Choice> {
    return this.trace.recorded
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const mode = this.mode
    if (mode === REPLAY_TAPE) {
      // the hot path of a rebuild: the tape's value, its address checked
      const c = this.trace.recorded[this.cursor++]
      if (c === undefined || c.address !== address) throw new MissingAddressError({ address })
      return c.value as T
    }
    if (mode === LIVE) {
      const value = dist.sample(this.rng)
      const logProb = dist.logProb(value)
      this.trace.append(new MhChoice(address, value as Choice["value"], logProb))
      this.logPrior += logProb
      const supports = this.supports
      if (supports !== undefined && !supports.has(address)) supports.set(address, dist.support)
      return value
    }
    return this.sampleOther(address, dist)
  }
  /** The naive rebuild: the old tape's value, rescored into the trace. */
  private sampleOther<T>(address: Address, dist: Distribution<T>): T {
    const c = this.source[this.cursor++]
    if (c === undefined || c.address !== address) throw new MissingAddressError({ address })
    const value = c.value as T
    const logProb = dist.logProb(value)
    this.trace.append(new MhChoice(address, c.value, logProb))
    this.logPrior += logProb
    return value
  }
  /** Starts the naive rebuild: the tape becomes the source, the trace empty, the weights 0. */
  rescore(): void {
    this.source = this.trace.recorded.slice()
    this.trace.clear()
    this.logPrior = 0
    this.logLikelihood = 0
    this.logFactors = 0
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    if (this.marks !== undefined) this.mark()
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
    if (this.marks !== undefined) this.mark()
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
  /** Records the tape's length at the barrier being met (a replay's position, in a replay). */
  private mark(): void {
    this.marks![this.barriers] = this.mode === LIVE ? this.trace.recorded.length : this.cursor
  }
  finish(): void {}
  /** The replay reached barrier `replayTo`: it is over, and the execution stops there. */
  private endReplay(): void {
    if (this.mode === RESCORE_TAPE) this.source = []
    this.mode = LIVE
    this.execution.stop()
  }
}

/**
 * Innermost layer of a lagged rejuvenation's proposals (under the run's transformation, above
 * the MH proposal handler): the first `prefix.length` sample sites get their recorded values
 * (their addresses checked) and never reach the kernel; everything else passes through.
 */
class PrefixReplay<Out> implements Handler<Out> {
  readonly inner: Handler<Out>
  readonly replay: { readonly prefix: ReadonlyArray<Choice>; cursor: number }
  constructor(inner: Handler<Out>, replay: { readonly prefix: ReadonlyArray<Choice>; cursor: number }) {
    this.inner = inner
    this.replay = replay
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const r = this.replay
    if (r.cursor < r.prefix.length) {
      const c = r.prefix[r.cursor++]!
      if (c.address !== address) throw new MissingAddressError({ address })
      return c.value as T
    }
    return this.inner.sample(address, dist)
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.inner.observe(address, dist, value)
  }
  factor(logWeight: number): void {
    this.inner.factor(logWeight)
  }
  finish(): Out {
    return this.inner.finish()
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
  /** A copy of the particle's trace, its B-tree loaded; throws DuplicateAddressError on a repeated address. */
  toTrace(): Trace {
    const h = this.handler
    const trace = new Trace()
    trace.assign(h.tape, h.logPrior, h.logLikelihood, h.logFactors)
    void trace.choices
    return trace
  }
}

export class SmcEngine<A> extends SmcPopulation<A, Particle<A>> {
  readonly config: EngineConfig
  /** The support of each latent site (only when rejuvenating: the kernel's scales need it). */
  readonly supports: Map<string, Support> | undefined
  /** States produced by rejuvenation, awaiting `rebuildMoved`. */
  private readonly moved = new Map<object, VisitsOutcome>()

  /** Whether rejuvenation moves only a lag of recent choices. */
  private readonly lagged: boolean
  /** The pool's counters when the run began. */
  private readonly poolStart: PoolStats | undefined

  constructor(model: Model<A>, rng: Rng, config: EngineConfig) {
    super(model, rng, config)
    this.config = config
    this.supports = config.rejuvenation > 0 ? new Map() : undefined
    this.lagged = config.rejuvenation > 0 && config.lag !== undefined
    this.poolStart = config.pool?.statsUnsafe()
  }

  /** How the run used its trace pool so far (undefined without one). */
  tracePool(): PoolUse | undefined {
    return this.config.pool === undefined ? undefined : poolUse(this.config.pool, this.poolStart!)
  }

  /** A fresh particle handler (keeping barrier marks when rejuvenation has a lag), its trace borrowed. */
  private handler(): ParticleHandler {
    const pool = this.config.pool
    const h = new ParticleHandler(this.rng, this.supports, pool !== undefined ? pool.acquireUnsafe() : new Trace())
    if (this.lagged) h.marks = []
    return h
  }

  /** Gives a dropped particle's trace back to the pool. */
  private drop(p: Particle<A>): void {
    const pool = this.config.pool
    if (pool !== undefined && pool.isOutstanding(p.handler.trace)) pool.releaseUnsafe(p.handler.trace)
  }

  /** Gives every particle's trace back (the end of a run, however it ends). */
  returnAll(): void {
    const particles = this.particles
    for (let k = 0; k < particles.length; k++) if (particles[k] !== undefined) this.drop(particles[k])
  }

  /** A particle with a fresh execution of the model (live, at the start). */
  protected override spawn(handler: ParticleHandler = this.handler()): Particle<A> {
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

  /** A copy of `src` awaiting a rebuild: its tape copied into its own trace (the spare's, else a borrowed one), weights carried over. */
  private copy(src: Particle<A>, spare: Particle<A> | undefined): Particle<A> {
    // a dead particle's handler and execution are reused (fewer allocations per resampling)
    const h = spare !== undefined ? spare.handler : this.handler()
    if (spare !== undefined) {
      h.mode = LIVE
      h.replayTo = 0
      h.cursor = 0
      h.increment = 0
      h.barrierAddress = ""
    }
    const s = src.handler
    h.trace.assign(s.tape, 0, 0, 0)
    // a copy that is rebuilt by a replay writes its marks again; a done one never writes
    if (s.marks !== undefined) h.marks = src.done ? s.marks : s.marks.slice()
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
    // 1: keeps the ancestor's live execution; 0: replay the tape; 2: replay the moved state's tape.
    const live = new Uint8Array(n)
    const taken = new Uint8Array(n)
    const naive = this.config.rebuild === "all"
    // particles with no descendant: their handler and execution objects can serve the copies
    const chosen = new Uint8Array(n)
    for (let k = 0; k < n; k++) chosen[ancestors[k]] = 1
    const spares: Array<Particle<A>> = []
    for (let j = 0; j < n; j++) {
      if (chosen[j] === 1 || old[j] === undefined) continue
      if (old[j].bound) spares.push(old[j])
      else this.drop(old[j])
    }
    for (let k = 0; k < n; k++) {
      const j = ancestors[k]
      const src = old[j]
      if (!naive && taken[j] === 0) {
        taken[j] = 1
        next[k] = src
        live[k] = 1
        this.kept++
      } else {
        // Done particles never run again (no execution to reuse); the naive rebuild rescores the tape.
        next[k] = this.copy(src, src.done ? undefined : spares.pop())
      }
    }
    for (let k = 0; k < spares.length; k++) this.drop(spares[k])
    this.resamplings++
    this.resampledAt.push(this.steps)
    if (this.config.rejuvenation > 0) this.rejuvenate(next, live)
    for (let k = 0; k < n; k++) {
      const p = next[k]
      if (live[k] === 2) next[k] = this.rebuildMoved(p)
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
    const tapes = next.map((p) => checkDistinct(p.handler.tape))
    const scales = this.rejuvenationScales(tapes, this.supports!)
    // with a lag, the choices before barrier `fixed` stay as they are (see the header)
    const fixed = this.lagged ? Math.max(0, this.steps - this.config.lag!) : 0
    const prefixes = new Int32Array(next.length)
    let largest = 0
    for (let k = 0; k < tapes.length; k++) {
      if (next[k].broken) continue
      const h = next[k].handler
      if (fixed > 0) prefixes[k] = h.barriers >= fixed ? h.marks![fixed - 1] : tapes[k].length
      if (tapes[k].length - prefixes[k] > largest) largest = tapes[k].length - prefixes[k]
    }
    const steps = this.config.rejuvenation * largest
    const context = { algorithm: "SMC rejuvenation", chain: undefined, iteration: this.steps }
    for (let k = 0; k < next.length; k++) {
      const p = next[k]
      if (p.broken) continue
      const h = p.handler
      const m = prefixes[k]
      if (m === tapes[k].length && m > 0) continue // nothing free to move
      let model = this.model as Model<unknown>
      let transform: Transform = this.transform
      let visits = tapes[k]
      let logPrior = h.logPrior
      let prefix: ReadonlyArray<Choice> = []
      let prefixLogPrior = 0
      if (m > 0) {
        prefix = visits.slice(0, m)
        visits = visits.slice(m)
        logPrior = 0
        for (let j = 0; j < visits.length; j++) logPrior += visits[j]!.logProb
        for (let j = 0; j < m; j++) prefixLogPrior += prefix[j]!.logProb
        const replay = { prefix, cursor: 0 }
        const base = model
        model = () => {
          replay.cursor = 0
          return base()
        }
        transform = compose(this.transform, (inner) => new PrefixReplay(inner, replay))
      }
      const state = { visits, logPrior, logLikelihood: h.logLikelihood, logFactors: h.logFactors }
      const moved = kernelOnVisits(model, state, this.rng, {
        steps,
        scales,
        transform,
        cutAfterBarriers: this.steps,
        maxInstructions: this.config.maxInstructions,
        context
      })
      this.rejuvenationProposed += moved.proposed
      this.rejuvenationAccepted += moved.accepted
      if (moved.accepted > 0) {
        live[k] = 2 // the execution is stale: rebuild it by replaying the moved state's tape
        this.moved.set(p, m === 0 ? moved : { ...moved, visits: prefix.concat(moved.visits), logPrior: prefixLogPrior + moved.logPrior })
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
    if (rescore) h.rescore()
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
   * After an MH move: replays the moved state's tape (the kernel's choices, in the order the
   * moved execution visited them) up to the current step's barrier (or the model's end, when
   * the moved execution has fewer barriers), taking its weights, and leaving the particle live
   * at the barrier or done.
   */
  private rebuildMoved(p: Particle<A>): Particle<A> {
    const moved = this.moved.get(p)!
    this.moved.delete(p)
    this.drop(p) // (before borrowing: the next trace is likely this one)
    const h = this.handler()
    h.mode = REPLAY_TAPE
    h.trace.adopt(moved.visits as Array<Choice>, 0, 0, 0) // (the kernel's own array, given up)
    h.replayTo = this.steps
    const q = this.spawn(h)
    const status = this.steps === 0 ? "stopped" : q.execution.resume()
    h.mode = LIVE
    h.logPrior = moved.logPrior
    h.logLikelihood = moved.logLikelihood
    h.logFactors = moved.logFactors
    if (status === "done") {
      q.done = true
      q.result = q.execution.result
    }
    this.rebuilds++
    this.replayedInstructions += q.execution.instructions
    return q
  }

  /** The weighted particle population as a posterior. */
  override finish<S>(stats: () => S, seed: number | undefined): Posterior<A, S> {
    const n = this.particles.length
    const builder = new Builder<A>("SMC", 1, n)
    normalise(this.logWeights, this.weights)
    // straight from the tapes, as MH records its chains (mhRecorder.ts): the recorder's column
    // slots are reused while consecutive particles visit the same addresses, and each new
    // address sequence is checked for a repeated address once
    // (checked after it is written: a repeated address fails the run, columns and all)
    const recorder = new Recorder<A>(builder, 0)
    for (let i = 0; i < n; i++) {
      const p = this.particles[i]
      const tape = p.handler.tape
      if (recorder.recordVisits(i, tape, p.result as A, this.logWeights[i])) checkDistinct(tape)
    }
    // the posterior holds columns, not the particles' traces: they go back to the pool
    this.returnAll()
    return builder.build({
      weights: [Float64Array.from(this.weights)],
      logEvidence: [this.logEvidence],
      stats: stats(),
      seed
    })
  }
}
