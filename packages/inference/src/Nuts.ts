/**
 * The No-U-Turn Sampler with Stan's warm-up: the default sampler for models whose latent sites
 * are continuous and fixed. Each transition integrates Hamilton's equations on the model's
 * unconstrained log density (`LogDensity`) forwards and backwards in doubling trees until the
 * trajectory turns back on itself (the generalised no-U-turn criterion, Betancourt 2017), and
 * picks the next draw along it by multinomial sampling on the energies; a trajectory whose energy
 * error exceeds 1000 (or is not finite) is a divergence: it ends the tree, is counted, and never
 * throws. Warm-up as in Stan: step size by dual averaging towards `targetAcceptance` (Hoffman &
 * Gelman 2014), the inverse metric (diagonal, or dense as an option) from slow doubling windows
 * between an initial and a terminal fast interval, regularised towards 10⁻³·I. Chains start at
 * uniform(−2, 2) on the unconstrained space (or at your values), on independent streams, so the
 * draws do not depend on `chains` or `concurrency`. Models opt into exact, fast gradients by
 * writing arithmetic on latent values with `Ad` (see `LogDensity`); plain arithmetic still works
 * with finite-difference gradients. Discrete latent sites with finite support that are
 * independent given the continuous ones (a mixture's per-point assignments) are summed out of the
 * density and their values drawn afterwards from their exact conditionals (Rao–Blackwellised);
 * other discrete sites are an error (`DiscreteLatentError` / `DependentDiscreteError`, naming the
 * site and suggesting MH or SMC).
 *
 * @since 0.2.0
 */
import type { Model } from "@fugue/core/Model"
import type * as Effect from "effect/Effect"
import type { InferenceError } from "./internal/attempt.ts"
import { NUTS } from "./internal/hmcKinds.ts"
import * as Driver from "./internal/hmcRun.ts"
import type { Posterior } from "./Posterior.ts"

export type { Checkpoint, ChainState, InitialValues, Stats } from "./internal/hmcRun.ts"
import type { Checkpoint } from "./internal/hmcRun.ts"

/**
 * Options for `run` / `runUnsafe`.
 *
 * **Details**: each chain runs `warmup` transitions (adapting, then discarded), then
 * `samples × thin` transitions of which every `thin`-th is kept. Warm-up follows Stan: with the
 * default 1000 warm-up transitions, an initial fast interval of 75 (`initBuffer`), slow windows
 * of 25, 50, 100, 200, 500 (`baseWindow`) and a terminal fast interval of 50 (`termBuffer`);
 * below 20 warm-up transitions the metric is not adapted, and when the three intervals do not
 * fit they become 15 % / 75 % / 10 % of the warm-up.
 *
 * @example
 * const options: Nuts.Options = { samples: 1000, warmup: 1000, chains: 4, seed: 1, targetAcceptance: 0.9 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options extends Driver.CommonOptions {
  /** Draws kept per chain (≥ 1). */
  readonly samples: number
  /** Warm-up transitions per chain (≥ 0; default `samples`). */
  readonly warmup?: number | undefined
  /** Independent chains (default 1); chain i uses `Rng.streams(seed, chains)[i]`. */
  readonly chains?: number | undefined
  /** Keep every `thin`-th transition after warm-up (default 1). */
  readonly thin?: number | undefined
  /** Target mean acceptance statistic of the step-size adaptation, in (0, 1) (default 0.8); raise it (0.9, 0.99) against divergences. */
  readonly targetAcceptance?: number | undefined
  /** Largest tree depth: at most 2^maxTreeDepth − 1 leapfrog steps per transition (1–30, default 10). */
  readonly maxTreeDepth?: number | undefined
  /** `"diag"` (default): a diagonal inverse metric adapted from the warm-up's variances; `"dense"`: a full covariance; `"unit"`: the identity, never adapted. */
  readonly metric?: "diag" | "dense" | "unit" | undefined
  /** The initial step size (default 1), then searched by Stan's heuristic when adapting; without adaptation, the step size used throughout. */
  readonly stepSize?: number | undefined
  /** Adapt step size and metric during warm-up (default true). */
  readonly adaptation?: boolean | undefined
  /** Warm-up intervals (Stan's adapt init_buffer, term_buffer, window): defaults 75, 50, 25. */
  readonly initBuffer?: number | undefined
  readonly termBuffer?: number | undefined
  readonly baseWindow?: number | undefined
  /** Initial values on the sites' own scale, by address (e.g. `{ tau: 1 }`), for every chain or one object per chain; sites left out start at random. */
  readonly initial?: Driver.InitialValues | ReadonlyArray<Driver.InitialValues> | undefined
  /** Random initial coordinates are uniform(−initRadius, initRadius) on the unconstrained scale (default 2; 0 starts at 0). */
  readonly initRadius?: number | undefined
  /** Random starts tried per chain before `InitializationError` (default 100). */
  readonly initAttempts?: number | undefined
  /** How many chains `run` steps concurrently (default "unbounded"); results do not depend on it. */
  readonly concurrency?: number | "unbounded" | undefined
  /** The gradient source (`LogDensity`'s `gradient` option; default "auto"). */
  readonly gradient?: "auto" | "compiled" | "taped" | "finite-differences" | undefined
  /**
   * `"sumOut"` (default): discrete latent sites with finite support that are independent given
   * the continuous ones (a mixture's assignments) are summed out of the density NUTS moves on, and
   * each kept draw records a value for each, drawn from its exact conditional (see `LogDensity`'s
   * `discrete` option); other discrete sites are `DependentDiscreteError` or `DiscreteLatentError`.
   * `"error"`: any discrete latent site is `DiscreteLatentError`.
   */
  readonly discrete?: "sumOut" | "error" | undefined
  /**
   * `run` only: run the chains on this many Node worker threads (`"auto"`: one per core, at most
   * one per chain). The model must be named with `Workers.named` (a closure cannot cross threads);
   * the draws are bit-identical to the in-thread run's for the same seed. Starting two fresh
   * workers costs about 0.4 s here (module loading, cold JIT) on every run; with a
   * `Workers.Pool` in the context the run borrows the pool's warm workers instead (`workers: k`
   * uses k of them; without `workers`, every run of a named model goes to the pool).
   */
  readonly workers?: number | "auto" | undefined
  /**
   * Every `every` iterations of a chain, its state (draws so far, adaptation, stream) is saved
   * and the run's `Checkpoint` handed to `onCheckpoint` (structured-clonable: store it with
   * `v8.serialize`, post it to a worker). Needs a `seed`.
   */
  readonly checkpoint?: { readonly every: number; readonly onCheckpoint: (checkpoint: Checkpoint) => void } | undefined
  /** A checkpoint to resume from: the run goes on from each chain's saved state, to the same draws as a run that never stopped (same options and seed). */
  readonly resume?: Checkpoint | undefined
  /** Largest tape compiled into straight-line code (`LogDensity`'s option; default 1 500): raise it for a large model that runs many gradients. */
  readonly maxCompiledNodes?: number | undefined
}


/**
 * Samples the posterior of `model` with NUTS, synchronously.
 *
 * **Details**: chains run one after another. Throws `InvalidOptionsError` before any work;
 * `DiscreteLatentError`, `StructureChangedError` or `RandomnessInDensityError` when the model has
 * no fixed continuous density; `InitializationError` (with the chain and the sites, observations
 * or factors whose log probability or gradient is not finite) when a chain cannot start, or when no
 * step size works (an improper posterior). Divergences are never thrown: they are counted in
 * `Nuts.stats(post).divergences` and warned about in `stats.warnings`.
 *
 * @example
 * const post = Nuts.runUnsafe(eightSchools, { samples: 1000, warmup: 1000, chains: 4, seed: 1 })
 * Posterior.mean(post, "tau")
 * Nuts.stats(post).divergences // per chain
 *
 * @category constructors
 * @since 0.2.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Driver.Stats> => Driver.runUnsafe(NUTS, model, options)

/**
 * Samples the posterior of `model` with NUTS, as an Effect: chains stepped concurrently in time
 * slices (interruptible within a few milliseconds), progress through `Progress`, the model run
 * through the `Interpreter` layers in the context (e.g. `Interpreter.layerCondition`).
 *
 * **Details**: with a `seed`, the result equals `runUnsafe(model, options)` exactly, whatever
 * `concurrency`; without one, chain i uses the i-th split of the `Rng` service's stream, or a
 * fresh seed (recorded in `posterior.seed`). Errors as in `runUnsafe`, in the error channel.
 *
 * @example
 * const post = yield* Nuts.run(model, { samples: 1000, chains: 4 }).pipe(
 *   Effect.provide(Interpreter.layerCondition({ y: 2 }).pipe(Layer.provide(Interpreter.layerPrior))),
 *   Effect.provide(Progress.layerTerminal)
 * )
 *
 * @category constructors
 * @since 0.2.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Driver.Stats>, InferenceError> =>
  Driver.run(NUTS, model, options)

/**
 * The sampler statistics of a NUTS or HMC posterior, typed.
 *
 * @example
 * const { divergences, treeDepth, ebfmi, warnings } = Nuts.stats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const stats = (posterior: Posterior<unknown, Driver.Stats>): Driver.Stats => posterior.stats
