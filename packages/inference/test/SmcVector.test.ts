// The unfold engine's vectorised steps (internal/smcVector.ts): exact identities. A fixed step
// (numeric state, Normal sites and observations, arithmetic written with `Ad`) is recorded once
// per step and advanced for every particle by generated code; it must give the interpreted
// step's numbers bit for bit (the same streams, the same sampler and log-density arithmetic), and
// the general engine's. Anything else must run interpreted (`stats.vectorisedSteps` says how many
// steps did not) with today's numbers. Statistical checks are in SmcVector.stat.test.ts.
import * as Ad from "@fugue/core/Ad"
import { Bernoulli, Beta, Exponential, factor, Gamma, LogNormal, Normal, observe, sample, StudentT, Uniform, unfold } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import * as Smc from "../src/Smc.ts"
import { general, sharedStats, withoutStats } from "./utils/smcEngines.ts"

const ys = Array.from({ length: 40 }, (_, t) => Math.sin(t / 3) * 2 + 0.3 * Math.cos(7 * t))

function* walkStep(prev: number, t: number) {
  const x = yield* sample("x", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
}
const walk = (steps: number) => unfold("w", steps, 0, (prev: number, t: number) => () => walkStep(prev, t))

/** Two sites per step, `Ad` arithmetic on the state and on a site, a draw after the observation (the step's tail). */
function* pairStep(prev: number, t: number) {
  const x = yield* sample("x", Normal(Ad.mul(0.9, prev), 0.7))
  const v = yield* sample("v", Normal(Ad.mul(0.5, x), Ad.exp(Ad.mul(-0.2, Ad.square(prev)))))
  yield* observe("y", Normal(Ad.add(x, v), 1), ys[t])
  const drift = yield* sample("d", Normal(0, 0.1))
  return Ad.add(x, drift) as number
}
const pair = (steps: number) => unfold("p", steps, 0.3, (prev: number, t: number) => () => pairStep(prev, t))

/** The structure depends on t: two observations, none (no barrier: the next step runs in the same advance), or a factor. */
function* byTimeStep(prev: number, t: number) {
  const x = yield* sample("x", Normal(t % 5 === 0 ? 0 : prev, 0.6))
  if (t % 3 === 0) {
    yield* observe("y", Normal(x, 1), ys[t])
    yield* observe("z", Normal(Ad.neg(x), 2), -ys[t] / 2)
  } else if (t % 3 === 2) yield* factor(Ad.mul(-0.5, Ad.square(Ad.sub(x, ys[t]))) as number)
  return x
}
const byTime = (steps: number) => unfold("b", steps, 0, (prev: number, t: number) => () => byTimeStep(prev, t))


/** The model vectorised, interpreted and on the general engine: the same posterior; returns the vectorised steps. */
const expectIdentical = <A>(model: Model<A>, options: Smc.Options): number => {
  const fast = Smc.runUnsafe(model, options)
  const slow = Smc.runUnsafe(model, { ...options, vectorise: "never" })
  const wrapped = Smc.runUnsafe(general(model), options)
  expect(Smc.stats(slow).vectorisedSteps).toBe(0)
  expect(withoutStats(fast)).toEqual(withoutStats(slow))
  expect(withoutStats(fast)).toEqual(withoutStats(wrapped))
  expect(sharedStats(Smc.stats(fast))).toEqual(sharedStats(Smc.stats(slow)))
  expect(Smc.stats(fast).kept).toBe(Smc.stats(slow).kept)
  return Smc.stats(fast).vectorisedSteps
}

describe("vectorised steps give the interpreted step's numbers bit for bit", () => {
  it("the random walk, every threshold and resampling scheme: draws, weights, log evidence, ESS", () => {
    for (const threshold of [0, 0.5, 1]) {
      for (const resampling of ["systematic", "multinomial", "residual", "stratified"] as const) {
        expect(expectIdentical(walk(40), { particles: 200, seed: 11, threshold, resampling })).toBe(40)
      }
    }
  }, 10_000) // about 0.7 s

  it("two sites per step with Ad arithmetic and a draw after the observation", () => {
    for (const threshold of [0.5, 1]) expect(expectIdentical(pair(30), { particles: 300, seed: 5, threshold })).toBe(30)
  }, 10_000) // about 0.3 s

  it("a step structure that depends on t (two barriers, none, a factor)", () => {
    for (const threshold of [0.6, 1]) expect(expectIdentical(byTime(31), { particles: 250, seed: 8, threshold })).toBe(31)
  })

  it("other scalar continuous families (built by their own constructors, drawn and scored by their own methods), and their invalid parameters", () => {
    const families = unfold("g", 25, 1, (prev: number, t: number) =>
      function*() {
        // Gamma with a shape that depends on the state, LogNormal, StudentT with its defaults, Uniform, Beta
        const scale = yield* sample("scale", Gamma(Ad.add(1, Ad.square(Ad.log(prev))), 2))
        const level = yield* sample("level", LogNormal(Ad.mul(0.5, Ad.log(prev)), 0.3))
        yield* observe("y", StudentT(4, level, scale), Math.abs(ys[t]) + 0.5)
        const u = yield* sample("u", Uniform(0, Ad.add(level, 1)))
        yield* observe("b", Beta(Ad.add(u, 0.5), 2), 0.3)
        // Exponential's rate turns invalid (≤ 0) for some particles at t = 6
        if (t === 6) yield* observe("e", Exponential(Ad.sub(level, 0.9)), 1)
        return Ad.add(level, 0.1) as number
      })
    for (const threshold of [0.5, 1]) expect(expectIdentical(families, { particles: 200, seed: 12, threshold })).toBe(25)
    expect(Smc.stats(Smc.runUnsafe(families, { particles: 200, seed: 12 })).rejectedInvalid).toBeGreaterThan(0)
  }, 10_000) // about 0.55 s

  it("array states of a fixed length (position and velocity), and a state that turns from a number into an array", () => {
    const tracking = unfold("k", 30, [0, 0.2], (prev: ReadonlyArray<number>, t: number) =>
      function*() {
        const velocity = yield* sample("v", Normal(prev[1], 0.1))
        const position = yield* sample("p", Normal(Ad.add(prev[0], velocity), 0.3))
        yield* observe("y", Normal(position, 1), ys[t])
        return [position, velocity]
      })
    for (const threshold of [0.5, 1]) expect(expectIdentical(tracking, { particles: 200, seed: 13, threshold })).toBe(30)
    // (a branch on `typeof prev` would not be seen: the recording's state is a tape node)
    const growing = unfold("m", 20, 0 as number | ReadonlyArray<number>, (prev, t) =>
      function*() {
        const level = t === 0 ? prev as number : (prev as ReadonlyArray<number>)[0]
        const x = yield* sample("x", Normal(level, 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        return t === 0 ? [x, 1] : [x, Ad.add((prev as ReadonlyArray<number>)[1], 1) as number]
      })
    expect(expectIdentical(growing, { particles: 150, seed: 13 })).toBe(20)
    expect(Smc.runUnsafe(growing, { particles: 10, seed: 1 }).returns[0][0][2]).toEqual([expect.any(Number), 3])
  }, 10_000) // about 0.3 s

  it("object states of numbers (a level and a scale)", () => {
    const levels = unfold("o", 24, { level: 0, scale: 1 }, (prev: { readonly level: number; readonly scale: number }, t: number) =>
      function*() {
        const level = yield* sample("level", Normal(prev.level, 0.4))
        yield* observe("y", Normal(level, prev.scale), ys[t])
        const scale = yield* sample("scale", Gamma(4, Ad.div(4, prev.scale)))
        return { level, scale }
      })
    for (const threshold of [0.5, 1]) expect(expectIdentical(levels, { particles: 200, seed: 15, threshold })).toBe(24)
    expect(Object.keys(Smc.runUnsafe(levels, { particles: 5, seed: 1 }).returns[0][0][3])).toEqual(["level", "scale"])
  }, 10_000) // about 0.5 s

  it("the step function runs twice per step (its two recordings), not once per particle", () => {
    let calls = 0
    const counted = unfold("c", 20, 0, (prev: number, t: number) => {
      calls++
      return () => walkStep(prev, t)
    })
    Smc.runUnsafe(counted, { particles: 100, seed: 1 })
    expect(calls).toBe(40)
    calls = 0
    Smc.runUnsafe(counted, { particles: 100, seed: 1, vectorise: "never" })
    expect(calls).toBe(2000)
  })
})

describe("steps that cannot be vectorised run interpreted, with today's numbers", () => {
  it("a step that branches on the state's value (plain arithmetic on it is detected)", () => {
    const branching = unfold("s", 25, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", prev > 0 ? Normal(prev, 0.5) : Normal(prev, 1))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    expect(expectIdentical(branching, { particles: 150, seed: 2 })).toBe(0)
    const plain = unfold("s", 25, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(0.9 * prev, 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    expect(expectIdentical(plain, { particles: 150, seed: 2 })).toBe(0)
    for (const model of [branching, plain]) {
      expect(Smc.stats(Smc.runUnsafe(model, { particles: 50, seed: 2 })).notVectorised).toBe(
        "step 0: the state or a site's value reached plain JavaScript arithmetic or control flow (write that arithmetic with Ad functions)"
      )
    }
  })

  it("a value taken off the tape with Ad.primal (of the state, or of a site) is found by the second recording", () => {
    // without the second recording (another particle's state, other site values) each of these
    // steps recorded a constant and gave every particle the numbers of one: a wrong posterior
    const fromState = unfold("s", 25, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(0.9 * Ad.primal(prev), 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    expect(expectIdentical(fromState, { particles: 150, seed: 2 })).toBe(0)
    const fromSite = unfold("s", 25, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 0.5))
        yield* observe("y", Normal(Ad.primal(x) + 0.1, 1), ys[t])
        return x
      })
    expect(expectIdentical(fromSite, { particles: 150, seed: 2 })).toBe(0)
    // from step 6 on: steps 0–4 complete vectorised; the advance that would finish step 5 and
    // enter step 6 finds step 6 cannot be recorded and runs interpreted from there
    const later = unfold("s", 25, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(t < 6 ? prev : Ad.primal(prev) * 0.9, 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    expect(expectIdentical(later, { particles: 150, seed: 2 })).toBe(5)
    expect(Smc.stats(Smc.runUnsafe(later, { particles: 50, seed: 2 })).notVectorised).toMatch(/^step 6: its recordings at two states differ/)
    expect(Smc.stats(Smc.runUnsafe(walk(20), { particles: 50, seed: 2 })).notVectorised).toBe("")
    expect(Smc.stats(Smc.runUnsafe(() => walk(20)(), { particles: 50, seed: 2 })).notVectorised).toBe("the model is not made by unfold")
  })

  it("a discrete site; and from a step that cannot be vectorised on, the run stays interpreted", () => {
    const flips = unfold("f", 20, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 0.5))
        if (t >= 8) {
          const b = yield* sample("b", Bernoulli(0.3))
          yield* observe("y", Normal(x, b ? 2 : 1), ys[t])
        } else yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    // steps 0 … 6 vectorised: the advance after step 7's barrier enters step 8, so it runs
    // interpreted, each particle's step 7 replayed from the values it drew (no random numbers)
    for (const threshold of [0.5, 1]) expect(expectIdentical(flips, { particles: 200, seed: 3, threshold })).toBe(7)
    const discreteFirst = unfold("f", 10, 0, (prev: number, t: number) =>
      function*() {
        const b = yield* sample("b", Bernoulli(0.5))
        const x = yield* sample("x", Normal(b ? prev : 0, 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        return x
      })
    expect(expectIdentical(discreteFirst, { particles: 100, seed: 3 })).toBe(0)
    // the reason names the step and the site
    expect(Smc.stats(Smc.runUnsafe(flips, { particles: 50, seed: 3 })).notVectorised).toBe(
      'step 8: the site "b" is Bernoulli, not one of the scalar continuous families a vectorised step draws or scores'
    )
  })

  it("a handler transformation, and rejuvenation", () => {
    const transform: Combinators.Transform = (h) => Combinators.condition(h, { "w#4/x": 0.2 })
    const conditioned = Smc.runUnsafe(walk(20), { particles: 150, seed: 4, transform })
    expect(Smc.stats(conditioned).vectorisedSteps).toBe(0)
    expect(Smc.stats(conditioned).notVectorised).toContain("a handler transformation")
    expect(withoutStats(conditioned)).toEqual(withoutStats(Smc.runUnsafe(walk(20), { particles: 150, seed: 4, transform, vectorise: "never" })))
    const moved = Smc.runUnsafe(walk(20), { particles: 100, seed: 4, rejuvenation: 1 })
    expect(Smc.stats(moved).vectorisedSteps).toBe(0)
    expect(Smc.stats(moved).notVectorised).toBe("rejuvenation moves particles one by one")
    const never = Smc.runUnsafe(walk(20), { particles: 100, seed: 4, rejuvenation: 1, vectorise: "never" })
    expect(Smc.stats(never).notVectorised).toBe('vectorise: "never"')
    expect(withoutStats(moved)).toEqual(withoutStats(never))
    expect(sharedStats(Smc.stats(moved))).toEqual(sharedStats(Smc.stats(never)))
  })

  it.effect("an Interpreter layer (Smc.run)", () =>
    Effect.gen(function*() {
      const data = { "w#4/x": 0.2 }
      const layered = yield* Smc.run(walk(20), { particles: 150, seed: 9 }).pipe(
        Effect.provide(Interpreter.layerCondition(data).pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer)))
      )
      expect(Smc.stats(layered).vectorisedSteps).toBe(0)
      expect(withoutStats(layered)).toEqual(withoutStats(Smc.runUnsafe(walk(20), { particles: 150, seed: 9, transform: (h) => Combinators.condition(h, data), vectorise: "never" })))
      // without one, Smc.run vectorises too, with runUnsafe's numbers
      const plain = yield* Smc.run(walk(20), { particles: 150, seed: 9 })
      expect(Smc.stats(plain).vectorisedSteps).toBe(20)
      expect(plain).toEqual(Smc.runUnsafe(walk(20), { particles: 150, seed: 9 }))
    }))

  it("vectorise is checked: an unknown value is an error, and the state-space filter does not take it", () => {
    expect(() => Smc.runUnsafe(walk(5), { particles: 10, vectorise: "always" as "auto" })).toThrow(InvalidOptionsError)
    expect(() =>
      Smc.filterUnsafe({ particles: 10, steps: 3, initial: () => 0, transition: (x: number) => x, observation: () => 0, vectorise: "never" } as unknown as Smc.FilterOptions<number>)
    ).toThrow(InvalidOptionsError)
  })
})

describe("invalid values in a vectorised step behave as in the interpreted one", () => {
  it("a non-finite σ for some particles, and a NaN state: weight −∞, counted, the run goes on", () => {
    // σ = x − 0.3 is ≤ 0 for about a third of the particles at t = 3; log of a negative state is NaN at t = 7
    const invalid = unfold("i", 12, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 0.5))
        yield* observe("y", Normal(x, t === 3 ? Ad.sub(Ad.add(x, 1), 0.3) : 1), ys[t])
        return (t === 7 ? Ad.log(Ad.add(x, 0.4)) : x) as number
      })
    for (const threshold of [0, 1]) {
      expect(expectIdentical(invalid, { particles: 300, seed: 6, threshold })).toBe(12)
      const s = Smc.stats(Smc.runUnsafe(invalid, { particles: 300, seed: 6, threshold }))
      expect(s.rejectedInvalid).toBeGreaterThan(10)
      expect(s.rejectedInvalid).toBeLessThan(300)
    }
  })

  it("particles that broke in vectorised steps stay broken when the run turns interpreted", () => {
    // σ ≤ 0 for some particles at t = 3; a discrete site from t = 6 on; without resampling the broken stay
    const mixed = unfold("j", 10, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 0.5))
        if (t >= 6 && (yield* sample("b", Bernoulli(0.5)))) yield* factor(-0.1)
        yield* observe("y", Normal(x, t === 3 ? Ad.add(x, 0.6) : 1), ys[t])
        return x
      })
    for (const threshold of [0, 0.5]) {
      expect(expectIdentical(mixed, { particles: 200, seed: 14, threshold })).toBe(5)
      const s = Smc.stats(Smc.runUnsafe(mixed, { particles: 200, seed: 14, threshold }))
      expect(s.rejectedInvalid).toBeGreaterThan(0)
    }
  })

  it("when every particle is invalid, the same ZeroWeightError, naming the step's barrier", () => {
    // σ = 1e-9 − |x − prev| is valid at the recording (x = prev there) and ≤ 0 for every particle
    const doomed = unfold("z", 6, 0, (prev: number, t: number) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 0.5))
        yield* observe("y", Normal(x, 1), ys[t])
        if (t === 2) yield* observe("q", Normal(0, Ad.sub(1e-9, Ad.abs(Ad.sub(x, prev)))), 0)
        return x
      })
    const message = (options: Smc.Options): string => {
      try {
        Smc.runUnsafe(doomed, options)
      } catch (error) {
        expect(error).toBeInstanceOf(ZeroWeightError)
        return (error as ZeroWeightError).message
      }
      throw new Error("no error")
    }
    // (the driver builds "q"'s distribution before it stops at "y": the weights are −∞ at y's step)
    const fast = message({ particles: 50, seed: 1 })
    expect(fast).toEqual(message({ particles: 50, seed: 1, vectorise: "never" }))
    expect(fast).toContain("at step 3")
    expect(fast).toContain("50 particles raised InvalidDistributionError")
    expect(fast).toContain("z#2/y")
  })
})
