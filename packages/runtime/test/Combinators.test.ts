import { Normal, observe, Rng, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import { block, condition, intervene, mask, scale, seed, substitute } from "../src/Combinators.ts"
import { run } from "../src/Handler.ts"
import { PriorHandler } from "../src/handlers/Prior.ts"
import * as Trace from "../src/Trace.ts"

const model: Model<{ mu: number; z: number }> = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  const z = yield* sample("z", Normal(mu, 1))
  yield* observe("y", Normal(z, 1), 0.5)
  return { mu, z }
}

describe("handler combinators", () => {
  it("condition turns a sample site into an observation of the data", () => {
    const [r, t] = run(condition(new PriorHandler(Rng.make(1)), { z: 2 }), model)
    expect(r.z).toBe(2)
    expect(Trace.get(t, "z")).toBeUndefined()
    expect(t.logLikelihood).toBeCloseTo(Normal(r.mu, 1).logProb(2) + Normal(2, 1).logProb(0.5), 12)
  })

  it("substitute fixes a value but records and scores it under the prior", () => {
    const [r, t] = run(substitute(new PriorHandler(Rng.make(1)), { mu: 0.3 }), model)
    expect(r.mu).toBe(0.3)
    expect(Trace.getOrThrow(t, "mu").logProb).toBe(Normal(0, 1).logProb(0.3))
    expect(t.logPrior).toBeCloseTo(Normal(0, 1).logProb(0.3) + Normal(0.3, 1).logProb(r.z), 12)
  })

  it("intervene (do) fixes a value that is neither recorded nor scored", () => {
    const [r, t] = run(intervene(new PriorHandler(Rng.make(1)), new Map([["mu", 5]])), model)
    expect(r.mu).toBe(5)
    expect(Trace.get(t, "mu")).toBeUndefined()
    expect(t.logPrior).toBeCloseTo(Normal(5, 1).logProb(r.z), 12)
  })

  it("block hides matching sites from the wrapped handler", () => {
    const [, t] = run(block(new PriorHandler(Rng.make(1)), ["z", "y"], Rng.make(2)), model)
    expect(Trace.addresses(t)).toEqual(["mu"])
    expect(t.logLikelihood).toBe(0)
  })

  it("scale multiplies log probabilities of matching sites; mask drops observations", () => {
    const [, base] = run(new PriorHandler(Rng.make(4)), model)
    const [, scaled] = run(scale(new PriorHandler(Rng.make(4)), 3, ["y"]), model)
    expect(scaled.logLikelihood).toBeCloseTo(3 * base.logLikelihood, 12)
    expect(scaled.logPrior).toBe(base.logPrior)
    const [, masked] = run(mask(new PriorHandler(Rng.make(4)), ["y"]), model)
    expect(masked.logLikelihood).toBe(0)
    expect(masked.logPrior).toBe(base.logPrior)
  })

  it("mask never turns a −∞ observation into NaN", () => {
    const impossible: Model<void> = function*() {
      yield* observe("y", Normal(0, 1), Infinity)
    }
    const [, t] = run(mask(new PriorHandler(Rng.make(1)), () => true), impossible)
    expect(t.logLikelihood).toBe(0)
  })

  it("seed makes the draws come from the given stream whatever the wrapped handler's", () => {
    const [, a] = run(seed(new PriorHandler(Rng.make(1)), Rng.make(9)), model)
    const [, b] = run(seed(new PriorHandler(Rng.make(2)), Rng.make(9)), model)
    const [, c] = run(new PriorHandler(Rng.make(9)), model)
    expect(Trace.toJSON(a)).toEqual(Trace.toJSON(b))
    expect(Trace.toJSON(a)).toEqual(Trace.toJSON(c))
  })

  it("combinators compose by wrapping", () => {
    const h = condition(substitute(new PriorHandler(Rng.make(1)), { mu: 1 }), { z: 0 })
    const [r, t] = run(h, model)
    expect(r).toEqual({ mu: 1, z: 0 })
    expect(t.logPrior).toBe(Normal(0, 1).logProb(1))
    expect(t.logLikelihood).toBeCloseTo(Normal(1, 1).logProb(0) + Normal(0, 1).logProb(0.5), 12)
  })
})
