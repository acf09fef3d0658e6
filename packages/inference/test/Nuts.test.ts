// NUTS and static HMC: the integrator's exact identities (leapfrog reversibility, the metric's
// algebra), Stan's warm-up schedule and estimators, the options, the typed errors, determinism
// across chains / concurrency / the Effect form, handler layers, divergences recorded and never
// thrown, and the statistics' bookkeeping identities. The statistical validation against exact
// posteriors is in Nuts.stat.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Ad, Dirichlet, Flat, Multinomial, Normal, Poisson, factor, observe, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect, Fiber, Layer } from "effect"
import * as Diagnostics from "../src/Diagnostics.ts"
import * as Hmc from "../src/Hmc.ts"
import { DualAveraging, Welford, Windows } from "../src/internal/adaptation.ts"
import { Hamiltonian, Metric, Point, type Target } from "../src/internal/hamiltonian.ts"
import * as LogDensity from "../src/LogDensity.ts"
import * as Nuts from "../src/Nuts.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import { rescalingStress } from "./utils/hamiltonians.ts"

const TIMEOUT = 30_000

/** A Gaussian target N(0, Σ) with Σ⁻¹ = P (row-major), for the integrator's identities. */
const gaussian = (P: ReadonlyArray<number>, d: number): Target => ({
  dimension: d,
  logDensityGradient(q, g) {
    let lp = 0
    for (let i = 0; i < d; i++) {
      let s = 0
      for (let j = 0; j < d; j++) s += P[i * d + j]! * q[j]!
      g[i] = -s
      lp -= 0.5 * q[i]! * s
    }
    return lp
  }
})

const P2 = [1 / (1 - 0.81), -0.9 / (1 - 0.81), -0.9 / (1 - 0.81), 1 / (1 - 0.81)] // Σ = [[1, .9], [.9, 1]]

// y ~ N(ρx, √(1−ρ²)) after x ~ N(0, 1): (x, y) bivariate normal, unit variances, correlation ρ
const correlated = (rho: number): Model<Ad.Real> =>
  function*() {
    const x = yield* sample("x", Normal(0, 1))
    const y = yield* sample("y", Normal(Ad.mul(rho, x), Math.sqrt(1 - rho * rho)))
    return Ad.add(x, y)
  }

// Neal's funnel, centred: v ~ N(0, 3), x_i ~ N(0, e^{v/2}) — divergences expected
const funnel: Model<Ad.Real> = function*() {
  const v = yield* sample("v", Normal(0, 3))
  for (let i = 0; i < 4; i++) yield* sample(`x${i}`, Normal(0, Ad.exp(Ad.mul(0.5, v))))
  return v
}

const sameDraws = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>, chainA = 0, chainB = 0): boolean =>
  a.sites.every((site) => {
    const x = a.draws.get(site)![chainA]!, y = b.draws.get(site)![chainB]!
    return x.length === y.length && x.every((v, i) => Object.is(v, y[i]))
  })

describe("the integrator", () => {
  it("leapfrog is reversible: L steps forward, momentum negated, L steps back returns to the start (to 1e-12)", () => {
    for (const kind of ["diag", "dense"] as const) {
      const h = new Hamiltonian(gaussian(P2, 2), new Metric(kind, 2), CoreRng.make(1))
      if (kind === "dense") expect(h.metric.set(new Float64Array([0.5, 0.2, 0.2, 0.3]))).toBe(true)
      else h.metric.set(new Float64Array([0.5, 0.3]))
      const z = new Point(2)
      z.q.set([0.7, -1.2])
      z.p.set([0.3, 0.8])
      z.lp = h.target.logDensityGradient(z.q, z.g)
      const q0 = z.q.slice(), p0 = z.p.slice()
      const H0 = h.energyOf(z)
      for (let i = 0; i < 25; i++) h.leapfrog(z, 0.05)
      // energy is nearly conserved by the symplectic integrator (error O(ε²))
      expect(Math.abs(h.energyOf(z) - H0)).toBeLessThan(0.05)
      for (let i = 0; i < 2; i++) z.p[i] = -z.p[i]!
      for (let i = 0; i < 25; i++) h.leapfrog(z, 0.05)
      for (let i = 0; i < 2; i++) {
        expect(z.q[i]).toBeCloseTo(q0[i]!, 12)
        expect(-z.p[i]!).toBeCloseTo(p0[i]!, 12)
      }
    }
  })

  it("the dense metric: M⁻¹p is the product with the matrix, and momenta have covariance M = (M⁻¹)⁻¹ (within 5 standard errors)", () => {
    const inv = new Float64Array([2, 0.6, 0.6, 0.5])
    const metric = new Metric("dense", 2)
    expect(metric.set(inv)).toBe(true)
    const v = new Float64Array(2)
    metric.velocity(new Float64Array([1, -2]), v)
    expect(Array.from(v)).toEqual([2 * 1 + 0.6 * -2, 0.6 * 1 + 0.5 * -2])
    // M = inv⁻¹ = [[0.5, −0.6], [−0.6, 2]] / (2·0.5 − 0.36)
    const det = 2 * 0.5 - 0.36
    const M = [0.5 / det, -0.6 / det, 2 / det]
    const rng = CoreRng.make(3)
    const n = 40_000
    const p = new Float64Array(2)
    let s00 = 0, s01 = 0, s11 = 0
    for (let i = 0; i < n; i++) {
      metric.sampleMomentum(rng, p)
      s00 += p[0]! * p[0]!
      s01 += p[0]! * p[1]!
      s11 += p[1]! * p[1]!
    }
    // the standard error of a Gaussian second moment E[ab] is √((E[a²]E[b²] + E[ab]²)/n)
    const se = (aa: number, bb: number, ab: number) => Math.sqrt((aa * bb + ab * ab) / n)
    expect(Math.abs(s00 / n - M[0]!)).toBeLessThan(5 * se(M[0]!, M[0]!, M[0]!))
    expect(Math.abs(s01 / n - M[1]!)).toBeLessThan(5 * se(M[0]!, M[2]!, M[1]!))
    expect(Math.abs(s11 / n - M[2]!)).toBeLessThan(5 * se(M[2]!, M[2]!, M[2]!))
    // not positive definite: refused, the old metric kept
    expect(metric.set(new Float64Array([1, 2, 2, 1]))).toBe(false)
    expect(Array.from(metric.inverse)).toEqual(Array.from(inv))
  })

  it("the step-size search ends (returns false) when the gradient is NaN everywhere, and when the density is flat (improper)", () => {
    const nan: Target = { dimension: 2, logDensityGradient: (q, g) => (g.fill(Number.NaN), -0.5 * (q[0]! ** 2 + q[1]! ** 2)) }
    const h = new Hamiltonian(nan, new Metric("diag", 2), CoreRng.make(1))
    h.setPosition(new Float64Array([0.1, 0.2]))
    expect(h.initStepSize()).toBe(false)
    expect(h.stepSize).toBeLessThan(1e-300)
    const flat: Target = { dimension: 1, logDensityGradient: (_q, g) => ((g[0] = 0), 0) }
    const f = new Hamiltonian(flat, new Metric("diag", 1), CoreRng.make(1))
    f.setPosition(new Float64Array([0]))
    expect(f.initStepSize()).toBe(false)
    expect(f.stepSize).toBeGreaterThan(1e7)
  })

  it("a NUTS transition on a 1-D standard normal keeps it invariant (mean and variance within 5 MCSE over 20 000 transitions)", () => {
    const h = new Hamiltonian(gaussian([1], 1), new Metric("diag", 1), CoreRng.make(11))
    h.setPosition(new Float64Array([0.3]))
    h.stepSize = 0.9
    const n = 20_000
    let s = 0, s2 = 0
    for (let i = 0; i < n; i++) {
      h.nutsTransition()
      const x = h.current.q[0]!
      s += x
      s2 += x * x
    }
    // NUTS draws of a standard normal are nearly independent (often antithetic); an MCSE bound
    // from independent draws, 1/√n for the mean and √(2/n) for E[x²], is conservative
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n))
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n))
  })

  it("leaf weights beyond e^600 are rescaled, never overflowed: a force 10× weaker than the density's lets H fall by thousands along trajectories from 100 sd out", () => {
    // (`rescalingStress`: why it rescales, and on every seed)
    const h = rescalingStress()
    for (let i = 0; i < 50; i++) {
      h.nutsTransition()
      expect(Number.isFinite(h.current.q[0]!)).toBe(true)
      expect(Number.isFinite(h.current.lp)).toBe(true)
      expect(Number.isFinite(h.stats.energy)).toBe(true)
    }
    // the rescaled path was taken: leaves shifted, and subtrees merged with different shifts
    expect(h.rescalings.leaves).toBeGreaterThan(0)
    expect(h.rescalings.merges).toBeGreaterThan(0)
    // the low-energy leaves carry overwhelming weight: the chain comes down to the mode
    expect(Math.abs(h.current.q[0]!)).toBeLessThan(5)
  })
})

describe("no allocation per leapfrog step", () => {
  it("a warm NUTS transition on a compiled density allocates nothing in the sampler, the draws or the gradient", async () => {
    // eight schools non-centred (a compiled gradient, HalfCauchy's kernel included). V8's
    // sampling heap profiler, told to keep the objects that young and old collections freed,
    // records every allocation at a 64-byte interval with its stack; after warm-up (the sampler
    // and the gradient optimised) none may come from the transition: a number returned from a
    // call V8 does not inline (the compiled gradient's value, a uniform) would be boxed, 16 bytes
    // a leaf, about 2 000 samples over these transitions.
    const sigma = [15, 10, 16, 11, 9, 11, 10, 18], y = [28, 8, -3, 7, -1, 1, 18, 12]
    const { HalfCauchy } = await import("@fugue/core")
    const model = function*() {
      const mu = yield* sample("mu", Normal(0, 5))
      const tau = yield* sample("tau", HalfCauchy(5))
      for (let j = 0; j < 8; j++) {
        const eta = yield* sample(`eta${j}`, Normal(0, 1))
        yield* observe(`y${j}`, Normal(Ad.add(mu, Ad.mul(tau, eta)), sigma[j]!), y[j]!)
      }
    }
    const density = LogDensity.make(model, { seed: 1 })
    expect(density.gradientSource).toBe("compiled")
    const h = new Hamiltonian(density, new Metric("diag", density.dimension), CoreRng.make(3))
    h.setPosition(new Float64Array(density.dimension).fill(0.1))
    h.stepSize = 0.4
    for (let i = 0; i < 20_000; i++) h.nutsTransition()
    const { Session } = await import("node:inspector/promises")
    const session = new Session()
    session.connect()
    await session.post("HeapProfiler.enable")
    await session.post("HeapProfiler.startSampling", { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
    let steps = 0
    for (let i = 0; i < 5_000; i++) {
      h.nutsTransition()
      steps += h.stats.leapfrogSteps
    }
    const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: ProfileNode } }
    session.disconnect()
    interface ProfileNode { callFrame: { functionName: string; url: string }; selfSize: number; children?: Array<ProfileNode> }
    let bytes = 0
    const sites: Array<string> = []
    const walk = (node: ProfileNode, inSampler: boolean): void => {
      const here = inSampler || /internal\/(hamiltonian|normals)\.ts$/.test(node.callFrame.url)
      if (here && node.selfSize > 0) {
        bytes += node.selfSize
        sites.push(`${node.callFrame.functionName} ${node.callFrame.url.split("/").pop()}: ${node.selfSize} bytes`)
      }
      for (const child of node.children ?? []) walk(child, here)
    }
    walk(profile.head, false)
    expect(steps).toBeGreaterThan(10_000)
    // the ziggurat's rare slow path (1.2 % of normals) runs cold, unoptimised code, whose numbers
    // are boxed: about 0.3 bytes a step; anything made per leaf is 16 bytes a step or more
    expect(bytes / steps, sites.join("; ")).toBeLessThan(1)
  }, TIMEOUT)
})

describe("warm-up", () => {
  it("Stan's windows: 1000 warm-up iterations end slow windows at 99, 149, 249, 449 and 949; 100 use 15/75/10; below 20, none", () => {
    const ends = (warmup: number): Array<number> => {
      const w = new Windows(warmup, 75, 50, 25)
      const out: Array<number> = []
      for (let i = 0; i < warmup; i++) {
        const end = w.endOfWindow()
        if (end) out.push(i)
        w.advance(end)
      }
      return out
    }
    expect(ends(1000)).toEqual([99, 149, 249, 449, 949])
    expect(ends(100)).toEqual([89])
    const w = new Windows(100, 75, 50, 25)
    expect([w.initBuffer, w.termBuffer]).toEqual([15, 10])
    expect(ends(19)).toEqual([])
    expect(ends(150)).toEqual([99])
  })

  it("dual averaging drives the acceptance statistic to its target (a(ε) = e^{−ε}, target 0.8: ε → −log 0.8 within 2 %)", () => {
    const dual = new DualAveraging(0.8)
    dual.restart(1)
    let eps = 1
    for (let i = 0; i < 2000; i++) eps = dual.learn(Math.exp(-eps))
    expect(Math.abs(dual.final() / -Math.log(0.8) - 1)).toBeLessThan(0.02)
  })

  it("Welford: the regularised (co)variance equals (n/(n+5))·S + 1e-3·(5/(n+5))·I from the two-pass formula (to 1e-12)", () => {
    const rng = CoreRng.make(5)
    const xs = Array.from({ length: 50 }, () => [rng.normal() * 2 + 1, rng.normal() - 3])
    for (const dense of [false, true]) {
      const w = new Welford(2, dense)
      for (const x of xs) w.add(new Float64Array(x))
      const out = new Float64Array(dense ? 4 : 2)
      w.regularised(out)
      const n = xs.length
      const mean = [0, 1].map((j) => xs.reduce((s, x) => s + x[j]!, 0) / n)
      const cov = (a: number, b: number) => xs.reduce((s, x) => s + (x[a]! - mean[a]!) * (x[b]! - mean[b]!), 0) / (n - 1)
      const reg = (a: number, b: number) => (n / (n + 5)) * cov(a, b) + (a === b ? 1e-3 * (5 / (n + 5)) : 0)
      const expected = dense ? [reg(0, 0), reg(0, 1), reg(1, 0), reg(1, 1)] : [reg(0, 0), reg(1, 1)]
      expected.forEach((e, i) => expect(out[i]).toBeCloseTo(e, 12))
    }
  })

  it("adapts the metric to the posterior's scales (variances 4 and 0.01 → inverse metric within 30 %)", { timeout: TIMEOUT }, () => {
    const scaled: Model<number> = function*() {
      yield* sample("a", Normal(0, 2))
      yield* sample("b", Normal(0, 0.1))
      return 0
    }
    const post = Nuts.runUnsafe(scaled, { samples: 200, warmup: 1000, seed: 2 })
    const m = Nuts.stats(post).inverseMetric[0]!
    // the last slow window has 500 draws: its variance estimate has relative sd √(2/ESS), well under 30 %
    expect(Math.abs(m[0]! / 4 - 1)).toBeLessThan(0.3)
    expect(Math.abs(m[1]! / 0.01 - 1)).toBeLessThan(0.3)
  })
})

describe("Nuts.runUnsafe", () => {
  it("the statistics add up: kept leapfrog steps = gradient evaluations after warm-up; arrays per kept draw; divergences = Σ diverging", { timeout: TIMEOUT }, () => {
    const post = Nuts.runUnsafe(correlated(0.9), { samples: 300, warmup: 300, chains: 2, seed: 4 })
    const s = Nuts.stats(post)
    for (let c = 0; c < 2; c++) {
      const leapfrogs = s.leapfrogSteps[c]!.reduce((a, b) => a + b, 0)
      expect(s.gradientEvaluations[c]! - s.warmupGradientEvaluations[c]!).toBe(leapfrogs)
      expect(s.divergences[c]).toBe(s.diverging[c]!.reduce((a, b) => a + b, 0))
      for (const column of [s.lp, s.acceptStat, s.stepSize, s.treeDepth, s.leapfrogSteps, s.diverging, s.energy]) expect(column[c]!.length).toBe(300)
      // k accepted doublings take 2^k − 1 leapfrog steps; a rejected last doubling (a U-turn or a
      // divergence inside it) adds at most 2^k more
      s.treeDepth[c]!.forEach((k, i) => {
        expect(s.leapfrogSteps[c]![i]!).toBeGreaterThanOrEqual(2 ** k - 1)
        expect(s.leapfrogSteps[c]![i]!).toBeLessThanOrEqual(2 ** (k + 1) - 1)
      })
      expect(s.stepSize[c]!.every((e) => e === s.stepSizeFinal[c])).toBe(true)
    }
    expect(s.gradientSource).toBe("compiled")
    expect(s.dimension).toBe(2)
    // lp is the unconstrained log density; logWeights the log joint (equal here: no Jacobian)
    expect(Array.from(post.logWeights[0]!)).toEqual(Array.from(s.lp[0]!))
    // return values are computed from the draws when read
    expect(post.returns[1]![7]).toBeCloseTo(post.draws.get("x")![1]![7]! + post.draws.get("y")![1]![7]!, 12)
  })

  it("positive and interval sites are recorded on their own scale, and the Jacobian separates lp from the log joint", { timeout: TIMEOUT }, () => {
    const model: Model<number> = function*() {
      const s = yield* sample("s", Normal(0, 1))
      const p = yield* sample("p", Uniform(0, 1))
      yield* observe("y", Normal(Ad.mul(s, p), 1), 0.5)
      return 0
    }
    const post = Nuts.runUnsafe(model, { samples: 200, warmup: 200, seed: 9 })
    const ps = post.draws.get("p")![0]!
    expect(ps.every((x) => x > 0 && x < 1)).toBe(true)
    const s = Nuts.stats(post)
    // log|dp/du| for the logit map is log p(1 − p): lp − logWeight equals it draw by draw
    for (let i = 0; i < 200; i++) expect(s.lp[0]![i]! - post.logWeights[0]![i]!).toBeCloseTo(Math.log(ps[i]! * (1 - ps[i]!)), 9)
  })

  it("is deterministic: the same seed gives bit-identical draws; chain 0 of 4 equals a 1-chain run; thin keeps every k-th", { timeout: TIMEOUT }, () => {
    const a = Nuts.runUnsafe(correlated(0.5), { samples: 200, warmup: 100, seed: 21 })
    const b = Nuts.runUnsafe(correlated(0.5), { samples: 200, warmup: 100, seed: 21 })
    const four = Nuts.runUnsafe(correlated(0.5), { samples: 200, warmup: 100, chains: 4, seed: 21 })
    expect(sameDraws(a, b)).toBe(true)
    expect(sameDraws(a, four, 0, 0)).toBe(true)
    expect(sameDraws(four, four, 0, 1)).toBe(false)
    const thinned = Nuts.runUnsafe(correlated(0.5), { samples: 100, warmup: 100, thin: 2, seed: 21 })
    const x = a.draws.get("x")![0]!, xt = thinned.draws.get("x")![0]!
    for (let i = 0; i < 100; i++) expect(Object.is(xt[i], x[2 * i + 1])).toBe(true)
  })

  it("starts from the user's initial values (constrained scale), per chain", { timeout: TIMEOUT }, () => {
    const model: Model<number> = function*() {
      yield* sample("a", Normal(0, 1))
      yield* sample("b", Normal(0, 1))
      return 0
    }
    // no adaptation, no warm-up: the first transition starts at the given point (its draw is one
    // transition away, so compare the log density of a zero-length run instead)
    const ld = LogDensity.make(model)
    const h = new Hamiltonian(ld, new Metric("diag", 2), CoreRng.make(1))
    expect(h.setPosition(new Float64Array([3, -1]))).toBeCloseTo(-0.5 * (9 + 1) - Math.log(2 * Math.PI), 12)
    const post = Nuts.runUnsafe(model, { samples: 1, warmup: 0, chains: 2, seed: 1, initial: [{ a: 30, b: 0 }, { a: -30 }], stepSize: 1e-6, adaptation: false })
    // with ε = 1e-6 a trajectory moves at most 1023 ε from the start
    expect(post.draws.get("a")![0]![0]).toBeCloseTo(30, 2)
    expect(post.draws.get("a")![1]![0]).toBeCloseTo(-30, 2)
    expect(post.draws.get("b")![0]![0]).toBeCloseTo(0, 2)
  })

  it("records divergences of the centred funnel per draw, warns, and never throws; Diagnostics.report prints the warnings", { timeout: TIMEOUT }, () => {
    const post = Nuts.runUnsafe(funnel, { samples: 400, warmup: 300, chains: 2, seed: 3 })
    const s = Nuts.stats(post)
    expect(s.divergences.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    expect(s.warnings.some((w) => w.includes("diverged"))).toBe(true)
    const text = Diagnostics.report(post)
    expect(text).toContain("diverged")
    expect(text.split("\n")[0]).toMatch(/^site\s+mean/)
  })

  it("runs vector sites on finite-difference gradients (Dirichlet–multinomial: posterior mean within 5 MCSE)", { timeout: TIMEOUT }, () => {
    const counts = new Float64Array([3, 7, 10])
    const model: Model<number> = function*() {
      const p = yield* sample("p", Dirichlet(new Float64Array([1, 1, 1])))
      yield* observe("counts", Multinomial(20, p), counts)
      return 0
    }
    const post = Nuts.runUnsafe(model, { samples: 400, warmup: 300, chains: 2, seed: 6 })
    expect(Nuts.stats(post).gradientSource).toBe("finite-differences")
    // posterior Dirichlet(4, 8, 11): E[p_k] = α_k / 23, sd √(α_k(23 − α_k)/(23²·24))
    const alpha = [4, 8, 11]
    alpha.forEach((a, k) => {
      const chains = Posterior.chainsOf(post, `p[${k}]`)
      const ess = Diagnostics.essBulk(chains)!
      const sd = Math.sqrt((a * (23 - a)) / (23 * 23 * 24))
      expect(Math.abs(Posterior.mean(post, `p[${k}]`) - a / 23)).toBeLessThan((5 * sd) / Math.sqrt(ess))
    })
  })
})

describe("errors", () => {
  const simple = correlated(0.5)
  it("invalid and unknown options are InvalidOptionsError before any work", () => {
    const bad = (options: Record<string, unknown>, option: string) => {
      try {
        Nuts.runUnsafe(simple, options as unknown as Nuts.Options)
        expect.fail("should throw")
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionsError)
        expect((error as InvalidOptionsError).option).toBe(option)
      }
    }
    bad({ samples: 0 }, "samples")
    bad({ samples: 10, warmUp: 10 }, "warmUp")
    bad({ samples: 10, targetAcceptance: 1 }, "targetAcceptance")
    bad({ samples: 10, metric: "full" }, "metric")
    bad({ samples: 10, maxTreeDepth: 0 }, "maxTreeDepth")
    bad({ samples: 10, maxTreeDepth: 31 }, "maxTreeDepth")
    bad({ samples: 10, stepSize: -1 }, "stepSize")
    bad({ samples: 10, initRadius: Number.NaN }, "initRadius")
    bad({ samples: 10, chains: 2, initial: [{ x: 0 }] }, "initial")
    bad({ samples: 10, initial: { z: 0 } }, "initial.z")
    bad({ samples: 10, steps: 10 }, "steps")
    expect(() => Hmc.runUnsafe(simple, { samples: 10, steps: 10, integrationTime: 1 })).toThrow(InvalidOptionsError)
    expect(() => Hmc.runUnsafe(simple, { samples: 10, maxTreeDepth: 3 } as Hmc.Options)).toThrow(/unknown option `maxTreeDepth`/)
    const positive: Model<number> = function*() {
      yield* sample("s", Uniform(0, 1))
      return 0
    }
    expect(() => Nuts.runUnsafe(positive, { samples: 10, initial: { s: 2 } })).toThrow(/initial.s.*outside the support/)
  })

  it("a discrete latent site is DiscreteLatentError naming it and suggesting MH or SMC", () => {
    const model: Model<number> = function*() {
      const k = yield* sample("k", Poisson(3))
      yield* observe("y", Normal(k, 1), 2)
      return k
    }
    expect(() => Nuts.runUnsafe(model, { samples: 10 })).toThrow(/latent site "k" is discrete.*use MH or SMC/)
  })

  it("a chain that cannot start is InitializationError with the chain and the culprit (observation, gradient)", () => {
    const model: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Uniform(Ad.sub(x, 1), Ad.add(x, 1)), 0.5)
      return 0
    }
    try {
      Nuts.runUnsafe(model, { samples: 10, chains: 2, initial: [{ x: 0 }, { x: 3 }] })
      expect.fail("should throw")
    } catch (error) {
      expect(error).toBeInstanceOf(LogDensity.InitializationError)
      const e = error as LogDensity.InitializationError
      expect([e.algorithm, e.chain, e.attempts]).toEqual(["NUTS", 1, 1])
      expect(e.message).toMatch(/NUTS chain 1: .*observation "y" \(Uniform\) has log probability -Infinity/)
    }
    // √(x²) has an infinite partial at x = 0
    const kink: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* factor(Ad.neg(Ad.sqrt(Ad.square(x))))
      return 0
    }
    expect(() => Hmc.runUnsafe(kink, { samples: 10, initial: { x: 0 } })).toThrow(/HMC chain 0: .*the gradient at site "x" is NaN/)
  })

  it("an improper posterior (a Flat prior alone) is InitializationError saying so, not a hang", () => {
    const model: Model<number> = function*() {
      yield* sample("x", Flat())
      return 0
    }
    expect(() => Nuts.runUnsafe(model, { samples: 10 })).toThrow(/posterior is probably improper/)
  })
})

describe("Hmc.runUnsafe", () => {
  it("takes `steps` leapfrog steps per transition, or ⌊2π/ε⌋ by default, and samples a correlated Gaussian (means within 5 MCSE)", { timeout: TIMEOUT }, () => {
    const post = Hmc.runUnsafe(correlated(0.9), { samples: 1000, warmup: 500, chains: 2, steps: 8, seed: 8 })
    const s = Hmc.stats(post)
    s.leapfrogSteps.forEach((c, i) => c.forEach((n, k) => expect(n === 8 || s.diverging[i]![k] === 1).toBe(true)))
    for (const site of ["x", "y"]) {
      const chains = Posterior.chainsOf(post, site)
      expect(Math.abs(Posterior.mean(post, site))).toBeLessThan(5 / Math.sqrt(Diagnostics.essBulk(chains)!))
    }
    const timed = Hmc.runUnsafe(correlated(0.9), { samples: 50, warmup: 100, seed: 8 })
    const t = Hmc.stats(timed)
    expect(t.leapfrogSteps[0]![0]).toBe(Math.min(1024, Math.max(1, Math.floor((2 * Math.PI) / t.stepSizeFinal[0]!))))
    expect(t.treeDepth[0]!.every((k) => k === 0)).toBe(true)
  })
})

describe("Nuts.run (Effect)", () => {
  const over = (layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
    layer.pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))

  it.effect("equals runUnsafe for the same seed, whatever the concurrency, and reports progress per chain", () =>
    Effect.gen(function*() {
      const options = { samples: 150, warmup: 150, chains: 3, seed: 12 }
      const reports: Array<Progress.Report> = []
      const a = yield* Nuts.run(correlated(0.7), { ...options, concurrency: 1 }).pipe(
        Effect.provide(Progress.layerCallback((r) => reports.push(r)))
      )
      const b = yield* Nuts.run(correlated(0.7), options)
      const c = Nuts.runUnsafe(correlated(0.7), options)
      for (let chain = 0; chain < 3; chain++) {
        expect(sameDraws(a, c, chain, chain)).toBe(true)
        expect(sameDraws(b, c, chain, chain)).toBe(true)
      }
      expect(new Set(reports.map((r) => r.chain))).toEqual(new Set([0, 1, 2]))
      expect(reports.every((r) => r.algorithm === "NUTS" && r.total === 300)).toBe(true)
      expect(reports.some((r) => r.phase === "sampling" && r.done === 300)).toBe(true)
    }), TIMEOUT)

  it.effect("honours the Interpreter layers: a generative model conditioned by a layer gives the hand-conditioned model's draws", () =>
    Effect.gen(function*() {
      const generative: Model<Ad.Real> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        yield* sample("y", Normal(mu, 1))
        return mu
      }
      const conditioned: Model<Ad.Real> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        yield* observe("y", Normal(mu, 1), 2)
        return mu
      }
      const options = { samples: 300, warmup: 200, seed: 5 }
      const layered = yield* Nuts.run(generative, options).pipe(Effect.provide(over(Interpreter.layerCondition({ y: 2 }))))
      const byOption = Nuts.runUnsafe(generative, { ...options, transform: (h) => Combinators.condition(h, { y: 2 }) })
      const byHand = Nuts.runUnsafe(conditioned, options)
      expect(layered.sites).toEqual(["mu"])
      expect(sameDraws(layered, byHand)).toBe(true)
      expect(sameDraws(byOption, byHand)).toBe(true)
    }), TIMEOUT)

  it.live("is interruptible: a long run under a timeout stops within a fraction of a second", () =>
    Effect.gen(function*() {
      const t0 = performance.now()
      const fiber = yield* Effect.forkChild(Nuts.run(correlated(0.99), { samples: 1e7, chains: 2, seed: 1 }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      expect(performance.now() - t0).toBeLessThan(2_000)
    }), TIMEOUT)

  it.effect("fails with the typed error in the error channel (options; a model without a usable density)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Nuts.run(correlated(0.5), { samples: 0 }))
      expect(error).toBeInstanceOf(InvalidOptionsError)
      const discrete = yield* Effect.flip(Nuts.run(function*() {
        const k = yield* sample("k", Poisson(3))
        yield* observe("y", Normal(k, 1), 2)
      }, { samples: 10 }))
      expect(discrete).toBeInstanceOf(LogDensity.DiscreteLatentError)
    }))
})
