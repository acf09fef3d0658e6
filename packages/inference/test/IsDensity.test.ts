// IS with a user proposal scores the proposal's draws with the target's compiled log density
// where the model has one (`logDensity: "auto"`, the default), instead of running the target
// model on them: the weights, evidence, draws and return values are the model-running path's
// (`logDensity: "never"`) up to rounding, a draw the density cannot score (a site missing) runs the
// model as before within the same run, and a model with plain arithmetic on its latents has no
// such density and runs the model, bit for bit as before.
import { Ad, addr, Gamma, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Is from "../src/Is.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import type { Posterior } from "../src/Posterior.ts"

const xs = [1, 2, 3, 4, 5], ys = [2.1, 4.2, 5.8, 8.1, 10.3]

/** The seed regression with its arithmetic on latents in `Ad` (so it has a compiled density). */
const regression: Model<number> = function*() {
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  const sd = Ad.sqrt(noise)
  for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), sd), ys[i]!)
  return Ad.primal(Ad.add(slope, intercept))
}

/** The same with plain arithmetic (no density: it escapes into `*` and `Math.sqrt`). */
const plain: Model<number> = function*() {
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(slope * xs[i]! + intercept, Math.sqrt(noise)), ys[i]!)
  return slope + intercept
}

const proposal = function*() {
  yield* sample("slope", Normal(2, 0.5))
  yield* sample("intercept", Normal(0, 1))
  yield* sample("noise", Gamma(3, 4))
}

/** A proposal that leaves "noise" out of one draw in about five (the model then draws it, scored −∞). */
const gappy = function*() {
  yield* sample("slope", Normal(2, 0.5))
  yield* sample("intercept", Normal(0, 1))
  const u = yield* sample("skip", Normal(0, 1))
  if (u < 0.84) yield* sample("noise", Gamma(3, 4))
}

const close = (a: number, b: number, tol = 1e-12): boolean =>
  a === b || Math.abs(a - b) <= tol * (1 + Math.abs(a) + Math.abs(b))

/** Every log weight, draw and return value of two runs agree to `tol` (relative); −∞ weights exactly. */
const agree = (a: Posterior<unknown, Is.Stats>, b: Posterior<unknown, Is.Stats>, tol = 1e-12): void => {
  expect(a.sites).toEqual(b.sites)
  const wa = a.logWeights[0]!, wb = b.logWeights[0]!
  for (let i = 0; i < wa.length; i++) expect(close(wa[i]!, wb[i]!, tol), `log weight ${i}: ${wa[i]} vs ${wb[i]}`).toBe(true)
  for (const site of a.sites) {
    const da = a.draws.get(site)![0]!, db = b.draws.get(site)![0]!
    for (let i = 0; i < da.length; i++) {
      const same = Number.isNaN(da[i]!) ? Number.isNaN(db[i]!) : close(da[i]!, db[i]!, tol)
      expect(same, `${site}[${i}]: ${da[i]} vs ${db[i]}`).toBe(true)
    }
  }
  const ra = a.returns[0]!, rb = b.returns[0]!
  for (let i = 0; i < ra.length; i++) expect(close(ra[i] as number, rb[i] as number, tol), `return ${i}`).toBe(true)
  expect(close(a.logEvidence![0]!, b.logEvidence![0]!, tol)).toBe(true)
  expect(close(Is.stats(a).ess, Is.stats(b).ess, 1e-9)).toBe(true)
}

describe("IS scores a proposal's draws through the target's compiled density", () => {
  it("the same weights, draws, returns and evidence as running the model, to rounding", () => {
    const options = { particles: 5000, seed: 4, proposal }
    const viaDensity = Is.runUnsafe(regression, options)
    const viaModel = Is.runUnsafe(regression, { ...options, logDensity: "never" })
    expect(Is.stats(viaDensity).scoredByDensity).toBe(5000)
    expect(Is.stats(viaModel).scoredByDensity).toBe(0)
    agree(viaDensity, viaModel)
    // and the estimate is sound: E[slope + intercept | y] within 5 standard errors of a long run
    const long = Is.runUnsafe(regression, { particles: 200_000, seed: 9, proposal })
    const mean = (p: Posterior<unknown, Is.Stats>) => {
      const w = p.weights![0]!, r = p.returns[0]!
      let m = 0
      for (let i = 0; i < w.length; i++) m += w[i]! * (r[i] as number)
      return m
    }
    // self-normalised IS: se ≈ sd / √ESS; the posterior sd of slope + intercept is about 0.45
    expect(Math.abs(mean(viaDensity) - mean(long))).toBeLessThan(5 * 0.45 / Math.sqrt(Is.stats(viaDensity).ess))
  }, 60_000) // about 1 s

  it("a draw the density cannot score (a site missing) runs the model within the same run", () => {
    const options = { particles: 3000, seed: 7, proposal: gappy }
    const mixed = Is.runUnsafe(regression, options)
    const viaModel = Is.runUnsafe(regression, { ...options, logDensity: "never" })
    const s = Is.stats(mixed)
    // "skip" is extra in every draw, so no draw holds exactly the target's sites: all run the model
    expect(s.scoredByDensity).toBe(0)
    expect(s.missing).toBe(Is.stats(viaModel).missing)
    expect(s.missing).toBeGreaterThan(300)
    agree(mixed, viaModel, 0)
  }, 30_000)

  it("draws scored either way in one run keep their own return values", () => {
    // a proposal over the target's sites exactly, except that one draw in about five lacks "noise"
    const sometimes = function*() {
      const slope = yield* sample("slope", Normal(2, 0.5))
      yield* sample("intercept", Normal(0, 1))
      if (slope < 2.42) yield* sample("noise", Gamma(3, 4))
    }
    const options = { particles: 3000, seed: 11, proposal: sometimes }
    const mixed = Is.runUnsafe(regression, options)
    const viaModel = Is.runUnsafe(regression, { ...options, logDensity: "never" })
    const s = Is.stats(mixed)
    expect(s.scoredByDensity).toBeGreaterThan(2000)
    expect(s.scoredByDensity).toBeLessThan(3000)
    expect(s.missing).toBe(3000 - s.scoredByDensity)
    agree(mixed, viaModel)
  }, 30_000)

  it("a model with plain arithmetic on its latents has no density: it runs the model, bit for bit as before", () => {
    const options = { particles: 2000, seed: 3, proposal }
    const auto = Is.runUnsafe(plain, options)
    expect(Is.stats(auto).scoredByDensity).toBe(0)
    agree(auto, Is.runUnsafe(plain, { ...options, logDensity: "never" }), 0)
  }, 30_000)

  it.effect("Is.run builds the density inside its time slices and gives runUnsafe's numbers", () =>
    Effect.gen(function*() {
      const options = { particles: 3000, seed: 5, proposal }
      const sliced = yield* Is.run(regression, options)
      const direct = Is.runUnsafe(regression, options)
      expect(Is.stats(sliced).scoredByDensity).toBe(3000)
      agree(sliced, direct, 0)
    }), 30_000)

  it("logDensity is \"auto\" or \"never\"", () => {
    expect(() => Is.runUnsafe(regression, { particles: 10, proposal, logDensity: "sometimes" as never })).toThrow(InvalidOptionsError)
  }, 10_000)
})
