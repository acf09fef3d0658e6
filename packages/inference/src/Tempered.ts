/**
 * Tempered SMC for static models: a population of particles carried from the prior to the
 * posterior through the tempered targets π_β(x) ∝ p(x) L(x)^β, β from 0 to 1, by reweighting,
 * resampling and MCMC moves (the SMC sampler of Del Moral, Doucet & Jasra 2006). The next
 * temperature is chosen by bisection so that the conditional ESS of the incremental weights is
 * a fixed fraction of the population (Jasra, Stephens, Doucet & Tsagaris 2011; Zhou, Johansen &
 * Aston 2016); the moves are random-walk Metropolis with the weighted population's covariance
 * scaled by 2.38²/d (Roberts & Rosenthal 2001) or NUTS; the log evidence is the sum of the log
 * mean incremental weights. Use it for the marginal likelihood of a model whose latent sites
 * are continuous and fixed (model comparison, Bayes factors), especially under vague priors,
 * where importance sampling from the prior and observation-by-observation SMC collapse; every
 * result carries its ESS history and warns when the population collapsed, so an unreliable
 * evidence is never silent. For sequential data use `Smc`; for posterior draws alone, `Nuts`.
 *
 * @since 0.3.0
 */
import type { Model } from "@fugue/core/Model"
import type { Transform } from "@fugue/runtime/Combinators"
import * as Effect from "effect/Effect"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { drive, streams, streamsUnsafe, transformFor } from "./internal/shell.ts"
import { ALGORITHM, TemperedEngine, type EngineConfig, type MoveKind } from "./internal/temperedEngine.ts"
import type * as LogDensity from "./LogDensity.ts"
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
import type { Posterior } from "./Posterior.ts"
import * as Resampling from "./Resampling.ts"

/**
 * Options for `run` / `runUnsafe`.
 *
 * @example
 * const options: Tempered.Options = { particles: 1000, targetEss: 0.5, moves: "rwmh", moveSteps: 20, seed: 1 }
 *
 * @category models
 * @since 0.3.0
 */
export interface Options extends Common {
  /** Number of particles N (≥ 2). */
  readonly particles: number
  /** ρ in (0, 1): each step's temperature makes the conditional ESS ρ·N (default 0.5). Higher: more, smaller steps. */
  readonly targetEss?: number | undefined
  /** The MCMC moves after each resampling: `"rwmh"` (default), random-walk Metropolis with the population's covariance; `"nuts"`, NUTS with the population's variances as inverse metric. */
  readonly moves?: MoveKind | undefined
  /**
   * Sweeps of the population per step (≥ 0; default 20 for "rwmh", 2 for "nuts"). 20: at the
   * random walk's optimal acceptance 0.234 a particle then moves at least once with probability
   * 1 − 0.766²⁰ ≈ 0.995 (the rule ⌈log c / log(1 − acceptance)⌉ of Drovandi & Pettitt 2011, c = 0.01, gives 18).
   */
  readonly moveSteps?: number | undefined
  /** The resampling scheme (default "systematic"). */
  readonly resampling?: Resampling.Scheme | undefined
  /** Largest number of tempering steps (default 1000); the last one then jumps to β = 1, with a warning. */
  readonly maxSteps?: number | undefined
  /** NUTS moves: `"diag"` (default) uses the population's variances as inverse metric, `"dense"` its covariance. */
  readonly metric?: "diag" | "dense" | undefined
  /** NUTS moves: the tree-depth limit (1–30, default 10). */
  readonly maxTreeDepth?: number | undefined
  /** The gradient source of the model's `LogDensity` (default "auto"). */
  readonly gradient?: "auto" | LogDensity.GradientSource | undefined
}

/**
 * What a run did, in `posterior.stats` (read it with `Tempered.stats`).
 *
 * @example
 * const { temperatures, ess, acceptance, warnings } = Tempered.stats(post)
 *
 * @category models
 * @since 0.3.0
 */
export interface Stats {
  readonly particles: number
  /** Unconstrained coordinates of the model. */
  readonly dimension: number
  /** Tempering steps (reweightings). */
  readonly steps: number
  /** β after each step; the last is 1. */
  readonly temperatures: ReadonlyArray<number>
  /** The ESS 1/ΣW² after each step's reweighting, before resampling (ρ·N but for the last step). */
  readonly ess: ReadonlyArray<number>
  /** Each step's log Σ W_i w_i; they sum to `logEvidence`. */
  readonly logEvidenceIncrements: ReadonlyArray<number>
  /** Mean acceptance of the moves after each step but the last (NUTS: the mean acceptance statistic). */
  readonly acceptance: ReadonlyArray<number>
  /** The move's scale at the end of each move phase: the random walk's multiplier of the population sd (s·2.38/√d), or NUTS's step size. */
  readonly moveScales: ReadonlyArray<number>
  readonly moves: MoveKind
  readonly moveSteps: number
  /** Proposals made (NUTS: transitions) and accepted (NUTS: transitions that moved). */
  readonly proposals: number
  readonly accepted: number
  /** Proposals whose tempered density was not finite (rejected). */
  readonly invalidProposals: number
  /** Prior draws drawn again because their prior density was not finite on the unconstrained space. */
  readonly invalidDraws: number
  /** Steps where the population could not give a proposal shape (ESS < 2, or a covariance that is not positive definite), so the previous one was kept. */
  readonly covarianceFallbacks: number
  /** NUTS moves: gradient evaluations (of either density) and divergent transitions. */
  readonly gradientEvaluations: number
  readonly divergences: number
  /** Log-density evaluations (of either density) outside NUTS trajectories. */
  readonly densityEvaluations: number
  /** The model density's gradient source (`LogDensity.gradientSource`). */
  readonly gradientSource: LogDensity.GradientSource
  /** The 1-based steps whose ESS fell below 2: the population collapsed there. */
  readonly collapsedAt: ReadonlyArray<number>
  /** Collapse (ESS near 1), a truncated schedule, moves that did not move, divergences. */
  readonly warnings: ReadonlyArray<string>
}

const KEYS = ["particles", "targetEss", "moves", "moveSteps", "resampling", "maxSteps", "metric", "maxTreeDepth", "gradient", ...COMMON_KEYS]

interface Config extends EngineConfig {
  readonly seed: number | undefined
  readonly transform: Transform | undefined
}

const invalid = (option: string, value: unknown, reason: string): never => {
  throw new InvalidOptionsError({ algorithm: ALGORITHM, option, value, reason })
}

const validate = (model: unknown, options: Options): Config => {
  const A = ALGORITHM
  checkKeys(A, options, KEYS)
  modelOption(A, model)
  const particles = positiveInteger(A, "particles", options.particles)
  if (particles < 2) invalid("particles", particles, "must be at least 2 (a population)")
  const targetEss = options.targetEss === undefined ? 0.5 : options.targetEss
  if (typeof targetEss !== "number" || !(targetEss > 0 && targetEss < 1)) invalid("targetEss", targetEss, "must be a number in (0, 1)")
  const moves = options.moves === undefined ? "rwmh" : oneOf(A, "moves", options.moves, ["rwmh", "nuts"] as const)
  const moveSteps = options.moveSteps === undefined ? (moves === "nuts" ? 2 : 20) : nonNegativeInteger(A, "moveSteps", options.moveSteps)
  const scheme = options.resampling === undefined ? "systematic" : oneOf(A, "resampling", options.resampling, Resampling.schemeNames)
  const maxSteps = options.maxSteps === undefined ? 1000 : positiveInteger(A, "maxSteps", options.maxSteps)
  const metric = options.metric === undefined ? "diag" : oneOf(A, "metric", options.metric, ["diag", "dense"] as const)
  const maxTreeDepth = options.maxTreeDepth === undefined ? 10 : positiveInteger(A, "maxTreeDepth", options.maxTreeDepth)
  if (maxTreeDepth > 30) invalid("maxTreeDepth", maxTreeDepth, "must be at most 30")
  if (moves !== "nuts") {
    if (options.metric !== undefined) invalid("metric", options.metric, "applies to NUTS moves only (moves: \"nuts\")")
    if (options.maxTreeDepth !== undefined) invalid("maxTreeDepth", options.maxTreeDepth, "applies to NUTS moves only (moves: \"nuts\")")
  }
  const gradient = options.gradient === undefined ? "auto" : oneOf(A, "gradient", options.gradient, ["auto", "compiled", "taped", "finite-differences"] as const)
  const seed = seedOption(A, options.seed)
  const transform = transformOption(A, options.transform)
  const maxInstructions = maxInstructionsOption(A, options.maxInstructions)
  return {
    particles, targetEss, moves, moveSteps, resampler: Resampling.get(scheme), maxSteps, metric, maxTreeDepth, gradient,
    maxInstructions, seed, transform
  }
}

const statsOf = (engine: TemperedEngine): Stats => ({
  particles: engine.n,
  dimension: engine.d,
  steps: engine.steps,
  temperatures: engine.temperatures,
  ess: engine.ess,
  logEvidenceIncrements: engine.increments,
  acceptance: engine.acceptance,
  moveScales: engine.moveScales,
  moves: engine.config.moves,
  moveSteps: engine.config.moveSteps,
  proposals: engine.proposals,
  accepted: engine.accepted,
  invalidProposals: engine.invalidProposals,
  invalidDraws: engine.invalidDraws,
  covarianceFallbacks: engine.covarianceFallbacks,
  gradientEvaluations: engine.gradientEvaluations,
  divergences: engine.divergences,
  densityEvaluations: engine.densityEvaluations,
  gradientSource: engine.full.gradientSource,
  collapsedAt: engine.collapsedAt,
  warnings: engine.collectWarnings()
})

/**
 * Runs tempered SMC on `model`, synchronously.
 *
 * **Details**: N exact prior draws on the unconstrained space; then, until β = 1: the next
 * temperature β' by bisection so that CESS = N(Σ Wᵢwᵢ)²/Σ Wᵢwᵢ² = ρ·N for wᵢ = L(xᵢ)^(β'−β);
 * log Ẑ += log Σ Wᵢwᵢ; Wᵢ ∝ Wᵢwᵢ; unless β' = 1, resampling and `moveSteps` sweeps of MCMC moves
 * invariant for π_β'. The result holds the final weighted population (constrained values),
 * `logEvidence` and `Tempered.stats`. Needs a fixed set of continuous latent sites with a proper
 * prior: throws `InvalidOptionsError` before any work, the `LogDensity` errors
 * (`DiscreteLatentError`, `StructureChangedError`, `InitializationError`), `ImproperPriorError`
 * (from `@fugue/core`, at the site) for a `Flat` prior, `ZeroWeightError` when every particle has
 * likelihood 0, and the model's typed errors. A collapsed population is a warning in
 * `stats.warnings`, never silent.
 *
 * @example
 * const post = Tempered.runUnsafe(model, { particles: 1000, seed: 1 })
 * post.logEvidence![0]
 * Posterior.mean(post, "mu")
 * Tempered.stats(post).temperatures
 *
 * @category constructors
 * @since 0.3.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Stats> => {
  const config = validate(model, options)
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const engine = new TemperedEngine(model as Model<unknown>, config, rngs[0]!, config.transform)
  engine.advance(Infinity)
  return engine.finish(statsOf(engine), seed) as Posterior<A, Stats>
}

const runEffect = Effect.fn("Tempered.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attemptInference(() => validate(model, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  const engine = yield* attemptInference(() => new TemperedEngine(model, config, rngs[0]!, transform))
  yield* drive(
    (deadline) => engine.advance(deadline),
    () => ({ algorithm: ALGORITHM, chain: 0, ...engine.progress })
  )
  return yield* attemptInference(() => engine.finish(statsOf(engine), seed))
})

/**
 * Runs tempered SMC on `model` as an Effect: interruptible every few milliseconds (time slices,
 * also between particles within a move sweep), progress through `Progress` once per slice, the
 * model run through the `Interpreter` layers in the context.
 *
 * **Details**: the same algorithm as `runUnsafe`; with a `seed` the result equals
 * `runUnsafe(model, options)` exactly, without one the stream comes from the `Rng` service
 * (`Rng.withSeed(s)` gives the same result as `seed: s`), or a fresh seed, recorded in
 * `posterior.seed`. Reports say phase "prior" (done = particles drawn, of N) and then
 * "tempering" (done = steps, total = done + 1 until the last, as the schedule is adaptive).
 *
 * @example
 * const post = yield* Tempered.run(model, { particles: 1000 }).pipe(Rng.withSeed(3))
 *
 * @category constructors
 * @since 0.3.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Stats>, InferenceError> =>
  runEffect(model as Model<unknown>, options) as Effect.Effect<Posterior<A, Stats>, InferenceError>

/**
 * The statistics of a tempered SMC posterior, typed.
 *
 * @example
 * const { temperatures, ess, warnings } = Tempered.stats(post)
 *
 * @category getters
 * @since 0.3.0
 */
export const stats = (posterior: Posterior<unknown, Stats>): Stats => posterior.stats
