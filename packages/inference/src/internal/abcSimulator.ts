// One ABC simulation, shared by rejection ABC and ABC-SMC (Abc.ts): run the simulator model
// once through the one driver (`Execution`) under the simulation handler (abcHandler.ts) and
// the run's handler transformation, summarise the simulated data (the model's return value,
// or its simulated observations), and measure the distance to the observed summary.
//
// What can go wrong, and where it goes:
//   the model raises InvalidDistributionError      rejected, counted (`rejectedInvalid`)
//   a −∞ prior, observation or factor (abort)       rejected, counted (`impossible`)
//   a NaN or +∞ log weight, a NaN in the summary,   rejected, counted (`invalid`); never in
//   a NaN or negative distance                      the output
//   data the summary cannot take, a summary or      SimulationError naming the simulation
//   distance that throws or returns a non-number,   and the value (a bug in the simulator
//   summaries of different lengths (Euclidean)      or in the summary, not bad luck)
//   anything else the model raises                  propagates (the model's typed errors)
//
// Traces: every simulation records into a trace borrowed from the run's `TracePool`
// (@fugue/memory). The simulator holds the last one until the next simulation, which returns
// it to the pool, unless the sampler has taken it (`take`: an accepted simulation); the
// sampler returns what it took once it is no longer needed (pruned, superseded, or recorded
// into the posterior, which copies the values out and keeps no trace). So a run borrows about
// one trace per kept simulation, and a rejected simulation's trace is the next one's.
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import { describe } from "@fugue/core/Value"
import { Execution, ExecutionAbort } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import type { TracePoolShape } from "@fugue/memory/TracePool"
import type { Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import type { SimulationHandler } from "./abcHandler.ts"

/**
 * A simulation could not be summarised or compared with the data: the simulated data (the
 * model's return value, or the observed data) is not something the summary takes, or the
 * summary or distance threw or returned a non-number, or (ABC-SMC) the parameter sites changed
 * from one simulation to the next. `simulation` is the simulation's index (`undefined`: the
 * observed data), `value` what was found.
 *
 * @example
 * Abc.rejectionUnsafe(function* () { return "text" }, { observed: 1, simulations: 10, tolerance: 1 })
 * // throws SimulationError { algorithm: "ABC", simulation: 0, problem: "returned data the default summary cannot take …" }
 *
 * @category errors
 * @since 0.2.0
 */
export class SimulationError extends Data.TaggedError("SimulationError")<{
  readonly algorithm: string
  readonly simulation: number | undefined
  readonly problem: string
  readonly value: unknown
}> {
  override get message(): string {
    const where = this.simulation === undefined ? "the observed data" : `simulation ${this.simulation}`
    return `${this.algorithm}: ${where} ${this.problem} (got ${describe(this.value)})`
  }
}

/** A parameter site of ABC-SMC that does not fit generation 0's layout. */
export const structureError = (simulation: number, address: string, problem: string): SimulationError =>
  new SimulationError({
    algorithm: "ABC-SMC",
    simulation,
    problem: `met parameter site "${address}", which ${problem}; ABC-SMC perturbs a fixed set of parameter sites (select them with \`parameters\`)`,
    value: address
  })

/** Outcomes of one simulation. */
export const ACCEPTABLE = 0, INVALID = 1, IMPOSSIBLE = 2, REJECTED_INVALID = 3

/** A summary as numbers, or undefined when `value` is not a number or an array (typed or plain) of numbers. */
export const toSummary = (value: unknown): ArrayLike<number> | undefined => {
  if (typeof value === "number") return [value]
  if (Array.isArray(value)) {
    for (let k = 0; k < value.length; k++) if (typeof value[k] !== "number") return undefined
    return value as Array<number>
  }
  if (
    ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) &&
    !(value instanceof BigUint64Array)
  ) return value as unknown as ArrayLike<number>
  return undefined
}

export const hasNaN = (s: ArrayLike<number>): boolean => {
  for (let k = 0; k < s.length; k++) if (s[k] !== s[k]) return true
  return false
}

/**
 * The Euclidean distance √Σ(aₖ − bₖ)² between two summaries of the same length (the default
 * distance).
 */
export const euclidean = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let k = 0; k < a.length; k++) {
    const d = a[k] - b[k]
    s += d * d
  }
  return Math.sqrt(s)
}

export type SummaryFn = (data: unknown) => unknown
export type DistanceFn = (simulated: ArrayLike<number>, observed: ArrayLike<number>) => unknown

export interface SimulatorConfig {
  readonly algorithm: string
  readonly observeMode: boolean
  readonly summary: SummaryFn | undefined
  readonly distance: DistanceFn | undefined
  readonly maxInstructions: number | undefined
}

/**
 * Summarises data; `simulation` undefined for the observed data. Returns undefined when the
 * summary holds a NaN (the simulation is rejected and counted); throws SimulationError when it
 * cannot be summarised.
 */
export const summarise = (
  config: SimulatorConfig,
  data: unknown,
  simulation: number | undefined
): ArrayLike<number> | undefined => {
  const fail = (problem: string, value: unknown): never => {
    throw new SimulationError({ algorithm: config.algorithm, simulation, problem, value })
  }
  let raw: unknown = data
  if (config.summary !== undefined) {
    try {
      raw = config.summary(data)
    } catch (cause) {
      fail("made the summary throw", cause)
    }
  }
  const s = toSummary(raw)
  if (s === undefined) {
    return config.summary === undefined
      ? fail(
        `${config.observeMode ? "has" : "returned"} data the default summary cannot take (it takes a number or an array of numbers); give a \`summary\``,
        raw
      )
      : fail("has a summary that is not a number or an array of numbers", raw)
  }
  return hasNaN(s) ? undefined : s
}

/** Runs simulations and measures their distances; the outputs of the last `simulate` are its fields. */
export class Simulator<A> {
  readonly model: Model<A>
  readonly config: SimulatorConfig
  readonly handler: SimulationHandler
  /** Where the simulations' traces come from (the run's pool). */
  readonly pool: TracePoolShape
  readonly context = { algorithm: "", chain: undefined, iteration: 0 as number | undefined }
  private readonly execution: Execution<A, Trace>
  /** The observed summary: given (data "return"), or taken at the first complete simulation (data "observe"). */
  observedSummary: ArrayLike<number> | undefined
  simulations = 0
  invalid = 0
  impossible = 0
  rejectedInvalid = 0
  /** The smallest valid distance so far. */
  smallest = Infinity
  // the last simulation; `held`: its trace is still the simulator's (not taken by the sampler)
  trace: Trace
  private held = false
  result: A | undefined = undefined
  logWeight = 0
  distance = Number.NaN
  constructor(model: Model<A>, config: SimulatorConfig, handler: SimulationHandler, wrapped: Handler<Trace>, observedSummary: ArrayLike<number> | undefined, pool: TracePoolShape) {
    this.model = model
    this.config = config
    this.handler = handler
    this.pool = pool
    this.trace = handler.trace
    this.context.algorithm = config.algorithm
    this.observedSummary = observedSummary
    this.execution = new Execution(model, wrapped, { context: this.context, maxInstructions: config.maxInstructions })
  }
  /** One simulation (the `simulations`-th); returns ACCEPTABLE (its distance is in `distance`) or why it was rejected. */
  simulate(): number {
    const i = this.simulations++
    const handler = this.handler
    this.context.iteration = i
    handler.simulation = i
    if (this.held) this.pool.releaseUnsafe(this.trace)
    const trace = this.pool.acquireUnsafe()
    this.held = true
    handler.reset(trace)
    this.trace = trace
    this.result = undefined
    this.distance = Number.NaN
    const collect = this.config.observeMode && this.observedSummary === undefined
    if (collect) {
      handler.collectObserved = true
      handler.observed = []
    }
    let result: A
    try {
      result = this.execution.runFresh(this.model)
      handler.finish()
    } catch (error) {
      if (error instanceof ExecutionAbort) {
        this.impossible++
        return IMPOSSIBLE
      }
      if (error instanceof InvalidDistributionError) {
        this.rejectedInvalid++
        return REJECTED_INVALID
      }
      throw error
    }
    this.result = result
    if (collect) {
      handler.collectObserved = false
      const observed = summarise(this.config, Float64Array.from(handler.observed), undefined)
      if (observed === undefined) {
        throw new SimulationError({ algorithm: this.config.algorithm, simulation: undefined, problem: "has a summary with NaN", value: handler.observed })
      }
      this.observedSummary = observed
    }
    const logWeight = trace.logLikelihood + trace.logFactors
    this.logWeight = logWeight
    if (logWeight === -Infinity) {
      this.impossible++
      return IMPOSSIBLE
    }
    if (!(logWeight < Infinity)) {
      this.invalid++
      return INVALID
    }
    const s = summarise(this.config, this.config.observeMode ? Float64Array.from(handler.simulated) : result, i)
    if (s === undefined) {
      this.invalid++
      return INVALID
    }
    const d = this.measure(s, i)
    if (!(d >= 0)) {
      this.invalid++
      return INVALID
    }
    this.distance = d
    if (d < this.smallest) this.smallest = d
    return ACCEPTABLE
  }
  /** Takes the last simulation's trace from the simulator: the caller returns it to `pool` (`give`) when done with it. */
  take(): Trace {
    this.held = false
    return this.trace
  }
  /** Returns a trace the sampler took (or, `trace` omitted, the one the simulator holds) to the pool, unless it is already back. */
  give(trace?: Trace): void {
    if (trace === undefined) {
      if (!this.held) return
      this.held = false
      trace = this.trace
    }
    if (this.pool.isOutstanding(trace)) this.pool.releaseUnsafe(trace)
  }
  private measure(s: ArrayLike<number>, i: number): number {
    const observed = this.observedSummary!
    const { algorithm, distance } = this.config
    if (distance === undefined) {
      if (s.length !== observed.length) {
        throw new SimulationError({
          algorithm,
          simulation: i,
          problem: `has a summary of length ${s.length}, the observed summary has length ${observed.length} (the Euclidean distance needs equal lengths)`,
          value: s
        })
      }
      return euclidean(s, observed)
    }
    let d: unknown
    try {
      d = distance(s, observed)
    } catch (cause) {
      throw new SimulationError({ algorithm, simulation: i, problem: "made the distance throw", value: cause })
    }
    if (typeof d !== "number") throw new SimulationError({ algorithm, simulation: i, problem: "has a distance that is not a number", value: d })
    return d
  }
}
