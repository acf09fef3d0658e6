import { addr, Normal, observe, factor, sample, Rng } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { DuplicateAddressError, run } from "../src/Handler.ts"
import { PriorHandler } from "../src/handlers/Prior.ts"
import { ReplayHandler } from "../src/handlers/Replay.ts"
import { SafeReplayHandler } from "../src/handlers/SafeReplay.ts"
import { SafeScoreGivenTrace } from "../src/handlers/SafeScore.ts"
import { ScoreGivenTrace } from "../src/handlers/Score.ts"
import * as Trace from "../src/Trace.ts"
import { ChoiceTypeError, MissingAddressError } from "../src/Trace.ts"

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)
const normalLogPdf = (x: number, mu: number, sigma: number) => -Math.log(sigma) - HALF_LOG_2PI - 0.5 * ((x - mu) / sigma) ** 2

// A random "model shape" for property tests: latent Normal sites, observations and factors.
type Step = { kind: "sample"; mu: number; sigma: number } | { kind: "observe"; sigma: number; y: number } | { kind: "factor"; w: number }
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("sample" as const), mu: fc.double({ min: -10, max: 10, noNaN: true }), sigma: fc.double({ min: 0.1, max: 5, noNaN: true }) }),
  fc.record({ kind: fc.constant("observe" as const), sigma: fc.double({ min: 0.1, max: 5, noNaN: true }), y: fc.double({ min: -10, max: 10, noNaN: true }) }),
  fc.record({ kind: fc.constant("factor" as const), w: fc.double({ min: -5, max: 5, noNaN: true }) })
)
const modelOf = (steps: ReadonlyArray<Step>): Model<number> =>
  function*() {
    let last = 0
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]
      if (s.kind === "sample") last = yield* sample(addr("x", i), Normal(s.mu + 0.1 * last, s.sigma))
      else if (s.kind === "observe") yield* observe(addr("y", i), Normal(last, s.sigma), s.y)
      else yield* factor(s.w)
    }
    return last
  }

const twoSites: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  const z = yield* sample("z", Normal(mu, 2))
  yield* observe("y", Normal(z, 0.5), 1.5)
  yield* factor(-0.25)
  return mu + z
}

describe("run and the prior handler", () => {
  it("records every choice with its log probability and accumulates the three weights", () => {
    const [result, trace] = run(new PriorHandler(Rng.make(3)), twoSites)
    const mu = Trace.getNumberOrThrow(trace, "mu")
    const z = Trace.getNumberOrThrow(trace, "z")
    expect(result).toBe(mu + z)
    expect(Trace.getOrThrow(trace, "mu").logProb).toBe(Normal(0, 1).logProb(mu))
    expect(trace.logPrior).toBeCloseTo(normalLogPdf(mu, 0, 1) + normalLogPdf(z, mu, 2), 12)
    expect(trace.logLikelihood).toBeCloseTo(normalLogPdf(1.5, z, 0.5), 12)
    expect(trace.logFactors).toBe(-0.25)
    expect(trace.totalLogWeight).toBe(trace.logPrior + trace.logLikelihood + trace.logFactors)
    expect(Trace.addresses(trace)).toEqual(["mu", "z"])
  })

  it("draws exactly what a scripted uniform source dictates", () => {
    // Normal(mu, sigma) draws mu + sigma * Φ⁻¹(u) from a scripted source.
    const [, trace] = run(new PriorHandler(Rng.fromUniforms([0.5, 0.975])), twoSites)
    expect(Trace.getNumberOrThrow(trace, "mu")).toBeCloseTo(0, 12)
    expect(Trace.getNumberOrThrow(trace, "z")).toBeCloseTo(2 * 1.959963984540054, 9)
  })

  it("gives the same trace for the same seed", () => {
    const a = run(new PriorHandler(Rng.make(11)), twoSites)[1]
    const b = run(new PriorHandler(Rng.make(11)), twoSites)[1]
    expect(Trace.toJSON(a)).toEqual(Trace.toJSON(b))
  })

  it("rejects a reused address with an error naming it", () => {
    const dup: Model<void> = function*() {
      yield* sample("x", Normal(0, 1))
      yield* sample("x", Normal(0, 1))
    }
    expect(() => run(new PriorHandler(Rng.make(1)), dup)).toThrow(DuplicateAddressError)
    try {
      run(new PriorHandler(Rng.make(1)), dup)
    } catch (e) {
      expect((e as DuplicateAddressError).address).toBe("x")
      expect((e as Error).message).toContain('"x"')
    }
  })

  it("runs a model of 100 000 instructions without growing the stack", () => {
    const long: Model<number> = function*() {
      let s = 0
      for (let i = 0; i < 100_000; i++) s += yield* sample(addr("x", i), Normal(0, 1))
      return s
    }
    const [, trace] = run(new PriorHandler(Rng.make(1)), long)
    expect(trace.size).toBe(100_000)
    expect(Number.isFinite(trace.logPrior)).toBe(true)
  }, 10_000)
})

describe("replay and score identities", () => {
  it("replaying a complete trace reproduces every value and weight", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), fc.integer(), (steps, seed) => {
        const model = modelOf(steps)
        const [r0, t0] = run(new PriorHandler(Rng.make(seed)), model)
        const replay = new ReplayHandler(Rng.make(seed + 1), t0)
        const [r1, t1] = run(replay, model)
        expect(r1).toBe(r0)
        expect(replay.fresh).toBe(0)
        expect(Trace.toJSON(t1)).toEqual(Trace.toJSON(t0))
      })
    )
  })

  it("scoring a prior trace gives the recorded logPrior and logLikelihood exactly", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 30 }), fc.integer(), (steps, seed) => {
        const model = modelOf(steps)
        const [, t0] = run(new PriorHandler(Rng.make(seed)), model)
        const [, t1] = run(new ScoreGivenTrace(t0), model)
        expect(t1.logPrior).toBe(t0.logPrior)
        expect(t1.logLikelihood).toBe(t0.logLikelihood)
        expect(t1.logFactors).toBe(t0.logFactors)
      })
    )
  })

  it("replay draws fresh values where the base trace has no choice", () => {
    const [, partial] = run(new PriorHandler(Rng.make(1)), function*() {
      yield* sample("mu", Normal(0, 1))
    })
    const h = new ReplayHandler(Rng.make(2), partial)
    const [, t] = run(h, twoSites)
    expect(h.fresh).toBe(1)
    expect(Trace.getNumberOrThrow(t, "mu")).toBe(Trace.getNumberOrThrow(partial, "mu"))
  })

  it("score throws typed errors for a missing or mistyped address", () => {
    const empty = Trace.make()
    expect(() => run(new ScoreGivenTrace(empty), twoSites)).toThrow(MissingAddressError)
    const [, t] = run(new PriorHandler(Rng.make(1)), twoSites)
    const bad = t.clone()
    bad.choices.set("mu", { address: "mu", value: true, logProb: 0 })
    expect(() => run(new ScoreGivenTrace(bad), twoSites)).toThrow(ChoiceTypeError)
    expect(() => run(new ReplayHandler(Rng.make(1), bad), twoSites)).toThrow(ChoiceTypeError)
  })
})

describe("safe handlers", () => {
  it("never throw on missing or mismatched choices, and count what they repaired", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 20 }), fc.integer(), fc.array(fc.boolean(), { maxLength: 20 }), (steps, seed, corrupt) => {
        const model = modelOf(steps)
        const [, t0] = run(new PriorHandler(Rng.make(seed)), model)
        const base = t0.clone()
        let removed = 0
        let mistyped = 0
        Trace.addresses(t0).forEach((a, i) => {
          if (corrupt[i] === true) {
            base.choices.delete(a)
            removed++
          } else if (corrupt[i] === false && i % 2 === 0) {
            base.choices.set(a, { address: a, value: true, logProb: 0 })
            mistyped++
          }
        })
        const replay = new SafeReplayHandler(Rng.make(seed), base)
        const [, t1] = run(replay, model)
        expect(replay.fresh).toBe(removed)
        expect(replay.repaired).toBe(mistyped)
        expect(t1.size).toBe(t0.size)
        const score = new SafeScoreGivenTrace(base)
        const [, t2] = run(score, model)
        expect(score.missing).toBe(removed)
        expect(score.mismatched).toBe(mistyped)
        if (removed + mistyped > 0) expect(t2.totalLogWeight).toBe(-Infinity)
        else expect(t2.totalLogWeight).toBe(t0.totalLogWeight)
      })
    )
  })
})

describe("typed accessors", () => {
  const [, trace] = run(new PriorHandler(Rng.make(5)), twoSites)
  it("return undefined when the address is missing or has another type", () => {
    expect(Trace.getNumber(trace, "nope")).toBeUndefined()
    expect(Trace.getBoolean(trace, "mu")).toBeUndefined()
    expect(Trace.getVector(trace, "mu")).toBeUndefined()
    expect(typeof Trace.getNumber(trace, "mu")).toBe("number")
  })
  it("throw errors naming the address and the expected and actual types", () => {
    expect(() => Trace.getNumberOrThrow(trace, "nope")).toThrow(/nope/)
    try {
      Trace.getBooleanOrThrow(trace, "mu")
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(ChoiceTypeError)
      const err = e as ChoiceTypeError
      expect([err.address, err.expected, err.actual]).toEqual(["mu", "boolean", "number"])
    }
  })
  it("clone is copy-on-write: writes to a clone never show through", () => {
    const copy = trace.clone()
    copy.choices.set("mu", { address: "mu", value: 99, logProb: 0 })
    copy.logPrior = 0
    expect(Trace.getNumberOrThrow(trace, "mu")).not.toBe(99)
    expect(trace.logPrior).not.toBe(0)
  })
})
