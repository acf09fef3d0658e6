// Checkpoints: a run resumed from any checkpoint gives the draws of a run that never stopped,
// bit for bit, also after the checkpoint has been serialised (v8) and when the first run was
// interrupted; mismatched options are refused.
import { describe, expect, it } from "@effect/vitest"
import { Ad, addr, HalfCauchy, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { Effect, Fiber } from "effect"
import { deserialize, serialize } from "node:v8"
import * as Hmc from "../src/Hmc.ts"
import * as Nuts from "../src/Nuts.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import type * as Posterior from "../src/Posterior.ts"

const ys = [28, 8, -3, 7, -1, 1, 18, 12]
const ss = [15, 10, 16, 11, 9, 11, 10, 18]
const eightSchools: Model<Ad.Real> = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < 8; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), ss[j]!), ys[j]!)
  }
  return mu
}

const same = (a: Posterior.Posterior<unknown, Nuts.Stats>, b: Posterior.Posterior<unknown, Nuts.Stats>): boolean =>
  a.sites.every((site) => a.draws.get(site)!.every((c, k) => c.every((v, i) => Object.is(v, b.draws.get(site)![k]![i])))) &&
  a.stats.lp.every((c, k) => c.every((v, i) => Object.is(v, b.stats.lp[k]![i]))) &&
  a.stats.gradientEvaluations.every((g, k) => g === b.stats.gradientEvaluations[k])

describe("checkpoints", () => {
  const options = { samples: 200, warmup: 300, chains: 2, seed: 3 }
  it("resuming from every checkpoint of a run (warm-up, sampling, the other chain not started) gives its draws bit for bit", { timeout: 60_000 }, () => {
    const saved: Array<Nuts.Checkpoint> = []
    const full = Nuts.runUnsafe(eightSchools, { ...options, checkpoint: { every: 100, onCheckpoint: (c) => saved.push(c) } })
    // chain 0 at 100, 200, 300 (the end of warm-up) and 400 (its last save before 500, the end);
    // then chain 1 likewise, chain 0's entry staying at its last save
    expect(saved.map((c) => c.states.map((s) => s?.iteration ?? 0))).toEqual([[100, 0], [200, 0], [300, 0], [400, 0], [400, 100], [400, 200], [400, 300], [400, 400]])
    for (const checkpoint of saved) {
      const restored = deserialize(serialize(checkpoint)) as Nuts.Checkpoint
      const resumed = Nuts.runUnsafe(eightSchools, { ...options, resume: restored })
      expect(same(resumed, full)).toBe(true)
    }
    expect(same(Nuts.runUnsafe(eightSchools, options), full)).toBe(true)
  })

  it.live("an interrupted Effect run resumes from its last checkpoint to the uninterrupted draws (HMC too)", () =>
    Effect.gen(function*() {
      let last: Nuts.Checkpoint | undefined
      const long = { samples: 2000, warmup: 500, chains: 2, seed: 8 }
      const fiber = yield* Effect.forkChild(Nuts.run(eightSchools, { ...long, checkpoint: { every: 50, onCheckpoint: (c) => (last = c) } }))
      yield* Effect.sleep("150 millis")
      yield* Fiber.interrupt(fiber)
      expect(last).toBeDefined()
      const resumed = yield* Nuts.run(eightSchools, { ...long, resume: last })
      expect(same(resumed, Nuts.runUnsafe(eightSchools, long))).toBe(true)
      let hmcCheckpoint: Nuts.Checkpoint | undefined
      const h = { samples: 100, warmup: 100, seed: 2, steps: 5 }
      const hmcFull = Hmc.runUnsafe(eightSchools, { ...h, checkpoint: { every: 60, onCheckpoint: (c) => (hmcCheckpoint ??= c) } })
      expect(same(Hmc.runUnsafe(eightSchools, { ...h, resume: hmcCheckpoint }), hmcFull)).toBe(true)
    }), 60_000)

  it("a checkpoint from other options, another algorithm, or without a seed is refused", () => {
    let c: Nuts.Checkpoint | undefined
    Nuts.runUnsafe(eightSchools, { ...options, checkpoint: { every: 100, onCheckpoint: (x) => (c ??= x) } })
    expect(() => Nuts.runUnsafe(eightSchools, { ...options, samples: 300, resume: c })).toThrow(/resume.*chains 2, samples 200/)
    expect(() => Nuts.runUnsafe(eightSchools, { ...options, seed: 4, resume: c })).toThrow(/seed 3, not 4/)
    expect(() => Hmc.runUnsafe(eightSchools, { ...options, resume: c })).toThrow(/made by NUTS/)
    expect(() => Nuts.runUnsafe(eightSchools, { samples: 10, checkpoint: { every: 5, onCheckpoint: () => {} } })).toThrow(InvalidOptionsError)
    expect(() => Nuts.runUnsafe(eightSchools, { ...options, resume: { format: "other" } as never })).toThrow(/is not a checkpoint/)
  })
})
