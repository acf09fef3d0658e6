// MH checkpoints: a run resumed from any of its checkpoints gives the draws, returns, log weights
// and statistics of a run that never stopped, bit for bit, on both of MH's paths (the model-
// running one, here a trans-dimensional model, and the density's fast path), after a v8 round
// trip and after an interrupted Effect run; mismatched checkpoints are refused.
import { describe, expect, it } from "@effect/vitest"
import { addr, Gamma, Normal, observe, Poisson, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { Effect, Fiber } from "effect"
import { deserialize, serialize } from "node:v8"
import * as Mh from "../src/Mh.ts"
import * as Nuts from "../src/Nuts.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import type * as Posterior from "../src/Posterior.ts"
import { eightSchools } from "./fixtures/workerModels.ts"

// the model-running path: n ~ Poisson(2) sites come and go; the return value is an object
const varying: Model<{ readonly n: number; readonly total: number }> = function*() {
  const n = yield* sample("n", Poisson(2))
  let total = 0
  for (let i = 0; i < n; i++) total += yield* sample(addr("z", i), Normal(0, 1))
  const s = yield* sample("s", Gamma(2, 1))
  yield* observe("y", Normal(total, s), 1.5)
  return { n, total }
}

// the fast path: a fixed-structure model written with Ad (eight schools, non-centred)

const same = (a: Posterior.Posterior<unknown, Mh.Stats>, b: Posterior.Posterior<unknown, Mh.Stats>): boolean =>
  a.sites.length === b.sites.length &&
  a.sites.every((site, s) => site === b.sites[s] && a.draws.get(site)!.every((c, k) => c.every((v, i) => Object.is(v, b.draws.get(site)![k]![i])))) &&
  a.logWeights.every((c, k) => c.every((v, i) => Object.is(v, b.logWeights[k]![i]))) &&
  JSON.stringify(a.returns) === JSON.stringify(b.returns) &&
  JSON.stringify(a.stats) === JSON.stringify(b.stats)

describe("MH checkpoints", () => {
  for (const [name, model] of [["the model-running path (trans-dimensional)", varying], ["the density's fast path", eightSchools]] as const) {
    it(`${name}: resuming from every checkpoint gives the uninterrupted run bit for bit`, { timeout: 60_000 }, () => {
      const options = { samples: 300, warmup: 200, thin: 2, chains: 2, seed: 5 }
      const saved: Array<Mh.Checkpoint> = []
      const full = Mh.runUnsafe(model as Model<unknown>, { ...options, checkpoint: { every: 150, onCheckpoint: (c) => saved.push(c) } })
      // each chain saves at 150, 300, 450 and 600 of its 800 iterations (warm-up 200 + 300 × 2)
      expect(saved.map((c) => c.states.map((s) => s?.iteration ?? 0))).toEqual([[150, 0], [300, 0], [450, 0], [600, 0], [750, 0], [750, 150], [750, 300], [750, 450], [750, 600], [750, 750]])
      for (const checkpoint of saved) {
        const restored = deserialize(serialize(checkpoint)) as Mh.Checkpoint
        expect(same(Mh.runUnsafe(model as Model<unknown>, { ...options, resume: restored }), full)).toBe(true)
      }
      expect(same(Mh.runUnsafe(model as Model<unknown>, options), full)).toBe(true)
    })
  }

  it("the fast path's checkpoints hold its point, the model-running path's its choices", () => {
    const options = { samples: 50, warmup: 50, seed: 2 }
    let fast: Mh.Checkpoint | undefined, slow: Mh.Checkpoint | undefined
    Mh.runUnsafe(eightSchools, { ...options, checkpoint: { every: 60, onCheckpoint: (c) => (fast ??= c) } })
    Mh.runUnsafe(varying, { ...options, checkpoint: { every: 60, onCheckpoint: (c) => (slow ??= c) } })
    expect(fast!.states[0]!.point).toBeInstanceOf(Float64Array)
    expect(fast!.states[0]!.choices).toEqual([])
    expect(slow!.states[0]!.point).toBeUndefined()
    expect(slow!.states[0]!.choices.map((c) => c.address)).toContain("s")
  })

  it.live("an interrupted Mh.run resumes from its last checkpoint to the uninterrupted draws", () =>
    Effect.gen(function*() {
      let last: Mh.Checkpoint | undefined
      const long = { samples: 200_000, warmup: 1000, chains: 2, seed: 9, logDensity: "never" as const }
      const fiber = yield* Effect.forkChild(Mh.run(varying, { ...long, checkpoint: { every: 500, onCheckpoint: (c) => (last = c) } }))
      yield* Effect.sleep("150 millis")
      yield* Fiber.interrupt(fiber)
      expect(last).toBeDefined()
      const resumed = yield* Mh.run(varying, { ...long, resume: last })
      expect(same(resumed, Mh.runUnsafe(varying, long))).toBe(true)
    }), 120_000)

  it("a checkpoint from other options, another algorithm, or without a seed is refused", () => {
    const options = { samples: 100, warmup: 100, seed: 3 }
    let c: Mh.Checkpoint | undefined
    Mh.runUnsafe(varying, { ...options, checkpoint: { every: 50, onCheckpoint: (x) => (c ??= x) } })
    expect(() => Mh.runUnsafe(varying, { ...options, samples: 300, resume: c })).toThrow(/resume.*chains 1, samples 100/)
    expect(() => Mh.runUnsafe(varying, { ...options, seed: 4, resume: c })).toThrow(/seed 3, not 4/)
    expect(() => Nuts.runUnsafe(eightSchools, { ...options, resume: c as never })).toThrow(/made by MH/)
    expect(() => Mh.runUnsafe(varying, { samples: 10, checkpoint: { every: 5, onCheckpoint: () => {} } })).toThrow(InvalidOptionsError)
    expect(() => Mh.runUnsafe(varying, { ...options, checkpoint: { every: 0, onCheckpoint: () => {} } })).toThrow(InvalidOptionsError)
  })
})
