// Summing out discrete latent sites: a two-component Gaussian mixture written with explicit
// per-point assignments z_i, against the same mixture marginalised by hand,
//   p(y_i | μ) = Σ_k w_k N(y_i | μ_k, 1),
// which is exactly what summing each z_i over its values gives. The log density and gradient
// agree to rounding (1e-10 relative) at random points; the assignments' conditional probabilities
// are the hand-computed responsibilities; NUTS on both models agrees within MCSE, and the drawn
// assignments' frequencies match the averaged responsibilities within MCSE.
import { describe, expect, it } from "@effect/vitest"
import { Ad, Bernoulli, Categorical, factor, Normal, observe, Poisson, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as LogDensity from "../src/LogDensity.ts"
import * as Nuts from "../src/Nuts.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Vi from "../src/Vi.ts"
import { checkMean } from "./utils/mcmc.ts"

const TIMEOUT = 60_000
const w = [0.3, 0.7]
// 40 points, about 30 % near −3 and 70 % near 3 (fixed, from a seeded stream)
const ys: Array<number> = (() => {
  const rng = CoreRng.make(11)
  return Array.from({ length: 40 }, () => (rng.uniform() < 0.3 ? -3 : 3) + rng.normal())
})()

// well-separated clusters, and priors on the component means that favour one labelling
const explicit: Model<Ad.Real> = function*() {
  const mu0 = yield* sample("mu0", Normal(-3, 1))
  const mu1 = yield* sample("mu1", Normal(3, 1))
  for (let i = 0; i < ys.length; i++) {
    const z = yield* sample(`z#${i}`, Categorical(w))
    yield* observe(`y#${i}`, Normal(z === 0 ? mu0 : mu1, 1), ys[i]!)
  }
  return mu0
}

const normalLogPdf = (y: number, mu: Ad.Real): Ad.Real => Ad.sub(-0.5 * Math.log(2 * Math.PI), Ad.mul(0.5, Ad.square(Ad.sub(y, mu))))
const marginalised: Model<Ad.Real> = function*() {
  const mu0 = yield* sample("mu0", Normal(-3, 1))
  const mu1 = yield* sample("mu1", Normal(3, 1))
  for (let i = 0; i < ys.length; i++) {
    yield* factor(Ad.logSumExp([Ad.add(Math.log(w[0]!), normalLogPdf(ys[i]!, mu0)), Ad.add(Math.log(w[1]!), normalLogPdf(ys[i]!, mu1))]))
  }
  return mu0
}

const close = (a: number, b: number, tol = 1e-10) => Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b))

// The points between the clusters, whose assignment is uncertain (elsewhere every draw agrees).
const ambiguous = ys.flatMap((y, i) => (Math.abs(y) < 1.5 ? [i] : []))
const sumOutDensity = LogDensity.make(explicit, { discrete: "sumOut" })

/**
 * Each draw's z_i is Bernoulli(r_i(μ)) at that draw's μ, drawn independently given the μ draws:
 * so, given them, the mean of z_i differs from the mean of r_i(μ) by a sum of independent centred
 * Bernoulli terms, within 4 of its standard errors √(Σ r(1 − r))/n.
 */
const expectAssignments = (post: Posterior.Posterior<unknown>): void => {
  const mu0 = Posterior.pooled(post, "mu0"), mu1 = Posterior.pooled(post, "mu1")
  for (const i of ambiguous) {
    const z = Posterior.pooled(post, `z#${i}`)
    let expected = 0, variance = 0
    for (let k = 0; k < z.length; k++) {
      const r = sumOutDensity.discreteProbabilities(new Float64Array([mu0[k]!, mu1[k]!]))[i]![1]!
      expected += r
      variance += r * (1 - r)
    }
    const mean = z.reduce((s, v) => s + v, 0) / z.length
    expect(Math.abs(mean - expected / z.length)).toBeLessThan((4 * Math.sqrt(variance)) / z.length + 1e-12)
  }
}

describe("summing out discrete sites", () => {
  it("the log density and its gradient equal the hand-marginalised mixture's (to 1e-10), on every gradient path", () => {
    const hand = LogDensity.make(marginalised)
    const rng = CoreRng.make(2)
    for (const gradient of ["auto", "taped", "finite-differences"] as const) {
      const summed = LogDensity.make(explicit, { discrete: "sumOut", gradient })
      expect(summed.dimension).toBe(2)
      expect(summed.discreteSites.length).toBe(40)
      expect(summed.discreteSites[0]).toEqual({ address: "z#0", family: "Categorical", values: [0, 1] })
      for (let t = 0; t < 5; t++) {
        const q = new Float64Array([3 * rng.normal(), 3 * rng.normal()])
        const g1 = new Float64Array(2), g2 = new Float64Array(2)
        const a = summed.logDensityGradient(q, g1), b = hand.logDensityGradient(q, g2)
        expect(close(a, b)).toBe(true)
        expect(close(summed.logDensity(q), b)).toBe(true)
        // finite differences carry their truncation error (h² ≈ 4e-11 relative)
        const tol = gradient === "finite-differences" ? 1e-6 : 1e-10
        for (let k = 0; k < 2; k++) expect(close(g1[k]!, g2[k]!, tol)).toBe(true)
      }
    }
    expect(LogDensity.make(explicit, { discrete: "sumOut" }).gradientSource).not.toBe("finite-differences")
  })

  it("discreteProbabilities are the responsibilities w_k N(y_i | μ_k) / Σ_j w_j N(y_i | μ_j)", () => {
    const summed = LogDensity.make(explicit, { discrete: "sumOut" })
    const q = new Float64Array([-1.5, 2.5])
    const probs = summed.discreteProbabilities(q)
    ys.forEach((y, i) => {
      const a = w[0]! * Math.exp(-0.5 * (y + 1.5) ** 2), b = w[1]! * Math.exp(-0.5 * (y - 2.5) ** 2)
      expect(probs[i]![1]).toBeCloseTo(b / (a + b), 12)
    })
    // the return value and the constrained trace use each site's most probable value
    const trace = summed.constrain(q)
    expect(trace.choices.get("z#0")!.value).toBe(probs[0]![1]! > 0.5 ? 1 : 0)
  })

  it("NUTS on the explicit mixture agrees with NUTS on the hand-marginalised one (means within 4 combined MCSE); drawn assignments match the responsibilities", { timeout: TIMEOUT }, () => {
    // the mixture has a second, label-swapped mode far away; every chain starts in the main one
    const options = { samples: 1000, warmup: 500, chains: 4, seed: 7, initial: { mu0: -3, mu1: 3 } }
    const a = Nuts.runUnsafe(explicit, options)
    const b = Nuts.runUnsafe(marginalised, { ...options, seed: 8 })
    for (const site of ["mu0", "mu1"]) {
      const ca = checkMean(Posterior.chainsOf(a, site), 0), cb = checkMean(Posterior.chainsOf(b, site), 0)
      // two independent estimates of the same mean: their difference has sd √(MCSE_a² + MCSE_b²)
      expect(Math.abs(ca.estimate - cb.estimate)).toBeLessThan(4 * Math.hypot(ca.mcse, cb.mcse))
    }
    // z_i draws: at each kept draw, z_i is drawn from its exact conditional Bernoulli(r_i(μ)) at
    // that draw's μ, independently of the other draws given the μ's (see expectAssignments). The
    // z draws' own MCSE would not do: a point with r ≈ 0.9995 often draws no zero in 4000, and an
    // MCSE of 0.
    expect(ambiguous.length).toBeGreaterThan(1)
    expectAssignments(a)
  })

  it("ADVI and Laplace draws carry the summed-out sites, drawn from their exact conditionals at each continuous draw", { timeout: TIMEOUT }, () => {
    for (const post of [
      Vi.runUnsafe(explicit, { seed: 3, draws: 4000, initial: { mu0: -3, mu1: 3 } }),
      Vi.laplaceUnsafe(explicit, { seed: 3, draws: 4000, initial: { mu0: -3, mu1: 3 } })
    ]) {
      expect(post.sites).toContain("z#0")
      expectAssignments(post)
    }
  })

  it("VI's MAP of the explicit mixture is the hand-marginalised mixture's (discrete sites summed out; to 1e-6)", () => {
    const a = Vi.mapUnsafe(explicit, { seed: 1, initial: { mu0: -3, mu1: 3 } })
    const b = Vi.mapUnsafe(marginalised, { seed: 1, initial: { mu0: -3, mu1: 3 } })
    expect(a.converged && b.converged).toBe(true)
    expect(Math.abs((a.values.mu0 as number) - (b.values.mu0 as number))).toBeLessThan(1e-6)
    expect(Math.abs((a.values.mu1 as number) - (b.values.mu1 as number))).toBeLessThan(1e-6)
  })

  it("dependent discrete sites are DependentDiscreteError; infinite supports and the default are DiscreteLatentError", () => {
    const chain: Model<number> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      const a = yield* sample("a", Bernoulli(0.5))
      const b = yield* sample("b", Bernoulli(a ? 0.9 : 0.1))
      yield* observe("y", Normal(b ? mu : -mu, 1), 0.3)
      return 0
    }
    expect(() => LogDensity.make(chain, { discrete: "sumOut" })).toThrow(LogDensity.DependentDiscreteError)
    expect(() => LogDensity.make(explicit)).toThrow(LogDensity.DiscreteLatentError)
    const poisson: Model<number> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      const k = yield* sample("k", Poisson(3))
      yield* observe("y", Normal(Ad.add(mu, k), 1), 2)
      return 0
    }
    expect(() => LogDensity.make(poisson, { discrete: "sumOut" })).toThrow(/latent site "k" is discrete/)
    expect(() => Nuts.runUnsafe(explicit, { samples: 10, discrete: "error" })).toThrow(/latent site "z#0" is discrete/)
  })
})
