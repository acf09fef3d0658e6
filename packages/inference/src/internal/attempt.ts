// Runs a synchronous piece of inference once as an Effect: the typed errors an inference run
// can raise (invalid options, zero weight, the model's own typed errors) go to the error
// channel; anything else is a defect.
import { attemptWith, isModelError, type ModelError } from "@fugue/runtime/Interpreter"
import { Effect } from "effect"
import { InvalidOptionsError, ZeroWeightError } from "../Options.ts"

export type InferenceError = InvalidOptionsError | ZeroWeightError | ModelError

export const isInferenceError = (u: unknown): u is InferenceError =>
  u instanceof InvalidOptionsError || u instanceof ZeroWeightError || isModelError(u)

export const attemptInference: <A>(thunk: () => A) => Effect.Effect<A, InferenceError> = attemptWith(isInferenceError)
