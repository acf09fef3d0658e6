/**
 * The handler contract and the one driver loop. A handler gives meaning to the three
 * instructions a model yields (`sample`, `observe`, `factor`) and produces an output when the
 * model returns (`finish`). `run(handler, model)` runs a model to its end through the one
 * driver (`Execution`): an iterative loop, so a model of any length runs in constant stack.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import * as Data from "effect/Data"
import { runToEnd, type Options as ExecutionOptions } from "./Execution.ts"

/**
 * What a handler must do for each instruction.
 *
 * @example
 * class CountSites implements Handler<number> {
 *   n = 0
 *   sample<T>(_: string, d: Distribution<T>) { this.n++; return d.sample(rng) }
 *   observe() {} ; factor() {} ; finish() { return this.n }
 * }
 *
 * @category handlers
 * @since 0.1.0
 */
export interface Handler<Out> {
  /** The value of the random choice at `address`. */
  sample<T>(address: Address, dist: Distribution<T>): T
  /** Conditioning on `value` at `address`. */
  observe<T>(address: Address, dist: Distribution<T>, value: T): void
  /** An arbitrary log-weight. */
  factor(logWeight: number): void
  /** The handler's output once the model has returned. */
  finish(): Out
}

/**
 * A model used the same address for two random choices in one execution.
 *
 * @example
 * run(new PriorHandler(rng), function* () { yield* sample("x", d); yield* sample("x", d) })
 * // throws DuplicateAddressError { address: "x" }
 *
 * @category errors
 * @since 0.1.0
 */
export class DuplicateAddressError extends Data.TaggedError("DuplicateAddressError")<{ readonly address: Address }> {
  override get message(): string {
    return `address "${this.address}" was used twice in one execution`
  }
}

/**
 * Runs `model` under `handler`: every instruction goes to the handler, and the result is the
 * model's return value with the handler's output. Synchronous, iterative, no recursion; the
 * driver's guards apply (instruction limit, non-instructions, observed value types, error
 * context).
 *
 * @example
 * const [result, trace] = run(new PriorHandler(Rng.make(42)), linearRegression)
 *
 * @category handlers
 * @since 0.1.0
 */
export const run = <A, Out>(handler: Handler<Out>, model: Model<A>, options?: ExecutionOptions): [A, Out] =>
  runToEnd(handler, model, options)
