// Importance sampling's particles in blocks on worker threads: block b of 4096 particles draws
// from stream b of the seed wherever it runs, so the weights, draws, returns and evidence of a
// run on 1 or 2 fresh workers or on a pool are the in-thread run's bit for bit; runs of at most
// one block keep the single stream IS always had; what cannot cross is refused.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Is from "../src/Is.ts"
import type * as Posterior from "../src/Posterior.ts"
import * as Workers from "../src/Workers.ts"
import { eightSchools } from "./fixtures/workerModels.ts"

const same = (a: Posterior.Posterior<unknown, Is.Stats>, b: Posterior.Posterior<unknown, Is.Stats>): boolean =>
  a.sites.length === b.sites.length &&
  a.sites.every((site, s) => site === b.sites[s] && a.draws.get(site)![0]!.every((v, i) => Object.is(v, b.draws.get(site)![0]![i]))) &&
  a.logWeights[0]!.every((v, i) => Object.is(v, b.logWeights[0]![i])) &&
  a.weights![0]!.every((v, i) => Object.is(v, b.weights![0]![i])) &&
  Object.is(a.logEvidence![0], b.logEvidence![0]) &&
  a.returns[0]!.every((v, i) => Object.is(v, b.returns[0]![i])) &&
  JSON.stringify(a.stats) === JSON.stringify(b.stats)

describe("Is on workers", () => {
  // quiet time about 3 s (workers started three times)
  it.live("blocks of particles on 1 or 2 workers or a pool give the in-thread run bit for bit", () =>
    Effect.gen(function*() {
      const options = { particles: 10_000, seed: 7 } // three blocks: 4096, 4096, 1808
      const inThread = Is.runUnsafe(eightSchools, options)
      expect(same(yield* Is.run(eightSchools, options), inThread)).toBe(true)
      expect(same(yield* Is.run(eightSchools, { ...options, workers: 1 }), inThread)).toBe(true)
      expect(same(yield* Is.run(eightSchools, { ...options, workers: 2 }), inThread)).toBe(true)
      const pooled = yield* Is.run(eightSchools, options).pipe(Effect.provide(Workers.Pool.layer(2)))
      expect(same(pooled, inThread)).toBe(true)
      // the blocks are distinct streams: no block repeats another's draws
      const mu = inThread.draws.get("mu")![0]!
      expect(mu[0]).not.toBe(mu[4096])
      expect(mu[4096]).not.toBe(mu[8192])
    }), 30_000)

  it("a run of one block draws from the seed's first stream, as IS always has", () => {
    const a = Is.runUnsafe(eightSchools, { particles: 4096, seed: 3 })
    const b = Is.runUnsafe(eightSchools, { particles: 5000, seed: 3 })
    expect(a.draws.get("tau")![0]!.every((v, i) => Object.is(v, b.draws.get("tau")![0]![i]))).toBe(true)
  })

  it.live("what cannot cross is refused: a proposal, runUnsafe with workers", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Is.run(eightSchools, { particles: 100, seed: 1, workers: 2, proposal: eightSchools }))
      expect(error._tag).toBe("InvalidOptionsError")
      expect(() => Is.runUnsafe(eightSchools, { particles: 100, seed: 1, workers: 2 })).toThrow(/Effect form/)
    }), 10_000)
})
