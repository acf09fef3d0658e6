/**
 * The interpreter service: runs models under a handler chosen by a layer. `runUnsafe(model)`
 * is the plain synchronous loop (for inference inner loops); `run(model)` is the same wrapped
 * once in `Effect.sync`, with the model's typed errors (duplicate or missing address, wrong
 * type, invalid distribution, a draw from an improper prior) in the error channel. Handlers
 * compose as layers: `Interpreter.layerCondition(data)` wraps whatever interpreter is provided below it, and the
 * stack of wrapping layers reaches inference: `Mh.run`, `Is.run`, `Smc.run` apply the
 * context's `transform` to their own handlers, so `Mh.run(model, options)` provided with
 * `Interpreter.layerCondition({ y: 2 })` samples the conditioned posterior.
 *
 * @since 0.1.0
 */
import { InvalidDistributionError } from "@fugue/core/Distribution"
import { ImproperPriorError } from "@fugue/core/distributions/Flat"
import { MemoKeyError } from "@fugue/core/Memo"
import { InvalidFactorError, type Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Combinators from "./Combinators.ts"
import { InstructionLimitError, InvalidModelError, ModelCodeError, NotAnInstructionError, ObservationTypeError } from "./Execution.ts"
import { DuplicateAddressError, run, type Handler } from "./Handler.ts"
import { PriorHandler } from "./handlers/Prior.ts"
import { ReplayHandler } from "./handlers/Replay.ts"
import { SafeReplayHandler } from "./handlers/SafeReplay.ts"
import { SafeScoreGivenTrace } from "./handlers/SafeScore.ts"
import { ScoreGivenTrace } from "./handlers/Score.ts"
import { Rng } from "./Rng.ts"
import { ChoiceTypeError, MissingAddressError, type Trace } from "./Trace.ts"

/**
 * The typed errors a model run can raise.
 *
 * @category errors
 * @since 0.1.0
 */
export type ModelError =
  | DuplicateAddressError
  | MissingAddressError
  | ChoiceTypeError
  | InvalidDistributionError
  | ImproperPriorError
  | InvalidFactorError
  | InstructionLimitError
  | NotAnInstructionError
  | ObservationTypeError
  | ModelCodeError
  | InvalidModelError
  | Combinators.InvalidCombinatorError
  | MemoKeyError

/**
 * Whether a thrown value is one of the typed model errors.
 *
 * @example
 * try { runUnsafe(model) } catch (e) { if (isModelError(e)) console.log(e._tag) }
 *
 * @category errors
 * @since 0.1.0
 */
export const isModelError = (u: unknown): u is ModelError =>
  u instanceof DuplicateAddressError || u instanceof MissingAddressError || u instanceof ChoiceTypeError ||
  u instanceof InvalidDistributionError || u instanceof ImproperPriorError || u instanceof InvalidFactorError ||
  u instanceof InstructionLimitError || u instanceof NotAnInstructionError || u instanceof ObservationTypeError ||
  u instanceof ModelCodeError || u instanceof InvalidModelError || u instanceof Combinators.InvalidCombinatorError ||
  u instanceof MemoKeyError

/**
 * Runs a synchronous thunk once as an Effect: errors that `isTyped` accepts go to the error
 * channel, anything else is a defect. Inference uses it with its own wider set of errors.
 *
 * @example
 * const attemptModel = attemptWith(isModelError)
 *
 * @category services
 * @since 0.1.0
 */
export const attemptWith = <E>(isTyped: (u: unknown) => u is E) => <A>(thunk: () => A): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(thunk())
    } catch (error) {
      return isTyped(error) ? Effect.fail(error) : Effect.die(error)
    }
  })

/**
 * Runs a synchronous thunk once as an Effect: typed model errors go to the error channel,
 * anything else is a defect.
 *
 * @example
 * const eff = attempt(() => run(new PriorHandler(rng), model))
 *
 * @category services
 * @since 0.1.0
 */
export const attempt: <A>(thunk: () => A) => Effect.Effect<A, ModelError> = attemptWith(isModelError)

/**
 * The service's interface.
 *
 * @category services
 * @since 0.1.0
 */
export interface InterpreterShape {
  /** A fresh handler for one execution. */
  makeHandler(): Handler<Trace>
  /**
   * The combinator layers above the base handler, as one transformation: inference applies it
   * to its own handlers (MH proposals, SMC particles, …), so the layers change what is inferred.
   */
  readonly transform: Combinators.Transform
  /** Runs the model synchronously (throws the typed errors). */
  runUnsafe<A>(model: Model<A>): [A, Trace]
  /** Runs the model once inside `Effect.sync`. */
  run<A>(model: Model<A>): Effect.Effect<[A, Trace], ModelError>
}

/**
 * Builds an interpreter from a handler factory.
 *
 * @example
 * const prior = make(() => new PriorHandler(CoreRng.make(1)))
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (makeHandler: () => Handler<Trace>, transform: Combinators.Transform = Combinators.identity): InterpreterShape => {
  const runUnsafe = <A>(model: Model<A>): [A, Trace] => run(makeHandler(), model)
  return { makeHandler, transform, runUnsafe, run: (model) => attempt(() => runUnsafe(model)) }
}

type Values = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>

const wrap = (t: Combinators.Transform): Layer.Layer<Interpreter, never, Interpreter> =>
  Layer.effect(
    Interpreter,
    Effect.gen(function*() {
      const below = yield* Interpreter
      const transform: Combinators.Transform = (h, rng) => t(below.transform(h, rng), rng)
      const rng = CoreRng.make(0)
      return make(() => t(below.makeHandler(), rng), transform)
    })
  )

const wrapDrawing = (t: Combinators.Transform): Layer.Layer<Interpreter, never, Interpreter | Rng> =>
  Layer.effect(
    Interpreter,
    Effect.gen(function*() {
      const below = yield* Interpreter
      const own = yield* (yield* Rng).split
      const transform: Combinators.Transform = (h, rng) => t(below.transform(h, rng), rng)
      return make(() => t(below.makeHandler(), own), transform)
    })
  )

const withStream = (
  f: (rng: CoreRng.Rng) => () => Handler<Trace>,
  tag: typeof Interpreter = Interpreter
): Layer.Layer<Interpreter, never, Rng> =>
  Layer.effect(
    tag,
    Effect.gen(function*() {
      const rng = yield* (yield* Rng).split
      return make(f(rng))
    })
  )

/**
 * Runs models under a handler chosen by a layer.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const interpreter = yield* Interpreter
 *   return yield* interpreter.run(model)
 * }).pipe(Effect.provide(Interpreter.layerPrior), Effect.provide(Rng.layerSeeded(1)))
 *
 * @category services
 * @since 0.1.0
 */
export class Interpreter extends Context.Service<Interpreter, InterpreterShape>()("@fugue/runtime/Interpreter") {
  /** Draws from the prior (`PriorHandler`), with a stream split from `Rng`. */
  static readonly layerPrior: Layer.Layer<Interpreter, never, Rng> = withStream((rng) => () => new PriorHandler(rng), this)
  /** Replays `base`, fresh draws elsewhere (`ReplayHandler`). */
  static layerReplay(base: Trace): Layer.Layer<Interpreter, never, Rng> {
    return withStream((rng) => () => new ReplayHandler(rng, base))
  }
  /** Replays `base`, redrawing mismatched sites (`SafeReplayHandler`). */
  static layerSafeReplay(base: Trace): Layer.Layer<Interpreter, never, Rng> {
    return withStream((rng) => () => new SafeReplayHandler(rng, base))
  }
  /** Scores the complete trace `base` (`ScoreGivenTrace`). */
  static layerScore(base: Trace): Layer.Layer<Interpreter> {
    return Layer.succeed(Interpreter, make(() => new ScoreGivenTrace(base)))
  }
  /** Scores `base`, −∞ for missing or mismatched sites (`SafeScoreGivenTrace`). */
  static layerSafeScore(base: Trace): Layer.Layer<Interpreter, never, Rng> {
    return withStream((rng) => () => new SafeScoreGivenTrace(base, rng))
  }
  /** Wraps the interpreter below: sample sites in `data` become observations. */
  static layerCondition(data: Values): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.condition(h, data))
  }
  /** Wraps the interpreter below: sample sites in `values` are fixed and scored. */
  static layerSubstitute(values: Values): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.substitute(h, values))
  }
  /** Wraps the interpreter below: sites in `values` are intervened on (`do`). */
  static layerIntervene(values: Values): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.intervene(h, values))
  }
  /** Wraps the interpreter below: log probabilities at matching sites are multiplied by `by`. */
  static layerScale(by: number, where?: Combinators.Selector): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.scale(h, by, where))
  }
  /** Wraps the interpreter below: observations at matching sites are dropped. */
  static layerMask(where: Combinators.Selector): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.mask(h, where))
  }
  /**
   * Wraps the interpreter below: matching sites are drawn here and hidden from it (`block`).
   * Plain runs draw them from a stream split from `Rng`; inference draws them from each chain's
   * own stream.
   */
  static layerBlock(hide: Combinators.Selector): Layer.Layer<Interpreter, never, Interpreter | Rng> {
    return wrapDrawing((h, rng) => Combinators.block(h, hide, rng))
  }
  /**
   * Wraps the interpreter below: every sample site is drawn from a stream seeded with `seed`
   * and handed down as a fixed value (`seed`), so the model's randomness does not depend on the
   * handler below or on the algorithm's seed. Each plain execution starts the stream afresh;
   * under inference each chain (or particle population) has one such stream.
   */
  static layerSeed(seed: number): Layer.Layer<Interpreter, never, Interpreter> {
    return wrap((h) => Combinators.seed(h, CoreRng.make(seed)))
  }
}

/**
 * The transformation the `Interpreter` in the context applies (identity when there is none):
 * what inference wraps around its own handlers.
 *
 * @example
 * const transform = yield* Interpreter.currentTransform
 *
 * @category services
 * @since 0.1.0
 */
export const currentTransform: Effect.Effect<Combinators.Transform> = Effect.map(
  Effect.serviceOption(Interpreter),
  (service) => (service._tag === "Some" ? service.value.transform : Combinators.identity)
)
