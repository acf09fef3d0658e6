/**
 * Copy-on-write traces. `fork(trace)` makes a new trace that shares every B-tree node of the
 * original's choice map (O(1)); a later write to either copy (`set`, `remove`) copies only
 * the nodes on the path to the written address (O(log n), about `height + 1` nodes) and
 * leaves every other copy unchanged. This is what single-site MH needs: propose by forking
 * the current trace and rewriting one choice, at a cost that does not grow with the model.
 * `set` and `remove` keep `logPrior` equal to the sum of the choices' log probabilities.
 * Choice objects (and any `Float64Array` values) are shared between forks, so treat them as
 * immutable: write a new choice instead of mutating one. `copy` makes a fully independent
 * trace (O(n)); `sharing` counts the nodes two traces share.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { describe } from "@fugue/core/Value"
import * as Choices from "@fugue/runtime/Choices"
import { type Choice, Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import { choiceProblem, text } from "./internal/validate.ts"

/**
 * A choice given to a trace write was malformed; names the field and the offending value:
 * `address` (not a string, or the choice's own address differs from the address written),
 * `choice` (not an object), `value` (not a number, boolean or Float64Array, or NaN) or
 * `logProb` (not a number, or NaN).
 *
 * @example
 * CowTrace.set(trace, "mu", { address: "mu", value: 1, logProb: "0" as any })
 * // throws InvalidChoiceError { address: "mu", field: "logProb", value: "0", reason: "must be a number, not NaN" }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidChoiceError extends Data.TaggedError("InvalidChoiceError")<{
  readonly address: unknown
  readonly field: "choice" | "address" | "value" | "logProb"
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    const what = `${text(this.field)} is ${describe(this.value)} (${text(this.reason)})`
    return `invalid choice at address ${describe(this.address)}: ${what}`
  }
}

/**
 * A new trace sharing all of `trace`'s structure; writes to either never show in the other.
 *
 * **Details**: O(1): the B-tree root is marked shared. The first write to either side copies
 * the root-to-leaf path it touches.
 *
 * @example
 * const proposal = CowTrace.fork(current)
 * CowTrace.set(proposal, "mu", { address: "mu", value: 0.3, logProb: -1.2 })
 *
 * @category constructors
 * @since 0.1.0
 */
export const fork = (trace: Trace): Trace => trace.clone()

/**
 * Makes `target` (for instance a trace from a `TracePool`) a fork of `source`: it shares
 * `source`'s structure and takes its weights. Returns `target`.
 *
 * @example
 * const proposal = CowTrace.forkInto(current, pool.acquireUnsafe())
 *
 * @category constructors
 * @since 0.1.0
 */
export const forkInto = (source: Trace, target: Trace): Trace => {
  target.choices = source.choices.clone()
  target.logPrior = source.logPrior
  target.logLikelihood = source.logLikelihood
  target.logFactors = source.logFactors
  return target
}

/**
 * A fully independent copy of `trace`: no B-tree node is shared (O(n)). Choice objects are
 * still shared, as they are immutable.
 *
 * @example
 * const snapshot = CowTrace.copy(trace)
 *
 * @category constructors
 * @since 0.1.0
 */
export const copy = (trace: Trace): Trace =>
  new Trace(trace.choices.greedyClone(true), trace.logPrior, trace.logLikelihood, trace.logFactors)

/**
 * The sum of the choices' log probabilities, recomputed from the choices (O(n)).
 *
 * @example
 * CowTrace.sumLogProbs(trace) // equals trace.logPrior up to rounding
 *
 * @category getters
 * @since 0.1.0
 */
export const sumLogProbs = (trace: Trace): number => {
  let total = 0
  trace.choices.forEachPair((_, choice) => {
    total += choice.logProb
  })
  return total
}

// logPrior - old + new, unless an infinity is involved: −∞ − (−∞) would be NaN, so then the
// sum is recomputed from the choices (O(n), only for traces with an impossible choice).
const replaceLogProb = (trace: Trace, previous: number, next: number): void => {
  const logPrior = trace.logPrior
  if (Number.isFinite(previous) && Number.isFinite(logPrior)) trace.logPrior = logPrior - previous + next
  else trace.logPrior = sumLogProbs(trace)
}

/**
 * Writes `choice` at `address` and updates `logPrior`; returns the choice it replaced, if any.
 * Other forks of the trace are unaffected.
 *
 * **Details**: `logPrior ← logPrior − old.logProb + choice.logProb` (or `+ choice.logProb`
 * for a new address); recomputed from all choices when an infinite log probability is
 * involved. Throws `InvalidChoiceError` (and writes nothing) when `address` is not a string,
 * `choice.address !== address`, the value is not a number, boolean or Float64Array (or is
 * NaN), or `logProb` is not a number (or is NaN). O(log n): rewriting an existing address copies the shared nodes on the path to
 * it (`height + 1` nodes); a new address may also split or rebalance a node on that path.
 *
 * @example
 * const previous = CowTrace.set(proposal, "mu", { address: "mu", value: 0.3, logProb: -1.2 })
 *
 * @category combinators
 * @since 0.1.0
 */
export const set = (trace: Trace, address: Address, choice: Choice): Choice | undefined => {
  const problem = choiceProblem(address, choice)
  if (problem !== undefined) throw new InvalidChoiceError({ address, ...problem })
  const logProb = choice.logProb
  const choices = trace.choices
  const previous = choices.get(address)
  if (previous === undefined) {
    choices.set(address, choice, true)
    trace.logPrior += logProb
  } else {
    // An in-place change copies exactly the shared root-to-leaf path; `set` on a full leaf
    // may also shift keys into (and so copy) a sibling.
    choices.changeIfPresent(address, choice)
    replaceLogProb(trace, previous.logProb, logProb)
  }
  return previous
}

/**
 * Removes the choice at `address` and subtracts its log probability from `logPrior`;
 * returns the removed choice, or undefined (and changes nothing) when there was none.
 *
 * @example
 * CowTrace.remove(proposal, addr("z", 3))
 *
 * @category combinators
 * @since 0.1.0
 */
export const remove = (trace: Trace, address: Address): Choice | undefined => {
  const choices = trace.choices
  const previous = choices.get(address)
  if (previous === undefined) return undefined
  choices.delete(address)
  replaceLogProb(trace, previous.logProb, 0)
  return previous
}

/**
 * How much B-tree structure `b` shares with `a`: the number of `b`'s nodes (`nodes`) and how
 * many of them are also nodes of `a` (`shared`); runtime's `Choices.sharing` on the traces.
 * O(nodes); a diagnostic, not for inner loops.
 *
 * @example
 * const f = CowTrace.fork(t); CowTrace.set(f, "x", choice)
 * CowTrace.sharing(t, f) // 10 000 choices: { nodes: 347, shared: 344 }, the 3 nodes on the path to "x" copied
 *
 * @category getters
 * @since 0.1.0
 */
export const sharing = (a: Trace, b: Trace): { readonly nodes: number; readonly shared: number } =>
  Choices.sharing(a.choices, b.choices)
