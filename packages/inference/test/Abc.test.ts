// ABC's contract apart from its statistics (Abc.stat.test.ts): options checked before any work,
// bad simulations rejected and counted (never NaN in the output), typed errors that name what
// went wrong, ABC-SMC's stopping rules and warnings, determinism, the Effect forms (equal to the
// synchronous ones, progress, interruption, errors in the error channel) and Interpreter layers.
// Timeouts: 5 s per test, over 10× the slowest measured (about 300 ms on a loaded 2-core machine).
import { describe, expect, it } from "@effect/vitest"
import { addr, factor, Normal, observe, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Duration, Effect, Exit, Layer } from "effect"
import * as TracePool from "@fugue/memory/TracePool"
import * as Abc from "../src/Abc.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"

const average = (y: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < y.length; i++) s += y[i]
  return s / y.length
}

// mu ~ N(0, 2), five noisy copies of it; observed mean 1
const ys = Float64Array.from([0.6, 1.4, 0.8, 1.2, 1])
const simulator: Model<Float64Array> = function*() {
  const mu = yield* sample("mu", Normal(0, 2))
  const y = new Float64Array(5)
  for (let i = 0; i < 5; i++) y[i] = yield* sample(addr("y", i), Normal(mu, 1))
  return y
}
const compare = { observed: ys, summary: average }

/** A model that counts its runs, for "before any work". */
const counting = () => {
  const counter = { runs: 0 }
  const model: Model<number> = function*() {
    counter.runs++
    return yield* sample("x", Normal(0, 1))
  }
  return { counter, model }
}

const rejectsOption = (thunk: () => unknown, option: string): void => {
  try {
    thunk()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe(option)
    return
  }
  throw new Error(`expected InvalidOptionsError for ${option}`)
}

describe("options are checked before any work", { timeout: 5_000 }, () => {
  it("rejection: invalid values, missing or conflicting options and unknown keys give InvalidOptionsError naming the option", () => {
    const { counter, model } = counting()
    const base = { observed: 0, tolerance: 1 }
    for (const simulations of [0, -1, 2.5, Number.NaN]) rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations }), "simulations")
    rejectsOption(() => Abc.rejectionUnsafe(model, { observed: 0, simulations: 10 }), "tolerance")
    rejectsOption(() => Abc.rejectionUnsafe(model, { observed: 0, simulations: 10, tolerance: 1, quantile: 0.1 }), "quantile")
    for (const tolerance of [-1, Number.NaN]) rejectsOption(() => Abc.rejectionUnsafe(model, { observed: 0, simulations: 10, tolerance }), "tolerance")
    for (const quantile of [0, 1.5]) rejectsOption(() => Abc.rejectionUnsafe(model, { observed: 0, simulations: 10, quantile }), "quantile")
    rejectsOption(() => Abc.rejectionUnsafe(model, { simulations: 10, tolerance: 1 }), "observed")
    rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations: 10, data: "observe" }), "observed")
    rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations: 10, data: "obs" as "observe" }), "data")
    rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations: 10, summary: 3 as unknown as () => number }), "summary")
    rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations: 10, distance: "l1" as unknown as () => number }), "distance")
    rejectsOption(() => Abc.rejectionUnsafe(model, { ...base, simulations: 10, seed: 0.5 }), "seed")
    rejectsOption(() => Abc.rejectionUnsafe(3 as unknown as Model<number>, { ...base, simulations: 10 }), "model")
    // the observed data must be summarisable, and its summary free of NaN
    rejectsOption(() => Abc.rejectionUnsafe(model, { observed: "text" as unknown as number, simulations: 10, tolerance: 1 }), "observed")
    rejectsOption(() => Abc.rejectionUnsafe(model, { observed: 0, summary: () => "s" as unknown as number, simulations: 10, tolerance: 1 }), "summary")
    rejectsOption(() => Abc.rejectionUnsafe(model, { observed: Number.NaN, simulations: 10, tolerance: 1 }), "observed")
    try {
      Abc.rejectionUnsafe(model, { ...base, simulations: 10, tolerence: 1 } as Abc.RejectionOptions<number>)
    } catch (error) {
      expect((error as Error).message).toContain("did you mean `tolerance`")
    }
    expect(counter.runs).toBe(0)
  })

  it("smc: invalid values give InvalidOptionsError naming the option", () => {
    const { counter, model } = counting()
    const base = { observed: 0, particles: 100 }
    const cases: Array<[Partial<Abc.SmcOptions<number>>, string]> = [
      [{ particles: 1 }, "particles"],
      [{ particles: 0 }, "particles"],
      [{ generations: 0 }, "generations"],
      [{ tolerance: -1 }, "tolerance"],
      [{ tolerance: Infinity }, "tolerance"],
      [{ quantile: 1 }, "quantile"],
      [{ quantile: 0 }, "quantile"],
      [{ minAcceptance: 0 }, "minAcceptance"],
      [{ maxSimulations: 50 }, "maxSimulations"],
      [{ kernel: "uniform" as Abc.Kernel }, "kernel"],
      [{ redraw: 2 }, "redraw"],
      [{ parameters: 5 as unknown as Array<string> }, "parameters"],
      [{ generation: 3 } as Partial<Abc.SmcOptions<number>>, "generation"]
    ]
    for (const [extra, option] of cases) rejectsOption(() => Abc.smcUnsafe(model, { ...base, ...extra }), option)
    expect(counter.runs).toBe(0)
  })
})

describe("bad simulations are rejected and counted; bad simulators are typed errors", { timeout: 5_000 }, () => {
  // x ~ U(−1, 1); the summary is NaN for negative x, so about half the simulations are invalid
  const half: Model<number> = function*() {
    return yield* sample("x", Uniform(-1, 1))
  }
  const nanBelowZero = (x: number) => (x < 0 ? Number.NaN : x)

  it("a summary that is NaN for some simulations: those are rejected and counted, never in the output", () => {
    const post = Abc.rejectionUnsafe(half, { observed: 0.5, summary: nanBelowZero, simulations: 2000, tolerance: 1, seed: 1 })
    const stats = Abc.rejectionStats(post)
    expect(stats.invalid + stats.accepted).toBe(2000)
    expect(stats.invalid).toBeGreaterThan(800)
    for (const x of Posterior.chainsOf(post, "x")[0]) expect(x).toBeGreaterThanOrEqual(0)
    for (const d of stats.distances) expect(Number.isFinite(d)).toBe(true)
    expect(Number.isFinite(Posterior.mean(post, "x"))).toBe(true)
    const smc = Abc.smcUnsafe(half, { observed: 0.5, summary: nanBelowZero, particles: 200, generations: 3, seed: 1 })
    const s = Abc.smcStats(smc)
    expect(s.invalid).toBeGreaterThan(0)
    for (const x of Posterior.chainsOf(smc, "x")[0]) expect(x).toBeGreaterThanOrEqual(0)
    for (const w of smc.weights![0]) expect(Number.isFinite(w)).toBe(true)
  })

  it("a distance that is NaN or negative is rejected and counted the same way", () => {
    const post = Abc.rejectionUnsafe(half, {
      observed: 0.5,
      distance: (a, b) => (a[0] < 0 ? Number.NaN : a[0] < 0.2 ? -1 : Math.abs(a[0] - b[0])),
      simulations: 1000,
      tolerance: 1,
      seed: 2
    })
    const stats = Abc.rejectionStats(post)
    expect(stats.invalid).toBeGreaterThan(500)
    for (const x of Posterior.chainsOf(post, "x")[0]) expect(x).toBeGreaterThanOrEqual(0.2)
  })

  it("data the summary cannot take, a summary or distance that throws or returns a non-number: SimulationError naming it", () => {
    const text: Model<string> = function*() {
      yield* sample("x", Normal(0, 1))
      return "text"
    }
    const error = (thunk: () => unknown) => {
      try {
        thunk()
      } catch (e) {
        return e as Abc.SimulationError
      }
      throw new Error("expected SimulationError")
    }
    const e1 = error(() => Abc.rejectionUnsafe(text as Model<unknown>, { observed: 1, simulations: 10, tolerance: 1, seed: 1 }))
    expect(e1).toBeInstanceOf(Abc.SimulationError)
    expect(e1.simulation).toBe(0)
    expect(e1.value).toBe("text")
    expect(e1.message).toContain("default summary cannot take")
    expect(e1.message).toContain('"text"')
    const e2 = error(() => Abc.smcUnsafe(text as Model<unknown>, { observed: 1, particles: 10, seed: 1 }))
    expect(e2).toBeInstanceOf(Abc.SimulationError)
    const e3 = error(() =>
      Abc.rejectionUnsafe(half, {
        observed: 0,
        summary: (x) => {
          if (x > 0.9) throw new RangeError("boom")
          return x
        },
        simulations: 1000,
        tolerance: 1,
        seed: 1
      })
    )
    expect(e3).toBeInstanceOf(Abc.SimulationError)
    expect(e3.value).toBeInstanceOf(RangeError)
    const e4 = error(() => Abc.rejectionUnsafe(half, { observed: 0, distance: () => "far" as unknown as number, simulations: 10, tolerance: 1, seed: 1 }))
    expect(e4.value).toBe("far")
    // Euclidean needs summaries of the same length
    const e5 = error(() => Abc.rejectionUnsafe(half, { observed: 0, summary: (x) => (x > 0 ? [x, x] : [x]), simulations: 100, tolerance: 1, seed: 1 }))
    expect(e5.message).toContain("length 2")
  })

  it("nothing accepted: ZeroWeightError with the smallest distance", () => {
    const unit: Model<number> = function*() {
      return yield* sample("x", Uniform(0, 1))
    }
    try {
      Abc.rejectionUnsafe(unit, { observed: 5, simulations: 100, tolerance: 0.1, seed: 1 })
      throw new Error("expected ZeroWeightError")
    } catch (e) {
      expect(e).toBeInstanceOf(ZeroWeightError)
      expect((e as ZeroWeightError).message).toMatch(/smallest distance was 4\.\d+/)
      expect((e as ZeroWeightError).attempts).toBe(100)
    }
    // every summary NaN: nothing valid at all, in SMC too
    const nan = (x: number) => (x === 5 ? x : Number.NaN)
    expect(() => Abc.rejectionUnsafe(unit, { observed: 5, summary: nan, simulations: 100, quantile: 0.1, seed: 1 })).toThrow(ZeroWeightError)
    expect(() => Abc.smcUnsafe(unit, { observed: 5, summary: nan, particles: 10, minAcceptance: 0.5, seed: 1 })).toThrow(ZeroWeightError)
  })

  it("InvalidDistributionError and impossible factors reject the simulation, counted apart; finite factors weight it", () => {
    const fragile: Model<number> = function*() {
      const s = yield* sample("s", Normal(0, 1))
      return yield* sample("y", Normal(0, s)) // s < 0: InvalidDistributionError
    }
    const post = Abc.rejectionUnsafe(fragile, { observed: 0, simulations: 1000, tolerance: 10, seed: 3 })
    const stats = Abc.rejectionStats(post)
    expect(stats.rejectedInvalid).toBeGreaterThan(400)
    expect(stats.rejectedInvalid + stats.accepted).toBe(1000)
    const weighted: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x < -1 ? -Infinity : -x * x)
      return x
    }
    const w = Abc.rejectionUnsafe(weighted, { observed: 0, simulations: 1000, tolerance: 10, seed: 4 })
    const ws = Abc.rejectionStats(w)
    expect(ws.impossible).toBeGreaterThan(100)
    expect(ws.impossible + ws.accepted).toBe(1000)
    expect(w.weights).toBeDefined()
    expect(ws.ess).toBeLessThan(ws.accepted)
    expect(Math.min(...Posterior.chainsOf(w, "x")[0])).toBeGreaterThanOrEqual(-1)
  })

  it("smc: parameter sites that change between simulations are a SimulationError naming the site", () => {
    const branching: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      if (x > 1) yield* sample("extra", Normal(0, 1))
      return x
    }
    try {
      Abc.smcUnsafe(branching, { observed: 0, particles: 200, seed: 1 })
      throw new Error("expected SimulationError")
    } catch (e) {
      expect(e).toBeInstanceOf(Abc.SimulationError)
      expect((e as Abc.SimulationError).message).toContain('"extra"')
    }
    // selecting the fixed parameter makes the other site noise, and the run goes through
    const post = Abc.smcUnsafe(branching, { observed: 0, particles: 200, generations: 2, parameters: ["x"], seed: 1 })
    expect(Abc.smcStats(post).parameters).toEqual(["x"])
  })
})

describe("simulated data at observe sites (data: \"observe\")", { timeout: 5_000 }, () => {
  // the same simulator written as a model of the data: each observe site's value is drawn from
  // its distribution with the same stream, in the same order, as the sample sites above
  const model: Model<void> = function*() {
    const mu = yield* sample("mu", Normal(0, 2))
    for (let i = 0; i < 5; i++) yield* observe(addr("y", i), Normal(mu, 1), ys[i])
  }

  it("gives the same parameter draws and distances as the simulator that returns its data", () => {
    const returned = Abc.rejectionUnsafe(simulator, { ...compare, simulations: 2000, tolerance: 0.3, seed: 5 })
    const observed = Abc.rejectionUnsafe(model, { data: "observe", summary: average, simulations: 2000, tolerance: 0.3, seed: 5 })
    expect(Posterior.chainsOf(observed, "mu")).toEqual(Posterior.chainsOf(returned, "mu"))
    expect(Abc.rejectionStats(observed).distances).toEqual(Abc.rejectionStats(returned).distances)
    expect(observed.sites).toEqual(["mu"])
    expect(observed.weights).toBeUndefined() // observations are simulated, not scored
    const smc = Abc.smcUnsafe(model, { data: "observe", summary: average, particles: 300, tolerance: 0.3, seed: 6 })
    const smcReturned = Abc.smcUnsafe(simulator, { ...compare, particles: 300, tolerance: 0.3, parameters: ["mu"], seed: 6 })
    expect(Posterior.chainsOf(smc, "mu")).toEqual(Posterior.chainsOf(smcReturned, "mu"))
  })
})

describe("ABC-SMC stopping rules and warnings", { timeout: 5_000 }, () => {
  it("generations bounds the run; every generation is recorded", () => {
    const post = Abc.smcUnsafe(simulator, { ...compare, particles: 200, generations: 2, parameters: ["mu"], seed: 1 })
    const s = Abc.smcStats(post)
    expect(s.stopped).toBe("generations")
    expect(s.generations).toBe(3)
    expect(s.tolerances.length).toBe(3)
    expect(s.ess.length).toBe(3)
    expect(s.acceptanceRates[0]).toBe(1)
    expect(s.simulationsPerGeneration.reduce((a, b) => a + b, 0)).toBe(s.simulations)
    expect(s.tolerance).toBe(s.tolerances[2])
    expect(Math.max(...s.distances)).toBeLessThanOrEqual(s.tolerance)
  })

  it("maxSimulations: the generation that exhausts it is abandoned, the previous one returned, with a warning", () => {
    const post = Abc.smcUnsafe(simulator, { ...compare, particles: 200, tolerance: 0.01, maxSimulations: 2000, parameters: ["mu"], seed: 1 })
    const s = Abc.smcStats(post)
    expect(s.stopped).toBe("budget")
    expect(s.simulations).toBe(2000)
    expect(s.warnings.some((w) => w.includes("maxSimulations"))).toBe(true)
    expect(s.warnings.some((w) => w.includes("final tolerance 0.01 was not reached"))).toBe(true)
    expect(s.tolerance).toBe(s.tolerances[s.tolerances.length - 1])
    expect(Math.max(...s.distances)).toBeLessThanOrEqual(s.tolerance)
  })

  it("minAcceptance: a generation whose acceptance falls below it is abandoned", () => {
    const post = Abc.smcUnsafe(simulator, { ...compare, particles: 200, tolerance: 0.001, minAcceptance: 0.2, parameters: ["mu"], seed: 2 })
    const s = Abc.smcStats(post)
    expect(s.stopped).toBe("acceptance")
    for (const rate of s.acceptanceRates) expect(rate).toBeGreaterThanOrEqual(0.2)
    expect(s.warnings.some((w) => w.includes("minAcceptance"))).toBe(true)
  })

  it("ε = 0 ends the run (exact); a tolerance that cannot decrease stalls with a warning", () => {
    const discrete: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      return x > 0 ? 1 : 0
    }
    const exact = Abc.smcUnsafe(discrete, { observed: 1, particles: 200, seed: 3 })
    expect(Abc.smcStats(exact).stopped).toBe("exact")
    expect(Abc.smcStats(exact).tolerances).toEqual([Infinity, 0])
    for (const x of Posterior.chainsOf(exact, "x")[0]) expect(x).toBeGreaterThan(0)
    const constant: Model<number> = function*() {
      yield* sample("x", Normal(0, 1))
      return 1
    }
    const stalled = Abc.smcUnsafe(constant, { observed: 0, particles: 100, seed: 3 })
    const s = Abc.smcStats(stalled)
    expect(s.stopped).toBe("stalled")
    expect(s.tolerances).toEqual([Infinity, 1])
    expect(s.warnings.some((w) => w.includes("stalled at 1"))).toBe(true)
  })

  it("weights that collapse are reported", () => {
    const peaked: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(30 * x)
      return x
    }
    const post = Abc.smcUnsafe(peaked, { observed: 0, particles: 200, generations: 1, seed: 4 })
    const s = Abc.smcStats(post)
    expect(s.ess[0]).toBeLessThan(20)
    expect(s.warnings[0]).toMatch(/generation 0: ESS/)
  })
})

describe("determinism and the Effect API", { timeout: 5_000 }, () => {
  it("the same seed gives the same results; another seed others", () => {
    const a = Abc.rejectionUnsafe(simulator, { ...compare, simulations: 2000, quantile: 0.1, seed: 9 })
    expect(Abc.rejectionUnsafe(simulator, { ...compare, simulations: 2000, quantile: 0.1, seed: 9 })).toEqual(a)
    expect(Abc.rejectionUnsafe(simulator, { ...compare, simulations: 2000, quantile: 0.1, seed: 10 }).draws).not.toEqual(a.draws)
    const s = Abc.smcUnsafe(simulator, { ...compare, particles: 200, generations: 3, parameters: ["mu"], seed: 9 })
    expect(Abc.smcUnsafe(simulator, { ...compare, particles: 200, generations: 3, parameters: ["mu"], seed: 9 })).toEqual(s)
    expect(s.seed).toBe(9)
    // an unseeded run records the seed it drew, which reproduces it
    const fresh = Abc.rejectionUnsafe(simulator, { ...compare, simulations: 500, quantile: 0.1 })
    expect(Abc.rejectionUnsafe(simulator, { ...compare, simulations: 500, quantile: 0.1, seed: fresh.seed })).toEqual(fresh)
  })

  it.effect("run with a seed equals runUnsafe, and Rng.withSeed(s) equals seed: s", () =>
    Effect.gen(function*() {
      const options = { ...compare, simulations: 3000, tolerance: 0.5, seed: 4 }
      const direct = Abc.rejectionUnsafe(simulator, options)
      expect(yield* Abc.rejection(simulator, options)).toEqual(direct)
      const service = yield* Abc.rejection(simulator, { ...compare, simulations: 3000, tolerance: 0.5 }).pipe(RuntimeRng.withSeed(4))
      expect(service.seed).toBeUndefined()
      expect({ ...service, seed: 4 }).toEqual(direct)
      const smcOptions = { ...compare, particles: 300, generations: 4, parameters: ["mu"], seed: 4 }
      const smcDirect = Abc.smcUnsafe(simulator, smcOptions)
      expect(yield* Abc.smc(simulator, smcOptions)).toEqual(smcDirect)
      const smcService = yield* Abc.smc(simulator, { ...smcOptions, seed: undefined }).pipe(RuntimeRng.withSeed(4))
      expect({ ...smcService, seed: 4 }).toEqual(smcDirect)
    }))

  it.effect("run reports progress per time slice, and typed errors go to the error channel", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      yield* Abc.rejection(simulator, { ...compare, simulations: 20_000, tolerance: 0.5, seed: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => reports.push(r)))
      )
      const done = reports.map((r) => r.done)
      expect(done.length).toBeGreaterThan(1)
      for (let k = 1; k < done.length; k++) expect(done[k]).toBeGreaterThanOrEqual(done[k - 1])
      expect(done[done.length - 1]).toBe(20_000)
      expect(reports.every((r) => r.algorithm === "ABC" && r.total === 20_000)).toBe(true)
      const smcReports: Array<Progress.Report> = []
      const post = yield* Abc.smc(simulator, { ...compare, particles: 500, tolerance: 0.05, parameters: ["mu"], seed: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => smcReports.push(r)))
      )
      // one report per slice: a fast generation may start and end inside one
      const generations = smcReports.map((r) => Number(/^generation (\d+)$/.exec(r.phase)![1]))
      for (let k = 1; k < generations.length; k++) expect(generations[k]).toBeGreaterThanOrEqual(generations[k - 1])
      expect(new Set(generations).size).toBeGreaterThan(2)
      expect(generations[generations.length - 1]).toBe(Abc.smcStats(post).generations - 1)
      expect(smcReports.every((r) => r.algorithm === "ABC-SMC" && r.total === 500 && r.done <= 500)).toBe(true)
      expect(smcReports[smcReports.length - 1].done).toBe(500)

      const invalid = yield* Effect.flip(Abc.rejection(simulator, { ...compare, simulations: 0, tolerance: 1 }))
      expect(invalid).toBeInstanceOf(InvalidOptionsError)
      const text: Model<unknown> = function*() {
        yield* sample("x", Normal(0, 1))
        return "text"
      }
      const simulation = yield* Effect.flip(Abc.rejection(text, { observed: 1, simulations: 10, tolerance: 1, seed: 1 }))
      expect(simulation).toBeInstanceOf(Abc.SimulationError)
      const smcSimulation = yield* Effect.flip(Abc.smc(text, { observed: 1, particles: 10, seed: 1 }))
      expect(smcSimulation).toBeInstanceOf(Abc.SimulationError)
      const zero = yield* Effect.flip(Abc.rejection(simulator, { ...compare, simulations: 10, tolerance: 0, seed: 1 }))
      expect(zero).toBeInstanceOf(ZeroWeightError)
    }))

  it.live("Effect.timeout stops a long run within a few time slices", () =>
    Effect.gen(function*() {
      for (const run of [
        Abc.rejection(simulator, { ...compare, simulations: 100_000_000, tolerance: 0.1, seed: 1 }),
        Abc.smc(simulator, { ...compare, particles: 1000, tolerance: 0, parameters: ["mu"], seed: 1 })
      ]) {
        const t0 = performance.now()
        const exit = yield* Effect.exit((run as Effect.Effect<unknown, unknown>).pipe(Effect.timeout(Duration.millis(100))))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(performance.now() - t0).toBeLessThan(300)
      }
    }), 10_000)
})

describe("Interpreter layers change what ABC infers", { timeout: 5_000 }, () => {
  const over = (layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
    layer.pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))

  it.effect("a substitute layer fixes a site: as the transform option, bit for bit; ABC-SMC leaves it out of its parameters", () =>
    Effect.gen(function*() {
      const layer = Interpreter.layerSubstitute({ mu: 1.5 })
      const options = { ...compare, simulations: 2000, tolerance: 0.5, seed: 7 }
      const layered = yield* Abc.rejection(simulator, options).pipe(Effect.provide(over(layer)))
      const byOption = Abc.rejectionUnsafe(simulator, { ...options, transform: (h) => Combinators.substitute(h, { mu: 1.5 }) })
      expect(layered).toEqual(byOption)
      for (const mu of Posterior.chainsOf(layered, "mu")[0]) expect(mu).toBe(1.5)
      const smc = yield* Abc.smc(simulator, { ...compare, particles: 100, generations: 2, seed: 7 }).pipe(Effect.provide(over(layer)))
      expect(Abc.smcStats(smc).parameters).toEqual(["y#0", "y#1", "y#2", "y#3", "y#4"])
      for (const mu of Posterior.chainsOf(smc, "mu")[0]) expect(mu).toBe(1.5)
    }))
})

describe("the trace pool: rejected simulations' traces are reused, every trace is returned", { timeout: 5_000 }, () => {
  // every 4th simulation (0, 4, 8, …) returns the observed value, the others are far away: with
  // tolerance 1 exactly those are kept, whatever the draws
  const everyFourth = () => {
    let k = 0
    const model: Model<number> = function*() {
      yield* sample("mu", Normal(0, 1))
      return k++ % 4 === 0 ? 0 : 10
    }
    return model
  }
  const options = { observed: 0, simulations: 20, tolerance: 1, seed: 1 }

  it("rejection with a tolerance: a miss for the first simulation and after each kept one, a hit after each rejected one", () => {
    const post = Abc.rejectionUnsafe(everyFourth(), options)
    expect(Abc.rejectionStats(post).accepted).toBe(5)
    // misses: simulation 0 and the ones after kept 0, 4, 8, 12, 16 (1, 5, 9, 13, 17)
    expect(Abc.rejectionStats(post).tracePool).toEqual({ hits: 14, misses: 6, hitRate: 14 / 20, returned: 20, highWaterMark: 6 })
  })

  it("rejection with a quantile and ABC-SMC: one trace per simulation, all returned; most reused", () => {
    const q = Abc.rejectionStats(Abc.rejectionUnsafe(simulator, { ...compare, simulations: 20_000, quantile: 0.06, seed: 3 }))
    expect(q.tracePool.hits + q.tracePool.misses).toBe(20_000)
    expect(q.tracePool.returned).toBe(20_000)
    // at most the candidates held before a prune (2 × 1200 + 16) and the current simulation are
    // out at once; the run's own pool drops none of the traces a prune returns (more than the
    // default capacity of 1024), so it allocates no more than that
    expect(q.tracePool.highWaterMark).toBeLessThanOrEqual(2 * 1200 + 16 + 1)
    expect(q.tracePool.highWaterMark).toBeGreaterThan(1024 + 1200)
    expect(q.tracePool.misses).toBe(q.tracePool.highWaterMark)
    const s = Abc.smcStats(Abc.smcUnsafe(simulator, { ...compare, particles: 200, generations: 3, parameters: ["mu"], seed: 3 }))
    expect(s.tracePool.hits + s.tracePool.misses).toBe(s.simulations)
    expect(s.tracePool.returned).toBe(s.simulations)
    expect(s.tracePool.hitRate).toBeGreaterThan(0.5)
  })

  it.effect("an Effect run borrows from a TracePool in the context and returns every trace; without one it has its own", () =>
    Effect.gen(function*() {
      const pool = TracePool.makeUnsafe()
      const post = yield* Abc.rejection(everyFourth(), options).pipe(Effect.provideService(TracePool.TracePool, pool))
      expect(Abc.rejectionStats(post).tracePool).toEqual({ hits: 14, misses: 6, hitRate: 14 / 20, returned: 20, highWaterMark: 6 })
      // a second run finds the first one's six traces idle
      const again = yield* Abc.rejection(everyFourth(), options).pipe(Effect.provideService(TracePool.TracePool, pool))
      expect(Abc.rejectionStats(again).tracePool).toEqual({ hits: 20, misses: 0, hitRate: 1, returned: 20, highWaterMark: 6 })
      expect(pool.statsUnsafe()).toMatchObject({ outstanding: 0, hits: 34, misses: 6, returns: 40, reclaimed: 0 })
      const own = yield* Abc.rejection(everyFourth(), options)
      expect(Abc.rejectionStats(own).tracePool).toEqual(Abc.rejectionStats(post).tracePool)
      const smcPool = TracePool.makeUnsafe()
      const smc = yield* Abc.smc(simulator, { ...compare, particles: 200, generations: 3, parameters: ["mu"], seed: 3 }).pipe(
        Effect.provideService(TracePool.TracePool, smcPool)
      )
      expect(smcPool.statsUnsafe()).toMatchObject({ outstanding: 0, returns: Abc.smcStats(smc).simulations })
    }))

  it.live("interruption and failure return every trace the run borrowed to the context's pool", () =>
    Effect.gen(function*() {
      for (const run of [
        // a quantile run holds its candidates, ABC-SMC its population, when the timeout strikes
        Abc.rejection(simulator, { ...compare, simulations: 100_000_000, quantile: 0.001, seed: 1 }),
        Abc.smc(simulator, { ...compare, particles: 1000, tolerance: 0, parameters: ["mu"], seed: 1 })
      ]) {
        const pool = TracePool.makeUnsafe()
        const exit = yield* Effect.exit(
          (run as Effect.Effect<unknown, unknown>).pipe(Effect.timeout(Duration.millis(100)), Effect.provideService(TracePool.TracePool, pool))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        const stats = pool.statsUnsafe()
        expect(stats.highWaterMark).toBeGreaterThan(1) // traces were held
        expect(stats.outstanding).toBe(0)
        expect(stats.returns).toBe(stats.hits + stats.misses)
      }
      // a failure (the summary cannot take simulation 50's data) returns the kept traces too
      let k = 0
      const breaking: Model<unknown> = function*() {
        yield* sample("x", Normal(0, 1))
        return k++ === 50 ? "text" : 0
      }
      const pool = TracePool.makeUnsafe()
      const error = yield* Effect.flip(Abc.rejection(breaking, { observed: 0, simulations: 100, tolerance: 1, seed: 1 }).pipe(
        Effect.provideService(TracePool.TracePool, pool)
      ))
      expect(error).toBeInstanceOf(Abc.SimulationError)
      expect(pool.statsUnsafe()).toMatchObject({ outstanding: 0, returns: 51, misses: 51 })
    }), 10_000)

  it("a synchronous run that throws propagates the error (its own pool closed), and the next run has a fresh pool", () => {
    let k = 0
    const breaking: Model<unknown> = function*() {
      yield* sample("x", Normal(0, 1))
      return k++ === 50 ? "text" : 0
    }
    expect(() => Abc.rejectionUnsafe(breaking, { observed: 0, simulations: 100, tolerance: 1, seed: 1 })).toThrow(Abc.SimulationError)
    expect(Abc.rejectionStats(Abc.rejectionUnsafe(everyFourth(), options)).tracePool.misses).toBe(6)
  })
})
