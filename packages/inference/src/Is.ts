/**
 * Importance sampling: draw N independent executions from a proposal and weight each by how
 * much more (or less) probable the target makes it. With the prior as proposal (the default)
 * the weight of an execution is its likelihood times its factors; with a user proposal model q
 * the weight is p(x, y) / q(x). The result is a weighted `Posterior` with a log-evidence
 * estimate and the effective sample size. Use it for quick posterior summaries and evidence
 * estimates of small models, or as a baseline; for many observations use `Smc`. With a proposal,
 * a model whose arithmetic on latents is written with `Ad` is scored through its compiled log
 * density instead of being run on each draw (`logDensity`). Particles are
 * drawn in blocks of 4096, block b on stream b of the seed, so the draws are the same whether
 * the blocks run in-thread or on worker threads (`workers`).
 *
 * @since 0.1.0
 */
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { identity } from "@fugue/runtime/Combinators"
import { Execution, InvalidModelError } from "@fugue/runtime/Execution"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { SafeScoreGivenTrace } from "@fugue/runtime/handlers/SafeScore"
import { Trace } from "@fugue/runtime/Trace"
import * as Effect from "effect/Effect"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { culprits } from "./internal/culprits.ts"
import { drive, now, sideStream, streams, streamsUnsafe, transformFor, wrapHandler } from "./internal/shell.ts"
import { essReport } from "./internal/essHistory.ts"
import { effectiveSampleSize, normalise } from "./internal/weights.ts"
import { type LazyDensity, lazyDensity } from "./internal/lazyDensity.ts"
import { Recorder } from "./internal/mhRecorder.ts"
import { StructureChangedError } from "./LogDensity.ts"
import {
  checkKeys,
  COMMON_KEYS,
  type Common,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  oneOf,
  positiveInteger,
  seedOption,
  transformOption,
  ZeroWeightError
} from "./Options.ts"
import { Builder, type Posterior } from "./Posterior.ts"
import * as Workers from "./Workers.ts"
import { transfersOfDraws, workerSetup } from "./internal/workerRun.ts"
import { availableParallelism } from "node:os"

const ALGORITHM = "IS"
/** Particles per stream: block b of the particles draws from stream b of the seed. */
export const BLOCK = 4096
/** Particles between two looks at the clock inside a time slice. */
const CLOCK_EVERY = 8

/**
 * Options for `run` / `runUnsafe`.
 *
 * @example
 * const options: Is.Options = { particles: 10_000, seed: 1 }
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Common {
  /** Number of independent draws N (≥ 1). */
  readonly particles: number
  /** Seed. Default: the `Rng` service's stream (`run`), else a fresh seed, recorded in `posterior.seed`. */
  readonly seed?: number | undefined
  /** A proposal model q over the target's latent sites (default: the target's prior). */
  readonly proposal?: Model<unknown> | undefined
  /**
   * `run` only: draw the particles' blocks on this many Node worker threads (`"auto"`: one per
   * core), as `Mh.run` runs chains: the model must be named with `Workers.named`, and neither a
   * `proposal` nor a `transform` can cross. With a `Workers.Pool` in the context a named model's
   * run borrows its warm workers. The weights, draws and evidence are bit-identical to the
   * in-thread run's; resampling-free, so only the blocks' draws cross back.
   */
  readonly workers?: number | "auto" | undefined
  /**
   * With a `proposal`: `"auto"` (default) scores the proposal's draws with the target's compiled
   * (or taped) log density where the model has one (fixed continuous sites, arithmetic on latents
   * written with `Ad`), without running the target model; its return values are computed when
   * read. The weights and draws equal the model-running path's up to rounding (a value passes
   * through its site's bijection and back). A draw the density cannot score (a site missing,
   * extra, or of the wrong type) runs the model as before. `"never"`: always run the model.
   */
  readonly logDensity?: "auto" | "never" | undefined
}

/**
 * What a run did, in `posterior.stats` (read it with `Is.stats`).
 *
 * @example
 * const { ess, invalid, missing } = Is.stats(post)
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly particles: number
  /** The effective sample size 1 / Σ w² of the normalised weights. */
  readonly ess: number
  /** Draws whose log weight was NaN or +∞, counted as −∞ (never propagated). */
  readonly invalid: number
  /** Draws whose execution raised InvalidDistributionError (a parameter made invalid by drawn values): weight −∞, the run goes on. */
  readonly rejectedInvalid: number
  /** Draws whose log weight is −∞ (invalid ones included). */
  readonly zero: number
  /** With a proposal: target sites the proposal's trace lacked (scored −∞). */
  readonly missing: number
  /** With a proposal: target sites where the proposal's value had the wrong type (scored −∞). */
  readonly mismatched: number
  /** With a proposal: proposal sites the target never visited (a proposal over extra sites biases the weights). */
  readonly unused: number
  /** A warning when the weights collapsed onto about one draw (ESS below 2): the evidence and the posterior then rest on it. */
  readonly warnings: ReadonlyArray<string>
  /** With a proposal: draws scored by the target's compiled or taped log density (the rest ran the target model). */
  readonly scoredByDensity: number
}

interface Config {
  readonly particles: number
  readonly seed: number | undefined
  readonly proposal: Model<unknown> | undefined
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly workers: number | undefined
  readonly logDensity: "auto" | "never"
  /** Blocks of `BLOCK` particles (one stream each). */
  readonly blocks: number
}

const KEYS = ["particles", "proposal", "workers", "logDensity", ...COMMON_KEYS]

const validate = (model: unknown, options: Options): Config => {
  checkKeys(ALGORITHM, options, KEYS)
  modelOption(ALGORITHM, model)
  const particles = positiveInteger(ALGORITHM, "particles", options.particles)
  const seed = seedOption(ALGORITHM, options.seed)
  const proposal = options.proposal
  if (proposal !== undefined) modelOption(ALGORITHM, proposal, "proposal")
  const transform = transformOption(ALGORITHM, options.transform)
  const maxInstructions = maxInstructionsOption(ALGORITHM, options.maxInstructions)
  const blocks = Math.ceil(particles / BLOCK)
  let workers: number | undefined
  if (options.workers === "auto") workers = Math.max(1, Math.min(blocks, availableParallelism()))
  else if (options.workers !== undefined) workers = Math.min(blocks, positiveInteger(ALGORITHM, "workers", options.workers))
  if (workers !== undefined && proposal !== undefined) {
    throw new InvalidOptionsError({ algorithm: ALGORITHM, option: "workers", value: options.workers, reason: "a proposal model cannot cross to worker threads: put it in the named model's module and run in-thread, or drop workers" })
  }
  const logDensity = options.logDensity === undefined ? "auto" : oneOf(ALGORITHM, "logDensity", options.logDensity, ["auto", "never"] as const)
  return { particles, seed, proposal, transform, maxInstructions, workers, logDensity, blocks }
}

// The sampler's state, so `run` can do the same work in time slices.
class Sampler<A> {
  readonly model: Model<A>
  readonly config: Config
  /** The blocks' streams (`rngs[b]` for block `first + b`), and the one in use. */
  readonly rngs: ReadonlyArray<CoreRng.Rng>
  rng: CoreRng.Rng
  sideRng: CoreRng.Rng
  readonly transform: Transform
  /** The particles this sampler draws: from `from` (block `first`) to `to`, recorded from 0. */
  readonly from: number
  readonly to: number
  readonly builder: Builder<A>
  readonly seed: number | undefined
  readonly context = { algorithm: ALGORITHM, chain: undefined, iteration: 0 as number | undefined }
  /** The prior path's handler and execution, reused for every particle of a block. */
  private prior: PriorHandler
  private priorExecution: Execution<A, Trace>
  /** Particles drawn so far (from `from`). */
  done = 0
  invalid = 0
  rejectedInvalid = 0
  missing = 0
  mismatched = 0
  unused = 0
  scoredByDensity = 0
  /** With a proposal: the target's density, built before the first particle (in steps, inside the time slices). */
  private readonly density: LazyDensity | undefined
  private recorder: Recorder<A> | undefined = undefined
  private point: Float64Array = new Float64Array(0)
  constructor(
    model: Model<A>,
    config: Config,
    rngs: ReadonlyArray<CoreRng.Rng>,
    transform: Transform,
    seed: number | undefined,
    blocks: readonly [first: number, count: number] = [0, config.blocks]
  ) {
    this.model = model
    this.config = config
    this.rngs = rngs
    this.transform = transform
    this.from = blocks[0] * BLOCK
    this.to = Math.min(config.particles, (blocks[0] + blocks[1]) * BLOCK)
    this.builder = new Builder<A>(ALGORITHM, 1, this.to - this.from)
    this.seed = seed
    this.rng = rngs[0]!
    this.sideRng = transform === identity ? this.rng : sideStream(this.rng)
    this.prior = new PriorHandler(this.rng)
    this.priorExecution = this.priorRunner()
    this.density = config.proposal === undefined
      ? undefined
      : lazyDensity(model as Model<unknown>, { enabled: config.logDensity === "auto", transform, maxInstructions: config.maxInstructions })
  }
  private priorRunner(): Execution<A, Trace> {
    return new Execution(this.model, wrapHandler(ALGORITHM, this.transform, this.prior, this.sideRng), {
      context: this.context,
      maxInstructions: this.config.maxInstructions
    })
  }
  /** At the first particle of a block: its stream (and a handler and execution drawing from it). */
  private enterBlock(b: number): void {
    this.rng = this.rngs[b]!
    this.sideRng = this.transform === identity ? this.rng : sideStream(this.rng)
    this.prior = new PriorHandler(this.rng)
    this.priorExecution = this.priorRunner()
  }
  private execute<R>(model: Model<R>, handler: PriorHandler | SafeScoreGivenTrace): R {
    return new Execution(model, wrapHandler(ALGORITHM, this.transform, handler, this.sideRng), {
      context: this.context,
      maxInstructions: this.config.maxInstructions
    }).runToEnd()
  }
  /** Draws and weighs particles until all are done or the clock passes `deadline`; returns whether all are done. */
  draw(deadline: number): boolean {
    const { builder, model } = this
    const proposal = this.config.proposal
    const n = this.to - this.from
    if (this.density !== undefined && !this.density.build(deadline)) return false
    let i = this.done
    while (i < n) {
      if (i > 0 && i % BLOCK === 0) this.enterBlock(i / BLOCK)
      const rng = this.rng
      this.context.iteration = this.from + i
      if (proposal === undefined) {
        // Prior proposal: w = p(x, y) / p(x) = likelihood × factors.
        // a fresh trace per particle: a TracePool measured 8 % slower here (the trace is
        // recorded into columns and dropped young, which V8's scavenger makes nearly free);
        // re-measured with the prior regression, 20 paired blocks of 100 000 particles by CPU
        // time: the pool 5.5 % slower, and a bare free list (no membership check, no stats)
        // 5 % slower too, so the cost is reuse itself, not the pool's bookkeeping. Recorded from
        // the visit order (below), one reused trace is 1.08× the old path against 0.91× for a fresh one.
        const trace = new Trace()
        const prior = this.prior
        prior.trace = trace
        try {
          const result = this.priorExecution.runFresh(model)
          // straight from the choice buffer in visit order (the handler checked its addresses;
          // nothing read the map, so no B-tree is loaded), as MH and SMC record
          const recorder = (this.recorder ??= new Recorder(builder, 0))
          recorder.recordVisits(i, trace.recorded, result, this.check(trace.logLikelihood + trace.logFactors))
        } catch (error) {
          this.rejectParticle(error, i, trace)
        }
      } else {
        // User proposal: x ~ q, w = p(x, y) / q(x), the target scored on q's choices.
        const proposer = new PriorHandler(rng)
        let proposed: Trace | undefined
        try {
          this.execute(proposal, proposer)
          proposed = proposer.trace
        } catch (error) {
          if (error instanceof InvalidModelError) {
            throw new InvalidOptionsError({ algorithm: ALGORITHM, option: "proposal", value: proposal, reason: error.message })
          }
          this.rejectParticle(error, i, new Trace())
        }
        if (proposed !== undefined && !this.scoreByDensity(proposed, i)) {
          const scorer = new SafeScoreGivenTrace(proposed, rng)
          try {
            const result = this.execute(model, scorer)
            const trace = scorer.trace
            this.missing += scorer.missing
            this.mismatched += scorer.mismatched
            if (trace.size - scorer.missing < proposed.size) this.unused += proposed.size - (trace.size - scorer.missing)
            builder.record(0, i, trace, result, this.check(trace.totalLogWeight - proposed.logPrior))
          } catch (error) {
            this.rejectParticle(error, i, scorer.trace)
          }
        }
      }
      i++
      if ((i & (CLOCK_EVERY - 1)) === 0 && deadline < Infinity && now() > deadline) break
    }
    this.done = i
    return i >= n
  }
  /**
   * Scores a proposal's draw with the target's density, when there is one and the draw holds
   * exactly its sites with values it can map to the unconstrained space: log p(x, y) is the
   * density at u = T⁻¹(x) less log |det ∂x/∂u|, and w = log p(x, y) − log q(x). Returns whether it
   * did (otherwise the target model scores the draw).
   */
  private scoreByDensity(proposed: Trace, i: number): boolean {
    const density = this.density?.value
    if (density === undefined || proposed.size !== density.sites.length) return false
    if (this.point.length !== density.dimension) this.point = new Float64Array(density.dimension)
    const u = this.point
    try {
      density.unconstrain(proposed, u)
    } catch (error) {
      // a site the draw lacks, or a value of another shape: the model-running path counts it
      if (error instanceof StructureChangedError || error instanceof TypeError) return false
      throw error
    }
    for (let k = 0; k < u.length; k++) if (!(u[k]! - u[k]! === 0)) return false // a value off its support, or of another type
    const lp = density.logDensity(u)
    const recorder = (this.recorder ??= new Recorder(this.builder, 0))
    recorder.recordPoint(i, density, u, lp - proposed.logPrior)
    const w = this.builder.logWeights[0]!
    w[i] = this.check(w[i]!)
    this.scoredByDensity++
    return true
  }
  /** A particle whose execution raised InvalidDistributionError gets weight −∞ (counted); other errors propagate. */
  private rejectParticle(error: unknown, i: number, partial: Trace): void {
    if (!(error instanceof InvalidDistributionError)) throw error
    this.rejectedInvalid++
    this.builder.record(0, i, partial, undefined as A, -Infinity)
  }
  /** What a block run reports besides its draws. */
  counters(): Counters {
    return { invalid: this.invalid, rejectedInvalid: this.rejectedInvalid, missing: this.missing, mismatched: this.mismatched, unused: this.unused, scoredByDensity: this.scoredByDensity }
  }
  private check(logWeight: number): number {
    if (logWeight < Infinity) return logWeight
    this.invalid++ // NaN or +∞
    return -Infinity
  }
  finish(): Posterior<A, Stats> {
    return finishRun(this.builder, this.counters(), this.config, this.model, this.transform, this.rngs[0]!, this.seed)
  }
}

/** The counters of a run (or a block of it). */
interface Counters {
  readonly invalid: number
  readonly rejectedInvalid: number
  readonly missing: number
  readonly mismatched: number
  readonly unused: number
  readonly scoredByDensity: number
}

/** The weighted posterior of all N particles in `builder`: normalised weights, ESS, log evidence, or ZeroWeightError. */
const finishRun = <A>(
  builder: Builder<A>,
  counters: Counters,
  config: Config,
  model: Model<A>,
  transform: Transform,
  rng: CoreRng.Rng,
  seed: number | undefined
): Posterior<A, Stats> => {
  const n = config.particles
  const logWeights = builder.logWeights[0]
  let zero = 0
  for (let i = 0; i < n; i++) if (logWeights[i] === -Infinity) zero++
  const weights = new Float64Array(n)
  const lse = normalise(logWeights, weights)
  if (lse === -Infinity) {
    const detail = counters.invalid > 0
      ? `${counters.invalid} weights were NaN or +Infinity`
      : counters.rejectedInvalid > 0
      ? `${counters.rejectedInvalid} draws raised InvalidDistributionError`
      : counters.missing + counters.mismatched > 0
      ? `the proposal missed ${counters.missing} and mistyped ${counters.mismatched} target sites`
      : "no draw satisfies the observations and factors"
    throw new ZeroWeightError({
      algorithm: ALGORITHM,
      attempts: n,
      detail: detail + (config.proposal === undefined ? culprits(model as Model<unknown>, transform, rng.clone()) : "")
    })
  }
  const ess = effectiveSampleSize(weights)
  const stats: Stats = {
    particles: n,
    ess,
    warnings: essReport(ALGORITHM, [ess], n, undefined).warnings,
    invalid: counters.invalid,
    rejectedInvalid: counters.rejectedInvalid,
    zero,
    missing: counters.missing,
    mismatched: counters.mismatched,
    unused: counters.unused,
    scoredByDensity: counters.scoredByDensity
  }
  return builder.build({ weights: [weights], logEvidence: [lse - Math.log(n)], stats, seed })
}

/**
 * Importance sampling, synchronously.
 *
 * **Details**: N draws x⁽ⁱ⁾ from the proposal (default: the prior), log weights
 * log wᵢ = log p(x⁽ⁱ⁾, y) − log q(x⁽ⁱ⁾) (with the prior: logLikelihood + logFactors), normalised
 * weights wᵢ / Σw, log Ẑ = lse(log w) − log N, ESS = 1 / Σ w̄². With a proposal, the proposal
 * model runs under the prior handler (log q = its logPrior) and the target is scored on its
 * choices with `SafeScoreGivenTrace` (a missing or mistyped site gives weight −∞, counted). NaN
 * or +∞ log weights count as −∞ (`stats.invalid`). Throws `InvalidOptionsError` before any
 * work, `ZeroWeightError` when every weight is −∞, and the model's typed errors.
 *
 * @example
 * const post = Is.runUnsafe(model, { particles: 10_000, seed: 1 })
 * Posterior.mean(post, "mu")
 * post.logEvidence![0]
 *
 * @category constructors
 * @since 0.1.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Stats> => {
  const config = validate(model, options)
  if (config.workers !== undefined) {
    throw new InvalidOptionsError({ algorithm: ALGORITHM, option: "workers", value: options.workers, reason: "worker threads need the Effect form (run): runUnsafe runs in-thread" })
  }
  const { rngs, seed } = streamsUnsafe(config.seed, config.blocks)
  const sampler = new Sampler(model, config, rngs, config.transform ?? identity, seed)
  sampler.draw(Infinity)
  return sampler.finish()
}

const runEffect = Effect.fn("Is.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attemptInference(() => validate(model, options))
  const transform = yield* transformFor(config.transform)
  const pool = yield* Workers.poolFor(model, config.workers, config.seed, transform === identity && config.proposal === undefined && config.blocks > 1)
  if (config.workers !== undefined || pool !== undefined) return yield* runOnWorkers(model, options, config, transform, pool)
  const { rngs, seed } = yield* streams(config.seed, config.blocks)
  // building the sampler starts the model's generator: its typed errors are failures
  const sampler = yield* attemptInference(() => new Sampler(model, config, rngs, transform, seed))
  const total = config.particles
  yield* drive(
    (deadline) => sampler.draw(deadline),
    () => ({ algorithm: ALGORITHM, chain: 0, done: sampler.done, total, phase: "sampling" })
  )
  return yield* attemptInference(() => sampler.finish())
})

/**
 * Importance sampling as an Effect: interruptible every few milliseconds (time slices), progress
 * reported through `Progress`.
 *
 * **Details**: the same sampler as `runUnsafe`; with a `seed` the result equals
 * `runUnsafe(model, options)` exactly, without one the stream comes from the `Rng` service
 * (`Rng.withSeed(s)` gives the same result as `seed: s`). Errors go to the error channel.
 *
 * @example
 * const post = yield* Is.run(model, { particles: 10_000 }).pipe(Rng.withSeed(1))
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Stats>, InferenceError> =>
  runEffect(model as Model<unknown>, options) as Effect.Effect<Posterior<A, Stats>, InferenceError>

/**
 * The statistics of an importance-sampling posterior, typed.
 *
 * @example
 * const { ess, invalid } = Is.stats(post)
 *
 * @category getters
 * @since 0.1.0
 */
export const stats = (posterior: Posterior<unknown, Stats>): Stats => posterior.stats

/** One block's draws as they cross from a worker (typed arrays transferred). */
interface BlockOutput {
  readonly index: number
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly logWeights: Float64Array
  readonly returns: ReadonlyArray<unknown> | Float64Array
  readonly counters: Counters
}

/**
 * Draws block `index` of an IS run on a worker: its particles, on its stream
 * (`Rng.streams(seed, blocks)[index]`), as in-thread, in time slices, with progress.
 *
 * @internal
 */
export const runBlockForWorker = (model: Model<unknown>, options: Options, index: number): Effect.Effect<BlockOutput, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(model, { ...options, workers: undefined }))
    const rng = CoreRng.streams(config.seed!, config.blocks)[index]!
    const sampler = yield* attemptInference(() => new Sampler(model, config, [rng], identity, config.seed, [index, 1]))
    const total = sampler.to - sampler.from
    yield* drive(
      (deadline) => sampler.draw(deadline),
      () => ({ algorithm: ALGORITHM, chain: index, done: sampler.done, total, phase: "sampling" })
    )
    const builder = sampler.builder
    const returns = builder.returns[0]!
    let numeric = true
    for (let i = 0; i < returns.length && numeric; i++) numeric = typeof returns[i] === "number"
    return {
      index,
      columns: [...builder.columns].map(([site, cols]) => [site, cols[0]!] as const),
      logWeights: builder.logWeights[0]!,
      returns: numeric ? Float64Array.from(returns as ReadonlyArray<number>) : returns,
      counters: sampler.counters()
    }
  })

/**
 * The buffers of a block's output, transferred rather than copied.
 *
 * @internal
 */
export const transfersOfIs = (o: BlockOutput): Array<ArrayBuffer> => transfersOfDraws(o)

/** The parent side of an IS run on workers: named model, fixed seed, the blocks merged, then weighed as in-thread. */
const runOnWorkers = (model: Model<unknown>, options: Options, config: Config, transform: Transform, pool: Workers.PoolShape | undefined) =>
  Effect.gen(function*() {
    const { ref, seed } = yield* workerSetup(ALGORITHM, model, options.workers, config.seed, transform)
    const Parallel = yield* Effect.promise(() => import("./internal/chainWorkers.ts"))
    const outputs = yield* Parallel.runChains<BlockOutput>(ALGORITHM, ref, { ...options, seed, workers: undefined }, config.blocks, config.workers, pool)
    const n = config.particles
    const builder = new Builder<unknown>(ALGORITHM, 1, n)
    const counters = { invalid: 0, rejectedInvalid: 0, missing: 0, mismatched: 0, unused: 0, scoredByDensity: 0 }
    for (const o of outputs) {
      const from = o.index * BLOCK
      for (const [site, column] of o.columns) {
        let cols = builder.columns.get(site)
        if (cols === undefined) builder.columns.set(site, (cols = [new Float64Array(n).fill(Number.NaN)]))
        cols[0]!.set(column, from)
      }
      builder.logWeights[0]!.set(o.logWeights, from)
      const out = builder.returns[0]!
      for (let i = 0; i < o.returns.length; i++) out[from + i] = o.returns[i]
      counters.invalid += o.counters.invalid
      counters.rejectedInvalid += o.counters.rejectedInvalid
      counters.missing += o.counters.missing
      counters.mismatched += o.counters.mismatched
      counters.unused += o.counters.unused
      counters.scoredByDensity += o.counters.scoredByDensity
    }
    return yield* attemptInference(() => finishRun(builder, counters, config, model, identity, CoreRng.streams(seed, 1)[0]!, seed))
  })
