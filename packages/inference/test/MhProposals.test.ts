// User-defined MH proposals (per site, forward and reverse densities in the ratio) and Delta:
// the proposals must leave conjugate posteriors invariant. Tolerances: 4 MCSE, ESS from the
// chains' autocorrelations (test/utils/mcmc.ts).
import { describe, expect, it } from "@effect/vitest"
import { Delta, DiscreteUniform, Gamma, LogNormal, Normal, observe, Poisson, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Enumerate from "../src/Enumerate.ts"
import * as Mh from "../src/Mh.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"
import * as Selection from "@fugue/runtime/Selection"
import { checkMean, checkSd } from "./utils/mcmc.ts"

const TIMEOUT = 30_000
const counts = [3, 5, 2, 6, 4]

// λ ~ Gamma(2, rate 1), y_i ~ Poisson(λ): λ | y ~ Gamma(2 + Σy, 1 + n) = Gamma(22, 6)
const gammaPoisson: Model<number> = function*() {
  const lambda = yield* sample("lambda", Gamma(2, 1))
  for (let i = 0; i < counts.length; i++) yield* observe(`y${i}`, Poisson(lambda), counts[i]!)
  return lambda
}

describe("user proposals", () => {
  it("an asymmetric log-normal proposal leaves the Gamma–Poisson posterior invariant (mean and sd within 4 MCSE)", { timeout: TIMEOUT }, () => {
    const post = Mh.runUnsafe(gammaPoisson, {
      samples: 6000, warmup: 1000, chains: 2, seed: 3,
      proposals: { lambda: (x) => LogNormal(Math.log(x as number), 0.4) }
    })
    const chains = Posterior.chainsOf(post, "lambda")
    const mean = checkMean(chains, 22 / 6), sd = checkSd(chains, Math.sqrt(22) / 6)
    expect(mean.z).toBeLessThan(4)
    expect(sd.z).toBeLessThan(4)
    // the user proposal, not the adaptive walk: no scale is reported for the site
    expect(Mh.stats(post).scales[0]!.lambda).toBeUndefined()
  })

  it("a ±1 random walk on an integer site gives the exact posterior (by a direct sum), proposals outside the support rejected", { timeout: TIMEOUT }, () => {
    // k ~ Poisson(4), y ~ Normal(k, 1) at 1.3
    const model: Model<number> = function*() {
      const k = yield* sample("k", Poisson(4))
      yield* observe("y", Normal(k, 1), 1.3)
      return k
    }
    const exact = Enumerate.runUnsafe(model, { truncation: 1e-14 }).distribution
    const post = Mh.runUnsafe(model, {
      samples: 8000, warmup: 500, chains: 2, seed: 5, proposals: (address) => (address === "k" ? (x) => DiscreteUniform((x as number) - 1, (x as number) + 1) : undefined)
    })
    const chains = Posterior.chainsOf(post, "k")
    expect(checkMean(chains, exact.mean()!).z).toBeLessThan(4)
    expect(checkSd(chains, Math.sqrt(exact.variance()!)).z).toBeLessThan(4)
  })

  it("a proposal that returns no distribution, or a proposals option that is not functions, is InvalidOptionsError naming the site", () => {
    expect(() => Mh.runUnsafe(gammaPoisson, { samples: 10, seed: 1, proposals: { lambda: () => 3 as never } })).toThrow(/proposals\["lambda"\]/)
    try {
      Mh.runUnsafe(gammaPoisson, { samples: 10, proposals: { lambda: 2 as never } })
      expect.fail("should throw")
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError)
    }
  })
})

describe("block proposals", () => {
  // (x, y) bivariate normal, unit variances, correlation 0.99: single-site MH crawls along the ridge
  const rho = 0.99
  const ridge: Model<number> = function*() {
    const x = yield* sample("x", Normal(0, 1))
    yield* sample("y", Normal(rho * (x as number), Math.sqrt(1 - rho * rho)))
    return 0
  }
  /** An independence proposal N(0, c·Σ) over the block (x, y); its density at a record of values. */
  const gaussianBlock = (c: number) => {
    const sx = Math.sqrt(c), sc = Math.sqrt(c * (1 - rho * rho))
    const logPdf = (v: Readonly<Record<string, unknown>>) => {
      const x = v.x as number, y = v.y as number
      return -0.5 * (x / sx) ** 2 - Math.log(sx) - 0.5 * ((y - rho * x) / sc) ** 2 - Math.log(sc) - Math.log(2 * Math.PI)
    }
    return {
      sites: ["x", "y"],
      propose: () => ({
        sample: (rng: { normal(): number }) => {
          const x = sx * rng.normal()
          return { x, y: rho * x + sc * rng.normal() }
        },
        logProb: logPdf
      })
    }
  }

  it("an independence block proposal from the exact posterior is always accepted; an overdispersed one keeps the posterior exact (4 MCSE)", { timeout: TIMEOUT }, () => {
    const exact = Mh.runUnsafe(ridge, { samples: 3000, warmup: 200, chains: 2, seed: 4, blocks: [gaussianBlock(1)] })
    expect(Mh.stats(exact).acceptance[0]!["[block 0]"]).toBe(1)
    const wide = Mh.runUnsafe(ridge, { samples: 4000, warmup: 200, chains: 2, seed: 4, blocks: [gaussianBlock(3)] })
    const blockRate = Mh.stats(wide).acceptance[0]!["[block 0]"]!
    expect(blockRate).toBeGreaterThan(0.2)
    expect(blockRate).toBeLessThan(0.9)
    for (const post of [exact, wide]) {
      const x = Posterior.chainsOf(post, "x"), y = Posterior.chainsOf(post, "y")
      expect(checkMean(x, 0).z).toBeLessThan(4)
      expect(checkSd(y, 1).z).toBeLessThan(4)
      // E[xy] = ρ for unit variances
      const xy = x.map((c, k) => c.map((v, i) => v * y[k]![i]!))
      expect(checkMean(xy, rho).z).toBeLessThan(4)
    }
  })

  it("a block over a Selection moves the sites it selects (here the union of x and y)", { timeout: TIMEOUT }, () => {
    const block = { ...gaussianBlock(1), sites: Selection.union(Selection.address("x"), Selection.address("y")) }
    const post = Mh.runUnsafe(ridge, { samples: 2000, warmup: 200, seed: 6, blocks: [block] })
    expect(Mh.stats(post).acceptance[0]!["[block 0]"]).toBe(1)
    expect(checkMean(Posterior.chainsOf(post, "x"), 0).z).toBeLessThan(4)
  })

  it("bad blocks are InvalidOptionsError", () => {
    expect(() => Mh.runUnsafe(ridge, { samples: 10, blocks: [{ sites: [], propose: () => gaussianBlock(1).propose() }] })).toThrow(/blocks\[0\]\.sites/)
    expect(() => Mh.runUnsafe(ridge, { samples: 10, blocks: "x" as never })).toThrow(InvalidOptionsError)
  })
})

describe("Delta", () => {
  it("is a point mass on any structural value; enumeration and MH treat it as fixed", () => {
    const d = Delta({ a: [1, 2] })
    expect(d.family).toBe("Delta")
    expect(d.logProb({ a: [1, 2] })).toBe(0)
    expect(d.logProb({ a: [1] })).toBe(-Infinity)
    expect(() => Delta(Number.NaN)).toThrow(/Delta: invalid parameter value/)
    const r = Enumerate.runUnsafe(function*() {
      const x = yield* sample("x", Delta(2))
      const k = yield* sample("k", Poisson(x))
      return k > 1
    }, { truncation: 1e-14 })
    // P(Poisson(2) > 1) = 1 − 3e^{−2}
    expect(r.distribution.probability(true)).toBeCloseTo(1 - 3 * Math.exp(-2), 12)
    const post = Mh.runUnsafe(function*() {
      const x = yield* sample("x", Delta(2))
      return yield* sample("y", Normal(x, 1))
    }, { samples: 100, seed: 1 })
    expect(Posterior.chainsOf(post, "x")[0]!.every((v) => v === 2)).toBe(true)
  })
})
