import { describe, expect, it } from "@effect/vitest"
import { Beta } from "../src/index.ts"

describe("Beta.logProbLogit", () => {
  it("equals logProb at x = σ(u) wherever x is representable, and stays exact where x rounds to 0 or 1", () => {
    for (const [a, b] of [[0.01, 0.01], [1.01, 0.01], [2, 3], [50, 70], [0.5, 4]]) {
      const d = Beta(a, b)
      // (for large positive u, 1 − x itself is rounded: there logProb(x) is the inexact one)
      for (const u of [-20, -3, -0.5, 0, 0.7, 4]) {
        const x = 1 / (1 + Math.exp(-u))
        // the two agree to rounding (relative 1e-9: log(x) and log1p(−x) from a rounded x)
        const lp = d.logProb(x)
        expect(Math.abs(d.logProbLogit!(u) - lp)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(lp)))
      }
      // far out, log p(σ(u)) ≈ logNorm − (b − 1)·u for u → +∞ (log(1 − x) = −u + o(1))
      const u = 500
      expect(d.logProbLogit!(u) - (d.logProbLogit!(u - 1))).toBeCloseTo(-(b - 1), 6)
      expect(Number.isFinite(d.logProbLogit!(u))).toBe(true)
      expect(d.logProbLogit!(Number.NaN)).toBe(-Infinity)
    }
  })
})
