import { describe, expect, it } from "@effect/vitest"
import { addr, factor, Gamma, Normal, observe, sample } from "@fugue/core"
import { InvalidFactorError } from "@fugue/core/Model"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import { DuplicateAddressError, run } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { Interpreter } from "@fugue/runtime/Interpreter"
import { Rng } from "@fugue/runtime/Rng"
import type { Trace } from "@fugue/runtime/Trace"
import { Effect } from "effect"
import * as PooledPrior from "../src/PooledPrior.ts"
import { PooledPriorHandler } from "../src/PooledPrior.ts"
import { makeUnsafe, TracePool } from "../src/TracePool.ts"

// The seed model: Bayesian linear regression.
const xs = [1, 2, 3, 4, 5]
const ys = [2.1, 4.2, 5.8, 8.1, 10.3]
const linearRegression: Model<{ slope: number; intercept: number; noise: number }> = function*() {
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  for (let i = 0; i < xs.length; i++) {
    yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, Math.sqrt(noise)), ys[i])
  }
  return { slope, intercept, noise }
}

// Everything a trace records, for exact comparison (values and log probabilities per choice,
// and the three weights).
const snapshot = (t: Trace) => ({
  choices: t.choices.toArray().map(([k, c]) => [k, c.address, c.value, c.logProb]),
  logPrior: t.logPrior,
  logLikelihood: t.logLikelihood,
  logFactors: t.logFactors,
  totalLogWeight: t.totalLogWeight
})

describe("PooledPriorHandler", () => {
  it("gives the same traces as PriorHandler for the same seed, on fresh and on recycled traces", () => {
    const pool = makeUnsafe({ capacity: 2 })
    for (let seed = 0; seed < 200; seed++) {
      const [expectedResult, expected] = run(new PriorHandler(CoreRng.make(seed)), linearRegression)
      const [result, pooled] = run(new PooledPriorHandler(CoreRng.make(seed), pool), linearRegression)
      expect(result).toEqual(expectedResult)
      // toEqual on numbers is Object.is: bitwise-identical values, logProbs and weights
      expect(snapshot(pooled)).toEqual(snapshot(expected))
      expect(pooled.size).toBe(3)
      expect(Number.isFinite(pooled.totalLogWeight)).toBe(true)
      pool.releaseUnsafe(pooled)
    }
    // one allocation, then every run drew into the recycled trace
    expect(pool.statsUnsafe()).toMatchObject({ misses: 1, hits: 199, returns: 200, outstanding: 0, highWaterMark: 1 })
  })

  it("gives the same traces when several are borrowed at once", () => {
    const pool = makeUnsafe({ capacity: 8 })
    const traces: Array<Trace> = []
    for (let seed = 0; seed < 8; seed++) traces.push(run(new PooledPriorHandler(CoreRng.make(seed), pool), linearRegression)[1])
    expect(new Set(traces).size).toBe(8)
    traces.forEach((t, seed) => expect(snapshot(t)).toEqual(snapshot(run(new PriorHandler(CoreRng.make(seed)), linearRegression)[1])))
    for (const t of traces) pool.releaseUnsafe(t)
    expect(pool.statsUnsafe()).toMatchObject({ highWaterMark: 8, outstanding: 0, idle: 8 })
  })

  it("records observations and factors like PriorHandler", () => {
    const pool = makeUnsafe()
    const model: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Normal(x, 1), 0.5)
      yield* factor(-1.25)
      return x
    }
    const [, a] = run(new PriorHandler(CoreRng.make(3)), model)
    const [, b] = run(new PooledPriorHandler(CoreRng.make(3), pool), model)
    expect(snapshot(b)).toEqual(snapshot(a))
    expect(b.logFactors).toBe(-1.25)
    expect(b.logLikelihood).toBe(Normal(b.choices.get("x")!.value as number, 1).logProb(0.5))
  })

  it("factor rejects a log weight that is not a number with InvalidFactorError instead of concatenating it", () => {
    const pool = makeUnsafe()
    const handler = new PooledPriorHandler(CoreRng.make(1), pool)
    handler.factor(-1)
    for (const bad of ["1", undefined, null, 1n, Object.create(null), [1]]) {
      expect(() => handler.factor(bad as unknown as number)).toThrow(InvalidFactorError)
    }
    expect(() => handler.factor("1" as unknown as number)).toThrow(/got "1"/)
    expect(handler.finish().logFactors).toBe(-1)
    handler.factor(-Infinity)
    expect(handler.finish().logFactors).toBe(-Infinity)
    pool.releaseUnsafe(handler.finish())
  })

  it("a repeated address throws DuplicateAddressError, and runUnsafe returns the trace to the pool", () => {
    const pool = makeUnsafe()
    const twice: Model<void> = function*() {
      yield* sample("x", Normal(0, 1))
      yield* sample("x", Normal(0, 1))
    }
    expect(() => run(new PooledPriorHandler(CoreRng.make(1), pool), twice)).toThrow(new DuplicateAddressError({ address: "x" }))
    expect(pool.statsUnsafe().outstanding).toBe(1) // the bare handler leaves that to the caller
    expect(() => PooledPrior.runUnsafe(pool, CoreRng.make(1), twice)).toThrow(DuplicateAddressError)
    expect(pool.statsUnsafe()).toMatchObject({ outstanding: 1, returns: 1 })
    const [, t] = PooledPrior.runUnsafe(pool, CoreRng.make(7), linearRegression)
    expect(snapshot(t)).toEqual(snapshot(run(new PriorHandler(CoreRng.make(7)), linearRegression)[1]))
    expect(pool.statsUnsafe().outstanding).toBe(2)
  })

  it.effect("PooledPrior.run matches the prior interpreter for the same seed and returns the trace on scope close", () =>
    Effect.gen(function*() {
      const expected = yield* Effect.gen(function*() {
        const interpreter = yield* Interpreter
        return yield* interpreter.run(linearRegression)
      }).pipe(Effect.provide(Interpreter.layerPrior), Effect.provide(Rng.layerSeeded(42)))

      const pool = yield* TracePool
      const [result, snap, trace] = yield* Effect.scoped(Effect.gen(function*() {
        const [result, trace] = yield* PooledPrior.run(linearRegression)
        expect(pool.isOutstanding(trace)).toBe(true)
        return [result, snapshot(trace), trace] as const
      })).pipe(Effect.provide(Rng.layerSeeded(42)))
      expect(result).toEqual(expected[0])
      expect(snap).toEqual(snapshot(expected[1]))
      expect(pool.isOutstanding(trace)).toBe(false)
      expect(pool.statsUnsafe()).toMatchObject({ returns: 1, outstanding: 0 })

      // a model error lands in the error channel, and the trace still goes back
      const error = yield* Effect.flip(Effect.scoped(PooledPrior.run(function*() {
        yield* sample("x", Normal(0, 1))
        yield* sample("x", Normal(0, 1))
      })))
      expect(error).toMatchObject({ _tag: "DuplicateAddressError", address: "x" })
      expect(pool.statsUnsafe()).toMatchObject({ returns: 2, outstanding: 0 })
    }).pipe(Effect.provide(TracePool.layer({ capacity: 4 }))))
})
