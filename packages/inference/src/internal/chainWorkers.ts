// The parent side of chains on worker threads, for every MCMC algorithm (NUTS, HMC, MH), built on
// Effect's worker platform with Node's worker_threads (`@effect/platform-node`): spawns the
// workers in a scope (closing it, or interrupting the run, asks every worker to close and
// terminates it), deals the chains out in turn, relays each worker's progress reports to the
// `Progress` service, and rebuilds a failure as the typed error it was in the worker. Each
// algorithm merges its chains' outputs itself. The worker side is chainWorker.ts.
import * as NodeWorker from "@effect/platform-node/NodeWorker"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Worker from "effect/workers/Worker"
import { Worker as ThreadWorker } from "node:worker_threads"
import { Progress, type Report } from "../Progress.ts"
import type { ModelRef } from "../Workers.ts"
import { CLASSES, type InferenceError } from "./attempt.ts"


/** To a worker: run one chain of this run. */
export interface Request {
  readonly algorithm: string
  readonly ref: ModelRef
  /** The run's options (structured-clonable: no functions), with the seed fixed. */
  readonly options: object
  readonly chain: number
}

/** A typed error, as plain data (its tag, fields and message). */
export interface ErrorData {
  readonly tag: string
  readonly fields: Record<string, unknown>
  readonly message: string
}

/** From a worker. */
export type Response =
  | { readonly _tag: "Progress"; readonly report: Report }
  | { readonly _tag: "Done"; readonly output: unknown }
  | { readonly _tag: "Failed"; readonly chain: number; readonly error: ErrorData }

/** A worker's error, rebuilt as its own typed class where it is one of the inference errors (else a defect). */
let byTag: Map<string, (typeof CLASSES)[number]> | undefined
const classOf = (tag: string): (typeof CLASSES)[number] | undefined => {
  if (byTag === undefined) {
    byTag = new Map()
    for (const C of CLASSES) {
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

/** Runs chains 0 … chains − 1 of a named model on `workers` threads; their outputs, in chain order. */
export const runChains = <Output>(algorithm: string, ref: ModelRef, options: object, chains: number, workers: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const platform = yield* Worker.WorkerPlatform
      const progress = yield* Progress
      const outputs = new Array<Output>(chains)
      yield* Effect.forEach(
        Array.from({ length: workers }, (_, w) => w),
        (w) =>
          Effect.gen(function*() {
            const worker = yield* platform.spawn<Response, Request>(w)
            const results = yield* Queue.unbounded<Response>()
            yield* Effect.forkScoped(
              worker.run((message: Response) =>
                message._tag === "Progress" ? Effect.sync(() => progress.report(message.report)) : Queue.offer(results, message)
              )
            )
            for (let chain = w; chain < chains; chain += workers) {
              yield* worker.send({ algorithm, ref, options, chain })
              const message = yield* Queue.take(results)
              if (message._tag === "Failed") return yield* rebuild(message.error)
              if (message._tag === "Done") outputs[chain] = message.output as Output
            }
          }),
        { concurrency: "unbounded", discard: true }
      )
      return outputs
    })
  ).pipe(Effect.provide(NodeWorker.layer(() => new ThreadWorker(WORKER_URL))))
