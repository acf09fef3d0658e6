// The SMC engine for models made by `unfold(name, steps, initial, step)` (recognised by
// `unfoldSpec`), behind `Smc.runUnsafe` / `Smc.run`: the same algorithm as the general engine
// (smcEngine.ts) — the same barriers, weights, resampling decisions, log evidence, invalid-
// particle handling and handler transformation (the barrier step itself is shared,
// smcPopulation.ts) — at a cost linear in the number of steps T instead of quadratic.
//
// A particle is: the state its current step t started from, a paused execution of step t's
// model (through the one driver, under the run's handler transformation), the sample sites of
// step t so far (scratch arrays), and the slot of its last completed step t − 1 in that step's
// `Arena` (append-only columns: the step's values, its address `Layout`, the state it returned,
// the barrier count, the slot of the step before). When a step's model returns, its sites and
// state become a new slot and the next step starts from that state; nothing before step t is
// ever run again. The posterior (sites "name#t/…", returns the state arrays) is read off the
// parent columns at the end, O(N·T).
//
// Resampling: the first copy of each ancestor is the ancestor itself (its live execution, no
// work). Every further copy shares the ancestor's slot and, lazily, its current step:
// it is materialised when it is next advanced, which is always after its ancestor in the same
// step (the first copy has the lowest index; particles are advanced in index order). If the
// ancestor then finished its step without drawing a value or meeting another barrier (the
// common case: the observation is the step's last statement), the copy takes the ancestor's new
// slot as its own (`shared`): no replay at all. Otherwise it replays the current step's sites
// from the step's start state up to the barrier it was copied at (`rebuilds`): O(size of one
// step), never O(t). Replays draw no random numbers and the ancestor's run draws them exactly as
// the general engine's would, so on the same model and seed, without rejuvenation, this engine
// gives the general engine's numbers bit for bit (tested).
//
// A step's addresses all start with "name#t/", so two steps can never share one:
// DuplicateAddressError is checked within each step, once per layout, at the end (and in the
// windows rejuvenation builds).
//
// Fixed-lag rejuvenation (resample-move, Gilks & Berzuini 2001, restricted to a window of recent
// steps as in the fixed-lag schemes of Doucet, Briers & Sénécal 2006 and Polson, Stroud & Müller
// 2008): after resampling at barrier k, a particle whose current step is t gets single-site MH
// steps (the kernel of `Mh.kernelUnsafe`: the proposals and trans-dimensional acceptance of the
// general engine's rejuvenation) on the choices of steps s..t only, s = max(0, t − L + 1),
// L = `rejuvenationLag`. Each proposal re-runs steps s..t from the stored state step s started
// from, replaying the other window choices, cut at barrier k. The target is the model cut at
// barrier k; with steps 0..s−1 fixed its density is the prefix's (unchanged, it cancels) times
// p(window choices, window observations | state at s), so the acceptance ratio is the exact
// ratio of the window steps' joint weights. A proposal that would put barrier k in another step
// than t (or, for a particle that finished with fewer than k barriers, reach barrier k at all) is
// rejected: the window (s, t) is then a function of a class of states that moves never leave,
// and within a class the kernel is an ordinary MH kernel, so each is reversible with respect to
// the step-k target. Every particle gets the same number of steps (sweeps × the largest window
// in the population, as in the general engine). A move costs O(L), whatever t. Choices older
// than L steps are never moved again: fixed-lag rejuvenation restores the diversity of recent
// states, not of old ones (path degeneracy remains). A moved particle is rebuilt by replaying
// its window from the start of step s into new slots.
//
// Memory (measured: garbage collection was 37% of the run time with a node per step holding a
// pushed [address, value, log p] array and three running log weights): a particle records into
// its own scratch arrays, reused from step to step; a completed step appends its values, a
// pointer to its `Layout` (the step's address sequence, shared by every completion of step t
// that visited the same addresses), its state and three integers (parent slot, values offset,
// barrier count) to the plain-array columns of step t's arena, with no object per step; log
// probabilities and running log weights are kept only when rejuvenating, their only user.
// Numeric values sit unboxed in double arrays. Against an immutable node object and a values
// array per completed step (the previous form, which the scavenger had to copy while its
// lineage lived), the 1000-particle, 50-step random walk runs 0.82–0.90× the time (paired runs),
// and 100 particles over 50–800 steps the same time. Slots are never freed one by one: the
// completions of lineages that died, and the windows that moves replaced, are dropped by a
// compaction (mark from the particles' slots down the parent columns, newest arena first) run at
// a resampling once the arenas hold more than twice the slots kept by the previous one plus 64N;
// an arena is copied only when that at least halves it, so each slot is copied O(1) times, and
// memory stays proportional to the live genealogy (measured, 1000 particles × 1000 steps, peak
// heap 25 MB, 28 MB with rejuvenation; node objects 22 / 25 MB; no compaction 65 / 433 MB). The
// posterior is read arena by arena, newest first, for all particles at once.
//
// Unscoped steps: with no handler transformation, nothing but this engine sees a step's
// addresses, so a step's model runs without its `scope("name#t", …)` and the engine applies the
// prefix itself, once per layout (sites, the errors it raises, ZeroWeightError's address). The
// driver's scope instructions, the scoped address it builds at every instruction and the
// string comparisons of those addresses when matching layouts cost about a third of a step
// (measured; addresses a model writes as literals compare by pointer). An error raised inside
// such a step is raised again by running the step scoped on the values it had drawn, so the
// driver's annotation names the full address. With a transformation (`transform`, Interpreter
// layers) steps run scoped: the transformation must see the addresses the model has.
//
// Vectorised steps (smcVector.ts; without a transformation or rejuvenation, states that are
// numbers or plain arrays or objects of numbers, option `vectorise` not "never"): the population
// starts as columns (`Vectorised`: per particle the components of the state its step started from,
// the current step's site values, the slot of its last completed step, whether it broke), not as
// executions. Before an advance enters step t, step t is recorded (twice) with symbolic inputs and
// compiled (cached by structure); the advance then runs the rest of the current step and step t up
// to its next barrier as generated loops over the particles, each particle drawing from its own
// stream in the interpreted step's order with the families' own arithmetic, so the numbers are the
// interpreted engine's bit for bit (tested); a completed step is written into a new arena at its
// final size. Resampling gathers the columns by ancestor (no copies, forks or replays; `shared`
// and `rebuilds` stay 0). Side effect: the step function and its model run twice per step t (to
// record it), not once per particle. When a step the next advance would enter cannot be recorded
// (see smcVector.ts), the population leaves vectorised mode for good before running anything of
// that advance: each particle becomes an interpreted one pending a replay of its current step up
// to the barrier it is at (the fork mechanism above, drawing no random numbers), or a broken one.
// A vectorised advance runs the whole population at once: `Smc.run`'s time slices pause between
// advances, not within one.
import * as Ad from "@fugue/core/Ad"
import { InvalidDistributionError, type Distribution, type Support } from "@fugue/core/Distribution"
import { addr, scoped, type Address } from "@fugue/core/Address"
import { scope, type Model, type Program, type UnfoldSpec } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { compose, identity, type Transform } from "@fugue/runtime/Combinators"
import { abort, Execution } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { MissingAddressError, Trace, type ChoiceValue } from "@fugue/runtime/Trace"
import type { Posterior } from "../Posterior.ts"
import { kernel } from "./mhChain.ts"
import { wrapHandler } from "./shell.ts"
import { type PopulationConfig, SmcPopulation } from "./smcPopulation.ts"
import { componentsOf, probeStep, sameShape, type Shape, shapeOf, stateOf, type VectorStep, widthOf } from "./smcVector.ts"
import { normalise } from "./weights.ts"

export interface UnfoldConfig extends PopulationConfig {
  /** Rejuvenation moves the choices of the last `lag` steps (≥ 1). */
  readonly lag: number
  /** Whether the arenas are compacted (default true; false keeps every completion, for tests). */
  readonly compaction?: boolean | undefined
  /** Whether fixed steps may run vectorised (default true; see the header and smcVector.ts). */
  readonly vectorise?: boolean | undefined
}

/** How the step handler treats sample sites and barriers. */
const LIVE = 0, REPLAY_TAPE = 1, REPLAY_TRACE = 2, REPRODUCE = 3

/** An address recorded under `prefix` (the step's scope when the step ran unscoped, else ""). */
const full = (prefix: string, address: string): string => (prefix === "" ? address : scoped(prefix, address))

/** The addresses a step visited, in order: shared by every completion of that step that visited the same ones. */
class Layout {
  /** As recorded (relative to `prefix`). */
  readonly addresses: Array<string>
  readonly prefix: string
  /** Whether the addresses were checked to be distinct. */
  checked = false
  /** The posterior columns of the addresses, during `finish` number `stamp`. */
  columns: Array<Float64Array | undefined> = []
  stamp = 0
  private full: Array<string> | undefined = undefined
  constructor(addresses: Array<string>, prefix: string) {
    this.addresses = addresses
    this.prefix = prefix
  }
  /** The full addresses (the posterior's sites). */
  get sites(): Array<string> {
    return this.full ??= this.prefix === "" ? this.addresses : this.addresses.map((a) => scoped(this.prefix, a))
  }
}

/**
 * The completed steps t of every particle, one slot per completion, in append-only columns
 * (no object per step, see the header). A slot is immutable once written and shared by every
 * descendant of the particle that completed it.
 */
class Arena<S> {
  /** Slots written so far. */
  size = 0
  /** The state the step returned. */
  readonly states: Array<S>
  readonly layouts: Array<Layout>
  /** The value drawn at each address of the slot's layout. */
  readonly values: Array<unknown>
  /** Their log probabilities (only when rejuvenating). */
  readonly logProbs: Array<number> = []
  /**
   * Per slot, three integers: the slot of the step before in arena t − 1 (−1 at t = 0), where
   * the slot's values start in `values` (one per address of its layout), the barriers met
   * through this step. One array, not three: an arena is made per step (plain arrays: a typed
   * array of more than 64 bytes gets an off-heap buffer, measured at about a microsecond each).
   */
  readonly meta: Array<number>
  /** The layout of every slot, when they share one (a vectorised step's arena; `layouts` is then empty). */
  readonly layout: Layout | undefined
  /**
   * Empty, or a vectorised step's completions (`capacity` slots of `width` numbers, one layout,
   * written by index; number states in a typed column, array or object states in a plain array):
   * typed columns, which the scavenger neither scans nor copies while the run holds them
   * (measured on the 1000-particle random walk, paired CPU time: 0.96× the run time of plain
   * arrays, quartiles 0.94–0.98, net of the off-heap allocations).
   */
  constructor(capacity = 0, width = 0, layout?: Layout, numbers = true) {
    const dense = layout !== undefined
    this.layout = layout
    this.states = !dense ? [] : numbers ? new Float64Array(capacity) as unknown as Array<S> : new Array(capacity)
    this.layouts = []
    this.values = dense ? new Float64Array(capacity * width) as unknown as Array<unknown> : []
    this.meta = dense ? new Int32Array(3 * capacity) as unknown as Array<number> : []
  }
  /** The layout of `slot`. */
  layoutAt(slot: number): Layout {
    return this.layout ?? this.layouts[slot]
  }
  /** Per slot, the running logPrior, logLikelihood, logFactors through this step (only when rejuvenating). */
  readonly weights: Array<number> = []
  parent(slot: number): number {
    return this.meta[3 * slot]
  }
  offset(slot: number): number {
    return this.meta[3 * slot + 1]
  }
  barriers(slot: number): number {
    return this.meta[3 * slot + 2]
  }
  /** Appends a slot whose values start at `offset` (already pushed); returns its number. */
  add(state: S, parent: number, layout: Layout, offset: number, barriers: number): number {
    this.states.push(state)
    this.layouts.push(layout)
    this.meta.push(parent, offset, barriers)
    return this.size++
  }
  /** Records the running log weights of `slot` (rejuvenating). */
  weigh(logPrior: number, logLikelihood: number, logFactors: number): void {
    this.weights.push(logPrior, logLikelihood, logFactors)
  }
}

/**
 * The handler at the bottom of every particle: records the current step's sample sites in its
 * scratch arrays (the first `length` entries) and stops the execution at each barrier with the
 * barrier's log weight in `increment`. In a replay mode it feeds recorded values back instead
 * (a copy's current step, by position; a moved window, by address, rescoring observations), up
 * to barrier `replayTo`. Log probabilities are computed and kept only when rejuvenating.
 * Addresses are relative to `prefix` (the step's scope when it runs unscoped, else "").
 */
export class StepHandler implements Handler<void> {
  readonly rng: Rng
  /** The support of each latent site (only when rejuvenating: the kernel's scales need it). */
  readonly supports: Map<string, Support> | undefined
  execution!: Execution<unknown, void>
  mode = LIVE
  prefix = ""
  addresses: Array<string> = []
  values: Array<unknown> = []
  logProbs: Array<number> = []
  length = 0
  cursor = 0
  source: Trace | undefined = undefined
  /** The barrier (running count) at which a replay ends: the execution stops there and goes live. */
  replayTo = 0
  /** Barriers met so far, all steps. */
  barriers = 0
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  increment = 0
  /** The address of the latest barrier, relative to `prefix` ("" for a factor). */
  barrier = ""
  constructor(rng: Rng, supports: Map<string, Support> | undefined) {
    this.rng = rng
    this.supports = supports
  }
  /** The full address of the latest barrier ("" for a factor). */
  get barrierAddress(): string {
    return this.barrier === "" ? "" : full(this.prefix, this.barrier)
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const mode = this.mode
    if (mode === LIVE) {
      const value = dist.sample(this.rng)
      const k = this.length++
      this.addresses[k] = address
      this.values[k] = value
      if (this.supports !== undefined) this.score(k, address, dist, value)
      return value
    }
    if (mode === REPLAY_TAPE) {
      // a copy's rebuild: the recorded value, its address checked
      const k = this.cursor
      if (k >= this.length || this.addresses[k] !== address) throw new MissingAddressError({ address: full(this.prefix, address) })
      this.cursor = k + 1
      return this.values[k] as T
    }
    if (mode === REPRODUCE) {
      // the recorded values again, then draws from a copy of the stream (the run is failing)
      return (this.cursor < this.length ? this.values[this.cursor++] : dist.sample(this.rng.clone())) as T
    }
    return this.sampleTrace(address, dist)
  }
  /** Rejuvenating: the site's log probability and support. */
  private score<T>(k: number, address: Address, dist: Distribution<T>, value: T): void {
    const logProb = dist.logProb(value)
    this.logProbs[k] = logProb
    this.logPrior += logProb
    const supports = this.supports!
    const site = full(this.prefix, address)
    if (!supports.has(site)) supports.set(site, dist.support)
  }
  /** A moved window's replay: the value by address, recorded afresh. */
  private sampleTrace<T>(address: Address, dist: Distribution<T>): T {
    const site = full(this.prefix, address)
    const choice = this.source!.choices.get(site)
    if (choice === undefined) throw new MissingAddressError({ address: site })
    const k = this.length++
    this.addresses[k] = address
    this.values[k] = choice.value
    this.logProbs[k] = choice.logProb
    this.logPrior += choice.logProb
    const supports = this.supports!
    if (!supports.has(site)) supports.set(site, dist.support)
    return choice.value as T
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    if (this.mode !== LIVE) {
      if (this.mode === REPRODUCE) return
      if (this.mode === REPLAY_TRACE) this.logLikelihood += dist.logProb(value)
      if (++this.barriers >= this.replayTo) this.endReplay()
      return
    }
    const logProb = dist.logProb(value)
    this.logLikelihood += logProb
    this.increment = logProb
    this.barrier = address
    this.barriers++
    this.execution.stop()
  }
  factor(logWeight: number): void {
    if (this.mode !== LIVE) {
      if (this.mode === REPRODUCE) return
      if (this.mode === REPLAY_TRACE) this.logFactors += logWeight
      if (++this.barriers >= this.replayTo) this.endReplay()
      return
    }
    this.logFactors += logWeight
    this.increment = logWeight
    this.barrier = ""
    this.barriers++
    this.execution.stop()
  }
  finish(): void {}
  private endReplay(): void {
    this.mode = LIVE
    this.source = undefined
    this.execution.stop()
  }
}

/**
 * What the copies of an ancestor made at one resampling share: the ancestor's current step as
 * it was then (the first `length` entries of the arrays: its scratch arrays, which it only
 * appends to within the step, or, once it completed the step, copies of them), and the slot of
 * that step when the ancestor completed it without another draw or barrier.
 */
interface Fork {
  readonly round: number
  addresses: Array<string>
  values: Array<unknown>
  logProbs: Array<number>
  readonly length: number
  /** The slot of the ancestor's completed step (−1: not handed over). */
  completed: number
}

export class UnfoldParticle<S> {
  readonly handler: StepHandler
  execution!: Execution<S, void>
  /** The model of the current step (made once per particle; reads `t` and `start`). */
  stepModel!: Model<S>
  /** The slot of the last completed step, t − 1, in its arena (−1 before the first one completes). */
  slot = -1
  /** The current step. */
  t = 0
  /** The state the current step started from. */
  start!: S
  done = false
  /** Whether the particle's execution raised InvalidDistributionError (weight −∞ from then on). */
  broken = false
  /** Whether the first step has not been started yet. */
  fresh = true
  /** As an ancestor: the fork its copies took at the latest resampling. */
  fork: Fork | undefined = undefined
  /** As a copy: the fork it has yet to be materialised from. */
  pending: Fork | undefined = undefined
  constructor(handler: StepHandler) {
    this.handler = handler
  }
}

/** The window of one rejuvenation: steps s..t, started from `start`, cut at barrier `cut` (counted from step s). */
class Window<S> {
  readonly engine: UnfoldEngine<S>
  readonly s: number
  readonly t: number
  readonly start: S
  readonly cut: number
  /** The particle had finished with fewer barriers than the cut: moves must finish without reaching it. */
  readonly done: boolean
  /** The step being run and the barriers met so far in this run. */
  u = 0
  barriers = 0
  constructor(engine: UnfoldEngine<S>, s: number, t: number, start: S, cut: number, done: boolean) {
    this.engine = engine
    this.s = s
    this.t = t
    this.start = start
    this.cut = cut
    this.done = done
  }
}

/** The model an execution holds before its particle's first step. */
const idle: Model<unknown> = function*() {
  return undefined
}

function* windowProgram<S>(w: Window<S>): Program<void> {
  w.barriers = 0
  const engine = w.engine, step = engine.spec.step
  let state = w.start
  for (let u = w.s; u <= w.t; u++) {
    w.u = u
    state = yield* scope(engine.prefix(u), step(state, u))()
  }
  // the run got through step t without reaching the cut: another window, rejected
  if (!w.done) throw abort
}

/**
 * Innermost layer of a rejuvenation proposal (under the run's transformation, above the MH
 * proposal handler): rejects at once a run whose cut barrier falls outside step t, or that
 * reaches the cut when the particle had finished before it.
 */
class WindowGuard<Out> implements Handler<Out> {
  readonly inner: Handler<Out>
  readonly window: Window<unknown>
  constructor(inner: Handler<Out>, window: Window<unknown>) {
    this.inner = inner
    this.window = window
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    return this.inner.sample(address, dist)
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.inner.observe(address, dist, value)
    this.barrier()
  }
  factor(logWeight: number): void {
    this.inner.factor(logWeight)
    this.barrier()
  }
  finish(): Out {
    return this.inner.finish()
  }
  private barrier(): void {
    const w = this.window
    if (++w.barriers === w.cut && (w.done || w.u !== w.t)) throw abort
  }
}

/** Throws DuplicateAddressError if the first `length` addresses of one step (under `prefix`) hold one twice. */
const checkDistinct = (addresses: ReadonlyArray<string>, length: number, prefix: string): void => {
  if (length <= 8) {
    for (let a = 1; a < length; a++) {
      for (let b = 0; b < a; b++) {
        if (addresses[a] === addresses[b]) throw new DuplicateAddressError({ address: full(prefix, addresses[a]) })
      }
    }
    return
  }
  const seen = new Set<string>()
  for (let a = 0; a < length; a++) {
    if (seen.has(addresses[a])) throw new DuplicateAddressError({ address: full(prefix, addresses[a]) })
    seen.add(addresses[a])
  }
}

/** What compaction reads and rewrites of a particle: its current step and the slot of the step before. */
interface Root {
  readonly t: number
  slot: number
}

/** What `finish` reads of a particle (an `UnfoldParticle`, or a vectorised particle's record). */
interface View extends Root {
  readonly done: boolean
  readonly broken: boolean
  readonly fresh: boolean
  readonly pending: Fork | undefined
  readonly handler: { readonly addresses: ReadonlyArray<string>; readonly values: ReadonlyArray<unknown>; readonly length: number }
}

/** A vectorised particle that raised InvalidDistributionError: what the interpreted one would hold (its step, slot, sites drawn in it). */
interface Broken {
  readonly t: number
  slot: number
  readonly addresses: ReadonlyArray<string>
  readonly values: Array<number>
}

const EMPTY = { addresses: [], values: [], length: 0 }

/**
 * The population while it runs vectorised (see the header): every live particle is at the same
 * point of the same step t, so a particle is a row of columns.
 */
class Vectorised {
  /** The current step, and its recording once started (undefined: step t not started). */
  t = 0
  current: VectorStep | undefined = undefined
  /** The next segment of `current` to run. */
  segment = 0
  /** Barriers met so far (all steps), and the latest one's address (relative; "" for a factor or none). */
  barriers = 0
  lastBarrier = ""
  /** Every live particle finished its last step. */
  done = false
  /**
   * Per particle: the state step t started from, and the state it returned (scratch otherwise),
   * one column per component of `shape`.
   */
  S: Array<Float64Array>
  R: Array<Float64Array>
  shape: Shape
  /** Per site of the current step, its value per particle. */
  V: Array<Float64Array> = []
  /** Per particle: the slot of step t − 1 in its arena (−1 at t = 0). */
  slot: Int32Array
  /**
   * Per particle: 0 live, 1 broken (InvalidDistributionError); in the advance in progress, 2 / 4
   * broke in this segment (before / after its barrier), 3 / 5 the same, recorded.
   */
  dead: Uint8Array
  /** A particle that broke: the sites it had drawn in its step. */
  drawn: Int32Array
  /** The barrier's log weight per particle. */
  inc: Float64Array
  /** Whether the particle is a copy that has not met a barrier since the resampling (its handler's barrier would be ""). */
  copied: Uint8Array
  broken: Array<Broken | undefined>
  /** Whether `broken` may hold a record. */
  anyBroken = false
  /** Steps recorded ahead of being run (null: cannot be vectorised). */
  readonly planned = new Map<number, VectorStep | string>()
  readonly tape = new Ad.Tape()
  // gather scratch (resampling)
  slot2: Int32Array
  dead2: Uint8Array
  copied2: Uint8Array
  spare: Float64Array
  taken: Uint8Array
  constructor(n: number, initial: unknown, shape: Shape) {
    this.shape = shape
    this.S = componentsOf<number>(initial, shape).map((x) => new Float64Array(n).fill(x))
    this.R = []
    this.slot = new Int32Array(n).fill(-1)
    this.dead = new Uint8Array(n)
    this.drawn = new Int32Array(n)
    this.inc = new Float64Array(n)
    this.copied = new Uint8Array(n)
    this.broken = new Array(n).fill(undefined)
    this.slot2 = new Int32Array(n)
    this.dead2 = new Uint8Array(n)
    this.copied2 = new Uint8Array(n)
    this.spare = new Float64Array(n)
    this.taken = new Uint8Array(n)
  }
}

/** Process-wide `finish` numbers, so that a layout's cached columns are never another posterior's. */
let finishes = 0

export class UnfoldEngine<S> extends SmcPopulation<Array<S>, UnfoldParticle<S>> {
  readonly spec: UnfoldSpec<S>
  readonly config: UnfoldConfig
  /** The support of each latent site (only when rejuvenating: the kernel's scales need it). */
  readonly supports: Map<string, Support> | undefined
  /** Copies that took their ancestor's completed step without any replay. */
  shared = 0
  /** Steps run vectorised (recorded per step, run as generated code over the population: smcVector.ts). */
  vectorisedSteps = 0
  /** Why steps ran interpreted ("" while every step ran vectorised; `Smc.stats(post).notVectorised`). */
  notVectorised = ""
  /** The population's columns while it runs vectorised; undefined once (or if never) it runs interpreted. */
  private vector: Vectorised | undefined
  /** Whether steps run unscoped (no transformation: see the header). */
  readonly unscoped: boolean
  private readonly prefixes: Array<string> = []
  /** The latest layout made for each step. */
  private readonly layouts: Array<Layout | undefined> = []
  /** The completed steps: arenas[t] holds every completion of step t. */
  private readonly arenas: Array<Arena<S>> = []
  /** Slots in all arenas (completed steps retained), and how many the latest compaction kept. */
  slots = 0
  private compacted = 0
  private readonly scratch = [new Int32Array(0), new Int32Array(0)]

  constructor(model: Model<Array<S>>, spec: UnfoldSpec<S>, rng: Rng, config: UnfoldConfig) {
    super(model, rng, config)
    this.spec = spec
    this.config = config
    this.supports = config.rejuvenation > 0 ? new Map() : undefined
    this.unscoped = this.transform === identity
    const shape = shapeOf(spec.initial)
    this.notVectorised = config.vectorise === false
      ? 'vectorise: "never"'
      : !this.unscoped
      ? "a handler transformation (transform or an Interpreter layer) runs every step scoped"
      : config.rejuvenation > 0
      ? "rejuvenation moves particles one by one"
      : shape === undefined
      ? "the initial state is not a number or a plain array or object of numbers"
      : ""
    this.vector = this.notVectorised === "" ? new Vectorised(config.particles, spec.initial, shape!) : undefined
  }

  override advanceUnsafe(deadline: number = Infinity): boolean {
    if (this.vector !== undefined && !this.midStep && this.advanceVector(this.vector)) return true
    return super.advanceUnsafe(deadline)
  }

  /** Step t recorded and compiled (once) for a state of this shape, or why it cannot run vectorised. */
  private stepAt(v: Vectorised, t: number, shape: Shape): VectorStep | string {
    let step = v.planned.get(t)
    if (step === undefined) {
      // the probe's state: a live particle's when the shapes agree (parameters are validated at
      // it); the second recording's: another live particle's that differs from it, else the
      // probe's moved by ½ + ¼|x| per component (see probeStep)
      const width = widthOf(shape)
      const same = sameShape(shape, v.shape)
      let live = -1, other = -1
      for (let i = 0; i < v.dead.length && other < 0; i++) {
        if (v.dead[i] !== 0) continue
        if (live < 0) live = i
        else if (same) for (let j = 0; j < width; j++) if (!Object.is(v.S[j][i], v.S[j][live])) other = i
      }
      const probe = Array.from({ length: width }, (_, j) => (same && live >= 0 ? v.S[j][live] : 0))
      const moved = Array.from({ length: width }, (_, j) => (other >= 0 ? v.S[j][other] : probe[j] + 0.5 + 0.25 * Math.abs(probe[j])))
      step = probeStep(this.spec.step as unknown as (state: unknown, t: number) => Model<unknown>, t, shape, probe, moved, v.tape, this.config.maxInstructions)
      v.planned.set(t, step)
    }
    return step
  }

  /**
   * One population advance, vectorised: the rest of the current step and the steps after it up
   * to the next barrier, for every live particle. False (nothing done) when a step it would
   * enter cannot run vectorised: the population has then left vectorised mode.
   */
  private advanceVector(v: Vectorised): boolean {
    const steps = this.spec.steps
    const entering = v.current === undefined ? v.t : v.segment >= v.current.barriers.length ? v.t + 1 : -1
    if (entering >= 0) {
      let shape = v.current === undefined ? v.shape : v.current.outShape
      for (let u = entering; u < steps; u++) {
        const step = this.stepAt(v, u, shape)
        if (typeof step === "string") {
          this.notVectorised = `step ${u}: ${step}`
          this.leaveVector(v)
          return false
        }
        shape = step.outShape
        if (step.barriers.length > 0) break
      }
    }
    this.context.iteration = this.steps
    this.hits = 0
    this.stepAddress = undefined
    const n = v.dead.length
    const dead = v.dead
    let reached = false, broke = false
    while (true) {
      if (v.current === undefined) {
        if (!(v.t < steps)) {
          v.done = true
          break
        }
        const step = this.stepAt(v, v.t, v.shape) as VectorStep // recorded by the check above
        v.planned.delete(v.t)
        v.current = step
        v.segment = 0
        const sites = step.sitesBefore[step.barriers.length + 1]
        while (v.V.length < sites) v.V.push(new Float64Array(n))
        const width = widthOf(step.outShape)
        while (v.R.length < width) v.R.push(new Float64Array(n))
      }
      const step = v.current, s = v.segment
      if (step.segments[s](n, dead, v.drawn, v.S, v.V, step.constants, this.streams, this.rng, v.inc, v.R) > 0) for (let i = 0; i < n; i++) {
        if (dead[i] === 2 || dead[i] === 4) {
          // as the interpreted particle after its InvalidDistributionError: its sites so far in step t
          const values: Array<number> = []
          for (let k = 0; k < v.drawn[i]; k++) values.push(v.V[k][i])
          v.broken[i] = { t: v.t, slot: v.slot[i], addresses: step.addresses, values }
          v.anyBroken = true
          dead[i]++
          broke = true
        }
      }
      if (s < step.barriers.length) {
        v.segment = s + 1
        reached = true
        break
      }
      this.completeVector(v, step)
    }
    if (!reached && !broke) return true
    const lw = this.logWeights, inc = v.inc
    const address = reached ? v.current!.barriers[v.segment - 1] : ""
    const prefix = reached ? this.prefix(v.t) : ""
    let hits = 0, invalid = 0, first = -1, firstCode = 0
    for (let i = 0; i < n; i++) {
      const d = dead[i]
      if (d === 1 || (d === 0 && !reached)) continue
      if (first < 0) {
        first = i
        firstCode = d
      }
      hits++
      if (d !== 0) {
        // broke in this advance (3, 5)
        dead[i] = 1
        this.rejectedInvalid++
        lw[i] += -Infinity
        continue
      }
      let increment = inc[i]
      if (!(increment < Infinity)) {
        invalid++
        increment = -Infinity
      }
      lw[i] += increment
    }
    this.hits = hits
    this.invalid += invalid
    if (hits > 0) {
      // the first particle's barrier address, as the interpreted particle's handler has it: the
      // barrier's; for one that broke, its latest barrier's (none for a fresh copy), this
      // advance's when it broke after it (5)
      this.stepAddress = firstCode === 3
        ? v.lastBarrier === "" || v.copied[first] === 1 ? "" : full(this.prefix(v.broken[first]!.t), v.lastBarrier)
        : address === "" ? "" : full(prefix, address)
    }
    if (reached) {
      v.barriers++
      v.lastBarrier = address
      v.copied.fill(0)
    }
    return true
  }

  /** The vectorised step t just returned: its sites and states become slots of its arena. */
  private completeVector(v: Vectorised, step: VectorStep): void {
    const t = v.t
    const dead = v.dead, slot = v.slot, R = v.R, V = v.V, barriers = v.barriers
    const n = dead.length
    let live = 0
    for (let i = 0; i < n; i++) if (dead[i] === 0) live++
    const k = step.addresses.length
    // the arena of step t is new: nothing but this completion writes to it
    const layout = this.layoutOf(t, step.addresses, k, this.prefix(t))
    const shape = step.outShape
    const scalar = shape === -1
    const arena = new Arena<S>(live, k, layout, scalar)
    this.arenas[t] = arena
    const values = arena.values, states = arena.states, meta = arena.meta
    const R0 = R[0]
    let c = 0
    for (let i = 0; i < n; i++) {
      if (dead[i] !== 0) continue
      const offset = c * k
      for (let j = 0; j < k; j++) values[offset + j] = V[j][i]
      // an array or object state: a fresh one, as the step returned it
      states[c] = (scalar ? R0[i] : stateOf(shape, (j) => R[j][i])) as S
      meta[3 * c] = slot[i]
      meta[3 * c + 1] = offset
      meta[3 * c + 2] = barriers
      slot[i] = c++
    }
    arena.size = c
    this.slots += c
    v.R = v.S
    v.S = R
    v.shape = shape
    v.t = t + 1
    v.current = undefined
    this.vectorisedSteps++
  }

  /**
   * Leaves vectorised mode before a step that cannot run vectorised: every particle becomes an
   * interpreted one where the columns left it — after the last barrier of step t, as a copy
   * whose current step is replayed from the values it drew (no random numbers), or broken.
   */
  private leaveVector(v: Vectorised): void {
    this.vector = undefined
    const step = v.current
    if (step === undefined && v.t === 0) return // nothing ran: the particles start fresh
    const particles = this.particles
    const drawn = step === undefined ? 0 : step.sitesBefore[v.segment]
    for (let i = 0; i < particles.length; i++) {
      const p = (particles[i] ??= this.spawn())
      const h = p.handler
      p.fresh = false
      const broken = v.broken[i]
      if (v.dead[i] !== 0) {
        p.broken = p.done = true
        p.t = broken!.t
        p.slot = broken!.slot
        h.addresses = broken!.addresses.slice(0, broken!.values.length)
        h.values = broken!.values
        h.length = broken!.values.length
        h.prefix = this.prefix(broken!.t)
        continue
      }
      p.t = v.t
      p.slot = v.slot[i]
      h.barriers = v.barriers
      h.barrier = v.copied[i] === 1 ? "" : v.lastBarrier
      h.prefix = this.prefix(v.t)
      if (step === undefined) {
        // at the start of step t
        this.begin(p)
        continue
      }
      const values: Array<number> = []
      for (let k = 0; k < drawn; k++) values.push(v.V[k][i])
      p.pending = { round: -1, addresses: step.addresses, values, logProbs: [], length: drawn, completed: -1 }
    }
  }

  /** Resampling the columns (the same ancestors as the interpreted engine's, the same `kept`). */
  private resampleVector(v: Vectorised): void {
    const n = v.dead.length
    if (this.slots > 2 * this.compacted + 64 * n && this.config.compaction !== false) this.compactVector(v)
    const ancestors = this.config.resampler(this.weights, n, this.rng)
    this.resamplings++
    const taken = v.taken.fill(0)
    const slot = v.slot, slot2 = v.slot2, dead = v.dead, dead2 = v.dead2, copied = v.copied2
    let anyBroken = 0, kept = 0
    // branch-free: the first copy of each ancestor is the ancestor itself (kept), the others copies
    for (let k = 0; k < n; k++) {
      const j = ancestors[k]
      const seen = taken[j]
      kept += 1 - seen
      copied[k] = seen
      taken[j] = 1
      slot2[k] = slot[j]
      const d = dead[j]
      dead2[k] = d
      anyBroken |= d
    }
    this.kept += kept
    if (anyBroken !== 0) {
      const broken = v.broken.slice()
      for (let k = 0; k < n; k++) {
        const b = broken[ancestors[k]]
        v.broken[k] = b === undefined ? undefined : { ...b }
      }
    } else if (v.anyBroken) v.broken.fill(undefined)
    v.anyBroken = anyBroken !== 0
    // the columns by ancestor: the state's components and the current step's sites so far
    const sites = v.current === undefined ? 0 : v.current.sitesBefore[v.segment]
    const gather = (columns: Array<Float64Array>, c: number): void => {
      const col = columns[c], out = v.spare
      for (let k = 0; k < n; k++) out[k] = col[ancestors[k]]
      columns[c] = out
      v.spare = col
    }
    for (let c = 0; c < v.S.length; c++) gather(v.S, c)
    for (let c = 0; c < sites; c++) gather(v.V, c)
    v.slot = slot2
    v.slot2 = slot
    v.dead = dead2
    v.dead2 = dead
    v.copied2 = v.copied
    v.copied = copied
    this.resampledAt.push(this.steps)
  }

  /** Compaction with the columns' slots (and broken particles') as the roots. */
  private compactVector(v: Vectorised): void {
    const n = v.dead.length
    const roots: Array<Root> = []
    for (let i = 0; i < n; i++) roots.push(v.dead[i] === 0 ? { t: v.t, slot: v.slot[i] } : v.broken[i]!)
    this.compact(roots)
    for (let i = 0; i < n; i++) if (v.dead[i] === 0) v.slot[i] = roots[i].slot
  }

  /** The vectorised particles as `finish` reads them. */
  private views(v: Vectorised): Array<View> {
    const n = v.dead.length
    const out: Array<View> = []
    const step = v.current
    const drawn = step === undefined ? 0 : step.sitesBefore[v.segment]
    for (let i = 0; i < n; i++) {
      const b = v.broken[i]
      if (v.dead[i] !== 0) {
        out.push({ done: true, broken: true, fresh: false, pending: undefined, t: b!.t, slot: b!.slot, handler: { addresses: b!.addresses, values: b!.values, length: b!.values.length } })
      } else if (v.done || step === undefined) {
        out.push({ done: v.done, broken: false, fresh: !v.done && v.t === 0, pending: undefined, t: v.t, slot: v.slot[i], handler: EMPTY })
      } else {
        const values: Array<number> = []
        for (let k = 0; k < drawn; k++) values.push(v.V[k][i])
        out.push({ done: false, broken: false, fresh: false, pending: undefined, t: v.t, slot: v.slot[i], handler: { addresses: step.addresses, values, length: drawn } })
      }
    }
    return out
  }

  /** The scope of step t, "name#t" (built once per step). */
  prefix(t: number): string {
    return this.prefixes[t] ??= addr(this.spec.name, t)
  }

  protected override spawn(): UnfoldParticle<S> {
    const h = new StepHandler(this.rng, this.supports)
    const p = new UnfoldParticle<S>(h)
    const spec = this.spec
    p.stepModel = this.unscoped
      ? () => spec.step(p.start, p.t)()
      : () => scope(this.prefix(p.t), spec.step(p.start, p.t))()
    p.start = spec.initial
    // the first step starts at the particle's first advance, where its errors are handled
    p.execution = new Execution<S, void>(idle as Model<S>, wrapHandler("SMC", this.transform, h, this.sideRng), {
      context: this.context,
      maxInstructions: this.config.maxInstructions
    })
    h.execution = p.execution as Execution<unknown, void>
    return p
  }

  /** Starts the particle's current step from the state its history ended with. */
  private begin(p: UnfoldParticle<S>): void {
    p.start = p.slot < 0 ? this.spec.initial : this.arenas[p.t - 1].states[p.slot]
    if (this.unscoped) p.handler.prefix = this.prefix(p.t)
    p.execution.restart(p.stepModel)
  }

  /** The layout of step t for these addresses: the latest one made for t when it matches. */
  private layoutOf(t: number, addresses: Array<string>, n: number, prefix: string): Layout {
    let layout = this.layouts[t]
    if (layout !== undefined) {
      const known = layout.addresses
      if (known.length === n) {
        let k = 0
        while (k < n && known[k] === addresses[k]) k++
        if (k === n) return layout
      }
    }
    layout = new Layout(addresses.slice(0, n), prefix)
    this.layouts[t] = layout
    return layout
  }

  /** The step the execution just finished becomes a slot of its arena (the particle's new `slot`). */
  private complete(p: UnfoldParticle<S>): void {
    const h = p.handler
    if (h.mode !== LIVE) this.replayedInstructions += p.execution.instructions
    const n = h.length
    const t = p.t
    const scored = this.supports !== undefined
    const arena = (this.arenas[t] ??= new Arena<S>())
    this.slots++
    const values = arena.values
    const offset = values.length
    for (let k = 0; k < n; k++) values.push(h.values[k])
    const slot = arena.add(p.execution.result as S, p.slot, this.layoutOf(t, h.addresses, n, h.prefix), offset, h.barriers)
    if (scored) {
      const logProbs = arena.logProbs
      for (let k = 0; k < n; k++) logProbs.push(h.logProbs[k])
      arena.weigh(h.logPrior, h.logLikelihood, h.logFactors)
    }
    h.length = 0
    p.slot = slot
    p.t = t + 1
  }

  /**
   * Runs `p` up to and including its next barrier (true, the log weight in
   * `p.handler.increment`) or to the model's end (false). A particle whose execution raises
   * InvalidDistributionError is broken: weight −∞ (increment −∞, counted), never run again.
   */
  protected override advance(p: UnfoldParticle<S>): boolean {
    try {
      if (p.pending !== undefined) {
        if (!this.materialise(p)) return false
      } else if (p.fresh) {
        p.fresh = false
        if (!(0 < this.spec.steps)) {
          p.done = true
          return false
        }
        this.begin(p)
      }
      return this.run(p)
    } catch (error) {
      if (!(error instanceof InvalidDistributionError)) throw this.unscoped ? this.reproduce(p, error) : error
      this.rejectedInvalid++
      p.broken = true
      p.done = true
      p.pending = undefined
      p.handler.increment = -Infinity
      return true
    }
  }

  /**
   * An error raised inside an unscoped step, raised again by running the step scoped on the
   * values it had drawn (the driver then names the full address); the original error when the
   * rerun does not fail.
   */
  private reproduce(p: UnfoldParticle<S>, error: unknown): unknown {
    const h = p.handler
    if (h.prefix === "" || p.fresh) return error
    h.mode = REPRODUCE
    h.cursor = 0
    try {
      const prefix = h.prefix, step = this.spec.step, start = p.start, t = p.t
      p.execution.restart(() => scope(prefix, step(start, t))())
      p.execution.runToEnd()
    } catch (again) {
      return again
    } finally {
      h.mode = LIVE
    }
    return error
  }

  /**
   * Resumes `p` until its execution stops at a barrier (true) or the model ends (false),
   * completing steps on the way; as an ancestor, hands its copies the step it completes first:
   * as their own when it got there without another draw or barrier, else as the tape to replay.
   */
  private run(p: UnfoldParticle<S>): boolean {
    const h = p.handler
    let fork = p.fork
    p.fork = undefined
    const length = h.length, barriers = h.barriers
    while (true) {
      if (p.execution.resume() === "stopped") return true
      const unchanged = h.length === length && h.barriers === barriers
      this.complete(p)
      if (fork !== undefined) {
        if (unchanged) fork.completed = p.slot
        else {
          // the scratch arrays are about to be reused: the fork keeps copies of its prefix
          const n = fork.length
          fork.addresses = h.addresses.slice(0, n)
          fork.values = h.values.slice(0, n)
          fork.logProbs = this.supports === undefined ? [] : h.logProbs.slice(0, n)
        }
        fork = undefined
      }
      if (!(p.t < this.spec.steps)) {
        p.done = true
        return false
      }
      this.begin(p)
    }
  }

  /**
   * A copy's first advance after a resampling: take the ancestor's completed step when it was
   * handed over, else replay the current step's tape up to the copy's barrier. False when the
   * copy is thereby finished.
   */
  private materialise(p: UnfoldParticle<S>): boolean {
    const fork = p.pending!
    p.pending = undefined
    const h = p.handler
    const completed = fork.completed
    if (completed >= 0) {
      // weights and barriers are unchanged: the ancestor met neither a draw nor a barrier
      p.slot = completed
      p.t++
      this.shared++
      if (!(p.t < this.spec.steps)) {
        p.done = true
        return false
      }
      this.begin(p)
      return true
    }
    const n = fork.length
    const addresses = h.addresses, values = h.values
    for (let k = 0; k < n; k++) {
      addresses[k] = fork.addresses[k]
      values[k] = fork.values[k]
    }
    if (this.supports !== undefined) for (let k = 0; k < n; k++) h.logProbs[k] = fork.logProbs[k]
    h.length = n
    const target = h.barriers
    h.mode = REPLAY_TAPE
    h.cursor = 0
    h.barriers = p.slot < 0 ? 0 : this.arenas[p.t - 1].barriers(p.slot)
    h.replayTo = target
    this.begin(p)
    const status = p.execution.resume()
    if (status !== "stopped" || h.barriers !== target || h.cursor !== n) {
      throw new MissingAddressError({ address: `<barrier ${target}>` })
    }
    h.mode = LIVE
    this.rebuilds++
    this.replayedInstructions += p.execution.instructions
    return true
  }

  /**
   * Whether some particle has not finished: a step always ends with its scope's exit (run
   * scoped or not, as in the general engine), so a particle at a barrier can still move.
   */
  protected override anyLive(): boolean {
    const v = this.vector
    if (v !== undefined) {
      if (v.done) return false
      for (let i = 0; i < v.dead.length; i++) if (v.dead[i] === 0) return true
      return false
    }
    const particles = this.particles
    for (let i = 0; i < particles.length; i++) if (!particles[i].done) return true
    return false
  }

  protected override resample(): void {
    if (this.vector !== undefined) return this.resampleVector(this.vector)
    const n = this.particles.length
    // the completions of lineages that died (and of moved windows) are garbage from here on
    if (this.slots > 2 * this.compacted + 64 * n && this.config.compaction !== false) this.compact(this.particles)
    const ancestors = this.config.resampler(this.weights, n, this.rng)
    const old = this.particles
    const next = new Array<UnfoldParticle<S>>(n)
    // particles with no descendant: their objects (handler, execution) become the copies
    const chosen = new Uint8Array(n)
    for (let k = 0; k < n; k++) chosen[ancestors[k]] = 1
    const spares: Array<UnfoldParticle<S>> = []
    for (let j = 0; j < n; j++) if (chosen[j] === 0) spares.push(old[j])
    const taken = new Uint8Array(n)
    this.resamplings++
    for (let k = 0; k < n; k++) {
      const j = ancestors[k]
      const src = old[j]
      if (taken[j] === 0) {
        taken[j] = 1
        next[k] = src
        this.kept++
      } else next[k] = this.copy(src, spares.pop()!)
    }
    this.resampledAt.push(this.steps)
    this.particles = next
    if (this.config.rejuvenation > 0) this.rejuvenate()
  }

  /**
   * Drops the slots no particle descends from (mark from the particles' slots down the parent
   * columns, newest arena first, then copy the marked slots in order), so memory stays
   * proportional to the live genealogy, not to N·T. Called between steps, when no copy is
   * pending: the particles' slots are the only roots.
   */
  private compact(roots: ReadonlyArray<Root>): void {
    const arenas = this.arenas
    const scored = this.supports !== undefined
    let top = -1
    for (let i = 0; i < roots.length; i++) if (roots[i].t - 1 > top) top = roots[i].t - 1
    arenas.length = top + 1
    // the particles by the arena their slot is in, newest first (usually all in one)
    const order = roots.filter((p) => p.slot >= 0).sort((a, b) => b.t - a.t)
    let next = 0
    // the parent column of the arena above, and which of its slots are live (undefined: all)
    let parents: Array<number> | undefined = undefined // the arena above's meta (parent at 3·j)
    let above = 0
    let alive: Int32Array | undefined = undefined
    let total = 0
    // two scratch index buffers, this arena's and the one above's, swapped at each arena
    let scratch = this.scratch[0], other = this.scratch[1]
    for (let t = top; t >= 0; t--) {
      const arena = arenas[t]
      const size = arena.size
      if (scratch.length < size) scratch = new Int32Array(2 * size)
      const index = scratch
      index.fill(-1, 0, size)
      const first = next
      while (next < order.length && order[next].t - 1 === t) index[order[next++].slot] = 0
      if (parents !== undefined) for (let j = 0; j < above; j++) if (alive === undefined || alive[j] >= 0) index[parents[3 * j]] = 0
      let live = 0
      for (let k = 0; k < size; k++) if (index[k] === 0) index[k] = live++
      if (2 * live > size) {
        // mostly live: kept as it is, numbers unchanged (its dead slots are never read again),
        // so an arena is copied only when that at least halves it: O(1) copies per slot
        parents = arena.meta
        above = size
        alive = index
        scratch = other
        other = index
        total += size
        continue
      }
      const kept = new Arena<S>()
      for (let k = 0; k < size; k++) {
        if (index[k] < 0) continue
        const layout = arena.layoutAt(k)
        const from = arena.offset(k), n = layout.addresses.length
        const offset = kept.values.length
        for (let v = 0; v < n; v++) kept.values.push(arena.values[from + v])
        kept.add(arena.states[k], arena.parent(k), layout, offset, arena.barriers(k))
        if (scored) {
          for (let v = 0; v < n; v++) kept.logProbs.push(arena.logProbs[from + v])
          const w = arena.weights
          kept.weigh(w[3 * k], w[3 * k + 1], w[3 * k + 2])
        }
      }
      for (let i = first; i < next; i++) order[i].slot = index[order[i].slot]
      if (parents !== undefined) {
        for (let j = 0; j < above; j++) parents[3 * j] = alive === undefined || alive[j] >= 0 ? index[parents[3 * j]] : -1
      }
      arenas[t] = kept
      parents = kept.meta
      above = live
      alive = undefined
      scratch = other
      other = index
      total += live
    }
    this.scratch[0] = scratch
    this.scratch[1] = other
    this.slots = this.compacted = total
  }

  /** `q` (a particle with no descendant) becomes a copy of `src`, materialised at its next advance. */
  private copy(src: UnfoldParticle<S>, q: UnfoldParticle<S>): UnfoldParticle<S> {
    const h = q.handler, s = src.handler
    q.slot = src.slot
    q.t = src.t
    q.start = src.start
    q.done = src.done
    q.broken = src.broken
    q.fresh = false
    q.fork = undefined
    h.mode = LIVE
    h.source = undefined
    h.cursor = 0
    h.length = 0
    h.increment = 0
    h.barrier = ""
    h.logPrior = s.logPrior
    h.logLikelihood = s.logLikelihood
    h.logFactors = s.logFactors
    h.barriers = s.barriers
    if (src.done) {
      // a finished particle (never a broken one: its weight is 0) has no current step
      q.pending = undefined
      return q
    }
    let fork = src.fork
    if (fork === undefined || fork.round !== this.resamplings) {
      fork = { round: this.resamplings, addresses: s.addresses, values: s.values, logProbs: s.logProbs, length: s.length, completed: -1 }
      src.fork = fork
    }
    q.pending = fork
    return q
  }

  /** The slot of `p`'s step s − 1 in its arena (−1: none, s = 0). */
  private slotBefore(p: UnfoldParticle<S>, s: number): number {
    let slot = p.slot
    for (let t = p.t - 1; t >= s; t--) slot = this.arenas[t].parent(slot)
    return slot
  }

  /** The choices of steps s.. of `p` as a trace with the window's weights (throws on a repeated address). */
  private windowTrace(p: UnfoldParticle<S>, s: number, base: number): Trace {
    const h = p.handler
    const before = s === 0 ? undefined : this.arenas[s - 1]
    const trace = new Trace(
      undefined,
      0,
      h.logLikelihood - (before === undefined ? 0 : before.weights[3 * base + 1]),
      h.logFactors - (before === undefined ? 0 : before.weights[3 * base + 2])
    )
    const choices = trace.choices
    let logPrior = 0
    const add = (addresses: ReadonlyArray<string>, values: ReadonlyArray<unknown>, logProbs: ReadonlyArray<number>, offset: number, n: number): void => {
      for (let k = 0; k < n; k++) {
        const address = addresses[k]
        const logProb = logProbs[offset + k]
        choices.set(address, { address, value: values[offset + k] as ChoiceValue, logProb }, false)
        logPrior += logProb
      }
    }
    for (let t = p.t - 1, slot = p.slot; t >= s; t--) {
      const arena = this.arenas[t]
      const layout = arena.layoutAt(slot)
      checkDistinct(layout.addresses, layout.addresses.length, layout.prefix)
      add(layout.sites, arena.values, arena.logProbs, arena.offset(slot), layout.addresses.length)
      slot = arena.parent(slot)
    }
    if (!p.done) {
      const f = p.pending
      const prefix = this.unscoped ? this.prefix(p.t) : ""
      const addresses = f !== undefined ? f.addresses : h.addresses
      const n = f !== undefined ? f.length : h.length
      checkDistinct(addresses, n, prefix)
      add(addresses.slice(0, n).map((a) => full(prefix, a)), f !== undefined ? f.values : h.values, f !== undefined ? f.logProbs : h.logProbs, 0, n)
    }
    trace.logPrior = logPrior
    return trace
  }

  /** Fixed-lag MH moves on every resampled particle (see the header). */
  private rejuvenate(): void {
    const particles = this.particles
    const n = particles.length
    const lag = this.config.lag
    const windows: Array<Window<S> | undefined> = new Array(n)
    const bases = new Array<number>(n)
    const traces: Array<Trace> = []
    const of: Array<number> = []
    let largest = 0
    for (let k = 0; k < n; k++) {
      const p = particles[k]
      if (p.broken) continue
      // the particle's current step (its last one when it has finished)
      const t = p.done ? p.t - 1 : p.t
      const s = Math.max(0, t - lag + 1)
      const base = this.slotBefore(p, s)
      const arena = s === 0 ? undefined : this.arenas[s - 1]
      const before = arena === undefined ? 0 : arena.barriers(base)
      windows[k] = new Window(this, s, t, arena === undefined ? this.spec.initial : arena.states[base], this.steps - before, p.done)
      bases[k] = base
      const trace = this.windowTrace(p, s, base)
      traces.push(trace)
      of.push(k)
      if (trace.size > largest) largest = trace.size
    }
    const scales = this.rejuvenationScales(traces, this.supports!)
    const steps = this.config.rejuvenation * largest
    const context = { algorithm: "SMC rejuvenation", chain: undefined, iteration: this.steps }
    for (let m = 0; m < traces.length; m++) {
      const k = of[m]
      const w = windows[k]!
      const guard: Transform = (h) => new WindowGuard(h, w as Window<unknown>)
      const moved = kernel(() => windowProgram(w), { trace: traces[m], result: undefined }, this.rng, {
        steps,
        scales,
        transform: compose(this.transform, guard),
        cutAfterBarriers: w.done ? undefined : w.cut,
        maxInstructions: this.config.maxInstructions,
        context
      })
      this.rejuvenationProposed += moved.proposed
      this.rejuvenationAccepted += moved.accepted
      if (moved.accepted > 0) this.rebuildFromTrace(particles[k], w, bases[k], moved.trace)
    }
  }

  /** After an accepted move: replays the moved window from the start of step s into new slots, up to the barrier (or the end). */
  private rebuildFromTrace(p: UnfoldParticle<S>, w: Window<S>, base: number, trace: Trace): void {
    const h = p.handler
    const target = h.barriers
    const before = w.s === 0 ? undefined : this.arenas[w.s - 1]
    p.pending = undefined
    p.fork = undefined
    p.slot = base
    p.t = w.s
    // fresh scratch arrays: a fork taken from this particle may still read the old ones
    h.addresses = []
    h.values = []
    h.logProbs = []
    h.length = 0
    h.logPrior = before === undefined ? 0 : before.weights[3 * base]
    h.logLikelihood = before === undefined ? 0 : before.weights[3 * base + 1]
    h.logFactors = before === undefined ? 0 : before.weights[3 * base + 2]
    h.barriers = before === undefined ? 0 : before.barriers(base)
    h.mode = REPLAY_TRACE
    h.source = trace
    h.replayTo = w.done ? Infinity : target
    this.begin(p)
    const live = this.run(p)
    if (live) this.replayedInstructions += p.execution.instructions
    h.mode = LIVE
    h.source = undefined
    if (live === w.done || (live && (p.t !== w.t || h.barriers !== target))) {
      throw new MissingAddressError({ address: `<barrier ${target}>` })
    }
    this.rebuilds++
  }

  /** The weighted particle population as a posterior: the sites and paths read arena by arena, newest first, O(N·T). */
  override finish<St>(stats: () => St, seed: number | undefined): Posterior<Array<S>, St> {
    const particles: ReadonlyArray<View> = this.vector !== undefined ? this.views(this.vector) : this.particles
    const n = particles.length
    const stamp = ++finishes
    normalise(this.logWeights, this.weights)
    const columns = new Map<string, Float64Array>()
    const column = (site: string): Float64Array => {
      let c = columns.get(site)
      if (c === undefined) {
        c = new Float64Array(n).fill(Number.NaN)
        columns.set(site, c)
      }
      return c
    }
    // as Posterior.Builder.record: numbers as they are, booleans as 0 / 1, vectors by component
    const writeVector = (address: string, v: ArrayLike<number>, i: number): void => {
      for (let j = 0; j < v.length; j++) column(`${address}[${j}]`)[i] = v[j]
    }
    const returns = new Array<Array<S>>(n)
    // the current steps' sites first, particle by particle
    let top = -1
    for (let i = 0; i < n; i++) {
      const p = particles[i]
      if (!p.done || p.broken) {
        // the current step's sites so far
        const f = p.pending, h = p.handler
        const addresses = f === undefined ? h.addresses : f.addresses
        const values = f === undefined ? h.values : f.values
        const length = f === undefined ? h.length : f.length
        const prefix = this.unscoped && !p.fresh ? this.prefix(p.t) : ""
        checkDistinct(addresses, length, prefix)
        for (let k = 0; k < length; k++) {
          const v = values[k] as ChoiceValue
          const site = full(prefix, addresses[k])
          if (typeof v === "number") column(site)[i] = v
          else if (typeof v === "boolean") column(site)[i] = v ? 1 : 0
          else writeVector(site, v, i)
        }
      }
      returns[i] = (p.done && !p.broken ? new Array<S>(p.t) : undefined) as Array<S>
      if (p.t - 1 > top) top = p.t - 1
    }
    // the completed steps arena by arena, newest first, for the whole population at once (an
    // arena's columns are read together; measured faster than one particle's chain at a time)
    const current = new Int32Array(n).fill(-1)
    for (let t = top; t >= 0; t--) {
      const arena = this.arenas[t]
      const layouts = arena.layouts, uniform = arena.layout, values = arena.values, meta = arena.meta, states = arena.states
      for (let i = 0; i < n; i++) {
        let slot = current[i]
        if (slot < 0) {
          const p = particles[i]
          if (p.t - 1 !== t) continue
          slot = p.slot
        }
        const layout = uniform ?? layouts[slot]
        if (layout.stamp !== stamp) {
          if (!layout.checked) {
            checkDistinct(layout.addresses, layout.addresses.length, layout.prefix)
            layout.checked = true
          }
          layout.stamp = stamp
          layout.columns = new Array(layout.addresses.length)
        }
        const cols = layout.columns, offset = meta[3 * slot + 1]
        for (let k = 0; k < cols.length; k++) {
          const v = values[offset + k] as ChoiceValue
          if (typeof v === "number") (cols[k] ??= column(layout.sites[k]))[i] = v
          else if (typeof v === "boolean") (cols[k] ??= column(layout.sites[k]))[i] = v ? 1 : 0
          else writeVector(layout.sites[k], v, i)
        }
        const path = returns[i]
        if (path !== undefined) path[t] = states[slot]
        current[i] = meta[3 * slot]
      }
    }
    const sites = Array.from(columns.keys()).sort()
    return {
      algorithm: "SMC",
      sites,
      draws: new Map(sites.map((site) => [site, [columns.get(site)!]])),
      returns: [returns],
      logWeights: [Float64Array.from(this.logWeights)],
      weights: [Float64Array.from(this.weights)],
      logEvidence: [this.logEvidence],
      stats: stats(),
      seed
    }
  }
}
