/**
 * Models are re-runnable generator functions that yield three kinds of instruction:
 * `sample` (a latent random choice), `observe` (conditioning on data) and `factor` (an
 * arbitrary log-weight). `yield* sample("x", Normal(0, 1))` has type `number` at the call
 * site, with no casts: each instruction is a tiny single-shot iterable (the trick
 * `Effect.gen` uses). A handler decides what each instruction means; the run loop in
 * `@fugue/runtime` is the only code that calls `next()`. Sub-models compose with plain
 * `yield*`; the combinators here cover the usual shapes (`pure`, `map`, `plate`, `sequence`,
 * `traverse`, `zip`, `guard`, `scope`, `unfold`).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import { Node, recordingTape, type Real } from "./Ad.ts"
import { addr, type Address } from "./Address.ts"
import type { Distribution } from "./Distribution.ts"
import { describe } from "./Value.ts"

/**
 * The generator a model returns when run.
 *
 * @category models
 * @since 0.1.0
 */
export type Program<A> = Generator<Instruction, A, unknown>

/**
 * A model: calling it starts a fresh execution.
 *
 * @example
 * const coin: Model<boolean> = function* () {
 *   const p = yield* sample("p", Beta(1, 1))
 *   return yield* sample("flip", Bernoulli(p))
 * }
 *
 * @category models
 * @since 0.1.0
 */
export type Model<A> = () => Program<A>

/**
 * What a model yields to its handler.
 *
 * @category models
 * @since 0.1.0
 */
export type Instruction = SampleInstruction<any> | ObserveInstruction<any> | FactorInstruction | ScopeInstruction

// Each instruction object is also its own iterator and its own iterator result, so a
// `yield*` over it allocates nothing beyond the instruction: the first `next()` returns the
// instruction itself (value = the instruction, done = false); the second `next(v)` stores
// the handler's answer in `value`, sets done, and returns it again. Instructions are
// single-use: each `sample(...)` call makes a new one.

// One runtime class for all three kinds keeps every property access in `yield*` and in the
// run loop monomorphic (measured: ~15% faster than one class per kind). The exported types
// below give each kind its own shape.
class Step {
  readonly _tag: "Sample" | "Observe" | "Factor" | "ScopeEnter" | "ScopeExit"
  readonly address: Address
  readonly dist: Distribution<any> | undefined
  readonly observed: unknown
  readonly logWeight: number
  value: unknown
  done: boolean
  started: boolean
  constructor(tag: Step["_tag"], address: Address, dist: Distribution<any> | undefined, observed: unknown, logWeight: number) {
    this._tag = tag
    this.address = address
    this.dist = dist
    this.observed = observed
    this.logWeight = logWeight
    this.value = this
    this.done = false
    this.started = false
  }
  next(v?: unknown): IteratorResult<Instruction, any> {
    if (this.started) {
      this.value = v
      this.done = true
    } else this.started = true
    return this as unknown as IteratorResult<Instruction, any>
  }
  [Symbol.iterator](): this {
    return this
  }
}

/**
 * A latent random choice at `address` from `dist`; `yield*` it to get a `T`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SampleInstruction<T> {
  readonly _tag: "Sample"
  readonly address: Address
  readonly dist: Distribution<T>
  [Symbol.iterator](): Iterator<Instruction, T, unknown>
}

/**
 * Conditioning on `observed` at `address` under `dist`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ObserveInstruction<T> {
  readonly _tag: "Observe"
  readonly address: Address
  readonly dist: Distribution<T>
  readonly observed: T
  [Symbol.iterator](): Iterator<Instruction, void, unknown>
}

/**
 * An arbitrary log-weight added to the execution (soft constraint, custom likelihood). Its
 * `address` is the empty string.
 *
 * @category models
 * @since 0.1.0
 */
export interface FactorInstruction {
  readonly _tag: "Factor"
  readonly address: Address
  readonly logWeight: number
  [Symbol.iterator](): Iterator<Instruction, void, unknown>
}

/**
 * Whether a value is an instruction made by `sample`, `observe`, `factor` or a scope (not a
 * look-alike object).
 *
 * @example
 * isInstruction(sample("x", Normal(0, 1))) // true
 * isInstruction({ _tag: "Sample" })        // false
 *
 * @category models
 * @since 0.1.0
 */
export const isInstruction = (u: unknown): u is Instruction => u instanceof Step

/**
 * Opens (`ScopeEnter`, `address` = the prefix) or closes (`ScopeExit`) an address scope. The
 * driver keeps the stack of open scopes and prefixes every address inside; handlers never see
 * these instructions. Yielded by `scope`, `plate` and `unfold`.
 *
 * @example
 * const layer = scope("layer1", weights) // yields ScopeEnter "layer1", the inner model's instructions, ScopeExit
 *
 * @category models
 * @since 0.1.0
 */
export interface ScopeInstruction {
  readonly _tag: "ScopeEnter" | "ScopeExit"
  readonly address: Address
  [Symbol.iterator](): Iterator<Instruction, void, unknown>
}

/**
 * `factor` was given a log-weight that is not a number (e.g. the string "1", which would
 * otherwise be concatenated into the log weight).
 *
 * @example
 * factor("1" as unknown as number) // throws InvalidFactorError { value: "1" }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidFactorError extends Data.TaggedError("InvalidFactorError")<{ readonly value: unknown }> {
  override get message(): string {
    return `factor: the log-weight must be a number, got ${describe(this.value)}`
  }
}

/**
 * A random choice: `yield* sample(address, dist)` is the drawn (or replayed) value.
 *
 * @example
 * const mu = yield* sample("mu", Normal(0, 1)) // number
 *
 * @category models
 * @since 0.1.0
 */
export const sample = <T>(address: Address, dist: Distribution<T>): SampleInstruction<T> =>
  new Step("Sample", address, dist, undefined, 0) as unknown as SampleInstruction<T>

/**
 * Conditions on `value` having been drawn from `dist` (adds log p(value) to the likelihood).
 *
 * @example
 * yield* observe(addr("y", i), Normal(mu, 1), ys[i])
 *
 * @category models
 * @since 0.1.0
 */
export const observe = <T>(address: Address, dist: Distribution<T>, value: T): ObserveInstruction<T> =>
  new Step("Observe", address, dist, value, 0) as unknown as ObserveInstruction<T>

/**
 * Adds `logWeight` to the execution's log weight (a number, or a differentiable `Ad` value).
 *
 * @example
 * yield* factor(-0.5 * x * x)
 *
 * @category models
 * @since 0.1.0
 */
export const factor = (logWeight: Real): FactorInstruction => {
  if (typeof logWeight !== "number") {
    if (!(logWeight instanceof Node)) throw new InvalidFactorError({ value: logWeight })
    // a differentiable log-weight reaches the gradient handler as it is; elsewhere its number
    if (recordingTape() === undefined) logWeight = logWeight.value
  }
  return new Step("Factor", "", undefined, undefined, logWeight as number) as unknown as FactorInstruction
}

/**
 * A hard constraint: a −∞ factor when `condition` is false, nothing otherwise.
 *
 * @example
 * yield* guard(x > 0)
 *
 * @category combinators
 * @since 0.1.0
 */
export const guard = (condition: boolean): FactorInstruction => factor(condition ? 0 : -Infinity)

/**
 * A model that makes no choices and returns `a`.
 *
 * @example
 * run(handler, pure(3)) // [3, …]
 *
 * @category combinators
 * @since 0.1.0
 */
export const pure = <A>(a: A): Model<A> => () => pureProgram(a)

/**
 * Transforms a model's return value.
 *
 * @example
 * const squared = map(function* () { return yield* sample("x", Normal(0, 1)) }, (x) => x * x)
 *
 * @category combinators
 * @since 0.1.0
 */
export const map = <A, B>(model: Model<A>, f: (a: A) => B): Model<B> => () => mapProgram(model, f)

/**
 * Chains a model into one that depends on its result.
 *
 * @example
 * const m = flatMap(coin, (heads) => heads ? pure(1) : pure(0))
 *
 * @category combinators
 * @since 0.1.0
 */
export const flatMap = <A, B>(model: Model<A>, f: (a: A) => Model<B>): Model<B> => () => flatMapProgram(model, f)

/**
 * Runs the models in order and collects their results.
 *
 * @example
 * const both = sequence([modelA, modelB])
 *
 * @category combinators
 * @since 0.1.0
 */
export const sequence = <A>(models: ReadonlyArray<Model<A>>): Model<Array<A>> => () => sequenceProgram(models)

/**
 * Maps each item to a model and runs them in order.
 *
 * @example
 * const draws = traverse([1, 2, 3], (s, i) => function* () { return yield* sample(addr("z", i), Normal(0, s)) })
 *
 * @category combinators
 * @since 0.1.0
 */
export const traverse = <X, A>(items: ReadonlyArray<X>, f: (item: X, index: number) => Model<A>): Model<Array<A>> => () =>
  traverseProgram(items, f)

/**
 * Runs two models in order and pairs their results.
 *
 * @example
 * const pair = zip(modelA, modelB) // Model<[A, B]>
 *
 * @category combinators
 * @since 0.1.0
 */
export const zip = <A, B>(left: Model<A>, right: Model<B>): Model<[A, B]> => () => zipProgram(left, right)

/**
 * Prefixes every address inside `model` with `prefix/` (nested scopes stack).
 *
 * @example
 * const layer = scope("layer1", weights) // "w#0" becomes "layer1/w#0"
 *
 * @category combinators
 * @since 0.1.0
 */
export const scope = <A>(prefix: string, model: Model<A>): Model<A> => () => scopeProgram(prefix, model)

/**
 * `n` independent copies of a model, the i-th with its addresses scoped under `name#i`.
 *
 * @example
 * const zs = plate("z", 3, (i) => function* () { return yield* sample("v", Normal(i, 1)) })
 * // addresses "z#0/v", "z#1/v", "z#2/v"
 *
 * @category combinators
 * @since 0.1.0
 */
export const plate = <A>(name: string, n: number, body: (index: number) => Model<A>): Model<Array<A>> => () =>
  plateProgram(name, n, body)

/**
 * A state-space model over `steps` steps with explicit state: `step(state, t)` returns the
 * model for step t, whose addresses are scoped under `name#t`. The state is a plain value,
 * so SMC can resample states instead of replaying generators: `Smc.runUnsafe` recognises a
 * model made by `unfold` (see `unfoldSpec`) and shares resampled particles' completed steps,
 * at a cost linear in `steps`. The fastest step form returns a closure over a module-level
 * generator function, `(s, t) => () => stepProgram(s, t)`: a `function*` created per call costs
 * V8 0.5–1 µs more per step (measured: its first call builds a fresh generator map).
 *
 * @example
 * const walk = unfold("x", 50, 0, (prev, t) => function* () {
 *   return yield* sample("v", Normal(prev, 1))
 * })
 *
 * @category combinators
 * @since 0.1.0
 */
export const unfold = <S>(
  name: string,
  steps: number,
  initial: S,
  step: (state: S, t: number) => Model<S>
): Model<Array<S>> => {
  const model: Model<Array<S>> = () => unfoldProgram(name, steps, initial, step)
  const spec: UnfoldSpec<S> = { name, steps, initial, step }
  Object.defineProperty(model, UNFOLD, { value: spec })
  return model
}

const UNFOLD = Symbol.for("@fugue/core/Model/unfold")

/**
 * What an `unfold` model was built from: its arguments, as given.
 *
 * @category models
 * @since 0.1.0
 */
export interface UnfoldSpec<S> {
  readonly name: string
  readonly steps: number
  readonly initial: S
  readonly step: (state: S, t: number) => Model<S>
}

/**
 * The arguments of a model made by `unfold` (the model itself, not a model that calls it or
 * wraps it), else undefined. Inference uses it to treat the model as the state-space model it
 * is: SMC resamples step states and shares the completed steps of resampled particles instead
 * of replaying them, so its cost is linear in the number of steps.
 *
 * **Details**: the spec is attached to the function `unfold` returns, under a symbol (not
 * enumerable). Running the model is unaffected: it is the same generator either way.
 *
 * @example
 * const walk = unfold("x", 50, 0, (prev) => function* () { return yield* sample("v", Normal(prev, 1)) })
 * unfoldSpec(walk)?.steps // 50
 * unfoldSpec(() => walk()) // undefined
 *
 * @category getters
 * @since 0.1.0
 */
export const unfoldSpec = (model: unknown): UnfoldSpec<unknown> | undefined =>
  typeof model === "function" ? ((model as unknown as Record<symbol, UnfoldSpec<unknown> | undefined>)[UNFOLD]) : undefined

// The combinators' generator functions live at module level and take their inputs as
// arguments: a `function*` closure created per call gets its own prototype and generator map
// in V8, which made every call cost ~1.5 µs more (measured) and every site megamorphic.

function* pureProgram<A>(a: A): Program<A> {
  return a
}

function* mapProgram<A, B>(model: Model<A>, f: (a: A) => B): Program<B> {
  return f(yield* model())
}

function* flatMapProgram<A, B>(model: Model<A>, f: (a: A) => Model<B>): Program<B> {
  return yield* f(yield* model())()
}

function* sequenceProgram<A>(models: ReadonlyArray<Model<A>>): Program<Array<A>> {
  const out: Array<A> = []
  for (let i = 0; i < models.length; i++) out.push(yield* models[i]())
  return out
}

function* traverseProgram<X, A>(items: ReadonlyArray<X>, f: (item: X, index: number) => Model<A>): Program<Array<A>> {
  const out: Array<A> = []
  for (let i = 0; i < items.length; i++) out.push(yield* f(items[i], i)())
  return out
}

function* zipProgram<A, B>(left: Model<A>, right: Model<B>): Program<[A, B]> {
  const a = yield* left()
  const b = yield* right()
  return [a, b]
}

// The driver pops its prefix stack at a ScopeExit and reads nothing else from it: one shared instance.
const SCOPE_EXIT = new Step("ScopeExit", "", undefined, undefined, 0) as unknown as ScopeInstruction

// A scope is a pair of instructions around the inner model: the driver keeps the prefix
// stack, so scoped models add no generator layer and nothing but the driver steps them.
function* scopeProgram<A>(prefix: string, model: Model<A>): Program<A> {
  yield new Step("ScopeEnter", prefix, undefined, undefined, 0) as unknown as ScopeInstruction
  const a = yield* model()
  yield SCOPE_EXIT
  return a
}

// plate and unfold yield their scope instructions themselves rather than delegating to
// scopeProgram: one generator and one level of yield* delegation fewer per element, for every
// instruction of the body.
function* plateProgram<A>(name: string, n: number, body: (index: number) => Model<A>): Program<Array<A>> {
  const out: Array<A> = []
  for (let i = 0; i < n; i++) {
    const prefix = addr(name, i)
    const model = body(i)
    yield new Step("ScopeEnter", prefix, undefined, undefined, 0) as unknown as ScopeInstruction
    out.push(yield* model())
    yield SCOPE_EXIT
  }
  return out
}

function* unfoldProgram<S>(name: string, steps: number, initial: S, step: (state: S, t: number) => Model<S>): Program<Array<S>> {
  const states: Array<S> = []
  let state = initial
  for (let t = 0; t < steps; t++) {
    const prefix = addr(name, t)
    const model = step(state, t)
    yield new Step("ScopeEnter", prefix, undefined, undefined, 0) as unknown as ScopeInstruction
    state = yield* model()
    yield SCOPE_EXIT
    states.push(state)
  }
  return states
}
