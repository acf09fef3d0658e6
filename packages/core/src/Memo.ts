/**
 * Memoisation by argument value, for nested inference: a model of reasoning about reasoning
 * (a rational-speech-acts listener inferring what a speaker would say) calls inference on an
 * inner model once per distinct argument instead of once per execution of the outer model.
 * Arguments are compared structurally (`keyOf` from `Marginal`: numbers, booleans, strings,
 * arrays, plain objects), so `f({ a: 1 })` and `f({ a: 1 })` share one call.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import { keyOf } from "./distributions/Marginal.ts"
import { describe } from "./Value.ts"

/**
 * A memoised function was called with arguments it cannot key (a function, a symbol, a class
 * instance, a cyclic object): a bug in the model, raised as itself so that inference never
 * mistakes it for an invalid draw (which it would only reject and count).
 *
 * @example
 * memoize((f: () => number) => f())(() => 1) // throws MemoKeyError
 *
 * @category errors
 * @since 0.3.0
 */
export class MemoKeyError extends Data.TaggedError("MemoKeyError")<{ readonly value: unknown; readonly reason: string }> {
  override get message(): string {
    return `memoize: the arguments ${describe(this.value)} ${this.reason}`
  }
}

/**
 * A memoised function: `f(...args)` computed once per structurally distinct argument list, with
 * the cache (`size`, `clear`) exposed.
 *
 * @example
 * const listener: Memoized<[number], MarginalDistribution<number>> = memoize((u: number) => Enumerate.runUnsafe(literal(u)).distribution)
 *
 * @category models
 * @since 0.2.0
 */
export interface Memoized<Args extends ReadonlyArray<unknown>, R> {
  (...args: Args): R
  /** Distinct argument lists computed so far. */
  readonly size: number
  /** Forgets every result. */
  clear(): void
}

/**
 * Memoises `f` by the structural value of its arguments. An argument without a structural key
 * (a function, a class instance) is a `MemoKeyError` naming it, rather than a silent cache miss.
 *
 * @example
 * let calls = 0
 * const square = memoize((x: number) => (calls++, x * x))
 * square(3); square(3) // calls === 1
 *
 * @category constructors
 * @since 0.2.0
 */
export const memoize = <Args extends ReadonlyArray<unknown>, R>(f: (...args: Args) => R): Memoized<Args, R> => {
  const cache = new Map<string, R>()
  const memo = ((...args: Args): R => {
    const key = keyOf(args)
    if (key === undefined) {
      throw new MemoKeyError({ value: args, reason: "have no structural key (functions, symbols, class instances and cyclic objects cannot be compared)" })
    }
    if (cache.has(key)) return cache.get(key)!
    const r = f(...args)
    cache.set(key, r)
    return r
  }) as Memoized<Args, R>
  Object.defineProperty(memo, "size", { get: () => cache.size })
  memo.clear = () => cache.clear()
  return memo
}
