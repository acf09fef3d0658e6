// A wrong evidence is never silent: weighted algorithms warn when their population collapses
// onto about one particle (ESS below 2), and stay quiet when it does not.
import { describe, expect, it } from "@effect/vitest"
import { Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Is from "../src/Is.ts"
import * as Smc from "../src/Smc.ts"

// a vague prior against a sharp likelihood: prior draws almost never land near the data
const vague: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 1000))
  for (let i = 0; i < 20; i++) yield* observe(`y${i}`, Normal(mu, 0.1), 3)
  return mu
}
const matched: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  yield* observe("y", Normal(mu, 1), 0.5)
  return mu
}

describe("collapse warnings", () => {
  it("IS from a vague prior warns that its evidence is unreliable; a well-matched proposal does not", () => {
    const bad = Is.runUnsafe(vague, { particles: 2000, seed: 1 })
    expect(bad.stats.ess).toBeLessThan(2)
    expect(bad.stats.warnings).toHaveLength(1)
    expect(bad.stats.warnings[0]).toMatch(/^IS: population collapsed: the evidence is unreliable \(ESS 1\.\d* of 2000 particles\)/)
    const good = Is.runUnsafe(matched, { particles: 2000, seed: 1 })
    expect(good.stats.warnings).toEqual([])
  })
  it("SMC from a vague prior warns at the step where the population collapsed; a matched model does not", () => {
    const bad = Smc.runUnsafe(vague, { particles: 500, seed: 2 })
    expect(bad.stats.collapsedAt[0]).toBe(1)
    expect(bad.stats.warnings[0]).toMatch(/^SMC: population collapsed at step 1: the evidence is unreliable/)
    const good = Smc.runUnsafe(matched, { particles: 500, seed: 2 })
    expect(good.stats.warnings).toEqual([])
    expect(good.stats.collapsedAt).toEqual([])
  })

  it("the state-space filter warns too", () => {
    const filtered = Smc.filterUnsafe({
      particles: 200, steps: 3, seed: 3,
      initial: function*() {
        return yield* sample("x", Normal(0, 1000))
      },
      transition: (x) => function*() {
        return yield* sample("x", Normal(x, 1))
      },
      observation: (x) => -0.5 * ((x - 3) / 0.01) ** 2
    })
    expect(filtered.stats.warnings[0]).toMatch(/^SMC\.filter: population collapsed at step 1/)
  })
})
