// SMC's particles in contiguous batches on worker threads, resampled in the parent: particle i
// draws from stream i wherever it is advanced and the parent resamples on the population's
// stream, so the weights, draws, returns, evidence and ESS history of a run on 1, 2 or 3 fresh
// workers or on a pool are the in-thread run's bit for bit (with resamplings that move
// particles across batches: checked); a model's exception in a worker is the in-thread typed
// error; an interrupt stops the workers; what cannot cross is refused.
import { describe, expect, it } from "@effect/vitest"
import { addr, Normal, observe, sample } from "@fugue/core"
import { Effect, Fiber } from "effect"
import * as Smc from "../src/Smc.ts"
import type * as Posterior from "../src/Posterior.ts"
import * as Workers from "../src/Workers.ts"
import { eightSchools, jumpyWalkNamed, throwingWalkNamed } from "./fixtures/workerModels.ts"

const ys = Array.from({ length: 30 }, (_, t) => 2 * Math.sin(t / 4) + (t > 15 ? 3 : 0))

const sameArray = (a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]))

// every number a run reports except the work counters (kept, rebuilds, replayedInstructions,
// tracePool: what the workers did)
const same = (a: Posterior.Posterior<unknown, Smc.Stats>, b: Posterior.Posterior<unknown, Smc.Stats>): boolean => {
  const numbers = (s: Smc.Stats) => JSON.stringify({ ...s, kept: 0, rebuilds: 0, replayedInstructions: 0, tracePool: undefined })
  return a.sites.length === b.sites.length &&
    a.sites.every((site, s) => site === b.sites[s] && sameArray(a.draws.get(site)![0]!, b.draws.get(site)![0]!)) &&
    sameArray(a.logWeights[0]!, b.logWeights[0]!) &&
    sameArray(a.weights![0]!, b.weights![0]!) &&
    Object.is(a.logEvidence![0], b.logEvidence![0]) &&
    sameArray(a.returns[0]!, b.returns[0]!) &&
    numbers(a.stats) === numbers(b.stats) &&
    a.seed === b.seed
}

// times measured on this shared 2-core machine (other processes running): 6–8 s for the
// identity test (workers started five times), 1–3 s for the others; the timeouts are ≥ 5× that
describe("Smc on workers", () => {
  it.live("batches on 1, 2 or 3 workers or a pool give the in-thread run bit for bit", () =>
    Effect.gen(function*() {
      const model = jumpyWalkNamed(ys)
      const options = { particles: 301, seed: 11, threshold: 0.6 }
      const inThread = Smc.runUnsafe(model, options)
      const stats = Smc.stats(inThread)
      // the run resamples often, some executions have one barrier more than others
      expect(stats.resamplings).toBeGreaterThan(5)
      expect(stats.steps).toBe(ys.length + 1)
      expect(same(yield* Smc.run(model, options), inThread)).toBe(true)
      for (const workers of [1, 2, 3]) {
        expect(same(yield* Smc.run(model, { ...options, workers }), inThread)).toBe(true)
      }
      const pooled = yield* Smc.run(model, { ...options, workers: 2 }).pipe(Effect.provide(Workers.Pool.layer(2)))
      expect(same(pooled, inThread)).toBe(true)
      // particles did move between batches: on 3 workers, fewer copies kept their ancestor's live execution
      const three = yield* Smc.run(model, { ...options, workers: 3 })
      expect(Smc.stats(three).kept).toBeLessThan(stats.kept)
      expect(Smc.stats(three).rebuilds).toBeGreaterThan(stats.rebuilds)
      expect(Workers.liveThreads()).toBe(0)
    }), 60_000)

  it.live("an exception in the model's code on a worker is the in-thread typed error, with its step", () =>
    Effect.gen(function*() {
      const model = throwingWalkNamed(ys, 4, 3)
      const options = { particles: 200, seed: 2 }
      const inThread = yield* Effect.flip(Smc.run(model, options))
      expect(inThread._tag).toBe("ModelCodeError")
      expect(inThread.message).toMatch(/iteration 4/)
      for (const workers of [2, 3]) {
        const onWorkers = yield* Effect.flip(Smc.run(model, { ...options, workers }))
        expect(onWorkers._tag).toBe(inThread._tag)
        expect(onWorkers.message).toBe(inThread.message)
      }
      expect(Workers.liveThreads()).toBe(0)
    }), 15_000)

  it.live("interrupting the run stops every worker promptly", () =>
    Effect.gen(function*() {
      const long = Array.from({ length: 2000 }, (_, t) => Math.sin(t / 50))
      const fiber = yield* Effect.forkChild(Smc.run(jumpyWalkNamed(long), { particles: 20_000, seed: 1, workers: 2 }))
      yield* Effect.sleep("1500 millis")
      expect(Workers.liveThreads()).toBe(2)
      const t0 = performance.now()
      yield* Fiber.interrupt(fiber)
      const ms = performance.now() - t0
      console.log(`SMC on 2 workers: interrupted in ${ms.toFixed(0)} ms`)
      // each busy worker stops at its next 5 ms time slice, then the run's scope terminates it
      expect(ms).toBeLessThan(200)
      expect(Workers.liveThreads()).toBe(0)
    }), 15_000)

  it.live("what cannot cross is refused: a closure, rejuvenation, an unfold model, runUnsafe with workers, a bad count", () =>
    Effect.gen(function*() {
      const closure = function*() {
        const x = yield* sample("x", Normal(0, 1))
        yield* observe(addr("y", 0), Normal(x, 1), 0.5)
      }
      const unnamed = yield* Effect.flip(Smc.run(closure, { particles: 10, workers: 2 }))
      expect(unnamed).toBeInstanceOf(Workers.UnnamedModelError)
      expect(unnamed.message).toMatch(/Workers\.named/)
      const model = jumpyWalkNamed(ys)
      const rejuvenating = yield* Effect.flip(Smc.run(model, { particles: 10, seed: 1, workers: 2, rejuvenation: 1 }))
      expect(rejuvenating._tag).toBe("InvalidOptionsError")
      expect(() => Smc.runUnsafe(model, { particles: 10, seed: 1, workers: 2 })).toThrow(/Effect form/)
      const zero = yield* Effect.flip(Smc.run(model, { particles: 10, seed: 1, workers: 0 }))
      expect(zero._tag).toBe("InvalidOptionsError")
      expect(Workers.liveThreads()).toBe(0)
      // eightSchools is a plain named model: runs; an unfold model is refused before any worker starts
      expect(same(yield* Smc.run(eightSchools, { particles: 50, seed: 3, workers: 2 }), Smc.runUnsafe(eightSchools, { particles: 50, seed: 3 }))).toBe(true)
    }), 15_000)
})
