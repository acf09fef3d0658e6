/**
 * Option checking shared by every algorithm: invalid options (0 samples, a negative
 * threshold, …) are rejected before any work with `InvalidOptionsError`, which names the
 * algorithm, the option and the value. Also the other typed inference errors.
 *
 * @since 0.1.0
 */
import { describe } from "@fugue/core/Value"
import type { Transform } from "@fugue/runtime/Combinators"
import * as Data from "effect/Data"

/**
 * An option was invalid; raised before any work is done.
 *
 * @example
 * Mh.runUnsafe(model, { samples: 0 }) // throws InvalidOptionsError { algorithm: "MH", option: "samples", value: 0 }
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidOptionsError extends Data.TaggedError("InvalidOptionsError")<{
  readonly algorithm: string
  readonly option: string
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    return this.reason.startsWith("unknown option")
      ? `${this.algorithm}: ${this.reason}`
      : `${this.algorithm}: invalid option ${this.option} = ${describe(this.value)} (${this.reason})`
  }
}

/**
 * Every particle, proposal or initial trace had weight −∞ (or NaN), so there is nothing to
 * normalise: the model's constraints cannot be met from the proposal.
 *
 * @example
 * Is.runUnsafe(impossibleModel, { particles: 100 }) // throws ZeroWeightError
 *
 * @category errors
 * @since 0.1.0
 */
export class ZeroWeightError extends Data.TaggedError("ZeroWeightError")<{
  readonly algorithm: string
  readonly attempts: number
  readonly detail: string
}> {
  override get message(): string {
    return `${this.algorithm}: all ${this.attempts} weights are -Infinity (${this.detail})`
  }
}

/** @internal */
export const positiveInteger = (algorithm: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: "must be an integer >= 1" })
  }
  return value
}

/** @internal */
export const nonNegativeInteger = (algorithm: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: "must be an integer >= 0" })
  }
  return value
}

/** @internal */
export const inRange = (algorithm: string, option: string, value: unknown, lower: number, upper: number): number => {
  if (typeof value !== "number" || !(value >= lower && value <= upper)) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: `must be a number in [${lower}, ${upper}]` })
  }
  return value
}

/** @internal */
export const oneOf = <T extends string>(algorithm: string, option: string, value: unknown, allowed: ReadonlyArray<T>): T => {
  if (!allowed.includes(value as T)) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: `must be one of ${allowed.join(", ")}` })
  }
  return value as T
}

/** Levenshtein distance, for "did you mean" suggestions. */
const editDistance = (a: string, b: string): number => {
  const la = a.length, lb = b.length
  let prev = Array.from({ length: lb + 1 }, (_, j) => j)
  for (let i = 1; i <= la; i++) {
    const cur = [i]
    for (let j = 1; j <= lb; j++) {
      const cost = a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    }
    prev = cur
  }
  return prev[lb]
}

/**
 * The closest of `candidates` to `key` (case-insensitive edit distance at most a third of the
 * key's length, at least 2), or undefined.
 *
 * @internal
 */
export const closest = (key: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.ceil(key.length / 3)) + 1
  for (const c of candidates) {
    const d = editDistance(key, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

/**
 * Rejects an options object that is not a plain object, or that has a key outside `known`,
 * naming the key and the closest valid one ("unknown option `warmUp`; did you mean `warmup`?").
 *
 * @internal
 */
export const checkKeys = (algorithm: string, options: unknown, known: ReadonlyArray<string>): void => {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError({ algorithm, option: "options", value: options, reason: "must be an object" })
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue
    const guess = closest(key, known)
    throw new InvalidOptionsError({
      algorithm,
      option: key,
      value: (options as Record<string, unknown>)[key],
      reason: `unknown option \`${key}\`${guess !== undefined ? `; did you mean \`${guess}\`?` : ""} (valid: ${known.join(", ")})`
    })
  }
}

/** @internal */
export const seedOption = (algorithm: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new InvalidOptionsError({ algorithm, option: "seed", value, reason: "must be a safe integer" })
  }
  return value
}

/** @internal */
export const transformOption = (algorithm: string, value: unknown): Transform | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== "function") {
    throw new InvalidOptionsError({
      algorithm,
      option: "transform",
      value,
      reason: "must be a handler transformation (handler, rng) => handler, e.g. (h) => Combinators.condition(h, data)"
    })
  }
  return value as Transform
}

/** @internal */
export const maxInstructionsOption = (algorithm: string, value: unknown): number | undefined =>
  value === undefined ? undefined : positiveInteger(algorithm, "maxInstructions", value)

/** @internal */
export const modelOption = (algorithm: string, value: unknown, option = "model"): void => {
  if (typeof value !== "function") {
    throw new InvalidOptionsError({ algorithm, option, value, reason: "must be a model (a generator function)" })
  }
}

/**
 * The options every algorithm takes besides its own: the seed, a handler transformation
 * applied to the algorithm's handlers (the synchronous twin of the `Interpreter` layers), and
 * the instruction limit per model execution.
 *
 * @example
 * const options: Options.Common = { seed: 1, transform: (h) => Combinators.condition(h, { y: 2 }) }
 *
 * @category models
 * @since 0.1.0
 */
export interface Common {
  /** Seed (a safe integer). Without one, `run` uses the `Rng` service's streams or, with none, a fresh seed; `runUnsafe` a fresh seed. The seed used is recorded in the posterior. */
  readonly seed?: number | undefined
  /** Combinators wrapped around the algorithm's handlers, e.g. `(h) => Combinators.condition(h, { y: 2 })`; inside `run` the context's `Interpreter` layers wrap this. */
  readonly transform?: Transform | undefined
  /** Instruction limit per model execution (default 10⁷): a model that never returns fails with InstructionLimitError. */
  readonly maxInstructions?: number | undefined
}

/** @internal */
export const COMMON_KEYS: ReadonlyArray<string> = ["seed", "transform", "maxInstructions"]
