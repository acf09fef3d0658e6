// Vi (ADVI, MAP, Laplace): the options, the typed errors, determinism (the same seed gives the same
// result; the Effect form equals the synchronous one), handler layers, progress and interruption,
// the statistics' bookkeeping, Adam's first step, the treatment of draws whose density is not
// finite, and MAP's Jacobian convention against conjugate closed forms. The validation against
// exact posteriors is in Vi.stat.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Ad, addr, Bernoulli, BernoulliLogit, Dirichlet, factor, Flat, Gamma, HalfCauchy, Multinomial, Normal, observe, Poisson, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect, Fiber, Layer } from "effect"
import * as LogDensity from "../src/LogDensity.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Progress from "../src/Progress.ts"
import * as Vi from "../src/Vi.ts"

const TIMEOUT = 20_000

// mu ~ N(0, 2), y = 2 observed with sd 1: posterior N(1.6, √0.8)
const conditioned: Model<Ad.Real> = function*() {
  const mu = yield* sample("mu", Normal(0, 2))
  yield* observe("y", Normal(mu, 1), 2)
  return Ad.mul(2, mu)
}
const generative: Model<Ad.Real> = function*() {
  const mu = yield* sample("mu", Normal(0, 2))
  yield* sample("y", Normal(mu, 1))
  return Ad.mul(2, mu)
}
// a positive site: λ ~ Gamma(3, 2), y_i ~ Poisson(λ): posterior Gamma(3 + Σy, 2 + n)
const counts = [2, 4, 1, 3, 5]
const gammaPoisson: Model<Ad.Real> = function*() {
  const lambda = yield* sample("lambda", Gamma(3, 2))
  for (let i = 0; i < counts.length; i++) yield* observe(addr("y", i), Poisson(lambda), counts[i])
  return lambda
}
const shape = 3 + counts.reduce((a, b) => a + b, 0), rate = 2 + counts.length

const sameDraws = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>): boolean =>
  a.sites.length === b.sites.length && a.sites.every((site) => {
    const x = a.draws.get(site)![0]!, y = b.draws.get(site)?.[0]
    return y !== undefined && x.length === y.length && x.every((v, i) => Object.is(v, y[i]))
  })

const over = (layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
  layer.pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))

describe("options", () => {
  const bad = (run: () => unknown, option: string) => {
    try {
      run()
      expect.fail(`should throw for ${option}`)
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as InvalidOptionsError).option).toBe(option)
    }
  }

  it("invalid and unknown options are InvalidOptionsError naming the option, before any work", () => {
    const vi = (o: Record<string, unknown>) => () => Vi.runUnsafe(conditioned, o as Vi.Options)
    bad(vi({ iterations: 0 }), "iterations")
    bad(vi({ guide: "full" }), "guide")
    bad(vi({ gradientSamples: 0 }), "gradientSamples")
    bad(vi({ learningRate: -0.1 }), "learningRate")
    bad(vi({ learningRate: Infinity }), "learningRate")
    bad(vi({ tolerance: 0 }), "tolerance")
    bad(vi({ evalEvery: 1.5 }), "evalEvery")
    bad(vi({ evalSamples: 0 }), "evalSamples")
    bad(vi({ draws: 0 }), "draws")
    bad(vi({ initScale: 0 }), "initScale")
    bad(vi({ initRadius: -1 }), "initRadius")
    bad(vi({ initial: 3 }), "initial")
    bad(vi({ initial: { nu: 1 } }), "initial.nu")
    bad(vi({ seed: 1.5 }), "seed")
    bad(vi({ gradient: "exact" }), "gradient")
    bad(vi({ itrations: 10 }), "itrations")
    expect(vi({ itrations: 10 })).toThrow(/did you mean `iterations`/)
    bad(() => Vi.runUnsafe("model" as unknown as Model<unknown>), "model")
    const map = (o: Record<string, unknown>) => () => Vi.mapUnsafe(conditioned, o as Vi.MapOptions)
    bad(map({ jacobian: "yes" }), "jacobian")
    bad(map({ iterations: -1 }), "iterations")
    bad(map({ tolerance: -1 }), "tolerance")
    bad(map({ draws: 10 }), "draws") // a Laplace option, not a MAP one
    bad(map({ guide: "meanField" }), "guide")
    bad(() => Vi.laplaceUnsafe(conditioned, { draws: 0 }), "draws")
    expect(() => Vi.runUnsafe(function*() {
      yield* sample("s", Uniform(0, 1))
    }, { initial: { s: 2 } })).toThrow(/initial.s.*outside the support/)
  })
})

describe("errors", () => {
  const discrete: Model<number> = function*() {
    const k = yield* sample("k", Poisson(3))
    yield* observe("y", Normal(k, 1), 2)
    return k
  }

  it("a discrete latent site is DiscreteLatentError naming it (thrown, and in run's error channel)", () =>
    Effect.gen(function*() {
      expect(() => Vi.runUnsafe(discrete, { seed: 1 })).toThrow(/latent site "k" is discrete/)
      expect(() => Vi.mapUnsafe(discrete, { seed: 1 })).toThrow(LogDensity.DiscreteLatentError)
      const error = yield* Effect.flip(Vi.run(discrete, { seed: 1 }))
      expect(error).toBeInstanceOf(LogDensity.DiscreteLatentError)
      const options = yield* Effect.flip(Vi.run(conditioned, { iterations: 0 }))
      expect(options).toBeInstanceOf(InvalidOptionsError)
    }).pipe(Effect.runSync))

  it("a guide whose every draw has a non-finite density for 50 steps is NonFiniteDensityError naming the observation", () => {
    // the observation is possible only for x in (1.9, 2.0): the prior pulls the guide below it
    const narrow: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Uniform(Ad.sub(x, 0.05), Ad.add(x, 0.05)), 1.95)
      return 0
    }
    try {
      Vi.runUnsafe(narrow, { seed: 1, initial: { x: 1.95 } })
      expect.fail("should throw")
    } catch (error) {
      expect(error).toBeInstanceOf(Vi.NonFiniteDensityError)
      const e = error as Vi.NonFiniteDensityError
      expect(e.steps).toBe(50)
      expect(e.message).toMatch(/VI: every draw of 50 consecutive steps .*observation "y" \(Uniform\) has log probability -Infinity/)
    }
    // and in the Effect's error channel, not as a defect
    const failed = Effect.runSync(Effect.flip(Vi.run(narrow, { seed: 1, initial: { x: 1.95 } })))
    expect(failed).toBeInstanceOf(Vi.NonFiniteDensityError)
  })

  it("draws with a non-finite density are skipped and counted, never NaN in the guide", () => {
    // x ~ N(0, 0.5) with the density −∞ above 1 (two prior sds): a Gaussian guide puts a few % of
    // its draws there. (Skipping them drops their −∞ from the ELBO, so the guide is somewhat wider
    // than it should be; where the excluded region is most of the guide's mass, as when a support
    // depends on a parameter, the guide spreads until no draw is valid: NonFiniteDensityError above.)
    const truncated: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 0.5))
      yield* factor(x > 1 ? -Infinity : 0)
      return 0
    }
    const post = Vi.runUnsafe(truncated, { seed: 2 })
    const s = Vi.stats(post)
    expect(s.rejectedDraws).toBeGreaterThan(0)
    expect(s.warnings.some((w) => /draws of the guide had a non-finite log density/.test(w))).toBe(true)
    expect(Number.isFinite(s.mean[0]) && Number.isFinite(s.sd[0])).toBe(true)
    expect(Array.from(s.elbo).every(Number.isFinite)).toBe(true)
  })

  it("a start without a finite density is InitializationError naming VI and the culprit", () => {
    const impossible: Model<number> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Uniform(Ad.sub(x, 1), Ad.add(x, 1)), 0.5)
      return 0
    }
    expect(() => Vi.runUnsafe(impossible, { seed: 1, initial: { x: 3 } })).toThrow(/VI: no initial point .*observation "y" \(Uniform\)/)
    expect(() => Vi.mapUnsafe(impossible, { seed: 1, initial: { x: 3 } })).toThrow(/MAP: no initial point/)
  })

  it("Laplace at a flat density (a Flat prior alone) is NotPositiveDefiniteError naming the site", () => {
    const flat: Model<number> = function*() {
      yield* sample("x", Flat())
      return 0
    }
    try {
      Vi.laplaceUnsafe(flat, { seed: 1 })
      expect.fail("should throw")
    } catch (error) {
      expect(error).toBeInstanceOf(Vi.NotPositiveDefiniteError)
      expect((error as Vi.NotPositiveDefiniteError).site).toBe("x")
      expect((error as Error).message).toMatch(/not positive definite .*site "x"/)
    }
  })

  it("an improper posterior is not a hang: VI runs to its limit and warns that it did not converge", () => {
    const flat: Model<number> = function*() {
      yield* sample("x", Flat())
      return 0
    }
    // log p = 0, so the ELBO is the entropy: the ω-gradient is exactly 1, Adam's bias-corrected step
    // exactly η/(1 + 1e-8), and the fitted guide averages the last W = 2 windows, iterates 1801–2000
    const s = Vi.stats(Vi.runUnsafe(flat, { seed: 1, iterations: 2000 }))
    expect(s.converged).toBe(false)
    expect(s.iterations).toBe(2000)
    expect(s.warnings[0]).toMatch(/did not converge in 2000 iterations/)
    expect(Math.log(s.sd[0]) - Math.log(0.1)).toBeCloseTo((1900.5 * 0.01) / (1 + 1e-8), 9)
  })
})

describe("Vi.runUnsafe", () => {
  it("is deterministic: the same seed gives the same draws and statistics; another seed differs", { timeout: TIMEOUT }, () => {
    for (const guide of ["meanField", "fullRank"] as const) {
      const a = Vi.runUnsafe(conditioned, { seed: 5, guide })
      const b = Vi.runUnsafe(conditioned, { seed: 5, guide })
      const c = Vi.runUnsafe(conditioned, { seed: 6, guide })
      expect(sameDraws(a, b)).toBe(true)
      expect(Vi.stats(a)).toEqual(Vi.stats(b))
      expect(sameDraws(a, c)).toBe(false)
      expect(a.seed).toBe(5)
    }
    expect(Vi.mapUnsafe(gammaPoisson, { seed: 3 })).toEqual(Vi.mapUnsafe(gammaPoisson, { seed: 3 }))
    expect(sameDraws(Vi.laplaceUnsafe(gammaPoisson, { seed: 3 }), Vi.laplaceUnsafe(gammaPoisson, { seed: 3 }))).toBe(true)
    // without a seed: a fresh one, recorded, which reproduces the run
    const fresh = Vi.runUnsafe(conditioned, { iterations: 300 })
    expect(typeof fresh.seed).toBe("number")
    expect(sameDraws(fresh, Vi.runUnsafe(conditioned, { iterations: 300, seed: fresh.seed }))).toBe(true)
  })

  it("the statistics add up: ELBO every evalEvery steps from 0, one gradient per draw, L lower-triangular, lp per draw", { timeout: TIMEOUT }, () => {
    const post = Vi.runUnsafe(conditioned, { seed: 1, guide: "fullRank", iterations: 1234, tolerance: 1e-12, gradientSamples: 3, draws: 50 })
    const s = Vi.stats(post)
    expect(post.algorithm).toBe("VI")
    expect(post.sites).toEqual(["mu"])
    expect(s.iterations).toBe(1234)
    expect(Array.from(s.elboIterations)).toEqual([0, ...Array.from({ length: 12 }, (_, k) => 100 * (k + 1)), 1234])
    expect(s.elbo.length).toBe(s.elboIterations.length)
    expect(s.gradientEvaluations).toBe(3 * 1234)
    expect(s.gradientSource).toBe("compiled")
    expect([s.lp.length, s.logGuide.length, post.draws.get("mu")![0]!.length]).toEqual([50, 50, 50])
    expect(s.scaleTril!.length).toBe(1)
    expect(s.sd[0]).toBeCloseTo(s.scaleTril![0]!, 15)
    // the return values are the model's at each draw (computed when read)
    const mu = post.draws.get("mu")![0]!
    post.returns[0]!.forEach((r, k) => expect(r).toBeCloseTo(2 * mu[k]!, 12))
    const d3: Model<void> = function*() {
      const a = yield* sample("a", Normal(0, 1))
      const b = yield* sample("b", Normal(a, 1))
      yield* sample("c", Normal(b, 1))
    }
    const t = Vi.stats(Vi.runUnsafe(d3, { seed: 2, guide: "fullRank", iterations: 500 }))
    const L = t.scaleTril!
    for (let i = 0; i < 3; i++) {
      for (let j = i + 1; j < 3; j++) expect(L[i * 3 + j]).toBe(0)
      expect(L[i * 3 + i]).toBeGreaterThan(0)
      expect(t.sd[i]).toBeCloseTo(Math.sqrt(L[i * 3]! ** 2 + L[i * 3 + 1]! ** 2 + L[i * 3 + 2]! ** 2), 12)
    }
    expect(Vi.stats(Vi.runUnsafe(d3, { seed: 2, iterations: 100 })).scaleTril).toBeUndefined()
  })

  it("positive sites are drawn on their own scale; logWeights is lp less the log-Jacobian log λ", { timeout: TIMEOUT }, () => {
    const post = Vi.runUnsafe(gammaPoisson, { seed: 3, draws: 200 })
    const s = Vi.stats(post)
    const lambda = post.draws.get("lambda")![0]!
    expect(lambda.every((x) => x > 0)).toBe(true)
    lambda.forEach((x, k) => expect(post.logWeights[0]![k]).toBeCloseTo(s.lp[k]! - Math.log(x), 10))
    // the draws are log-normal(μ, σ) on λ: log λ is the guide's coordinate
    const ld = LogDensity.make(gammaPoisson)
    lambda.forEach((x, k) => expect(s.lp[k]).toBeCloseTo(ld.logDensity(new Float64Array([Math.log(x)])), 10))
  })

  it("Adam's first step moves the mean by exactly the learning rate (bias-corrected m̂/√v̂ = ±1), from the user's initial value", () => {
    const s = Vi.stats(Vi.runUnsafe(conditioned, { seed: 1, iterations: 1, initial: { mu: 3 }, learningRate: 0.05 }))
    // the gradient at mu ≈ 3 points down (posterior mean 1.6); |Δ| = η·|g|/(|g| + 1e-8)
    expect(s.mean[0]).toBeCloseTo(3 - 0.05, 8)
    expect(Math.abs(Math.log(s.sd[0]) - Math.log(0.1))).toBeCloseTo(0.05, 8)
  })

  it("takes the gradient source as an option (finite differences give the same fit up to their error)", { timeout: TIMEOUT }, () => {
    const compiled = Vi.stats(Vi.runUnsafe(conditioned, { seed: 4 }))
    const fd = Vi.stats(Vi.runUnsafe(conditioned, { seed: 4, gradient: "finite-differences" }))
    expect(fd.gradientSource).toBe("finite-differences")
    expect(Math.abs(fd.mean[0] - compiled.mean[0])).toBeLessThan(1e-4)
  })

  it("runs vector sites (Dirichlet on finite-difference gradients); MAP returns them as Float64Arrays", { timeout: TIMEOUT }, () => {
    const model: Model<void> = function*() {
      const p = yield* sample("p", Dirichlet([1, 2, 3]))
      yield* observe("n", Multinomial(20, p), new Float64Array([3, 6, 11]))
    }
    const post = Vi.runUnsafe(model, { seed: 1 })
    expect(post.sites).toEqual(["p[0]", "p[1]", "p[2]"])
    expect(Vi.stats(post).coordinates).toEqual(["p[0]", "p[1]"])
    // posterior Dirichlet(4, 8, 14); its mode on the simplex (jacobian: false) is (α − 1)/(Σα − 3)
    const map = Vi.mapUnsafe(model, { seed: 1 })
    expect(map.values.p).toBeInstanceOf(Float64Array)
    const mode = [3 / 23, 7 / 23, 13 / 23]
    ;(map.values.p as Float64Array).forEach((v, k) => expect(v).toBeCloseTo(mode[k]!, 6))
  })
})

describe("MAP and Laplace", () => {
  it("MAP's objective: without the Jacobian the mode of p(λ | y), (α − 1)/β; with it the mode of p(log λ | y), α/β", () => {
    const plain = Vi.mapUnsafe(gammaPoisson, { seed: 1 })
    const withJacobian = Vi.mapUnsafe(gammaPoisson, { seed: 1, jacobian: true })
    expect(plain.converged && withJacobian.converged).toBe(true)
    expect(plain.values.lambda).toBeCloseTo((shape - 1) / rate, 8)
    expect(withJacobian.values.lambda).toBeCloseTo(shape / rate, 8)
    expect(plain.result).toBeCloseTo(plain.values.lambda as number, 12)
    expect(plain.point[0]).toBeCloseTo(Math.log(plain.values.lambda as number), 12)
    expect([plain.jacobian, withJacobian.jacobian]).toEqual([false, true])
    // the objectives: log p(λ, y) at the mode, and with log λ added
    const ld = LogDensity.make(gammaPoisson)
    expect(withJacobian.logDensity).toBeCloseTo(ld.logDensity(withJacobian.point), 10)
    expect(plain.logDensity).toBeCloseTo(ld.logDensity(plain.point) - plain.point[0]!, 10)
  })

  it("a supremum on the boundary (eight schools' τ → 0 without the Jacobian) is named in the warnings; with the Jacobian there is a mode", () => {
    const y = [28, 8, -3, 7, -1, 1, 18, 12], sigma = [15, 10, 16, 11, 9, 11, 10, 18]
    const schools: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 5))
      const tau = yield* sample("tau", HalfCauchy(5))
      for (let j = 0; j < 8; j++) {
        const eta = yield* sample(addr("eta", j), Normal(0, 1))
        yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), sigma[j]), y[j])
      }
    }
    const plain = Vi.mapUnsafe(schools, { seed: 1 })
    expect(plain.values.tau as number).toBeLessThan(0.01)
    expect(plain.warnings.some((w) => /nearly flat along site "tau"/.test(w))).toBe(true)
    const withJacobian = Vi.mapUnsafe(schools, { seed: 1, jacobian: true })
    expect(withJacobian.converged).toBe(true)
    expect(withJacobian.warnings).toEqual([])
    expect(withJacobian.values.tau as number).toBeGreaterThan(0.1)
  })

  it("MAP starts from the user's values: with no iterations, the mode is the start", () => {
    const map = Vi.mapUnsafe(gammaPoisson, { iterations: 0, initial: { lambda: 2.5 } })
    expect(map.values.lambda).toBeCloseTo(2.5, 14)
    expect(map.converged).toBe(false)
    expect(map.warnings[0]).toMatch(/did not converge/)
  })

  it("Laplace on log λ: N(log(α/β), 1/α), the Hessian of α u − β e^u; draws of λ are its log-normal", () => {
    const post = Vi.laplaceUnsafe(gammaPoisson, { seed: 2, draws: 500 })
    const s = Vi.laplaceStats(post)
    expect(post.algorithm).toBe("Laplace")
    expect(s.mean[0]).toBeCloseTo(Math.log(shape / rate), 8)
    expect(s.covariance[0]).toBeCloseTo(1 / shape, 8)
    expect(s.sd[0]).toBeCloseTo(Math.sqrt(1 / shape), 8)
    expect(s.jacobian).toBe(true)
    expect(s.gradientEvaluations).toBeGreaterThanOrEqual(2)
    const lambda = post.draws.get("lambda")![0]!
    lambda.forEach((x, k) => {
      const z = (Math.log(x) - s.mean[0]!) / s.sd[0]!
      expect(s.logGuide[k]).toBeCloseTo(-0.5 * z * z - Math.log(s.sd[0]!) - 0.5 * Math.log(2 * Math.PI), 9)
    })
  })
})

describe("Vi.run (Effect)", () => {
  it.effect("equals runUnsafe for the same seed (VI, MAP, Laplace) and reports progress through both phases", () =>
    Effect.gen(function*() {
      const reports: Array<Progress.Report> = []
      // 200 000 steps: ≈ 30 ms, several 5 ms slices (30 000 fit in one)
      const options = { seed: 12, guide: "fullRank", iterations: 200_000, tolerance: 1e-12 } as const
      const a = yield* Vi.run(conditioned, options).pipe(Effect.provide(Progress.layerCallback((r) => reports.push(r))))
      const b = Vi.runUnsafe(conditioned, options)
      expect(sameDraws(a, b), "draws").toBe(true)
      expect(Vi.stats(a)).toEqual(Vi.stats(b))
      expect(reports.length).toBeGreaterThan(1)
      expect(reports.every((r) => r.algorithm === "VI" && r.chain === 0 && r.total === 201_000), JSON.stringify(reports)).toBe(true)
      expect(reports.some((r) => r.phase === "optimizing"), JSON.stringify(reports)).toBe(true)
      expect(reports[reports.length - 1]).toMatchObject({ phase: "drawing", done: 201_000 })
      expect(yield* Vi.map(gammaPoisson, { seed: 3 })).toEqual(Vi.mapUnsafe(gammaPoisson, { seed: 3 }))
      const lap = yield* Vi.laplace(gammaPoisson, { seed: 3 })
      expect(sameDraws(lap, Vi.laplaceUnsafe(gammaPoisson, { seed: 3 })), "laplace").toBe(true)
    }), TIMEOUT)

  it.effect("without a seed takes its stream from the Rng service, reproducibly", () =>
    Effect.gen(function*() {
      const a = yield* Vi.run(conditioned, { iterations: 200 }).pipe(RuntimeRng.withSeed(7))
      const b = yield* Vi.run(conditioned, { iterations: 200 }).pipe(RuntimeRng.withSeed(7))
      expect(sameDraws(a, b)).toBe(true)
      expect(a.seed).toBeUndefined()
    }), TIMEOUT)

  it.effect("honours the Interpreter layers: a generative model conditioned by a layer gives the hand-conditioned model's fit", () =>
    Effect.gen(function*() {
      const options = { seed: 5 }
      const layered = yield* Vi.run(generative, options).pipe(Effect.provide(over(Interpreter.layerCondition({ y: 2 }))))
      const byOption = Vi.runUnsafe(generative, { ...options, transform: (h) => Combinators.condition(h, { y: 2 }) })
      const byHand = Vi.runUnsafe(conditioned, options)
      expect(layered.sites).toEqual(["mu"])
      expect(sameDraws(layered, byHand)).toBe(true)
      expect(sameDraws(byOption, byHand)).toBe(true)
      const map = yield* Vi.map(generative, options).pipe(Effect.provide(over(Interpreter.layerCondition({ y: 2 }))))
      // the mode of N(1.6, √0.8)
      expect(map.values.mu).toBeCloseTo(1.6, 8)
      expect(Object.keys(map.values)).toEqual(["mu"])
    }), TIMEOUT)

  it.live("is interruptible: a long run stops within a fraction of a second", () =>
    Effect.gen(function*() {
      const t0 = performance.now()
      const fiber = yield* Effect.forkChild(Vi.run(conditioned, { iterations: 1e8, tolerance: 1e-15, seed: 1 }))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(fiber)
      expect(performance.now() - t0).toBeLessThan(2_000)
    }), TIMEOUT)
})

describe("user-written guides (Vi.guide, Vi.fitGuideUnsafe)", () => {
  // z ~ Bernoulli(0.3), y ~ N(2z, 1) = 1.5: a discrete latent site
  const mixture: Model<boolean> = function*() {
    const z = yield* sample("z", Bernoulli(0.3))
    yield* observe("y", Normal(z ? 2 : 0, 1), 1.5)
    return z
  }
  const bernoulliGuide = Vi.guide({ logit: 0 }, ({ logit }) => function*() {
    yield* sample("z", BernoulliLogit(logit))
  })
  const normalGuide = Vi.guide({ loc: 0, logScale: -1 }, (p) => function*() {
    yield* sample("mu", Normal(p.loc, Ad.exp(p.logScale)))
  })

  it("fits a discrete site; the posterior holds its draws (0/1), the model's returns, and the log joint as log weight", { timeout: TIMEOUT }, () => {
    const post = Vi.fitGuideUnsafe(mixture, bernoulliGuide, { seed: 1, draws: 300 })
    const s = Vi.guideStats(post)
    expect(post.algorithm).toBe("VI")
    expect(post.sites).toEqual(["z"])
    const z = post.draws.get("z")![0]!
    z.forEach((v, k) => {
      expect(v === 0 || v === 1).toBe(true)
      expect(post.returns[0]![k]).toBe(v === 1)
      // log p(z, y) = log p(z) + log N(1.5; 2z, 1)
      const lp = Math.log(v === 1 ? 0.3 : 0.7) - 0.5 * (1.5 - 2 * v) ** 2 - 0.5 * Math.log(2 * Math.PI)
      expect(post.logWeights[0]![k]).toBeCloseTo(lp, 12)
      expect(s.lp[k]).toBeCloseTo(lp, 12)
      const q = 1 / (1 + Math.exp(-s.parameters.logit))
      expect(s.logGuide[k]).toBeCloseTo(Math.log(v === 1 ? q : 1 - q), 12)
    })
    expect(Object.keys(s.parameters)).toEqual(["logit"])
    expect(s.modelEvaluations).toBeGreaterThan(10 * s.iterations)
    expect(s.elbo.length).toBe(s.elboIterations.length)
  })

  it("is deterministic, and fitGuide (Effect) equals fitGuideUnsafe; the Interpreter layers apply to the model", () =>
    Effect.gen(function*() {
      const a = Vi.fitGuideUnsafe(conditioned, normalGuide, { seed: 3 })
      const b = Vi.fitGuideUnsafe(conditioned, normalGuide, { seed: 3 })
      expect(sameDraws(a, b)).toBe(true)
      expect(Vi.guideStats(a)).toEqual(Vi.guideStats(b))
      const c = yield* Vi.fitGuide(conditioned, normalGuide, { seed: 3 })
      expect(sameDraws(a, c)).toBe(true)
      const layered = yield* Vi.fitGuide(generative, normalGuide, { seed: 3 }).pipe(Effect.provide(over(Interpreter.layerCondition({ y: 2 }))))
      expect(sameDraws(a, layered)).toBe(true)
      const byOption = Vi.fitGuideUnsafe(generative, normalGuide, { seed: 3, transform: (h) => Combinators.condition(h, { y: 2 }) })
      expect(sameDraws(a, byOption)).toBe(true)
      // the family contains the posterior N(1.6, √0.8): reached
      expect(Vi.guideStats(a).parameters.loc).toBeCloseTo(1.6, 6)
    }).pipe(Effect.runSync), TIMEOUT)

  it("a guide that does not fit the model is GuideError naming the site (thrown, and in the Effect's error channel)", () => {
    const guideError = (model: Model<unknown>, guide: Vi.Guide, pattern: RegExp) => {
      try {
        Vi.fitGuideUnsafe(model, guide, { seed: 1, iterations: 10 })
        expect.fail("should throw")
      } catch (error) {
        expect(error).toBeInstanceOf(Vi.GuideError)
        expect((error as Error).message).toMatch(pattern)
      }
    }
    // a latent site the guide does not sample
    guideError(mixture, Vi.guide({ a: 0 }, ({ a }) => function*() {
      yield* sample("w", Normal(a, 1))
    }), /guide at "z" does not sample the model's latent site/)
    // a site the model does not have
    guideError(mixture, Vi.guide({ a: 0 }, ({ a }) => function*() {
      yield* sample("z", BernoulliLogit(a))
      yield* sample("extra", Normal(a, 1))
    }), /guide at "extra" samples a site that is not a latent site of the model/)
    // a value of the wrong type
    guideError(mixture, Vi.guide({ a: 0 }, ({ a }) => function*() {
      yield* sample("z", Normal(a, 1))
    }), /guide at "z" draws .*not a value of the model's Bernoulli/)
    // observations in the guide
    guideError(mixture, Vi.guide({ a: 0 }, ({ a }) => function*() {
      yield* sample("z", BernoulliLogit(a))
      yield* observe("y", Normal(a, 1), 1)
    }), /guide at "y" observes/)
    // plain arithmetic on a parameter
    guideError(conditioned, Vi.guide({ loc: 0, logScale: 0 }, (p) => function*() {
      yield* sample("mu", Normal(p.loc, Math.exp(p.logScale as number)))
    }), /arithmetic on its parameters in plain JavaScript/)
    // a guide whose distribution is invalid at its parameters (a negative scale) fails with the
    // family's own error, naming the parameter
    expect(() => Vi.fitGuideUnsafe(conditioned, Vi.guide({ loc: 0, scale: -1 }, (p) => function*() {
      yield* sample("mu", Normal(p.loc, p.scale))
    }), { seed: 1 })).toThrow(/Normal.*sigma/)
    const failed = Effect.runSync(Effect.flip(Vi.fitGuide(mixture, Vi.guide({ a: 0 }, ({ a }) => function*() {
      yield* sample("w", Normal(a, 1))
    }), { seed: 1 })))
    expect(failed).toBeInstanceOf(Vi.GuideError)
  })

  it("invalid guides and options are InvalidOptionsError", () => {
    const bad = (run: () => unknown, option: string) => {
      try {
        run()
        expect.fail(`should throw for ${option}`)
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionsError)
        expect((error as InvalidOptionsError).option).toBe(option)
      }
    }
    bad(() => Vi.guide({ a: Number.NaN }, () => function*() {}), "guide.a")
    bad(() => Vi.guide({}, () => function*() {}), "guide")
    bad(() => Vi.guide({ a: 0 }, 3 as never), "guide")
    bad(() => Vi.fitGuideUnsafe(mixture, { _tag: "nope" } as never), "guide")
    bad(() => Vi.fitGuideUnsafe(mixture, bernoulliGuide, { gradientSamples: 1 }), "gradientSamples")
    bad(() => Vi.fitGuideUnsafe(mixture, bernoulliGuide, { guide: "meanField" } as never), "guide")
    bad(() => Vi.fitGuideUnsafe(mixture, bernoulliGuide, { initial: {} } as never), "initial")
  })
})
