// The VI suite's hand-written pieces: the analytic gradient is LogDensity's, and the hand ADVI
// loop finds the posterior mean (the regression is conjugate: m = (XᵀX/σ² + I/s²)⁻¹ Xᵀy/σ²).
import { describe, expect, it } from "@effect/vitest"
import * as LogDensity from "@fugue/inference/LogDensity"
import { handAdvi, handGradient, regression } from "../src/vi.ts"

describe("vi benchmark pieces", () => {
  it("the hand gradient equals LogDensity's (to 1e-10)", () => {
    const { model, X, y } = regression(50)
    const ld = LogDensity.make(model)
    const hand = handGradient(X, y)
    const q = Float64Array.from({ length: 10 }, (_, j) => 0.1 * j - 0.4)
    const g1 = new Float64Array(10), g2 = new Float64Array(10)
    expect(hand(q, g1)).toBeCloseTo(ld.logDensityGradient(q, g2), 9)
    for (let j = 0; j < 10; j++) expect(g1[j]).toBeCloseTo(g2[j]!, 9)
  }, 10_000)

  it("the hand ADVI loop's mean is the exact posterior mean (to 0.05: the stochastic optimiser's noise at lr 0.01)", () => {
    const { X, y } = regression(50)
    const n = y.length, d = 10
    // normal equations, solved by Gauss–Jordan
    const A = Array.from({ length: d }, (_, i) => Array.from({ length: d + 1 }, (_, j) => {
      if (j === d) {
        let s = 0
        for (let k = 0; k < n; k++) s += X[k * d + i]! * y[k]!
        return s / 0.64
      }
      let s = 0
      for (let k = 0; k < n; k++) s += X[k * d + i]! * X[k * d + j]!
      return s / 0.64 + (i === j ? 1 / 4 : 0)
    }))
    for (let c = 0; c < d; c++) {
      for (let r = 0; r < d; r++) {
        if (r === c) continue
        const f = A[r]![c]! / A[c]![c]!
        for (let k = c; k <= d; k++) A[r]![k] = A[r]![k]! - f * A[c]![k]!
      }
    }
    const exact = A.map((row, i) => row[d]! / row[i]!)
    const mu = handAdvi(20_000, 3, handGradient(X, y))
    for (let j = 0; j < d; j++) expect(Math.abs(mu[j]! - exact[j]!)).toBeLessThan(0.05)
  }, 10_000)
})
