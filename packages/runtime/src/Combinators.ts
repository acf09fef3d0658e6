/**
 * Handler combinators, in Pyro's vocabulary: each wraps a handler and changes what some
 * instructions mean before passing them on. They compose by wrapping (the outermost wrapper
 * sees each instruction first); there is no global handler stack.
 *
 * | combinator   | effect on the wrapped handler                                              |
 * |--------------|----------------------------------------------------------------------------|
 * | `condition`  | sample sites with data become observations of that data                    |
 * | `substitute` | sample sites with values get those values, scored under the prior          |
 * | `intervene`  | sample sites with values get those values, unscored and unrecorded (`do`)  |
 * | `block`      | matching sites are drawn here and hidden from the wrapped handler          |
 * | `scale`      | log probabilities of matching sites are multiplied by a constant           |
 * | `mask`       | observations and factors at matching sites are dropped (contribute 0)      |
 * | `seed`       | sample sites are drawn from the given stream and handed down as values     |
 *
 * @since 0.1.0
 */
import * as Ad from "@fugue/core/Ad"
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { describe } from "@fugue/core/Value"
import * as Data from "effect/Data"
import { ObservationTypeError } from "./Execution.ts"
import type { Handler } from "./Handler.ts"
import { has, type Selection } from "./Selection.ts"

/**
 * Which addresses a combinator applies to: a predicate, a list, a set, or a `Selection`.
 *
 * @category combinators
 * @since 0.1.0
 */
export type Selector = ((address: Address) => boolean) | ReadonlyArray<Address> | ReadonlySet<Address> | Selection

/**
 * A handler transformation: the combinators between an algorithm's own handler and the model
 * (what `Interpreter` layers stack up, or an algorithm's `transform` option). `rng` is a stream
 * of the run's own (per chain), for combinators that draw (`block`).
 *
 * @example
 * const t: Combinators.Transform = (h) => Combinators.condition(h, { y: 2 })
 *
 * @category combinators
 * @since 0.1.0
 */
export type Transform = <Out>(handler: Handler<Out>, rng: Rng) => Handler<Out>

/**
 * The transformation that changes nothing.
 *
 * @example
 * identity(handler, rng) === handler
 *
 * @category combinators
 * @since 0.1.0
 */
export const identity: Transform = (handler) => handler

/**
 * Composes transformations: `compose(outer, inner)` applies `inner` to the handler first, so
 * `outer` sees each instruction first (as with layers, the outer layer is provided last).
 *
 * @example
 * const t = compose((h) => condition(h, { y: 2 }), (h) => scale(h, 0.5))
 *
 * @category combinators
 * @since 0.1.0
 */
export const compose = (...transforms: ReadonlyArray<Transform>): Transform => {
  if (transforms.length === 0) return identity
  if (transforms.length === 1) return transforms[0]
  return (handler, rng) => {
    let h = handler
    for (let i = transforms.length - 1; i >= 0; i--) h = transforms[i](h, rng)
    return h
  }
}

/**
 * A combinator was given an argument it cannot use (a negative, NaN or infinite `scale`
 * factor, a selector that is not a function, list, set or `Selection`, a missing stream).
 *
 * @example
 * Combinators.scale(handler, -1) // throws InvalidCombinatorError { combinator: "scale", argument: "by", value: -1 }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidCombinatorError extends Data.TaggedError("InvalidCombinatorError")<{
  readonly combinator: string
  readonly argument: string
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    return `${this.combinator}: invalid ${this.argument} = ${describe(this.value)} (${this.reason})`
  }
}

const checkSelector = (combinator: string, selector: unknown): void => {
  if (
    typeof selector === "function" || Array.isArray(selector) || selector instanceof Set ||
    (typeof selector === "object" && selector !== null && typeof (selector as { _tag?: unknown })._tag === "string")
  ) return
  throw new InvalidCombinatorError({ combinator, argument: "selector", value: selector, reason: "must be a predicate, a list or set of addresses, or a Selection" })
}

const checkRng = (combinator: string, rng: unknown): void => {
  if (typeof rng !== "object" || rng === null || typeof (rng as { uniform?: unknown }).uniform !== "function") {
    throw new InvalidCombinatorError({ combinator, argument: "rng", value: rng, reason: "must be an Rng stream" })
  }
}

const checkValues = (combinator: string, values: unknown): void => {
  if (values instanceof Map || (typeof values === "object" && values !== null && !Array.isArray(values))) return
  throw new InvalidCombinatorError({ combinator, argument: "values", value: values, reason: "must be a record or a Map of address → value" })
}

const toPredicate = (selector: Selector): ((address: Address) => boolean) => {
  if (typeof selector === "function") return selector
  if (!(selector instanceof Set) && !Array.isArray(selector) && typeof (selector as Selection)._tag === "string") {
    const selection = selector as Selection
    return (address) => has(selection, address)
  }
  const set = selector instanceof Set ? selector : new Set(selector as ReadonlyArray<Address>)
  return (address) => set.has(address)
}

const toMap = (values: Readonly<Record<Address, unknown>> | ReadonlyMap<Address, unknown>): ReadonlyMap<Address, unknown> =>
  values instanceof Map ? values : new Map(Object.entries(values))

/**
 * A point mass at `value` that reports the log probability `scoreAs` there (what `substitute`
 * and `seed` hand to the wrapped handler): its `sample` is `value`, and every other value has
 * log probability −∞. Handlers that reuse recorded values (replay, MH proposals) take `value`
 * instead, so a substituted site stays fixed under any handler.
 *
 * @example
 * const d = new PointMass(Normal(0, 1), 2, Normal(0, 1).logProb(2))
 *
 * @category combinators
 * @since 0.1.0
 */
export class PointMass<T> implements Distribution<T> {
  readonly family: string
  readonly kind: Distribution<T>["kind"]
  readonly support: Distribution<T>["support"]
  readonly base: Distribution<T>
  readonly value: T
  private score: number | undefined
  /**
   * `scoreAs` defaults to base.logProb(value), computed when first needed: a substituted site
   * under the gradient handler is scored through its family's kernel instead, and reading the
   * log probability of a distribution built from differentiable values would count as an escape.
   */
  constructor(base: Distribution<T>, value: T, scoreAs?: number) {
    this.family = base.family
    this.kind = base.kind
    this.support = base.support
    this.base = base
    this.value = value
    this.score = scoreAs
  }
  /** The log probability the fixed value is scored with (the base distribution's, unless given). */
  get scoreAs(): number {
    return this.score ?? (this.score = this.base.logProb(this.value))
  }
  sample(): T {
    return this.value
  }
  logProb(x: T): number {
    return x === this.value ? this.scoreAs : -Infinity
  }
  isValue(x: unknown): x is T {
    return this.base.isValue(x)
  }
  mean() {
    return this.base.mean()
  }
  variance() {
    return this.base.variance()
  }
}

/**
 * `base` with its log probability multiplied by `factor` (0 × −∞ is taken as 0): what `scale`
 * and `mask` hand to the wrapped handler. Gradient handlers unwrap it to differentiate `base`.
 *
 * @example
 * const d = new Scaled(Normal(0, 1), 0.5) // d.logProb(x) = 0.5 · Normal(0, 1).logProb(x)
 *
 * @category combinators
 * @since 0.2.0
 */
export class Scaled<T> implements Distribution<T> {
  readonly family: string
  readonly kind: Distribution<T>["kind"]
  readonly support: Distribution<T>["support"]
  readonly base: Distribution<T>
  readonly factor: number
  constructor(base: Distribution<T>, factor: number) {
    this.family = base.family
    this.kind = base.kind
    this.support = base.support
    this.base = base
    this.factor = factor
  }
  sample(rng: Rng): T {
    return this.base.sample(rng)
  }
  /** The base's starting value for an improper prior (MH's start), if it has one. */
  get initialValue(): (() => T) | undefined {
    const base = this.base
    return base.initialValue === undefined ? undefined : () => base.initialValue!()
  }
  logProb(x: T): number {
    return this.factor === 0 ? 0 : this.factor * this.base.logProb(x)
  }
  isValue(x: unknown): x is T {
    return this.base.isValue(x)
  }
  mean() {
    return this.base.mean()
  }
  variance() {
    return this.base.variance()
  }
}

/**
 * Turns sample sites named in `data` into observations of the given values.
 *
 * **Details**: at a conditioned address, log p(data[a]) goes to the wrapped handler's
 * `logLikelihood` and the model receives data[a]; other sites pass through.
 *
 * @example
 * const h = condition(new PriorHandler(rng), { flip: true })
 *
 * @category combinators
 * @since 0.1.0
 */
export const condition = <Out>(
  handler: Handler<Out>,
  data: Readonly<Record<Address, unknown>> | ReadonlyMap<Address, unknown>
): Handler<Out> => {
  checkValues("condition", data)
  const values = toMap(data)
  return {
    sample<T>(address: Address, dist: Distribution<T>): T {
      if (values.has(address)) {
        const value = values.get(address) as T
        if (value !== value || !dist.isValue(value)) {
          throw new ObservationTypeError({ address, family: dist.family, expected: dist.kind, value })
        }
        handler.observe(address, dist, value)
        return value
      }
      return handler.sample(address, dist)
    },
    observe: (address, dist, value) => handler.observe(address, dist, value),
    factor: (logWeight) => handler.factor(logWeight),
    finish: () => handler.finish()
  }
}

/**
 * Fixes sample sites named in `values`; they are still recorded and scored under the prior.
 *
 * @example
 * const h = substitute(new PriorHandler(rng), { slope: 2 })
 *
 * @category combinators
 * @since 0.1.0
 */
export const substitute = <Out>(
  handler: Handler<Out>,
  values: Readonly<Record<Address, unknown>> | ReadonlyMap<Address, unknown>
): Handler<Out> => {
  checkValues("substitute", values)
  const fixed = toMap(values)
  return {
    sample<T>(address: Address, dist: Distribution<T>): T {
      if (!fixed.has(address)) return handler.sample(address, dist)
      const value = fixed.get(address) as T
      if (value !== value || !dist.isValue(value)) {
        throw new InvalidCombinatorError({ combinator: "substitute", argument: `values["${address}"]`, value, reason: `${dist.family} takes ${dist.kind} values` })
      }
      return handler.sample(address, new PointMass(dist, value))
    },
    observe: (address, dist, value) => handler.observe(address, dist, value),
    factor: (logWeight) => handler.factor(logWeight),
    finish: () => handler.finish()
  }
}

/**
 * Intervention (Pyro's `do`): sites named in `values` take those values and are neither
 * recorded nor scored; the wrapped handler never sees them.
 *
 * @example
 * const h = intervene(new PriorHandler(rng), { treatment: 1 })
 *
 * @category combinators
 * @since 0.1.0
 */
export const intervene = <Out>(
  handler: Handler<Out>,
  values: Readonly<Record<Address, unknown>> | ReadonlyMap<Address, unknown>
): Handler<Out> => {
  checkValues("intervene", values)
  const fixed = toMap(values)
  return {
    sample: <T>(address: Address, dist: Distribution<T>): T =>
      fixed.has(address) ? (fixed.get(address) as T) : handler.sample(address, dist),
    observe: (address, dist, value) => handler.observe(address, dist, value),
    factor: (logWeight) => handler.factor(logWeight),
    finish: () => handler.finish()
  }
}

/**
 * Hides matching sites from the wrapped handler: they are drawn from `rng` here, and their
 * observations are dropped, so they leave no trace and no weight below.
 *
 * @example
 * const h = block(new PriorHandler(rng), (a) => a.startsWith("nuisance"), rng)
 *
 * @category combinators
 * @since 0.1.0
 */
export const block = <Out>(handler: Handler<Out>, hide: Selector, rng: Rng): Handler<Out> => {
  checkSelector("block", hide)
  checkRng("block", rng)
  const hidden = toPredicate(hide)
  return {
    sample: <T>(address: Address, dist: Distribution<T>): T =>
      hidden(address) ? dist.sample(rng) : handler.sample(address, dist),
    observe: (address, dist, value) => {
      if (!hidden(address)) handler.observe(address, dist, value)
    },
    factor: (logWeight) => handler.factor(logWeight),
    finish: () => handler.finish()
  }
}

/**
 * Multiplies the log probability of matching sites (samples and observations) and of every
 * factor by `by` (a positive or zero constant), e.g. to reweight a minibatch.
 *
 * @example
 * const h = scale(new PriorHandler(rng), 10, (a) => a.startsWith("y"))
 *
 * @category combinators
 * @since 0.1.0
 */
export const scale = <Out>(handler: Handler<Out>, by: number, where: Selector = () => true): Handler<Out> => {
  if (typeof by !== "number" || !(by >= 0 && by < Infinity)) {
    throw new InvalidCombinatorError({ combinator: "scale", argument: "by", value: by, reason: "must be a finite number >= 0" })
  }
  checkSelector("scale", where)
  const selected = toPredicate(where)
  return {
    sample: <T>(address: Address, dist: Distribution<T>): T =>
      selected(address) ? handler.sample(address, new Scaled(dist, by)) : handler.sample(address, dist),
    observe: (address, dist, value) =>
      selected(address) ? handler.observe(address, new Scaled(dist, by), value) : handler.observe(address, dist, value),
    // a differentiable log-weight stays differentiable (Ad.mul is plain multiplication on numbers)
    factor: (logWeight) => handler.factor(by === 0 ? 0 : (Ad.mul(by, logWeight) as number)),
    finish: () => handler.finish()
  }
}

/**
 * Drops observations at matching addresses (they contribute log-weight 0); latent sites are
 * unchanged.
 *
 * @example
 * const h = mask(new PriorHandler(rng), (a) => a === "y#3") // leave one point out
 *
 * @category combinators
 * @since 0.1.0
 */
export const mask = <Out>(handler: Handler<Out>, where: Selector): Handler<Out> => {
  checkSelector("mask", where)
  const masked = toPredicate(where)
  return {
    sample: <T>(address: Address, dist: Distribution<T>): T => handler.sample(address, dist),
    observe: (address, dist, value) =>
      masked(address) ? handler.observe(address, new Scaled(dist, 0), value) : handler.observe(address, dist, value),
    factor: (logWeight) => handler.factor(logWeight),
    finish: () => handler.finish()
  }
}

/**
 * Draws every sample site from `rng` and hands the value to the wrapped handler as a fixed
 * value scored under the prior: the randomness comes from this stream, whatever the wrapped
 * handler's own.
 *
 * @example
 * const h = seed(new PriorHandler(otherRng), Rng.make(7))
 *
 * @category combinators
 * @since 0.1.0
 */
export const seed = <Out>(handler: Handler<Out>, rng: Rng): Handler<Out> => {
  checkRng("seed", rng)
  return seedWith(handler, rng)
}

const seedWith = <Out>(handler: Handler<Out>, rng: Rng): Handler<Out> => ({
  sample<T>(address: Address, dist: Distribution<T>): T {
    const value = dist.sample(rng)
    return handler.sample(address, new PointMass(dist, value))
  },
  observe: (address, dist, value) => handler.observe(address, dist, value),
  factor: (logWeight) => handler.factor(logWeight),
  finish: () => handler.finish()
})
