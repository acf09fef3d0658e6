/**
 * A trace records what one execution of a model did: every random choice (address, value,
 * log probability) in a `sorted-btree` map keyed by address, and the accumulated
 * `logPrior` (latent choices), `logLikelihood` (observations) and `logFactors` (factor
 * statements). Iteration is in address order, and `clone()` is copy-on-write (the B-tree
 * shares nodes until one side writes), which is what MH proposals and `CowTrace` need.
 * Accessors come in two forms: `get…` returns undefined when the address is missing or has
 * another type; `get…OrThrow` throws a typed error naming the address.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { describe } from "@fugue/core/Value"
import * as Data from "effect/Data"
import { type Choices, compareAddresses, empty } from "./Choices.ts"
import { DuplicateAddressError } from "./Handler.ts"
import { loadSortedUnsafe } from "./internal/btree.ts"

export { compareAddresses } from "./Choices.ts"
export type { Choices } from "./Choices.ts"

/**
 * The value of one random choice.
 *
 * @category models
 * @since 0.1.0
 */
export type ChoiceValue = number | boolean | Float64Array

/**
 * One random choice: where it was made, what was drawn, and its log probability under the
 * distribution at that site.
 *
 * @category models
 * @since 0.1.0
 */
export interface Choice<T extends ChoiceValue = ChoiceValue> {
  readonly address: Address
  readonly value: T
  readonly logProb: number
}

/**
 * An empty choice map (same as `Choices.empty()`).
 *
 * @example
 * const cs = Trace.emptyChoices()
 *
 * @category constructors
 * @since 0.1.0
 */
export const emptyChoices = (): Choices => empty()

// Above this many buffered addresses, duplicates are looked up in a Set instead of scanned.
const INDEX_AT = 32

const byAddress = (a: Choice, b: Choice): number => compareAddresses(a.address, b.address)

/**
 * The record of one execution.
 *
 * **Details**: handlers (and `TraceBuilder`, which shares this buffer) add choices with
 * `record`, which appends to a buffer instead of inserting into the B-tree one key at a time,
 * checking for a reused address: by a scan while the buffer is short (below 32 entries); in a
 * longer buffer, by one comparison with the last address while addresses arrive in strictly
 * ascending order, and by a `Set` after the first one out of order. The first read of
 * `choices` sorts the buffer (unless it is known to be ascending) and loads it: into an empty
 * tree as one leaf that keeps the buffer array itself (≤ 32 choices, sorted-btree's node size)
 * or by sorted-btree's O(n) bulk load (nodes full, as in-order inserts would leave them); into a
 * non-empty tree one insert at a time. Reading and writing `choices` directly is always valid.
 *
 * @example
 * const [result, trace] = run(new PriorHandler(Rng.make(1)), model)
 * trace.totalLogWeight // logPrior + logLikelihood + logFactors
 *
 * @category models
 * @since 0.1.0
 */
export class Trace {
  private tree: Choices
  private pending: Array<Choice>
  // Set only once the buffer holds INDEX_AT or more entries out of order; while it is undefined
  // a buffer of INDEX_AT or more entries is strictly ascending.
  private pendingIndex: Set<Address> | undefined
  // Whether the buffer holds choices added by `append` / `assign`, whose addresses nobody has
  // checked yet: the next `record` indexes the buffer, the next load into the tree checks it.
  private unchecked: boolean
  logPrior: number
  logLikelihood: number
  logFactors: number
  constructor(choices: Choices = empty(), logPrior = 0, logLikelihood = 0, logFactors = 0) {
    this.tree = choices
    this.pending = []
    this.pendingIndex = undefined
    this.unchecked = false
    this.logPrior = logPrior
    this.logLikelihood = logLikelihood
    this.logFactors = logFactors
  }
  /** The choices, sorted by address (a sorted-btree map). */
  get choices(): Choices {
    if (this.pending.length > 0) this.flush()
    return this.tree
  }
  set choices(choices: Choices) {
    if (this.pending.length > 0) this.pending = []
    this.pendingIndex = undefined
    this.unchecked = false
    this.tree = choices
  }
  /**
   * The choices added since the tree was last loaded, in the order they were added: while
   * nobody has read `choices`, the execution's visit order (an SMC particle replays it).
   * Read-only; valid until the next `choices`, `clear` or `assign`.
   */
  get recorded(): ReadonlyArray<Choice> {
    return this.pending
  }
  /**
   * Adds a choice without checking its address: O(1), for engines that check a whole visit
   * order at once (SMC particles). A repeated address is found later, by the next `record`
   * (which then returns false for it, as for any taken address) or when `choices` is first read
   * (DuplicateAddressError naming it).
   */
  append(choice: Choice): void {
    this.pending.push(choice)
    this.unchecked = true
  }
  /**
   * Makes this trace hold `choices` (in that order, unchecked as by `append`) and these weights,
   * in its own buffer (a pooled trace's array is reused): a copy of another trace's `recorded`
   * visit order. O(n).
   */
  assign(choices: ReadonlyArray<Choice>, logPrior: number, logLikelihood: number, logFactors: number): void {
    // (into the array it has: a pooled trace's buffer is reused, not replaced)
    const pending = this.pending
    const n = choices.length
    pending.length = n
    for (let i = 0; i < n; i++) pending[i] = choices[i]!
    this.adopt(pending, logPrior, logLikelihood, logFactors)
  }
  /**
   * `assign` without the copy: `choices` becomes this trace's buffer, and the caller gives the
   * array up (an MH kernel's final visit order, say). O(1).
   */
  adopt(choices: Array<Choice>, logPrior: number, logLikelihood: number, logFactors: number): void {
    if (this.tree.size > 0) this.tree.clear()
    this.pending = choices
    this.pendingIndex = undefined
    this.unchecked = choices.length > 0
    this.logPrior = logPrior
    this.logLikelihood = logLikelihood
    this.logFactors = logFactors
  }
  /**
   * Adds a choice; returns false (and adds nothing) when the address is already taken.
   * Does not touch the weights: handlers add `choice.logProb` where it belongs.
   */
  record(choice: Choice): boolean {
    if (this.unchecked) this.indexUnchecked()
    const pending = this.pending
    const n = pending.length
    const address = choice.address
    if (n < INDEX_AT) {
      for (let i = 0; i < n; i++) if (pending[i].address === address) return false
    } else if (this.takenInLongBuffer(address, n)) return false
    if (this.tree.size > 0 && this.tree.has(address)) return false
    pending.push(choice)
    if (this.pendingIndex !== undefined) this.pendingIndex.add(address)
    return true
  }
  // A buffer of INDEX_AT or more entries: while it is strictly ascending (checked once, when it
  // reaches INDEX_AT) an address above the last one cannot be a duplicate; at the first one
  // out of order the buffer gets a Set of its addresses, kept from then on.
  private takenInLongBuffer(address: Address, n: number): boolean {
    const pending = this.pending
    if (this.pendingIndex === undefined) {
      let ascending = true
      if (n === INDEX_AT) {
        for (let i = 1; i < n && ascending; i++) ascending = pending[i - 1].address < pending[i].address
      }
      if (ascending && address > pending[n - 1].address) return false
      const index = new Set<Address>()
      for (let i = 0; i < n; i++) index.add(pending[i].address)
      this.pendingIndex = index
    }
    return this.pendingIndex.has(address)
  }
  // Before the first `record` after `append`s: the buffer's addresses into a Set (a long buffer)
  // and checked, as `record` would have checked them one at a time.
  private indexUnchecked(): void {
    const pending = this.pending
    const n = pending.length
    const tree = this.tree
    if (tree.size > 0) for (let i = 0; i < n; i++) if (tree.has(pending[i].address)) throw new DuplicateAddressError({ address: pending[i].address })
    if (n < INDEX_AT) {
      for (let i = 1; i < n; i++) {
        const a = pending[i].address
        for (let j = 0; j < i; j++) if (pending[j].address === a) throw new DuplicateAddressError({ address: a })
      }
      this.unchecked = false
      return
    }
    const index = new Set<Address>()
    for (let i = 0; i < n; i++) {
      const a = pending[i].address
      if (index.has(a)) throw new DuplicateAddressError({ address: a })
      index.add(a)
    }
    this.pendingIndex = index
    this.unchecked = false
  }
  private flush(): void {
    const pending = this.pending
    const n = pending.length
    if (this.unchecked) {
      // unchecked choices: sorted whatever their order, then a repeated address is a neighbour
      // (the trace stays unchecked, and throws again, until it is cleared or reassigned)
      pending.sort(byAddress)
      for (let i = 1; i < n; i++) if (pending[i - 1].address === pending[i].address) throw new DuplicateAddressError({ address: pending[i].address })
      if (this.tree.size > 0) for (let i = 0; i < n; i++) if (this.tree.has(pending[i].address)) throw new DuplicateAddressError({ address: pending[i].address })
      this.unchecked = false
    } else if (n <= 16) {
      // insertion sort: the buffer is short and often nearly in order
      for (let i = 1; i < n; i++) {
        const c = pending[i]
        const k = c.address
        let j = i - 1
        while (j >= 0 && pending[j].address > k) {
          pending[j + 1] = pending[j]
          j--
        }
        pending[j + 1] = c
      }
    } else if (n <= INDEX_AT || this.pendingIndex !== undefined) {
      // up to INDEX_AT entries nothing checked the order (the ascending check runs when a
      // record finds INDEX_AT entries already buffered); beyond, it holds unless indexed
      pending.sort(byAddress)
    }
    const tree = this.tree
    if (tree.size === 0) {
      const keys = new Array<Address>(n)
      for (let i = 0; i < n; i++) keys[i] = pending[i].address
      loadSortedUnsafe(tree, keys, pending) // may keep both arrays as its leaf: start a new buffer
      this.pending = []
    } else {
      for (let i = 0; i < n; i++) tree.set(pending[i].address, pending[i], true)
      this.pending = []
    }
    this.pendingIndex = undefined
  }
  /** logPrior + logLikelihood + logFactors: the unnormalised log joint of the execution. */
  get totalLogWeight(): number {
    return this.logPrior + this.logLikelihood + this.logFactors
  }
  /**
   * A copy sharing the B-tree's nodes until either side writes: O(1) now; a later write to an
   * existing address of either copy copies the `height + 1` nodes on its root-to-leaf path
   * (see `Choices.sharing`).
   */
  clone(): Trace {
    return new Trace(this.choices.clone(), this.logPrior, this.logLikelihood, this.logFactors)
  }
  /** Empties the trace for reuse (pools). */
  clear(): void {
    // A short buffer is replaced (a young array, regrown by one allocation: faster on the memory
    // suite's 3-site regression); a long one is truncated in place: replacing the 22-entry
    // buffer of pooled (old-generation) traces doubled the GC time of rejection ABC (2.7 s vs
    // 1.2 s over ten runs, benchmarks/src/abc.ts), truncating made it a third faster than fresh traces
    const n = this.pending.length
    if (n > 16) this.pending.length = 0
    else if (n > 0) this.pending = []
    this.pendingIndex = undefined
    this.unchecked = false
    this.tree.clear()
    this.logPrior = 0
    this.logLikelihood = 0
    this.logFactors = 0
  }
  /** The number of random choices. */
  get size(): number {
    return this.tree.size + this.pending.length
  }
}

/**
 * A new empty trace.
 *
 * @example
 * const t = Trace.make()
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (): Trace => new Trace()

/**
 * The log joint of a trace (same as `trace.totalLogWeight`).
 *
 * @example
 * Trace.logJoint(trace)
 *
 * @category getters
 * @since 0.1.0
 */
export const logJoint = (trace: Trace): number => trace.totalLogWeight

// Type names are plain strings from `typeOf`; anything else is described, never converted.
const typeName = (name: unknown): string => (typeof name === "string" ? name : describe(name))

/**
 * A trace looked up an address that it does not hold.
 *
 * @example
 * Trace.getNumberOrThrow(trace, "nope") // throws MissingAddressError { address: "nope" }
 *
 * @category errors
 * @since 0.1.0
 */
export class MissingAddressError extends Data.TaggedError("MissingAddressError")<{ readonly address: Address }> {
  override get message(): string {
    return `no choice at address ${describe(this.address)}`
  }
}

/**
 * A choice had another type than the one asked for.
 *
 * @example
 * Trace.getBooleanOrThrow(trace, "mu") // throws ChoiceTypeError { address: "mu", expected: "boolean", actual: "number" }
 *
 * @category errors
 * @since 0.1.0
 */
export class ChoiceTypeError extends Data.TaggedError("ChoiceTypeError")<{
  readonly address: Address
  readonly expected: string
  readonly actual: string
}> {
  override get message(): string {
    return `choice at address ${describe(this.address)} is a ${typeName(this.actual)}, expected a ${typeName(this.expected)}`
  }
}

/**
 * The runtime type name of a choice value: "number", "boolean" or "vector".
 *
 * @example
 * Trace.typeOf(new Float64Array(2)) // "vector"
 *
 * @category getters
 * @since 0.1.0
 */
export const typeOf = (value: unknown): string =>
  value instanceof Float64Array ? "vector" : typeof value

/**
 * The choice at `address`, or undefined.
 *
 * @example
 * Trace.get(trace, "mu")?.logProb
 *
 * @category getters
 * @since 0.1.0
 */
export const get = (trace: Trace, address: Address): Choice | undefined => trace.choices.get(address)

/**
 * The choice at `address`; throws `MissingAddressError` when absent.
 *
 * @example
 * Trace.getOrThrow(trace, "mu").value
 *
 * @category getters
 * @since 0.1.0
 */
export const getOrThrow = (trace: Trace, address: Address): Choice => {
  const choice = trace.choices.get(address)
  if (choice === undefined) throw new MissingAddressError({ address })
  return choice
}

const typed = <T extends ChoiceValue>(expected: string, check: (v: ChoiceValue) => v is T) => ({
  get: (trace: Trace, address: Address): T | undefined => {
    const choice = trace.choices.get(address)
    return choice !== undefined && check(choice.value) ? choice.value : undefined
  },
  getOrThrow: (trace: Trace, address: Address): T => {
    const value = getOrThrow(trace, address).value
    if (!check(value)) throw new ChoiceTypeError({ address, expected, actual: typeOf(value) })
    return value
  }
})

const numberAccess = typed("number", (v): v is number => typeof v === "number")
const booleanAccess = typed("boolean", (v): v is boolean => typeof v === "boolean")
const vectorAccess = typed("vector", (v): v is Float64Array => v instanceof Float64Array)

/**
 * The number at `address`, or undefined when missing or not a number.
 *
 * @example
 * Trace.getNumber(trace, "slope") // number | undefined
 *
 * @category getters
 * @since 0.1.0
 */
export const getNumber = numberAccess.get
/**
 * The number at `address`; throws `MissingAddressError` or `ChoiceTypeError`.
 *
 * @example
 * Trace.getNumberOrThrow(trace, "slope") // number
 *
 * @category getters
 * @since 0.1.0
 */
export const getNumberOrThrow = numberAccess.getOrThrow
/**
 * The boolean at `address`, or undefined when missing or not a boolean.
 *
 * @example
 * Trace.getBoolean(trace, "flip")
 *
 * @category getters
 * @since 0.1.0
 */
export const getBoolean = booleanAccess.get
/**
 * The boolean at `address`; throws `MissingAddressError` or `ChoiceTypeError`.
 *
 * @example
 * Trace.getBooleanOrThrow(trace, "flip")
 *
 * @category getters
 * @since 0.1.0
 */
export const getBooleanOrThrow = booleanAccess.getOrThrow
/**
 * The vector at `address`, or undefined when missing or not a vector.
 *
 * @example
 * Trace.getVector(trace, "theta")
 *
 * @category getters
 * @since 0.1.0
 */
export const getVector = vectorAccess.get
/**
 * The vector at `address`; throws `MissingAddressError` or `ChoiceTypeError`.
 *
 * @example
 * Trace.getVectorOrThrow(trace, "theta")
 *
 * @category getters
 * @since 0.1.0
 */
export const getVectorOrThrow = vectorAccess.getOrThrow

/**
 * The addresses of a trace, in sorted order.
 *
 * @example
 * Trace.addresses(trace) // ["intercept", "noise", "slope"]
 *
 * @category getters
 * @since 0.1.0
 */
export const addresses = (trace: Trace): Array<Address> => trace.choices.keysArray()

/**
 * A plain-object view of a trace: `{ address: value }` plus the weights (for printing / JSON).
 *
 * @example
 * JSON.stringify(Trace.toJSON(trace))
 *
 * @category getters
 * @since 0.1.0
 */
export const toJSON = (trace: Trace): {
  choices: Record<string, { value: number | boolean | Array<number>; logProb: number }>
  logPrior: number
  logLikelihood: number
  logFactors: number
  totalLogWeight: number
} => {
  const choices: Record<string, { value: number | boolean | Array<number>; logProb: number }> = {}
  trace.choices.forEachPair((k, c) => {
    choices[k] = { value: c.value instanceof Float64Array ? Array.from(c.value) : c.value, logProb: c.logProb }
  })
  return {
    choices,
    logPrior: trace.logPrior,
    logLikelihood: trace.logLikelihood,
    logFactors: trace.logFactors,
    totalLogWeight: trace.totalLogWeight
  }
}
