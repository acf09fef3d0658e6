/**
 * Approximate Bayesian computation: inference for simulator models, whose likelihood cannot be
 * evaluated but whose data can be simulated. A simulator is an ordinary model: its parameters
 * are `sample` sites drawn from the prior, and its simulated data is its return value (or, with
 * `data: "observe"`, the values it would draw at its `observe` sites, compared with the values
 * written there). A simulation is kept when the distance between its summary statistics and the
 * observed ones is within a tolerance ε, so the result approximates π(θ | d(s(x), s(y)) ≤ ε),
 * which approaches the posterior as ε → 0 when the summaries are sufficient. `rejection` is
 * rejection ABC (Pritchard et al. 1999; Beaumont, Zhang & Balding 2002): iid draws, simple and
 * exact at its ε, but wasteful for small ε. `smc` is ABC-SMC in its population Monte Carlo
 * form (Toni et al. 2009, J. R. Soc. Interface 6:187; Beaumont, Cornuet, Marin & Robert 2009,
 * Biometrika 96:983): a decreasing tolerance schedule, weighted particles moved by a Gaussian
 * kernel on the unconstrained scale with twice the population's covariance. Use it when the
 * tolerance you need accepts few prior simulations. Both borrow every simulation's trace from a
 * `TracePool` (`@fugue/memory`): the one in the context when there is one (an Effect run),
 * else a pool of the run's own, closed when the run ends; a rejected simulation's trace is the
 * next simulation's, and the stats report the pool's hit rate (`tracePool`).
 *
 * @since 0.2.0
 */
import type { Address } from "@fugue/core/Address"
import type { Model } from "@fugue/core/Model"
import type * as CoreRng from "@fugue/core/Rng"
import type { Selector, Transform } from "@fugue/runtime/Combinators"
import { identity } from "@fugue/runtime/Combinators"
import { attemptWith } from "@fugue/runtime/Interpreter"
import { has, type Selection } from "@fugue/runtime/Selection"
import * as Effect from "effect/Effect"
import { SimulationHandler } from "./internal/abcHandler.ts"
import { PmcSampler, type PmcOutcome } from "./internal/abcPmc.ts"
import { RejectionSampler, type RejectionOutcome } from "./internal/abcRejection.ts"
import * as Simulation from "./internal/abcSimulator.ts"
import { type InferenceError, isInferenceError } from "./internal/attempt.ts"
import type { TracePoolShape } from "@fugue/memory/TracePool"
import {
  drive,
  type PoolUse,
  returningAll,
  sideStream,
  streams,
  streamsUnsafe,
  transformFor,
  withPool,
  withPoolUnsafe,
  wrapHandler
} from "./internal/shell.ts"
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
  transformOption
} from "./Options.ts"
import type { Posterior } from "./Posterior.ts"

const REJECTION = "ABC"
const SMC = "ABC-SMC"

/**
 * A simulation could not be summarised or compared with the data: the simulated data (the
 * model's return value, or the observed data) is not something the summary takes, the summary
 * or distance threw or returned a non-number, or (ABC-SMC) the parameter sites changed from one
 * simulation to the next. `simulation` is the simulation's index (`undefined`: the observed
 * data), `value` what was found.
 *
 * @example
 * Abc.rejectionUnsafe(function* () { return "text" }, { observed: 1, simulations: 10, tolerance: 1 })
 * // throws SimulationError { algorithm: "ABC", simulation: 0, problem: "returned data the default summary cannot take …" }
 *
 * @category errors
 * @since 0.2.0
 */
export const SimulationError = Simulation.SimulationError
/**
 * The type of a `SimulationError`.
 *
 * @since 0.2.0
 */
export type SimulationError = Simulation.SimulationError

/**
 * The perturbation kernel of ABC-SMC's continuous sites: a Gaussian with twice the weighted
 * population covariance ("gaussian") or with its diagonal only ("diagonal").
 *
 * @example
 * const kernel: Abc.Kernel = "diagonal"
 *
 * @category models
 * @since 0.2.0
 */
export type Kernel = "gaussian" | "diagonal"

/**
 * Why an ABC-SMC run stopped: after `generations` generations, at the final `tolerance`, at
 * ε = 0 ("exact"), at a tolerance that could not decrease ("stalled"), or with a generation
 * abandoned for its acceptance rate ("acceptance") or the simulation budget ("budget").
 *
 * @example
 * if (Abc.smcStats(post).stopped === "budget") console.warn(Abc.smcStats(post).warnings)
 *
 * @category models
 * @since 0.2.0
 */
export type StopReason = "generations" | "tolerance" | "exact" | "stalled" | "acceptance" | "budget"

/**
 * The errors an ABC run can raise: those of every algorithm (invalid options, zero weight, the
 * model's typed errors) and `SimulationError`.
 *
 * @example
 * const run: Effect.Effect<Posterior<number[], Abc.RejectionStats>, Abc.AbcError> = Abc.rejection(model, options)
 *
 * @category errors
 * @since 0.2.0
 */
export type AbcError = InferenceError | SimulationError

const isAbcError = (u: unknown): u is AbcError => isInferenceError(u) || u instanceof Simulation.SimulationError
const attemptAbc: <A>(thunk: () => A) => Effect.Effect<A, AbcError> = attemptWith(isAbcError)

/**
 * The Euclidean distance √Σₖ(aₖ − bₖ)² between two summaries of the same length: the default
 * `distance`.
 *
 * @example
 * Abc.euclidean([1, 2], [4, 6]) // 5
 *
 * @category numerics
 * @since 0.2.0
 */
export const euclidean = (simulated: ArrayLike<number>, observed: ArrayLike<number>): number =>
  Simulation.euclidean(simulated, observed)

/**
 * What is compared, shared by `rejection` and `smc`: the observed data, the summary statistics
 * and the distance between summaries.
 *
 * **Details**: with `data: "return"` (the default) the simulated data is the model's return
 * value and `observed` is required; with `data: "observe"` it is the values the model would draw
 * at its `observe` sites (a Float64Array in visit order: numbers, booleans as 0/1, vectors
 * entry by entry) and the observed data the values written there (`observed` must be absent;
 * the model's data must be the same in every simulation). `summary` maps data to a number or an
 * array of numbers (default: the data itself, which must then be one); it is applied to the
 * observed data once and to every simulation. `distance` compares the simulated summary with
 * the observed one (default `euclidean`). With `data: "return"`, `observe` and `factor`
 * statements weight a simulation by exp(logLikelihood + logFactors), as in importance sampling
 * (a `guard` or a −∞ factor rejects it); with `data: "observe"` only factors do.
 *
 * @example
 * const compare: Abc.Comparison<Float64Array> = { observed: ys, summary: (y) => [mean(y), sd(y)] }
 *
 * @category models
 * @since 0.2.0
 */
export interface Comparison<D> extends Common {
  /** The real data, in the form the model returns (required with `data: "return"`). */
  readonly observed?: D | undefined
  /** Summary statistics of data (default: the data, a number or an array of numbers). */
  readonly summary?: ((data: D) => number | ArrayLike<number>) | undefined
  /** Distance between the simulated and the observed summary, ≥ 0 (default `euclidean`). */
  readonly distance?: ((simulated: ArrayLike<number>, observed: ArrayLike<number>) => number) | undefined
  /** Where the simulated data is: the model's return value (default) or its observe sites. */
  readonly data?: "return" | "observe" | undefined
}

/**
 * Options for `rejection` / `rejectionUnsafe`: exactly one of `tolerance` and `quantile`.
 *
 * @example
 * const options: Abc.RejectionOptions<Float64Array> = { observed: ys, summary: mean, simulations: 100_000, quantile: 0.01, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface RejectionOptions<D> extends Comparison<D> {
  /** Prior simulations N (≥ 1). */
  readonly simulations: number
  /** Keep the simulations at distance ≤ tolerance (≥ 0). */
  readonly tolerance?: number | undefined
  /** Keep the ⌈q·N⌉ simulations nearest the data, q in (0, 1] (ties at the cut included; fewer when fewer have a finite distance). */
  readonly quantile?: number | undefined
}

/**
 * How a run used its trace pool, in `stats.tracePool`: `hits + misses` traces borrowed (one
 * per simulation), `hitRate = hits / (hits + misses)` of them reused, `returned` given back
 * during the run (all of them: the posterior copies the values out and keeps no trace), and the
 * pool's `highWaterMark`, the most traces out at once (about the kept simulations + 1; with a
 * `TracePool` layer in the context, over that pool's whole life).
 *
 * **Details**: a simulation borrows a trace; a rejected one's goes back before the next
 * simulation borrows, so in rejection ABC with a tolerance every simulation after a rejected
 * one is a hit: `misses` = 1 + the kept simulations before the last one.
 *
 * @example
 * const { hits, misses, hitRate } = Abc.rejectionStats(post).tracePool
 *
 * @category models
 * @since 0.2.0
 */
export type TracePoolUse = PoolUse

/**
 * What a rejection run did, in `posterior.stats` (read it with `Abc.rejectionStats`).
 *
 * @example
 * const { tolerance, acceptanceRate, distances } = Abc.rejectionStats(post)
 *
 * @category models
 * @since 0.2.0
 */
export type RejectionStats = RejectionOutcome

/**
 * Options for `smc` / `smcUnsafe`.
 *
 * **Details**: generation 0 is `particles` prior simulations; each later generation t runs at
 * tolerance ε_t = the weighted `quantile`-quantile of generation t−1's distances (never below
 * `tolerance`) until `particles` are accepted. The run stops after `generations` generations
 * (default 10 without `tolerance`, unlimited with it), at `tolerance`, when ε reaches 0, or
 * when ε stalls (every particle at the same distance); a generation whose acceptance rate falls
 * below `minAcceptance`, or that exhausts `maxSimulations`, is abandoned and the previous one
 * returned, with a warning. `parameters` selects the sites the kernel perturbs (default: every
 * sample site); other sample sites are the simulator's noise, drawn afresh from their prior in
 * every simulation. Select the parameters when the simulator draws its noise with `sample`:
 * perturbing noise is correct but mixes far worse. The parameter sites must be the same in
 * every simulation.
 *
 * @example
 * const options: Abc.SmcOptions<Float64Array> = { observed: ys, summary: mean, particles: 1000, tolerance: 0.05, parameters: ["mu"], seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface SmcOptions<D> extends Comparison<D> {
  /** Particles N per generation (≥ 2). */
  readonly particles: number
  /** Generations after the prior one (≥ 1; default 10 without `tolerance`, else unlimited). */
  readonly generations?: number | undefined
  /** The final tolerance: stop after the generation run at it (≥ 0). */
  readonly tolerance?: number | undefined
  /** α in (0, 1): ε_t is the weighted α-quantile of the previous distances (default 0.5). */
  readonly quantile?: number | undefined
  /** Abandon a generation whose acceptance rate falls below this, in (0, 1] (default 0.01). */
  readonly minAcceptance?: number | undefined
  /** Budget of simulations in all (≥ particles; default unlimited). */
  readonly maxSimulations?: number | undefined
  /** The continuous kernel: full covariance ("gaussian", default) or its diagonal. */
  readonly kernel?: Kernel | undefined
  /** The probability p that the kernel redraws a discrete parameter from its conditional prior, else keeps it (default 0.2). */
  readonly redraw?: number | undefined
  /** The parameter sites the kernel perturbs: a predicate, a list or set of addresses, or a `Selection` (default: every sample site). */
  readonly parameters?: Selector | undefined
}

/**
 * What an ABC-SMC run did, in `posterior.stats` (read it with `Abc.smcStats`).
 *
 * @example
 * const { tolerances, ess, acceptanceRates, warnings } = Abc.smcStats(post)
 *
 * @category models
 * @since 0.2.0
 */
export type SmcStats = PmcOutcome

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const COMPARISON_KEYS = ["observed", "summary", "distance", "data", ...COMMON_KEYS]
const REJECTION_KEYS = ["simulations", "tolerance", "quantile", ...COMPARISON_KEYS]
const SMC_KEYS = ["particles", "generations", "tolerance", "quantile", "minAcceptance", "maxSimulations", "kernel", "redraw", "parameters", ...COMPARISON_KEYS]

const invalid = (algorithm: string, option: string, value: unknown, reason: string): never => {
  throw new InvalidOptionsError({ algorithm, option, value, reason })
}

/** A number between lower and upper, each end open or closed. */
const between = (algorithm: string, option: string, value: unknown, lower: number, upper: number, closedBelow: boolean, closedAbove: boolean): number => {
  if (
    typeof value !== "number" || !(closedBelow ? value >= lower : value > lower) || !(closedAbove ? value <= upper : value < upper)
  ) {
    invalid(algorithm, option, value, `must be a number in ${closedBelow ? "[" : "("}${lower}, ${upper}${closedAbove ? "]" : ")"}`)
  }
  return value as number
}

const toleranceOption = (algorithm: string, value: unknown, allowInfinity: boolean): number => {
  if (typeof value !== "number" || !(value >= 0) || (!allowInfinity && value === Infinity)) {
    invalid(algorithm, "tolerance", value, allowInfinity ? "must be a number >= 0" : "must be a finite number >= 0")
  }
  return value as number
}

const selectorOption = (algorithm: string, value: unknown): ((address: Address) => boolean) => {
  if (value === undefined) return () => true
  if (typeof value === "function") return value as (address: Address) => boolean
  if (Array.isArray(value)) {
    const set = new Set<Address>(value)
    return (address) => set.has(address)
  }
  if (value instanceof Set) return (address) => value.has(address)
  if (typeof value === "object" && value !== null && typeof (value as { _tag?: unknown })._tag === "string") {
    return (address) => has(value as Selection, address)
  }
  return invalid(algorithm, "parameters", value, "must be a predicate, a list or set of addresses, or a Selection")
}

interface Setup {
  readonly simulator: Simulation.SimulatorConfig
  /** The observed summary (data "return"), computed once here. */
  readonly observedSummary: ArrayLike<number> | undefined
  readonly seed: number | undefined
  readonly transform: Transform | undefined
}

const comparisonOf = (algorithm: string, model: unknown, options: Comparison<unknown>): Setup => {
  modelOption(algorithm, model)
  const data = options.data === undefined ? "return" : oneOf(algorithm, "data", options.data, ["return", "observe"])
  const observeMode = data === "observe"
  if (options.summary !== undefined && typeof options.summary !== "function") {
    invalid(algorithm, "summary", options.summary, "must be a function (data) => number | ArrayLike<number>")
  }
  if (options.distance !== undefined && typeof options.distance !== "function") {
    invalid(algorithm, "distance", options.distance, "must be a function (simulated, observed) => number")
  }
  const simulator: Simulation.SimulatorConfig = {
    algorithm,
    observeMode,
    summary: options.summary as Simulation.SummaryFn | undefined,
    distance: options.distance as Simulation.DistanceFn | undefined,
    maxInstructions: maxInstructionsOption(algorithm, options.maxInstructions)
  }
  let observedSummary: ArrayLike<number> | undefined
  if (observeMode) {
    if (options.observed !== undefined) {
      invalid(algorithm, "observed", options.observed, "must be absent with data: \"observe\" (the observed data are the model's observe values)")
    }
  } else {
    if (options.observed === undefined) invalid(algorithm, "observed", undefined, "is required: the real data, in the form the model returns")
    let raw: unknown = options.observed
    if (options.summary !== undefined) {
      try {
        raw = options.summary(options.observed)
      } catch (cause) {
        invalid(algorithm, "summary", cause, "threw on the observed data")
      }
    }
    observedSummary = Simulation.toSummary(raw)
    if (observedSummary === undefined) {
      if (options.summary === undefined) {
        invalid(algorithm, "observed", raw, "must be a number or an array of numbers for the default summary; else give a `summary`")
      }
      invalid(algorithm, "summary", raw, "must return a number or an array of numbers (it did not for the observed data)")
    }
    if (Simulation.hasNaN(observedSummary!)) invalid(algorithm, "observed", options.observed, "has a summary with NaN")
  }
  return {
    simulator,
    observedSummary,
    seed: seedOption(algorithm, options.seed),
    transform: transformOption(algorithm, options.transform)
  }
}

interface RejectionSetup extends Setup {
  readonly simulations: number
  readonly tolerance: number | undefined
  readonly quantile: number | undefined
}

const validateRejection = (model: unknown, options: RejectionOptions<unknown>): RejectionSetup => {
  checkKeys(REJECTION, options, REJECTION_KEYS)
  const simulations = positiveInteger(REJECTION, "simulations", options.simulations)
  const hasTolerance = options.tolerance !== undefined, hasQuantile = options.quantile !== undefined
  if (hasTolerance === hasQuantile) {
    invalid(REJECTION, hasTolerance ? "quantile" : "tolerance", hasTolerance ? options.quantile : undefined, "give exactly one of tolerance and quantile")
  }
  const tolerance = hasTolerance ? toleranceOption(REJECTION, options.tolerance, true) : undefined
  const quantile = hasQuantile ? between(REJECTION, "quantile", options.quantile, 0, 1, false, true) : undefined
  return { ...comparisonOf(REJECTION, model, options), simulations, tolerance, quantile }
}

interface SmcSetup extends Setup {
  readonly pmc: {
    readonly particles: number
    readonly generations: number
    readonly tolerance: number | undefined
    readonly minAcceptance: number
    readonly maxSimulations: number
    readonly quantile: number
    readonly kernel: Kernel
    readonly redraw: number
  }
  readonly isParameter: (address: Address) => boolean
}

const validateSmc = (model: unknown, options: SmcOptions<unknown>): SmcSetup => {
  checkKeys(SMC, options, SMC_KEYS)
  const particles = positiveInteger(SMC, "particles", options.particles)
  if (particles < 2) invalid(SMC, "particles", particles, "must be an integer >= 2 (the kernel needs a population)")
  const tolerance = options.tolerance === undefined ? undefined : toleranceOption(SMC, options.tolerance, false)
  const generations = options.generations === undefined
    ? (tolerance === undefined ? 10 : Infinity)
    : positiveInteger(SMC, "generations", options.generations)
  const quantile = options.quantile === undefined ? 0.5 : between(SMC, "quantile", options.quantile, 0, 1, false, false)
  const minAcceptance = options.minAcceptance === undefined ? 0.01 : between(SMC, "minAcceptance", options.minAcceptance, 0, 1, false, true)
  let maxSimulations = Infinity
  if (options.maxSimulations !== undefined) {
    maxSimulations = positiveInteger(SMC, "maxSimulations", options.maxSimulations)
    if (maxSimulations < particles) invalid(SMC, "maxSimulations", maxSimulations, `must be at least particles (${particles})`)
  }
  const kernel = options.kernel === undefined ? "gaussian" : oneOf(SMC, "kernel", options.kernel, ["gaussian", "diagonal"] as const)
  const redraw = options.redraw === undefined ? 0.2 : between(SMC, "redraw", options.redraw, 0, 1, true, true)
  const isParameter = selectorOption(SMC, options.parameters)
  return {
    ...comparisonOf(SMC, model, options),
    pmc: { particles, generations, tolerance, minAcceptance, maxSimulations, quantile, kernel, redraw },
    isParameter
  }
}

/** The simulator of a run: the simulation handler under the run's transformation, through one `Execution`. */
const simulatorOf = <A>(
  model: Model<A>,
  setup: Setup,
  rng: CoreRng.Rng,
  transform: Transform,
  isParameter: (address: Address) => boolean,
  pool: TracePoolShape
): Simulation.Simulator<A> => {
  const handler = new SimulationHandler(rng, isParameter, setup.simulator.observeMode)
  const wrapped = wrapHandler(setup.simulator.algorithm, transform, handler, transform === identity ? rng : sideStream(rng))
  return new Simulation.Simulator(model, setup.simulator, handler, wrapped, setup.observedSummary, pool)
}

/** Runs `work`, turning a SimulationError into "finished" and keeping it (the shell's error mapping knows only InferenceError). */
const keeping = (failure: { error: SimulationError | undefined }, work: () => boolean): boolean => {
  try {
    return work()
  } catch (error) {
    if (!(error instanceof Simulation.SimulationError)) throw error
    failure.error = error
    return true
  }
}

// ---------------------------------------------------------------------------------------------
// Rejection
// ---------------------------------------------------------------------------------------------

const rejectionSampler = <A>(model: Model<A>, setup: RejectionSetup, rng: CoreRng.Rng, transform: Transform, pool: TracePoolShape) =>
  new RejectionSampler(simulatorOf(model, setup, rng, transform, () => true, pool), setup)

/**
 * Rejection ABC, synchronously: `simulations` prior simulations, the ones within the tolerance
 * kept.
 *
 * **Details**: simulation i runs the model under the prior, summarises its data
 * (`Comparison`) and measures dᵢ = distance(s(xᵢ), s(y)); it is kept when dᵢ ≤ ε, with ε the
 * `tolerance` or, with `quantile` q, the ⌈q·N⌉-th smallest finite distance (every simulation at
 * distance ≤ ε is kept, ties included). The kept draws are iid from the ABC posterior
 * π(θ | d ≤ ε) (equally weighted, `weights` undefined, unless observe or factor statements
 * weight them). Simulations with a NaN summary or distance, or a NaN log weight, are rejected and
 * counted (`stats.invalid`), never output. Throws `InvalidOptionsError` before any work,
 * `SimulationError` for data the summary cannot take, `ZeroWeightError` (with the smallest
 * distance) when nothing is kept, and the model's typed errors.
 *
 * @example
 * const post = Abc.rejectionUnsafe(simulator, { observed: ys, summary: mean, simulations: 100_000, tolerance: 0.1, seed: 1 })
 * Posterior.mean(post, "mu")
 * Abc.rejectionStats(post).acceptanceRate
 *
 * @category constructors
 * @since 0.2.0
 */
export const rejectionUnsafe = <A, D = A>(model: Model<A>, options: RejectionOptions<D>): Posterior<A, RejectionStats> => {
  const setup = validateRejection(model, options as RejectionOptions<unknown>)
  const { rngs, seed } = streamsUnsafe(setup.seed, 1)
  return withPoolUnsafe((pool) => {
    const sampler = rejectionSampler(model, setup, rngs[0], setup.transform ?? identity, pool)
    sampler.draw(Infinity)
    return sampler.finish(REJECTION, seed)
  })
}

const rejectionEffect = Effect.fn("Abc.rejection")(function*(model: Model<unknown>, options: RejectionOptions<unknown>) {
  const setup = yield* attemptAbc(() => validateRejection(model, options))
  const { rngs, seed } = yield* streams(setup.seed, 1)
  const transform = yield* transformFor(setup.transform)
  return yield* withPool((pool) =>
    Effect.gen(function*() {
      // building the simulator starts the model's generator: its typed errors are failures
      const sampler = yield* attemptAbc(() => rejectionSampler(model, setup, rngs[0], transform, pool))
      const failure: { error: SimulationError | undefined } = { error: undefined }
      const run = Effect.gen(function*() {
        yield* drive(
          (deadline) => keeping(failure, () => sampler.draw(deadline)),
          () => ({ algorithm: REJECTION, chain: 0, done: sampler.done, total: setup.simulations, phase: "simulating" })
        )
        if (failure.error !== undefined) return yield* Effect.fail(failure.error)
        return yield* attemptAbc(() => sampler.finish(REJECTION, seed))
      })
      return yield* returningAll(run, () => sampler.returnAll())
    })
  )
})

/**
 * Rejection ABC as an Effect: interruptible every few milliseconds, progress (simulations done
 * of `simulations`) reported through `Progress`, the model run through the `Interpreter` layers
 * in the context.
 *
 * **Details**: the same sampler as `rejectionUnsafe`; with a `seed` the result equals
 * `rejectionUnsafe(model, options)` exactly, without one the stream comes from the `Rng` service
 * (`Rng.withSeed(s)` gives the same result as `seed: s`). Errors go to the error channel.
 *
 * @example
 * const post = yield* Abc.rejection(simulator, { observed: ys, summary: mean, simulations: 100_000, quantile: 0.01 }).pipe(Rng.withSeed(1))
 *
 * @category constructors
 * @since 0.2.0
 */
export const rejection = <A, D = A>(model: Model<A>, options: RejectionOptions<D>): Effect.Effect<Posterior<A, RejectionStats>, AbcError> =>
  rejectionEffect(model as Model<unknown>, options as RejectionOptions<unknown>) as Effect.Effect<Posterior<A, RejectionStats>, AbcError>

/**
 * The statistics of a rejection-ABC posterior, typed.
 *
 * @example
 * const { tolerance, accepted, smallestDistance } = Abc.rejectionStats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const rejectionStats = (posterior: Posterior<unknown, RejectionStats>): RejectionStats => posterior.stats

// ---------------------------------------------------------------------------------------------
// ABC-SMC
// ---------------------------------------------------------------------------------------------

const smcSampler = <A>(model: Model<A>, setup: SmcSetup, rng: CoreRng.Rng, transform: Transform, pool: TracePoolShape) => {
  const simulator = simulatorOf(model, setup, rng, transform, setup.isParameter, pool)
  return new PmcSampler(simulator, simulator.handler, setup.pmc)
}

/**
 * ABC-SMC (ABC population Monte Carlo), synchronously: a sequence of weighted populations at
 * decreasing tolerances.
 *
 * **Details**: generation 0 is N prior simulations (ε₀ = ∞). Generation t picks ε_t = the
 * weighted α-quantile of generation t−1's distances (α = `quantile`), then repeats until N are
 * accepted at d ≤ ε_t: draw j with probability w_j, perturb its parameters with the kernel K,
 * simulate. Each accepted θ* is weighted
 * w ∝ π(θ*) |dθ/du|(u*) exp(logLikelihood + logFactors) / Σ_j w_j K(u* | u_j)
 * (Beaumont et al. 2009; Toni et al. 2009), the weights normalised. K: continuous sites move by
 * u* = u_j + N(0, Σ) on the unconstrained scale u of their support (`@fugue/core/Bijection`:
 * log for positive values, logit for intervals, stick-breaking for simplices), with Σ twice the
 * weighted covariance of the previous population's u (its diagonal with `kernel: "diagonal"`);
 * π(θ*) includes the Jacobian |dθ/du|. Discrete sites are kept at θ_j's value with
 * probability 1 − p and redrawn from their conditional prior with probability p (`redraw`), a
 * kernel valid for any discrete support (booleans, categories, counts). The result is the last
 * complete generation: a weighted `Posterior` at tolerance `stats.tolerance`. Stopping rules,
 * warnings and errors: `SmcOptions`, `SmcStats`; `ZeroWeightError` when no prior simulation
 * has a valid distance, `SimulationError` when the parameter sites change between simulations.
 *
 * @example
 * const post = Abc.smcUnsafe(simulator, { observed: ys, summary: mean, particles: 1000, tolerance: 0.05, parameters: ["mu"], seed: 1 })
 * Posterior.mean(post, "mu")
 * Abc.smcStats(post).tolerances // [Infinity, 0.81, 0.39, …, 0.05]
 *
 * @category constructors
 * @since 0.2.0
 */
export const smcUnsafe = <A, D = A>(model: Model<A>, options: SmcOptions<D>): Posterior<A, SmcStats> => {
  const setup = validateSmc(model, options as SmcOptions<unknown>)
  const { rngs, seed } = streamsUnsafe(setup.seed, 1)
  return withPoolUnsafe((pool) => {
    const sampler = smcSampler(model, setup, rngs[0], setup.transform ?? identity, pool)
    sampler.step(Infinity)
    return sampler.finish(seed)
  })
}

const smcEffect = Effect.fn("Abc.smc")(function*(model: Model<unknown>, options: SmcOptions<unknown>) {
  const setup = yield* attemptAbc(() => validateSmc(model, options))
  const { rngs, seed } = yield* streams(setup.seed, 1)
  const transform = yield* transformFor(setup.transform)
  return yield* withPool((pool) =>
    Effect.gen(function*() {
      const sampler = yield* attemptAbc(() => smcSampler(model, setup, rngs[0], transform, pool))
      const failure: { error: SimulationError | undefined } = { error: undefined }
      const run = Effect.gen(function*() {
        yield* drive(
          (deadline) => keeping(failure, () => sampler.step(deadline)),
          () => ({
            algorithm: SMC,
            chain: 0,
            done: sampler.finished ? setup.pmc.particles : sampler.accepted,
            total: setup.pmc.particles,
            phase: `generation ${sampler.generation}`
          })
        )
        if (failure.error !== undefined) return yield* Effect.fail(failure.error)
        return yield* attemptAbc(() => sampler.finish(seed))
      })
      return yield* returningAll(run, () => sampler.returnAll())
    })
  )
})

/**
 * ABC-SMC as an Effect: interruptible every few milliseconds, progress (particles accepted of
 * `particles`, phase `generation t`) reported through `Progress`, the model run through the
 * `Interpreter` layers in the context.
 *
 * **Details**: the same algorithm as `smcUnsafe`; with a `seed` the result equals
 * `smcUnsafe(model, options)` exactly, without one the stream comes from the `Rng` service
 * (`Rng.withSeed(s)` gives the same result as `seed: s`). Errors go to the error channel.
 *
 * @example
 * const post = yield* Abc.smc(simulator, { observed: ys, summary: mean, particles: 1000, tolerance: 0.05 }).pipe(Rng.withSeed(1))
 *
 * @category constructors
 * @since 0.2.0
 */
export const smc = <A, D = A>(model: Model<A>, options: SmcOptions<D>): Effect.Effect<Posterior<A, SmcStats>, AbcError> =>
  smcEffect(model as Model<unknown>, options as SmcOptions<unknown>) as Effect.Effect<Posterior<A, SmcStats>, AbcError>

/**
 * The statistics of an ABC-SMC posterior, typed.
 *
 * @example
 * const { tolerances, ess, acceptanceRates, stopped, warnings } = Abc.smcStats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const smcStats = (posterior: Posterior<unknown, SmcStats>): SmcStats => posterior.stats
