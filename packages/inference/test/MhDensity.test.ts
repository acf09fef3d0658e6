// MH on the compiled density (the fast path of `Mh`, `logDensity: "auto"`): where a model's
// latent sites are fixed, continuous and scalar and its arithmetic on them uses `Ad`, chains
// step on `LogDensity` without running the model. The path consumes the random stream exactly
// as the model-running path does (same site pick, same normal increment, same accept uniform),
// so for the same seed the draws agree up to rounding: the state is u itself rather than u
// recomputed from x = f(u) at every step, and the log densities are summed in another order.
// Those differences are ~1e-15 relative per step and flip an accept decision only when log α
// lands within ~1e-13 of log U, so over a few thousand iterations the draws agree to 1e-9
// (checked here; a wrong Jacobian or ratio would change them at the first accepted move).
import { describe, expect, it } from "@effect/vitest"
import { Ad, addr, Beta, Gamma, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { Effect } from "effect"
import * as Mh from "../src/Mh.ts"
import * as Posterior from "../src/Posterior.ts"

const ys = [28, 8, -3, 7, -1, 1, 18, 12]
const ss = [15, 10, 16, 11, 9, 11, 10, 18]

const counter = { runs: 0 }
const eightSchools: Model<{ mu: Ad.Real; tau: Ad.Real }> = function*() {
  counter.runs++
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", Gamma(2, 0.2))
  for (let j = 0; j < 8; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), ss[j]!), ys[j]!)
  }
  return { mu, tau }
}

const maxDifference = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>): number => {
  let worst = 0
  for (const site of a.sites) {
    const ca = a.draws.get(site)!, cb = b.draws.get(site)!
    for (let c = 0; c < ca.length; c++) {
      for (let i = 0; i < ca[c]!.length; i++) worst = Math.max(worst, Math.abs(ca[c]![i]! - cb[c]![i]!) / (1 + Math.abs(ca[c]![i]!)))
    }
  }
  return worst
}

describe("MH on the compiled density", { timeout: 60_000 }, () => {
  it("gives the model-running path's draws for the same seed, without running the model per step", () => {
    const options = { samples: 1500, warmup: 500, chains: 2, seed: 4 }
    counter.runs = 0
    const fast = Mh.runUnsafe(eightSchools, options)
    const fastRuns = counter.runs
    counter.runs = 0
    const slow = Mh.runUnsafe(eightSchools, { ...options, logDensity: "never" })
    expect(counter.runs).toBeGreaterThan(2 * 2000)
    // initialisation per chain and the density's construction only
    expect(fastRuns).toBeLessThan(20)
    expect(fast.sites).toEqual(slow.sites)
    expect(maxDifference(fast, slow)).toBeLessThan(1e-9)
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 1500; i++) expect(Math.abs(fast.logWeights[c]![i]! - slow.logWeights[c]![i]!)).toBeLessThan(1e-9)
    }
    const fs = Mh.stats(fast), ss_ = Mh.stats(slow)
    expect(fs.acceptanceRate).toEqual(ss_.acceptanceRate)
    for (const site of Object.keys(ss_.scales[0]!)) expect(Math.abs(fs.scales[0]![site]! - ss_.scales[0]![site]!)).toBeLessThan(1e-9)
  })

  it("return values are computed when read, and equal the model's", () => {
    counter.runs = 0
    const post = Mh.runUnsafe(eightSchools, { samples: 200, warmup: 100, seed: 9 })
    const before = counter.runs
    const returns = post.returns[0]!
    expect(counter.runs).toBe(before + 200)
    const mu = post.draws.get("mu")![0]!, tau = post.draws.get("tau")![0]!
    for (let i = 0; i < 200; i++) {
      expect(returns[i]!.mu).toBe(mu[i])
      expect(Math.abs((returns[i]!.tau as number) - tau[i]!)).toBeLessThanOrEqual(1e-15 * tau[i]!)
    }
    expect(post.returns).toBe(post.returns) // computed once
  })

  it("the Effect form takes the same path and equals runUnsafe exactly", () =>
    Effect.gen(function*() {
      const options = { samples: 400, warmup: 200, chains: 3, seed: 12 }
      const plain = Posterior.toJSON(Mh.runUnsafe(eightSchools, options))
      const effect = Posterior.toJSON(yield* Mh.run(eightSchools, options))
      expect(effect).toEqual(plain)
    }).pipe(Effect.runPromise))

  it("interval sites walk on the exact logit (a Beta posterior with mass at rounding distance of 1)", () => {
    // Beta(0.01, 0.01) prior, one success: the Beta(1.01, 0.01) posterior, mean 1.01/1.02
    const model: Model<void> = function*() {
      const p = yield* sample("p", Beta(0.01, 0.01))
      yield* observe("y", Normal(Ad.mul(4, p), 1), 4)
    }
    const fast = Mh.runUnsafe(model, { samples: 3000, warmup: 1000, seed: 3 })
    const slow = Mh.runUnsafe(model, { samples: 3000, warmup: 1000, seed: 3, logDensity: "never" })
    expect(maxDifference(fast, slow)).toBeLessThan(1e-9)
  })

  it("models outside the fast path run the model as before (plain arithmetic on a latent)", () => {
    const model: Model<void> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* observe("y", Normal((x as number) * 2, 1), 1)
    }
    const a = Mh.runUnsafe(model, { samples: 300, seed: 1 })
    const b = Mh.runUnsafe(model, { samples: 300, seed: 1, logDensity: "never" })
    expect(Posterior.toJSON(a)).toEqual(Posterior.toJSON(b))
  })
})
