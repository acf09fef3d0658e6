/**
 * The one driver: a resumable execution of a model under a handler. It is the only code that
 * calls `next()` on a model's generator; `run`, the interpreters, MH, IS, SMC and the
 * state-space filter all step models through it. It can run a model to its end, run it to the
 * next barrier (an `observe` or `factor` seen by a handler that asks the execution to stop),
 * pause it when a time budget runs out and resume it later (so an Effect shell can offer
 * interruption points inside one long execution), and it owns the guards: an instruction limit
 * (`InstructionLimitError`), a typed error for a yielded non-instruction
 * (`NotAnInstructionError`), a typed error for an observed value of the wrong type
 * (`ObservationTypeError`), the scope stack behind `scope` / `plate` / `unfold`, and the
 * context (address, algorithm, chain, iteration) attached to every error raised inside a model.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { scoped } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import { isInstruction, type Instruction, type Model, type Program } from "@fugue/core/Model"
import { describe } from "@fugue/core/Value"
import * as Data from "effect/Data"
import type { Handler } from "./Handler.ts"

/**
 * The default instruction limit per execution.
 *
 * @example
 * new Execution(model, handler, { maxInstructions: 10 * DEFAULT_MAX_INSTRUCTIONS })
 *
 * @category constructors
 * @since 0.1.0
 */
export const DEFAULT_MAX_INSTRUCTIONS = 10_000_000

/**
 * Where an error happened: the address being executed (the last instruction the driver saw),
 * how many instructions had run, and, inside inference, the algorithm, chain and iteration.
 *
 * @example
 * const where: Execution.Where | undefined = Execution.whereOf(error) // { address: "y#3", algorithm: "MH", chain: 1, … }
 *
 * @category models
 * @since 0.1.0
 */
export interface Where {
  readonly address: Address | undefined
  readonly instructions: number
  readonly algorithm?: string | undefined
  readonly chain?: number | undefined
  readonly iteration?: number | undefined
}

/**
 * The mutable context an algorithm keeps up to date while it drives executions; the driver
 * copies it into `Where` when an error escapes a model.
 *
 * @example
 * const context: Execution.Context = { algorithm: "MH", chain: 0, iteration: 0 }
 *
 * @category models
 * @since 0.1.0
 */
export interface Context {
  algorithm?: string | undefined
  chain?: number | undefined
  iteration?: number | undefined
}

const describeWhere = (where: Where): string => {
  const parts: Array<string> = []
  if (where.algorithm !== undefined) parts.push(where.algorithm)
  if (where.chain !== undefined) parts.push(`chain ${where.chain}`)
  if (where.iteration !== undefined) parts.push(`iteration ${where.iteration}`)
  parts.push(where.address === undefined ? "before the first instruction" : `at address "${where.address}"`)
  return parts.join(", ")
}

/**
 * An execution ran more instructions than its limit: a model that never returns, or one far
 * larger than intended. Raise the limit with the `maxInstructions` option.
 *
 * @example
 * run(new PriorHandler(rng), function* () { while (true) yield* sample("x", Normal(0, 1)) }) // throws InstructionLimitError
 *
 * @category errors
 * @since 0.1.0
 */
export class InstructionLimitError extends Data.TaggedError("InstructionLimitError")<{
  readonly limit: number
  readonly address: Address | undefined
}> {
  override get message(): string {
    return `the model ran more than ${this.limit} instructions (last address ${
      this.address === undefined ? "none" : `"${this.address}"`
    }): it never returns, or raise the maxInstructions limit`
  }
}

/**
 * A model yielded something that is not an instruction: `yield 1`, or `yield` where `yield*`
 * was meant (`yield sample(…)` yields the instruction's iterator protocol by accident).
 *
 * @example
 * run(new PriorHandler(rng), function* () { yield 1 }) // throws NotAnInstructionError { value: 1 }
 *
 * @category errors
 * @since 0.1.0
 */
export class NotAnInstructionError extends Data.TaggedError("NotAnInstructionError")<{
  readonly value: unknown
  readonly address: Address | undefined
}> {
  override get message(): string {
    return `the model yielded ${describe(this.value)}, which is not an instruction (after address ${
      this.address === undefined ? "none" : `"${this.address}"`
    }); use yield* sample(…), yield* observe(…), yield* factor(…)`
  }
}

/**
 * An observed value does not have the type its distribution scores (a string or `undefined` at
 * a Normal, 0/1 at a Bernoulli, NaN in the data, a plain array at a Dirichlet).
 *
 * @example
 * run(handler, function* () { yield* observe("y", Normal(0, 1), "2" as any) }) // throws ObservationTypeError
 *
 * @category errors
 * @since 0.1.0
 */
export class ObservationTypeError extends Data.TaggedError("ObservationTypeError")<{
  readonly address: Address
  readonly family: string
  readonly expected: string
  readonly value: unknown
}> {
  override get message(): string {
    const several = Array.isArray(this.value) || (ArrayBuffer.isView(this.value) && !(this.value instanceof DataView))
    const hint = several && this.expected !== "vector" && this.expected !== "value"
      ? `; to observe several values at once, broadcast the family: an array parameter (${this.family}(means, …)) or iid(${this.family}(…), n)`
      : ""
    return `observe "${this.address}": ${this.family} scores ${this.expected} values, got ${describe(this.value)}${hint}`
  }
}

/**
 * What was run as a model is not one: a model is a generator function (`function* () { … }`)
 * whose call returns a generator; this one returned something else.
 *
 * @example
 * run(new PriorHandler(rng), (() => 1) as any) // throws InvalidModelError { value: 1 }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidModelError extends Data.TaggedError("InvalidModelError")<{ readonly value: unknown }> {
  override get message(): string {
    return `a model must be a generator function (function* () { … }); calling this one returned ${describe(this.value)}`
  }
}

/**
 * User code inside a model threw an exception that is not one of the library's typed errors;
 * `cause` is the exception, `where` says where it happened.
 *
 * @example
 * Mh.runUnsafe(function* () { throw new RangeError("boom") }, { samples: 10 }) // throws ModelCodeError
 *
 * @category errors
 * @since 0.1.0
 */
export class ModelCodeError extends Data.TaggedError("ModelCodeError")<{
  readonly cause: unknown
  readonly where: Where
}> {
  override get message(): string {
    return `the model threw ${describe(this.cause)} (${describeWhere(this.where)})`
  }
}

/**
 * Thrown by a handler to end an execution at once, unannotated (e.g. MH stops a proposal whose
 * weight became −∞ before more user code runs). The code that drives the execution catches it.
 *
 * @example
 * throw Execution.abort
 *
 * @category errors
 * @since 0.1.0
 */
export class ExecutionAbort {
  readonly _tag = "ExecutionAbort"
}

/**
 * The one `ExecutionAbort` value (it carries nothing, so it is shared).
 *
 * @example
 * observe(_a, dist, value) { if (dist.logProb(value) === -Infinity) throw Execution.abort }
 *
 * @category errors
 * @since 0.1.0
 */
export const abort: ExecutionAbort = new ExecutionAbort()

const WHERE = Symbol.for("@fugue/runtime/Execution/where")

/**
 * Where an error raised inside a model happened, when the driver annotated it.
 *
 * @example
 * try { Mh.runUnsafe(model, options) } catch (e) { console.log(Execution.whereOf(e)?.address) }
 *
 * @category getters
 * @since 0.1.0
 */
export const whereOf = (error: unknown): Where | undefined =>
  error instanceof ModelCodeError
    ? error.where
    : typeof error === "object" && error !== null
    ? ((error as Record<symbol, unknown>)[WHERE] as Where | undefined)
    : undefined

const isTypedError = (error: unknown): error is Error & { readonly _tag: string } =>
  error instanceof Error && typeof (error as { _tag?: unknown })._tag === "string"

/**
 * Attaches `where` to an error raised inside a model: a typed library error keeps its class
 * (its message gains the location, `whereOf` reads it); anything else becomes `ModelCodeError`.
 * An error already annotated is returned unchanged.
 */
const annotate = (error: unknown, where: Where): unknown => {
  if (error instanceof ExecutionAbort || error instanceof ModelCodeError) return error
  if (isTypedError(error)) {
    if ((error as unknown as Record<symbol, unknown>)[WHERE] !== undefined) return error
    let message: string
    try {
      message = error.message
    } catch {
      message = error._tag
    }
    try {
      Object.defineProperty(error, WHERE, { value: where, enumerable: false, configurable: true })
      Object.defineProperty(error, "message", { value: `${message} (${describeWhere(where)})`, enumerable: false, configurable: true })
    } catch {
      // a frozen error keeps its message
    }
    return error
  }
  return new ModelCodeError({ cause: error, where })
}

/**
 * How an execution ended its latest `resume`.
 *
 * @example
 * const status: Execution.Status = execution.resume() // "done" | "stopped" | "paused"
 *
 * @category models
 * @since 0.1.0
 */
export type Status = "done" | "stopped" | "paused"

/**
 * Options of an execution.
 *
 * @example
 * const options: Execution.Options = { maxInstructions: 1e6, context: { algorithm: "MH" } }
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Instruction limit (default `DEFAULT_MAX_INSTRUCTIONS`). */
  readonly maxInstructions?: number | undefined
  /** The algorithm's context, read when an error is annotated. */
  readonly context?: Context | undefined
}

const observationError = (address: Address, dist: Distribution<unknown>, value: unknown): ObservationTypeError =>
  new ObservationTypeError({ address, family: dist.family, expected: dist.kind, value })

/** How many instructions run between two looks at the clock when a deadline is set. */
const CLOCK_EVERY = 1024

const now: () => number = typeof performance !== "undefined" ? () => performance.now() : () => Date.now()

/**
 * A resumable execution of `model` under `handler`.
 *
 * **Details**: `resume()` steps the generator until the model returns (`"done"`), until a
 * handler called `stop()` (`"stopped"`, right after the instruction that asked: a barrier), or
 * until the clock passes `deadline` (`"paused"`, checked every 1024 instructions); `resume` can
 * be called again to continue. `runToEnd()` ignores `stop()` and has no deadline. The handler
 * sees scoped addresses (`scope("a", m)`: `"x"` inside is `"a/x"`). Every observed value is
 * checked with the distribution's `isValue` (and NaN rejected) before the handler sees it.
 *
 * @example
 * const execution = new Execution(model, handler)
 * while (execution.resume() === "stopped") reweight()
 * execution.result
 *
 * @category models
 * @since 0.1.0
 */
export class Execution<A, Out = unknown> {
  readonly handler: Handler<Out>
  readonly maxInstructions: number
  context: Context | undefined
  /** The generator being stepped. */
  private program: Program<A>
  private pending: IteratorResult<Instruction, A> | undefined
  /** Instructions stepped so far. */
  instructions = 0
  /** The last address the driver handed to a handler (scoped). */
  address: Address | undefined = undefined
  /** Barriers (stops honoured) so far. */
  barriers = 0
  done = false
  result: A | undefined = undefined
  /** Set by a handler (via `stop()` / `end()`) to end the current `resume` after this instruction. */
  stopRequested = false
  /** With `stopRequested`: end the execution there (`end()`), result undefined. */
  private ending = false
  private prefix = ""
  /** Enclosing prefixes of open scopes (allocated at the first scope). */
  private prefixes: Array<string> | undefined = undefined

  constructor(model: Model<A> | Program<A>, handler: Handler<Out>, options?: Options) {
    this.handler = handler
    this.maxInstructions = options?.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS
    this.context = options?.context
    this.program = undefined as unknown as Program<A>
    this.pending = undefined
    this.restart(model)
  }

  /**
   * Starts `model` afresh in this execution object (same handler, limit and context): lets a
   * loop that runs many executions (an MH chain) reuse one object.
   */
  restart(model: Model<A> | Program<A>): void {
    this.pending = undefined
    this.instructions = 0
    this.address = undefined
    this.barriers = 0
    this.done = false
    this.result = undefined
    this.stopRequested = false
    this.ending = false
    if (this.prefix !== "") {
      this.prefix = ""
      if (this.prefixes !== undefined) this.prefixes.length = 0
    }
    let program: Program<A>
    try {
      program = typeof model === "function" ? model() : model
    } catch (error) {
      this.done = true
      throw annotate(error, this.where())
    }
    if (program === null || typeof program !== "object" || typeof program.next !== "function") {
      this.done = true
      throw new InvalidModelError({ value: program })
    }
    this.program = program
  }

  /** Whether the model has returned, or will return at the next `resume` without another instruction. */
  get atEnd(): boolean {
    return this.done || (this.pending !== undefined && this.pending.done === true)
  }

  /**
   * `restart(model)` then `runToEnd()`, in one call (the per-execution path of loops that run
   * many small models: the state-space filter, importance sampling).
   */
  runFresh(model: Model<A> | Program<A>): A {
    this.restart(model)
    return this.runToEnd()
  }

  /** Asks the execution to end the current `resume` after the instruction being handled. */
  stop(): void {
    this.stopRequested = true
  }

  /**
   * Asks the execution to end for good after the instruction being handled, as if the model
   * had returned `undefined` there: a model cut at a barrier (SMC's intermediate targets).
   */
  end(): void {
    this.stopRequested = true
    this.ending = true
  }

  /** Where the execution is now (for error messages). */
  where(): Where {
    const c = this.context
    return {
      address: this.address,
      instructions: this.instructions,
      algorithm: c?.algorithm,
      chain: c?.chain,
      iteration: c?.iteration
    }
  }

  /** Runs the model to its end (ignoring `stop()` requests) and returns its result. */
  runToEnd(): A {
    while (this.drive(false, Infinity) !== "done") {
      // a stop request is ignored here
    }
    return this.result as A
  }

  /**
   * Steps until the model returns, a handler asks to stop, or the clock passes `deadline`
   * (milliseconds on `performance.now()`; default: none).
   */
  resume(deadline: number = Infinity): Status {
    return this.drive(true, deadline)
  }

  /** The loop: the only `next()` calls on a model's generator. Kept small (rare cases in methods) so V8 inlines the handler calls. */
  private drive(honourStop: boolean, deadline: number): Status {
    if (this.done) return "done"
    const program = this.program
    const handler = this.handler
    const limit = this.maxInstructions
    const timed = deadline < Infinity
    let step = this.pending
    let count = this.instructions
    // locals for the per-instruction state, written back on every exit (hot path)
    let address = this.address
    let prefix = this.prefix
    let instruction: Instruction | undefined = undefined
    try {
      if (step === undefined) step = program.next()
      while (step.done !== true) {
        if (++count > limit) throw new InstructionLimitError({ limit, address })
        instruction = step.value
        // a yielded undefined or null throws a TypeError here, turned into NotAnInstructionError below
        const tag = instruction._tag
        if (tag === "Sample") {
          address = prefix === "" ? instruction.address : scoped(prefix, instruction.address)
          step = program.next(handler.sample(address, (instruction as { dist: Distribution<unknown> }).dist))
        } else if (tag === "Observe") {
          address = prefix === "" ? instruction.address : scoped(prefix, instruction.address)
          const dist = (instruction as { dist: Distribution<unknown> }).dist
          const observed = (instruction as { observed: unknown }).observed
          // observed !== observed: NaN (any other value equals itself)
          if (observed !== observed || !dist.isValue(observed)) throw observationError(address, dist, observed)
          handler.observe(address, dist, observed)
          step = program.next()
        } else if (tag === "Factor") {
          handler.factor((instruction as { logWeight: number }).logWeight)
          step = program.next()
        } else {
          prefix = this.scopeInstruction(instruction, prefix, address)
          step = program.next()
        }
        if (this.stopRequested || (timed && (count & (CLOCK_EVERY - 1)) === 0 && now() > deadline)) {
          const status = this.interrupt(honourStop)
          if (status !== undefined) {
            this.pending = step
            this.instructions = count
            this.address = address
            this.prefix = prefix
            if (status === "done") {
              this.done = true
              this.result = undefined
            }
            return status
          }
        }
      }
    } catch (error) {
      this.instructions = count > limit ? limit : count
      this.address = address
      this.prefix = prefix
      this.done = true
      // a yielded undefined / null (a TypeError at `_tag`) or a look-alike object that broke a handler
      if (step !== undefined && step.done !== true && step.value === instruction && error instanceof TypeError && !isInstruction(instruction)) {
        throw annotate(new NotAnInstructionError({ value: instruction, address }), this.where())
      }
      throw annotate(error, this.where())
    }
    this.instructions = count
    this.address = address
    this.prefix = prefix
    this.pending = step
    this.done = true
    this.result = step.value
    return "done"
  }

  /** ScopeEnter / ScopeExit (the new prefix), or a typed error for anything else a model yielded. */
  private scopeInstruction(instruction: Instruction, prefix: string, address: Address | undefined): string {
    const tag = instruction === null || instruction === undefined ? undefined : instruction._tag
    if (tag === "ScopeEnter") {
      ;(this.prefixes ??= []).push(prefix)
      return prefix === "" ? instruction.address : scoped(prefix, instruction.address)
    }
    if (tag === "ScopeExit") return this.prefixes?.pop() ?? ""
    throw new NotAnInstructionError({ value: instruction, address })
  }

  /** After a stop request or a passed deadline: the status to return, or undefined to go on. */
  private interrupt(honourStop: boolean): Status | undefined {
    if (this.stopRequested) {
      this.stopRequested = false
      if (this.ending) {
        this.ending = false
        return "done"
      }
      if (honourStop) {
        this.barriers++
        return "stopped"
      }
      return undefined
    }
    return "paused"
  }
}

/**
 * Runs `model` under `handler` to its end through the driver: the model's return value with the
 * handler's output.
 *
 * @example
 * const [result, trace] = Execution.runToEnd(new PriorHandler(Rng.make(42)), model)
 *
 * @category models
 * @since 0.1.0
 */
export const runToEnd = <A, Out>(handler: Handler<Out>, model: Model<A> | Program<A>, options?: Options): [A, Out] => {
  const execution = new Execution(model, handler, options)
  const result = execution.runToEnd()
  try {
    return [result, handler.finish()]
  } catch (error) {
    throw annotate(error, execution.where())
  }
}
