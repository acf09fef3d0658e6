/**
 * Option checking shared by every algorithm: invalid options (0 samples, a negative
 * threshold, …) are rejected before any work with `InvalidOptionsError`, which names the
 * algorithm, the option and the value. Also the other typed inference errors.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

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
    return `${this.algorithm}: invalid option ${this.option} = ${String(this.value)} (${this.reason})`
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
