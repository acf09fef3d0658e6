// Handler layers drive inference: each combinator provided as an `Interpreter` layer around
// `Mh.run` / `Is.run` / `Smc.run` (and as the `transform` option of the synchronous forms)
// changes what is inferred exactly as rewriting the model by hand would. Where the algorithm
// consumes randomness identically for the two models the results are bit-identical for the
// same seed; otherwise they agree within 4 Monte Carlo standard errors (ESS by Geyer's initial
// monotone sequence, test/utils/mcmc.ts), and tempering by `scale` is checked against the
// closed-form tempered conjugate posterior.
import { describe, expect, it } from "@effect/vitest"
import { Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect, Layer } from "effect"
import * as Is from "../src/Is.ts"
import * as Mh from "../src/Mh.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Smc from "../src/Smc.ts"
import { checkMean } from "./utils/mcmc.ts"

/** `layer` stacked over the prior interpreter (the base that inference replaces by its own handlers). */
const over = (layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
  layer.pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))

const withLayer = <A, E>(effect: Effect.Effect<A, E>, layer: Layer.Layer<Interpreter, never, Interpreter | RuntimeRng.Rng>) =>
  effect.pipe(Effect.provide(over(layer)))

// mu ~ N(0, 2²), y ~ N(mu, 1): generative; and the same with y observed by hand
const generative: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 2))
  yield* sample("y", Normal(mu, 1))
  return mu
}
const conditioned: Model<number> = function*() {
  const mu = yield* sample("mu", Normal(0, 2))
  yield* observe("y", Normal(mu, 1), 2)
  return mu
}
// mu | y = 2: precision 1/4 + 1 = 5/4, mean (2/1)/(5/4) = 1.6, sd √0.8
const exactMean = 1.6

const draws = (post: Posterior.Posterior<unknown, unknown>, site: string) => Posterior.chainsOf(post, site)

describe("Interpreter layers change what inference infers", () => {
  it.effect("condition: MH, IS and SMC of the generative model under layerCondition equal the hand-conditioned model, bit for bit", () =>
    Effect.gen(function*() {
      const layer = Interpreter.layerCondition({ y: 2 })
      const mh = yield* withLayer(Mh.run(generative, { samples: 2000, chains: 2, seed: 1 }), layer)
      expect(draws(mh, "mu")).toEqual(draws(Mh.runUnsafe(conditioned, { samples: 2000, chains: 2, seed: 1 }), "mu"))
      expect(mh.sites).toEqual(["mu"])
      const is = yield* withLayer(Is.run(generative, { particles: 2000, seed: 2 }), layer)
      const isByHand = Is.runUnsafe(conditioned, { particles: 2000, seed: 2 })
      expect(is.weights).toEqual(isByHand.weights)
      expect(is.logEvidence).toEqual(isByHand.logEvidence)
      const smc = yield* withLayer(Smc.run(generative, { particles: 500, seed: 3, rejuvenation: 1 }), layer)
      const smcByHand = Smc.runUnsafe(conditioned, { particles: 500, seed: 3, rejuvenation: 1 })
      expect(draws(smc, "mu")).toEqual(draws(smcByHand, "mu"))
      expect(smc.logEvidence).toEqual(smcByHand.logEvidence)
      // and the conditioned posterior is the right one
      expect(checkMean(draws(mh, "mu"), exactMean).z).toBeLessThan(4)
    }), 30_000)

  it("the synchronous forms take the same transformation as an option", () => {
    const transform: Combinators.Transform = (h) => Combinators.condition(h, { y: 2 })
    expect(draws(Mh.runUnsafe(generative, { samples: 1000, seed: 4, transform }), "mu"))
      .toEqual(draws(Mh.runUnsafe(conditioned, { samples: 1000, seed: 4 }), "mu"))
    expect(Is.runUnsafe(generative, { particles: 1000, seed: 4, transform }).weights)
      .toEqual(Is.runUnsafe(conditioned, { particles: 1000, seed: 4 }).weights)
    expect(Smc.runUnsafe(generative, { particles: 300, seed: 4, transform }).logEvidence)
      .toEqual(Smc.runUnsafe(conditioned, { particles: 300, seed: 4 }).logEvidence)
  })

  it.effect("intervene (do): the intervened site is a constant, bit for bit with the hand-rewritten model", () =>
    Effect.gen(function*() {
      const model: Model<number> = function*() {
        const a = yield* sample("a", Normal(0, 1))
        const b = yield* sample("b", Normal(a, 1))
        yield* observe("y", Normal(a + b, 1), 3)
        return b
      }
      const byHand: Model<number> = function*() {
        const a = 0.5
        const b = yield* sample("b", Normal(a, 1))
        yield* observe("y", Normal(a + b, 1), 3)
        return b
      }
      const mh = yield* withLayer(Mh.run(model, { samples: 2000, seed: 5 }), Interpreter.layerIntervene({ a: 0.5 }))
      expect(mh.sites).toEqual(["b"])
      expect(draws(mh, "b")).toEqual(draws(Mh.runUnsafe(byHand, { samples: 2000, seed: 5 }), "b"))
    }), 30_000)

  it.effect("substitute: the site keeps its value and its prior log probability; the rest is the conditional posterior", () =>
    Effect.gen(function*() {
      const model: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        const tau = yield* sample("tau", Normal(0, 1))
        yield* observe("y", Normal(mu + tau, 1), 2)
        return tau
      }
      const byHand: Model<number> = function*() {
        const tau = yield* sample("tau", Normal(0, 1))
        yield* observe("y", Normal(1.5 + tau, 1), 2)
        return tau
      }
      const layer = Interpreter.layerSubstitute({ mu: 1.5 })
      // IS draws nothing for a substituted site: bit for bit
      const is = yield* withLayer(Is.run(model, { particles: 2000, seed: 6 }), layer)
      const isByHand = Is.runUnsafe(byHand, { particles: 2000, seed: 6 })
      expect(draws(is, "tau")).toEqual(draws(isByHand, "tau"))
      expect(is.weights).toEqual(isByHand.weights)
      expect(draws(is, "mu")[0].every((v) => v === 1.5)).toBe(true)
      // MH picks sites uniformly, the fixed one included: the same posterior, within MCSE
      const mh = yield* withLayer(Mh.run(model, { samples: 20_000, chains: 2, seed: 6 }), layer)
      expect(draws(mh, "mu").every((c) => c.every((v) => v === 1.5))).toBe(true)
      // tau | y: prior N(0, 1), observation 2 − 1.5 = 0.5 with unit noise: mean 0.25
      expect(checkMean(draws(mh, "tau"), 0.25).z).toBeLessThan(4)
    }), 30_000)

  it.effect("block: hidden sites leave no trace; the rest is bit for bit the model without them", () =>
    Effect.gen(function*() {
      const model: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        yield* sample("nuisance", Normal(0, 1))
        yield* observe("y", Normal(mu, 1), 2)
        return mu
      }
      const mh = yield* withLayer(Mh.run(model, { samples: 2000, seed: 7 }), Interpreter.layerBlock(["nuisance"]))
      expect(mh.sites).toEqual(["mu"])
      expect(draws(mh, "mu")).toEqual(draws(Mh.runUnsafe(conditioned, { samples: 2000, seed: 7 }), "mu"))
    }), 30_000)

  it.effect("mask: a masked observation contributes nothing, bit for bit with the model without it", () =>
    Effect.gen(function*() {
      const model: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        yield* observe("y", Normal(mu, 1), 2)
        yield* observe("outlier", Normal(mu, 1), 40)
        return mu
      }
      const mh = yield* withLayer(Mh.run(model, { samples: 2000, seed: 8 }), Interpreter.layerMask(["outlier"]))
      expect(draws(mh, "mu")).toEqual(draws(Mh.runUnsafe(conditioned, { samples: 2000, seed: 8 }), "mu"))
    }), 30_000)

  it.effect("scale(k) on the likelihood tempers a conjugate posterior exactly", () =>
    Effect.gen(function*() {
      // mu ~ N(0, 2²); y_i ~ N(mu, 1), i = 1..4, likelihood raised to k: precision 1/4 + k·n, mean k·Σy / precision
      const data = [1.2, 2.5, 1.9, 2.2]
      const model: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        for (let i = 0; i < data.length; i++) yield* observe(`y#${i}`, Normal(mu, 1), data[i])
        return mu
      }
      for (const k of [0.25, 3]) {
        const precision = 0.25 + k * data.length
        const mean = (k * data.reduce((a, b) => a + b, 0)) / precision
        const sd = 1 / Math.sqrt(precision)
        const layer = Interpreter.layerScale(k, (a) => a.startsWith("y#"))
        const is = yield* withLayer(Is.run(model, { particles: 40_000, seed: 9 }), layer)
        const w = is.weights![0], mu = draws(is, "mu")[0]
        let m = 0, ess = 0
        for (let i = 0; i < w.length; i++) {
          m += w[i] * mu[i]
          ess += w[i] * w[i]
        }
        // weighted mean: MCSE ≈ sd / √ESS
        expect(Math.abs(m - mean)).toBeLessThan(4 * sd * Math.sqrt(ess))
        // log evidence of the tempered model: ∫ N(mu; 0, 4) Π N(y_i; mu, 1)^k dmu, by quadrature
        let z = 0
        const h = 0.001
        for (let x = -20; x < 20; x += h) {
          let lp = -0.5 * Math.log(2 * Math.PI * 4) - (x * x) / 8
          for (const y of data) lp += k * (-0.5 * Math.log(2 * Math.PI) - 0.5 * (y - x) ** 2)
          z += Math.exp(lp) * h
        }
        // relative sd of the IS evidence estimate ≈ √(1/ESS_frac − 1)/√N: tolerance 4 of those
        const n = w.length
        // (Σw² = 1/ESS with normalised weights): sd of log Ẑ ≈ √((N·Σw² − 1)/N); tolerance 4 of those
        expect(Math.abs(is.logEvidence![0] - Math.log(z))).toBeLessThan(4 * Math.sqrt(Math.max(0, n * ess - 1) / n) + 1e-6)
        const mh = yield* withLayer(Mh.run(model, { samples: 20_000, chains: 2, seed: 10 }), layer)
        expect(checkMean(draws(mh, "mu"), mean).z).toBeLessThan(4)
      }
    }), 60_000)

  it.effect("seed: the model's randomness comes from the layer's stream, whatever the algorithm's seed", () =>
    Effect.gen(function*() {
      const model: Model<number> = function*() {
        const x = yield* sample("x", Normal(0, 1))
        yield* observe("y", Normal(x, 1), 0.5)
        return x
      }
      const a = yield* withLayer(Is.run(model, { particles: 50, seed: 1 }), Interpreter.layerSeed(99))
      const b = yield* withLayer(Is.run(model, { particles: 50, seed: 2 }), Interpreter.layerSeed(99))
      expect(draws(a, "x")).toEqual(draws(b, "x"))
      const c = yield* withLayer(Is.run(model, { particles: 50, seed: 1 }), Interpreter.layerSeed(100))
      expect(draws(c, "x")).not.toEqual(draws(a, "x"))
    }))

  it.effect("composition laws through layers: condition then block; scale of scale is the product", () =>
    Effect.gen(function*() {
      const withNuisance: Model<number> = function*() {
        const mu = yield* sample("mu", Normal(0, 2))
        yield* sample("nuisance", Normal(0, 1))
        yield* sample("y", Normal(mu, 1))
        return mu
      }
      const expected = Is.runUnsafe(conditioned, { particles: 1000, seed: 11 })
      // conditioning y and blocking another site commute: either order is the conditioned model
      // without the blocked site, bit for bit (block draws from its own stream)
      for (
        const layer of [
          Interpreter.layerCondition({ y: 2 }).pipe(Layer.provide(Interpreter.layerBlock(["nuisance"]))),
          Interpreter.layerBlock(["nuisance"]).pipe(Layer.provide(Interpreter.layerCondition({ y: 2 })))
        ]
      ) {
        const post = yield* withLayer(Is.run(withNuisance, { particles: 1000, seed: 11 }), layer)
        expect(post.sites).toEqual(["mu"])
        expect(post.weights).toEqual(expected.weights)
        expect(draws(post, "mu")).toEqual(draws(expected, "mu"))
      }
      // blocking the conditioned site hides its observation, in either order: nothing is inferred
      for (
        const layer of [
          Interpreter.layerCondition({ y: 2 }).pipe(Layer.provide(Interpreter.layerBlock(["y"]))),
          Interpreter.layerBlock(["y"]).pipe(Layer.provide(Interpreter.layerCondition({ y: 2 })))
        ]
      ) {
        const post = yield* withLayer(Is.run(generative, { particles: 1000, seed: 11 }), layer)
        expect(post.sites).toEqual(["mu"])
        expect(new Set(post.weights![0]).size).toBe(1)
      }
      // scale(2) over scale(1.5) equals scale(3)
      const twice = Interpreter.layerScale(2).pipe(Layer.provide(Interpreter.layerScale(1.5)))
      const c = yield* withLayer(Is.run(conditioned, { particles: 500, seed: 12 }), twice)
      const once = yield* withLayer(Is.run(conditioned, { particles: 500, seed: 12 }), Interpreter.layerScale(3))
      const lc = c.logWeights[0], lo = once.logWeights[0]
      for (let i = 0; i < lc.length; i++) expect(lc[i]).toBeCloseTo(lo[i], 12)
    }))
})
