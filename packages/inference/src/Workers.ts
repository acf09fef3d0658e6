/**
 * Chains on worker threads. A worker is a separate JavaScript realm: a model (a closure) cannot
 * be sent to it, so a model that is to run on workers is *named*: the module that exports it, the
 * export's name, and (for a model built by a factory) the JSON-serialisable arguments. `named`
 * returns the model itself, tagged with that name, so the same value runs in-thread too. With
 * `workers` set, `Nuts.run` / `Hmc.run` / `Mh.run` spawn that many Node worker threads (Effect's
 * worker platform, `@effect/platform-node`), acquired in the run's scope, so interrupting the run
 * or closing its scope terminates every worker; each worker imports the model by its name and
 * runs whole chains; draws come back as transferred `Float64Array`s. Chain i uses stream i of the
 * seed wherever it runs, so the draws are bit-identical to the in-thread run's, whatever the
 * number of workers. Starting workers costs their module loading and a cold JIT (about 0.4 s for
 * two here), paid by every such run; a `Pool` (`Workers.Pool.layer(n)`) pays it once: its workers
 * live as long as its layer's scope, keep the models they imported and their warm JIT, and serve
 * every run of a named model in its context.
 *
 * @since 0.2.0
 */
import type { Model } from "@fugue/core/Model"
import { Rng as RngService } from "@fugue/runtime/Rng"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { WorkerError } from "effect/workers/WorkerError"
import { availableParallelism } from "node:os"
import type { ChainWorker } from "./internal/chainWorkers.ts"
import { InvalidOptionsError } from "./Options.ts"

const REF = Symbol.for("@fugue/inference/Workers/ref")

/**
 * Where a named model lives: a module specifier (a `file:` URL, e.g. `import.meta.url`, or a
 * package specifier), its export, and the arguments of a factory export.
 *
 * @example
 * const ref: Workers.ModelRef = { module: import.meta.url, export: "eightSchools", args: undefined }
 *
 * @category models
 * @since 0.2.0
 */
export interface ModelRef {
  readonly module: string
  readonly export: string
  /** JSON-serialisable arguments of a factory export (`export const model = (data) => function* …`); undefined: the export is the model. */
  readonly args: ReadonlyArray<unknown> | undefined
}

/**
 * A model was given `workers` but has no name a worker could import it by.
 *
 * @example
 * Effect.runPromise(Nuts.run(function* () {}, { samples: 10, workers: 2 })) // fails with UnnamedModelError
 *
 * @category errors
 * @since 0.2.0
 */
export class UnnamedModelError extends Data.TaggedError("UnnamedModelError")<{ readonly algorithm: string }> {
  override get message(): string {
    return `${this.algorithm}: a model passed as a closure cannot cross to worker threads: export it from a module and name it, e.g. export const model = Workers.named(import.meta.url, "model", function* () { … }) (or Workers.named(import.meta.url, "makeModel", makeModel, data) for a factory)`
  }
}

/**
 * A worker could not load a named model: the module or the export is missing, or the export is
 * not a model (or a factory of one).
 *
 * @example
 * // Workers.named(import.meta.url, "misspelt", model) run with workers: fails with ModelImportError
 *
 * @category errors
 * @since 0.2.0
 */
export class ModelImportError extends Data.TaggedError("ModelImportError")<{
  readonly module: string
  readonly export: string
  readonly reason: string
}> {
  override get message(): string {
    return `cannot load model "${this.export}" from ${this.module}: ${this.reason}`
  }
}

/**
 * Names a model so that workers can import it: `named(import.meta.url, "eightSchools", model)`
 * for an exported model, or `named(import.meta.url, "regression", regression, xs, ys)` for an
 * exported factory and its (JSON-serialisable) arguments. Returns the model, tagged.
 *
 * @example
 * export const eightSchools = Workers.named(import.meta.url, "eightSchools", function* () {
 *   const mu = yield* sample("mu", Normal(0, 5))
 *   // …
 * })
 * yield* Nuts.run(eightSchools, { samples: 1000, chains: 4, workers: 2, seed: 1 })
 *
 * @category constructors
 * @since 0.2.0
 */
export function named<A>(module: string, exportName: string, model: Model<A>): Model<A>
export function named<A, Args extends ReadonlyArray<unknown>>(module: string, exportName: string, factory: (...args: Args) => Model<A>, ...args: Args): Model<A>
export function named(module: string, exportName: string, value: (...args: Array<unknown>) => unknown, ...args: Array<unknown>): Model<unknown> {
  const model = (args.length === 0 ? value : value(...args)) as Model<unknown>
  const ref: ModelRef = { module, export: exportName, args: args.length === 0 ? undefined : args }
  // a factory's model is a fresh closure; a plain model is tagged where it is (it is its own export)
  const tagged = args.length === 0 ? model : ((() => model()) as Model<unknown>)
  Object.defineProperty(tagged, REF, { value: ref })
  return tagged
}

/**
 * The name of a model given by `named`, or undefined.
 *
 * @example
 * Workers.refOf(eightSchools)?.export // "eightSchools"
 *
 * @category getters
 * @since 0.2.0
 */
export const refOf = (model: unknown): ModelRef | undefined =>
  typeof model === "function" ? (model as unknown as Record<symbol, ModelRef | undefined>)[REF] : undefined

/**
 * Loads a named model (what a worker does): imports the module, takes the export, and calls it
 * with the arguments for a factory. Fails with `ModelImportError`.
 *
 * @example
 * const model = await Workers.load({ module: import.meta.url, export: "eightSchools", args: undefined })
 *
 * @category constructors
 * @since 0.2.0
 */
export const load = async (ref: ModelRef): Promise<Model<unknown>> => {
  let module: Record<string, unknown>
  try {
    module = (await import(ref.module)) as Record<string, unknown>
  } catch (error) {
    throw new ModelImportError({ module: ref.module, export: ref.export, reason: `the module did not load (${(error as Error)?.message ?? String(error)})` })
  }
  const value = module[ref.export]
  if (typeof value !== "function") throw new ModelImportError({ module: ref.module, export: ref.export, reason: value === undefined ? "no such export" : "the export is not a model" })
  if (ref.args === undefined) return value as Model<unknown>
  const model = (value as (...args: ReadonlyArray<unknown>) => unknown)(...ref.args)
  if (typeof model !== "function") throw new ModelImportError({ module: ref.module, export: ref.export, reason: "the factory did not return a model" })
  return model as Model<unknown>
}

/**
 * The worker threads Fugue has started in this process and that have not exited yet.
 *
 * @internal
 */
export const threads = { live: 0 }

/**
 * The number of worker threads Fugue has started in this process that are still running: a
 * pool's while its scope is open, a run's while it runs; 0 once every scope has closed.
 *
 * @example
 * await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
 *   yield* Layer.build(Workers.Pool.layer(2))
 *   Workers.liveThreads() // 2
 * })))
 * Workers.liveThreads() // 0
 *
 * @category getters
 * @since 0.2.0
 */
export const liveThreads = (): number => threads.live

/**
 * A pool's service: its size and (internal) its workers.
 *
 * @example
 * const pool = yield* Workers.Pool // under Workers.Pool.layer(2)
 * pool.size // 2
 *
 * @category models
 * @since 0.2.0
 */
export interface PoolShape {
  /** The number of worker threads. */
  readonly size: number
  /** @internal */
  readonly workers: ReadonlyArray<ChainWorker>
}

/**
 * A persistent pool of chain workers: `Workers.Pool.layer(n)` starts n worker threads once,
 * waits until each has loaded its modules, and keeps them until the layer's scope closes (which
 * terminates every one). In its context, `Nuts.run`, `Hmc.run` and `Mh.run` run the chains of a
 * named model on the pool instead of spawning workers (`workers: k` uses k of them, no
 * `workers` all of them); each worker imports a model on its first run and keeps it, with its
 * warm JIT, for the next. A run holds the workers it uses until it ends; interrupting it stops
 * its chains (within a time slice) and leaves the pool running. Unnamed models, runs with an
 * Interpreter layer or a `transform`, MH runs with `proposals`/`blocks`/`initial`, runs with
 * `checkpoint`/`resume`, and runs without a seed whose streams come from an `Rng` service stay
 * in-thread, unless `workers` asks for workers (which fails with the reason where
 * the run cannot cross).
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const a = yield* Nuts.run(eightSchools, { samples: 1000, chains: 4, seed: 1 }) // starts nothing
 *   const b = yield* Mh.run(eightSchools, { samples: 5000, chains: 4, seed: 2 })
 * })
 * await Effect.runPromise(program.pipe(Effect.provide(Workers.Pool.layer(2)))) // the pool closes here
 *
 * @category services
 * @since 0.2.0
 */
export class Pool extends Context.Service<Pool, PoolShape>()("@fugue/inference/Workers/Pool") {
  /**
   * A pool of `size` workers (`"auto"`: one per core), terminated when the layer's scope closes.
   * Fails with `InvalidOptionsError` for a size that is not an integer ≥ 1, with `WorkerError` if
   * a worker cannot start.
   *
   * @example
   * Effect.provide(program, Workers.Pool.layer(2))
   */
  static layer(size: number | "auto" = "auto"): Layer.Layer<Pool, InvalidOptionsError | WorkerError> {
    return Layer.effect(
      Pool,
      Effect.gen(function*() {
        const n = size === "auto" ? availableParallelism() : size
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
          return yield* Effect.fail(new InvalidOptionsError({ algorithm: "Workers.Pool", option: "size", value: size, reason: "must be an integer ≥ 1 or \"auto\"" }))
        }
        // the worker platform's modules load only when a pool (or a run on workers) needs them
        const Parallel = yield* Effect.promise(() => import("./internal/chainWorkers.ts"))
        const opened = yield* Effect.acquireRelease(Parallel.openPool(n), (pool) => pool.close)
        return Pool.of({ size: n, workers: opened.workers })
      })
    )
  }
}

/**
 * The pool a run uses: the one in the context when the run gives `workers` or, without
 * `workers`, when the model is named, the run is `eligible` (nothing that cannot cross to a
 * worker) and its streams do not come from an `Rng` service (a seed is given, or there is none).
 *
 * @internal
 */
export const poolFor = (model: unknown, workers: number | undefined, seed: number | undefined, eligible: boolean): Effect.Effect<PoolShape | undefined> =>
  Effect.gen(function*() {
    const pool = Option.getOrUndefined(yield* Effect.serviceOption(Pool))
    if (pool === undefined || workers !== undefined) return pool
    if (!eligible || refOf(model) === undefined) return undefined
    if (seed === undefined && Option.isSome(yield* Effect.serviceOption(RngService))) return undefined
    return pool
  })
