// The one Effect shell around every algorithm's synchronous kernel. An algorithm supplies
// `work(deadline)`, which does as much as it can before the clock (performance.now(), in ms)
// passes `deadline` and returns whether the whole run is finished; the shell calls it in
// slices of SLICE_MS inside `Effect.sync`-like attempts, maps thrown errors (typed inference
// and model errors to the error channel, anything else is a defect), reports progress after
// every slice and yields to the scheduler between slices, so interruption (`Effect.timeout`,
// `Fiber.interrupt`) takes effect within a few milliseconds even inside one long model
// execution (the driver pauses executions at the deadline, see @fugue/runtime/Execution).
//
// Also here: the per-run setup every algorithm shares (seeds and streams, the handler
// transformation from the context and the options, the run's trace pool).
import * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { compose, identity } from "@fugue/runtime/Combinators"
import { currentTransform } from "@fugue/runtime/Interpreter"
import type { Handler } from "@fugue/runtime/Handler"
import { makeUnsafe as makePoolUnsafe, type PoolStats, TracePool, type TracePoolShape } from "@fugue/memory/TracePool"
import { Rng as RngService } from "@fugue/runtime/Rng"
import { InvalidOptionsError } from "../Options.ts"
import * as Effect from "effect/Effect"
import { Progress, type Report } from "../Progress.ts"
import { attemptInference, type InferenceError } from "./attempt.ts"

/** Length of one slice of work between interruption points, in milliseconds. */
export const SLICE_MS = 5

export const now: () => number = () => performance.now()

/** Runs `work` in time slices until it reports that the run is finished. */
export const drive = (
  work: (deadline: number) => boolean,
  report: () => Report | undefined
): Effect.Effect<void, InferenceError> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    while (true) {
      const finished = yield* attemptInference(() => work(now() + SLICE_MS))
      const r = report()
      if (r !== undefined) progress.report(r)
      if (finished) return
      yield* Effect.yieldNow
    }
  })

/** The streams of a run and the seed that reproduces them (undefined when they come from an `Rng` service). */
export interface Streams {
  readonly rngs: Array<CoreRng.Rng>
  readonly seed: number | undefined
}

/** Synchronous runs: the seed given, or a fresh one (recorded in the posterior). */
export const streamsUnsafe = (seed: number | undefined, n: number): Streams => {
  const s = seed ?? CoreRng.freshSeed()
  return { rngs: CoreRng.streams(s, n), seed: s }
}

/**
 * Effect runs: the seed given; else streams split from the `Rng` service in the context (its
 * seed recorded); else a fresh seed, recorded.
 */
export const streams = (seed: number | undefined, n: number): Effect.Effect<Streams> =>
  Effect.gen(function*() {
    if (seed !== undefined) return { rngs: CoreRng.streams(seed, n), seed }
    const service = yield* Effect.serviceOption(RngService)
    if (service._tag === "None") return streamsUnsafe(undefined, n)
    const rngs: Array<CoreRng.Rng> = []
    for (let i = 0; i < n; i++) rngs.push(yield* service.value.split)
    return { rngs, seed: undefined }
  })

/** The transformation of an Effect run: the context's layers around the `transform` option. */
export const transformFor = (option: Transform | undefined): Effect.Effect<Transform> =>
  Effect.map(currentTransform, (fromContext) =>
    fromContext === identity ? option ?? identity : option === undefined ? fromContext : compose(fromContext, option))

/**
 * The stream a transformation draws from (`block`), derived from a chain's stream without
 * consuming it: the chain's own draws are the same with or without a transformation.
 */
export const sideStream = (rng: CoreRng.Rng): CoreRng.Rng => {
  const probe = rng.clone()
  return CoreRng.make(Math.floor(probe.uniform() * 9007199254740991))
}

/**
 * `transform(handler, rng)`, checked: what a transformation returns must be a handler (sample,
 * observe, factor, finish), else `InvalidOptionsError` naming the `transform` option — before
 * the model runs.
 */
export const wrapHandler = <Out>(algorithm: string, transform: Transform, handler: Handler<Out>, rng: CoreRng.Rng): Handler<Out> => {
  if (transform === identity) return handler
  const wrapped = transform(handler, rng) as Partial<Handler<Out>> | null | undefined
  if (
    typeof wrapped !== "object" || wrapped === null || typeof wrapped.sample !== "function" || typeof wrapped.observe !== "function" ||
    typeof wrapped.factor !== "function" || typeof wrapped.finish !== "function"
  ) {
    throw new InvalidOptionsError({
      algorithm,
      option: "transform",
      value: wrapped,
      reason: "must return a handler (sample, observe, factor, finish), e.g. (h) => Combinators.condition(h, data)"
    })
  }
  return wrapped as Handler<Out>
}

/**
 * How a run used its trace pool (`@fugue/memory/TracePool`), counted over the run: `hits +
 * misses` traces borrowed, `hitRate = hits / (hits + misses)` of them reused (0 when none was
 * borrowed), `returned` given back while the run went on (all of them, by the end of a run
 * that returns a posterior), and the pool's `highWaterMark`, the most traces out at once (with
 * a pool from the context, over the pool's whole life).
 */
export interface PoolUse {
  readonly hits: number
  readonly misses: number
  readonly hitRate: number
  readonly returned: number
  readonly highWaterMark: number
}

/** The counters of `pool` since `start` (a snapshot taken when the run began). */
export const poolUse = (pool: TracePoolShape, start: PoolStats): PoolUse => {
  const now = pool.statsUnsafe()
  const hits = now.hits - start.hits
  const misses = now.misses - start.misses
  return { hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses), returned: now.returns - start.returns, highWaterMark: now.highWaterMark }
}

// A run's own pool keeps every trace returned to it: idle and borrowed traces together never
// exceed the most borrowed at once, so no bound is needed, and a burst of returns (a quantile
// run's prune returns up to ⌈q·N⌉ + 16 at once) is reused instead of dropped and reallocated.
const ownPool = (): TracePoolShape => makePoolUnsafe({ capacity: Number.MAX_SAFE_INTEGER })

/** Synchronous runs: `body` gets a trace pool of its own, closed when it returns or throws. */
export const withPoolUnsafe = <A>(body: (pool: TracePoolShape) => A): A => {
  const pool = ownPool()
  try {
    return body(pool)
  } finally {
    pool.closeUnsafe()
  }
}

/**
 * Effect runs: `body` gets the `TracePool` service of the context, if there is one, else a pool
 * of the run's own, acquired in the run's scope with `Effect.acquireRelease` (closed when the
 * run ends, however it ends: every trace still borrowed is counted reclaimed). A pool from
 * the context outlives the run, so the algorithm gives back what it still borrows when it fails
 * or is interrupted (`returningAll`).
 */
export const withPool = <A, E, R>(
  body: (pool: TracePoolShape) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(TracePool), (service) =>
    service._tag === "Some"
      ? body(service.value)
      : Effect.scoped(Effect.flatMap(Effect.acquireRelease(Effect.sync(ownPool), (pool) => Effect.sync(() => pool.closeUnsafe())), body)))

/** `self`, and `returnAll()` when it fails or is interrupted (a run giving back the traces it borrows). */
export const returningAll = <A, E, R>(self: Effect.Effect<A, E, R>, returnAll: () => void): Effect.Effect<A, E, R> =>
  Effect.onExit(self, (exit) => (exit._tag === "Success" ? Effect.void : Effect.sync(returnAll)))
