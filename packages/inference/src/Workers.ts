/**
 * Chains on worker threads. A worker is a separate JavaScript realm: a model (a closure) cannot
 * be sent to it, so a model that is to run on workers is *named*: the module that exports it, the
 * export's name, and (for a model built by a factory) the JSON-serialisable arguments. `named`
 * returns the model itself, tagged with that name, so the same value runs in-thread too. With
 * `workers` set, `Nuts.run` / `Hmc.run` spawn that many Node worker threads (Effect's worker
 * platform, `@effect/platform-node`), acquired in the run's scope, so interrupting the run or
 * closing its scope terminates every worker; each worker imports the model by its name and runs
 * whole chains; draws come back as transferred `Float64Array`s. Chain i uses stream i of the seed
 * wherever it runs, so the draws are bit-identical to the in-thread run's, whatever the number of
 * workers. Starting a worker costs its module loading (a few hundred milliseconds): below a
 * second or so of sampling, in-thread is faster.
 *
 * @since 0.2.0
 */
import type { Model } from "@fugue/core/Model"
import * as Data from "effect/Data"

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
