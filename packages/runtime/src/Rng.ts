/**
 * The random-number service. Library code asks the context for randomness instead of
 * creating generators: `Rng.layer` is seeded with 0, `Rng.layerSeeded(seed)` with a seed of
 * your choice, and `Rng.withSeed(seed)` provides one to an effect. Each consumer (an
 * interpreter, an inference run) takes its own stream with `split`, which jumps the
 * service's generator 2^64 steps, so streams never overlap, and the streams a run hands its
 * chains depend only on the run's stream and the chain's index: results are the same
 * whatever the concurrency.
 *
 * @since 0.1.0
 */
import * as CoreRng from "@fugue/core/Rng"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The service's interface.
 *
 * @category services
 * @since 0.1.0
 */
export interface RngShape {
  /** The seed the service was built from. */
  readonly seed: number
  /** A new independent stream, synchronously (advances the service's generator). */
  splitUnsafe(): CoreRng.Rng
  /** A new independent stream. */
  readonly split: Effect.Effect<CoreRng.Rng>
}

/**
 * Seeded randomness as an Effect service.
 *
 * @example
 * const program = Effect.gen(function* () {
 *   const rng = yield* (yield* Rng).split
 *   return rng.uniform()
 * }).pipe(Rng.withSeed(42))
 *
 * @category services
 * @since 0.1.0
 */
export class Rng extends Context.Service<Rng, RngShape>()("@fugue/runtime/Rng") {
  /** The default: seeded with 0. */
  static readonly layer: Layer.Layer<Rng> = Layer.sync(Rng, () => make(0))
  /** Seeded with `seed`. */
  static layerSeeded(seed: number): Layer.Layer<Rng> {
    return Layer.sync(Rng, () => make(seed))
  }
}

/**
 * Builds the service's value from a seed.
 *
 * @example
 * const service = make(7); service.splitUnsafe().uniform()
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (seed: number): RngShape => {
  const root = CoreRng.make(seed)
  const splitUnsafe = () => root.split()
  return { seed, splitUnsafe, split: Effect.sync(splitUnsafe) }
}

/**
 * Provides a seeded `Rng` to an effect.
 *
 * @example
 * Mh.run(model, { samples: 1000 }).pipe(Rng.withSeed(42))
 *
 * @category layers
 * @since 0.1.0
 */
export const withSeed = (seed: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Rng>> =>
  Effect.provide(self, Rng.layerSeeded(seed))

/**
 * A stream from the context's `Rng`, or one seeded with 0 when none is provided.
 *
 * @example
 * const rng = yield* Rng.stream
 *
 * @category services
 * @since 0.1.0
 */
export const stream: Effect.Effect<CoreRng.Rng> = Effect.flatMap(
  Effect.serviceOption(Rng),
  (service) => service._tag === "Some" ? service.value.split : Effect.sync(() => CoreRng.make(0).split())
)
