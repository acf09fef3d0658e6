/**
 * The handler contract and the one driver loop. A handler gives meaning to the three
 * instructions a model yields (`sample`, `observe`, `factor`) and produces an output when the
 * model returns (`finish`). `run(handler, model)` is the only code that steps a model's
 * generator: an iterative loop, so a model of any length runs in constant stack.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Instruction, Model } from "@fugue/core/Model"
import { Data } from "effect"

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
 * model's return value with the handler's output. Synchronous, iterative, no recursion.
 *
 * @example
 * const [result, trace] = run(new PriorHandler(Rng.make(42)), linearRegression)
 *
 * @category handlers
 * @since 0.1.0
 */
export const run = <A, Out>(handler: Handler<Out>, model: Model<A>): [A, Out] => {
  const program = model()
  let step = program.next()
  while (step.done !== true) {
    const instruction: Instruction = step.value
    switch (instruction._tag) {
      case "Sample":
        step = program.next(handler.sample(instruction.address, instruction.dist))
        break
      case "Observe":
        handler.observe(instruction.address, instruction.dist, instruction.observed)
        step = program.next()
        break
      case "Factor":
        handler.factor(instruction.logWeight)
        step = program.next()
        break
    }
  }
  return [step.value, handler.finish()]
}
