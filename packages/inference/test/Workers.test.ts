// Chains on worker threads: bit-identical draws to the in-thread run for the same seed, whatever
// the number of workers; progress relayed; interruption stops the workers; typed errors cross.
import { describe, expect, it } from "@effect/vitest"
import { Normal, sample } from "@fugue/core"
import { Effect, Fiber } from "effect"
import * as Mh from "../src/Mh.ts"
import * as Nuts from "../src/Nuts.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import type * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Workers from "../src/Workers.ts"
import { ar1Named, eightSchools, misnamed } from "./fixtures/workerModels.ts"

const TIMEOUT = 120_000

const same = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>): boolean =>
  a.sites.length === b.sites.length && a.sites.every((site) => {
    const x = a.draws.get(site)!, y = b.draws.get(site)!
    return x.length === y.length && x.every((c, k) => c.every((v, i) => Object.is(v, y[k]![i])))
  })

describe("Mh.run on workers", () => {
  it.live("gives the in-thread draws, returns and statistics bit for bit", () =>
    Effect.gen(function*() {
      const options = { samples: 500, warmup: 200, chains: 3, seed: 5 }
      const onWorkers = yield* Mh.run(eightSchools, { ...options, workers: 2, logDensity: "never" })
      const inThread = Mh.runUnsafe(eightSchools, { ...options, logDensity: "never" })
      expect(same(onWorkers, inThread)).toBe(true)
      expect(onWorkers.returns[2]![99]).toBe(inThread.returns[2]![99])
      expect(Mh.stats(onWorkers)).toEqual(Mh.stats(inThread))
      const fast = yield* Mh.run(eightSchools, { ...options, workers: 2 })
      expect(same(fast, Mh.runUnsafe(eightSchools, options))).toBe(true)
    }), TIMEOUT)
})

describe("Nuts.run on workers", () => {
  it.live("gives the in-thread draws bit for bit, with 1 and 2 workers, and relays progress per chain", () =>
    Effect.gen(function*() {
      const options = { samples: 300, warmup: 300, chains: 3, seed: 11 }
      const inThread = Nuts.runUnsafe(eightSchools, options)
      const reports: Array<Progress.Report> = []
      const two = yield* Nuts.run(eightSchools, { ...options, workers: 2 }).pipe(Effect.provide(Progress.layerCallback((r) => reports.push(r))))
      const one = yield* Nuts.run(eightSchools, { ...options, workers: 1 })
      expect(same(two, inThread)).toBe(true)
      expect(same(one, inThread)).toBe(true)
      expect(Array.from(Nuts.stats(two).lp[2]!)).toEqual(Array.from(Nuts.stats(inThread).lp[2]!))
      expect(Nuts.stats(two).gradientEvaluations).toEqual(Nuts.stats(inThread).gradientEvaluations)
      // return values are computed in this thread from the transferred points
      expect(two.returns[1]![5]).toBe(inThread.returns[1]![5])
      expect(new Set(reports.map((r) => r.chain))).toEqual(new Set([0, 1, 2]))
      expect(reports.some((r) => r.phase === "sampling" && r.done === 600)).toBe(true)
    }), TIMEOUT)

  it.live("a factory model named with its arguments runs on workers", () =>
    Effect.gen(function*() {
      const model = ar1Named(5)
      const options = { samples: 100, warmup: 100, chains: 2, seed: 3 }
      const onWorkers = yield* Nuts.run(model, { ...options, workers: 2 })
      expect(same(onWorkers, Nuts.runUnsafe(model, options))).toBe(true)
    }), TIMEOUT)

  it.live("interrupting the run stops its workers promptly", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Nuts.run(ar1Named(50), { samples: 1e6, chains: 2, workers: 2, seed: 1 }))
      yield* Effect.sleep("1500 millis")
      const t0 = performance.now()
      yield* Fiber.interrupt(fiber)
      // the workers are asked to close; a busy worker answers at its next time slice
      expect(performance.now() - t0).toBeLessThan(1_000) // measured: about 30 ms
    }), TIMEOUT)

  it.live("typed errors: an unnamed model, a name the worker cannot import, workers in runUnsafe", () =>
    Effect.gen(function*() {
      const closure = function*() {
        yield* sample("x", Normal(0, 1))
      }
      const unnamed = yield* Effect.flip(Nuts.run(closure, { samples: 10, workers: 2 }))
      expect(unnamed).toBeInstanceOf(Workers.UnnamedModelError)
      const missing = yield* Effect.flip(Nuts.run(misnamed, { samples: 10, chains: 1, workers: 1, seed: 1 }))
      expect(missing).toBeInstanceOf(Workers.ModelImportError)
      expect((missing as Workers.ModelImportError).reason).toBe("no such export")
      expect(() => Nuts.runUnsafe(eightSchools, { samples: 10, workers: 2 })).toThrow(InvalidOptionsError)
    }), TIMEOUT)
})
