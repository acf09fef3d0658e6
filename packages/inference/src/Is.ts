/**
 * Importance sampling: draw N independent executions from a proposal and weight each by how
 * much more (or less) probable the target makes it. With the prior as proposal (the default)
 * the weight of an execution is its likelihood times its factors; with a user proposal model q
 * the weight is p(x, y) / q(x). The result is a weighted `Posterior` with a log-evidence
 * estimate and the effective sample size. Use it for quick posterior summaries and evidence
 * estimates of small models, or as a baseline; for many observations use `Smc`.
 *
 * @since 0.1.0
 */
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import type * as CoreRng from "@fugue/core/Rng"
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
import { effectiveSampleSize, logSumExp, normalise } from "./internal/weights.ts"
import {
  checkKeys,
  COMMON_KEYS,
  type Common,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  positiveInteger,
  seedOption,
  transformOption,
  ZeroWeightError
} from "./Options.ts"
import { Builder, type Posterior } from "./Posterior.ts"

const ALGORITHM = "IS"
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
}

interface Config {
  readonly particles: number
  readonly seed: number | undefined
  readonly proposal: Model<unknown> | undefined
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
}

const KEYS = ["particles", "proposal", ...COMMON_KEYS]

const validate = (model: unknown, options: Options): Config => {
  checkKeys(ALGORITHM, options, KEYS)
  modelOption(ALGORITHM, model)
  const particles = positiveInteger(ALGORITHM, "particles", options.particles)
  const seed = seedOption(ALGORITHM, options.seed)
  const proposal = options.proposal
  if (proposal !== undefined) modelOption(ALGORITHM, proposal, "proposal")
  const transform = transformOption(ALGORITHM, options.transform)
  const maxInstructions = maxInstructionsOption(ALGORITHM, options.maxInstructions)
  return { particles, seed, proposal, transform, maxInstructions }
}

// The sampler's state, so `run` can do the same work in time slices.
class Sampler<A> {
  readonly model: Model<A>
  readonly config: Config
  readonly rng: CoreRng.Rng
  readonly sideRng: CoreRng.Rng
  readonly transform: Transform
  readonly builder: Builder<A>
  readonly seed: number | undefined
  readonly context = { algorithm: ALGORITHM, chain: undefined, iteration: 0 as number | undefined }
  /** The prior path's handler and execution, reused for every particle (the trace comes from the pool). */
  private readonly prior: PriorHandler
  private readonly priorExecution: Execution<A, Trace>
  /** Particles drawn so far. */
  done = 0
  invalid = 0
  rejectedInvalid = 0
  missing = 0
  mismatched = 0
  unused = 0
  constructor(
    model: Model<A>,
    config: Config,
    rng: CoreRng.Rng,
    transform: Transform,
    seed: number | undefined
  ) {
    this.model = model
    this.config = config
    this.rng = rng
    this.transform = transform
    this.sideRng = transform === identity ? rng : sideStream(rng)
    this.builder = new Builder<A>(ALGORITHM, 1, config.particles)
    this.seed = seed
    this.prior = new PriorHandler(rng)
    this.priorExecution = new Execution(model, wrapHandler(ALGORITHM, this.transform, this.prior, this.sideRng), {
      context: this.context,
      maxInstructions: config.maxInstructions
    })
  }
  private execute<R>(model: Model<R>, handler: PriorHandler | SafeScoreGivenTrace): R {
    return new Execution(model, wrapHandler(ALGORITHM, this.transform, handler, this.sideRng), {
      context: this.context,
      maxInstructions: this.config.maxInstructions
    }).runToEnd()
  }
  /** Draws and weighs particles until all are done or the clock passes `deadline`; returns whether all are done. */
  draw(deadline: number): boolean {
    const { builder, model, rng } = this
    const proposal = this.config.proposal
    const n = this.config.particles
    let i = this.done
    while (i < n) {
      this.context.iteration = i
      if (proposal === undefined) {
        // Prior proposal: w = p(x, y) / p(x) = likelihood × factors.
        // a fresh trace per particle: a TracePool measured 8 % slower here (the trace is
        // recorded into columns and dropped young, which V8's scavenger makes nearly free)
        const trace = new Trace()
        const prior = this.prior
        prior.trace = trace
        try {
          const result = this.priorExecution.runFresh(model)
          builder.record(0, i, trace, result, this.check(trace.logLikelihood + trace.logFactors))
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
        if (proposed !== undefined) {
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
  /** A particle whose execution raised InvalidDistributionError gets weight −∞ (counted); other errors propagate. */
  private rejectParticle(error: unknown, i: number, partial: Trace): void {
    if (!(error instanceof InvalidDistributionError)) throw error
    this.rejectedInvalid++
    this.builder.record(0, i, partial, undefined as A, -Infinity)
  }
  private check(logWeight: number): number {
    if (logWeight < Infinity) return logWeight
    this.invalid++ // NaN or +∞
    return -Infinity
  }
  finish(): Posterior<A, Stats> {
    const n = this.config.particles
    const logWeights = this.builder.logWeights[0]
    let zero = 0
    for (let i = 0; i < n; i++) if (logWeights[i] === -Infinity) zero++
    const lse = logSumExp(logWeights)
    if (lse === -Infinity) {
      const detail = this.invalid > 0
        ? `${this.invalid} weights were NaN or +Infinity`
        : this.rejectedInvalid > 0
        ? `${this.rejectedInvalid} draws raised InvalidDistributionError`
        : this.missing + this.mismatched > 0
        ? `the proposal missed ${this.missing} and mistyped ${this.mismatched} target sites`
        : "no draw satisfies the observations and factors"
      throw new ZeroWeightError({
        algorithm: ALGORITHM,
        attempts: n,
        detail: detail + (this.config.proposal === undefined ? culprits(this.model as Model<unknown>, this.transform, this.rng.clone()) : "")
      })
    }
    const weights = new Float64Array(n)
    normalise(logWeights, weights)
    const ess = effectiveSampleSize(weights)
    const stats: Stats = {
      particles: n,
      ess,
      warnings: essReport(ALGORITHM, [ess], n, undefined).warnings,
      invalid: this.invalid,
      rejectedInvalid: this.rejectedInvalid,
      zero,
      missing: this.missing,
      mismatched: this.mismatched,
      unused: this.unused
    }
    return this.builder.build({ weights: [weights], logEvidence: [lse - Math.log(n)], stats, seed: this.seed })
  }
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
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const sampler = new Sampler(model, config, rngs[0], config.transform ?? identity, seed)
  sampler.draw(Infinity)
  return sampler.finish()
}

const runEffect = Effect.fn("Is.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attemptInference(() => validate(model, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  // building the sampler starts the model's generator: its typed errors are failures
  const sampler = yield* attemptInference(() => new Sampler(model, config, rngs[0], transform, seed))
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
