// Runs a synchronous piece of inference once as an Effect: the typed errors an inference run
// can raise (invalid options, zero weight, the model's own typed errors, a model without a
// usable log density, an enumeration, a simulation or an optimisation that cannot proceed) go to the error
// channel; anything else is a defect.
import { attemptWith, isModelError, type ModelError } from "@fugue/runtime/Interpreter"
import * as Effect from "effect/Effect"
import { DimensionError, GradientUnavailableError, InitializationError } from "../LogDensity.ts"
import { InvalidOptionsError, ZeroWeightError } from "../Options.ts"
import { SimulationError } from "./abcSimulator.ts"
import { DependentDiscreteError, DiscreteLatentError, RandomnessInDensityError, StructureChangedError } from "./density.ts"
import { NotEnumerableError, RandomnessInEnumerationError } from "./errors.ts"
import { NonFiniteDensityError, NotPositiveDefiniteError } from "./viCommon.ts"
import { GuideError } from "./viGuide.ts"
import { ModelImportError, UnnamedModelError } from "../Workers.ts"
import type { WorkerError } from "effect/workers/WorkerError"

/** Why a model has no log density an algorithm can use (`LogDensity.make` and what builds on it). */
export type DensityError =
  | DiscreteLatentError
  | DependentDiscreteError
  | StructureChangedError
  | RandomnessInDensityError
  | GradientUnavailableError
  | InitializationError
  | DimensionError

export type InferenceError =
  | InvalidOptionsError
  | ZeroWeightError
  | ModelError
  | DensityError
  | NotEnumerableError
  | RandomnessInEnumerationError
  | SimulationError
  | NonFiniteDensityError
  | NotPositiveDefiniteError
  | GuideError
  | UnnamedModelError
  | ModelImportError
  | WorkerError

export const CLASSES: ReadonlyArray<abstract new(...args: never) => unknown> = [
  InvalidOptionsError,
  ZeroWeightError,
  DiscreteLatentError,
  DependentDiscreteError,
  StructureChangedError,
  RandomnessInDensityError,
  GradientUnavailableError,
  InitializationError,
  DimensionError,
  NotEnumerableError,
  RandomnessInEnumerationError,
  SimulationError,
  NonFiniteDensityError,
  NotPositiveDefiniteError,
  GuideError,
  UnnamedModelError,
  ModelImportError
]

export const isInferenceError = (u: unknown): u is InferenceError => isModelError(u) || CLASSES.some((c) => u instanceof c)

export const attemptInference: <A>(thunk: () => A) => Effect.Effect<A, InferenceError> = attemptWith(isInferenceError)
