// The demo's claims: NUTS on the seed regression agrees with the exact posterior (1-D quadrature)
// within 4 MCSE, and the README's first command runs and prints both.
import { describe, expect, it } from "@effect/vitest"
import { Diagnostics, Is, Nuts, Posterior } from "@fugue/inference"
import { execFileSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { linearRegression, linearRegressionAd, linearRegressionExact, seedData } from "../src/models.ts"

describe("the seed regression", () => {
  it("NUTS agrees with the exact posterior moments (means within 4 MCSE)", () => {
    const exact = linearRegressionExact(seedData.xs, seedData.ys)
    const post = Nuts.runUnsafe(linearRegressionAd(seedData.xs, seedData.ys), { samples: 2000, warmup: 1000, chains: 4, seed: 3, targetAcceptance: 0.99 })
    for (const site of ["slope", "intercept", "noise"] as const) {
      const mcse = Diagnostics.mcse(Posterior.chainsOf(post, site))!
      expect(Math.abs(Posterior.mean(post, site) - exact[site].mean)).toBeLessThan(4 * mcse)
    }
  }, 30_000)

  it("the quadrature agrees with importance sampling of the plain model from its prior (within 4 standard errors)", () => {
    const exact = linearRegressionExact(seedData.xs, seedData.ys)
    const post = Is.runUnsafe(linearRegression(seedData.xs, seedData.ys), { particles: 200_000, seed: 5 })
    const w = post.weights![0]!
    const ess = post.stats.ess
    for (const site of ["slope", "intercept", "noise"] as const) {
      const xs = post.draws.get(site)![0]!
      let m = 0
      for (let i = 0; i < xs.length; i++) m += w[i]! * xs[i]!
      // the self-normalised estimate's standard error ≈ sd / √ESS
      expect(Math.abs(m - exact[site].mean)).toBeLessThan((4 * exact[site].sd) / Math.sqrt(ess))
    }
  }, 30_000)

  it("the demo runs and prints the summary beside the exact posterior", () => {
    const demo = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "demo.ts")
    const out = execFileSync(process.execPath, [demo], { encoding: "utf8", timeout: 60_000 })
    expect(out).toMatch(/site\s+mean\s+sd\s+mcse/)
    expect(out).toMatch(/Exact posterior/)
    expect(out).toMatch(/slope\s+2\.01/)
  }, 90_000)
})
