// The parent side of chains on worker threads, for every MCMC algorithm (NUTS, HMC, MH), built on
// Effect's worker platform with Node's worker_threads (`@effect/platform-node`). One mechanism
// serves both forms: a run with `workers: n` and no pool spawns n workers in its own scope
// (closing it, or interrupting the run, asks every worker to close and terminates it); a
// `Workers.Pool` spawns them once in its layer's scope and lends them to run after run. Either
// way a run holds each worker it uses (one run per worker at a time), deals its chains out to
// whichever worker is free (chain i runs on stream i wherever it runs, so the dealing does not
// change the draws), relays each worker's progress reports to the `Progress` service, and
// rebuilds a failure as the typed error it was in the worker. Every message carries its run's
// id, so a late message of an interrupted run never reaches the next one. Interrupting a run
// asks each of its workers to stop the chain in hand (`Stop`, answered by `Stopped` once the
// chain's fiber is interrupted: at its next 5 ms time slice) and gives the workers back, still
// running and warm. Each algorithm merges its chains' outputs itself. The worker side is
// chainWorker.ts.
//
// An algorithm whose workers must meet at barriers (SMC: advance every batch to the next
// observation, resample in the parent, go on) holds its workers for a *session* instead
// (`withSession`): each `call` sends one step's request (`Call`) to one worker and waits for
// its answer, the worker keeping the run's state between calls; the same inboxes, progress
// relay, error rebuilding and `Stop` serve it, and `Stop` (sent to every worker when the
// session ends, however it ends) also drops the worker's state of the run.
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import { InvalidDistributionError } from "@fugue/core/Distribution"
import { MemoKeyError } from "@fugue/core/Memo"
import { ImproperPriorError } from "@fugue/core/distributions/Flat"
import { InvalidFactorError } from "@fugue/core/Model"
import { InvalidCombinatorError } from "@fugue/runtime/Combinators"
import { InstructionLimitError, InvalidModelError, ModelCodeError, NotAnInstructionError, ObservationTypeError } from "@fugue/runtime/Execution"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { ChoiceTypeError, MissingAddressError } from "@fugue/runtime/Trace"
import type * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Worker from "effect/workers/Worker"
import type { WorkerError } from "effect/workers/WorkerError"
import { Worker as ThreadWorker } from "node:worker_threads"
import { Progress, type Report } from "../Progress.ts"
import { type ModelRef, threads } from "../Workers.ts"
import { CLASSES, type InferenceError } from "./attempt.ts"

/** To a worker: run one chain of run `run`; or stop run `run`'s chain in hand. */
export type Request =
  | {
    readonly _tag: "Run"
    readonly run: number
    readonly algorithm: string
    readonly ref: ModelRef
    /** The run's options (structured-clonable: no functions), with the seed fixed. */
    readonly options: object
    readonly chain: number
  }
  | {
    readonly _tag: "Call"
    readonly run: number
    readonly algorithm: string
    /** The step's request, the algorithm's own (structured-clonable; typed arrays transferred). */
    readonly op: unknown
  }
  | { readonly _tag: "Stop"; readonly run: number }

/** A typed error, as plain data (its tag, fields and message). */
export interface ErrorData {
  readonly tag: string
  readonly fields: Record<string, unknown>
  readonly message: string
}

/** From a worker, about run `run`. */
export type Response =
  | { readonly _tag: "Progress"; readonly run: number; readonly report: Report }
  | { readonly _tag: "Done"; readonly run: number; readonly output: unknown }
  | { readonly _tag: "Failed"; readonly run: number; readonly chain: number; readonly error: ErrorData }
  | { readonly _tag: "Stopped"; readonly run: number }

// the model errors (`isModelError`), which cross as they are: a `ModelCodeError` keeps its `where`
// (algorithm, chain, iteration, address) and its cause (an Error, structured-cloned)
const MODEL_ERRORS: ReadonlyArray<abstract new(...args: never) => unknown> = [
  DuplicateAddressError, MissingAddressError, ChoiceTypeError, InvalidDistributionError, ImproperPriorError, InvalidFactorError,
  InstructionLimitError, NotAnInstructionError, ObservationTypeError, ModelCodeError, InvalidModelError, InvalidCombinatorError,
  MemoKeyError
]

/** A worker's error, rebuilt as its own typed class where it is an inference or model error (else a defect). */
let byTag: Map<string, (typeof CLASSES)[number]> | undefined
const classOf = (tag: string): (typeof CLASSES)[number] | undefined => {
  if (byTag === undefined) {
    byTag = new Map()
    for (const C of [...CLASSES, ...MODEL_ERRORS]) {
      try {
        const probe = new (C as unknown as new(fields: object) => { readonly _tag: string })({})
        byTag.set(probe._tag, C)
      } catch {
        // a class that cannot be built without its fields is not rebuilt
      }
    }
  }
  return byTag.get(tag)
}

const rebuild = (e: ErrorData): Effect.Effect<never, InferenceError> => {
  const C = classOf(e.tag)
  if (C !== undefined) return Effect.fail(new (C as unknown as new(fields: Record<string, unknown>) => InferenceError)(e.fields))
  const error = new Error(e.message)
  error.name = e.tag
  return Effect.die(error)
}

// the worker entry beside this module: .ts in the workspace, .js in a built package
const WORKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./chainWorker.ts" : "./chainWorker.js", import.meta.url)

const spawnThread = (): ThreadWorker => {
  const thread = new ThreadWorker(WORKER_URL)
  threads.live++
  thread.once("exit", () => threads.live--)
  return thread
}

const platform = NodeWorker.layer(spawnThread)

/** A worker thread as runs see it: held by one run at a time, its messages routed to that run. */
export interface ChainWorker {
  readonly worker: Worker.Worker<Response, Request>
  readonly lock: Semaphore.Semaphore
  /** The holding run's inbox. */
  listener: ((message: Response) => void) | undefined
  /** Why the worker is gone (it exited or failed), once it is. */
  lost: Cause.Cause<WorkerError> | undefined
}

/** How long an interrupted run waits for a worker to say its chain has stopped (it does within a time slice). */
const STOP_WAIT_MS = 2_000

/**
 * Spawns `n` workers whose lifetimes are `scope`'s, and waits until each has loaded its modules
 * and said it is ready.
 */
export const spawnWorkers = (n: number, scope: Scope.Scope): Effect.Effect<Array<ChainWorker>, WorkerError> =>
  Effect.gen(function*() {
    const spawner = yield* Worker.WorkerPlatform
    return yield* Effect.forEach(
      Array.from({ length: n }, (_, id) => id),
      (id) =>
        Effect.gen(function*() {
          const worker = yield* spawner.spawn<Response, Request>(id)
          const handle: ChainWorker = { worker, lock: Semaphore.makeUnsafe(1), listener: undefined, lost: undefined }
          const ready = Deferred.makeUnsafe<void>()
          const fiber = yield* worker.run((message) => Effect.sync(() => handle.listener?.(message)), { onSpawn: Deferred.succeed(ready, undefined) }).pipe(
            Effect.onError((cause) =>
              Effect.sync(() => {
                handle.lost = cause as Cause.Cause<WorkerError>
                handle.listener?.({ _tag: "Stopped", run: -1 })
              })
            ),
            Effect.forkIn(scope)
          )
          yield* Effect.raceFirst(Deferred.await(ready), Fiber.join(fiber))
          return handle
        }),
      { concurrency: "unbounded" }
    )
  }).pipe(Effect.provide(platform))

let runs = 0

/**
 * Runs chains 0 … chains − 1 of a named model on the given workers (each held for the whole
 * run); their outputs, in chain order.
 */
const runOn = <Output>(algorithm: string, ref: ModelRef, options: object, chains: number, workers: ReadonlyArray<ChainWorker>): Effect.Effect<Array<Output>, InferenceError | WorkerError> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const run = ++runs
    const outputs = new Array<Output>(chains)
    let next = 0
    const serve = (w: ChainWorker) =>
      Effect.gen(function*() {
        const inbox = yield* Queue.unbounded<Response>()
        let inFlight = false
        w.listener = (m) => {
          if (m.run === -1) Queue.offerUnsafe(inbox, m) // the worker is lost
          else if (m.run !== run) return // a late message of an earlier, interrupted run
          else if (m._tag === "Progress") progress.report(m.report)
          else Queue.offerUnsafe(inbox, m)
        }
        const stopped: Effect.Effect<void> = Effect.flatMap(Queue.take(inbox), (m) => m._tag === "Stopped" ? Effect.void : stopped)
        const stop: Effect.Effect<void> = Effect.suspend(() =>
          !inFlight || w.lost !== undefined
            ? Effect.void
            : Effect.andThen(Effect.ignore(w.worker.send({ _tag: "Stop", run })), Effect.asVoid(Effect.timeoutOption(stopped, STOP_WAIT_MS)))
        )
        yield* Effect.gen(function*() {
          // (w.lost changes while the run waits: read through a call, not narrowed)
          const lost = (): Cause.Cause<WorkerError> | undefined => w.lost
          while (next < chains && lost() === undefined) {
            const chain = next++
            inFlight = true
            yield* w.worker.send({ _tag: "Run", run, algorithm, ref, options, chain })
            const message = yield* Queue.take(inbox)
            inFlight = false
            const gone = lost()
            if (gone !== undefined) return yield* Effect.failCause(gone)
            if (message._tag === "Failed") return yield* rebuild(message.error)
            if (message._tag === "Done") outputs[chain] = message.output as Output
          }
          const gone = lost()
          if (gone !== undefined && next < chains) return yield* Effect.failCause(gone)
        }).pipe(
          Effect.onInterrupt(() => stop),
          Effect.ensuring(Effect.sync(() => (w.listener = undefined)))
        )
      }).pipe(w.lock.withPermits(1))
    yield* Effect.forEach(workers, serve, { concurrency: "unbounded", discard: true })
    return outputs
  })

/**
 * Runs chains 0 … chains − 1 of a named model on the pool's first `workers` workers (all of them
 * when undefined), or, with no pool, on `workers` fresh workers spawned for this run alone;
 * their outputs, in chain order.
 */
export const runChains = <Output>(algorithm: string, ref: ModelRef, options: object, chains: number, workers: number | undefined, pool: { readonly workers: ReadonlyArray<ChainWorker> } | undefined): Effect.Effect<Array<Output>, InferenceError | WorkerError> => {
  if (pool !== undefined) {
    const n = Math.max(1, Math.min(chains, workers ?? pool.workers.length, pool.workers.length))
    return runOn<Output>(algorithm, ref, options, chains, pool.workers.slice(0, n))
  }
  return Effect.scoped(
    Effect.flatMap(Effect.scope, (scope) => spawnWorkers(Math.min(chains, workers ?? 1), scope)).pipe(
      Effect.flatMap((spawned) => runOn<Output>(algorithm, ref, options, chains, spawned))
    )
  )
}

/** The calls of a session: `call(w, op)` sends `op` to the session's worker w and waits for its answer. */
export interface Session {
  readonly size: number
  readonly call: <Output>(w: number, op: unknown, transfers?: ReadonlyArray<ArrayBuffer>) => Effect.Effect<Output, InferenceError | WorkerError>
}

/**
 * Runs `body` holding `workers` (in their pool order, so two sessions never deadlock) for one
 * session of `algorithm`. When it ends, however it ends, every worker is told to `Stop` (which
 * drops its state of the run); a worker with a call in flight is waited for (it stops at its
 * next time slice), so an interrupted or failed session leaves no work running; fresh workers
 * (`waitForStop` false) are not waited for, since closing their scope terminates them.
 */
const sessionOn = <A, E>(
  algorithm: string,
  workers: ReadonlyArray<ChainWorker>,
  body: (session: Session) => Effect.Effect<A, E>,
  waitForStop = true
): Effect.Effect<A, E | InferenceError | WorkerError> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const run = ++runs
    const inboxes = yield* Effect.forEach(workers, () => Queue.unbounded<Response>())
    const inFlight = workers.map(() => false)
    workers.forEach((w, i) => {
      w.listener = (m) => {
        if (m.run === -1) Queue.offerUnsafe(inboxes[i]!, m) // the worker is lost
        else if (m.run !== run) return // a late message of an earlier run
        else if (m._tag === "Progress") progress.report(m.report)
        else Queue.offerUnsafe(inboxes[i]!, m)
      }
    })
    const call = <Output>(i: number, op: unknown, transfers?: ReadonlyArray<ArrayBuffer>): Effect.Effect<Output, InferenceError | WorkerError> =>
      Effect.gen(function*() {
        const w = workers[i]!
        const lost = (): Cause.Cause<WorkerError> | undefined => w.lost
        if (lost() !== undefined) return yield* Effect.failCause(lost()!)
        inFlight[i] = true
        yield* w.worker.send({ _tag: "Call", run, algorithm, op }, transfers)
        const message = yield* Queue.take(inboxes[i]!)
        inFlight[i] = false
        const gone = lost()
        if (gone !== undefined) return yield* Effect.failCause(gone)
        if (message._tag === "Failed") return yield* rebuild(message.error)
        if (message._tag !== "Done") return yield* Effect.die(new Error(`${algorithm} on workers: worker ${i} answered ${message._tag} to a call`))
        return message.output as Output
      })
    const close = Effect.forEach(workers, (w, i) =>
      Effect.suspend(() => {
        if (w.lost !== undefined) return Effect.void
        const inbox = inboxes[i]!
        const stopped: Effect.Effect<void> = Effect.flatMap(Queue.take(inbox), (m) => m._tag === "Stopped" ? Effect.void : stopped)
        const ask = Effect.ignore(w.worker.send({ _tag: "Stop", run }))
        return inFlight[i] && waitForStop ? Effect.andThen(ask, Effect.asVoid(Effect.timeoutOption(stopped, STOP_WAIT_MS))) : ask
      }), { concurrency: "unbounded", discard: true }).pipe(
        Effect.ensuring(Effect.sync(() => workers.forEach((w) => (w.listener = undefined))))
      )
    return yield* Effect.ensuring(body({ size: workers.length, call }), close)
  }).pipe((effect) => workers.reduceRight((inner, w) => w.lock.withPermits(1)(inner), effect))

/**
 * A session of `algorithm` on the pool's first `workers` workers (all of them when undefined),
 * or, with no pool, on `workers` fresh workers spawned for this session alone.
 */
export const withSession = <A, E>(
  algorithm: string,
  workers: number,
  pool: { readonly workers: ReadonlyArray<ChainWorker> } | undefined,
  body: (session: Session) => Effect.Effect<A, E>
): Effect.Effect<A, E | InferenceError | WorkerError> => {
  if (pool !== undefined) return sessionOn(algorithm, pool.workers.slice(0, Math.max(1, Math.min(workers, pool.workers.length))), body)
  return Effect.scoped(
    Effect.flatMap(Effect.scope, (scope) => spawnWorkers(workers, scope)).pipe(
      // fresh workers are terminated when the scope closes: no need to wait for a busy one to stop
      Effect.flatMap((spawned) => sessionOn(algorithm, spawned, body, false))
    )
  )
}

/** A pool's workers and the scope they live in (closing it terminates them). */
export const openPool = (size: number): Effect.Effect<{ readonly workers: ReadonlyArray<ChainWorker>; readonly close: Effect.Effect<void> }, WorkerError> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make("parallel")
    const workers = yield* spawnWorkers(size, scope).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))
    return { workers, close: Scope.close(scope, Exit.void) }
  })
