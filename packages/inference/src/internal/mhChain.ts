// One single-site MH chain: its current state, per-site adaptation state and counters, and the
// step. Shared by `Mh.runUnsafe`, `Mh.run` (chunked) and `Mh.kernelUnsafe`.
//
// The state is the current trace: its choices in a sorted-btree map by address (`tree`, the
// `Choices` a `Trace` holds), the same choices in visit order beside it (`choices`, the index
// the site pick and the replay use, with each position's adaptation state), and the three log
// weights. `toTrace()` is O(1): a `Trace` sharing the tree, which the chain's later writes copy
// on write (the height + 1 nodes on each written path). A chain started from a trace (the
// kernel, SMC rejuvenation) takes that trace's tree and choice objects as they are. The proposal
// handler fills a second array, swapped in on acceptance (double buffering), and the accepted
// move writes only the choices that changed into the tree.
//
// Acceptance (Wingate et al. 2011, trans-dimensional form). From trace x with |x| choices, pick
// site a with probability 1/|x|, propose x' (value at a from q, fresh sites F from the prior,
// sites D of x that x' no longer visits are dropped):
//   log α = log π(x') − log π(x)                   (total log weights: prior + likelihood + factors)
//         + log q(x_a | x'_a) − log q(x'_a | x_a)  (the site proposal, incl. Jacobians)
//         + log |x| − log |x'|                     (site-choice probabilities 1/|x'| and 1/|x|)
//         + Σ_{d∈D} log p_x(x_d)                   (reverse move redraws the dropped sites)
//         − Σ_{f∈F} log p_x'(x'_f)                 (forward move drew the fresh sites)
// A proposal whose run throws InvalidDistributionError, or whose log α is NaN, is rejected and
// counted in `rejectedInvalid`; a proposal whose weight becomes −∞ is ended at once by the
// handler (`Execution.abort`) and rejected; every other error propagates, annotated by the
// driver with the address, the chain and the iteration.
//
// Improper priors (Flat, FlatPositive: log p = 0 on their support) need no normalising constant
// here, since π only appears in ratios: their sites contribute 0 to log π(x') − log π(x) and the
// chain targets the likelihood × the proper part of the prior, which the modeller must ensure is
// integrable. They cannot be drawn, so the start gives such a site its family's `initialValue()`
// unless `initial` holds it (see mhHandler.ts); a proposal that would draw one fails.
//
// The compiled-density fast path: where the model's latent sites are exactly the continuous
// sites of its `LogDensity` (fixed structure, every site scalar, a compiled or taped density),
// a chain started the generic way switches to an unconstrained point q and steps without
// running the model: the same site pick, the same proposal u' = u + s·z on the same
// unconstrained scale, and log α = log p(q') − log p(q), which equals the generic ratio (the
// log density includes the Jacobians, i.e. the generic `logProposalRatio`). It consumes the
// random stream exactly as the generic step does, so the two paths give the same draws up to
// rounding (the state is u itself instead of u recomputed from x each time; densities summed in
// another order); a proposal with an invalid parameter has density −∞ there, so it is an ordinary
// rejection rather than a `rejectedInvalid` one. Return values are computed only when read.
//
// Every execution goes through the one driver (`Execution`), reused across steps, with the
// run's handler transformation (the `Interpreter` layers / `transform` option) wrapped once
// around the proposal handler. A step can pause at a deadline (inside a long execution) and
// resume at the next call, which is what lets the Effect shell interrupt a run within a few
// milliseconds.
import * as Ad from "@fugue/core/Ad"
import type { Address } from "@fugue/core/Address"
import * as Bijection from "@fugue/core/Bijection"
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import type { Rng } from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import { Execution, ExecutionAbort, type Context } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import { has, type Selection } from "@fugue/runtime/Selection"
import { type Choice, type ChoiceValue, type Choices, emptyChoices, Trace } from "@fugue/runtime/Trace"
import type { LogDensity } from "../LogDensity.ts"
import { InvalidOptionsError, ZeroWeightError } from "../Options.ts"
import { culprits } from "./culprits.ts"
import { plainArithmeticAt, Watch } from "./density.ts"
import { type BlockProposal, logitOf, MhChoice, ProposalHandler, treeOf, type UserProposal } from "./mhHandler.ts"
import { sideStream, wrapHandler } from "./shell.ts"

/** Robbins–Monro target acceptance for a one-dimensional random walk (Roberts & Rosenthal 2001). */
export const TARGET_ACCEPTANCE = 0.44
/** The adaptation gain at the n-th adaptation of a site: γ_n = n^−0.6 (diminishing adaptation). */
export const GAIN_EXPONENT = 0.6
/** Log scales are kept in [−MAX_LOG_SCALE, MAX_LOG_SCALE] so a run of rejections cannot freeze a site. */
export const MAX_LOG_SCALE = 20

export interface SiteState {
  logScale: number
  /** Adaptations made so far (the n of γ_n). */
  adapted: number
  /** Whether the site ever got a random-walk proposal (only those have a meaningful scale). */
  walked: boolean
  proposed: number
  accepted: number
  warmupProposed: number
  warmupAccepted: number
  rejectedInvalid: number
}

/** A trace's choices in address order (the objects themselves: choices are immutable). */
const listChoices = (trace: Trace): Array<Choice> => {
  const choices: Array<Choice> = []
  trace.choices.forEachPair((_, c) => {
    choices.push(c)
  })
  return choices
}

export interface ChainOptions {
  readonly transform?: Transform | undefined
  readonly context?: Context | undefined
  readonly maxInstructions?: number | undefined
  readonly initialLogScale?: number | undefined
  /** End every execution right after this many barriers: the kernel targets the model cut there (SMC). */
  readonly cutAfterBarriers?: number | undefined
  /** User proposals by address (`Mh`'s `proposals` option). */
  readonly proposals?: ((address: Address) => UserProposal | undefined) | undefined
  /** User block proposals (`Mh`'s `blocks` option): picked like sites, one more move each. */
  readonly blocks?: ReadonlyArray<BlockProposal> | undefined
  /** The transformation's stream, when resuming from a checkpoint (else split from `rng`). */
  readonly sideRng?: Rng | undefined
}

/**
 * A chain's state in a checkpoint (`Mh`'s `checkpoint` option), as plain data: its iteration,
 * streams, per-site adaptation and counters, and its current state (the choices in visit order
 * with their weights and the model's return value, or on the density's fast path the point).
 * The draws so far are added by `Mh` (the recorder's part).
 */
export interface ChainCore {
  readonly iteration: number
  readonly rng: CoreRng.State
  readonly sideRng: CoreRng.State | undefined
  /** Per address: log scale, adaptations, walked (0/1), proposed, accepted, warm-up proposed / accepted, rejected invalid. */
  readonly sites: ReadonlyArray<readonly [string, ReadonlyArray<number>]>
  /** proposed, accepted, warm-up proposed, warm-up accepted, rejected invalid. */
  readonly counters: ReadonlyArray<number>
  readonly choices: ReadonlyArray<{ readonly address: string; readonly value: ChoiceValue; readonly logProb: number; readonly logit: number }>
  /** logPrior, logLikelihood, logFactors. */
  readonly weights: ReadonlyArray<number>
  readonly result: unknown
  readonly point: Float64Array | undefined
  readonly pointLogDensity: number
  /** Whether building the log density recorded the model (`Mh.stats(post).densityRecorded`); absent in older checkpoints. */
  readonly densityRecorded?: boolean | undefined
}

export class Chain<A> {
  readonly model: Model<A>
  readonly rng: Rng
  readonly handler: ProposalHandler
  readonly transform: Transform
  /** The stream the transformation draws from (block), apart from the chain's own. */
  readonly sideRng: Rng
  readonly context: Context
  readonly execution: Execution<A, void>
  /** Whether a starting state has been found. */
  initialized = false
  /** The search for a starting state (resumable, like a step). */
  private readonly init: {
    attempts: number
    invalid: number
    lastInvalid: InvalidDistributionError | undefined
    running: boolean
    base: Array<Choice> | undefined
    baseTree: Choices | undefined
  } = { attempts: 0, invalid: 0, lastInvalid: undefined, running: false, base: undefined, baseTree: undefined }
  /** The execution in progress when a step paused at a deadline, with the step's settings. */
  private paused = false
  private pausedSite: SiteState | undefined = undefined
  private pausedAdapt = false
  private pausedWarmup = false
  /** Per-address adaptation state and counters (kept for addresses that come and go). */
  readonly sites = new Map<string, SiteState>()
  readonly initialLogScale: number
  /**
   * The current state: its choices in visit order, each position's site state, and the same
   * choices by address (`tree`), built the first time something needs it (an address looked up
   * out of visit order, a block move, `toTrace`) and from then on kept up to date.
   */
  private tree_: Choices | undefined = undefined
  choices: Array<Choice> = []
  siteStates: Array<SiteState> = []
  /** User block proposals and their statistics (`[block k]` in the site statistics). */
  readonly blocks: ReadonlyArray<BlockProposal>
  private readonly blockStates: Array<SiteState>
  /** Bumped whenever the addresses or their order change (recorders cache by it). */
  structure = 0
  result!: A
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  logWeight = 0
  rejectedInvalid = 0
  /** Iterations completed (the driver of `Mh.run` / `runUnsafe` advances it). */
  iteration = 0
  proposed = 0
  accepted = 0
  warmupProposed = 0
  warmupAccepted = 0
  constructor(model: Model<A>, rng: Rng, options: ChainOptions = {}) {
    this.model = model
    this.rng = rng
    this.handler = new ProposalHandler(rng)
    this.handler.proposals = options.proposals
    this.blocks = options.blocks ?? []
    this.blockStates = this.blocks.map((_, k) => this.site(`[block ${k}]`))
    this.initialLogScale = options.initialLogScale ?? 0
    this.transform = options.transform ?? identity
    this.sideRng = this.transform === identity ? rng : options.sideRng ?? sideStream(rng)
    this.context = options.context ?? { algorithm: "MH" }
    const driven: Handler<void> = wrapHandler(this.context.algorithm ?? "MH", this.transform, this.handler, this.sideRng)
    this.execution = new Execution(model, driven, { context: this.context, maxInstructions: options.maxInstructions })
    this.handler.execution = this.execution as Execution<unknown, void>
    this.handler.cut = options.cutAfterBarriers ?? 0
  }

  /** The fast path's state (see the header): the density, the point, a proposal buffer, log p(q). */
  density: LogDensity | undefined = undefined
  /** Whether building the density recorded the model with `Ad` nodes (`Mh.stats(post).densityRecorded`). */
  densityRecorded = false
  point: Float64Array = new Float64Array(0)
  private proposal: Float64Array = new Float64Array(0)
  pointLogDensity = 0

  /**
   * Switches an initialised chain to the fast path on `density` when its current state is
   * exactly that density's sites (same addresses in visit order, all scalar) at a point of
   * finite density; returns whether it did.
   */
  useDensity(density: LogDensity): boolean {
    const d = density.dimension
    if (!this.initialized || d !== this.choices.length || d === 0) return false
    const q = new Float64Array(d)
    for (let k = 0; k < d; k++) {
      const site = density.sites[k]!, choice = this.choices[k]!
      if (site.address !== choice.address || site.dimension !== 1 || site.shape.length !== 0 || typeof choice.value !== "number") return false
      const b = Bijection.of(site.support)
      if (b === undefined || b._tag !== "Scalar") return false
      const logit = logitOf(choice)
      q[k] = logit === logit ? logit : b.inverse(choice.value)
      if (!(q[k]! > -Infinity && q[k]! < Infinity)) return false
    }
    const lp = density.logDensity(q)
    if (!(lp > -Infinity && lp < Infinity)) return false
    this.density = density
    this.point = q
    this.proposal = q.slice()
    this.pointLogDensity = lp
    return true
  }

  /**
   * Whether plain-number replays of the current state prove that the model does plain arithmetic
   * on latent values, so that no recording can give it a density (`plainArithmeticAt` in
   * density.ts): five replays through the chain's own proposal handler, at the state, the state,
   * every site moved by ½ on its unconstrained scale, that again, and the state, with the
   * handler's `watch` set. The density's build, which runs the model under handlers of its own,
   * is then not needed, and the driver's calls into the handler see the proposal handler only
   * (after other, larger handlers ran the model through the driver, its calls into handlers are
   * polymorphic and no longer inlined: MH on the seed's regression measured 3–4 % slower). Nothing
   * is drawn and no randomness used; false (no proof) with a handler transformation, a site that
   * is not a scalar real one, or a replay that fails.
   */
  provesPlainArithmetic(): boolean {
    if (this.transform !== identity || !this.initialized || this.handler.cut > 0) return false
    const h = this.handler
    const state = this.choices
    const replay = (base: ReadonlyArray<Choice>): Watch | undefined => {
      const watch = new Watch()
      h.reset(base, undefined, undefined, 1)
      h.watch = watch
      try {
        this.execution.restart(this.model)
        this.execution.runToEnd()
      } catch {
        return undefined
      } finally {
        h.watch = undefined
      }
      return h.fresh === 0 && h.reused === base.length ? watch : undefined
    }
    Ad.resetUsage()
    const a = replay(state)
    // a model that calls Ad is never proved plain (the common case of a model written for the fast path: one replay)
    if (a === undefined || a.sites.length !== state.length || Ad.usedSinceReset()) return false
    const moved: Array<Choice> = []
    for (let k = 0; k < state.length; k++) {
      const c = state[k]!, support = a.sites[k]!.support
      const b = support === undefined ? undefined : Bijection.of(support)
      if (b === undefined || b._tag !== "Scalar" || typeof c.value !== "number" || a.sites[k]!.address !== c.address) return false
      const logit = logitOf(c)
      const u = (logit === logit ? logit : b.inverse(c.value)) + 0.5
      if (!(u > -Infinity && u < Infinity)) return false
      // log probability NaN: every replayed choice is rescored
      moved.push(new MhChoice(c.address, b.forward(u), Number.NaN, logit === logit ? u : Number.NaN))
    }
    const runs = [a, replay(state), replay(moved), replay(moved), replay(state)]
    if (Ad.usedSinceReset() || runs.some((r) => r === undefined)) return false
    return plainArithmeticAt(runs as Array<Watch>) >= 0
  }

  /** One step of the fast path (the generic step's pick, proposal and acceptance). */
  private pointStep(adapt: boolean, warmup: boolean): boolean {
    const q = this.point, t = this.proposal
    const pick = this.pick(q.length)
    const site = this.siteStates[pick]!
    this.countProposal(site, warmup)
    t[pick] = q[pick]! + Math.exp(site.logScale) * this.rng.normal()
    const lp = this.density!.logDensity(t)
    const logAlpha = lp === -Infinity ? -Infinity : lp - this.pointLogDensity
    if (logAlpha !== logAlpha) {
      t[pick] = q[pick]!
      this.rejectInvalid(site, adapt, true)
      return true
    }
    const accept = logAlpha >= 0 || Math.log(this.rng.uniform()) < logAlpha
    site.walked = true
    if (adapt) this.adapt(site, logAlpha >= 0 ? 1 : Math.exp(logAlpha))
    if (!accept) {
      t[pick] = q[pick]!
      return true
    }
    q[pick] = t[pick]!
    this.pointLogDensity = lp
    this.countAcceptance(site, warmup)
    return true
  }

  /** The site to propose at: uniform over the n sites (clamped: uniform() may round to 1). */
  private pick(n: number): number {
    const pick = Math.floor(this.rng.uniform() * n)
    return pick >= n ? n - 1 : pick
  }

  private countProposal(site: SiteState, warmup: boolean): void {
    if (warmup) {
      this.warmupProposed++
      site.warmupProposed++
    } else {
      this.proposed++
      site.proposed++
    }
  }

  private countAcceptance(site: SiteState, warmup: boolean): void {
    if (warmup) {
      this.warmupAccepted++
      site.warmupAccepted++
    } else {
      this.accepted++
      site.accepted++
    }
  }

  /** Starts from a given trace and its model result (the kernel's entry point). */
  setState(trace: Trace, result: A): void {
    this.tree_ = trace.choices.clone()
    this.choices = listChoices(trace)
    this.result = result
    this.logPrior = trace.logPrior
    this.logLikelihood = trace.logLikelihood
    this.logFactors = trace.logFactors
    this.logWeight = trace.totalLogWeight
    this.reindex()
  }

  /** The chain's state for a checkpoint (between iterations, once initialised). */
  save(): ChainCore {
    const sites: Array<readonly [string, ReadonlyArray<number>]> = []
    for (const [a, st] of this.sites) {
      sites.push([a, [st.logScale, st.adapted, st.walked ? 1 : 0, st.proposed, st.accepted, st.warmupProposed, st.warmupAccepted, st.rejectedInvalid]])
    }
    const fast = this.density !== undefined
    return {
      iteration: this.iteration,
      rng: CoreRng.stateOf(this.rng),
      sideRng: this.sideRng === this.rng ? undefined : CoreRng.stateOf(this.sideRng),
      sites,
      counters: [this.proposed, this.accepted, this.warmupProposed, this.warmupAccepted, this.rejectedInvalid],
      choices: fast ? [] : this.choices.map((c) => ({ address: c.address, value: c.value instanceof Float64Array ? c.value.slice() : c.value, logProb: c.logProb, logit: logitOf(c) })),
      weights: [this.logPrior, this.logLikelihood, this.logFactors],
      result: fast ? undefined : this.result,
      point: fast ? this.point.slice() : undefined,
      pointLogDensity: this.pointLogDensity,
      densityRecorded: this.densityRecorded
    }
  }

  /**
   * Restores a saved state (`save`) into this chain, made on the saved streams: on the density's
   * fast path when the state holds a point (`density` is then the run's density).
   */
  load(state: ChainCore, density: LogDensity | undefined): void {
    for (const [a, v] of state.sites) {
      const st = this.site(a)
      st.logScale = v[0]!
      st.adapted = v[1]!
      st.walked = v[2] === 1
      st.proposed = v[3]!
      st.accepted = v[4]!
      st.warmupProposed = v[5]!
      st.warmupAccepted = v[6]!
      st.rejectedInvalid = v[7]!
    }
    ;[this.proposed, this.accepted, this.warmupProposed, this.warmupAccepted, this.rejectedInvalid] = state.counters as [number, number, number, number, number]
    this.choices = state.choices.map((c) => new MhChoice(c.address, c.value instanceof Float64Array ? c.value.slice() : c.value, c.logProb, c.logit))
    this.tree_ = undefined
    ;[this.logPrior, this.logLikelihood, this.logFactors] = state.weights as [number, number, number]
    this.logWeight = this.logPrior + this.logLikelihood + this.logFactors
    this.result = state.result as A
    this.reindex()
    if (state.point !== undefined) {
      if (density === undefined) throw new InvalidOptionsError({ algorithm: "MH", option: "resume", value: "(checkpoint)", reason: "the checkpoint's chain steps on the model's log density, which this model does not have" })
      this.density = density
      this.point = state.point.slice()
      this.proposal = state.point.slice()
      this.pointLogDensity = state.pointLogDensity
      this.siteStates = density.sites.map((site) => this.site(site.address))
    }
    this.iteration = state.iteration
    this.initialized = true
    this.densityRecorded = state.densityRecorded === true
  }

  /** The current state's choices by address. */
  get tree(): Choices {
    return (this.tree_ ??= treeOf(this.choices))
  }

  /**
   * Starts from choices in visit order and their weights (the kernel's entry point for an SMC
   * particle's tape): the choices are shared, the list copied (the chain writes into its own).
   */
  setVisits(visits: ReadonlyArray<Choice>, logPrior: number, logLikelihood: number, logFactors: number, result: A): void {
    this.choices = visits.slice()
    this.tree_ = undefined
    this.result = result
    this.logPrior = logPrior
    this.logLikelihood = logLikelihood
    this.logFactors = logFactors
    this.logWeight = logPrior + logLikelihood + logFactors
    this.reindex()
  }

  /** The current state as a `Trace`: O(1) once the tree exists, sharing it copy-on-write. */
  toTrace(): Trace {
    return new Trace(this.tree.clone(), this.logPrior, this.logLikelihood, this.logFactors)
  }

  /** Rebuilds the per-position site states after the addresses or their order changed. */
  private reindex(): void {
    const states: Array<SiteState> = []
    for (let i = 0; i < this.choices.length; i++) states.push(this.site(this.choices[i]!.address))
    this.siteStates = states
    this.structure++
  }

  /**
   * Finds a starting trace: replays `initial` (fresh prior draws where it has no choice; with
   * no `initial`, every choice is a prior draw; an improper prior's site takes its
   * `initialValue()`) until the log weight is finite, at most `tries` times. A complete `initial` trace is tried once. If every try threw
   * InvalidDistributionError, that error is rethrown (the model is broken, not unlucky);
   * otherwise ZeroWeightError.
   */
  initialize(initial: Trace | undefined, tries: number, deadline: number = Infinity): boolean {
    // The chain's own proposal handler and execution, with no target: every choice the base
    // (the given trace, or none) lacks is a prior draw, the others are replayed and rescored.
    const h = this.handler
    while (this.init.attempts < tries || this.init.running) {
      const init = this.init
      if (!init.running) {
        init.attempts++
        if (init.base === undefined) {
          init.base = initial === undefined ? [] : listChoices(initial)
          init.baseTree = initial === undefined ? emptyChoices() : initial.choices
        }
        h.reset(init.base, init.baseTree!, undefined, 1, true)
        this.execution.restart(this.model)
        init.running = true
      }
      let status
      try {
        status = this.execution.resume(deadline)
      } catch (error) {
        init.running = false
        if (error instanceof ExecutionAbort) {
          // weight −∞: this try failed
          if (initial !== undefined && h.fresh === 0) break
          continue
        }
        if (!(error instanceof InvalidDistributionError)) throw error
        init.invalid++
        init.lastInvalid = error
        if (initial !== undefined && h.fresh === 0) break
        continue
      }
      if (status === "paused") return false
      init.running = false
      h.settle()
      const w = h.logWeight
      if (w > -Infinity && w < Infinity) {
        this.choices = h.visited
        this.tree_ = undefined
        h.visited = []
        this.result = this.execution.result as A
        this.logPrior = h.logPrior
        this.logLikelihood = h.logLikelihood
        this.logFactors = h.logFactors
        this.logWeight = w
        this.reindex()
        this.initialized = true
        return true
      }
      if (initial !== undefined && h.fresh === 0) break
    }
    const { attempts, invalid, lastInvalid } = this.init
    if (invalid === attempts && lastInvalid !== undefined) throw lastInvalid
    throw new ZeroWeightError({
      algorithm: "MH",
      attempts,
      detail: (initial !== undefined
        ? "no finite-weight initial trace from the given trace"
        : `no prior draw had a finite log weight${invalid > 0 ? ` (${invalid} raised InvalidDistributionError)` : ""}`) +
        (this.context.chain !== undefined ? `, chain ${this.context.chain}` : "") +
        culprits(this.model as Model<unknown>, this.transform, this.rng.clone())
    })
  }

  site(address: string): SiteState {
    let s = this.sites.get(address)
    if (s === undefined) {
      s = {
        logScale: this.initialLogScale,
        adapted: 0,
        walked: false,
        proposed: 0,
        accepted: 0,
        warmupProposed: 0,
        warmupAccepted: 0,
        rejectedInvalid: 0
      }
      this.sites.set(address, s)
    }
    return s
  }

  /**
   * One single-site MH step; `adapt` turns Robbins–Monro scale adaptation on; `warmup` picks
   * the counters. Returns false when the clock passed `deadline` inside the step's execution:
   * the step is then paused, and the next call resumes it (with the same settings).
   */
  step(adapt: boolean, warmup: boolean, deadline: number = Infinity): boolean {
    if (this.density !== undefined) return this.pointStep(adapt, warmup)
    const h = this.handler
    let site: SiteState
    if (this.paused) {
      site = this.pausedSite!
      adapt = this.pausedAdapt
      warmup = this.pausedWarmup
      this.paused = false
    } else {
      const current = this.choices
      const n = current.length
      const B = this.blocks.length
      if (n + B === 0) return true
      // a move is picked uniformly among the sites and the blocks
      const pick = this.pick(n + B)
      if (pick >= n) {
        site = this.blockStates[pick - n]!
        this.countProposal(site, warmup)
        if (!this.startBlock(this.blocks[pick - n]!)) return true
      } else {
        site = this.siteStates[pick]
        h.reset(current, this.tree_, current[pick], Math.exp(site.logScale))
        this.countProposal(site, warmup)
      }
      this.execution.restart(this.model)
    }
    try {
      if (this.execution.resume(deadline) === "paused") {
        this.paused = true
        this.pausedSite = site
        this.pausedAdapt = adapt
        this.pausedWarmup = warmup
        return false
      }
    } catch (error) {
      this.adoptTree()
      this.blockSelection = undefined
      if (error instanceof ExecutionAbort) this.reject(site, adapt)
      else if (error instanceof InvalidDistributionError) this.rejectInvalid(site, adapt)
      else throw error
      return true
    }
    this.adoptTree()
    this.complete(site, adapt, warmup, this.execution.result as A)
    return true
  }

  /** Keeps the tree of the state that the proposal's run built (it looked an address up). */
  private adoptTree(): void {
    if (this.tree_ === undefined) this.tree_ = this.handler.baseTree
  }

  /**
   * Sets up a block move: the block's proposed values from its current ones, and the ratio of
   * the proposal's reverse and forward densities. False (a null move, the state kept) when a site
   * of the block is not in the current state.
   */
  private startBlock(block: BlockProposal): boolean {
    const current: Record<string, ChoiceValue> = {}
    let sites: ReadonlyArray<Address>
    if (Array.isArray(block.sites)) {
      sites = block.sites
      for (const address of sites) {
        const c = this.tree.get(address)
        if (c === undefined) return false
        current[address] = c.value
      }
    } else {
      const selection = block.sites as Selection
      sites = this.choices.filter((c) => has(selection, c.address)).map((c) => c.address)
      if (sites.length === 0) return false
      this.blockSelection = selection
      this.blockSize = sites.length
      for (const address of sites) current[address] = this.tree.get(address)!.value
    }
    const forward = block.propose(current)
    const proposed = forward.sample(this.rng)
    const values = new Map<Address, ChoiceValue>()
    for (const address of sites) {
      const v = proposed[address]
      if (v === undefined) throw new InvalidOptionsError({ algorithm: "MH", option: "blocks", value: proposed, reason: `the proposal's values lack site "${address}"` })
      values.set(address, v)
    }
    const ratio = block.propose(proposed).logProb(current) - forward.logProb(proposed)
    const h = this.handler
    h.reset(this.choices, this.tree_, undefined, 1)
    h.block = values
    h.logProposalRatio = ratio === ratio ? ratio : -Infinity
    return true
  }

  /** During a move of a block given by a Selection: the selection and how many sites it had. */
  private blockSelection: Selection | undefined = undefined
  private blockSize = 0

  /** The acceptance step once the proposal's execution has finished. */
  private complete(site: SiteState, adapt: boolean, warmup: boolean, result: A): void {
    const h = this.handler
    const current = this.choices
    const n = current.length
    const rng = this.rng
    const m = h.settle()
    const selection = this.blockSelection
    if (selection !== undefined) {
      this.blockSelection = undefined
      // the reverse move must select the same sites: a move that changes how many the selection
      // holds has no reverse block, so it is refused (a null move keeps the kernel reversible)
      let selected = 0
      for (let i = 0; i < m; i++) if (has(selection, h.visited[i]!.address)) selected++
      if (selected !== this.blockSize) return
    }
    const newWeight = h.logWeight
    // a move is picked among n sites and B blocks: the reverse move's probability is 1/(m + B)
    const B = this.blocks.length
    const logAlpha = newWeight === -Infinity ? -Infinity : newWeight - this.logWeight + h.logProposalRatio + h.logDropped - h.logFresh +
      (m === n ? 0 : Math.log(n + B) - Math.log(m + B))
    if (logAlpha !== logAlpha) {
      this.rejectInvalid(site, adapt)
      return
    }
    const accept = logAlpha >= 0 || Math.log(rng.uniform()) < logAlpha
    if (h.walked) {
      site.walked = true
      if (adapt) this.adapt(site, logAlpha >= 0 ? 1 : Math.exp(logAlpha))
    }
    if (!accept) return
    this.countAcceptance(site, warmup)
    // Swap the buffers: the proposal becomes the state, the old state the next scratch array;
    // the choices that changed go into the tree.
    const proposed = h.visited
    const tree = this.tree_
    if (tree === undefined) {
      // no tree yet: it will be built from the choices when needed
    } else if (h.inOrder) {
      for (let k = 0; k < m; k++) {
        const c = proposed[k]!
        if (c !== current[k]) tree.set(c.address, c)
      }
    } else {
      for (let k = 0; k < m; k++) {
        const c = proposed[k]!
        if (tree.get(c.address) !== c) tree.set(c.address, c)
      }
    }
    const dropped = h.droppedChoices
    if (tree !== undefined) for (let k = 0; k < dropped.length; k++) tree.delete(dropped[k]!.address)
    this.choices = proposed
    h.visited = current
    this.result = result
    this.logPrior = h.logPrior
    this.logLikelihood = h.logLikelihood
    this.logFactors = h.logFactors
    this.logWeight = newWeight
    if (!h.inOrder || h.fresh > 0 || h.dropped > 0) this.reindex()
  }

  /** A proposal with weight −∞, ended early: an ordinary rejection (acceptance probability 0). */
  private reject(site: SiteState, adapt: boolean): void {
    if (this.handler.walked) {
      site.walked = true
      if (adapt) this.adapt(site, 0)
    }
  }

  /** A proposal the model (or the density) could not score: rejected and counted. */
  private rejectInvalid(site: SiteState, adapt: boolean, walked = this.handler.walked): void {
    this.rejectedInvalid++
    site.rejectedInvalid++
    if (walked) {
      site.walked = true
      if (adapt) this.adapt(site, 0)
    }
  }

  /** Robbins–Monro on the log scale: log s += n^−0.6 (α − 0.44) (Andrieu & Thoms 2008, §5). */
  private adapt(site: SiteState, alpha: number): void {
    site.adapted++
    const next = site.logScale + Math.pow(site.adapted, -GAIN_EXPONENT) * (alpha - TARGET_ACCEPTANCE)
    site.logScale = next > MAX_LOG_SCALE ? MAX_LOG_SCALE : next < -MAX_LOG_SCALE ? -MAX_LOG_SCALE : next
  }
}

/** What `kernel` returns: the new state and what happened during the steps. */
export interface KernelOutcome<A> {
  readonly trace: Trace
  readonly result: A
  readonly proposed: number
  readonly accepted: number
  readonly rejectedInvalid: number
}

/** What `kernelOnVisits` returns: the new state as choices in visit order with its weights. */
export interface VisitsOutcome {
  readonly visits: ReadonlyArray<Choice>
  readonly logPrior: number
  readonly logLikelihood: number
  readonly logFactors: number
  readonly proposed: number
  readonly accepted: number
  readonly rejectedInvalid: number
}

/** The kernel's settings (not validated here). */
export interface KernelSettings {
  readonly steps: number
  readonly scale?: number | undefined
  readonly scales?: Readonly<Record<string, number>> | undefined
  readonly transform?: Transform | undefined
  readonly maxInstructions?: number | undefined
  readonly cutAfterBarriers?: number | undefined
  readonly context?: Context | undefined
}

/** A chain for the kernel, with its fixed scales; `start` gives it its state. */
const kernelChain = <A>(model: Model<A>, rng: Rng, options: KernelSettings, start: (chain: Chain<A>) => void): Chain<A> => {
  const chain = new Chain(model, rng, {
    initialLogScale: Math.log(options.scale ?? 1),
    transform: options.transform,
    maxInstructions: options.maxInstructions,
    cutAfterBarriers: options.cutAfterBarriers,
    context: options.context ?? { algorithm: "MH kernel" }
  })
  if (options.scales !== undefined) {
    for (const address in options.scales) chain.site(address).logScale = Math.log(options.scales[address])
  }
  start(chain)
  const base = chain.context.iteration
  for (let i = 0; i < options.steps; i++) {
    if (base === undefined) chain.context.iteration = i
    chain.step(false, false)
  }
  return chain
}

/**
 * `steps` single-site MH steps from `state` with fixed scales (no adaptation): the posterior-
 * invariant move behind `Mh.kernelUnsafe` and SMC rejuvenation. Options are not validated here.
 * The new trace shares the chain's tree (O(1)).
 */
export const kernel = <A>(
  model: Model<A>,
  state: { readonly trace: Trace; readonly result: A },
  rng: Rng,
  options: KernelSettings
): KernelOutcome<A> => {
  const chain = kernelChain(model, rng, options, (c) => c.setState(state.trace, state.result))
  return {
    trace: chain.accepted === 0 ? state.trace : chain.toTrace(),
    result: chain.result,
    proposed: chain.proposed,
    accepted: chain.accepted,
    rejectedInvalid: chain.rejectedInvalid
  }
}

/**
 * The kernel on a state given as choices in visit order (an SMC particle's tape), which it uses
 * as they are; the new state comes back the same way, with no trace built.
 */
export const kernelOnVisits = (
  model: Model<unknown>,
  state: { readonly visits: ReadonlyArray<Choice>; readonly logPrior: number; readonly logLikelihood: number; readonly logFactors: number },
  rng: Rng,
  options: KernelSettings
): VisitsOutcome => {
  const chain = kernelChain(model, rng, options, (c) => c.setVisits(state.visits, state.logPrior, state.logLikelihood, state.logFactors, undefined))
  return {
    visits: chain.choices,
    logPrior: chain.logPrior,
    logLikelihood: chain.logLikelihood,
    logFactors: chain.logFactors,
    proposed: chain.proposed,
    accepted: chain.accepted,
    rejectedInvalid: chain.rejectedInvalid
  }
}
