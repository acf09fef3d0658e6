// A wrong evidence is never silent: weighted algorithms warn when their population collapses
// onto about one particle (ESS below 2), and stay quiet when it does not.
import { describe, expect, it } from "@effect/vitest"
import { Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Is from "../src/Is.ts"

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
})
