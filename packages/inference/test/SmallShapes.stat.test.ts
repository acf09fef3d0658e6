// Small-shape Gamma and Beta priors (issue 11): their draws underflow to exactly 0 (or 1) in
// floating point, where the density is +∞; a chain that lands there must not be absorbed. MH
// with one Bernoulli observation recovers the exact posterior moments.
//
// Gamma(a, 1) prior, observation true ~ Bernoulli(1 − e^{−x}): the posterior is
// ∝ x^{a−1}(e^{−x} − e^{−2x}), so E[x^k] = Γ(a+k)(1 − 2^{−(a+k)}) / (Γ(a)(1 − 2^{−a})).
// Beta(a, a) prior, observation true ~ Bernoulli(p): the posterior is Beta(a + 1, a), mean
// (a + 1)/(2a + 1).
// Tolerances: 4 × MCSE, with ESS by Geyer's initial monotone sequence (test/utils/mcmc.ts).
import { describe, expect, it } from "@effect/vitest"
import { Bernoulli, Beta, Gamma, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Mh from "../src/Mh.ts"
import * as Posterior from "../src/Posterior.ts"
import { checkMean } from "./utils/mcmc.ts"

const a = 0.01

describe("MH on small-shape priors is never absorbed at a +Infinity density", () => {
  it("Gamma(0.01, 1) with one Bernoulli observation: exact posterior mean", () => {
    const model: Model<number> = function*() {
      const x = yield* sample("x", Gamma(a, 1))
      yield* observe("y", Bernoulli(-Math.expm1(-x)), true)
      return x
    }
    const post = Mh.runUnsafe(model, { samples: 40_000, warmup: 4000, chains: 4, seed: 21 })
    const draws = Posterior.chainsOf(post, "x")
    for (const chain of draws) for (const x of chain) expect(x > 0 && x < Infinity).toBe(true)
    const z = 1 - 2 ** -a
    const mean = (a * (1 - 2 ** -(a + 1))) / z
    const check = checkMean(draws, mean)
    expect(check.z).toBeLessThan(4)
    // the chain moves: every chain accepts
    for (const rate of Mh.stats(post).acceptanceRate) expect(rate).toBeGreaterThan(0.05)
  }, 60_000)

  it("Beta(0.01, 0.01) with one Bernoulli observation: the chain is never absorbed at the boundary", () => {
    const model: Model<number> = function*() {
      const p = yield* sample("p", Beta(a, a))
      yield* observe("y", Bernoulli(p), true)
      return p
    }
    const post = Mh.runUnsafe(model, { samples: 10_000, warmup: 2000, chains: 2, seed: 23 })
    for (const chain of Posterior.chainsOf(post, "p")) {
      let moves = 0
      for (let i = 1; i < chain.length; i++) if (chain[i] !== chain[i - 1]) moves++
      // never stuck: a chain absorbed at p = 1 (density +Infinity) would make no moves at all
      expect(moves).toBeGreaterThan(chain.length / 10)
      for (const p of chain) expect(p >= 0 && p <= 1).toBe(true)
    }
  }, 60_000)

  // 69 % of the Beta(1.01, 0.01) posterior lies within 1e-16 of 1, where doubles cannot tell
  // values apart: MH walks on the logit scale keeping the exact logit as the state and scores
  // it with Beta's `logProbLogit` (scoring the rounded value instead gave E[p] ≈ 0.969, z ≈ 35).
  it("Beta(0.01, 0.01) with one Bernoulli observation: the Beta(1.01, 0.01) posterior mean", () => {
    const model: Model<number> = function*() {
      const p = yield* sample("p", Beta(a, a))
      yield* observe("y", Bernoulli(p), true)
      return p
    }
    const post = Mh.runUnsafe(model, { samples: 40_000, warmup: 4000, chains: 4, seed: 22 })
    const draws = Posterior.chainsOf(post, "p")
    for (const chain of draws) for (const p of chain) expect(p >= 0 && p <= 1).toBe(true)
    const check = checkMean(draws, (a + 1) / (2 * a + 1))
    expect(check.z).toBeLessThan(4)
    for (const rate of Mh.stats(post).acceptanceRate) expect(rate).toBeGreaterThan(0.05)
  }, 60_000)
})
