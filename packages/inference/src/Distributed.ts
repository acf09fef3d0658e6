/**
 * Long inference jobs on Effect's cluster (`effect/cluster`): a NUTS run as a cluster entity
 * (`SamplingJob`, one entity per job), which checkpoints its chains into a `CheckpointStore` as it
 * goes and, when it is started again after its runner was lost, resumes from the last checkpoint,
 * to the same draws as a run that never stopped. The model is named (`Workers.named`) so that any
 * runner can import it; the result travels as `Export.toJSON`'s lossless text. Provide the
 * entity layer (`layerSamplingJob`) over a cluster layer: `TestRunner.layer` in one process, or
 * a networked runner (`@effect/platform-node`'s NodeClusterSocket / HTTP runners with shared
 * storage) in production.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import { randomBytes } from "node:crypto"
import { readFileSync, renameSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { deserialize, serialize } from "node:v8"
import * as Export from "./Export.ts"
import type { Checkpoint } from "./internal/hmcRun.ts"
import * as Nuts from "./Nuts.ts"
import type { Posterior } from "./Posterior.ts"
import * as Workers from "./Workers.ts"

/**
 * Where a job's latest checkpoint is kept, by job id: in memory (`layerMemory`, for one process
 * and tests) or in files (`layerFiles(dir)`, written atomically with `v8.serialize`), or any store
 * shared by the runners.
 *
 * @example
 * Effect.provide(Distributed.CheckpointStore.layerMemory)
 *
 * @category services
 * @since 0.2.0
 */
export class CheckpointStore extends Context.Service<CheckpointStore, {
  readonly load: (job: string) => Checkpoint | undefined
  readonly save: (job: string, checkpoint: Checkpoint) => void
}>()("@fugue/inference/Distributed/CheckpointStore") {
  /** Checkpoints in this process's memory. */
  static readonly layerMemory: Layer.Layer<CheckpointStore> = Layer.sync(CheckpointStore, () => {
    const saved = new Map<string, Uint8Array>()
    return {
      load: (job) => {
        const bytes = saved.get(job)
        return bytes === undefined ? undefined : (deserialize(bytes) as Checkpoint)
      },
      save: (job, checkpoint) => void saved.set(job, serialize(checkpoint))
    }
  })
  /** Checkpoints as files in `dir` (one per job, replaced atomically). */
  static layerFiles(dir: string): Layer.Layer<CheckpointStore> {
    const file = (job: string) => join(dir, `${encodeURIComponent(job)}.checkpoint`)
    return Layer.succeed(CheckpointStore, {
      load: (job) => {
        try {
          return deserialize(readFileSync(file(job))) as Checkpoint
        } catch {
          return undefined
        }
      },
      save: (job, checkpoint) => {
        const temporary = `${file(job)}.${randomBytes(6).toString("hex")}.tmp`
        writeFileSync(temporary, serialize(checkpoint))
        renameSync(temporary, file(job))
      }
    })
  }
}

/** The job's request: the named model (`args` null for a plain export), the NUTS options (JSON data, with a seed), the checkpoint interval. */
export const Sample = Rpc.make("Sample", {
  payload: {
    module: Schema.String,
    export: Schema.String,
    args: Schema.Unknown,
    options: Schema.Unknown,
    every: Schema.Number
  },
  success: Schema.String
})

/**
 * The sampling job entity: `Sample` runs NUTS on the named model, checkpointing every `every`
 * iterations into the `CheckpointStore` under the entity's id, resuming from its last checkpoint.
 *
 * @example
 * const client = (yield* Distributed.SamplingJob.client)("job-42")
 *
 * @category models
 * @since 0.2.0
 */
export const SamplingJob = Entity.make("FugueSamplingJob", [Sample])

/**
 * The entity's handlers, to provide over a cluster layer (with a `CheckpointStore`).
 *
 * @example
 * Distributed.layerSamplingJob.pipe(Layer.provideMerge(TestRunner.layer), Layer.provide(Distributed.CheckpointStore.layerMemory))
 *
 * @category layers
 * @since 0.2.0
 */
export const layerSamplingJob = SamplingJob.toLayer(
  Effect.gen(function*() {
    const store = yield* CheckpointStore
    const address = yield* Entity.CurrentAddress
    return SamplingJob.of({
      Sample: ({ payload }) =>
        Effect.gen(function*() {
          const job = String(address.entityId)
          const ref: Workers.ModelRef = { module: payload.module, export: payload.export, args: (payload.args ?? undefined) as ReadonlyArray<unknown> | undefined }
          const model = yield* Effect.promise(() => Workers.load(ref))
          const resume = store.load(job)
          const options = payload.options as Nuts.Options
          const post = yield* Nuts.run(model, {
            ...options,
            ...(resume === undefined ? {} : { resume }),
            checkpoint: { every: payload.every, onCheckpoint: (c) => store.save(job, c) }
          })
          return Export.toJSON(post)
        }).pipe(Effect.orDie)
    })
  })
)

/**
 * Runs (or resumes) sampling job `job` on the cluster and reads its posterior back. The model must
 * be named (`Workers.named`), the options must hold data only and a `seed`.
 *
 * @example
 * const post = yield* Distributed.sample("job-42", eightSchools, { samples: 1000, chains: 4, seed: 1 }, 100)
 *
 * @category constructors
 * @since 0.2.0
 */
export const sample = (job: string, model: unknown, options: Nuts.Options, every = 100) =>
  Effect.gen(function*() {
    const ref = Workers.refOf(model)
    if (ref === undefined) return yield* Effect.fail(new Workers.UnnamedModelError({ algorithm: "NUTS" }))
    const client = (yield* SamplingJob.client)(job)
    const text = yield* client.Sample({ module: ref.module, export: ref.export, args: ref.args ?? null, options: JSON.parse(JSON.stringify(options)), every })
    return Export.fromJSON(text) as Posterior<unknown, Record<string, never>>
  })
