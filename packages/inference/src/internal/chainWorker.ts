// The worker side of chains on worker threads (see chainWorkers.ts): loads each named model once
// (cached for the worker's life, so a pooled worker imports a model on its first run only), runs
// the requested chain with its algorithm's own chain runner (the same stream, density and chain
// as in-thread, in time slices), posts its progress, and returns the chain's output with its
// typed arrays transferred. A failure goes back as plain data (its tag, fields and message), for
// the parent to rebuild as the same typed error. `Stop` interrupts the run's chain in hand (at
// its next time slice) and answers `Stopped`; the worker stays up for the next run. A session's
// `Call` (SMC's steps, smcWorkers.ts) runs one request against the run's state kept here between
// calls; `Stop` also drops that state.
import type { Model } from "@fugue/core/Model"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as WorkerRunner from "effect/workers/WorkerRunner"
import { Progress } from "../Progress.ts"
import * as Workers from "../Workers.ts"
import { runBlockForWorker, transfersOfIs } from "../Is.ts"
import { runChainForWorker, transfersOfMh } from "../Mh.ts"
import type { Request, Response } from "./chainWorkers.ts"
import { kindOf } from "./hmcKinds.ts"
import { type Batches, callForWorker, type Op } from "./smcWorkers.ts"
import { runChain, transfersOf } from "./hmcRun.ts"

/** Plain data of an error: its tag and its own fields, its cause included (functions dropped, what cannot be cloned as text). */
const errorData = (error: unknown): { tag: string; fields: Record<string, unknown>; message: string } => {
  const e = error as { _tag?: unknown; message?: unknown } | null
  const fields: Record<string, unknown> = {}
  if (typeof e === "object" && e !== null) {
    // an Error's cause is not enumerable (ModelCodeError keeps what the model threw there)
    const own: Array<[string, unknown]> = Object.entries(e)
    if (Object.hasOwn(e, "cause") && !own.some(([k]) => k === "cause")) own.push(["cause", (e as { cause?: unknown }).cause])
    for (const [k, v] of own) {
      if (k === "_tag" || typeof v === "function") continue
      try {
        structuredClone(v)
        fields[k] = v
      } catch {
        fields[k] = String(v)
      }
    }
  }
  return { tag: typeof e?._tag === "string" ? e._tag : "Error", fields, message: typeof e?.message === "string" ? e.message : String(error) }
}

const program = Effect.gen(function*() {
  const runner = yield* (yield* WorkerRunner.WorkerRunnerPlatform).start<Response, Request>()
  const models = new Map<string, Promise<unknown>>()
  // the chain each run has in hand here, by run id
  const running = new Map<number, Fiber.Fiber<unknown, unknown>>()
  // the SMC batches of the sessions in progress, by run id
  const batches: Batches = new Map()
  const loadModel = (ref: Workers.ModelRef): Effect.Effect<Model<unknown>, unknown> =>
    Effect.gen(function*() {
      const key = JSON.stringify(ref)
      let loading = models.get(key)
      if (loading === undefined) models.set(key, (loading = Workers.load(ref)))
      return yield* Effect.tryPromise({ try: () => loading as Promise<Model<unknown>>, catch: (error) => error })
    })
  yield* runner.run((port, request: Request) => {
    const send = (message: Response, transfers?: ReadonlyArray<unknown>) => runner.send(port, message, transfers)
    const run = request.run
    if (request._tag === "Stop") {
      const fiber = running.get(run)
      batches.delete(run)
      return Effect.andThen(fiber === undefined ? Effect.void : Fiber.interrupt(fiber), send({ _tag: "Stopped", run }))
    }
    const report = Layer.succeed(Progress, { report: (r) => runner.sendUnsafe(port, { _tag: "Progress", run, report: r }) })
    const job = request._tag === "Call"
      ? callForWorker(batches, run, request.op as Op, loadModel).pipe(
        Effect.provide(report),
        Effect.flatMap(({ output, transfers }) => send({ _tag: "Done", run, output }, transfers)),
        Effect.catch((error) => send({ _tag: "Failed", run, chain: 0, error: errorData(error) }))
      )
      : Effect.gen(function*() {
        const model = yield* loadModel(request.ref)
        if (request.algorithm === "IS") {
          const output = yield* runBlockForWorker(model as never, request.options as never, request.chain).pipe(Effect.provide(report))
          yield* send({ _tag: "Done", run, output }, transfersOfIs(output))
          return
        }
        if (request.algorithm === "MH") {
          const output = yield* runChainForWorker(model as never, request.options as never, request.chain).pipe(Effect.provide(report))
          yield* send({ _tag: "Done", run, output }, transfersOfMh(output))
          return
        }
        const kind = kindOf(request.algorithm)!
        const output = yield* runChain(kind, model as never, request.options as never, request.chain).pipe(Effect.provide(report))
        yield* send({ _tag: "Done", run, output }, transfersOf(output))
      }).pipe(Effect.catch((error) => send({ _tag: "Failed", run, chain: request.chain, error: errorData(error) })))
    return Effect.withFiber((fiber) => {
      running.set(run, fiber)
      return Effect.ensuring(job, Effect.sync(() => running.delete(run)))
    })
  })
})

Effect.runFork(program.pipe(Effect.provide(NodeWorkerRunner.layer)))
