// Nested inference: an inferred distribution used inside another model, with inference called
// inside the outer model's body (synchronously, through the same driver) and memoised by
// argument. The rational-speech-acts reference game (Frank & Goodman 2012) has its exact answer
// worked out by hand below; the other tests check 2 and 3 levels of nesting against direct sums.
import { describe, expect, it } from "@effect/vitest"
import { Bernoulli, Categorical, DiscreteUniform, factor, Marginal, MemoKeyError, memoize, Normal, observe, sample } from "@fugue/core"
import type { MarginalDistribution } from "@fugue/core/distributions/Marginal"
import type { Model } from "@fugue/core/Model"
import { Effect } from "effect"
import * as Enumerate from "../src/Enumerate.ts"
import * as Is from "../src/Is.ts"
import * as Mh from "../src/Mh.ts"
import * as Posterior from "../src/Posterior.ts"
import { checkMean } from "./utils/mcmc.ts"

// Objects: blue square, blue circle, green square (uniform prior); utterances: "blue", "green",
// "square", "circle" (uniform, no cost), each true of the objects it names.
const objects = ["blue square", "blue circle", "green square"] as const
const utterances = ["blue", "green", "square", "circle"] as const
type Obj = (typeof objects)[number]
type Utt = (typeof utterances)[number]
const isTrue = (u: Utt, o: Obj): boolean => o.includes(u)

// Hand enumeration (α = 1):
// L0(o | u) ∝ [[u]](o): L0(·|blue) = (½, ½, 0), L0(·|square) = (½, 0, ½), L0(·|circle) = (0, 1, 0), L0(·|green) = (0, 0, 1).
// S1(u | o) ∝ L0(o | u): S1(·|blue square) over (blue, square) ∝ (½, ½) → (½, ½);
//   S1(·|blue circle) over (blue, circle) ∝ (½, 1) → (⅓, ⅔); S1(·|green square) over (green, square) ∝ (1, ½) → (⅔, ⅓).
// L1(o | "blue") ∝ S1(blue | o): (½, ⅓, 0) → (3/5, 2/5, 0); L1(o | "square") ∝ (½, 0, ⅓) → (3/5, 0, 2/5).
describe("rational speech acts", () => {
  const calls = { literal: 0, speaker: 0 }
  const literal = memoize((u: Utt): MarginalDistribution<Obj> => {
    calls.literal++
    return Enumerate.runUnsafe(function*() {
      const o = objects[yield* sample("o", Categorical([1, 1, 1]))]!
      yield* factor(isTrue(u, o) ? 0 : -Infinity)
      return o
    }).distribution
  })
  const speaker = memoize((o: Obj): MarginalDistribution<Utt> => {
    calls.speaker++
    return Enumerate.runUnsafe(function*() {
      const u = utterances[yield* sample("u", DiscreteUniform(0, 3))]!
      yield* factor(literal(u).logProb(o)) // α = 1
      return u
    }).distribution
  })
  const listener = (u: Utt): Model<Obj> =>
    function*() {
      const o = objects[yield* sample("o", Categorical([1, 1, 1]))]!
      yield* observe("u", speaker(o), u)
      return o
    }

  it("the pragmatic listener hears 'blue' as the blue square with probability 3/5 (exact, 3 levels of enumeration)", () => {
    const blue = Enumerate.runUnsafe(listener("blue")).distribution
    expect(blue.probability("blue square")).toBeCloseTo(3 / 5, 14)
    expect(blue.probability("blue circle")).toBeCloseTo(2 / 5, 14)
    expect(blue.probability("green square")).toBe(0)
    const square = Enumerate.runUnsafe(listener("square")).distribution
    expect(square.probability("blue square")).toBeCloseTo(3 / 5, 14)
    expect(square.probability("green square")).toBeCloseTo(2 / 5, 14)
  })

  it("memoises the inner inferences: one run per distinct argument, however many outer executions", () => {
    // both listener runs above: 3 objects → 3 speaker runs, 4 utterances → 4 literal runs
    expect([calls.speaker, calls.literal]).toEqual([3, 4])
    expect([speaker.size, literal.size]).toEqual([3, 4])
  })

  it("a speaker's string-valued marginal is sampled inside an outer enumeration", () => {
    // P(the speaker of a random object says "blue") = ⅓(½ + ⅓ + 0) = 5/18
    const says = Enumerate.runUnsafe(function*() {
      const o = objects[yield* sample("o", Categorical([1, 1, 1]))]!
      return yield* sample("utterance", speaker(o))
    }).distribution
    expect(says.probability("blue")).toBeCloseTo(5 / 18, 14)
    expect(says.kind).toBe("value")
  })
})

describe("marginals of sampling inference as values", () => {
  it("Posterior.marginal of IS is the weighted distribution of the return value, usable in an outer model", () => {
    // inner: b ~ Bernoulli(0.3), observe N(b ? 1 : 0, 1) at 1 → P(b | y) = 0.3·φ(0)/(0.3·φ(0) + 0.7·φ(1))
    const phi = (x: number) => Math.exp(-0.5 * x * x)
    const exact = (0.3 * phi(0)) / (0.3 * phi(0) + 0.7 * phi(1))
    const inner = Is.runUnsafe(function*() {
      const b = yield* sample("b", Bernoulli(0.3))
      yield* observe("y", Normal(b ? 1 : 0, 1), 1)
      return b
    }, { particles: 20_000, seed: 3 })
    const m = Posterior.marginal(inner)
    // IS with prior proposal: the weighted frequency's standard error is below √(p(1−p)/ESS); ESS ≥ 15 000 here
    expect(Math.abs(m.probability(true) - exact)).toBeLessThan(5 * Math.sqrt((exact * (1 - exact)) / 15_000))
    // used as a prior inside an outer exact enumeration: P(two independent draws agree)
    const agree = Enumerate.runUnsafe(function*() {
      const a = yield* sample("a", m)
      const b = yield* sample("b", m)
      return a === b
    }).distribution.probability(true)
    const p = m.probability(true)
    expect(agree).toBeCloseTo(p * p + (1 - p) * (1 - p), 14)
  })

  it("Posterior.marginal of MH weighs every draw equally; an MH outer model samples a string-valued marginal", () => {
    const colours = Marginal(["red", "green"], [Math.log(0.25), Math.log(0.75)])
    const post = Mh.runUnsafe(function*() {
      const c = yield* sample("c", colours)
      yield* observe("y", Normal(c === "red" ? 1 : -1, 1), 1)
      return c
    }, { samples: 4000, seed: 2 })
    // the string site has no numeric column; the return values carry it
    expect(post.sites).toEqual([])
    // P(red | y = 1) = 0.25·φ(0) / (0.25·φ(0) + 0.75·φ(2))
    const phi = (x: number) => Math.exp(-0.5 * x * x)
    const exact = (0.25 * phi(0)) / (0.25 * phi(0) + 0.75 * phi(2))
    const m = Posterior.marginal(post)
    // the marginal's probability is the mean of the indicator draws: within 4 MCSE (ESS from the
    // chain's autocorrelation, test/utils/mcmc.ts)
    const indicator = post.returns.map((chain) => Float64Array.from(chain, (c) => (c === "red" ? 1 : 0)))
    const check = checkMean(indicator, exact)
    expect(check.estimate).toBeCloseTo(m.probability("red"), 14)
    expect(check.z).toBeLessThan(4)
  })

  it("a memoised function called with arguments it cannot key fails the run (MemoKeyError), never a silently rejected proposal or particle", () => {
    class Box {
      readonly v: number
      constructor(v: number) {
        this.v = v
      }
    }
    const f = memoize((b: Box) => b.v)
    // only states with x > 1 reach the bad call: rejecting them as invalid draws would cut the
    // posterior's tail off without a word
    const model: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      if (x > 1) f(new Box(x))
      return x
    }
    expect(() => Mh.runUnsafe(model, { samples: 2000, seed: 1 })).toThrow(MemoKeyError)
    expect(() => Is.runUnsafe(model, { particles: 2000, seed: 1 })).toThrow(MemoKeyError)
    expect(() => f(new Box(1))).toThrow(/memoize: the arguments .* have no structural key/)
    // a typed failure of the Effect form, not a defect
    const failure = Effect.runSync(Effect.flip(Mh.run(model, { samples: 2000, seed: 1 })))
    expect(failure).toBeInstanceOf(MemoKeyError)
  })
})
