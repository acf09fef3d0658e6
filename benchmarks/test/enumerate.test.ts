// The enumeration suite's models agree with their hand-written and closed-form answers.
import { describe, expect, it } from "@effect/vitest"
import * as Enumerate from "@fugue/inference/Enumerate"
import { digits, digitsHand, rsa } from "../src/enumerate.ts"

describe("enumeration benchmark models", () => {
  it("the 10⁴-path model's evidence and sum distribution equal the nested-loop sum (to 1e-12)", () => {
    const ours = Enumerate.runUnsafe(digits)
    const hand = digitsHand()
    expect(ours.paths).toBe(10_000)
    expect(ours.logEvidence).toBeCloseTo(hand.logEvidence, 12)
    const z = Math.exp(hand.logEvidence)
    for (const [s, w] of hand.mass) expect(ours.distribution.probability(s)).toBeCloseTo(w / z, 12)
  }, 10_000)

  it("the reference game's listener hears 'blue' as the blue square with probability 3/5", () => {
    expect(rsa("blue").probability("blue square")).toBeCloseTo(0.6, 14)
  }, 10_000)
})
