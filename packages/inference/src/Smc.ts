/**
 * Sequential Monte Carlo: a population of particles advanced through a model observation by
 * observation. Every `observe` and every `factor` is a barrier: all particles run to their
 * next barrier (drawing latent choices from the prior), are reweighted by its log
 * probability, and are resampled when the effective sample size falls below `threshold`·N,
 * optionally followed by MH rejuvenation sweeps. The result is a weighted `Posterior` with a
 * log-evidence estimate. Use it for models with many observations arriving in sequence (time
 * series, state-space models), where importance sampling's weights degenerate. A model made
 * by `unfold` (the model itself) is run by an engine whose cost is linear in its number of
 * steps: resampled particles share their completed steps instead of replaying them, and
 * rejuvenation moves only the last `rejuvenationLag` steps; any other model is run by the
 * general engine, which replays a resampled duplicate from the start (cost quadratic in the
 * number of barriers). For models with an explicit state, `filterUnsafe` / `filter` is a
 * bootstrap particle filter that resamples plain state values and records nothing: the
 * fastest path. Particle i draws from stream i of the run and the resampling from a stream of
 * its own, so `run` can advance the particles of a named model in batches on worker threads
 * (`workers`) with the in-thread numbers.
 *
 * @since 0.1.0
 */
import { unfoldSpec, type Model, type Program } from "@fugue/core/Model"
import type * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import * as Effect from "effect/Effect"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { essReport } from "./internal/essHistory.ts"
import { drive, now, type PoolUse, returningAll, streams, streamsUnsafe, transformFor, withPool, withPoolUnsafe } from "./internal/shell.ts"
import type { TracePoolShape } from "@fugue/memory/TracePool"
import { SmcEngine, type RebuildStrategy } from "./internal/smcEngine.ts"
import type { BarrierParticle, SmcPopulation } from "./internal/smcPopulation.ts"
import { UnfoldEngine } from "./internal/smcUnfold.ts"
import { StateFilter, type FilterSpec } from "./internal/stateFilter.ts"
import {
  checkKeys,
  COMMON_KEYS,
  type Common,
  inRange,
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
import { workerSetup } from "./internal/workerRun.ts"
import * as Workers from "./Workers.ts"
import { availableParallelism } from "node:os"

const ALGORITHM = "SMC"

/**
 * Options for `run` / `runUnsafe`.
 *
 * @example
 * const options: Smc.Options = { particles: 1000, threshold: 0.5, resampling: "systematic", seed: 1 }
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends Common {
  /** Number of particles N (≥ 1). */
  readonly particles: number
  /** Resample when ESS < threshold·N; 1 resamples at every step, 0 never (default 0.5). */
  readonly threshold?: number | undefined
  /** The resampling scheme (default "systematic"). */
  readonly resampling?: Resampling.Scheme | undefined
  /**
   * MH sweeps per particle after each resampling (default 0; not for the state-space filter):
   * single-site MH steps on the model cut at the current barrier, one sweep = as many steps as
   * the largest number of choices in the population (the same for every particle, so the move
   * leaves the intermediate target invariant), with random-walk scales 2.38 × the resampled
   * population's sd per continuous site (on the kernel's unconstrained scale). For a model made
   * by `unfold`, the moves are restricted to the choices of the last `rejuvenationLag` steps.
   */
  readonly rejuvenation?: number | undefined
  /**
   * Rejuvenation moves only recent choices (L ≥ 1). For a model made by `unfold`: the choices of
   * steps t − L + 1 … t, the particle's current step t and the L − 1 before it (default L = 5).
   * Each proposal re-runs those steps from the stored state they started from, so a move costs
   * O(L) whatever t; older choices are never moved again (a lag ≥ the number of steps moves them
   * all, at O(t) per move). A move that would make the current barrier fall in another step is
   * rejected. For any other model: after barrier k, the choices made after barrier k − L
   * (default: every choice); each proposal still replays the execution from the start, O(t), but
   * a sweep has O(L) steps instead of O(t), so a run costs O(N·L·T²) instead of O(N·T³).
   * Unused without `rejuvenation`.
   */
  readonly rejuvenationLag?: number | undefined
  /** Seed. Default: the `Rng` service's stream (`run`), else a fresh seed, recorded in `posterior.seed`. */
  readonly seed?: number | undefined
  /**
   * `run` only: advance the particles in this many contiguous batches on Node worker threads
   * (`"auto"`: one per core), as `Mh.run` runs chains: the model must be named with
   * `Workers.named`; a `transform`, `rejuvenation` and models made by `unfold` cannot cross.
   * Each step is a barrier: every worker advances its batch to its next observation, the
   * parent gathers the log weights, resamples, and sends particles whose ancestor is in another
   * batch as their tapes. The weights, draws and evidence are bit-identical to the in-thread
   * run's whatever the number of workers (the work counters `kept`, `rebuilds`,
   * `replayedInstructions` count what the workers did). It pays only for models whose step
   * costs far more than a round trip to the workers: see docs/performance.md; without
   * `workers` SMC runs in-thread, even with a `Workers.Pool` in the context.
   */
  readonly workers?: number | "auto" | undefined
  /**
   * For a model made by `unfold` (default `"auto"`): a step whose structure is fixed — a state
   * that is a number or a plain array or object of numbers, sample sites and observations of scalar continuous families (Normal, LogNormal,
   * Uniform, Exponential, Gamma, Beta, Cauchy, HalfCauchy, HalfNormal, StudentT, Laplace,
   * Weibull, ChiSquared, InverseGamma) with numeric observed values, arithmetic on the state and
   * site values written with `Ad`, no transformation or Interpreter layer, no rejuvenation — is recorded at each
   * step t (the step's model runs twice, on symbolic values) and advanced for all particles by
   * generated code, without running the model per particle: the same random streams and the
   * same arithmetic, so the same numbers bit for bit (`stats.vectorisedSteps` counts such
   * steps, `stats.notVectorised` says why the others were not; any other step runs the model
   * per particle, and from that step on the run stays interpreted). A step function or step model with side effects therefore runs them twice per
   * step (its two recordings), not once per particle. A step is recorded at two states with other
   * site values and runs vectorised only if both recordings agree, which finds arithmetic on
   * `Ad.primal(x)`; what it cannot detect: `===` / `typeof` on the state or a site value.
   * `"never"`: always run the step's model per particle.
   */
  readonly vectorise?: "auto" | "never" | undefined
}

/**
 * What a run did, in `posterior.stats` (read it with `Smc.stats`).
 *
 * @example
 * const { resamplings, ess, kept, rebuilds } = Smc.stats(post)
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  readonly particles: number
  /** Barrier steps taken (observations / factors per particle, at most). */
  readonly steps: number
  /** How many times the population was resampled. */
  readonly resamplings: number
  /** The steps (1-based) after which it was resampled. */
  readonly resampledAt: ReadonlyArray<number>
  /** The ESS after reweighting at each step, before any resampling. */
  readonly ess: ReadonlyArray<number>
  /** The running log-evidence estimate log Ẑ₁…ₜ after each step; the last is `logEvidence[0]`. */
  readonly logEvidenceHistory: ReadonlyArray<number>
  /** Barrier log weights that were NaN or +∞, counted as −∞ (never propagated). */
  readonly invalid: number
  /** Particles whose execution raised InvalidDistributionError: weight −∞ from then on, the run goes on. */
  readonly rejectedInvalid: number
  /** Which engine ran: "unfold" for a model made by `unfold` (linear in its steps), else "general". */
  readonly engine: "general" | "unfold"
  /** Unfold engine: steps run vectorised (recorded once per step, twice over, advanced for all particles by generated code: `vectorise`); 0 otherwise. */
  readonly vectorisedSteps: number
  /**
   * Why steps ran interpreted rather than vectorised, in a sentence naming the step and the site
   * or value at fault ("step 3: the site \"x\" is Bernoulli, not one of the scalar continuous
   * families …"); "" when every step ran vectorised; for the general engine, that the model is
   * not made by `unfold`.
   */
  readonly notVectorised: string
  /** Resampled particles that kept their ancestor's live generator (no replay). */
  readonly kept: number
  /**
   * Resampled copies that took their ancestor's completed step as their own, with no replay
   * (unfold engine: the ancestor finished the step without another draw or barrier; 0 otherwise).
   */
  readonly shared: number
  /**
   * Particles whose generator was rebuilt by replaying their trace to the barrier (unfold
   * engine: only the current step, or the rejuvenated window, is replayed).
   */
  readonly rebuilds: number
  /** Instructions stepped through by those replays. */
  readonly replayedInstructions: number
  /** MH rejuvenation: single-site proposals made and accepted. */
  readonly rejuvenationProposed: number
  readonly rejuvenationAccepted: number
  /** The 1-based steps where the ESS fell below 2: the population collapsed onto about one particle. */
  readonly collapsedAt: ReadonlyArray<number>
  /** A warning when the population collapsed at some step: the evidence then rests on one particle and is unreliable. */
  readonly warnings: ReadonlyArray<string>
  /**
   * The general engine, in-thread: how its particles' traces were borrowed from the run's
   * `TracePool` (the context's, else the run's own). Each particle records into a borrowed trace;
   * a particle with no descendant gives its trace to a resampled copy, or back to the pool, and
   * a moved particle's trace is reused for its rebuild. `hits + misses` traces borrowed,
   * `returned` all of them by the end (the posterior keeps columns, not traces). Undefined for the
   * unfold engine (its particles are columns of completed steps) and on workers.
   */
  readonly tracePool: PoolUse | undefined
}

/**
 * Statistics of the state-space filter, in `posterior.stats` (read them with `Smc.filterStats`).
 *
 * @example
 * const { filteringMeans, filteringSds } = Smc.filterStats(post)
 *
 * @category models
 * @since 0.1.0
 */
export interface FilterStats {
  readonly particles: number
  readonly steps: number
  readonly resamplings: number
  readonly resampledAt: ReadonlyArray<number>
  readonly ess: ReadonlyArray<number>
  /** The running log-evidence estimate log Ẑ₀…ₜ after each step; the last is `logEvidence[0]`. */
  readonly logEvidenceHistory: ReadonlyArray<number>
  readonly invalid: number
  /** E[state_t | y_0…y_t] per step, when states are numbers (empty otherwise). */
  readonly filteringMeans: ReadonlyArray<number>
  /** The matching standard deviations. */
  readonly filteringSds: ReadonlyArray<number>
  /** The 1-based steps where the ESS fell below 2. */
  readonly collapsedAt: ReadonlyArray<number>
  /** A warning when the population collapsed at some step (the evidence is then unreliable). */
  readonly warnings: ReadonlyArray<string>
}

/**
 * A state-space model and the filter's options, for `filterUnsafe` / `filter`.
 *
 * **Details**: step 0 draws x₀ from `initial`; step t = 1 … steps−1 draws xₜ from
 * `transition(xₜ₋₁, t)`. Particle weights get every observe / factor met while running those
 * models, plus `observation(xₜ, t)` (a log-likelihood, or a model whose observe / factor
 * statements are counted). `transition` (and `observation`) may also be generator functions of
 * (state, t) — `function* (x, t) { … }` — returning the started generator: the fastest form,
 * as it allocates no model closure per particle per step (about 10× faster per step in V8).
 * States are plain values and are shared between resampled copies, so
 * treat them as immutable. Addresses inside these small models are not recorded. Numeric states
 * appear in the posterior as sites `name#t` (genealogical paths; `name` defaults to "state").
 *
 * @example
 * const walk: Smc.FilterOptions<number> = {
 *   particles: 1000, steps: ys.length, seed: 1,
 *   initial: function* () { return yield* sample("x", Normal(0, 1)) },
 *   transition: function* (x) { return yield* sample("x", Normal(x, 0.5)) },
 *   observation: (x, t) => Normal(x, 1).logProb(ys[t])
 * }
 *
 * @category models
 * @since 0.1.0
 */
export interface FilterOptions<S> extends Omit<Options, "rejuvenation" | "rejuvenationLag"> {
  readonly steps: number
  readonly initial: Model<S>
  readonly transition: (state: S, t: number) => Model<S> | Program<S>
  readonly observation?: ((state: S, t: number) => number | Model<unknown> | Program<unknown>) | undefined
  readonly name?: string | undefined
}

interface Config {
  readonly particles: number
  readonly threshold: number
  readonly resampler: Resampling.Resampler
  readonly rejuvenation: number
  readonly rejuvenationLag: number | undefined
  readonly seed: number | undefined
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly workers: number | undefined
  readonly vectorise: "auto" | "never"
}

const invalid = (algorithm: string, option: string, value: unknown, reason: string): never => {
  throw new InvalidOptionsError({ algorithm, option, value, reason })
}

const KEYS = ["particles", "threshold", "resampling", "rejuvenation", "rejuvenationLag", "workers", "vectorise", ...COMMON_KEYS]
const FILTER_KEYS = ["particles", "threshold", "resampling", "steps", "initial", "transition", "observation", "name", ...COMMON_KEYS]

/** The default `rejuvenationLag`. */
const DEFAULT_LAG = 5

const validate = (options: Options, algorithm: string = ALGORITHM, keys: ReadonlyArray<string> = KEYS): Config => {
  checkKeys(algorithm, options, keys)
  const particles = positiveInteger(algorithm, "particles", options.particles)
  const threshold = options.threshold === undefined ? 0.5 : inRange(algorithm, "threshold", options.threshold, 0, 1)
  const scheme = options.resampling === undefined
    ? "systematic"
    : oneOf(algorithm, "resampling", options.resampling, Resampling.schemeNames)
  const rejuvenation = options.rejuvenation === undefined ? 0 : nonNegativeInteger(algorithm, "rejuvenation", options.rejuvenation)
  const rejuvenationLag = options.rejuvenationLag === undefined
    ? undefined
    : positiveInteger(algorithm, "rejuvenationLag", options.rejuvenationLag)
  const seed = seedOption(algorithm, options.seed)
  const transform = transformOption(algorithm, options.transform)
  const maxInstructions = maxInstructionsOption(algorithm, options.maxInstructions)
  let workers: number | undefined
  if (options.workers === "auto") workers = Math.max(1, Math.min(particles, availableParallelism()))
  else if (options.workers !== undefined) workers = Math.min(particles, positiveInteger(algorithm, "workers", options.workers))
  if (workers !== undefined && rejuvenation > 0) {
    invalid(algorithm, "workers", options.workers, "rejuvenation's moves need the whole population (its scales) at every resampling: run it in-thread, or drop rejuvenation")
  }
  const vectorise = options.vectorise === undefined ? "auto" : oneOf(algorithm, "vectorise", options.vectorise, ["auto", "never"] as const)
  return { particles, threshold, resampler: Resampling.get(scheme), rejuvenation, rejuvenationLag, seed, transform, maxInstructions, workers, vectorise }
}

const validateModel = (model: unknown, config: Config): void => {
  modelOption(ALGORITHM, model)
  if (config.workers !== undefined && unfoldSpec(model) !== undefined) {
    invalid(ALGORITHM, "workers", config.workers, "a model made by unfold runs on the unfold engine, whose resampled copies share their completed steps in one thread (on workers they would be replayed from the start): run it in-thread")
  }
}

/**
 * @internal Builds the general engine without running it, whatever the model (tests and
 * benchmarks step it themselves and may pick the naive rebuild strategy "all" for comparison;
 * `runUnsafe` takes the unfold engine for a model made by `unfold`).
 */
export const engineUnsafe = <A>(
  model: Model<A>,
  options: Options,
  rng?: CoreRng.Rng,
  rebuild: RebuildStrategy = "duplicates",
  transform?: Transform
): SmcEngine<A> => {
  const config = validate(options)
  validateModel(model, config)
  return new SmcEngine(model, rng ?? streamsUnsafe(config.seed, 1).rngs[0], { ...config, rebuild, transform: transform ?? config.transform, lag: config.rejuvenationLag })
}

type Engine<A> = SmcPopulation<A, BarrierParticle>

/** The unfold engine for a model made by `unfold`, else the general one. */
const engineOf = <A>(model: Model<A>, config: Config, rng: CoreRng.Rng, transform: Transform | undefined, pool: TracePoolShape): Engine<A> => {
  const spec = unfoldSpec(model)
  if (spec === undefined) return new SmcEngine(model, rng, { ...config, rebuild: "duplicates", transform, lag: config.rejuvenationLag, pool })
  const lag = config.rejuvenationLag ?? DEFAULT_LAG
  return new UnfoldEngine(model as Model<Array<unknown>>, spec, rng, { ...config, lag, transform, vectorise: config.vectorise === "auto" }) as unknown as Engine<A>
}

const engineStats = (engine: Engine<unknown>): Stats => {
  const report = essReport(ALGORITHM, engine.ess, engine.particles.length, "step")
  return {
  particles: engine.particles.length,
  steps: engine.steps,
  resamplings: engine.resamplings,
  resampledAt: engine.resampledAt,
  ess: engine.ess,
  logEvidenceHistory: engine.logEvidenceHistory,
  invalid: engine.invalid,
  rejectedInvalid: engine.rejectedInvalid,
  engine: engine instanceof UnfoldEngine ? "unfold" : "general",
  vectorisedSteps: engine instanceof UnfoldEngine ? engine.vectorisedSteps : 0,
  notVectorised: engine instanceof UnfoldEngine ? engine.notVectorised : "the model is not made by unfold",
  kept: engine.kept,
  shared: engine instanceof UnfoldEngine ? engine.shared : 0,
  rebuilds: engine.rebuilds,
  replayedInstructions: engine.replayedInstructions,
  rejuvenationProposed: engine.rejuvenationProposed,
  rejuvenationAccepted: engine.rejuvenationAccepted,
  collapsedAt: report.collapsedAt,
  warnings: report.warnings,
  tracePool: engine instanceof SmcEngine ? engine.tracePool() : undefined
  }
}

const finishEngine = <A>(engine: Engine<A>, seed: number | undefined): Posterior<A, Stats> =>
  engine.finish(() => engineStats(engine as Engine<unknown>), seed)

/**
 * Runs SMC on `model`, synchronously.
 *
 * **Details**: each step advances every particle to its next observe / factor and multiplies its
 * weight by that barrier's probability; with normalised weights w, ESS = 1/Σw², and when
 * ESS < threshold·N the particles are resampled (`resampling` scheme) and, with
 * `rejuvenation > 0`, moved by that many single-site MH sweeps (`Mh.kernelUnsafe`) targeting the
 * model cut at the particle's barrier. log Ẑ = Σₜ [lse(lwₜ) − lse(lwₜ₋₁)] over steps, with the log
 * weights lw restarting at 0 after each resampling (exact when resampling is skipped). A
 * resampled particle's first copy keeps the live generator; further copies are rebuilt by
 * replaying recorded values (nothing rescored). The model must be deterministic given its
 * choices. Particles record their choices, in execution order and unchecked, into traces borrowed
 * from a `TracePool` of the run's own (`stats.tracePool`), so a repeated address is reported at
 * a rejuvenation or at the end. NaN or +∞ barrier weights count as
 * −∞ (`stats.invalid`). Throws `InvalidOptionsError` before any work, `ZeroWeightError` naming
 * the step and address when every particle has weight −∞, and the model's typed errors.
 *
 * A model made by `unfold(name, steps, initial, step)` — the model itself, not one that calls
 * it — is run by the unfold engine (`stats.engine === "unfold"`): a particle is its current
 * step's paused execution plus a pointer to its completed steps, shared by all its resampled
 * copies; a copy replays at most its current step (`stats.rebuilds`), or nothing when its
 * ancestor finishes the step without another draw (`stats.shared`). The cost is linear in
 * `steps`, the posterior the same (sites `name#t/…`, returns the state arrays), and without
 * rejuvenation the numbers are those of the general engine for the same seed. Rejuvenation moves
 * only the choices of the last `rejuvenationLag` steps (see `Options`), in O(lag) per move. The
 * instruction limit applies to each step's execution.
 *
 * @example
 * const post = Smc.runUnsafe(randomWalk(ys), { particles: 1000, seed: 1 })
 * post.logEvidence![0]
 * Posterior.mean(post, "x#49")
 * Smc.stats(post).resamplings
 *
 * @category constructors
 * @since 0.1.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Stats> => {
  const config = validate(options)
  validateModel(model, config)
  if (config.workers !== undefined) {
    invalid(ALGORITHM, "workers", options.workers, "worker threads need the Effect form (run): runUnsafe runs in-thread")
  }
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  return withPoolUnsafe((pool) => {
    const engine = engineOf(model, config, rngs[0], config.transform, pool)
    while (engine.stepUnsafe()) {
      // each call is one step
    }
    return finishEngine(engine, seed)
  })
}

const runEffect = Effect.fn("Smc.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attemptInference(() => {
    const c = validate(options)
    validateModel(model, c)
    return c
  })
  const transform = yield* transformFor(config.transform)
  if (config.workers !== undefined) return yield* runOnWorkers(model, config, transform)
  const { rngs, seed } = yield* streams(config.seed, 1)
  return yield* withPool((pool) => steps(model, config, rngs[0], transform, pool, seed))
})

/** The in-thread Effect run on `pool`: the engine's traces all go back if it fails or is interrupted. */
const steps = (model: Model<unknown>, config: Config, rng: CoreRng.Rng, transform: Transform, pool: TracePoolShape, seed: number | undefined) =>
  Effect.gen(function*() {
    const engine = yield* attemptInference(() => engineOf(model, config, rng, transform, pool))
    const returnAll = () => {
      if (engine instanceof SmcEngine && !pool.closed) engine.returnAll()
    }
    return yield* returningAll(
      Effect.gen(function*() {
        yield* drive(
          (deadline) => {
            while (true) {
              if (!engine.stepUnsafe(deadline)) return true
              if (engine.midStep || now() > deadline) return false
            }
          },
          () => ({
            algorithm: ALGORITHM,
            chain: 0,
            done: engine.steps,
            total: engine.finished ? engine.steps : engine.steps + 1,
            phase: "filtering"
          })
        )
        return yield* attemptInference(() => finishEngine(engine, seed))
      }),
      returnAll
    )
  })

/** The parent side of an SMC run on workers: named model, fixed seed, the batches stepped in a session. */
const runOnWorkers = (model: Model<unknown>, config: Config, transform: Transform) =>
  Effect.gen(function*() {
    const { ref, seed } = yield* workerSetup(ALGORITHM, model, config.workers, config.seed, transform)
    const [Parallel, Batches] = yield* Effect.promise(() => Promise.all([import("./internal/chainWorkers.ts"), import("./internal/smcWorkers.ts")]))
    const pool = yield* Workers.poolFor(model, config.workers, config.seed, false)
    const workers = config.workers!
    const engine = yield* Parallel.withSession(ALGORITHM, workers, pool, (session) =>
      Batches.runBatches(model, ref, seed, { ...config, rebuild: "duplicates", transform: undefined, workers }, session))
    return yield* attemptInference(() => finishEngine(engine, seed))
  })

/**
 * Runs SMC on `model` as an Effect: interruptible every few milliseconds (time slices, also
 * between particles within a step), progress reported through `Progress` once per slice, the
 * model run through the `Interpreter` layers in the context.
 *
 * **Details**: the same algorithm as `runUnsafe`; with a `seed` the result equals
 * `runUnsafe(model, options)` exactly, and without one the stream comes from the `Rng` service
 * (a fresh seed, recorded in `posterior.seed`, when there is none; `Rng.withSeed(s)` gives the
 * same result as `seed: s`). The particles' traces are borrowed from the `TracePool` service when
 * the context has one (runs then reuse each other's traces), else from a pool of the run's own,
 * and all go back however the run ends. The
 * number of steps is not known in advance, so reports say `total = done + 1` until the last.
 *
 * @example
 * const post = yield* Smc.run(model, { particles: 1000 }).pipe(Rng.withSeed(3))
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Stats>, InferenceError> =>
  runEffect(model as Model<unknown>, options) as Effect.Effect<Posterior<A, Stats>, InferenceError>

/**
 * The statistics of an SMC posterior, typed.
 *
 * @example
 * const { resamplings, ess, rebuilds } = Smc.stats(post)
 *
 * @category getters
 * @since 0.1.0
 */
export const stats = (posterior: Posterior<unknown, Stats>): Stats => posterior.stats

/**
 * The statistics of a state-space filter posterior, typed.
 *
 * @example
 * Smc.filterStats(post).filteringMeans[49]
 *
 * @category getters
 * @since 0.1.0
 */
export const filterStats = (posterior: Posterior<unknown, FilterStats>): FilterStats => posterior.stats

const FILTER = "SMC.filter"

interface FilterSetup<S> {
  readonly config: Config
  readonly spec: FilterSpec<S>
}

/** Every filter option checked, once, before any work. */
const validateFilter = <S>(options: FilterOptions<S>): FilterSetup<S> => {
  if (typeof options === "object" && options !== null && (options as Options).rejuvenation !== undefined) {
    invalid(FILTER, "rejuvenation", (options as Options).rejuvenation, "is not supported by the state-space filter")
  }
  const config = validate(options as Options, FILTER, FILTER_KEYS)
  const steps = positiveInteger(FILTER, "steps", options.steps)
  if (typeof options.initial !== "function") invalid(FILTER, "initial", options.initial, "must be a model")
  if (typeof options.transition !== "function") invalid(FILTER, "transition", options.transition, "must be a function (state, t) => model")
  if (options.observation !== undefined && typeof options.observation !== "function") {
    invalid(FILTER, "observation", options.observation, "must be a function (state, t) => log-likelihood or model")
  }
  const name = options.name ?? "state"
  if (typeof name !== "string") invalid(FILTER, "name", name, "must be a string")
  return { config, spec: { steps, initial: options.initial, transition: options.transition, observation: options.observation, name } }
}

const filterOf = <S>(setup: FilterSetup<S>, rng: CoreRng.Rng, transform: Transform | undefined): StateFilter<S> =>
  new StateFilter<S>(setup.spec, { ...setup.config, transform }, rng)

const filterStatsOf = (f: StateFilter<unknown>): FilterStats => {
  const report = essReport(`${ALGORITHM}.filter`, f.ess, f.config.particles, "step")
  return {
    particles: f.config.particles,
    steps: f.t,
    resamplings: f.resamplings,
    resampledAt: f.resampledAt,
    ess: f.ess,
    logEvidenceHistory: f.logEvidenceHistory,
    invalid: f.invalid,
    filteringMeans: f.filteringMeans,
    filteringSds: f.filteringSds,
    collapsedAt: report.collapsedAt,
    warnings: report.warnings
  }
}

const finishFilter = <S>(f: StateFilter<S>, seed: number | undefined): Posterior<Array<S>, FilterStats> =>
  f.finish(filterStatsOf(f as StateFilter<unknown>), seed)

/**
 * A bootstrap particle filter for a state-space model with explicit state, synchronously.
 *
 * **Details**: see `FilterOptions` for the model. Weighting, resampling (when ESS < threshold·N)
 * and the log-evidence estimate are as in `runUnsafe`, but a resampled particle is just its
 * state value: no generator is replayed. Returns one weighted path (x₀ … x_T−1) per particle in
 * `returns[0]`, `logEvidence`, and in the stats the filtering means and sds per step (numeric
 * states). No rejuvenation. Throws `InvalidOptionsError` before any work and `ZeroWeightError`
 * when every particle has weight −∞ at a step.
 *
 * @example
 * const post = Smc.filterUnsafe({ particles: 1000, steps: 50, seed: 1, initial, transition, observation })
 * Smc.filterStats(post).filteringMeans // E[x_t | y_0..t]
 * post.logEvidence![0]
 *
 * @category constructors
 * @since 0.1.0
 */
export const filterUnsafe = <S>(options: FilterOptions<S>): Posterior<Array<S>, FilterStats> => {
  const setup = validateFilter(options)
  const { rngs, seed } = streamsUnsafe(setup.config.seed, 1)
  const f = filterOf(setup, rngs[0], setup.config.transform)
  while (!f.finished) f.stepUnsafe()
  return finishFilter(f, seed)
}

const filterEffect = Effect.fn("Smc.filter")(function*(options: FilterOptions<unknown>) {
  const setup = yield* attemptInference(() => validateFilter(options))
  const { rngs, seed } = yield* streams(setup.config.seed, 1)
  const transform = yield* transformFor(setup.config.transform)
  const f = yield* attemptInference(() => filterOf(setup, rngs[0], transform))
  yield* drive(
    (deadline) => {
      while (!f.finished) {
        f.stepUnsafe()
        if (now() > deadline) break
      }
      return f.finished
    },
    () => ({ algorithm: ALGORITHM, chain: 0, done: f.t, total: f.spec.steps, phase: "filtering" })
  )
  return finishFilter(f, seed)
})

/**
 * The bootstrap particle filter as an Effect: interruptible between steps (time slices of a
 * few milliseconds), progress reported through `Progress` once per slice.
 *
 * **Details**: the same filter as `filterUnsafe`; with a `seed` the results are identical,
 * without one the stream comes from the `Rng` service.
 *
 * @example
 * const post = yield* Smc.filter({ particles: 1000, steps: 50, initial, transition, observation }).pipe(Rng.withSeed(1))
 *
 * @category constructors
 * @since 0.1.0
 */
export const filter = <S>(options: FilterOptions<S>): Effect.Effect<Posterior<Array<S>, FilterStats>, InferenceError> =>
  filterEffect(options as FilterOptions<unknown>) as Effect.Effect<Posterior<Array<S>, FilterStats>, InferenceError>