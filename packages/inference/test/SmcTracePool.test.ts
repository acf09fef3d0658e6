// The general SMC engine's particles record into traces borrowed from the run's TracePool: the
// counts are exact consequences of the engine's bookkeeping (derived beside each assertion), and
// every trace goes back however the run ends.
import { addr, Bernoulli, factor, Normal, observe, sample, unfold } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as TracePool from "@fugue/memory/TracePool"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { ModelCodeError } from "@fugue/runtime/Execution"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import * as Smc from "../src/Smc.ts"

const ys = Array.from({ length: 20 }, (_, t) => Math.sin(t / 3))

const walk: Model<number> = function*() {
  let x = 0
  for (let t = 0; t < ys.length; t++) {
    x = yield* sample(addr("x", t), Normal(x, 1))
    yield* observe(addr("y", t), Normal(x, 1), ys[t])
  }
  return x
}

// two branches with different barrier counts: short executions finish early, and resampling
// then copies done particles too
const branches: Model<boolean> = function*() {
  const b = yield* sample("b", Bernoulli(0.5))
  for (let t = 0; t < (b ? 2 : 6); t++) {
    const x = yield* sample(addr("x", t), Normal(0, 1))
    yield* factor(-0.5 * x * x)
  }
  return b
}

describe("Smc: particles' traces come from a TracePool", () => {
  it("without rejuvenation, N traces are borrowed once: a particle with no descendant hands its trace to a copy", () => {
    // Resampling makes as many copies beyond an ancestor's first as there are particles with no
    // descendant, and every particle is bound to its execution when the population is resampled:
    // each copy takes a dead particle's handler and trace, so nothing goes back to the pool until
    // the end, and nothing new is borrowed.
    const post = Smc.runUnsafe(walk, { particles: 200, threshold: 1, seed: 3 })
    expect(Smc.stats(post).resamplings).toBeGreaterThan(10)
    expect(Smc.stats(post).tracePool).toEqual({ hits: 0, misses: 200, hitRate: 0, returned: 200, highWaterMark: 200 })
  })

  it("with rejuvenation, a moved particle's trace goes back before its rebuild borrows one (a hit); with done copies, all come back", () => {
    const post = Smc.runUnsafe(walk, { particles: 200, threshold: 1, rejuvenation: 1, seed: 3 })
    const use = Smc.stats(post).tracePool!
    expect(use.misses).toBe(200)
    expect(use.highWaterMark).toBe(200) // returned before borrowed: never more out than particles
    expect(use.hits).toBeGreaterThan(0)
    expect(use.hits).toBeLessThanOrEqual(Smc.stats(post).rebuilds)
    expect(use.returned).toBe(use.hits + use.misses)
    const done = Smc.stats(Smc.runUnsafe(branches, { particles: 300, threshold: 1, seed: 2 })).tracePool!
    expect(done.returned).toBe(done.hits + done.misses)
    expect(done.misses).toBeGreaterThanOrEqual(300)
    // the counts are a function of the seed
    expect(Smc.stats(Smc.runUnsafe(branches, { particles: 300, threshold: 1, seed: 2 })).tracePool).toEqual(done)
  })

  it("the unfold engine has no traces to pool (its particles are columns of completed steps)", () => {
    const unfolded = unfold("x", 5, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 1))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    const post = Smc.runUnsafe(unfolded, { particles: 10, seed: 1 })
    expect(Smc.stats(post).engine).toBe("unfold")
    expect(Smc.stats(post).tracePool).toBeUndefined()
  })

  it("a repeated address is still DuplicateAddressError, naming it", () => {
    const twice: Model<number> = function*() {
      const a = yield* sample("a", Normal(0, 1))
      yield* observe("y", Normal(a, 1), 0)
      yield* sample("a", Normal(0, 1))
      return a
    }
    expect(() => Smc.runUnsafe(twice, { particles: 20, seed: 1 })).toThrow(new DuplicateAddressError({ address: "a" }))
  })

  it.effect("an Effect run borrows from the context's pool: a second run reuses every trace", () =>
    Effect.gen(function*() {
      const pool = TracePool.makeUnsafe()
      const first = yield* Smc.run(walk, { particles: 200, threshold: 1, seed: 3 }).pipe(Effect.provideService(TracePool.TracePool, pool))
      expect(Smc.stats(first).tracePool).toEqual({ hits: 0, misses: 200, hitRate: 0, returned: 200, highWaterMark: 200 })
      const second = yield* Smc.run(walk, { particles: 200, threshold: 1, seed: 3 }).pipe(Effect.provideService(TracePool.TracePool, pool))
      expect(Smc.stats(second).tracePool).toEqual({ hits: 200, misses: 0, hitRate: 1, returned: 200, highWaterMark: 200 })
      expect(pool.statsUnsafe().outstanding).toBe(0)
      // the same posterior as runUnsafe's, whose pool is its own (so its counts are the first run's)
      const own = Smc.runUnsafe(walk, { particles: 200, threshold: 1, seed: 3 })
      expect({ ...second, stats: { ...Smc.stats(second), tracePool: Smc.stats(first).tracePool } }).toEqual(own)
    }), 10_000)

  it.live("interruption and failure return every trace to the context's pool", () =>
    Effect.gen(function*() {
      const long: Model<number> = function*() {
        let x = 0
        for (let t = 0; t < 100_000; t++) {
          x = yield* sample(addr("x", t), Normal(x, 1))
          yield* observe(addr("y", t), Normal(x, 1), 0)
        }
        return x
      }
      const pool = TracePool.makeUnsafe()
      const exit = yield* Effect.exit(
        Smc.run(long, { particles: 500, rejuvenation: 1, seed: 1 }).pipe(Effect.timeout(Duration.millis(100)), Effect.provideService(TracePool.TracePool, pool))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const stats = pool.statsUnsafe()
      expect(stats.highWaterMark).toBe(500) // the particles held their traces when the timeout struck
      expect(stats.outstanding).toBe(0)
      expect(stats.returns).toBe(stats.hits + stats.misses)
      // user code throwing at the third barrier of particle 7's execution: ModelCodeError, every trace back
      let executions = 0
      const breaking: Model<number> = function*() {
        const me = executions++
        let x = 0
        for (let t = 0; t < 5; t++) {
          x = yield* sample(addr("x", t), Normal(x, 1))
          if (me === 7 && t === 3) throw new Error("boom")
          yield* observe(addr("y", t), Normal(x, 1), 0)
        }
        return x
      }
      const failing = TracePool.makeUnsafe()
      const error = yield* Effect.flip(Smc.run(breaking, { particles: 50, seed: 1 }).pipe(Effect.provideService(TracePool.TracePool, failing)))
      expect(error).toBeInstanceOf(ModelCodeError)
      expect(failing.statsUnsafe()).toMatchObject({ outstanding: 0, misses: 50, returns: 50 })
    }), 10_000)
})
