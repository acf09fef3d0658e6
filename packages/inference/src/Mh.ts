/**
 * Adaptive single-site Metropolis–Hastings over traces ("lightweight MH", Wingate, Stuhlmüller &
 * Goodman 2011): the general-purpose sampler for any model, including models with discrete
 * choices and models whose set of choices changes from run to run. Each iteration picks one
 * choice of the current trace uniformly, proposes a new value for it, replays the model with
 * everything else kept (fresh prior draws where new choices appear), and accepts with the exact
 * trans-dimensional MH ratio. Continuous choices get a Gaussian random walk on an unconstrained
 * scale (identity, log or logit by support, with the Jacobian) whose step size adapts during
 * warm-up; discrete choices, vector choices (Dirichlet, MultivariateNormal, Multinomial) and
 * continuous choices with other supports are redrawn from their prior, an independence proposal
 * that mixes slowly when the posterior is much narrower than the prior (a known limitation; use
 * HMC or SMC for such vector sites). Improper priors (`Flat`, `FlatPositive`) are accepted: they
 * add 0 to the log weight, and their sites start at the family's initial value (or the `initial`
 * trace's) and are then walked like any other. `runUnsafe` is the plain synchronous sampler;
 * `run` is the same as an interruptible Effect with progress reporting and concurrent chains;
 * `kernelUnsafe` is one sweep of the kernel, for rejuvenation moves in SMC.
 *
 * @since 0.1.0
 */
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import { Trace } from "@fugue/runtime/Trace"
import { availableParallelism } from "node:os"
import * as Workers from "./Workers.ts"
import * as Effect from "effect/Effect"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { advanceWithCheckpoints, type Checkpoint as GenericCheckpoint, type CheckpointOption, checkpointOptions } from "./internal/checkpoint.ts"
import { Chain, type ChainCore, kernel } from "./internal/mhChain.ts"
import type { BlockProposal, UserProposal } from "./internal/mhHandler.ts"
export type { BlockProposal, UserProposal } from "./internal/mhHandler.ts"
import * as LogDensity from "./LogDensity.ts"
import { Recorder } from "./internal/mhRecorder.ts"
import { type LazyDensity, lazyDensity } from "./internal/lazyDensity.ts"
import { transfersOfDraws, workerSetup } from "./internal/workerRun.ts"
import { drive, now, streams, streamsUnsafe, transformFor } from "./internal/shell.ts"
import {
  checkKeys,
  COMMON_KEYS,
  type Common,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  nonNegativeInteger,
  oneOf,
  positiveInteger,
  seedOption,
  transformOption
} from "./Options.ts"
import { Builder, type Posterior } from "./Posterior.ts"

const ALGORITHM = "MH"
/** Iterations between two looks at the clock inside a time slice. */
const CLOCK_EVERY = 16
/** Prior draws tried for a finite-weight start when `initial` is not given. */
const DEFAULT_TRIES = 1000

/**
 * Options for `run` / `runUnsafe`.
 *
 * **Details**: one iteration is one single-site step (one model replay). A chain runs `warmup`
 * iterations, then `samples × thin` iterations of which every `thin`-th is kept, so each chain
 * yields `samples` draws. To keep about one draw per sweep over the sites, set `thin` to the
 * number of sites. With `adaptation` (the default), each continuous site's random-walk scale
 * adapts during warm-up only (Robbins–Monro, γ_n = n^−0.6, towards acceptance 0.44); the scales
 * are then frozen, so the kept draws come from a time-homogeneous, posterior-invariant Markov
 * chain. `adaptation: false` keeps the initial unit scales throughout. Scales start at 1 on the
 * unconstrained scale and are kept within e^±20.
 *
 * @example
 * const options: Mh.Options = { samples: 2000, warmup: 1000, chains: 4, thin: 3, seed: 1 }
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Common {
  /** Draws kept per chain (≥ 1). */
  readonly samples: number
  /** Warm-up iterations per chain, discarded (≥ 0; default `samples`). */
  readonly warmup?: number | undefined
  /** Independent chains (≥ 1; default 1). */
  readonly chains?: number | undefined
  /** Keep every `thin`-th iteration after warm-up (≥ 1; default 1). */
  readonly thin?: number | undefined
  /** Seed; chain i uses `Rng.streams(seed, chains)[i]`. Default: the `Rng` service's streams (`run`), else a fresh seed, recorded in `posterior.seed`. */
  readonly seed?: number | undefined
  /**
   * A starting trace (missing choices drawn from the prior), or how many prior draws to try for a
   * finite weight (default 1000). Sites of an improper prior (`Flat`, `FlatPositive`) are not
   * drawn: missing from the trace, they start at the family's `initialValue()` (0 and 1).
   */
  readonly initial?: Trace | number | undefined
  /** Adapt the random-walk scales during warm-up (default true). */
  readonly adaptation?: boolean | undefined
  /** How many chains `run` steps concurrently (default "unbounded"); results do not depend on it. */
  readonly concurrency?: number | "unbounded" | undefined
  /**
   * `"auto"` (default): where the model's latent sites are fixed, continuous and scalar, and its
   * arithmetic on them is written with `Ad` (so `LogDensity` has a compiled or taped density),
   * chains step on that density without running the model (the same proposals and random
   * stream; draws equal to the model-running path up to rounding); `"never"`: always run the model.
   */
  readonly logDensity?: "auto" | "never" | undefined
  /**
   * User proposals per site: `{ sigma: (x) => LogNormal(Math.log(x as number), 0.3) }`, or a
   * function from the address to a proposal (undefined: the default). A proposal maps the current
   * value to the distribution of the proposed one; the acceptance ratio uses its forward and
   * reverse densities, so it need not be symmetric. Those sites are not scale-adapted, and the
   * compiled-density path is not used.
   */
  readonly proposals?: Readonly<Record<string, UserProposal>> | ((address: string) => UserProposal | undefined) | undefined
  /**
   * Block proposals: each moves several sites at once (`sites`: addresses, or a `Selection`, whose
   * selected sites in the current state form the block), from a joint proposal the user writes (`propose(current)` returns an
   * object with `sample(rng)` and `logProb(values)` over records of the block's values). Each
   * block is one more move, picked as often as a site; the ratio uses the proposal's forward and
   * reverse densities. A block whose sites are not all in the current state is a null move.
   */
  readonly blocks?: ReadonlyArray<BlockProposal> | undefined
  /**
   * `run` only: run the chains on this many Node worker threads (`"auto"`: one per core), as
   * `Nuts.run` does: the model must be named with `Workers.named`, options must not hold
   * functions (proposals, blocks, transform), the return values must be structured-clonable;
   * the draws are bit-identical to the in-thread run's. With a `Workers.Pool` in the context the
   * run borrows the pool's warm workers instead of starting its own (as `Nuts.run`).
   */
  readonly workers?: number | "auto" | undefined
  /**
   * Save each chain's whole state every `every` iterations (needs a `seed`; in-thread only):
   * its draws so far, its adaptation (per-site scales and counters), its streams and its current
   * state, handed to `onCheckpoint` as the run's `Checkpoint` (structured-clonable when the
   * model's return values are: store it with `v8.serialize` or `structuredClone`).
   */
  readonly checkpoint?: CheckpointOption<ChainState> | undefined
  /** Resume from a `Checkpoint` of a run with the same model and options: the same draws as a run that never stopped. */
  readonly resume?: Checkpoint | undefined
}

/**
 * A chain's state in an MH checkpoint: its iteration, streams, adaptation and counters, its
 * current state (choices with their weights and return value, or its point on the density's fast
 * path), and its draws so far (value columns, return values, log weights; the points on the
 * fast path). Plain data.
 *
 * @example
 * const state: Mh.ChainState | undefined = checkpoint.states[0]
 * state?.iteration // the iterations it had done
 *
 * @category models
 * @since 0.3.0
 */
export interface ChainState extends ChainCore {
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly returns: ReadonlyArray<unknown>
  readonly logWeights: Float64Array
  readonly points: Float64Array | undefined
}

/**
 * An MH run's checkpoint (`checkpoint` / `resume` options): what resumes it to the same draws
 * as a run that never stopped. `states[i]` is chain i's latest saved state.
 *
 * @example
 * let saved: Mh.Checkpoint | undefined
 * Mh.runUnsafe(model, { samples: 1000, seed: 1, checkpoint: { every: 100, onCheckpoint: (c) => { saved = c } } })
 * Mh.runUnsafe(model, { samples: 1000, seed: 1, resume: saved })
 *
 * @category models
 * @since 0.3.0
 */
export type Checkpoint = GenericCheckpoint<ChainState>

/**
 * Per-chain statistics, in `posterior.stats` (read them with `Mh.stats`).
 *
 * @example
 * const stats: Mh.Stats = Mh.stats(post)
 * stats.acceptance[0].slope // chain 0's acceptance rate at "slope" after warm-up
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Per chain: accepted / proposed over the kept phase (after warm-up), all sites. */
  readonly acceptanceRate: ReadonlyArray<number>
  /** Per chain: accepted / proposed during warm-up (NaN with no warm-up). */
  readonly warmupAcceptanceRate: ReadonlyArray<number>
  /** Per chain, per site: acceptance rate after warm-up (sites never proposed after warm-up are absent). */
  readonly acceptance: ReadonlyArray<Readonly<Record<string, number>>>
  /** Per chain, per site: proposals after warm-up. */
  readonly proposals: ReadonlyArray<Readonly<Record<string, number>>>
  /** Per chain, per random-walk site: the final (adapted) proposal scale, on the unconstrained scale. */
  readonly scales: ReadonlyArray<Readonly<Record<string, number>>>
  /** Per chain: proposals rejected because the model raised InvalidDistributionError or the ratio was NaN (warm-up included). */
  readonly rejectedInvalid: ReadonlyArray<number>
  /** Per chain: whether the chain stepped on the model's compiled (or taped) log density instead of running the model. */
  readonly onDensity: ReadonlyArray<boolean>
  /**
   * Per chain: whether building that density ran the model with `Ad` nodes as latent values (a
   * recording). False where plain-number runs already showed plain arithmetic on latent values
   * (so the model runs with numbers only, and V8's type feedback for its operators stays
   * numeric), with `logDensity: "never"`, user proposals or blocks.
   */
  readonly densityRecorded: ReadonlyArray<boolean>
}

interface Config {
  readonly samples: number
  readonly warmup: number
  readonly chains: number
  readonly thin: number
  readonly seed: number | undefined
  readonly initial: Trace | undefined
  readonly tries: number
  readonly adaptation: boolean
  readonly concurrency: number | "unbounded"
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly logDensity: "auto" | "never"
  readonly proposals: ((address: string) => UserProposal | undefined) | undefined
  readonly blocks: ReadonlyArray<BlockProposal> | undefined
  readonly workers: number | undefined
  readonly checkpoint: CheckpointOption<ChainState> | undefined
  readonly resume: Checkpoint | undefined
}

const KEYS = ["samples", "warmup", "chains", "thin", "initial", "adaptation", "concurrency", "logDensity", "proposals", "blocks", "workers", "checkpoint", "resume", ...COMMON_KEYS]

const blocksOption = (value: unknown): ReadonlyArray<BlockProposal> | undefined => {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) invalid("blocks", value, "must be an array of { sites, propose }")
  ;(value as Array<unknown>).forEach((b, k) => {
    const block = b as Partial<BlockProposal> | null
    const sites = block?.sites as unknown
    const isSelection = typeof sites === "object" && sites !== null && !Array.isArray(sites) && typeof (sites as { _tag?: unknown })._tag === "string"
    if (typeof block !== "object" || block === null || (!isSelection && (!Array.isArray(sites) || sites.length === 0 || sites.some((a) => typeof a !== "string")))) {
      invalid(`blocks[${k}].sites`, sites, "must be a non-empty array of addresses or a Selection")
    }
    if (typeof block!.propose !== "function") invalid(`blocks[${k}].propose`, block!.propose, "must be a function from the current values to a joint proposal { sample, logProb }")
  })
  return value as ReadonlyArray<BlockProposal>
}

const proposalsOption = (value: unknown): ((address: string) => UserProposal | undefined) | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "function") return value as (address: string) => UserProposal | undefined
  if (typeof value !== "object" || value === null) invalid("proposals", value, "must be an object of per-site proposal functions, or a function of the address")
  const table = value as Record<string, unknown>
  for (const [address, f] of Object.entries(table)) if (typeof f !== "function") invalid(`proposals["${address}"]`, f, "must be a function from the current value to a distribution")
  return (address) => (Object.hasOwn(table, address) ? (table[address] as UserProposal) : undefined)
}

const invalid = (option: string, value: unknown, reason: string): never => {
  throw new InvalidOptionsError({ algorithm: ALGORITHM, option, value, reason })
}

const validate = (model: unknown, options: Options): Config => {
  checkKeys(ALGORITHM, options, KEYS)
  modelOption(ALGORITHM, model)
  const samples = positiveInteger(ALGORITHM, "samples", options.samples)
  const warmup = options.warmup === undefined ? samples : nonNegativeInteger(ALGORITHM, "warmup", options.warmup)
  const chains = options.chains === undefined ? 1 : positiveInteger(ALGORITHM, "chains", options.chains)
  const thin = options.thin === undefined ? 1 : positiveInteger(ALGORITHM, "thin", options.thin)
  const seed = seedOption(ALGORITHM, options.seed)
  let initial: Trace | undefined
  let tries = DEFAULT_TRIES
  if (options.initial instanceof Trace) initial = options.initial
  else if (options.initial !== undefined) tries = positiveInteger(ALGORITHM, "initial", options.initial)
  const adaptation = options.adaptation === undefined ? true : options.adaptation
  if (typeof adaptation !== "boolean") invalid("adaptation", adaptation, "must be a boolean")
  const concurrency = options.concurrency === undefined ? "unbounded" : options.concurrency
  if (concurrency !== "unbounded") positiveInteger(ALGORITHM, "concurrency", concurrency)
  const transform = transformOption(ALGORITHM, options.transform)
  const maxInstructions = maxInstructionsOption(ALGORITHM, options.maxInstructions)
  const logDensity = options.logDensity === undefined ? "auto" : oneOf(ALGORITHM, "logDensity", options.logDensity, ["auto", "never"] as const)
  const proposals = proposalsOption(options.proposals)
  const blocks = blocksOption(options.blocks)
  let workers: number | undefined
  if (options.workers === "auto") workers = Math.max(1, Math.min(chains, availableParallelism()))
  else if (options.workers !== undefined) workers = Math.min(chains, positiveInteger(ALGORITHM, "workers", options.workers))
  if (workers !== undefined && (options.proposals !== undefined || options.blocks !== undefined || initial !== undefined)) {
    invalid("workers", options.workers, "proposals, blocks and an initial trace cannot cross to worker threads: put them in the named model, or run in-thread")
  }
  const resumed = checkpointOptions(ALGORITHM, options, { seed, chains, samples, warmup, thin })
  return {
    samples, warmup, chains, thin, seed: resumed, initial, tries, adaptation, concurrency, transform, maxInstructions, logDensity, proposals, blocks, workers,
    checkpoint: options.checkpoint, resume: options.resume
  }
}

const totalIterations = (config: Config): number => config.warmup + config.samples * config.thin

/**
 * Runs one chain's iterations from `chain.iteration` until `total` or until the clock passes
 * `deadline` (checked every few iterations, and inside a long execution by the driver),
 * recording every `thin`-th iteration after warm-up. Returns whether the chain is finished.
 */
const advance = <A>(chain: Chain<A>, config: Config, recorder: Recorder<A>, deadline: number, stop = Infinity): boolean => {
  const warmup = config.warmup, thin = config.thin, adaptation = config.adaptation
  const total = totalIterations(config)
  const end = Math.min(total, stop)
  const context = chain.context
  let it = chain.iteration
  while (it < end) {
    context.iteration = it
    if (it < warmup) {
      if (!chain.step(adaptation, true, deadline)) break
    } else {
      if (!chain.step(false, false, deadline)) break
      const k = it - warmup + 1
      if (k % thin === 0) {
        if (chain.density !== undefined) recorder.recordPoint(k / thin - 1, chain.density, chain.point, chain.pointLogDensity)
        else recorder.record(k / thin - 1, chain.choices, chain.structure, chain.result, chain.logWeight)
      }
    }
    it++
    if (deadline < Infinity && (it & (CLOCK_EVERY - 1)) === 0 && now() > deadline) break
  }
  chain.iteration = it
  return it >= total
}

const rate = (accepted: number, proposed: number): number => (proposed > 0 ? accepted / proposed : Number.NaN)

/** One chain's statistics, as plain data (they cross worker threads). */
interface ChainStats {
  readonly acceptanceRate: number
  readonly warmupAcceptanceRate: number
  readonly acceptance: Readonly<Record<string, number>>
  readonly proposals: Readonly<Record<string, number>>
  readonly scales: Readonly<Record<string, number>>
  readonly rejectedInvalid: number
  readonly onDensity: boolean
  readonly densityRecorded: boolean
}

const chainStats = (c: Chain<unknown>): ChainStats => {
  const acceptance: Record<string, number> = {}, proposals: Record<string, number> = {}, scales: Record<string, number> = {}
  for (const [a, s] of c.sites) {
    if (s.proposed > 0) {
      acceptance[a] = s.accepted / s.proposed
      proposals[a] = s.proposed
    }
    if (s.walked) scales[a] = Math.exp(s.logScale)
  }
  return {
    acceptanceRate: rate(c.accepted, c.proposed),
    warmupAcceptanceRate: rate(c.warmupAccepted, c.warmupProposed),
    acceptance,
    proposals,
    scales,
    rejectedInvalid: c.rejectedInvalid,
    onDensity: c.density !== undefined,
    densityRecorded: c.densityRecorded
  }
}

const mergeStats = (chains: ReadonlyArray<ChainStats>): Stats => ({
  acceptanceRate: chains.map((c) => c.acceptanceRate),
  warmupAcceptanceRate: chains.map((c) => c.warmupAcceptanceRate),
  acceptance: chains.map((c) => c.acceptance),
  proposals: chains.map((c) => c.proposals),
  scales: chains.map((c) => c.scales),
  rejectedInvalid: chains.map((c) => c.rejectedInvalid),
  onDensity: chains.map((c) => c.onDensity),
  densityRecorded: chains.map((c) => c.densityRecorded)
})

const finish = <A>(builder: Builder<A>, chains: ReadonlyArray<Chain<A>>, seed: number | undefined): Posterior<A, Stats> =>
  builder.build({ stats: mergeStats(chains.map((c) => chainStats(c as Chain<unknown>))), seed })

/** MH's fast path density (none with user proposals or blocks, whose moves are the model's). */
const densityFor = (model: Model<unknown>, config: Config, transform: Transform | undefined): LazyDensity =>
  lazyDensity(model, {
    enabled: config.logDensity !== "never" && config.proposals === undefined && config.blocks === undefined,
    transform,
    maxInstructions: config.maxInstructions
  })

/**
 * A chain's start: its initial state, then, once the density is built, its switch to the
 * density's fast path where that applies; whether it is ready to step. A chain restored from a
 * checkpoint is ready as it is.
 */
const starter = <A>(chain: Chain<A>, config: Config, density: LazyDensity) => {
  let ready = chain.initialized
  return (deadline: number): boolean => {
    if (ready) return true
    if (!chain.initialized && !chain.initialize(config.initial, config.tries, deadline)) return false
    // plain arithmetic on latent values, proved from the chain's own replays: no build at all
    if (density.untouched && chain.provesPlainArithmetic()) density.decline()
    if (!density.build(deadline)) return false
    chain.densityRecorded = density.recorded
    const d = density.value
    if (d !== undefined && chain.density === undefined) chain.useDensity(d)
    return (ready = true)
  }
}

const makeChain = <A>(model: Model<A>, config: Config, rng: CoreRng.Rng, i: number, transform: Transform | undefined): Chain<A> => {
  const state = config.resume?.states[i]
  return new Chain(model, state === undefined ? rng : CoreRng.fromState(state.rng), {
    transform,
    context: { algorithm: ALGORITHM, chain: i, iteration: undefined },
    maxInstructions: config.maxInstructions,
    proposals: config.proposals,
    blocks: config.blocks,
    sideRng: state?.sideRng === undefined ? undefined : CoreRng.fromState(state.sideRng)
  })
}

/** A chain's work: its start (or its state restored from `config.resume`), then its iterations, checkpointed if asked. */
const chainWork = <A>(
  config: Config,
  chain: Chain<A>,
  i: number,
  builder: Builder<A>,
  density: LazyDensity,
  states: Array<ChainState | undefined>,
  seed: number | undefined
) => {
  const recorder = new Recorder(builder, i)
  const state = config.resume?.states[i]
  if (state !== undefined) restore(chain, recorder, builder, i, state, state.point === undefined ? undefined : density.build(Infinity) ? density.value : undefined)
  const save = (): ChainState => saveChain(chain, recorder, builder, i, config)
  const record = { algorithm: ALGORITHM, seed: seed!, chains: config.chains, samples: config.samples, warmup: config.warmup, thin: config.thin }
  const handle = { index: i, get iteration() { return chain.iteration }, save }
  const start = starter(chain, config, density)
  return (deadline: number): boolean => {
    if (!start(deadline)) return false
    const checkpoint = config.checkpoint
    if (checkpoint === undefined) return advance(chain, config, recorder, deadline)
    return advanceWithCheckpoints(checkpoint, record, states, handle, (d, stop) => advance(chain, config, recorder, d, stop), deadline)
  }
}

/** Kept draws after `iteration` iterations. */
const keptAfter = (config: Config, iteration: number): number => Math.max(0, Math.floor((iteration - config.warmup) / config.thin))

/** A chain's state and its draws so far, for a checkpoint. */
const saveChain = <A>(chain: Chain<A>, recorder: Recorder<A>, builder: Builder<A>, i: number, config: Config): ChainState => {
  const kept = keptAfter(config, chain.iteration)
  const fast = recorder.recordedPoints !== undefined
  const columns: Array<readonly [string, Float64Array]> = []
  if (fast) recorder.recordedColumns!.forEach((c, k) => columns.push([String(k), c.slice()]))
  else for (const [name, cols] of builder.columns) columns.push([name, cols[i]!.slice()])
  return {
    ...chain.save(),
    columns,
    returns: fast ? [] : builder.returns[i]!.slice(0, kept),
    logWeights: builder.logWeights[i]!.slice(),
    points: fast ? recorder.recordedPoints!.slice() : undefined
  }
}

/** Restores a chain and its draws from a checkpoint's state. */
const restore = <A>(chain: Chain<A>, recorder: Recorder<A>, builder: Builder<A>, i: number, state: ChainState, density: LogDensity.LogDensity | undefined): void => {
  chain.load(state, density)
  if (state.points !== undefined) {
    recorder.loadPoints(density!, state.columns.map(([, c]) => c), state.points, state.logWeights)
    return
  }
  for (const [name, values] of state.columns) {
    let cols = builder.columns.get(name)
    if (cols === undefined) {
      cols = Array.from({ length: builder.chains }, () => new Float64Array(builder.size).fill(Number.NaN))
      builder.columns.set(name, cols)
    }
    cols[i]!.set(values)
  }
  state.returns.forEach((r, k) => {
    builder.returns[i]![k] = r as A
  })
  builder.logWeights[i]!.set(state.logWeights)
}

/**
 * Samples the posterior of `model` with adaptive single-site MH, synchronously.
 *
 * **Details**: see `Options` for the iteration schedule and adaptation. Chains run one after
 * another; chain i uses `Rng.streams(seed, chains)[i]`, so its draws do not depend on `chains`.
 * Throws `InvalidOptionsError` before any work, `ZeroWeightError` when no finite-weight start
 * is found, and the model's typed errors (e.g. `DuplicateAddressError`) or any other exception
 * from the model; a proposal that makes the model raise `InvalidDistributionError` is only
 * rejected (counted in `Mh.stats(post).rejectedInvalid`).
 *
 * @example
 * const post = Mh.runUnsafe(linearRegression(xs, ys), { samples: 2000, chains: 4, thin: 3, seed: 1 })
 * Posterior.mean(post, "slope")
 * Mh.stats(post).acceptance[0].slope
 *
 * @category constructors
 * @since 0.1.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Stats> => {
  const config = validate(model, options)
  if (config.workers !== undefined) invalid("workers", options.workers, "worker threads need the Effect form (run): runUnsafe runs in-thread")
  const { rngs, seed } = streamsUnsafe(config.seed, config.chains)
  const builder = new Builder<A>(ALGORITHM, config.chains, config.samples)
  const chains: Array<Chain<A>> = []
  const density = densityFor(model as Model<unknown>, config, config.transform)
  const states = [...(config.resume?.states ?? new Array<ChainState | undefined>(config.chains).fill(undefined))]
  for (let i = 0; i < config.chains; i++) {
    const chain = makeChain(model, config, rngs[i], i, config.transform)
    chainWork(config, chain, i, builder, density, states, seed)(Infinity)
    chains.push(chain)
  }
  return finish(builder, chains, seed)
}

const runEffect = Effect.fn("Mh.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attemptInference(() => validate(model, options))
  const transform = yield* transformFor(config.transform)
  const pool = yield* Workers.poolFor(model, config.workers, config.seed, transform === identity && config.proposals === undefined && config.blocks === undefined && config.initial === undefined &&
    config.checkpoint === undefined && config.resume === undefined)
  if (config.workers !== undefined || pool !== undefined) return yield* runOnWorkers(model, options, config, transform, pool)
  const { rngs, seed } = yield* streams(config.seed, config.chains)
  const builder = new Builder<unknown>(ALGORITHM, config.chains, config.samples)
  const total = totalIterations(config)
  const density = densityFor(model, config, transform)
  const states = [...(config.resume?.states ?? new Array<ChainState | undefined>(config.chains).fill(undefined))]
  const chains = yield* Effect.forEach(
    rngs,
    (rng, i) =>
      // building a chain starts the model's generator: its typed errors (InvalidModelError) are failures
      Effect.flatMap(attemptInference(() => {
        const chain = makeChain(model, config, rng, i, transform)
        return [chain, chainWork(config, chain, i, builder, density, states, seed)] as const
      }), ([chain, work]) => {
        return drive(
          work,
          () => ({
            algorithm: ALGORITHM,
            chain: i,
            done: chain.iteration,
            total,
            phase: chain.iteration < config.warmup ? "warmup" : "sampling"
          })
        ).pipe(Effect.as(chain))
      }),
    // one chain runs in the caller's fiber (so `Effect.runSync` works); several are forked
    { concurrency: config.chains > 1 ? config.concurrency : 1 }
  )
  return finish(builder, chains, seed)
})

/**
 * Samples the posterior of `model` with adaptive single-site MH, as an Effect: interruptible
 * every few milliseconds (also inside one long model execution), progress reported through
 * `Progress`, chains stepped concurrently, the model run through the `Interpreter` layers in
 * the context.
 *
 * **Details**: the same sampler as `runUnsafe`: with a `seed`, the result equals
 * `runUnsafe(model, options)` exactly; without one, chain i uses the i-th split of the `Rng`
 * service's stream, or a fresh seed (recorded in `posterior.seed`) when there is no service.
 * Results never depend on `concurrency`. Each chain works in time slices and yields between
 * them, so run several chains with `Effect.runPromise` (one chain also works under
 * `Effect.runSync`). The `Interpreter` in the context (e.g.
 * `Interpreter.layerCondition({ y: 2 })` over `Interpreter.layerPrior`) wraps its combinators
 * around MH's own handlers, so it changes what is inferred. Invalid options fail with
 * `InvalidOptionsError` before any work; model errors (including `ModelCodeError` for an
 * exception thrown by user code, with its address, chain and iteration) fail with the typed
 * error.
 *
 * @example
 * const post = yield* Mh.run(model, { samples: 1000, chains: 4 }).pipe(
 *   Effect.provide(Interpreter.layerCondition({ y: 2 }).pipe(Layer.provide(Interpreter.layerPrior))),
 *   Rng.withSeed(7),
 *   Effect.provide(Progress.layerTerminal)
 * )
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Stats>, InferenceError> =>
  runEffect(model as Model<unknown>, options) as Effect.Effect<Posterior<A, Stats>, InferenceError>

/**
 * The statistics of an MH posterior, typed.
 *
 * @example
 * const { acceptance, scales, rejectedInvalid } = Mh.stats(post)
 *
 * @category getters
 * @since 0.1.0
 */
export const stats = (posterior: Posterior<unknown, Stats>): Stats => posterior.stats

/**
 * A trace with the model's return value: the state the kernel moves.
 *
 * @example
 * const [result, trace] = run(new PriorHandler(rng), model)
 * const state: Mh.State<typeof result> = { trace, result }
 *
 * @category models
 * @since 0.1.0
 */
export interface State<A> {
  readonly trace: Trace
  readonly result: A
}

/**
 * The kernel's result: the new state and what happened during the sweep.
 *
 * @example
 * const out = Mh.kernelUnsafe(model, state, rng)
 * out.accepted / out.proposed // this sweep's acceptance rate
 *
 * @category models
 * @since 0.1.0
 */
export interface KernelResult<A> extends State<A> {
  readonly proposed: number
  readonly accepted: number
  readonly rejectedInvalid: number
}

/**
 * Options for `kernelUnsafe`.
 *
 * @example
 * const options: Mh.KernelOptions = { steps: 20, scale: 0.5 }
 *
 * @category models
 * @since 0.1.0
 */
export interface KernelOptions {
  /** Single-site steps to take (default: the number of choices in the starting trace, one sweep). */
  readonly steps?: number | undefined
  /** Random-walk scale (unconstrained scale) for sites without an entry in `scales` (default 1). */
  readonly scale?: number | undefined
  /** Per-site random-walk scales, e.g. `Mh.stats(post).scales[0]` from an earlier run. */
  readonly scales?: Readonly<Record<string, number>> | undefined
  /** Combinators wrapped around the kernel's handlers (as `Options.transform`). */
  readonly transform?: Transform | undefined
  /** Instruction limit per execution (default 10⁷). */
  readonly maxInstructions?: number | undefined
}

/**
 * One sweep of single-site MH from `state`: a posterior-invariant move for SMC rejuvenation.
 *
 * **Details**: takes `steps` single-site steps (default: one per choice of the starting trace)
 * with fixed scales (no adaptation, so the kernel leaves the posterior of `model` invariant).
 * `state.trace` must be a trace of `model` whose weights are those `model` gives it (e.g. made
 * by running `model` under a prior, replay or MH handler); `state` is not modified. A trace with
 * no choices is returned as is. Errors as in `runUnsafe` (InvalidDistributionError proposals are
 * only rejected and counted).
 *
 * @example
 * const rng = Rng.make(3)
 * let state: Mh.State<R> = { trace, result }
 * state = Mh.kernelUnsafe(model, state, rng)
 * state = Mh.kernelUnsafe(model, state, rng, { steps: 10, scales: Mh.stats(post).scales[0] })
 *
 * @category constructors
 * @since 0.1.0
 */
export const kernelUnsafe = <A>(model: Model<A>, state: State<A>, rng: CoreRng.Rng, options: KernelOptions = {}): KernelResult<A> => {
  checkKeys("MH.kernel", options, ["steps", "scale", "scales", "transform", "maxInstructions"])
  const scale = options.scale ?? 1
  if (!(typeof scale === "number" && scale > 0 && Number.isFinite(scale))) invalid("scale", scale, "must be a finite number > 0")
  const steps = options.steps === undefined ? state.trace.size : nonNegativeInteger(ALGORITHM, "steps", options.steps)
  const transform = transformOption("MH.kernel", options.transform)
  const maxInstructions = maxInstructionsOption("MH.kernel", options.maxInstructions)
  if (options.scales !== undefined) {
    for (const [address, s] of Object.entries(options.scales)) {
      if (!(typeof s === "number" && s > 0 && Number.isFinite(s))) invalid(`scales.${address}`, s, "must be a finite number > 0")
    }
  }
  return kernel(model, state, rng, { steps, scale, scales: options.scales, transform, maxInstructions })
}

/** One chain's result as it crosses from a worker. */
interface ChainOutput {
  readonly index: number
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly logWeights: Float64Array
  /** The return values; a Float64Array (transferred, not cloned) when every one is a number. */
  readonly returns: ReadonlyArray<unknown> | Float64Array
  readonly stats: ChainStats
}

/** Return values as they cross: numbers as one transferable Float64Array (the same values bit for bit, −0 and NaN included). */
const packReturns = (returns: ReadonlyArray<unknown>): ReadonlyArray<unknown> | Float64Array => {
  for (let i = 0; i < returns.length; i++) if (typeof returns[i] !== "number") return returns
  return Float64Array.from(returns as ReadonlyArray<number>)
}

/**
 * Runs chain `index` of an MH run on a worker: the same stream (`Rng.streams(seed, chains)[index]`),
 * chain and schedule as in-thread, in time slices, with progress through `Progress`.
 *
 * @internal
 */
export const runChainForWorker = (model: Model<unknown>, options: Options, index: number): Effect.Effect<ChainOutput, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(model, { ...options, workers: undefined }))
    const rng = CoreRng.streams(config.seed!, config.chains)[index]!
    // a builder of one chain: the worker records only its own columns (not every chain's, NaN-filled)
    const builder = new Builder<unknown>(ALGORITHM, 1, config.samples)
    const density = densityFor(model, config, undefined)
    const chain = yield* attemptInference(() => makeChain(model, config, rng, index, undefined))
    const recorder = new Recorder(builder, 0)
    const total = totalIterations(config)
    const start = starter(chain, config, density)
    yield* drive(
      (deadline) => start(deadline) && advance(chain, config, recorder, deadline),
      () => ({ algorithm: ALGORITHM, chain: index, done: chain.iteration, total, phase: chain.iteration < config.warmup ? "warmup" : "sampling" })
    )
    const posterior = builder.build()
    return {
      index,
      columns: [...builder.columns].map(([site, cols]) => [site, cols[0]!] as const),
      logWeights: builder.logWeights[0]!,
      returns: packReturns(posterior.returns[0]!),
      stats: chainStats(chain)
    }
  })

/**
 * The buffers of an MH chain's output, transferred rather than copied.
 *
 * @internal
 */
export const transfersOfMh = (o: ChainOutput): Array<ArrayBuffer> => transfersOfDraws(o)

/** The parent side of an MH run on workers (a `Workers.Pool`'s or its own, as `Nuts.run`'s): named model, fixed seed, merged chains. */
const runOnWorkers = (model: Model<unknown>, options: Options, config: Config, transform: Transform, pool: Workers.PoolShape | undefined) =>
  Effect.gen(function*() {
    const { ref, seed } = yield* workerSetup(ALGORITHM, model, options.workers, config.seed, transform)
    const Parallel = yield* Effect.promise(() => import("./internal/chainWorkers.ts"))
    const outputs = yield* Parallel.runChains<ChainOutput>(ALGORITHM, ref, { ...options, seed, workers: undefined }, config.chains, config.workers, pool)
    const builder = new Builder<unknown>(ALGORITHM, config.chains, config.samples)
    for (const o of outputs) {
      for (const [site, column] of o.columns) {
        let cols = builder.columns.get(site)
        if (cols === undefined) builder.columns.set(site, (cols = new Array<Float64Array>(config.chains)))
        cols[o.index] = column
      }
      builder.logWeights[o.index] = o.logWeights
      const returns = o.returns
      if (returns instanceof Float64Array) builder.deferReturns(o.index, (i) => returns[i])
      else builder.returns[o.index] = returns as Array<unknown>
    }
    // a site no draw of a chain had stays NaN there, as in-thread
    for (const cols of builder.columns.values()) for (let c = 0; c < config.chains; c++) cols[c] ??= new Float64Array(config.samples).fill(Number.NaN)
    return builder.build({ stats: mergeStats(outputs.map((o) => o.stats)), seed })
  })
