// The compiled (or taped) log density that MH's fast path steps on and IS scores a proposal's
// draws with, built once and in `LogDensity.building`'s steps, so that a caller working in time
// slices can be interrupted between two steps of a large model's build (each discovery attempt,
// the recording, the compilation, each verification point). It is undefined where the model has
// no such density (discrete or vector sites, plain arithmetic on latents, randomness in the
// transform, a changing structure) or only finite differences, which are not faster than running
// the model: such models take their algorithm's generic path.
import type { Model } from "@fugue/core/Model"
import type { Transform } from "@fugue/runtime/Combinators"
import * as LogDensity from "../LogDensity.ts"

/** The density, built once and in steps. */
export interface LazyDensity {
  /** Advances the build until it is done (true) or the clock passes `deadline` (false). */
  build(deadline: number): boolean
  /** Once built: the compiled (or taped) density, or undefined where the model has none worth using. */
  readonly value: LogDensity.LogDensity | undefined
  /**
   * Whether the build ran the model with `Ad` nodes as latent values (a recording): false where
   * plain-number runs showed the recording could only find plain arithmetic on latent values
   * (`LogDensity`'s plain-arithmetic check), where the build was not enabled, or where it failed
   * before recording.
   */
  readonly recorded: boolean
  /** Whether the build is still to start (enabled, not begun, not declined). */
  readonly untouched: boolean
  /** Decides, before the build starts, that there is no density (the caller proved it: MH's plain-arithmetic check). */
  decline(): void
}

/** A density to build for `model` under `transform`; with `enabled` false, none (built at once). */
export const lazyDensity = (
  model: Model<unknown>,
  options: { readonly enabled: boolean; readonly transform: Transform | undefined; readonly maxInstructions: number | undefined }
): LazyDensity => {
  let build: { advance(deadline: number): LogDensity.LogDensity | undefined; readonly recorded: boolean } | undefined = undefined
  let recorded = false
  let done = false
  let value: LogDensity.LogDensity | undefined = undefined
  const finish = (density: LogDensity.LogDensity | undefined): boolean => {
    done = true
    recorded = build?.recorded ?? false
    value = density !== undefined && density.gradientSource === "finite-differences" ? undefined : density
    build = undefined
    return true
  }
  return {
    get value() {
      return value
    },
    get recorded() {
      return recorded
    },
    get untouched() {
      return !done && build === undefined && options.enabled
    },
    decline() {
      if (build === undefined) finish(undefined)
    },
    build(deadline) {
      if (done) return true
      if (!options.enabled) return finish(undefined)
      build ??= LogDensity.building(model, { transform: options.transform, maxInstructions: options.maxInstructions })
      try {
        const density = build.advance(deadline)
        return density === undefined ? false : finish(density)
      } catch (error) {
        // a typed error (discrete or vector site, changing structure, randomness, the model's own
        // errors): not a fixed-structure continuous model, so the generic path, which reports the
        // model's errors itself; anything else is a bug and propagates
        if (typeof (error as { _tag?: unknown } | null)?._tag === "string") return finish(undefined)
        throw error
      }
    }
  }
}
