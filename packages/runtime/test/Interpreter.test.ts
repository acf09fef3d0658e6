import { Normal, observe, Rng as CoreRng, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { run } from "../src/Handler.ts"
import { PriorHandler } from "../src/handlers/Prior.ts"
import { Interpreter } from "../src/Interpreter.ts"
import { Rng, withSeed } from "../src/Rng.ts"
import * as Trace from "../src/Trace.ts"

const model: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  yield* observe("y", Normal(mu, 1), 0.5)
  return mu
}

const runWith = <E, R>(layer: Layer.Layer<Interpreter, E, R>) =>
  Effect.gen(function*() {
    const interpreter = yield* Interpreter
    return yield* interpreter.run(model)
  }).pipe(Effect.provide(layer))

describe("Interpreter service", () => {
  it.effect("layerPrior runs the prior handler on a stream split from the seeded Rng", () =>
    Effect.gen(function*() {
      const [mu, trace] = yield* runWith(Interpreter.layerPrior).pipe(withSeed(42))
      // The interpreter's stream is the first split of the service's generator.
      const expected = run(new PriorHandler(CoreRng.make(42).split()), model)
      expect(mu).toBe(expected[0])
      expect(trace.totalLogWeight).toBe(expected[1].totalLogWeight)
    }))

  it.effect("layerCondition wraps whatever interpreter is below it", () =>
    Effect.gen(function*() {
      const layer = Interpreter.layerCondition({ mu: 0.25 }).pipe(Layer.provide(Interpreter.layerPrior))
      const [mu, trace] = yield* runWith(layer).pipe(Effect.provide(Rng.layer))
      expect(mu).toBe(0.25)
      expect(Trace.get(trace, "mu")).toBeUndefined()
      expect(trace.logLikelihood).toBeCloseTo(Normal(0, 1).logProb(0.25) + Normal(0.25, 1).logProb(0.5), 12)
    }))

  it.effect("layerScore reproduces a recorded trace's weight, and puts a missing address in the error channel", () =>
    Effect.gen(function*() {
      const [, recorded] = run(new PriorHandler(CoreRng.make(3)), model)
      const [, scored] = yield* runWith(Interpreter.layerScore(recorded))
      expect(scored.totalLogWeight).toBe(recorded.totalLogWeight)
      const exit = yield* Effect.exit(runWith(Interpreter.layerScore(Trace.make())))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(runWith(Interpreter.layerScore(Trace.make())))
      expect(error._tag).toBe("MissingAddressError")
    }))

  it.effect("an invalid distribution built inside a model is a typed failure, not a defect", () =>
    Effect.gen(function*() {
      const bad: Model<void> = function*() {
        const s = yield* sample("s", Normal(0, 1))
        yield* observe("y", Normal(0, s > 100 ? 1 : -1), 0)
      }
      const error = yield* Effect.flip(
        Effect.gen(function*() {
          return yield* (yield* Interpreter).run(bad)
        }).pipe(Effect.provide(Interpreter.layerPrior), withSeed(1))
      )
      expect(error._tag).toBe("InvalidDistributionError")
    }))

  it.effect("runUnsafe and run agree, and the same seed gives the same trace", () =>
    Effect.gen(function*() {
      const a = yield* runWith(Interpreter.layerPrior).pipe(withSeed(7))
      const b = yield* runWith(Interpreter.layerPrior).pipe(withSeed(7))
      expect(Trace.toJSON(a[1])).toEqual(Trace.toJSON(b[1]))
      const viaUnsafe = yield* Effect.gen(function*() {
        return (yield* Interpreter).runUnsafe(model)
      }).pipe(Effect.provide(Interpreter.layerPrior), withSeed(7))
      expect(viaUnsafe[0]).toBe(a[0])
    }))
})
