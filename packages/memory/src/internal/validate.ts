// Checks shared by the memory package's numeric entry points. Each returns what is wrong (the
// field, the offending value and why) or undefined; the caller raises its own typed error, so
// every error class stays in the public module that raises it.
import { describe } from "@fugue/core/Value"
import type { ChoiceValue } from "@fugue/runtime/Trace"

export interface Problem {
  readonly field: "choice" | "address" | "value" | "logProb"
  readonly value: unknown
  readonly reason: string
}

/** A value a trace can hold: a number (not NaN), a boolean or a Float64Array. */
export const isChoiceValue = (value: unknown): value is ChoiceValue =>
  typeof value === "boolean" || (typeof value === "number" && value === value) || value instanceof Float64Array

/** What is wrong with writing `choice` at `address`, if anything. */
export const choiceProblem = (address: unknown, choice: unknown): Problem | undefined => {
  if (typeof choice !== "object" || choice === null) {
    return { field: "choice", value: choice, reason: "must be an object { address, value, logProb }" }
  }
  if (typeof address !== "string") return { field: "address", value: address, reason: "must be a string" }
  const c = choice as { readonly address?: unknown; readonly value?: unknown; readonly logProb?: unknown }
  if (c.address !== address) return { field: "address", value: c.address, reason: `differs from the address written` }
  if (!isChoiceValue(c.value)) {
    return { field: "value", value: c.value, reason: "must be a number (not NaN), a boolean or a Float64Array" }
  }
  const logProb = c.logProb
  if (typeof logProb !== "number" || logProb !== logProb) {
    return { field: "logProb", value: logProb, reason: "must be a number, not NaN" }
  }
  return undefined
}

/** Whether `x` is usable as a log weight increment: a number, not NaN (±∞ allowed). */
export const isLogWeight = (x: unknown): x is number => typeof x === "number" && x === x

/** A string field of an error as it is; anything else (only if misconstructed) described, never converted. */
export const text = (s: unknown): string => (typeof s === "string" ? s : describe(s))
