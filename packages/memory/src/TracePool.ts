/**
 * A pool of reusable traces. Inference loops run a model thousands of times and throw most
 * traces away; a pool hands out cleared traces (`acquireUnsafe`) and takes them back
 * (`releaseUnsafe`), so a run reuses a `Trace` object and its B-tree map instead of
 * allocating new ones. Borrowing and returning are synchronous and allocation-free on a hit;
 * the pool keeps at most `capacity` idle traces and drops (and counts) any returned beyond
 * that. It checks every return: a trace returned twice, or one it never handed out, raises
 * `PoolReleaseError`. As an Effect service, `TracePool.layer(options)` builds the pool with
 * `Effect.acquireRelease`: when the layer's scope closes, every trace still borrowed counts
 * as returned (`reclaimed`) and the pool is emptied; `withTrace` borrows a trace for the
 * current scope. Stats (`hits`, `misses`, `allocations`, `returns`, `drops`, `reclaimed`,
 * `outstanding`, `highWaterMark`) say how well the pool is doing.
 *
 * @since 0.1.0
 */
import { describe } from "@fugue/core/Value"
import { Trace } from "@fugue/runtime/Trace"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { text } from "./internal/validate.ts"

/**
 * How a pool is configured.
 *
 * @example
 * const options: TracePoolOptions = { capacity: 256 }
 *
 * @category models
 * @since 0.1.0
 */
export interface TracePoolOptions {
  /** The most idle traces kept for reuse (an integer >= 0; default 1024). Returns beyond it are dropped. */
  readonly capacity?: number
}

/**
 * A snapshot of a pool's counters.
 *
 * **Details**: `hits + misses` is the number of acquires; `allocations === misses`;
 * `hits + misses === returns + reclaimed + outstanding`; `returns - drops` traces went back to
 * the idle list; `highWaterMark` is the most traces ever borrowed at once.
 *
 * @example
 * const { hits, misses, highWaterMark } = pool.statsUnsafe()
 * const hitRate = hits / (hits + misses)
 *
 * @category models
 * @since 0.1.0
 */
export interface PoolStats {
  /** Acquires served from the idle list. */
  readonly hits: number
  /** Acquires that found the idle list empty and allocated a new trace. */
  readonly misses: number
  /** Traces the pool has allocated (equals `misses`). */
  readonly allocations: number
  /** Successful `release` calls. */
  readonly returns: number
  /** Returned traces not kept because the idle list was at capacity. */
  readonly drops: number
  /** Borrowed traces counted as returned when the pool was closed. */
  readonly reclaimed: number
  /** Traces borrowed now. */
  readonly outstanding: number
  /** The most traces ever borrowed at the same time. */
  readonly highWaterMark: number
  /** Idle traces ready for reuse. */
  readonly idle: number
  /** The idle-list bound. */
  readonly capacity: number
}

/**
 * A trace was returned to a pool that cannot take it: `"double-release"` (the pool handed it
 * out, but it has already been returned since) or `"foreign"` (the pool never handed it out;
 * `traceSize` is -1 when what was returned is not a `Trace` at all).
 *
 * @example
 * const t = pool.acquireUnsafe()
 * pool.releaseUnsafe(t)
 * pool.releaseUnsafe(t) // throws PoolReleaseError { reason: "double-release" }
 *
 * @category errors
 * @since 0.1.0
 */
export class PoolReleaseError extends Data.TaggedError("PoolReleaseError")<{
  readonly reason: "double-release" | "foreign"
  readonly traceSize: number
}> {
  override get message(): string {
    const size = typeof this.traceSize === "number" ? this.traceSize : describe(this.traceSize)
    return this.reason === "double-release"
      ? `trace (${size} choices) was returned to the pool twice`
      : this.traceSize === -1
      ? "a value that is not a trace was returned to the pool (it was not handed out by this pool)"
      : `trace (${size} choices) was not handed out by this pool`
  }
}

/**
 * A pool was used after it was closed (its layer's scope ended, or `closeUnsafe` was called).
 *
 * @example
 * pool.closeUnsafe()
 * pool.acquireUnsafe() // throws PoolClosedError { operation: "acquire" }
 *
 * @category errors
 * @since 0.1.0
 */
export class PoolClosedError extends Data.TaggedError("PoolClosedError")<{
  readonly operation: "acquire" | "release"
}> {
  override get message(): string {
    return `cannot ${text(this.operation)} a trace: the pool is closed`
  }
}

/**
 * A pool option was invalid; names the option and the value. Also raised for an options
 * argument that is not an object (`option: "options"`) and for an unknown key (`option` is
 * the key).
 *
 * @example
 * TracePool.makeUnsafe({ capacity: -1 }) // throws InvalidPoolOptionsError { option: "capacity", value: -1 }
 * TracePool.makeUnsafe({ capacity: "8" as any }) // throws InvalidPoolOptionsError { option: "capacity", value: "8" }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidPoolOptionsError extends Data.TaggedError("InvalidPoolOptionsError")<{
  readonly option: string
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    return `TracePool: invalid option ${text(this.option)} = ${describe(this.value)} (${text(this.reason)})`
  }
}

/**
 * The pool's interface: synchronous borrow/return for inner loops, Effect versions for the
 * shell, and `withTrace` for a trace scoped to the current `Scope`.
 *
 * @example
 * const pool: TracePoolShape = TracePool.makeUnsafe()
 * const trace = pool.acquireUnsafe()
 * pool.releaseUnsafe(trace)
 *
 * @category services
 * @since 0.1.0
 */
export interface TracePoolShape {
  /** The idle-list bound. */
  readonly capacity: number
  /** Whether the pool has been closed. */
  readonly closed: boolean
  /** A cleared trace, from the idle list or newly allocated. Throws `PoolClosedError` once closed. */
  acquireUnsafe(): Trace
  /** Returns `trace` (cleared, then kept if there is room). Throws `PoolReleaseError` or `PoolClosedError`. */
  releaseUnsafe(trace: Trace): void
  /** Whether `trace` is borrowed from this pool right now. */
  isOutstanding(trace: Trace): boolean
  /** A snapshot of the counters. */
  statsUnsafe(): PoolStats
  /** Counts every borrowed trace as returned (`reclaimed`), empties the pool and refuses further use. Idempotent. */
  closeUnsafe(): void
  /** `acquireUnsafe` as an Effect. */
  readonly acquire: Effect.Effect<Trace, PoolClosedError>
  /** `releaseUnsafe` as an Effect. */
  release(trace: Trace): Effect.Effect<void, PoolReleaseError | PoolClosedError>
  /** `statsUnsafe` as an Effect. */
  readonly stats: Effect.Effect<PoolStats>
  /** A trace borrowed for the current scope, returned when the scope closes (unless already returned). */
  readonly withTrace: Effect.Effect<Trace, PoolClosedError, Scope.Scope>
}

// One per trace the pool has made: `out` says whether it is borrowed now.
interface Slot {
  readonly trace: Trace
  out: boolean
}

class Pool implements TracePoolShape {
  readonly capacity: number
  closed = false
  readonly idle: Array<Slot> = []
  // Membership: every trace the pool made maps to its slot, so a return costs one WeakMap
  // lookup (no Set insert/delete churn) and still tells a double return (slot not out) from a
  // foreign one (no slot). Dropped traces keep their slot until they are garbage.
  readonly slots = new WeakMap<Trace, Slot>()
  outstanding = 0
  hits = 0
  misses = 0
  returns = 0
  drops = 0
  reclaimed = 0
  highWaterMark = 0
  readonly acquire: Effect.Effect<Trace, PoolClosedError>
  readonly stats: Effect.Effect<PoolStats>
  readonly withTrace: Effect.Effect<Trace, PoolClosedError, Scope.Scope>

  constructor(capacity: number) {
    this.capacity = capacity
    this.acquire = Effect.suspend(() =>
      this.closed ? Effect.fail(new PoolClosedError({ operation: "acquire" })) : Effect.succeed(this.acquireUnsafe())
    )
    this.stats = Effect.sync(() => this.statsUnsafe())
    this.withTrace = Effect.acquireRelease(this.acquire, (trace) =>
      Effect.sync(() => {
        if (this.isOutstanding(trace)) this.releaseUnsafe(trace)
      }))
  }

  acquireUnsafe(): Trace {
    if (this.closed) throw new PoolClosedError({ operation: "acquire" })
    let slot = this.idle.pop()
    if (slot === undefined) {
      slot = { trace: new Trace(), out: true }
      this.slots.set(slot.trace, slot)
      this.misses++
    } else {
      slot.out = true
      this.hits++
    }
    if (++this.outstanding > this.highWaterMark) this.highWaterMark = this.outstanding
    return slot.trace
  }

  releaseUnsafe(trace: Trace): void {
    if (this.closed) throw new PoolClosedError({ operation: "release" })
    const slot = this.slots.get(trace)
    if (slot === undefined || !slot.out) {
      throw new PoolReleaseError({
        reason: slot === undefined ? "foreign" : "double-release",
        traceSize: trace instanceof Trace ? trace.size : -1
      })
    }
    slot.out = false
    this.outstanding--
    this.returns++
    // Cleared on the way in, so idle traces hold no choices and a stale reader sees nothing.
    trace.clear()
    if (this.idle.length < this.capacity) this.idle.push(slot)
    else this.drops++
  }

  isOutstanding(trace: Trace): boolean {
    return !this.closed && this.slots.get(trace)?.out === true
  }

  release(trace: Trace): Effect.Effect<void, PoolReleaseError | PoolClosedError> {
    return Effect.suspend(() => {
      try {
        this.releaseUnsafe(trace)
        return Effect.void
      } catch (error) {
        if (error instanceof PoolReleaseError || error instanceof PoolClosedError) return Effect.fail(error)
        return Effect.die(error)
      }
    })
  }

  statsUnsafe(): PoolStats {
    return {
      hits: this.hits,
      misses: this.misses,
      allocations: this.misses,
      returns: this.returns,
      drops: this.drops,
      reclaimed: this.reclaimed,
      outstanding: this.outstanding,
      highWaterMark: this.highWaterMark,
      idle: this.idle.length,
      capacity: this.capacity
    }
  }

  closeUnsafe(): void {
    if (this.closed) return
    this.closed = true
    // Borrowed traces are left as they are (a caller may still read a result from one); the
    // pool only stops counting them.
    this.reclaimed += this.outstanding
    this.outstanding = 0
    this.idle.length = 0
  }
}

const DEFAULT_CAPACITY = 1024

const OPTION_KEYS: ReadonlyArray<string> = ["capacity"]

const validate = (options: TracePoolOptions | undefined): number => {
  if (options === undefined) return DEFAULT_CAPACITY
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidPoolOptionsError({ option: "options", value: options, reason: "must be an object { capacity? }" })
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new InvalidPoolOptionsError({
        option: key,
        value: (options as Record<string, unknown>)[key],
        reason: `unknown option; valid: ${OPTION_KEYS.join(", ")}`
      })
    }
  }
  const capacity = options.capacity === undefined ? DEFAULT_CAPACITY : options.capacity
  if (typeof capacity !== "number" || !Number.isSafeInteger(capacity) || capacity < 0) {
    throw new InvalidPoolOptionsError({ option: "capacity", value: capacity, reason: "must be an integer >= 0" })
  }
  return capacity
}

/**
 * A new pool, outside any scope: the caller closes it (`closeUnsafe`) when done. Throws
 * `InvalidPoolOptionsError` for a bad option.
 *
 * @example
 * const pool = TracePool.makeUnsafe({ capacity: 64 })
 * const trace = pool.acquireUnsafe()
 * pool.releaseUnsafe(trace)
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: TracePoolOptions): TracePoolShape => new Pool(validate(options))

/**
 * A pool tied to the current scope: closed (every borrowed trace reclaimed, the idle list
 * emptied) when the scope closes.
 *
 * @example
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const pool = yield* TracePool.make({ capacity: 64 })
 *   return pool.acquireUnsafe().size
 * }))
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: TracePoolOptions): Effect.Effect<TracePoolShape, InvalidPoolOptionsError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      try {
        return Effect.succeed(makeUnsafe(options))
      } catch (error) {
        return error instanceof InvalidPoolOptionsError ? Effect.fail(error) : Effect.die(error)
      }
    }),
    (pool) => Effect.sync(() => pool.closeUnsafe())
  )

/**
 * The trace pool as an Effect service.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const pool = yield* TracePool
 *   const trace = yield* pool.acquire
 *   yield* pool.release(trace)
 *   return yield* pool.stats
 * }).pipe(Effect.provide(TracePool.layer({ capacity: 64 })))
 *
 * @category services
 * @since 0.1.0
 */
export class TracePool extends Context.Service<TracePool, TracePoolShape>()("@fugue/memory/TracePool") {
  /** A pool with the default capacity (1024), closed when the layer's scope closes. */
  static readonly layerDefault: Layer.Layer<TracePool> = Layer.effect(TracePool, Effect.orDie(make()))
  /** A pool built with `options`, closed when the layer's scope closes. */
  static layer(options?: TracePoolOptions): Layer.Layer<TracePool, InvalidPoolOptionsError> {
    return Layer.effect(TracePool, make(options))
  }
}

/**
 * Borrows a trace from the context's pool.
 *
 * @example
 * const trace = yield* TracePool.acquire
 *
 * @category services
 * @since 0.1.0
 */
export const acquire: Effect.Effect<Trace, PoolClosedError, TracePool> = TracePool.use((pool) => pool.acquire)

/**
 * Returns a trace to the context's pool.
 *
 * @example
 * yield* TracePool.release(trace)
 *
 * @category services
 * @since 0.1.0
 */
export const release = (trace: Trace): Effect.Effect<void, PoolReleaseError | PoolClosedError, TracePool> =>
  TracePool.use((pool) => pool.release(trace))

/**
 * The context's pool counters.
 *
 * @example
 * const { hits, misses, highWaterMark } = yield* TracePool.stats
 *
 * @category services
 * @since 0.1.0
 */
export const stats: Effect.Effect<PoolStats, never, TracePool> = TracePool.use((pool) => pool.stats)

/**
 * Borrows a trace from the context's pool for the current scope; it goes back when the
 * scope closes.
 *
 * @example
 * Effect.scoped(Effect.gen(function* () {
 *   const trace = yield* TracePool.withTrace
 *   // … fill and read the trace; it is returned when this scope ends
 * }))
 *
 * @category services
 * @since 0.1.0
 */
export const withTrace: Effect.Effect<Trace, PoolClosedError, TracePool | Scope.Scope> = TracePool.use((pool) =>
  pool.withTrace
)
