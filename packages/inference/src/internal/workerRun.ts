// What every algorithm's run on worker threads starts with (MH, IS, NUTS/HMC), kept apart from
// chainWorkers.ts so that it loads without the worker platform: the model's name (a closure
// cannot cross: `UnnamedModelError`), no handler transformation (functions cannot cross), the
// seed fixed (a fresh one when none was given, recorded in the posterior), and the transfer list
// of an output's draws.
import * as CoreRng from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import * as Effect from "effect/Effect"
import { InvalidOptionsError } from "../Options.ts"
import { type ModelRef, refOf, UnnamedModelError } from "../Workers.ts"

/** The named model and the run's seed, or the typed error that keeps the run in-thread-only. */
export const workerSetup = (
  algorithm: string,
  model: unknown,
  workers: unknown,
  seed: number | undefined,
  transform: Transform
): Effect.Effect<{ readonly ref: ModelRef; readonly seed: number }, UnnamedModelError | InvalidOptionsError> =>
  Effect.suspend((): Effect.Effect<{ readonly ref: ModelRef; readonly seed: number }, UnnamedModelError | InvalidOptionsError> => {
    const ref = refOf(model)
    if (ref === undefined) return Effect.fail(new UnnamedModelError({ algorithm }))
    if (transform !== identity) {
      return Effect.fail(new InvalidOptionsError({ algorithm, option: "workers", value: workers, reason: "handler transformations (the transform option, Interpreter layers) are functions and cannot cross to workers: put them in the named model" }))
    }
    return Effect.succeed({ ref, seed: seed ?? CoreRng.freshSeed() })
  })

/** The buffers of an output's value columns, log weights and numeric returns: transferred, not copied. */
export const transfersOfDraws = (o: {
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly logWeights: Float64Array
  readonly returns?: ReadonlyArray<unknown> | Float64Array
}, more: ReadonlyArray<ArrayBufferView> = []): Array<ArrayBuffer> =>
  [...new Set([...o.columns.map(([, c]) => c), o.logWeights, ...(o.returns instanceof Float64Array ? [o.returns] : []), ...more].map((a) => a.buffer as ArrayBuffer))]
