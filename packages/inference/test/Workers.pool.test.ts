// A persistent pool of chain workers (Workers.Pool): runs on it give the in-thread draws bit for
// bit, run after run, on the same threads (none spawned per run); closing its scope terminates
// every thread; interrupting a run stops its chains and leaves the pool serving; a model's error
// and a sampler's error cross as the same typed class, with their chain and iteration.
import { describe, expect, it } from "@effect/vitest"
import { Normal, sample } from "@fugue/core"
import { ModelCodeError } from "@fugue/runtime/Execution"
import { Effect, Fiber } from "effect"
import { InitializationError } from "../src/LogDensity.ts"
import * as Hmc from "../src/Hmc.ts"
import * as Mh from "../src/Mh.ts"
import * as Nuts from "../src/Nuts.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import type * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Workers from "../src/Workers.ts"
import { improper, rareSite, throwsAbove2 } from "./fixtures/poolModels.ts"
import { ar1Named, eightSchools } from "./fixtures/workerModels.ts"

const same = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>): boolean =>
  a.sites.length === b.sites.length && a.sites.every((site) => {
    const x = a.draws.get(site)!, y = b.draws.get(site)!
    return x.length === y.length && x.every((c, k) => c.every((v, i) => Object.is(v, y[k]![i])))
  })

describe("Workers.Pool", () => {
  // quiet time about 1.6 s (two workers started once, five runs)
  it.live("NUTS, MH and HMC runs on a pool give the in-thread draws bit for bit, run after run, on the pool's threads only; closing it ends them", () =>
    Effect.gen(function*() {
      const nuts = { samples: 300, warmup: 300, chains: 4, seed: 11 }
      const mh = { samples: 2000, warmup: 500, chains: 4, seed: 5, logDensity: "never" as const }
      const nutsInThread = Nuts.runUnsafe(eightSchools, nuts)
      const mhInThread = Mh.runUnsafe(eightSchools, mh)
      const ar1InThread = Nuts.runUnsafe(ar1Named(10), { ...nuts, seed: 12 })
      const hmc = { samples: 200, warmup: 200, chains: 3, steps: 8, seed: 13 }
      const hmcInThread = Hmc.runUnsafe(eightSchools, hmc)
      expect(Workers.liveThreads()).toBe(0)
      const threadsDuringRuns: Array<number> = []
      const chainsReported = new Set<number>()
      const onReport = Progress.layerCallback((r) => {
        threadsDuringRuns.push(Workers.liveThreads())
        chainsReported.add(r.chain)
      })
      yield* Effect.gen(function*() {
        expect(Workers.liveThreads()).toBe(2) // started, and ready, when the layer is built
        const first = yield* Nuts.run(eightSchools, nuts).pipe(Effect.provide(onReport))
        const second = yield* Mh.run(eightSchools, mh).pipe(Effect.provide(onReport))
        const third = yield* Nuts.run(ar1Named(10), { ...nuts, seed: 12, workers: 1 }).pipe(Effect.provide(onReport))
        expect(same(first, nutsInThread)).toBe(true)
        expect(Array.from(Nuts.stats(first).lp[3]!)).toEqual(Array.from(Nuts.stats(nutsInThread).lp[3]!))
        expect(first.returns[2]![7]).toBe(nutsInThread.returns[2]![7])
        expect(same(second, mhInThread)).toBe(true)
        expect(Mh.stats(second)).toEqual(Mh.stats(mhInThread))
        expect(second.returns).toEqual(mhInThread.returns) // numbers cross as one Float64Array per chain
        expect(same(third, ar1InThread)).toBe(true)
        expect(same(yield* Hmc.run(eightSchools, hmc), hmcInThread)).toBe(true)
        // a site some chains never record: NaN columns there, as in-thread (seed 2: chains 1 and 3)
        const rare = { samples: 100, warmup: 0, chains: 4, seed: 2, logDensity: "never" as const }
        const rareOnPool = yield* Mh.run(rareSite, rare)
        expect(rareOnPool.draws.get("z")!.map((c) => c.every(Number.isNaN))).toEqual([false, true, false, true])
        expect(same(rareOnPool, Mh.runUnsafe(rareSite, rare))).toBe(true)
        expect(rareOnPool.returns).toEqual(Mh.runUnsafe(rareSite, rare).returns)
        // an unnamed model (which no worker could import) runs in-thread beside the pool
        const closure = function*() {
          yield* sample("x", Normal(0, 1))
        }
        const local = yield* Nuts.run(closure, { samples: 50, warmup: 50, seed: 1 })
        expect(same(local, Nuts.runUnsafe(closure, { samples: 50, warmup: 50, seed: 1 }))).toBe(true)
      }).pipe(Effect.provide(Workers.Pool.layer(2)))
      expect(chainsReported).toEqual(new Set([0, 1, 2, 3]))
      // no run spawned threads of its own: only the pool's two were ever alive
      expect(threadsDuringRuns.length).toBeGreaterThan(0)
      expect(threadsDuringRuns.every((n) => n === 2)).toBe(true)
      // the layer's scope closed: every worker has exited
      expect(Workers.liveThreads()).toBe(0)
    }), 30_000)

  // quiet time about 1.9 s (of which 1 s is the run before the interrupt)
  it.live("interrupting a pooled run stops its chains within 200 ms and leaves the pool serving", () =>
    Effect.gen(function*() {
      const options = { samples: 200, warmup: 200, chains: 2, seed: 4 }
      const inThread = Nuts.runUnsafe(eightSchools, options)
      yield* Effect.gen(function*() {
        let reports = 0
        const fiber = yield* Effect.forkChild(
          Nuts.run(ar1Named(50), { samples: 1e6, chains: 2, seed: 1 }).pipe(Effect.provide(Progress.layerCallback(() => reports++)))
        )
        yield* Effect.sleep("1000 millis")
        expect(reports).toBeGreaterThan(0) // both workers are sampling
        const t0 = performance.now()
        yield* Fiber.interrupt(fiber)
        // the interrupt returns once each worker has said its chain stopped
        expect(performance.now() - t0).toBeLessThan(200) // measured: 5–15 ms
        expect(Workers.liveThreads()).toBe(2)
        const next = yield* Nuts.run(eightSchools, options)
        expect(same(next, inThread)).toBe(true)
      }).pipe(Effect.provide(Workers.Pool.layer(2)))
      expect(Workers.liveThreads()).toBe(0)
    }), 20_000)

  // quiet time about 0.9 s
  it.live("a model's error and a sampler's error cross the pool as the same class, with chain and iteration", () =>
    Effect.gen(function*() {
      const mh = { samples: 2000, chains: 1, seed: 3, logDensity: "never" as const }
      const inThread = yield* Effect.flip(Mh.run(throwsAbove2, mh))
      expect(inThread).toBeInstanceOf(ModelCodeError)
      yield* Effect.gen(function*() {
        const pooled = yield* Effect.flip(Mh.run(throwsAbove2, mh))
        expect(pooled).toBeInstanceOf(ModelCodeError)
        const where = (pooled as ModelCodeError).where
        expect(where).toEqual((inThread as ModelCodeError).where)
        expect(where.chain).toBe(0)
        expect(where.iteration).toBeGreaterThan(0)
        expect(((pooled as ModelCodeError).cause as Error).message).toBe("x above 2")
        // raised by a chain in a worker (the density is built in this thread first, and is fine)
        const failed = yield* Effect.flip(Nuts.run(improper, { samples: 10, chains: 2, seed: 1 }))
        expect(failed).toBeInstanceOf(InitializationError)
        const { algorithm, attempts, chain, reason } = failed as InitializationError
        expect({ algorithm, attempts }).toEqual({ algorithm: "NUTS", attempts: 1 })
        expect([0, 1]).toContain(chain)
        expect(reason).toMatch(/step size grew beyond 1e7/)
        // the pool serves on after failures
        const good = yield* Mh.run(eightSchools, { samples: 200, chains: 2, seed: 2 })
        expect(same(good, Mh.runUnsafe(eightSchools, { samples: 200, chains: 2, seed: 2 }))).toBe(true)
      }).pipe(Effect.provide(Workers.Pool.layer(2)))
    }), 15_000)

  it.live("a pool's size must be an integer ≥ 1", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(Effect.void, Workers.Pool.layer(0)))
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect(Workers.liveThreads()).toBe(0)
    }))
})
