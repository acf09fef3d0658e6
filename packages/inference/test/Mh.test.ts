// Behaviour of Mh: options, errors, reproducibility, the Effect shell (progress, interruption,
// concurrency), statistics, and exact bookkeeping identities. Posterior accuracy is checked in
// Mh.stat.test.ts.
import {
  Ad,
  addr,
  Bernoulli,
  Beta,
  factor,
  Gamma,
  guard,
  InvalidDistributionError,
  Normal,
  observe,
  Poisson,
  sample,
  type Model
} from "@fugue/core"
import * as Rng from "@fugue/core/Rng"
import { describe, expect, it } from "@effect/vitest"
import { DuplicateAddressError, run } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { ScoreGivenTrace } from "@fugue/runtime/handlers/Score"
import * as RuntimeRng from "@fugue/runtime/Rng"
import * as Execution from "@fugue/runtime/Execution"
import { ModelCodeError } from "@fugue/runtime/Execution"
import * as Trace from "@fugue/runtime/Trace"
import * as Choices from "@fugue/runtime/Choices"
import { Cause, Effect, Exit, Fiber } from "effect"
import * as Mh from "../src/Mh.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import { eightSchools } from "./fixtures/workerModels.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"

const xs = [1, 2, 3, 4, 5]
const ys = [2.1, 4.2, 5.8, 8.1, 10.3]
const seedModel = function*() {
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  const sd = Math.sqrt(noise)
  for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, sd), ys[i])
  return { slope, intercept, noise }
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)
const normalLogPdf = (x: number, mu: number, sigma: number) => -Math.log(sigma) - HALF_LOG_2PI - 0.5 * ((x - mu) / sigma) ** 2

const counting = <A>(model: Model.Model<A>) => {
  const counter = { runs: 0 }
  const wrapped: Model.Model<A> = function*() {
    counter.runs++
    return yield* model()
  }
  return { counter, model: wrapped }
}

describe("Mh options", () => {
  const bad: ReadonlyArray<[string, Mh.Options]> = [
    ["samples", { samples: 0 }],
    ["samples", { samples: 2.5 }],
    ["warmup", { samples: 10, warmup: -1 }],
    ["thin", { samples: 10, thin: 0 }],
    ["chains", { samples: 10, chains: 0 }],
    ["seed", { samples: 10, seed: 0.5 }],
    ["initial", { samples: 10, initial: 0 }],
    ["concurrency", { samples: 10, concurrency: 0 }]
  ]

  it("invalid options are rejected with InvalidOptionsError naming the option, before any model run", () => {
    for (const [option, options] of bad) {
      const { counter, model } = counting(seedModel)
      let caught: unknown
      try {
        Mh.runUnsafe(model, options)
      } catch (e) {
        caught = e
      }
      expect(caught, option).toBeInstanceOf(InvalidOptionsError)
      expect((caught as InvalidOptionsError).option).toBe(option)
      expect((caught as InvalidOptionsError).algorithm).toBe("MH")
      expect(counter.runs).toBe(0)
    }
  })

  it.effect("the Effect version fails with InvalidOptionsError before any model run", () =>
    Effect.gen(function*() {
      for (const [option, options] of bad) {
        const { counter, model } = counting(seedModel)
        const error = yield* Effect.flip(Mh.run(model, options))
        expect(error._tag).toBe("InvalidOptionsError")
        expect((error as InvalidOptionsError).option).toBe(option)
        expect(counter.runs).toBe(0)
      }
    }))

  it("defaults: warmup = samples, one chain, thin 1 (samples + warmup model runs after initialisation)", () => {
    // (`logDensity: "never"`: with the default, LogDensity.make first runs the model a few times
    // to see whether a compiled density applies, which this model's plain arithmetic rules out)
    const { counter, model } = counting(seedModel)
    const post = Mh.runUnsafe(model, { samples: 50, logDensity: "never" })
    expect(post.algorithm).toBe("MH")
    expect(post.logWeights.length).toBe(1)
    expect(post.logWeights[0].length).toBe(50)
    expect(counter.runs).toBe(1 + 50 + 50)
    const thinned = counting(seedModel)
    Mh.runUnsafe(thinned.model, { samples: 20, warmup: 5, thin: 3, chains: 2, logDensity: "never" })
    expect(thinned.counter.runs).toBe(2 * (1 + 5 + 20 * 3))
  })
})

describe("Mh reproducibility", { timeout: 30_000 }, () => {
  it.effect("same seed gives the same draws with chains run concurrently or in sequence", () =>
    Effect.gen(function*() {
      const options = { samples: 300, warmup: 200, chains: 3, seed: 5 }
      const plain = Posterior.toJSON(Mh.runUnsafe(seedModel, options))
      const sequential = Posterior.toJSON(yield* Mh.run(seedModel, { ...options, concurrency: 1 }))
      const concurrent = Posterior.toJSON(yield* Mh.run(seedModel, { ...options, concurrency: "unbounded" }))
      expect(sequential).toEqual(plain)
      expect(concurrent).toEqual(plain)
      // Chunks of 1000 iterations interleave the fibers; a longer run crosses several chunks.
      const long = { samples: 2500, chains: 2, seed: 6 }
      expect(Posterior.toJSON(yield* Mh.run(seedModel, { ...long, concurrency: 2 }))).toEqual(Posterior.toJSON(Mh.runUnsafe(seedModel, long)))
    }))

  it.effect("without a seed, the Rng service's stream decides, whatever the concurrency", () =>
    Effect.gen(function*() {
      const options = { samples: 1500, chains: 2 }
      const a = yield* Mh.run(seedModel, { ...options, concurrency: 1 }).pipe(RuntimeRng.withSeed(9))
      const b = yield* Mh.run(seedModel, options).pipe(RuntimeRng.withSeed(9))
      const c = yield* Mh.run(seedModel, options).pipe(RuntimeRng.withSeed(10))
      expect(Posterior.toJSON(b)).toEqual(Posterior.toJSON(a))
      expect(Posterior.chainsOf(c, "slope")[0]).not.toEqual(Posterior.chainsOf(a, "slope")[0])
    }))

  it("chain i's draws do not depend on how many chains run", () => {
    const one = Mh.runUnsafe(seedModel, { samples: 200, chains: 1, seed: 3 })
    const three = Mh.runUnsafe(seedModel, { samples: 200, chains: 3, seed: 3 })
    const two = Mh.runUnsafe(seedModel, { samples: 200, chains: 2, seed: 3 })
    expect(Posterior.chainsOf(three, "slope")[0]).toEqual(Posterior.chainsOf(one, "slope")[0])
    expect(Posterior.chainsOf(three, "noise")[1]).toEqual(Posterior.chainsOf(two, "noise")[1])
    expect(Posterior.chainsOf(three, "slope")[1]).not.toEqual(Posterior.chainsOf(three, "slope")[0])
  })
})

describe("Mh proposals and errors", () => {
  it("a proposal that makes the model build an invalid distribution is rejected and counted", () => {
    // Normal(0, s) throws InvalidDistributionError for s ≤ 0, which s ~ N(1, 1) proposes often.
    const model = function*() {
      const s = yield* sample("s", Normal(1, 1))
      yield* observe("y", Normal(0, s), 0.7)
      return s
    }
    const post = Mh.runUnsafe(model, { samples: 2000, seed: 1, logDensity: "never" })
    const stats = Mh.stats(post)
    expect(stats.rejectedInvalid[0]).toBeGreaterThan(0)
    for (const s of Posterior.chainsOf(post, "s")[0]) expect(s).toBeGreaterThan(0)
    // on the compiled density an invalid parameter is density −∞: an ordinary rejection
    const fast = Mh.runUnsafe(model, { samples: 2000, seed: 1 })
    expect(Mh.stats(fast).rejectedInvalid[0]).toBe(0)
    for (const s of Posterior.chainsOf(fast, "s")[0]) expect(s).toBeGreaterThan(0)
  })

  it("a proposal with a NaN log weight is rejected and counted", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1 ? Number.NaN : 0)
      return x
    }
    const post = Mh.runUnsafe(model, { samples: 2000, seed: 2, initial: 1000 })
    expect(Mh.stats(post).rejectedInvalid[0]).toBeGreaterThan(0)
    for (const x of Posterior.chainsOf(post, "x")[0]) expect(x).toBeLessThanOrEqual(1)
  })

  it("a repeated address fails the run with DuplicateAddressError (a model bug, not a rejection)", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      if (x > 1) yield* sample("x", Normal(0, 1))
      return x
    }
    expect(() => Mh.runUnsafe(model, { samples: 5000, seed: 1 })).toThrow(DuplicateAddressError)
  })

  it("a repeated fresh address is found too", () => {
    const model = function*() {
      const b = yield* sample("b", Bernoulli(0.5))
      if (b) {
        yield* sample("z", Normal(0, 1))
        yield* sample("z", Normal(0, 1))
      }
      return b
    }
    let caught: unknown
    try {
      Mh.runUnsafe(model, { samples: 1000, seed: 4, initial: new Trace.Trace() })
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(DuplicateAddressError)
    expect((caught as DuplicateAddressError).address).toBe("z")
  })

  it.effect("model errors are typed failures of the Effect; an exception from user code is a ModelCodeError naming address, chain and iteration", () =>
    Effect.gen(function*() {
      const duplicate = function*() {
        const x = yield* sample("x", Normal(0, 1))
        if (x > 1) yield* sample("x", Normal(0, 1))
        return x
      }
      const error = yield* Effect.flip(Mh.run(duplicate, { samples: 5000, seed: 1 }))
      expect(error._tag).toBe("DuplicateAddressError")
      const throwing = function*() {
        const x = yield* sample("x", Normal(0, 1))
        if (x > 1.5) throw new RangeError("boom")
        return x
      }
      let caught: unknown
      try {
        Mh.runUnsafe(throwing, { samples: 5000, seed: 1, chains: 2 })
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ModelCodeError)
      const codeError = caught as ModelCodeError
      expect(codeError.cause).toBeInstanceOf(RangeError)
      expect(codeError.where.address).toBe("x")
      expect(codeError.where.algorithm).toBe("MH")
      expect(codeError.where.chain).toBe(0)
      expect(typeof codeError.where.iteration).toBe("number")
      expect(codeError.message).toMatch(/RangeError\(boom\).*MH, chain 0, iteration \d+, at address "x"/)
      const failure = yield* Effect.flip(Mh.run(throwing, { samples: 5000, seed: 1 }))
      expect(failure._tag).toBe("ModelCodeError")
      // a typed error keeps its class and gains the location
      expect(error.message).toMatch(/MH, chain 0, iteration \d+, at address "x"/)
      expect(Execution.whereOf(error)?.address).toBe("x")
    }))

  it("no finite-weight start: ZeroWeightError after the given number of prior tries", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* guard(false)
      return x
    }
    let caught: unknown
    try {
      Mh.runUnsafe(model, { samples: 10, initial: 25 })
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(ZeroWeightError)
    expect((caught as ZeroWeightError).attempts).toBe(25)
  })

  it.effect("the Effect version fails with ZeroWeightError", () =>
    Effect.gen(function*() {
      const model = function*() {
        yield* guard(false)
        return 0
      }
      const error = yield* Effect.flip(Mh.run(model, { samples: 10 }))
      expect(error._tag).toBe("ZeroWeightError")
    }))

  it("a model that always builds an invalid distribution fails with that error, not ZeroWeightError", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Normal(x, -1), 0)
      return x
    }
    expect(() => Mh.runUnsafe(model, { samples: 10, initial: 20 })).toThrow(InvalidDistributionError)
  })

  it("initial prior tries skip draws that raise InvalidDistributionError", () => {
    const model = function*() {
      const s = yield* sample("s", Normal(-2, 1)) // mostly negative
      yield* observe("y", Normal(0, s), 0.5)
      return s
    }
    const post = Mh.runUnsafe(model, { samples: 100, seed: 3 })
    for (const s of Posterior.chainsOf(post, "s")[0]) expect(s).toBeGreaterThan(0)
  })

  it("starts from a given initial trace; its missing choices are drawn from the prior", () => {
    const model = function*() {
      const a = yield* sample("a", Normal(0, 100))
      const b = yield* sample("b", Normal(0, 1))
      return a + b
    }
    const [, full] = run(new PriorHandler(Rng.make(1)), function*() {
      return yield* sample("a", Normal(42, 1e-9))
    })
    const post = Mh.runUnsafe(model, { samples: 1, warmup: 0, seed: 2, initial: full, adaptation: false })
    // One step with unit scale from a = 42: a stays within a few units of 42.
    expect(Math.abs(Posterior.chainsOf(post, "a")[0][0] - 42)).toBeLessThan(10)
    expect(Number.isFinite(Posterior.chainsOf(post, "b")[0][0])).toBe(true)
  })
})

describe("Mh statistics", { timeout: 30_000 }, () => {
  it("steps on the compiled density where the arithmetic on latent values is Ad (eight schools, the regression with Ad), and never records a model whose plain arithmetic rules it out", () => {
    const xs = [1, 2, 3, 4, 5], ys = [2.1, 4.2, 5.8, 8.1, 10.3]
    const plain: Model.Model<number> = function*() {
      const slope = yield* sample("slope", Normal(0, 2))
      const intercept = yield* sample("intercept", Normal(0, 1))
      const noise = yield* sample("noise", Gamma(2, 1))
      for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(slope * xs[i]! + intercept, Math.sqrt(noise)), ys[i]!)
      return slope
    }
    const withAd: Model.Model<number> = function*() {
      const slope = yield* sample("slope", Normal(0, 2))
      const intercept = yield* sample("intercept", Normal(0, 1))
      const noise = yield* sample("noise", Gamma(2, 1))
      for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), Ad.sqrt(noise)), ys[i]!)
      return 0
    }
    // the latent values passed to the families unchanged: no Ad call, and still compiled
    const direct: Model.Model<number> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      const tau = yield* sample("tau", Gamma(2, 2))
      yield* observe("y", Normal(mu, tau), 0.3)
      return 0
    }
    const options = { samples: 200, chains: 2, seed: 3 }
    for (const model of [withAd, direct, eightSchools as Model.Model<unknown>]) {
      const stats = Mh.stats(Mh.runUnsafe(model, options))
      expect(stats.onDensity).toEqual([true, true])
      expect(stats.densityRecorded).toEqual([true, true])
    }
    const stats = Mh.stats(Mh.runUnsafe(plain, options))
    expect(stats.onDensity).toEqual([false, false])
    expect(stats.densityRecorded).toEqual([false, false])
    // and with logDensity "never" nothing is built
    expect(Mh.stats(Mh.runUnsafe(withAd, { ...options, logDensity: "never" })).densityRecorded).toEqual([false, false])
  })

  it("reports per-site acceptance, adapted scales for random-walk sites only, and invalid counts, per chain", () => {
    const model = function*() {
      const z = yield* sample("z", Bernoulli(0.5))
      const k = yield* sample("k", Poisson(3))
      const mu = yield* sample("mu", Normal(z ? 1 : -1, 1))
      yield* observe("y", Normal(mu, 1), 0.3 + k / 10)
      return mu
    }
    const post = Mh.runUnsafe(model, { samples: 3000, chains: 2, seed: 7 })
    const stats = Mh.stats(post)
    expect(stats.acceptance.length).toBe(2)
    for (let c = 0; c < 2; c++) {
      expect(Object.keys(stats.acceptance[c]).sort()).toEqual(["k", "mu", "z"])
      for (const rate of Object.values(stats.acceptance[c])) {
        expect(rate).toBeGreaterThan(0)
        expect(rate).toBeLessThan(1)
      }
      expect(Object.keys(stats.scales[c])).toEqual(["mu"])
      expect(stats.rejectedInvalid[c]).toBe(0)
      expect(stats.acceptanceRate[c]).toBeGreaterThan(0)
      const proposals = Object.values(stats.proposals[c]).reduce((s, n) => s + n, 0)
      expect(proposals).toBe(3000)
    }
  })

  it("adaptation tunes a one-dimensional walk towards acceptance 0.44; without it the scale stays 1", () => {
    // mu | y ~ N(·, σ = 1/√10.25 ≈ 0.312). For a Gaussian target with sd σ and a Gaussian walk
    // with step sd s, the expected acceptance is (2/π) arctan(2σ/s) (Gelman, Roberts & Gilks 1996),
    // so s = 1 accepts ≈ 0.352, and Robbins–Monro's fixed point 0.44 is s = 2σ / tan(0.22π) ≈ 0.754.
    // Tolerance: the kept acceptance rate over 20 000 steps has binomial sd ≤ 0.0035; accepts are
    // nearly uncorrelated, so 0.02 is > 5 sd. The adapted scale fluctuates by the last gains
    // (γ ≈ 20 000^−0.6 ≈ 0.003 per step on log s), so ±15% is loose.
    const data = [1.2, 0.3, 2.1, 1.5, 0.8, 1.9, 1.1, 0.4, 1.6, 1.3]
    const model = function*() {
      const mu = yield* sample("mu", Normal(0, 2))
      for (let i = 0; i < data.length; i++) yield* observe(addr("y", i), Normal(mu, 1), data[i])
      return mu
    }
    const sigma = 1 / Math.sqrt(10.25)
    const adapted = Mh.stats(Mh.runUnsafe(model, { samples: 20_000, seed: 4 }))
    expect(Math.abs(adapted.acceptanceRate[0] - 0.44)).toBeLessThan(0.02)
    expect(Math.abs(Math.log(adapted.scales[0].mu / ((2 * sigma) / Math.tan(0.22 * Math.PI))))).toBeLessThan(0.15)
    const fixed = Mh.stats(Mh.runUnsafe(model, { samples: 20_000, seed: 4, adaptation: false }))
    expect(fixed.scales[0].mu).toBe(1)
    expect(Math.abs(fixed.acceptanceRate[0] - (2 / Math.PI) * Math.atan(2 * sigma))).toBeLessThan(0.02)
  })

  it("every recorded log weight is the exact log joint of the recorded draw", () => {
    const post = Mh.runUnsafe(seedModel, { samples: 500, chains: 2, seed: 8 })
    for (let c = 0; c < 2; c++) {
      const slope = Posterior.chainsOf(post, "slope")[c], intercept = Posterior.chainsOf(post, "intercept")[c], noise = Posterior.chainsOf(post, "noise")[c]
      for (let i = 0; i < 500; i++) {
        let lp = normalLogPdf(slope[i], 0, 2) + normalLogPdf(intercept[i], 0, 1) + Math.log(noise[i]) - noise[i]
        for (let j = 0; j < xs.length; j++) lp += normalLogPdf(ys[j], slope[i] * xs[j] + intercept[i], Math.sqrt(noise[i]))
        expect(post.logWeights[c][i]).toBeCloseTo(lp, 9)
        expect(post.returns[c][i]).toEqual({ slope: slope[i], intercept: intercept[i], noise: noise[i] })
      }
    }
  })

  it("a model without random choices yields its return value and weight", () => {
    const model = function*() {
      yield* factor(-1.5)
      return "done"
    }
    const post = Mh.runUnsafe(model, { samples: 3, seed: 1 })
    expect(post.sites).toEqual([])
    expect(post.returns[0]).toEqual(["done", "done", "done"])
    expect(Array.from(post.logWeights[0])).toEqual([-1.5, -1.5, -1.5])
  })

  it("a site that comes and goes is NaN in the draws where it is absent", () => {
    const model = function*() {
      const b = yield* sample("b", Bernoulli(0.5))
      if (b) yield* sample("extra", Normal(0, 1))
      return b
    }
    const post = Mh.runUnsafe(model, { samples: 2000, seed: 5 })
    const b = Posterior.chainsOf(post, "b")[0], extra = Posterior.chainsOf(post, "extra")[0]
    for (let i = 0; i < 2000; i++) expect(Number.isNaN(extra[i])).toBe(b[i] === 0)
  })
})

describe("Mh Effect shell", () => {
  it.effect("reports progress per chain through Progress, warm-up then sampling, up to the total", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      yield* Mh.run(seedModel, { samples: 1500, warmup: 1200, chains: 2, seed: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => reports.push(r)))
      )
      for (const chain of [0, 1]) {
        const mine = reports.filter((r) => r.chain === chain)
        // reports come once per time slice (a few ms): non-decreasing, warm-up before sampling, ending at the total
        const done = mine.map((r) => r.done)
        expect(done.length).toBeGreaterThan(0)
        for (let k = 1; k < done.length; k++) expect(done[k]).toBeGreaterThanOrEqual(done[k - 1])
        expect(done[done.length - 1]).toBe(2700)
        const phases = mine.map((r) => r.phase)
        expect(phases.lastIndexOf("warmup")).toBeLessThan(phases.indexOf("sampling") === -1 ? Infinity : phases.indexOf("sampling"))
        for (const r of mine) expect(r.phase).toBe(r.done < 1200 ? "warmup" : "sampling")
        expect(mine.every((r) => r.total === 2700 && r.algorithm === "MH")).toBe(true)
      }
    }))

  it.effect("is interruptible between chunks", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      const fiber = yield* Mh.run(seedModel, { samples: 10_000_000, seed: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => reports.push(r))),
        Effect.forkChild
      )
      while (reports.length < 2) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const exit = yield* Effect.exit(Fiber.join(fiber))
      expect(Exit.isFailure(exit) && Cause.hasInterrupts(exit.cause)).toBe(true)
      expect(reports[reports.length - 1].done).toBeLessThan(20_000_000)
    }))
})

/** A scored trace of `model` holding `values` (ScoreGivenTrace computes the weights). */
const stateAt = <A>(model: Model.Model<A>, values: Record<string, number | boolean>): Mh.State<A> => {
  const base = new Trace.Trace()
  for (const [address, value] of Object.entries(values)) base.choices.set(address, { address, value, logProb: 0 })
  const [result, trace] = run(new ScoreGivenTrace(base), model)
  return { trace, result }
}

describe("Mh acceptance ratio, exactly (scripted uniforms)", () => {
  // One kernel step from a known state with a scripted source: uniform 1 picks the site, uniform 2
  // is the walk's standard normal (by the inverse CDF), uniform 3 is the accept test log u < log α.
  // Each case puts u just below and just above exp(log α) computed by hand.
  const PHI_1 = 0.8413447460685429 // Φ(1)
  const PHI_M1 = 0.15865525393145707 // Φ(−1)
  const accepts = <A>(model: Model.Model<A>, state: Mh.State<A>, uniforms: Array<number>) =>
    Mh.kernelUnsafe(model, state, Rng.fromUniforms(uniforms), { steps: 1 }).accepted === 1

  it("real support: the plain Gaussian walk, ratio π(x')/π(x)", () => {
    // x ~ N(0, 1), y = 0 ~ N(x, 1), x = 0.5 → x' = 1.5:
    // log α = (−1.5²/2 − 1.5²/2) − (−0.5²/2 − 0.5²/2) = −2.
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Normal(x, 1), 0)
      return x
    }
    const state = stateAt(model, { x: 0.5 })
    const threshold = Math.exp(-2)
    expect(accepts(model, state, [0.5, PHI_1, threshold * 0.999])).toBe(true)
    expect(accepts(model, state, [0.5, PHI_1, threshold * 1.001])).toBe(false)
  })

  it("positive support: the log-scale walk includes the Jacobian x'/x", () => {
    // x ~ Gamma(2, 1) (log p = log x − x), x = 1, z = −1 → x' = e^−1:
    // log α = (−1 − e^−1) − (0 − 1) + (log x' − log x) = −e^−1 − 1. (Without the Jacobian: −e^−1.)
    const model = function*() {
      return yield* sample("x", Gamma(2, 1))
    }
    const state = stateAt(model, { x: 1 })
    const threshold = Math.exp(-Math.exp(-1) - 1)
    expect(accepts(model, state, [0.5, PHI_M1, threshold * 0.999])).toBe(true)
    expect(accepts(model, state, [0.5, PHI_M1, threshold * 1.001])).toBe(false)
  })

  it("interval support: the logit-scale walk includes the Jacobian", () => {
    // p ~ Beta(1, 1) (flat), p = 0.5 (u = 0), z = 1 → u' = 1, p' = σ(1):
    // log α = 0 + log[σ(1)σ(−1)] − log[σ(0)σ(0)] = log σ(1) + log σ(−1) + 2 log 2.
    const model = function*() {
      return yield* sample("p", Beta(1, 1))
    }
    const state = stateAt(model, { p: 0.5 })
    const sig = (u: number) => 1 / (1 + Math.exp(-u))
    const threshold = sig(1) * sig(-1) * 4
    expect(accepts(model, state, [0.5, PHI_1, threshold * 0.999])).toBe(true)
    expect(accepts(model, state, [0.5, PHI_1, threshold * 1.001])).toBe(false)
  })

  it("a birth move: the fresh site's prior cancels and the site-count correction |x|/|x'| remains", () => {
    // b ~ Bernoulli(0.5); if b, z ~ N(0, 1). From {b = false} (1 site), propose b' = true from the
    // prior (uniform 0.3 ≤ 0.5) and draw z fresh (z = 1): π(x') = 0.5 φ(1), π(x) = 0.5,
    // q ratio at b = 0.5/0.5, fresh density φ(1), sites 1 → 2:
    // log α = log φ(1) + 0 + log(1/2) − log φ(1) = −log 2.
    const model = function*() {
      const b = yield* sample("b", Bernoulli(0.5))
      if (b) yield* sample("z", Normal(0, 1))
      return b
    }
    const state = stateAt(model, { b: false })
    expect(accepts(model, state, [0.5, 0.3, PHI_1, 0.499])).toBe(true)
    expect(accepts(model, state, [0.5, 0.3, PHI_1, 0.501])).toBe(false)
  })

  it("a death move: the dropped site's prior enters the reverse proposal", () => {
    // b ~ Bernoulli(0.5); if b, z ~ N(0, 1); y = 1.5 ~ N(b ? z : 0, 1). From {b = true, z = 1}
    // (2 sites), pick b (uniform 0.2 · 2 → index 0), propose b' = false (uniform 0.7 > 0.5),
    // dropping z: π(x') = 0.5 φ(1.5), π(x) = 0.5 φ(1) φ(0.5), dropped density φ(1), 2 → 1 sites:
    // log α = log φ(1.5) − log φ(1) − log φ(0.5) + log φ(1) + log 2 = −(1.5² − 0.5²)/2 + log 2 = −1 + log 2.
    // (Without the dropped density: > 0; without the site-count term: −1.)
    const model = function*() {
      const b = yield* sample("b", Bernoulli(0.5))
      const mean = b ? yield* sample("z", Normal(0, 1)) : 0
      yield* observe("y", Normal(mean, 1), 1.5)
      return b
    }
    const state = stateAt(model, { b: true, z: 1 })
    const threshold = 2 * Math.exp(-1)
    expect(accepts(model, state, [0.2, 0.7, threshold * 0.999])).toBe(true)
    expect(accepts(model, state, [0.2, 0.7, threshold * 1.001])).toBe(false)
    const out = Mh.kernelUnsafe(model, state, Rng.fromUniforms([0.2, 0.7, 0.5]), { steps: 1 })
    expect(Trace.addresses(out.trace)).toEqual(["b"])
    expect(out.trace.logPrior).toBeCloseTo(Math.log(0.5), 12)
  })
})

describe("Mh.kernelUnsafe", () => {
  it("zero steps returns the given state", () => {
    const [result, trace] = run(new PriorHandler(Rng.make(1)), seedModel)
    const out = Mh.kernelUnsafe(seedModel, { trace, result }, Rng.make(2), { steps: 0 })
    expect(out.trace).toBe(trace)
    expect(out.result).toBe(result)
    expect(out.proposed).toBe(0)
  })

  it("one sweep makes one step per choice; the returned trace's weights are what scoring it gives", () => {
    const [result, trace] = run(new PriorHandler(Rng.make(1)), seedModel)
    const before = Trace.toJSON(trace)
    const rng = Rng.make(3)
    let state: Mh.KernelResult<typeof result> = { trace, result, proposed: 0, accepted: 0, rejectedInvalid: 0 }
    let accepted = 0
    for (let i = 0; i < 50; i++) {
      state = Mh.kernelUnsafe(seedModel, state, rng)
      expect(state.proposed).toBe(3)
      accepted += state.accepted
      const [scoredResult, scored] = run(new ScoreGivenTrace(state.trace), seedModel)
      expect(state.trace.logPrior).toBeCloseTo(scored.logPrior, 10)
      expect(state.trace.logLikelihood).toBeCloseTo(scored.logLikelihood, 10)
      expect(state.result).toEqual(scoredResult)
      expect(Trace.addresses(state.trace)).toEqual(["intercept", "noise", "slope"])
    }
    expect(accepted).toBeGreaterThan(0)
    // The input state is never modified.
    expect(Trace.toJSON(trace)).toEqual(before)
  })

  it("the chain's state is the given trace's own tree: a step that moves one site of 10 000 copies only the path to it, and shares every other choice object", () => {
    const n = 10_000
    const wide = function*() {
      let s = 0
      for (let i = 0; i < n; i++) s += yield* sample(addr("x", i), Normal(0, 1))
      return s
    }
    const [result, trace] = run(new PriorHandler(Rng.make(1)), wide)
    const before = Choices.shape(trace.choices)
    // the first seed whose single step is accepted (about 70 % are, for a unit walk on N(0, 1))
    let out: Mh.KernelResult<number> | undefined
    for (let seed = 1; out === undefined; seed++) {
      const o = Mh.kernelUnsafe(wide, { trace, result }, Rng.make(seed), { steps: 1 })
      if (o.accepted === 1) out = o
    }
    // height + 1 nodes copied (the root-to-leaf path), every other node shared with the input
    const { nodes, shared } = Choices.sharing(trace, out.trace)
    expect(nodes - shared).toBe(before.height + 1)
    let moved = 0
    trace.choices.forEachPair((address, choice) => {
      const now = out.trace.choices.get(address)!
      if (now !== choice) {
        moved++
        expect(now.value).not.toBe(choice.value)
      }
    })
    expect(moved).toBe(1)
    const [, scored] = run(new ScoreGivenTrace(out.trace), wide)
    expect(out.trace.logPrior).toBeCloseTo(scored.logPrior, 8)
  }, 60_000)

  it("a repeated address after the visit order changed is found (no marks on the shared choices)", () => {
    // a, b in order; when a > 1 the model visits b and then a again, out of order
    const model = function*() {
      const a = yield* sample("a", Normal(0, 1))
      yield* sample("b", Normal(0, 1))
      if (a > 1) yield* sample("a", Normal(0, 1))
      return a
    }
    expect(() => Mh.runUnsafe(model, { samples: 5000, seed: 3 })).toThrow(DuplicateAddressError)
  })

  it("rejects bad kernel options", () => {
    const [result, trace] = run(new PriorHandler(Rng.make(1)), seedModel)
    expect(() => Mh.kernelUnsafe(seedModel, { trace, result }, Rng.make(2), { scale: 0 })).toThrow(InvalidOptionsError)
    expect(() => Mh.kernelUnsafe(seedModel, { trace, result }, Rng.make(2), { steps: -1 })).toThrow(InvalidOptionsError)
    expect(() => Mh.kernelUnsafe(seedModel, { trace, result }, Rng.make(2), { scales: { slope: Number.NaN } })).toThrow(InvalidOptionsError)
  })
})
