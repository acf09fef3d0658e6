// Tempered SMC: options and typed errors, exact identities of the schedule and the evidence
// (a flat likelihood takes one step and gives its constant; an indicator likelihood gives the
// fraction of prior draws inside it), the bookkeeping of the stats (the bisection hits the target
// ESS, increments sum to the evidence), determinism (same seed, Effect form, Rng service), the
// Interpreter layers, progress, interruption, and the collapse warning on constructed cases, with
// the ESS-history helper shared with IS and SMC. The statistical validation against closed forms
// and a long importance sampler is in Tempered.stat.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { addr, factor, Flat, Gamma, Normal, observe, Poisson, sample } from "@fugue/core"
import { ImproperPriorError } from "@fugue/core/distributions/Flat"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import * as Execution from "@fugue/runtime/Execution"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect, Exit, Fiber, Layer } from "effect"
import { COLLAPSE_ESS, essReport } from "../src/internal/essHistory.ts"
import * as LogDensity from "../src/LogDensity.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Tempered from "../src/Tempered.ts"

/** Each test here runs in under a second (measured: the slowest, Effect against runUnsafe at 2000 particles, 0.7 s). */
const TIMEOUT = 10_000

const ys = [2.1, 2.9, 3.4, 1.7, 2.6]
const normalMean: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 10))
  for (let i = 0; i < ys.length; i++) yield* observe(addr("y", i), Normal(mu, 1), ys[i]!)
  return mu
}

const throwsOption = (f: () => unknown, option: string): void => {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe(option)
    return
  }
  throw new Error(`expected InvalidOptionsError for ${option}`)
}

const caught = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected an error")
}

describe("Tempered: options and errors", () => {
  it("rejects unknown keys and invalid values with InvalidOptionsError before any work", () => {
    const error = caught(() => Tempered.runUnsafe(normalMean, { particles: 100, targetESS: 0.5 } as Tempered.Options))
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as Error).message).toContain("did you mean `targetEss`?")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 0 }), "particles")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 1 }), "particles")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 2.5 }), "particles")
    for (const targetEss of [0, 1, -0.5, Number.NaN]) throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, targetEss }), "targetEss")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, moves: "hmc" as "nuts" }), "moves")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, moveSteps: -1 }), "moveSteps")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, resampling: "bogus" as "systematic" }), "resampling")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, maxSteps: 0 }), "maxSteps")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, metric: "dense" }), "metric") // rwmh moves
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, moves: "nuts", maxTreeDepth: 31 }), "maxTreeDepth")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, gradient: "symbolic" as "auto" }), "gradient")
    throwsOption(() => Tempered.runUnsafe(normalMean, { particles: 10, seed: 1.5 }), "seed")
    throwsOption(() => Tempered.runUnsafe(42 as unknown as Model<number>, { particles: 10 }), "model")
  })

  it("an improper prior (Flat) cannot be tempered from: ImproperPriorError at the site", () => {
    const flat: Model<unknown> = function*() {
      const mu = yield* sample("mu", Flat())
      yield* observe("y", Normal(mu, 1), 1)
    }
    const error = caught(() => Tempered.runUnsafe(flat, { particles: 10, seed: 1 }))
    expect(error).toBeInstanceOf(ImproperPriorError)
    expect(Execution.whereOf(error)?.address).toBe("mu")
    expect(Execution.whereOf(error)?.algorithm).toBe("TemperedSMC")
  })

  it("a discrete latent site is LogDensity's DiscreteLatentError; scaling a latent site is an invalid transform", () => {
    const discrete: Model<unknown> = function*() {
      const k = yield* sample("k", Poisson(3))
      yield* observe("y", Normal(k, 1), 2)
    }
    expect(caught(() => Tempered.runUnsafe(discrete, { particles: 10, seed: 1 }))).toBeInstanceOf(LogDensity.DiscreteLatentError)
    // a scale on "mu" changes the prior's density but not its draws: refused, naming the site
    const error = caught(() =>
      Tempered.runUnsafe(normalMean, { particles: 10, seed: 1, transform: (h) => Combinators.scale(h, 0.5, ["mu"]) })
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe("transform")
    expect((error as Error).message).toContain(`"mu"`)
  })

  it("every particle with likelihood 0 is ZeroWeightError", () => {
    const impossible: Model<unknown> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1.5 ? 0 : -Infinity)
    }
    // seed 1: none of the 20 prior draws is above 1.5 (P = 0.067 each)
    expect(caught(() => Tempered.runUnsafe(impossible, { particles: 20, seed: 1 }))).toBeInstanceOf(ZeroWeightError)
  })
})

describe("Tempered: exact identities and bookkeeping", () => {
  it("a flat likelihood takes one step to β = 1 and its log evidence is the constant, exactly", () => {
    const flatLikelihood: Model<unknown> = function*() {
      yield* sample("x", Normal(0, 1))
      yield* factor(-3.25)
    }
    const post = Tempered.runUnsafe(flatLikelihood, { particles: 50, seed: 1 })
    const s = Tempered.stats(post)
    expect(s.temperatures).toEqual([1])
    expect(s.ess[0]).toBeCloseTo(50, 10)
    expect(post.logEvidence![0]).toBeCloseTo(-3.25, 12)
    expect(s.acceptance).toEqual([]) // no moves after the last step
  })

  it("an indicator likelihood: one step, evidence = the fraction of prior draws inside, the final draws are those prior draws", () => {
    const constrained: Model<unknown> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1.5 ? 0 : -Infinity)
    }
    const post = Tempered.runUnsafe(constrained, { particles: 20, seed: 5 })
    const x = Posterior.chainsOf(post, "x")[0]!
    const inside = Array.from(x).filter((v) => v > 1.5).length
    expect(inside).toBe(3)
    expect(post.logEvidence![0]).toBeCloseTo(Math.log(inside / 20), 12)
    const w = post.weights![0]!
    for (let i = 0; i < 20; i++) expect(w[i]).toBeCloseTo(x[i]! > 1.5 ? 1 / inside : 0, 12)
  })

  it("the schedule rises to 1, every step but the last hits the target ESS, increments sum to the evidence", () => {
    for (const moves of ["rwmh", "nuts"] as const) {
      const post = Tempered.runUnsafe(normalMean, { particles: 400, seed: 3, moves, targetEss: 0.6 })
      const s = Tempered.stats(post)
      expect(post.algorithm).toBe("TemperedSMC")
      expect(s.steps).toBeGreaterThan(2)
      expect(s.temperatures.length).toBe(s.steps)
      expect(s.temperatures[s.steps - 1]).toBe(1)
      for (let k = 1; k < s.steps; k++) expect(s.temperatures[k]!).toBeGreaterThan(s.temperatures[k - 1]!)
      // the bisection stops within 1e-6 of the target or at a 1e-14 bracket, on the side ESS ≥ target
      for (let k = 0; k < s.steps - 1; k++) {
        expect(s.ess[k]! / 400).toBeGreaterThan(0.6 - 1e-6)
        expect(s.ess[k]! / 400).toBeLessThan(0.6 + 1e-4)
      }
      expect(s.ess[s.steps - 1]! / 400).toBeGreaterThanOrEqual(0.6 - 1e-6)
      expect(s.logEvidenceIncrements.reduce((a, b) => a + b, 0)).toBeCloseTo(post.logEvidence![0]!, 10)
      expect(s.acceptance.length).toBe(s.steps - 1)
      expect(s.moveScales.length).toBe(s.steps - 1)
      expect(s.proposals).toBe(400 * s.moveSteps * (s.steps - 1))
      expect(s.accepted).toBeLessThanOrEqual(s.proposals)
      expect(s.warnings).toEqual([])
      expect(s.collapsedAt).toEqual([])
      expect(s.gradientSource).toBe("compiled")
      if (moves === "nuts") expect(s.gradientEvaluations).toBeGreaterThan(s.proposals)
      // the weighted population: weights sum to 1, draws are the constrained values
      expect(post.weights![0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
      expect(post.sites).toEqual(["mu"])
      // the moves keep the population diverse: resampling alone leaves about ρN distinct values
      expect(new Set(Posterior.chainsOf(post, "mu")[0]!).size).toBeGreaterThan(0.8 * 400)
      // returns are the model's return value at each particle (computed when read)
      expect(post.returns[0]![7]).toBe(Posterior.chainsOf(post, "mu")[0]![7])
    }
  })

  it("a positive site is tempered on the log scale: every draw stays in the support", () => {
    const scaleModel: Model<unknown> = function*() {
      const sigma = yield* sample("sigma", Gamma(2, 1))
      for (let i = 0; i < ys.length; i++) yield* observe(addr("y", i), Normal(2.5, sigma), ys[i]!)
    }
    const post = Tempered.runUnsafe(scaleModel, { particles: 200, seed: 2 })
    expect(Tempered.stats(post).dimension).toBe(1)
    expect(Array.from(Posterior.chainsOf(post, "sigma")[0]!).every((s) => s > 0)).toBe(true)
  })

  it("proposals outside the likelihood's support are counted and rejected", () => {
    const halfNormal: Model<unknown> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 0 ? 0 : -Infinity)
      yield* observe("y", Normal(x, 0.1), 0.05)
    }
    const post = Tempered.runUnsafe(halfNormal, { particles: 200, seed: 4 })
    const s = Tempered.stats(post)
    expect(s.invalidProposals).toBeGreaterThan(0)
    const x = Posterior.chainsOf(post, "x")[0]!, w = post.weights![0]!
    for (let i = 0; i < x.length; i++) if (w[i]! > 0) expect(x[i]!).toBeGreaterThan(0)
  })

  it("moveSteps 0: reweighting and resampling only (no proposals)", () => {
    const s = Tempered.stats(Tempered.runUnsafe(normalMean, { particles: 200, seed: 1, moveSteps: 0 }))
    expect(s.proposals).toBe(0)
    expect(s.acceptance).toEqual([])
    expect(s.temperatures[s.steps - 1]).toBe(1)
  })

  it("maxSteps truncates the schedule with a warning", () => {
    const s = Tempered.stats(Tempered.runUnsafe(normalMean, { particles: 200, seed: 1, maxSteps: 2 }))
    expect(s.steps).toBe(2)
    expect(s.temperatures[1]).toBe(1)
    expect(s.warnings.some((w) => w.includes("maxSteps (2)"))).toBe(true)
  })
})

describe("Tempered: the collapse warning", () => {
  it("fires when one particle carries the population (an indicator likelihood met by one prior draw)", () => {
    const constrained: Model<unknown> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1.5 ? 0 : -Infinity)
    }
    // seed 3: exactly one of the 20 prior draws is above 1.5
    const post = Tempered.runUnsafe(constrained, { particles: 20, seed: 3 })
    const s = Tempered.stats(post)
    expect(s.ess).toEqual([1])
    expect(s.collapsedAt).toEqual([1])
    expect(s.warnings).toHaveLength(1)
    expect(s.warnings[0]).toContain("population collapsed at step 1: the evidence is unreliable")
    expect(post.logEvidence![0]).toBeCloseTo(Math.log(1 / 20), 12)
  })

  it("fires when the target ESS is about one particle", () => {
    const sharp: Model<unknown> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Normal(x, 1e-3), 0.5)
    }
    const s = Tempered.stats(Tempered.runUnsafe(sharp, { particles: 100, seed: 1, targetEss: 0.01 }))
    expect(s.collapsedAt.length).toBeGreaterThan(0)
    expect(s.warnings[0]).toMatch(/population collapsed at step \d+: the evidence is unreliable/)
  })

  it("the ESS-history helper: thresholds, NaN, listing, and a population of one", () => {
    expect(COLLAPSE_ESS).toBe(2)
    expect(essReport("X", [], 10, "step")).toEqual({ minEss: Number.NaN, minEssStep: 0, collapsedAt: [], warnings: [] })
    const fine = essReport("X", [500, 2, 700], 1000, "step")
    expect(fine.collapsedAt).toEqual([])
    expect(fine.minEss).toBe(2)
    expect(fine.minEssStep).toBe(2)
    const bad = essReport("SMC", [900, 1.2, 400, Number.NaN, 1.01, 1, 1, 1, 300], 1000, "step")
    expect(bad.collapsedAt).toEqual([2, 4, 5, 6, 7, 8])
    expect(bad.minEss).toBe(1)
    expect(bad.minEssStep).toBe(6)
    expect(bad.warnings).toHaveLength(1)
    expect(bad.warnings[0]).toBe(
      "SMC: population collapsed at step 2: the evidence is unreliable (ESS 1.20 of 1000 particles; ESS below 2 at steps 2, 4, 5, 6, 7, … (6 in all); lowest 1.00 at step 6)"
    )
    // IS: one set of weights, no step to name
    expect(essReport("IS", [1.0003], 10_000, undefined).warnings).toEqual([
      "IS: population collapsed: the evidence is unreliable (ESS 1.00 of 10000 particles)"
    ])
    expect(essReport("IS", [1], 1, undefined).collapsedAt).toEqual([])
  })
})

describe("Tempered: determinism and the Effect form", () => {
  const over = (layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
    layer.pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))

  it("the same seed gives identical results; another seed another", () => {
    for (const moves of ["rwmh", "nuts"] as const) {
      const a = Tempered.runUnsafe(normalMean, { particles: 200, seed: 9, moves })
      const b = Tempered.runUnsafe(normalMean, { particles: 200, seed: 9, moves })
      expect(b).toEqual(a)
      expect(Tempered.runUnsafe(normalMean, { particles: 200, seed: 10, moves }).logEvidence).not.toEqual(a.logEvidence)
    }
  })

  it.effect("run equals runUnsafe (seed or Rng.withSeed) and reports progress up to the last step", () =>
    Effect.gen(function*() {
      for (const moves of ["rwmh", "nuts"] as const) {
        const reports: Array<Progress.Report> = []
        const direct = Tempered.runUnsafe(normalMean, { particles: 2000, seed: 2, moves })
        const effect = yield* Tempered.run(normalMean, { particles: 2000, seed: 2, moves }).pipe(
          Effect.provide(Progress.layerCallback((r) => reports.push(r)))
        )
        expect(effect).toEqual(direct)
        expect(reports.length).toBeGreaterThan(1) // several time slices: the sliced run resumes exactly
        const service = yield* Tempered.run(normalMean, { particles: 2000, moves }).pipe(RuntimeRng.withSeed(2))
        expect(service.seed).toBeUndefined()
        expect({ ...service, seed: 2 }).toEqual(direct)
        expect(reports.length).toBeGreaterThan(0)
        expect(reports.every((r) => r.algorithm === "TemperedSMC" && r.chain === 0)).toBe(true)
        const last = reports[reports.length - 1]!
        expect(last).toEqual({ algorithm: "TemperedSMC", chain: 0, done: Tempered.stats(direct).steps, total: Tempered.stats(direct).steps, phase: "tempering" })
      }
    }), TIMEOUT)

  it.effect("honours the Interpreter layers: a conditioned generative model equals the hand-conditioned one, bit for bit", () =>
    Effect.gen(function*() {
      const generative: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 10))
        for (let i = 0; i < ys.length; i++) yield* sample(addr("y", i), Normal(mu, 1))
        return mu
      }
      const data = Object.fromEntries(ys.map((y, i) => [addr("y", i), y]))
      const options = { particles: 300, seed: 6 }
      const layered = yield* Tempered.run(generative, options).pipe(Effect.provide(over(Interpreter.layerCondition(data))))
      const byOption = Tempered.runUnsafe(generative, { ...options, transform: (h) => Combinators.condition(h, data) })
      const byHand = Tempered.runUnsafe(normalMean, options)
      expect(layered.sites).toEqual(["mu"])
      expect(Posterior.chainsOf(layered, "mu")).toEqual(Posterior.chainsOf(byHand, "mu"))
      expect(layered.logEvidence).toEqual(byHand.logEvidence)
      expect(byOption.logEvidence).toEqual(byHand.logEvidence)
      expect(Tempered.stats(layered).temperatures).toEqual(Tempered.stats(byHand).temperatures)
    }), TIMEOUT)

  it("a scale layer on the observations tempers the likelihood: the evidence of y ~ N(mu, 1)^½ is its closed form", () => {
    // p(y | mu)^½ with mu ~ N(0, 10²): ∫ N(y; mu, 1)^½ N(mu; 0, 100) dmu
    //   = (2π)^(−¼) · (2π·2)^(½) · N(y; 0, 2 + 100) (the half power of a normal density is
    //   (2π)^(−¼)·√(2π·2) times N(y; mu, 2)), so log Z = −¼ log 2π + ½ log 4π + log N(y; 0, 102).
    const one: Model<number> = function*() {
      const mu = yield* sample("mu", Normal(0, 10))
      yield* observe("y", Normal(mu, 1), 2.5)
      return mu
    }
    const logZ = -0.25 * Math.log(2 * Math.PI) + 0.5 * Math.log(4 * Math.PI) + Normal(0, Math.sqrt(102)).logProb(2.5)
    const runs = [1, 2, 3, 4].map((seed) =>
      Tempered.runUnsafe(one, { particles: 500, seed, transform: (h) => Combinators.scale(h, 0.5, ["y"]) }).logEvidence![0]!
    )
    const mean = runs.reduce((a, b) => a + b, 0) / runs.length
    // 1 step-ish runs at N = 500: sd of log Ẑ about 0.03 (measured); 0.15 is 5 sd of the mean of 4 and more
    expect(Math.abs(mean - logZ)).toBeLessThan(0.15)
  })

  it.live("is interruptible: a long run stops within a fraction of a second", () =>
    Effect.gen(function*() {
      const t0 = performance.now()
      const fiber = yield* Effect.forkChild(Tempered.run(normalMean, { particles: 200_000, seed: 1, moveSteps: 50 }))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(performance.now() - t0).toBeLessThan(2_000)
    }), TIMEOUT)

  it.effect("fails with typed errors in the error channel", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Tempered.run(normalMean, { particles: 0 }))).toBeInstanceOf(InvalidOptionsError)
      const flat: Model<unknown> = function*() {
        const mu = yield* sample("mu", Flat())
        yield* observe("y", Normal(mu, 1), 1)
      }
      expect(yield* Effect.flip(Tempered.run(flat, { particles: 10, seed: 1 }))).toBeInstanceOf(ImproperPriorError)
    }))
})
