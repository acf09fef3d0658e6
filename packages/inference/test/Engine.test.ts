// The execution engine seen from inference: interruption inside long executions, runaway and
// malformed models, errors that say where, invalid particles, options and seeds, and the two
// correctness bugs (support change under MH; SMC rejuvenation across branches).
import { describe, expect, it } from "@effect/vitest"
import { addr, Bernoulli, DiscreteUniform, factor, Gamma, Normal, observe, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { InstructionLimitError, InvalidModelError, ModelCodeError, NotAnInstructionError, ObservationTypeError, whereOf } from "@fugue/runtime/Execution"
import * as CoreRng from "@fugue/core/Rng"
import { run as runModel } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"
import { Duration, Effect, Exit } from "effect"
import * as Is from "../src/Is.ts"
import * as Mh from "../src/Mh.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Smc from "../src/Smc.ts"
import { checkMean } from "./utils/mcmc.ts"

const ys = Array.from({ length: 10_000 }, (_, i) => Math.sin(i) + 1)
const bigModel: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 10))
  for (let i = 0; i < ys.length; i++) yield* observe(addr("y", i), Normal(mu, 1), ys[i])
  return mu
}
const neverReturns: Model<number> = function*() {
  const x = yield* sample("x", Normal(0, 1))
  let i = 0
  while (true) yield* factor(i++ === -1 ? x : 0)
}

const elapsed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    const exit = yield* Effect.exit(effect)
    return { exit, ms: performance.now() - t0 }
  })

describe("interruption comes by elapsed work", () => {
  it.live("Effect.timeout(100 ms) stops MH within 200 ms on a 10 000-observation model", () =>
    Effect.gen(function*() {
      const { exit, ms } = yield* elapsed(Mh.run(bigModel, { samples: 100_000, seed: 1 }).pipe(Effect.timeout(Duration.millis(100))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(ms).toBeLessThan(200)
    }), 10_000)

  it.live("Effect.timeout(100 ms) stops MH within 200 ms on a model that never returns", () =>
    Effect.gen(function*() {
      const { exit, ms } = yield* elapsed(Mh.run(neverReturns, { samples: 10, seed: 1 }).pipe(Effect.timeout(Duration.millis(100))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(ms).toBeLessThan(200)
    }), 10_000)

  it.live("IS and SMC stop within 200 ms too", () =>
    Effect.gen(function*() {
      for (const run of [Is.run(bigModel, { particles: 100_000, seed: 1 }), Smc.run(bigModel, { particles: 100_000, seed: 1 })]) {
        const { exit, ms } = yield* elapsed((run as Effect.Effect<unknown, unknown>).pipe(Effect.timeout(Duration.millis(100))))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(ms).toBeLessThan(200)
      }
    }), 10_000)

  it("a time-sliced run gives bit-identical draws to the synchronous run", async () => {
    const post = Mh.runUnsafe(bigModel, { samples: 20, warmup: 5, seed: 3 })
    const sliced = await Effect.runPromise(Mh.run(bigModel, { samples: 20, warmup: 5, seed: 3 }))
    expect(Posterior.chainsOf(sliced, "mu")).toEqual(Posterior.chainsOf(post, "mu"))
  }, 20_000)
})

describe("runaway and malformed models fail fast with typed errors", () => {
  it("a model that never returns hits the instruction limit, naming it and the last address", () => {
    let caught: unknown
    try {
      Mh.runUnsafe(neverReturns, { samples: 10, seed: 1, maxInstructions: 10_000 })
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(InstructionLimitError)
    expect((caught as InstructionLimitError).limit).toBe(10_000)
    expect((caught as InstructionLimitError).address).toBe("x")
    expect(() => Is.runUnsafe(neverReturns, { particles: 5, seed: 1, maxInstructions: 1000 })).toThrow(InstructionLimitError)
    expect(() => Smc.runUnsafe(neverReturns, { particles: 5, seed: 1, maxInstructions: 1000 })).toThrow(InstructionLimitError)
  }, 20_000)

  it("yielding a non-instruction is a typed error naming what was yielded, in every algorithm", () => {
    const yieldsOne = function*() {
      yield* sample("x", Normal(0, 1))
      yield 1
      return 0
    } as unknown as Model<number>
    const forgotStar = function*() {
      yield sample("x", Normal(0, 1))[Symbol.iterator]().next().value === undefined ? 0 : 2
      return 0
    } as unknown as Model<number>
    for (const model of [yieldsOne, forgotStar]) {
      for (const run of [() => Mh.runUnsafe(model, { samples: 5, seed: 1 }), () => Is.runUnsafe(model, { particles: 5, seed: 1 }), () => Smc.runUnsafe(model, { particles: 5, seed: 1 })]) {
        let caught: unknown
        try {
          run()
        } catch (e) {
          caught = e
        }
        expect(caught).toBeInstanceOf(NotAnInstructionError)
        expect((caught as Error).message).toMatch(/yielded (1|2), which is not an instruction/)
      }
    }
  })
})

describe("a function that is not a generator function", () => {
  it.effect("is a typed InvalidModelError failure (not a defect) in every Effect form, and thrown by every synchronous one", () =>
    Effect.gen(function*() {
      const notAModel = (() => 1) as unknown as Model<number>
      for (const run of [Mh.run(notAModel, { samples: 3, seed: 1 }), Is.run(notAModel, { particles: 3, seed: 1 }), Smc.run(notAModel, { particles: 3, seed: 1 })]) {
        const error = yield* Effect.flip(run as Effect.Effect<unknown, { _tag: string }>)
        expect(error._tag).toBe("InvalidModelError")
      }
      expect(() => Mh.runUnsafe(notAModel, { samples: 3, seed: 1 })).toThrow(InvalidModelError)
      expect(() => Is.runUnsafe(notAModel, { particles: 3, seed: 1 })).toThrow(InvalidModelError)
      expect(() => Smc.runUnsafe(notAModel, { particles: 3, seed: 1 })).toThrow(InvalidModelError)
    }))
})

describe("errors say where", () => {
  it("an invalid distribution built inside a model names the address, the algorithm, the chain and the iteration", () => {
    const model = function*() {
      const s = yield* sample("s", Normal(0, 1))
      yield* observe("y", Normal(0, s > 100 ? 1 : Number.NaN), 1)
      return s
    }
    let caught: unknown
    try {
      Is.runUnsafe(model, { particles: 3, seed: 1 })
    } catch (e) {
      caught = e
    }
    // IS counts an invalid particle and goes on; every particle invalid: ZeroWeightError saying so
    expect(caught).toBeInstanceOf(ZeroWeightError)
    expect((caught as Error).message).toMatch(/InvalidDistributionError/)
    let mh: unknown
    try {
      Mh.runUnsafe(model, { samples: 3, seed: 1, chains: 2, initial: 5 })
    } catch (e) {
      mh = e
    }
    expect((mh as { _tag: string })._tag).toBe("InvalidDistributionError")
    expect(whereOf(mh)).toMatchObject({ address: "s", algorithm: "MH", chain: 0 })
    expect((mh as Error).message).toMatch(/MH, chain 0, .*at address "s"/)
  })

  it("an observed value of the wrong type is a typed error naming address, family and value", () => {
    const cases: Array<[Model<unknown>, string, string]> = [
      [function*() { yield* observe("y#1", Normal(0, 1), "2" as unknown as number) }, "y#1", "Normal"],
      [function*() { yield* observe("y#2", Normal(0, 1), undefined as unknown as number) }, "y#2", "Normal"],
      [function*() { yield* observe("flip", Bernoulli(0.5), 1 as unknown as boolean) }, "flip", "Bernoulli"],
      [function*() { yield* observe("z", Normal(0, 1), Number.NaN) }, "z", "Normal"]
    ]
    for (const [model, address, family] of cases) {
      for (const run of [() => Mh.runUnsafe(model, { samples: 5, seed: 1 }), () => Is.runUnsafe(model, { particles: 5, seed: 1 }), () => Smc.runUnsafe(model, { particles: 5, seed: 1 })]) {
        let caught: unknown
        try {
          run()
        } catch (e) {
          caught = e
        }
        expect(caught).toBeInstanceOf(ObservationTypeError)
        expect(caught).toMatchObject({ address, family })
      }
    }
  })

  it("when no start or particle has a finite weight, the error names the sites that contributed -Infinity", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y#0", Normal(x, 1), 0.5)
      yield* observe("bounded", Uniform(0, 1), 3)
      return x
    }
    for (const run of [() => Mh.runUnsafe(model, { samples: 5, seed: 1, initial: 10 }), () => Is.runUnsafe(model, { particles: 5, seed: 1 }), () => Smc.runUnsafe(model, { particles: 5, seed: 1 })]) {
      expect(run).toThrow(ZeroWeightError)
      expect(run).toThrow(/observe "bounded" \(Uniform\) in 20 of 20 prior runs/)
    }
  })

  it("user exceptions become ModelCodeError with the cause, in IS and SMC too", () => {
    const model = function*() {
      const x = yield* sample("x", Normal(0, 1))
      if (x > 0) throw new TypeError("bad")
      return x
    }
    for (const run of [() => Is.runUnsafe(model, { particles: 50, seed: 1 }), () => Smc.runUnsafe(function*() {
      yield* model()
      yield* factor(0)
    }, { particles: 50, seed: 1 })]) {
      let caught: unknown
      try {
        run()
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ModelCodeError)
      expect((caught as ModelCodeError).cause).toBeInstanceOf(TypeError)
      expect((caught as ModelCodeError).where.address).toBe("x")
    }
  })
})

describe("IS and SMC treat an invalid particle as MH treats an invalid proposal", () => {
  // sd = x is invalid (InvalidDistributionError) for x <= 0: P(x <= 0) = 1/2 under the prior
  const model: Model<number> = function*() {
    const x = yield* sample("x", Normal(0, 1))
    yield* observe("y", Normal(0, x), 0.3)
    return x
  }
  it("IS: weight -Infinity, counted in the stats, the run goes on", () => {
    const post = Is.runUnsafe(model, { particles: 4000, seed: 2 })
    const stats = Is.stats(post)
    // Binomial(4000, 1/2): 2000 ± 4·32
    expect(Math.abs(stats.rejectedInvalid - 2000)).toBeLessThan(130)
    expect(stats.zero).toBeGreaterThanOrEqual(stats.rejectedInvalid)
    const xs = Posterior.chainsOf(post, "x")[0]
    const w = post.weights![0]
    for (let i = 0; i < xs.length; i++) if (xs[i] <= 0) expect(w[i]).toBe(0)
  })
  it("SMC: weight -Infinity, counted in the stats, the run goes on", () => {
    const post = Smc.runUnsafe(model, { particles: 4000, seed: 2 })
    expect(Math.abs(Smc.stats(post).rejectedInvalid - 2000)).toBeLessThan(130)
    expect(Posterior.mean(post, "x")).toBeGreaterThan(0)
  })
})

describe("options and seeds", () => {
  it("unknown option keys are rejected before any work, naming the key and the closest valid one", () => {
    let ran = false
    const model = function*() {
      ran = true
      return yield* sample("x", Normal(0, 1))
    }
    const cases: Array<[() => unknown, RegExp]> = [
      [() => Mh.runUnsafe(model, { samples: 10, warmUp: 5 } as never), /unknown option `warmUp`; did you mean `warmup`\?/],
      [() => Is.runUnsafe(model, { particles: 10, particle: 3 } as never), /unknown option `particle`; did you mean `particles`\?/],
      [() => Smc.runUnsafe(model, { particles: 10, treshold: 0.5 } as never), /unknown option `treshold`; did you mean `threshold`\?/],
      [() => Smc.filterUnsafe({ particles: 10, steps: 2, initial: model, transition: () => model, sed: 1 } as never), /unknown option `sed`; did you mean `seed`\?/],
      [() => Mh.kernelUnsafe(model, { trace: undefined as never, result: 0 }, undefined as never, { step: 3 } as never), /unknown option `step`; did you mean `steps`\?/]
    ]
    for (const [run, message] of cases) {
      expect(run).toThrow(InvalidOptionsError)
      expect(run).toThrow(message)
    }
    expect(ran).toBe(false)
  })

  it("seeds use every bit of a safe integer", () => {
    const draw = (seed: number) => Posterior.chainsOf(Is.runUnsafe(function*() {
      return yield* sample("x", Normal(0, 1))
    }, { particles: 4, seed }), "x")[0]
    expect(draw(2 ** 32)).not.toEqual(draw(0))
    expect(draw(5 + 2 ** 40)).not.toEqual(draw(5))
    expect(draw(-(2 ** 50))).not.toEqual(draw(2 ** 50))
    expect(() => Is.runUnsafe(function*() {}, { particles: 4, seed: 2 ** 53 })).toThrow(InvalidOptionsError)
  })

  it("an unseeded run draws a fresh seed and records it: two runs differ, either can be reproduced", () => {
    const model = function*() {
      return yield* sample("x", Normal(0, 1))
    }
    for (const run of [
      (seed?: number) => Mh.runUnsafe(model, { samples: 20, seed }),
      (seed?: number) => Is.runUnsafe(model, { particles: 20, seed }),
      (seed?: number) => Smc.runUnsafe(function*() {
        const x = yield* model()
        yield* observe("y", Normal(x, 1), 0)
      }, { particles: 20, seed })
    ]) {
      const a = run(), b = run()
      expect(typeof a.seed).toBe("number")
      expect(a.seed).not.toBe(b.seed)
      expect(Posterior.chainsOf(a, "x")).not.toEqual(Posterior.chainsOf(b, "x"))
      expect(Posterior.chainsOf(run(a.seed), "x")).toEqual(Posterior.chainsOf(a, "x"))
    }
    const viaEffect = Effect.runSync(Mh.run(model, { samples: 20 }).pipe(Effect.provideService(Progress.Progress, { report: () => {} })))
    expect(typeof viaEffect.seed).toBe("number")
    expect(Posterior.chainsOf(Mh.runUnsafe(model, { samples: 20, seed: viaEffect.seed }), "x")).toEqual(Posterior.chainsOf(viaEffect, "x"))
  })
})

describe("two correctness bugs", () => {
  // upper ~ Gamma(2, 1); x ~ Uniform(0, upper); observe 0.9 ~ Normal(x, 0.3). The model asserts
  // that x lies in [0, upper]: a replayed x outside the new support must never reach user code.
  const supportChange: Model<number> = function*() {
    const upper = yield* sample("upper", Gamma(2, 1))
    const x = yield* sample("x", Uniform(0, upper))
    if (!(x >= 0 && x <= upper)) throw new Error(`x = ${x} outside [0, ${upper}]`)
    yield* observe("y", Normal(x, 0.3), 0.9)
    return upper
  }
  // E[upper | y] by quadrature: p(upper, x | y) ∝ upper e^{-upper} (1/upper) N(0.9; x, 0.3), 0 < x < upper
  const exactUpperMean = (() => {
    const n = 4000, hi = 30
    let z = 0, m = 0
    for (let i = 0; i < n; i++) {
      const u = (i + 0.5) * hi / n
      // ∫_0^u N(0.9; x, 0.3) dx = Φ((0.9)/0.3) − Φ((0.9 − u)/0.3)
      const phi = (t: number) => 0.5 * (1 + erf(t / Math.SQRT2))
      const like = phi(0.9 / 0.3) - phi((0.9 - u) / 0.3)
      const w = Math.exp(-u) * like
      z += w
      m += w * u
    }
    return m / z
  })()

  it("MH: a replayed value outside its new support ends the proposal at once (never seen by the model), and the posterior is exact", () => {
    const post = Mh.runUnsafe(supportChange, { samples: 40_000, warmup: 2000, thin: 2, seed: 11, chains: 2 })
    // tolerance 4 × MCSE, ESS by Geyer's initial monotone sequence over the chains
    const check = checkMean(Posterior.chainsOf(post, "upper"), exactUpperMean)
    expect(check.z).toBeLessThan(4)
  }, 60_000)

  it("SMC with MH rejuvenation is unbiased when branches have different sets of choices", () => {
    // P(x) = 0.5 exactly: each branch's factors sum to 0
    const branches: Model<boolean> = function*() {
      const x = yield* sample("x", Bernoulli(0.5))
      if (x) {
        yield* factor(-1)
        yield* factor(1)
        yield* factor(0)
      } else {
        const a = yield* sample("a", DiscreteUniform(0, 2))
        yield* factor(-a)
        const b = yield* sample("b", DiscreteUniform(0, 1))
        yield* factor(a - b)
        yield* factor(b)
      }
      return x
    }
    const estimates: Array<number> = []
    for (let seed = 1; seed <= 20; seed++) {
      const post = Smc.runUnsafe(branches, { particles: 1000, threshold: 1, rejuvenation: 1, seed })
      const w = post.weights![0]
      let p = 0
      for (let i = 0; i < w.length; i++) if (post.returns[0][i]) p += w[i]
      estimates.push(p)
    }
    const mean = estimates.reduce((a, b) => a + b, 0) / estimates.length
    const sd = Math.sqrt(estimates.reduce((a, b) => a + (b - mean) ** 2, 0) / (estimates.length - 1))
    // the bug gave 0.628 ± 0.004; the mean of 20 runs has standard error sd/√20: allow 4 of them
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * sd / Math.sqrt(20) + 1e-3)
  }, 60_000)
})

/** erf by Abramowitz & Stegun 7.1.26 is too coarse here: use the series/continued fraction via Math. */
function erf(x: number): number {
  // W. J. Cody's rational approximation is overkill for a test: integrate exp(-t²) by Simpson
  const n = 2000
  const h = x / n
  let s = 1 + Math.exp(-x * x)
  for (let i = 1; i < n; i++) s += (i % 2 === 0 ? 2 : 4) * Math.exp(-((i * h) ** 2))
  return (2 / Math.sqrt(Math.PI)) * s * h / 3
}

describe("determinism whatever the interleaving", () => {
  it.live("chains paused inside executions (time slices) and sharing a starting trace give the synchronous draws exactly", () =>
    Effect.gen(function*() {
      // 200 000 observations: one execution takes > 5 ms, so slices end inside executions
      const obs = Array.from({ length: 200_000 }, (_, i) => Math.cos(i))
      // trans-dimensional (c comes and goes), so a proposal's bookkeeping of dropped choices runs
      const heavy: Model<number> = function*() {
        const k = yield* sample("k", Bernoulli(0.5))
        const c = k ? yield* sample("c", Normal(0, 1)) : 0
        const b = yield* sample("b", Normal(0, 0.001))
        for (let i = 0; i < obs.length; i++) yield* observe(addr("y", i), Normal(b + c, 10), obs[i])
        return b
      }
      // a starting trace made by the MH kernel holds the kernel's own choice objects, whose visit
      // stamps the chains must not share (each chain copies them)
      const [, start] = runModel(new PriorHandler(CoreRng.make(1)), heavy)
      const moved = Mh.kernelUnsafe(heavy, { trace: start, result: 0 }, CoreRng.make(2), { steps: 4 })
      const options = { samples: 30, warmup: 0, chains: 3, seed: 9, initial: moved.trace }
      const sliced = yield* Mh.run(heavy, options)
      const direct = Mh.runUnsafe(heavy, options)
      expect(Posterior.chainsOf(sliced, "k")).toEqual(Posterior.chainsOf(direct, "k"))
      expect(Posterior.chainsOf(sliced, "b")).toEqual(Posterior.chainsOf(direct, "b"))
      expect(sliced.logWeights).toEqual(direct.logWeights)
    }), 120_000)
})
