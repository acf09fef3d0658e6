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
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import { run as runModel } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { SafeScoreGivenTrace } from "@fugue/runtime/handlers/SafeScore"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect } from "effect"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { effectiveSampleSize, logSumExp, normalise } from "./internal/weights.ts"
import { InvalidOptionsError, positiveInteger, ZeroWeightError } from "./Options.ts"
import { Builder, type Posterior } from "./Posterior.ts"
import { Progress } from "./Progress.ts"

const ALGORITHM = "IS"
/** Particles per chunk in `run`: the granularity of interruption and progress reports. */
const CHUNK = 500

/**
 * Options for `run` / `runUnsafe`.
 *
 * @example
 * const options: Is.Options = { particles: 10_000, seed: 1 }
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Number of independent draws N (≥ 1). */
  readonly particles: number
  /** Seed (default 0 for `runUnsafe`; `run` uses the `Rng` service's stream when absent). */
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
  /** Draws whose log weight is −∞ (invalid ones included). */
  readonly zero: number
  /** With a proposal: target sites the proposal's trace lacked (scored −∞). */
  readonly missing: number
  /** With a proposal: target sites where the proposal's value had the wrong type (scored −∞). */
  readonly mismatched: number
  /** With a proposal: proposal sites the target never visited (a proposal over extra sites biases the weights). */
  readonly unused: number
}

interface Config {
  readonly particles: number
  readonly seed: number | undefined
  readonly proposal: Model<unknown> | undefined
}

const validate = (model: unknown, options: Options): Config => {
  const fail = (option: string, value: unknown, reason: string): never => {
    throw new InvalidOptionsError({ algorithm: ALGORITHM, option, value, reason })
  }
  if (typeof options !== "object" || options === null) fail("options", options, "must be an object")
  if (typeof model !== "function") fail("model", model, "must be a model (a generator function)")
  const particles = positiveInteger(ALGORITHM, "particles", options.particles)
  const seed = options.seed
  if (seed !== undefined && !(typeof seed === "number" && Number.isSafeInteger(seed))) fail("seed", seed, "must be an integer")
  const proposal = options.proposal
  if (proposal !== undefined && typeof proposal !== "function") fail("proposal", proposal, "must be a model (a generator function)")
  return { particles, seed, proposal }
}

// The sampler's state, so `run` can do the same work in chunks.
class Sampler<A> {
  readonly model: Model<A>
  readonly config: Config
  readonly rng: CoreRng.Rng
  readonly builder: Builder<A>
  invalid = 0
  missing = 0
  mismatched = 0
  unused = 0
  constructor(model: Model<A>, config: Config, rng: CoreRng.Rng) {
    this.model = model
    this.config = config
    this.rng = rng
    this.builder = new Builder<A>(ALGORITHM, 1, config.particles)
  }
  /** Draws and weighs particles [from, to). */
  draw(from: number, to: number): void {
    const { builder, model, rng } = this
    const proposal = this.config.proposal
    for (let i = from; i < to; i++) {
      let logWeight: number
      if (proposal === undefined) {
        // Prior proposal: w = p(x, y) / p(x) = likelihood × factors.
        const [result, trace] = runModel(new PriorHandler(rng), model)
        logWeight = trace.logLikelihood + trace.logFactors
        builder.record(0, i, trace, result, this.check(logWeight))
      } else {
        // User proposal: x ~ q, w = p(x, y) / q(x), the target scored on q's choices.
        const [, proposed] = runModel(new PriorHandler(rng), proposal)
        const scorer = new SafeScoreGivenTrace(proposed, rng)
        const [result, trace] = runModel(scorer, model)
        this.missing += scorer.missing
        this.mismatched += scorer.mismatched
        if (trace.size - scorer.missing < proposed.size) this.unused += proposed.size - (trace.size - scorer.missing)
        logWeight = trace.totalLogWeight - proposed.logPrior
        builder.record(0, i, trace, result, this.check(logWeight))
      }
    }
  }
  private check(logWeight: number): number {
    if (logWeight < Infinity) return logWeight
    this.invalid++ // NaN or +∞
    return -Infinity
  }
  finish(): Posterior<A> {
    const n = this.config.particles
    const logWeights = this.builder.logWeights[0]
    let zero = 0
    for (let i = 0; i < n; i++) if (logWeights[i] === -Infinity) zero++
    const lse = logSumExp(logWeights)
    if (lse === -Infinity) {
      throw new ZeroWeightError({
        algorithm: ALGORITHM,
        attempts: n,
        detail: this.invalid > 0
          ? `${this.invalid} weights were NaN or +Infinity`
          : this.missing + this.mismatched > 0
          ? `the proposal missed ${this.missing} and mistyped ${this.mismatched} target sites`
          : "no draw satisfies the observations and factors"
      })
    }
    const weights = new Float64Array(n)
    normalise(logWeights, weights)
    const stats: Stats = {
      particles: n,
      ess: effectiveSampleSize(weights),
      invalid: this.invalid,
      zero,
      missing: this.missing,
      mismatched: this.mismatched,
      unused: this.unused
    }
    return this.builder.build({
      weights: [weights],
      logEvidence: [lse - Math.log(n)],
      stats: stats as unknown as Record<string, unknown>
    })
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
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A> => {
  const config = validate(model, options)
  const sampler = new Sampler(model, config, CoreRng.make(config.seed ?? 0))
  sampler.draw(0, config.particles)
  return sampler.finish()
}

/**
 * Importance sampling as an Effect: interruptible between chunks of 500 draws, progress
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
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A>, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(model, options))
    const rng = config.seed !== undefined ? CoreRng.make(config.seed) : yield* RuntimeRng.stream
    const sampler = new Sampler(model, config, rng)
    const progress = yield* Progress
    const total = config.particles
    for (let from = 0; from < total; from += CHUNK) {
      const to = Math.min(total, from + CHUNK)
      yield* attemptInference(() => sampler.draw(from, to))
      progress.report({ algorithm: ALGORITHM, chain: 0, done: to, total, phase: "sampling" })
      yield* Effect.yieldNow
    }
    return yield* attemptInference(() => sampler.finish())
  })

/**
 * The statistics of an importance-sampling posterior, typed.
 *
 * @example
 * const { ess, invalid } = Is.stats(post)
 *
 * @category getters
 * @since 0.1.0
 */
export const stats = (posterior: Posterior<unknown>): Stats => posterior.stats as unknown as Stats
