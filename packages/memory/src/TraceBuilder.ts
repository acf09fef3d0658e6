/**
 * Builds a trace from choices without intermediate copies: for a trace assembled outside a
 * model run (deserialising, importing draws from another sampler, constructing test
 * fixtures, filling a pooled trace). Choices go straight into the target `Trace`'s own choice
 * buffer (`Trace.record`, the one every handler uses), so there is one buffer implementation.
 * While addresses arrive in strictly ascending order, an append past the first 32 costs one
 * comparison, and the first read of the built trace's `choices` loads the buffer into the
 * B-tree in one O(n) pass (sorted-btree's bulk load, nodes full). Choices in any other order
 * are buffered too (a reused address is found by a scan or a `Set`) and sorted once,
 * O(n log n), before the same load. Weights accumulate in the order choices are added,
 * exactly as `PriorHandler` accumulates them: `logPrior` += each choice's `logProb`,
 * `logLikelihood` += each observation's, `logFactors` += each factor. A repeated address
 * raises the runtime's `DuplicateAddressError` when it is added; a malformed choice
 * (`InvalidChoiceError`) or log weight (`InvalidLogWeightError`: not a number, or NaN) raises
 * a typed error naming the field and the value, and changes nothing. `build()` hands the
 * trace over: the builder cannot be used again (`BuilderConsumedError`).
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { describe } from "@fugue/core/Value"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { type Choice, type ChoiceValue, Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import { InvalidChoiceError } from "./CowTrace.ts"
import { choiceProblem, isLogWeight, text } from "./internal/validate.ts"

/**
 * A builder was used after `build()` handed its trace over.
 *
 * @example
 * const b = TraceBuilder.make(); b.build()
 * b.add("x", 1, 0) // throws BuilderConsumedError { operation: "add" }
 *
 * @category errors
 * @since 0.1.0
 */
export class BuilderConsumedError extends Data.TaggedError("BuilderConsumedError")<{ readonly operation: string }> {
  override get message(): string {
    return `TraceBuilder.${text(this.operation)}: the builder was already built; make a new one`
  }
}

/**
 * A log weight increment (an observation's log probability, a factor's log weight) was not a
 * number, or was NaN. Names the field and the value.
 *
 * @example
 * TraceBuilder.make().addLogLikelihood("1" as any) // throws InvalidLogWeightError { field: "logLikelihood", value: "1" }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidLogWeightError extends Data.TaggedError("InvalidLogWeightError")<{
  readonly field: "logLikelihood" | "logFactors"
  readonly value: unknown
}> {
  override get message(): string {
    return `${text(this.field)} increment is ${describe(this.value)}: a log weight must be a number, not NaN`
  }
}

/**
 * Appends choices and weights, then `build()`s the trace once.
 *
 * @example
 * const trace = TraceBuilder.make()
 *   .add("intercept", 0.4, -1.0)
 *   .add("slope", 1.9, -2.1)
 *   .addLogLikelihood(-3.5)
 *   .build()
 *
 * @category constructors
 * @since 0.1.0
 */
export class TraceBuilder {
  private consumed = false
  private readonly trace: Trace

  constructor(target: Trace = new Trace()) {
    this.trace = target
  }

  /** The number of choices added so far (plus any the target already held). */
  get size(): number {
    return this.trace.size
  }

  /** Appends the choice `{ address, value, logProb }`; `logPrior` += `logProb`. */
  add(address: Address, value: ChoiceValue, logProb: number): this {
    return this.addChoice({ address, value, logProb })
  }

  /** Appends `choice` (kept as given, not copied); `logPrior` += `choice.logProb`. */
  addChoice(choice: Choice): this {
    if (this.consumed) throw new BuilderConsumedError({ operation: "add" })
    const address = typeof choice === "object" && choice !== null ? choice.address : undefined
    const problem = choiceProblem(address, choice)
    if (problem !== undefined) throw new InvalidChoiceError({ address, ...problem })
    if (!this.trace.record(choice)) throw new DuplicateAddressError({ address: choice.address })
    this.trace.logPrior += choice.logProb
    return this
  }

  /** `logLikelihood` += `logProb` (an observation's log probability). */
  addLogLikelihood(logProb: number): this {
    if (this.consumed) throw new BuilderConsumedError({ operation: "addLogLikelihood" })
    if (!isLogWeight(logProb)) throw new InvalidLogWeightError({ field: "logLikelihood", value: logProb })
    this.trace.logLikelihood += logProb
    return this
  }

  /** `logFactors` += `logWeight` (a factor statement). */
  addLogFactor(logWeight: number): this {
    if (this.consumed) throw new BuilderConsumedError({ operation: "addLogFactor" })
    if (!isLogWeight(logWeight)) throw new InvalidLogWeightError({ field: "logFactors", value: logWeight })
    this.trace.logFactors += logWeight
    return this
  }

  /** The finished trace (its buffered choices load into the B-tree when first read); the builder is spent afterwards. */
  build(): Trace {
    if (this.consumed) throw new BuilderConsumedError({ operation: "build" })
    this.consumed = true
    return this.trace
  }
}

/**
 * A new builder, filling `target` (a new trace by default; for instance a cleared trace
 * from a `TracePool`). Weights add to the target's; choices must not collide with its own.
 *
 * @example
 * const builder = TraceBuilder.make(pool.acquireUnsafe())
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (target?: Trace): TraceBuilder => new TraceBuilder(target)

/**
 * A trace holding `choices` (in any order), with `logPrior` their summed log probabilities.
 * Throws `DuplicateAddressError` for a repeated address, `InvalidChoiceError` for a malformed
 * choice.
 *
 * @example
 * const trace = TraceBuilder.fromChoices([{ address: "mu", value: 0.1, logProb: -0.9 }])
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromChoices = (choices: Iterable<Choice>, target?: Trace): Trace => {
  const builder = new TraceBuilder(target)
  for (const choice of choices) builder.addChoice(choice)
  return builder.build()
}
