// The unfold engine of `Smc.runUnsafe` / `Smc.run` (internal/smcUnfold.ts): exact identities.
// Without rejuvenation it must give the general engine's numbers bit for bit on every model made
// by `unfold` (it draws the same random numbers in the same order; only the bookkeeping of
// resampled copies differs), with a cost per step that does not grow with the step index. The
// general engine is reached by wrapping the model (`() => model()` is not recognised as an
// unfold). Statistical checks against exact answers are in SmcLinear.stat.test.ts.
import { Bernoulli, Dirichlet, factor, Gamma, Normal, observe, sample, unfold } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { unfoldSpec } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import { ModelCodeError, whereOf } from "@fugue/runtime/Execution"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import type { Posterior } from "../src/Posterior.ts"
import * as Smc from "../src/Smc.ts"
import { general, sharedStats, withoutStats } from "./utils/smcEngines.ts"
import * as Resampling from "../src/Resampling.ts"
import { UnfoldEngine } from "../src/internal/smcUnfold.ts"
import * as CoreRng from "@fugue/core/Rng"
import type { UnfoldSpec } from "@fugue/core/Model"

const ys = Array.from({ length: 30 }, (_, t) => Math.sin(t / 3) * 2 + 0.3 * Math.cos(7 * t))

// The stepping form: a closure over a module-level generator function (see Model.unfold).
function* walkStep(prev: number, t: number) {
  const x = yield* sample("v", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
}
const walk = (steps: number) => unfold("x", steps, 0, (prev: number, t: number) => () => walkStep(prev, t))

/** Draws after the observation (copies must replay their step), a factor barrier, two barriers in some steps, none in others. */
const mixed = unfold("s", 24, { level: 0, scale: 1 }, (prev, t) =>
  function*() {
    const level = yield* sample("level", Normal(prev.level, 0.4))
    if (t % 3 !== 2) yield* observe("y", Normal(level, prev.scale), ys[t])
    const scale = yield* sample("scale", Gamma(4, 4))
    if (t % 4 === 0) yield* factor(-0.5 * (level - scale) ** 2)
    const flip = yield* sample("flip", Bernoulli(0.3))
    if (flip) yield* observe("z", Normal(level, 2), ys[t] / 2)
    return { level, scale }
  })

/** Vector and boolean values, and an invalid distribution for some states (weight −∞, counted). */
const shapes = unfold("w", 12, 0.5, (prev, t) =>
  function*() {
    const p = yield* sample("p", Dirichlet(new Float64Array([1 + prev, 2, 3])))
    const b = yield* sample("b", Bernoulli(p[0]))
    const sd = b ? p[1] - 0.2 : 1
    yield* observe("y", Normal(p[2], sd), 0.4 + 0.01 * t)
    return p[1] * 2
  })


const expectSame = <A>(model: Model<A>, options: Smc.Options) => {
  const fast = Smc.runUnsafe(model, options)
  const slow = Smc.runUnsafe(general(model), options)
  expect(Smc.stats(fast).engine).toBe("unfold")
  expect(Smc.stats(slow).engine).toBe("general")
  expect(withoutStats(fast)).toEqual(withoutStats(slow))
  expect(sharedStats(Smc.stats(fast))).toEqual(sharedStats(Smc.stats(slow)))
  expect(Smc.stats(fast).kept).toBe(Smc.stats(slow).kept)
  return { fast, slow }
}

describe("the unfold engine is the general one, bit for bit, without rejuvenation", () => {
  it("unfoldSpec recognises the model itself and nothing that wraps it", () => {
    const m = walk(5)
    expect(unfoldSpec(m)).toMatchObject({ name: "x", steps: 5, initial: 0 })
    expect(unfoldSpec(general(m))).toBeUndefined()
    expect(unfoldSpec(function*() {})).toBeUndefined()
    expect(Object.keys(m)).toEqual([])
  })

  it("the random walk: same draws, weights, log evidence, ESS and resamplings, every copy sharing its ancestor's step", () => {
    for (const threshold of [0, 0.5, 1]) {
      // vectorised (each step recorded once, smcVector.ts) and interpreted (a copy shares its ancestor's step)
      expect(Smc.stats(expectSame(walk(30), { particles: 200, seed: 4, threshold }).fast).vectorisedSteps).toBe(30)
      const { fast } = expectSame(walk(30), { particles: 200, seed: 4, threshold, vectorise: "never" })
      const s = Smc.stats(fast)
      expect(s.vectorisedSteps).toBe(0)
      if (threshold > 0) expect(s.shared).toBeGreaterThan(0)
      expect(s.rebuilds).toBe(0)
      expect(fast.sites).toEqual(Array.from({ length: 30 }, (_, t) => `x#${t}/v`).sort())
      fast.returns[0].forEach((path, i) => path.forEach((x, t) => expect(x).toBe(fast.draws.get(`x#${t}/v`)![0][i])))
    }
  })

  it("draws after a barrier, factors, steps with two barriers or none: copies replay only their current step", () => {
    for (const resampling of ["systematic", "multinomial", "residual", "stratified"] as const) {
      const { fast, slow } = expectSame(mixed, { particles: 150, seed: 7, threshold: 0.7, resampling })
      const s = Smc.stats(fast)
      expect(s.rebuilds).toBeGreaterThan(0)
      // a copy replays at most one step (a handful of instructions), the general engine the whole prefix
      expect(s.replayedInstructions / s.rebuilds).toBeLessThan(12)
      expect(s.replayedInstructions).toBeLessThan(0.2 * Smc.stats(slow).replayedInstructions)
    }
  }, 10_000) // about 0.35 s

  it("vector and boolean sites, invalid distributions (counted, weight 0) and zero steps", () => {
    const { fast } = expectSame(shapes, { particles: 300, seed: 2, threshold: 1 })
    expect(Smc.stats(fast).rejectedInvalid).toBeGreaterThan(0)
    expect(fast.sites).toContain("w#3/p[2]")
    expectSame(unfold("e", 0, 1, () => function*() {
      return 1
    }), { particles: 10, seed: 1 })
  })

  it("a handler transformation applies to the steps (scoped addresses), as in the general engine", () => {
    // condition turns x#4/v and x#9/v into observations: two more barriers
    const transform: Combinators.Transform = (h) => Combinators.condition(h, { "x#4/v": 0.2, "x#9/v": -0.4 })
    const { fast } = expectSame(walk(12), { particles: 200, seed: 3, transform })
    expect(fast.sites).not.toContain("x#4/v")
    expect(Smc.stats(fast).steps).toBe(14)
    expectSame(mixed, { particles: 100, seed: 5, transform: (h) => Combinators.scale(h, 0.5) })
  })

  it("steps run unscoped without a transformation and scoped with one: the same numbers either way", () => {
    const passThrough: Combinators.Transform = (h) => h
    for (const model of [walk(25), mixed] as ReadonlyArray<Model<unknown>>) {
      for (const rejuvenation of [0, 1]) {
        // interpreted steps (a vectorised step has no scope to compare)
        const options = { particles: 120, seed: 6, threshold: 0.8, rejuvenation, vectorise: "never" as const }
        const scoped = Smc.runUnsafe(model, { ...options, transform: passThrough }), unscoped = Smc.runUnsafe(model, options)
        expect(withoutStats(scoped)).toEqual(withoutStats(unscoped))
        // replays count the scope's two instructions per step only when steps run scoped
        expect({ ...Smc.stats(scoped), replayedInstructions: 0 }).toEqual({ ...Smc.stats(unscoped), replayedInstructions: 0 })
      }
    }
  }, 30_000) // about 1.7 s

  it.effect("run equals runUnsafe, time-sliced (pauses between particles), and Interpreter layers act as the transform option", () =>
    Effect.gen(function*() {
      const model = walk(30)
      // about 40 ms of work: several 5 ms slices, so copies are materialised across slices
      const big = { particles: 2000, seed: 9, threshold: 0.9 }
      expect(yield* Smc.run(model, big)).toEqual(Smc.runUnsafe(model, big))
      const direct = Smc.runUnsafe(model, { particles: 150, seed: 9, rejuvenation: 1 })
      expect(yield* Smc.run(model, { particles: 150, seed: 9, rejuvenation: 1 })).toEqual(direct)
      const data = { "x#4/v": 0.2 }
      const layered = yield* Smc.run(model, { particles: 150, seed: 9 }).pipe(
        Effect.provide(Interpreter.layerCondition(data).pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer)))
      )
      const byOption = Smc.runUnsafe(model, { particles: 150, seed: 9, transform: (h) => Combinators.condition(h, data) })
      expect(layered).toEqual(byOption)
      expect(Smc.stats(layered).engine).toBe("unfold")
    }), 10_000) // about 0.3 s
})

describe("the unfold engine's cost per step does not grow with the step index", () => {
  it("replayed instructions per step stay flat from T = 40 to T = 160 (the general engine's grow with T)", () => {
    const perStep = (steps: number, wrap: boolean) => {
      const m = unfold("s", steps, { level: 0, scale: 1 }, (prev, t) => unfoldSpec(mixed)!.step(prev, t % 24) as Model<{ level: number; scale: number }>)
      const s = Smc.stats(Smc.runUnsafe(wrap ? general(m) : m, { particles: 100, seed: 1, threshold: 0.7 }))
      return s.replayedInstructions / steps
    }
    const short = perStep(40, false), long = perStep(160, false)
    expect(long).toBeLessThan(1.5 * short)
    expect(perStep(160, true) / perStep(40, true)).toBeGreaterThan(2.5)
  }, 20_000)

  it("completed steps of lineages that died are dropped: retained slots stay far below N·T, the numbers unchanged", () => {
    // 50 particles × 1000 steps, resampling at every step, with and without fixed-lag moves (which
    // replace windows): the live genealogy of a resampled population coalesces (≈ 2N·ln T slots
    // plus the windows), and compaction runs once the arenas exceed twice what the previous one
    // kept plus 64N and leaves at most twice the live slots in an arena (it is copied only when
    // that halves it), so a few thousand slots remain: under 15 % of the 50 000 completions. One that dropped or mislinked a live slot would change the
    // posterior (every path, site and weight) or the moves (which start from the window's state)
    const long = unfold("x", 1000, 0, (prev: number, t: number) => () => walkStep(prev, t % 30))
    const run = (rejuvenation: number, compaction: boolean) => {
      const engine = new UnfoldEngine(long as Model<Array<number>>, unfoldSpec(long) as UnfoldSpec<number>, CoreRng.make(3), {
        particles: 50, threshold: 1, resampler: Resampling.get("systematic"), rejuvenation, lag: 3, compaction
      })
      while (engine.stepUnsafe()) {
        // each call is one step
      }
      return { post: engine.finish(() => undefined, undefined), slots: engine.slots, accepted: engine.rejuvenationAccepted }
    }
    for (const rejuvenation of [0, 1]) {
      const compacted = run(rejuvenation, true), kept = run(rejuvenation, false)
      expect(compacted.post).toEqual(kept.post)
      expect(compacted.accepted).toBe(kept.accepted)
      // one completion per distinct ancestor per step (copies share it): well over half of N·T
      expect(kept.slots).toBeGreaterThan(0.5 * 50 * 1000)
      expect(compacted.slots).toBeLessThan(0.15 * 50 * 1000)
      if (rejuvenation === 1) expect(compacted.accepted).toBeGreaterThan(1000)
    }
  }, 60_000)
})

describe("errors and options", () => {
  it("a repeated address inside a step is DuplicateAddressError naming the full address", () => {
    const repeated = unfold("r", 3, 0, () =>
      function*() {
        const a = yield* sample("a", Normal(0, 1))
        yield* observe("y", Normal(a, 1), 0)
        return yield* sample("a", Normal(a, 1))
      })
    const error = (() => {
      try {
        Smc.runUnsafe(repeated, { particles: 20, seed: 1 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(DuplicateAddressError)
    expect((error as DuplicateAddressError).address).toMatch(/^r#[0-2]\/a$/)
  })

  it("an error raised inside a step names the full address, as in the general engine", () => {
    const failing = unfold("f", 6, 0, (prev, t) =>
      function*() {
        const x = yield* sample("x", Normal(prev, 1))
        yield* observe("y", Normal(x, 1), 0.1)
        if (t === 3) throw new RangeError("boom")
        return x
      })
    const caught = (model: Model<unknown>) => {
      try {
        Smc.runUnsafe(model, { particles: 10, seed: 1 })
      } catch (e) {
        return e
      }
    }
    const fast = caught(failing), slow = caught(general(failing))
    expect(fast).toBeInstanceOf(ModelCodeError)
    expect(whereOf(fast)).toMatchObject({ address: "f#3/y", algorithm: "SMC" })
    expect(whereOf(fast)!.address).toBe(whereOf(slow)!.address)
  })

  it("every particle impossible: ZeroWeightError naming the step and the full address", () => {
    const impossible = unfold("z", 5, 0, (_prev, t) =>
      function*() {
        const x = yield* sample("x", Normal(0, 1))
        yield* observe("y", Normal(x, t === 2 ? 1e-300 : 1), t === 2 ? 50 : 0)
        return x
      })
    expect(() => Smc.runUnsafe(impossible, { particles: 20, seed: 1 })).toThrow(ZeroWeightError)
    expect(() => Smc.runUnsafe(impossible, { particles: 20, seed: 1 })).toThrow(/step 3 \(observe "z#2\/y"/)
  })

  it("rejuvenationLag: a positive integer, for either engine", () => {
    for (const rejuvenationLag of [0, 1.5, -1, Number.NaN]) {
      expect(() => Smc.runUnsafe(walk(3), { particles: 10, rejuvenation: 1, rejuvenationLag })).toThrow(InvalidOptionsError)
      expect(() => Smc.runUnsafe(general(walk(3)), { particles: 10, rejuvenation: 1, rejuvenationLag })).toThrow(InvalidOptionsError)
    }
    expect(Smc.stats(Smc.runUnsafe(walk(3), { particles: 10, seed: 1, rejuvenation: 1, rejuvenationLag: 2 })).engine).toBe("unfold")
    expect(Smc.stats(Smc.runUnsafe(general(walk(3)), { particles: 10, seed: 1, rejuvenation: 1, rejuvenationLag: 2 })).engine).toBe("general")
  })

  it("the general engine's lag: at least the number of barriers moves every choice, as without one; a lag L proposes sweeps × L per particle per resampling", () => {
    const options = { particles: 40, seed: 6, threshold: 1, rejuvenation: 2 }
    expect(Smc.runUnsafe(general(walk(8)), { ...options, rejuvenationLag: 8 })).toEqual(Smc.runUnsafe(general(walk(8)), options))
    // one choice per barrier: after barrier k the window holds the min(k, L) latest choices, so
    // the kernel makes 2 × min(k, 3) proposals per particle at resampling k = 1 … 20 (the last
    // barrier resamples too: the particles have yet to return)
    const s = Smc.stats(Smc.runUnsafe(general(walk(20)), { ...options, rejuvenationLag: 3 }))
    let expected = 0
    for (let k = 1; k <= 20; k++) expected += 40 * 2 * Math.min(k, 3)
    expect(s.resamplings).toBe(20)
    expect(s.rejuvenationProposed).toBe(expected)
    expect(s.rejuvenationAccepted).toBeGreaterThan(0)
  })

  it("the general engine's lag under a handler transformation: the fixed choices are those the particle recorded, after the transformation", () => {
    // condition turns x#2/v and x#9/v into observations (barriers, no choices): the replayed
    // prefix must be the tape's sample sites, below the transformation, or its addresses would
    // not line up (MissingAddressError); the Effect form with the layer gives the same numbers
    const data = { "x#2/v": 0.4, "x#9/v": -0.3 }
    const options = { particles: 60, seed: 8, threshold: 1, rejuvenation: 1, rejuvenationLag: 4 }
    const post = Smc.runUnsafe(general(walk(14)), { ...options, transform: (h) => Combinators.condition(h, data) })
    expect(post.sites).not.toContain("x#2/v")
    expect(post.sites).toContain("x#10/v")
    expect(Smc.stats(post).rejuvenationAccepted).toBeGreaterThan(0)
    const layered = Effect.runSync(
      Smc.run(general(walk(14)), options).pipe(
        Effect.provide(Interpreter.layerCondition(data).pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer)))
      )
    )
    expect(layered).toEqual(post)
  })
})

describe("fixed-lag rejuvenation", () => {
  it("moves the last L steps only, keeps every particle's states equal to its sites, and is reproducible", () => {
    const options = { particles: 200, seed: 11, threshold: 1, rejuvenation: 1, rejuvenationLag: 3 }
    const a = Smc.runUnsafe(walk(30), options)
    const b = Smc.runUnsafe(walk(30), options)
    expect(b).toEqual(a)
    const s = Smc.stats(a)
    expect(s.rejuvenationAccepted).toBeGreaterThan(0)
    // 30 resamplings (after every barrier, the last one too: a step ends with its scope's exit)
    // × 200 particles × 1 sweep × (3 sites in the window; 1 and 2 at the first two steps)
    expect(s.resamplings).toBe(30)
    expect(s.rejuvenationProposed).toBe(200 * (1 + 2 + 3 * 28))
    a.returns[0].forEach((path, i) => path.forEach((x, t) => expect(x).toBe(a.draws.get(`x#${t}/v`)![0][i])))
    // recent states are diverse again, old ones have coalesced as without moves
    const distinct = (p: Posterior<unknown>, site: string) => new Set(p.draws.get(site)![0]).size
    const plain = Smc.runUnsafe(walk(30), { ...options, rejuvenation: 0 })
    expect(distinct(a, "x#27/v")).toBeGreaterThan(1.5 * distinct(plain, "x#27/v"))
  })

  it("finished particles and variable barrier counts: moves never change the step a barrier falls in", () => {
    // a step observes only when its flip is true: a move of a flip shifts later barriers
    const sparse = unfold("k", 10, false, (prev, t) =>
      function*() {
        const on = yield* sample("on", Bernoulli(prev ? 0.7 : 0.3))
        if (on) yield* observe("y", Normal(2, 1), ys[t])
        return on
      })
    const post = Smc.runUnsafe(sparse, { particles: 200, seed: 5, threshold: 1, rejuvenation: 2, rejuvenationLag: 2 })
    expect(Smc.stats(post).rejuvenationAccepted).toBeGreaterThan(0)
    post.returns[0].forEach((path, i) => path.forEach((on, t) => expect(on ? 1 : 0).toBe(post.draws.get(`k#${t}/on`)![0][i])))
  })
})
