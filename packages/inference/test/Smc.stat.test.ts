import { addr, Bernoulli, Beta, factor, Gamma, Normal, observe, Poisson, Rng, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { DuplicateAddressError, run as runModel } from "@fugue/runtime/Handler"
import { ScoreGivenTrace } from "@fugue/runtime/handlers/Score"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"
import type { Posterior } from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Smc from "../src/Smc.ts"
import { logNormal, meanSd, weighted } from "./utils/seedStats.ts"

// ---------------------------------------------------------------------------------------------
// Tolerances. SMC estimates have no simple closed-form standard error (resampling correlates the
// particles), so each statistical check runs K independent seeds and uses their empirical spread:
// with estimates e₁…e_K, mean ē and sample sd s, (ē − truth)/(s/√K) is Student-t with K − 1 degrees
// of freedom (the estimates are close to normal at N = 1000; their O(1/N) bias is far below s/√K).
// Each check allows the two-sided t quantile for a family-wise error of 1e-3 (Bonferroni over the
// checks of one family). For log Ẑ, E[log Ẑ] ≈ log Z − Var(log Ẑ)/2 (Ẑ is unbiased, its log is
// not), so the bias s²/2 is added to the allowance.
// ---------------------------------------------------------------------------------------------

/** t quantiles (scipy.stats.t.ppf): two-sided 1e-3 at 9 df; 1e-3/5 at 9 df; 1e-3/50 at 19 df. */
const T9 = 4.781
const T9_BONFERRONI_5 = 6.01
const T19 = 3.883
const T19_BONFERRONI_50 = 5.627

const expectAgrees = (estimates: ReadonlyArray<number>, truth: number, t: number, logScale = false) => {
  const { mean, sd, se } = meanSd(estimates)
  expect(Math.abs(mean - truth)).toBeLessThan(t * se + (logScale ? (sd * sd) / 2 : 0))
}

const logFactorial = (n: number): number => {
  let s = 0
  for (let k = 2; k <= n; k++) s += Math.log(k)
  return s
}
const logBetaInt = (a: number, b: number): number => logFactorial(a - 1) + logFactorial(b - 1) - logFactorial(a + b - 1)

// ---------------------------------------------------------------------------------------------
// The 50-step random walk observed with noise, and its Kalman filter / RTS smoother
// ---------------------------------------------------------------------------------------------

const T = 50
const Q = 0.25 // transition variance (sd 0.5)
const R = 1 // observation variance
const ys: Array<number> = (() => {
  const rng = Rng.make(2024)
  const out: Array<number> = []
  let x = rng.normal()
  for (let t = 0; t < T; t++) {
    if (t > 0) x += Math.sqrt(Q) * rng.normal()
    out.push(x + Math.sqrt(R) * rng.normal())
  }
  return out
})()

/** Kalman filter (x₁ ~ N(0, 1)): filtering means/variances and the exact log evidence (prediction decomposition). */
const kalman = (() => {
  const means: Array<number> = [], variances: Array<number> = []
  let m = 0, P = 1, logEvidence = 0
  for (let t = 0; t < T; t++) {
    if (t > 0) P += Q
    const S = P + R
    logEvidence += logNormal(ys[t], m, S)
    const K = P / S
    m += K * (ys[t] - m)
    P *= 1 - K
    means.push(m)
    variances.push(P)
  }
  // Rauch–Tung–Striebel smoother: E[x_t | y_1..T].
  const smoothed = means.slice()
  const smoothedVar = variances.slice()
  for (let t = T - 2; t >= 0; t--) {
    const predicted = variances[t] + Q
    const G = variances[t] / predicted
    smoothed[t] = means[t] + G * (smoothed[t + 1] - means[t])
    smoothedVar[t] = variances[t] + G * G * (smoothedVar[t + 1] - predicted)
  }
  return { means, variances, logEvidence, smoothed, smoothedVar }
})()

const randomWalk: Model<number> = function*() {
  let x = 0
  for (let t = 0; t < T; t++) {
    x = yield* sample(addr("x", t), t === 0 ? Normal(0, 1) : Normal(x, Math.sqrt(Q)))
    yield* observe(addr("y", t), Normal(x, Math.sqrt(R)), ys[t])
  }
  return x
}

const walkFilter = (seed: number, threshold?: number): Smc.FilterOptions<number> => ({
  particles: 1000,
  steps: T,
  seed,
  threshold,
  initial: function*() {
    return yield* sample("x", Normal(0, 1))
  },
  transition: function*(x: number) {
    return yield* sample("x", Normal(x, Math.sqrt(Q)))
  },
  observation: (x, t) => Normal(x, Math.sqrt(R)).logProb(ys[t])
})

// ---------------------------------------------------------------------------------------------
// Conjugate models (as in Is.stat.test.ts)
// ---------------------------------------------------------------------------------------------

const nnData = [2.3, 1.1, 3.4, 2.8, 1.9, 2.6, 3.1, 2.2]
const normalModel: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(1, 2))
  for (let i = 0; i < nnData.length; i++) yield* observe(addr("y", i), Normal(mu, 1.5), nnData[i])
  return mu
}
const exactNormal = (() => {
  // mu ~ N(1, 2²), y_i ~ N(mu, 1.5²): conjugate posterior; the evidence by the chain rule
  // Σ log N(y_i; E[mu | y_<i], Var[mu | y_<i] + σ²) (equal to the joint Gaussian form, see Is.stat.test.ts).
  let m = 1, v = 4, logEvidence = 0
  for (const y of nnData) {
    logEvidence += logNormal(y, m, v + 2.25)
    const k = v / (v + 2.25)
    m += k * (y - m)
    v *= 1 - k
  }
  return { mean: m, sd: Math.sqrt(v), logEvidence }
})()

const flips = [true, false, true, true, true, false, true, true, false, true]
const coinModel: Model<number> = function*() {
  const p = yield* sample("p", Beta(2, 3))
  for (let i = 0; i < flips.length; i++) yield* observe(addr("flip", i), Bernoulli(p), flips[i])
  return p
}
const exactCoin = { mean: 9 / 15, sd: Math.sqrt((9 * 6) / (15 ** 2 * 16)), logEvidence: logBetaInt(9, 6) - logBetaInt(2, 3) }

const counts = [2, 4, 1, 3, 2, 5]
const poissonModel: Model<number> = function*() {
  const rate = yield* sample("rate", Gamma(3, 2))
  for (let i = 0; i < counts.length; i++) yield* observe(addr("count", i), Poisson(rate), counts[i])
  return rate
}
const exactPoisson = {
  mean: 20 / 8,
  sd: Math.sqrt(20) / 8,
  // Π(1/yᵢ!) · βᵅ/Γ(α) · Γ(α + Σy)/(β + n)^(α + Σy) with α = 3, β = 2, n = 6, Σy = 17
  logEvidence: -counts.reduce((a, y) => a + logFactorial(y), 0) + 3 * Math.log(2) - logFactorial(2) + logFactorial(19) -
    20 * Math.log(8)
}

const K = 10
const seeds = Array.from({ length: K }, (_, k) => 100 + k)

// ---------------------------------------------------------------------------------------------

describe("Smc: conjugate models (K = 10 seeds × 1000 particles, t₉ tolerance)", () => {
  const cases = [
    ["Normal–Normal", normalModel, "mu", exactNormal],
    ["Beta–Bernoulli", coinModel, "p", exactCoin],
    ["Gamma–Poisson", poissonModel, "rate", exactPoisson]
  ] as const
  for (const [name, model, site, exact] of cases) {
    for (const rejuvenation of [0, 1]) {
      it(`${name}, rejuvenation ${rejuvenation}: mean, sd and log evidence`, () => {
        const runs = seeds.map((seed) => Smc.runUnsafe(model as Model<number>, { particles: 1000, seed, rejuvenation }))
        // three checks per case: Bonferroni 1e-3/3 at 9 df is 5.60 < T9_BONFERRONI_5
        expectAgrees(runs.map((p) => weighted(p, site).mean), exact.mean, T9_BONFERRONI_5)
        expectAgrees(runs.map((p) => weighted(p, site).sd), exact.sd, T9_BONFERRONI_5)
        expectAgrees(runs.map((p) => p.logEvidence![0]), exact.logEvidence, T9_BONFERRONI_5, true)
        if (rejuvenation > 0) expect(Smc.stats(runs[0]).rejuvenationAccepted).toBeGreaterThan(0)
      }, 10_000)
    }
  }

  it("rejuvenation restores diversity that resampling a static parameter destroys", () => {
    const unique = (p: Posterior<unknown>) => new Set(p.draws.get("mu")![0]).size
    const plain = Smc.runUnsafe(normalModel, { particles: 1000, seed: 1, threshold: 1 })
    const moved = Smc.runUnsafe(normalModel, { particles: 1000, seed: 1, threshold: 1, rejuvenation: 1 })
    // 7 systematic resamplings leave about a third of the values distinct (342 here); one sweep of
    // the cloud-scaled random walk (acceptance ≈ 0.44) moves almost every particle (953).
    expect(unique(plain)).toBeLessThan(400)
    expect(unique(moved)).toBeGreaterThan(900)
    expect(Smc.stats(moved).rejuvenationAccepted / Smc.stats(moved).rejuvenationProposed).toBeGreaterThan(0.3)
  })
})

describe("Smc: executions with different numbers of barriers", () => {
  // long ~ Bernoulli(0.5); x ~ N(0, 1); three observations when long, one otherwise. With Z_n the
  // Normal–Normal evidence of the first n observations, Z = (Z₃ + Z₁)/2 and P(long | y) = Z₃/(2Z).
  const data = [0.8, 1.4, 1.1]
  const branching: Model<boolean> = function*() {
    const long = yield* sample("long", Bernoulli(0.5))
    const x = yield* sample("x", Normal(0, 1))
    const n = long ? 3 : 1
    for (let i = 0; i < n; i++) yield* observe(addr("y", i), Normal(x, 1), data[i])
    return long
  }
  const evidence = (n: number) => {
    let m = 0, v = 1, logZ = 0
    for (let i = 0; i < n; i++) {
      logZ += logNormal(data[i], m, v + 1)
      const k = v / (v + 1)
      m += k * (data[i] - m)
      v *= 1 - k
    }
    return Math.exp(logZ)
  }
  const Z = (evidence(3) + evidence(1)) / 2
  const pLong = evidence(3) / 2 / Z

  for (const rejuvenation of [0, 1]) {
    it(`log evidence and P(long | y) match, rejuvenation ${rejuvenation} (moves change the barrier count)`, () => {
      const runs = seeds.map((seed) => Smc.runUnsafe(branching, { particles: 1000, seed, threshold: 1, rejuvenation }))
      expectAgrees(runs.map((p) => p.logEvidence![0]), Math.log(Z), T9_BONFERRONI_5, true)
      expectAgrees(runs.map((p) => weighted(p, "long").mean), pLong, T9_BONFERRONI_5)
      for (const p of runs) {
        const long = p.draws.get("long")![0]
        p.returns[0].forEach((r, i) => expect(r ? 1 : 0).toBe(long[i]))
      }
    }, 10_000)
  }

  it("a factor barrier acts as the matching observe; samples after the last barrier are drawn", () => {
    const observing: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      for (let i = 0; i < data.length; i++) yield* observe(addr("y", i), Normal(x, 1), data[i])
      return yield* sample("z", Normal(x, 1))
    }
    const factoring: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      for (let i = 0; i < data.length; i++) yield* factor(Normal(x, 1).logProb(data[i]))
      return yield* sample("z", Normal(x, 1))
    }
    const a = Smc.runUnsafe(observing, { particles: 300, seed: 3 })
    const b = Smc.runUnsafe(factoring, { particles: 300, seed: 3 })
    expect(b.logEvidence).toEqual(a.logEvidence)
    expect(b.draws).toEqual(a.draws)
    expect(a.returns[0]).toEqual(Array.from(a.draws.get("z")![0]))
    expect(a.draws.get("z")![0].every(Number.isFinite)).toBe(true)
  })

  const repeated: Model<number> = function*() {
    const x = yield* sample("x", Normal(0, 1))
    yield* observe("y", Normal(x, 1), 0.5)
    return yield* sample("x", Normal(x, 1))
  }

  it("a repeated address is reported as DuplicateAddressError", () => {
    expect(() => Smc.runUnsafe(repeated, { particles: 50, seed: 1 })).toThrow(DuplicateAddressError)
  })

  it.effect("run puts DuplicateAddressError in the error channel", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Smc.run(repeated, { particles: 50, seed: 1 }))).toBeInstanceOf(DuplicateAddressError)
    }))
})

describe("Smc: the 50-step random walk against the Kalman filter", () => {
  it("the state-space filter's filtering means and sds and its log evidence match (K = 20 seeds)", () => {
    const runs = Array.from({ length: 20 }, (_, k) => Smc.filterUnsafe(walkFilter(200 + k)))
    for (let t = 0; t < T; t++) {
      // 50 steps, so Bonferroni over 50: t₁₉ at 1e-3/50
      expectAgrees(runs.map((p) => Smc.filterStats(p).filteringMeans[t]), kalman.means[t], T19_BONFERRONI_50)
      expectAgrees(runs.map((p) => Smc.filterStats(p).filteringSds[t]), Math.sqrt(kalman.variances[t]), T19_BONFERRONI_50)
    }
    expectAgrees(runs.map((p) => p.logEvidence![0]), kalman.logEvidence, T19, true)
    const spread = meanSd(runs.map((p) => p.logEvidence![0])).sd
    expect(spread).toBeLessThan(0.5) // a meaningful test: the estimates are tight
  }, 15_000)

  it("the general SMC's log evidence, final filtering distribution and last smoothing means match (K = 10 seeds)", () => {
    const runs = seeds.map((seed) => Smc.runUnsafe(randomWalk, { particles: 1000, seed }))
    expectAgrees(runs.map((p) => p.logEvidence![0]), kalman.logEvidence, T9, true)
    expectAgrees(runs.map((p) => weighted(p, "x#49").mean), kalman.means[T - 1], T9)
    expectAgrees(runs.map((p) => weighted(p, "x#49").sd), Math.sqrt(kalman.variances[T - 1]), T9)
    for (let t = T - 5; t < T; t++) {
      expectAgrees(runs.map((p) => weighted(p, `x#${t}`).mean), kalman.smoothed[t], T9_BONFERRONI_5)
    }
    expect(runs[0].returns[0].length).toBe(1000)
  }, 30_000)

  it("general SMC and the state-space filter consume randomness alike: same seed, identical results", () => {
    for (const threshold of [0.5, 1]) {
      const general = Smc.runUnsafe(randomWalk, { particles: 300, seed: 8, threshold })
      const filtered = Smc.filterUnsafe({ ...walkFilter(8, threshold), particles: 300 })
      expect(general.logEvidence).toEqual(filtered.logEvidence)
      expect(general.weights).toEqual(filtered.weights)
      for (let t = 0; t < T; t++) expect(general.draws.get(`x#${t}`)).toEqual(filtered.draws.get(`state#${t}`))
      expect(Smc.stats(general).resamplings).toBe(Smc.filterStats(filtered).resamplings)
      expect(Smc.stats(general).ess).toEqual(Smc.filterStats(filtered).ess)
    }
  }, 10_000)
})

describe("Smc: exact identities of the implementation", () => {
  it("with threshold 0 nothing is resampled and log Ẑ = lse(log w) − log N", () => {
    const post = Smc.runUnsafe(normalModel, { particles: 500, seed: 2, threshold: 0 })
    expect(Smc.stats(post).resamplings).toBe(0)
    const lw = post.logWeights[0]
    const max = Math.max(...lw)
    const lse = max + Math.log(lw.reduce((a, b) => a + Math.exp(b - max), 0))
    expect(post.logEvidence![0]).toBeCloseTo(lse - Math.log(500), 10)
    expect(post.weights![0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })

  it("with threshold 1 it resamples after every step but the last", () => {
    const post = Smc.runUnsafe(normalModel, { particles: 200, seed: 2, threshold: 1 })
    const s = Smc.stats(post)
    expect(s.steps).toBe(nnData.length)
    expect(s.resamplings).toBe(nnData.length - 1)
    expect(s.ess.length).toBe(nnData.length)
  })

  it("rebuilding only duplicates gives exactly the naive full-replay results, with far less replay", () => {
    const finish = (rebuild: "duplicates" | "all") => {
      const engine = Smc.engineUnsafe(randomWalk, { particles: 300, seed: 5, threshold: 0.8 }, undefined, rebuild)
      while (engine.stepUnsafe()) {
        // step
      }
      return engine
    }
    const fast = finish("duplicates"), naive = finish("all")
    const a = fast.finish(() => ({}), 5), b = naive.finish(() => ({}), 5)
    expect(a).toEqual(b)
    expect(fast.kept + fast.rebuilds).toBe(300 * fast.resamplings)
    expect(naive.rebuilds).toBe(300 * naive.resamplings)
    expect(fast.replayedInstructions).toBeLessThan(0.7 * naive.replayedInstructions)
  }, 10_000)

  it("every rebuilt particle's trace carries exactly the weights a rescoring gives it", () => {
    for (const [model, rejuvenation] of [[randomWalk, 0], [normalModel, 2]] as const) {
      const engine = Smc.engineUnsafe(model as Model<number>, { particles: 200, seed: 3, threshold: 1, rejuvenation })
      while (engine.stepUnsafe()) {
        // step
      }
      expect(engine.rebuilds).toBeGreaterThan(0)
      for (const p of engine.particles) {
        const trace = p.toTrace()
        const [result, scored] = runModel(new ScoreGivenTrace(trace), model)
        expect(trace.logPrior).toBeCloseTo(scored.logPrior, 9)
        expect(trace.logLikelihood).toBeCloseTo(scored.logLikelihood, 9)
        scored.choices.forEachPair((address, choice) => {
          expect(trace.choices.get(address)!.logProb).toBeCloseTo(choice.logProb, 12)
        })
        expect(trace.size).toBe(scored.size)
        expect(p.result).toBe(result)
      }
    }
  }, 10_000)
})

describe("Smc: impossible, invalid and bad input", () => {
  const upTo = (bad: "observe" | "factor"): Model<number> =>
    function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y#0", Normal(x, 1), 0.1)
      yield* observe("y#1", Normal(x, 1), 0.2)
      if (bad === "observe") yield* observe("bad", Uniform(0, 1), 2)
      else yield* factor(-Infinity)
      return x
    }

  it("every particle at −∞ gives ZeroWeightError naming the step and the address", () => {
    const error = (() => {
      try {
        Smc.runUnsafe(upTo("observe"), { particles: 100, seed: 1 })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ZeroWeightError)
    expect((error as ZeroWeightError).detail).toContain("step 3")
    expect((error as ZeroWeightError).detail).toContain(`"bad"`)
    expect(() => Smc.runUnsafe(upTo("factor"), { particles: 100, seed: 1 })).toThrow(/step 3 \(a factor/)
  })

  it("NaN barrier weights are counted and dropped, never propagated", () => {
    const model: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(x > 1 ? Number.NaN : 0)
      yield* observe("y", Normal(x, 1), 0.5)
      return x
    }
    const post = Smc.runUnsafe(model, { particles: 2000, seed: 4, threshold: 0 })
    const xs = post.draws.get("x")![0]
    const above = xs.reduce((a, x) => a + (x > 1 ? 1 : 0), 0)
    expect(above).toBeGreaterThan(0)
    expect(Smc.stats(post).invalid).toBe(above)
    post.weights![0].forEach((w, i) => {
      expect(Number.isNaN(w)).toBe(false)
      if (xs[i] > 1) expect(w).toBe(0)
    })
    expect(Number.isFinite(post.logEvidence![0])).toBe(true)
    // With resampling the NaN particles die out at once.
    const resampled = Smc.runUnsafe(model, { particles: 2000, seed: 4, threshold: 1 })
    expect(Smc.stats(resampled).invalid).toBeGreaterThan(0)
    expect(resampled.draws.get("x")![0].every((x) => x <= 1)).toBe(true)
  })

  it("invalid options are rejected with InvalidOptionsError before any work", () => {
    let runs = 0
    const counting: Model<number> = function*() {
      runs++
      return yield* sample("x", Normal(0, 1))
    }
    const bad: Array<Record<string, unknown>> = [
      { particles: 0 },
      { particles: 1.5 },
      { particles: 10, threshold: 1.5 },
      { particles: 10, threshold: -0.1 },
      { particles: 10, threshold: Number.NaN },
      { particles: 10, threshold: "0.5" },
      { particles: 10, resampling: "bogus" },
      { particles: 10, rejuvenation: -1 },
      { particles: 10, rejuvenation: 0.5 },
      { particles: 10, seed: 1.5 }
    ]
    for (const options of bad) {
      const error = (() => {
        try {
          Smc.runUnsafe(counting, options as unknown as Smc.Options)
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect(Object.keys(options)).toContain((error as InvalidOptionsError).option)
    }
    const filterBad: Array<Record<string, unknown>> = [
      { steps: 0 },
      { particles: 0 },
      { threshold: 2 },
      { resampling: "bogus" },
      { initial: 3 },
      { transition: undefined },
      { observation: 4 },
      { rejuvenation: 1 }
    ]
    for (const change of filterBad) {
      expect(() => Smc.filterUnsafe({ ...walkFilter(1), initial: counting, ...change } as Smc.FilterOptions<number>))
        .toThrow(InvalidOptionsError)
    }
    expect(runs).toBe(0)
  })

  it("the state-space filter raises ZeroWeightError when every particle is impossible", () => {
    expect(() => Smc.filterUnsafe({ ...walkFilter(1), observation: (_x, t) => (t === 4 ? -Infinity : 0) }))
      .toThrow(/step 4/)
  })
})

describe("Smc: the state-space filter's model forms", () => {
  it("an observation model, a transition that observes, and a closure transition all give identical results", () => {
    const base = Smc.filterUnsafe(walkFilter(6))
    const observationModel = Smc.filterUnsafe({
      ...walkFilter(6),
      observation: (x, t) =>
        function*() {
          yield* observe("y", Normal(x, Math.sqrt(R)), ys[t])
        }
    })
    const observingTransition = Smc.filterUnsafe({
      ...walkFilter(6),
      initial: function*() {
        const x = yield* sample("x", Normal(0, 1))
        yield* observe("y", Normal(x, Math.sqrt(R)), ys[0])
        return x
      },
      transition: function*(x: number, t: number) {
        const next = yield* sample("x", Normal(x, Math.sqrt(Q)))
        yield* observe("y", Normal(next, Math.sqrt(R)), ys[t])
        return next
      },
      observation: undefined
    })
    const closure = Smc.filterUnsafe({
      ...walkFilter(6),
      transition: (x: number) =>
        function*() {
          return yield* sample("x", Normal(x, Math.sqrt(Q)))
        }
    })
    expect(observationModel).toEqual(base)
    expect(observingTransition).toEqual(base)
    expect(closure).toEqual(base)
  }, 10_000)

  it("paths follow the genealogy: each path's last state is the particle's final state", () => {
    const post = Smc.filterUnsafe(walkFilter(7))
    const paths = post.returns[0]
    expect(paths.length).toBe(1000)
    expect(paths[0].length).toBe(T)
    const last = post.draws.get("state#49")![0]
    paths.forEach((path, i) => expect(path[T - 1]).toBe(last[i]))
    expect(post.sites.length).toBe(T)
  })
})

describe("Smc: reproducibility and the Effect API", () => {
  it("the same seed gives the same results", () => {
    const a = Smc.runUnsafe(normalModel, { particles: 300, seed: 1, rejuvenation: 1 })
    const b = Smc.runUnsafe(normalModel, { particles: 300, seed: 1, rejuvenation: 1 })
    expect(b).toEqual(a)
    expect(Smc.runUnsafe(normalModel, { particles: 300, seed: 2 }).logEvidence).not.toEqual(a.logEvidence)
  })

  it.effect("run equals runUnsafe (seed or Rng.withSeed), whatever the concurrency", () =>
    Effect.gen(function*() {
      const direct = [1, 2, 3].map((seed) => Smc.runUnsafe(randomWalk, { particles: 100, seed }))
      const concurrent = yield* Effect.all([1, 2, 3].map((seed) => Smc.run(randomWalk, { particles: 100, seed })), {
        concurrency: "unbounded"
      })
      expect(concurrent).toEqual(direct)
      const service = yield* Smc.run(randomWalk, { particles: 100 }).pipe(RuntimeRng.withSeed(2))
      // streams from an Rng service carry no seed of their own: the posterior records none
      expect(service.seed).toBeUndefined()
      expect({ ...service, seed: 2 }).toEqual(direct[1])
      const filtered = yield* Effect.all([1, 2].map((seed) => Smc.filter(walkFilter(seed))), { concurrency: "unbounded" })
      expect(filtered).toEqual([1, 2].map((seed) => Smc.filterUnsafe(walkFilter(seed))))
    }), 10_000)

  it.effect("run reports progress per time slice, ending at the total, and fails with typed errors", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      yield* Smc.run(normalModel, { particles: 100, seed: 1 }).pipe(Effect.provide(Progress.layerCallback((r) => reports.push(r))))
      expect(reports.length).toBeGreaterThan(0)
      for (let k = 1; k < reports.length; k++) expect(reports[k].done).toBeGreaterThanOrEqual(reports[k - 1].done)
      expect(reports[reports.length - 1].done).toBe(nnData.length)
      expect(reports[reports.length - 1].done).toBe(reports[reports.length - 1].total)
      expect(yield* Effect.flip(Smc.run(normalModel, { particles: 0 }))).toBeInstanceOf(InvalidOptionsError)
      expect(yield* Effect.flip(Smc.run(function*() {
        yield* observe("y", Uniform(0, 1), 2)
      }, { particles: 10 }))).toBeInstanceOf(ZeroWeightError)
      expect(yield* Effect.flip(Smc.filter({ ...walkFilter(1), steps: 0 }))).toBeInstanceOf(InvalidOptionsError)
    }))

  it.effect("run is interruptible between steps", () =>
    Effect.gen(function*() {
      let steps = 0
      const fiber = yield* Effect.forkChild(
        Smc.run(randomWalk, { particles: 200, seed: 1 }).pipe(Effect.provide(Progress.layerCallback(() => steps++)))
      )
      while (steps < 3) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.hasInterrupts(exit)).toBe(true)
      expect(steps).toBeLessThan(T)
    }))
})
