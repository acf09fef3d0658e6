/**
 * The prior interpreter drawing into pooled traces. `PooledPriorHandler` is runtime's
 * `PriorHandler` whose trace is borrowed from a `TracePool` instead of allocated: the same
 * draws, the same weights, the same `DuplicateAddressError`, and the same per-instruction
 * code, except that `factor` rejects a log weight that is not a number with core's
 * `InvalidFactorError` (as the `factor` instruction does) instead of adding it (`"1"` would
 * concatenate). The caller owns the trace it gets back and returns it with
 * `pool.releaseUnsafe(trace)` once done with it (after copying out what it needs); until then
 * the pool counts it as outstanding. `runUnsafe` runs one model and returns the trace to the pool if the model
 * throws; `run` is the Effect version, whose trace goes back when the current scope closes.
 * Pool for bounded, observable trace memory rather than speed: the per-instruction cost is
 * `PriorHandler`'s, but borrowing and returning add a fixed cost per run (measured ≈ 70–80 ns,
 * about half of it `Trace.clear`), which V8's young-generation allocation of a fresh trace
 * does not pay; on a model with a handful of sites a pooled run is slower.
 *
 * @since 0.1.0
 */
import { InvalidFactorError, type Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { run as runHandler } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { attempt, type ModelError } from "@fugue/runtime/Interpreter"
import { stream } from "@fugue/runtime/Rng"
import type { Trace } from "@fugue/runtime/Trace"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type PoolClosedError, TracePool, type TracePoolShape } from "./TracePool.ts"

/**
 * Draws from the prior into a trace borrowed from `pool` (at construction). The caller
 * returns the trace: `pool.releaseUnsafe(handler.finish())`.
 *
 * **Details**: as `PriorHandler`: sample adds log p(x) to `logPrior`; observe adds log p(y)
 * to `logLikelihood`; factor adds its weight to `logFactors` (a weight that is not a number
 * throws `InvalidFactorError` naming it). A repeated sample address throws
 * `DuplicateAddressError`. The borrowed trace starts cleared (all weights 0); `trace` passes
 * one already borrowed from `pool` (as `PooledPrior.run` does).
 *
 * @example
 * const [result, trace] = run(new PooledPriorHandler(Rng.make(1), pool), model)
 * use(trace)
 * pool.releaseUnsafe(trace)
 *
 * @category handlers
 * @since 0.1.0
 */
export class PooledPriorHandler extends PriorHandler {
  readonly pool: TracePoolShape
  constructor(rng: Rng, pool: TracePoolShape, trace: Trace = pool.acquireUnsafe()) {
    super(rng, trace)
    this.pool = pool
  }
  override factor(logWeight: number): void {
    if (typeof logWeight !== "number") throw new InvalidFactorError({ value: logWeight })
    this.trace.logFactors += logWeight
  }
}

/**
 * Runs `model` once under a `PooledPriorHandler`. If the model throws, the trace goes back
 * to the pool before the error propagates; otherwise the caller releases it.
 *
 * @example
 * const [result, trace] = PooledPrior.runUnsafe(pool, rng, model)
 * pool.releaseUnsafe(trace)
 *
 * @category handlers
 * @since 0.1.0
 */
export const runUnsafe = <A>(pool: TracePoolShape, rng: Rng, model: Model<A>): [A, Trace] => {
  const handler = new PooledPriorHandler(rng, pool)
  try {
    return runHandler(handler, model)
  } catch (error) {
    if (pool.isOutstanding(handler.trace)) pool.releaseUnsafe(handler.trace)
    throw error
  }
}

/**
 * Runs `model` once from the prior into a trace from the context's `TracePool`, with a
 * stream split from the context's `Rng` (seeded with 0 when none is provided). The trace is
 * returned to the pool when the current scope closes; model errors are in the error channel.
 *
 * @example
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const [result, trace] = yield* PooledPrior.run(model)
 *   return trace.totalLogWeight
 * })).pipe(Effect.provide(TracePool.layer()), Rng.withSeed(42))
 *
 * @category handlers
 * @since 0.1.0
 */
export const run = <A>(model: Model<A>): Effect.Effect<[A, Trace], ModelError | PoolClosedError, TracePool | Scope.Scope> =>
  Effect.gen(function*() {
    const pool = yield* TracePool
    const rng = yield* stream
    const trace = yield* pool.withTrace
    return yield* attempt(() => runHandler(new PooledPriorHandler(rng, pool, trace), model))
  })
