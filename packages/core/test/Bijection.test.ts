// Bijections to the unconstrained space: round trips, and log |Jacobian| against numerical
// differentiation (central differences, step h = 1e-5·max(1, |u|): truncation O(h²) ≈ 1e-10
// relative, rounding O(ε/h) ≈ 1e-11; tolerance 1e-6 leaves a wide margin for both).
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Bijection from "../src/Bijection.ts"
import type { Support } from "../src/Distribution.ts"

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })

const scalarSupports: Array<Support> = [
  { _tag: "Real" },
  { _tag: "Positive" },
  { _tag: "NonNegative" },
  { _tag: "Interval", lower: 0, upper: 1 },
  { _tag: "Interval", lower: -3, upper: 7.5 },
  { _tag: "Interval", lower: 2, upper: Infinity },
  { _tag: "Interval", lower: -Infinity, upper: -1 },
  { _tag: "Interval", lower: -Infinity, upper: Infinity }
]

const derivative = (f: (u: number) => number, u: number): number => {
  const h = 1e-5 * Math.max(1, Math.abs(u))
  return (f(u + h) - f(u - h)) / (2 * h)
}

describe("scalar bijections", () => {
  it("round trip u → x → u and log |dx/du| match numerical differentiation", () => {
    for (const support of scalarSupports) {
      const b = Bijection.of(support) as Bijection.Scalar
      expect(b._tag).toBe("Scalar")
      fc.assert(
        fc.property(fc.double({ min: -15, max: 15, noNaN: true }), (u) => {
          const x = b.forward(u)
          expect(Number.isFinite(x)).toBe(true)
          if (support._tag === "Interval") expect(x >= support.lower && x <= support.upper).toBe(true)
          expect(b.inverse(x)).toBeCloseTo(u, 6)
          const numeric = Math.log(Math.abs(derivative((v) => b.forward(v), u)))
          expect(Math.abs(b.logJacobian(u) - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)))
        }),
        { numRuns: 200 }
      )
    }
  })
  it("an interval value near either end keeps its precision", () => {
    const b = Bijection.of({ _tag: "Interval", lower: 0, upper: 1 }) as Bijection.Scalar
    // relative accuracy near 0 (σ(−40) = e^−40/(1 + e^−40)); near 1 the double spacing limits it
    const x = b.forward(-40), exact = Math.exp(-40) / (1 + Math.exp(-40))
    expect(Math.abs(x - exact) / exact).toBeLessThan(1e-15)
    const y = 1 - b.forward(20), exactY = 1 / (1 + Math.exp(20))
    expect(Math.abs(y - exactY) / exactY).toBeLessThan(1e-7) // ulp(1)/2e-9 ≈ 5e-8
  })
  it("discrete supports have no bijection", () => {
    expect(Bijection.of({ _tag: "Integers", lower: 0, upper: 10 })).toBeUndefined()
    expect(Bijection.of({ _tag: "Boolean" })).toBeUndefined()
    expect(Bijection.of({ _tag: "IntegerVector", dimension: 3, total: 5 })).toBeUndefined()
  })
})

describe("vector bijections", () => {
  it("the simplex by stick-breaking: round trip, sums to 1, log |det J| against the numerical Jacobian", () => {
    for (const k of [2, 3, 5]) {
      const b = Bijection.of({ _tag: "Simplex", dimension: k }) as Bijection.Vector
      expect(b.dimension).toBe(k - 1)
      fc.assert(
        fc.property(fc.array(fc.double({ min: -6, max: 6, noNaN: true }), { minLength: k - 1, maxLength: k - 1 }), (us) => {
          const u = Float64Array.from(us)
          const x = new Float64Array(k)
          const logJ = b.forward(u, 0, x)
          expect(Math.abs(x.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-12)
          for (const v of x) expect(v > 0 && v < 1).toBe(true)
          const back = new Float64Array(k - 1)
          b.inverse(x, back, 0)
          for (let i = 0; i < k - 1; i++) expect(back[i]).toBeCloseTo(u[i], 6)
          // numerical Jacobian of u ↦ x[0 … k−2] and its log |det| by Gaussian elimination
          const d = k - 1
          const J: Array<Array<number>> = []
          for (let i = 0; i < d; i++) J.push(new Array(d).fill(0))
          for (let j = 0; j < d; j++) {
            const h = 1e-6
            const up = Float64Array.from(u), dn = Float64Array.from(u)
            up[j] += h
            dn[j] -= h
            const xu = new Float64Array(k), xd = new Float64Array(k)
            b.forward(up, 0, xu)
            b.forward(dn, 0, xd)
            for (let i = 0; i < d; i++) J[i][j] = (xu[i] - xd[i]) / (2 * h)
          }
          let logDet = 0
          for (let c = 0; c < d; c++) {
            let p = c
            for (let r = c + 1; r < d; r++) if (Math.abs(J[r][c]) > Math.abs(J[p][c])) p = r
            ;[J[c], J[p]] = [J[p], J[c]]
            logDet += Math.log(Math.abs(J[c][c]))
            for (let r = c + 1; r < d; r++) {
              const f = J[r][c] / J[c][c]
              for (let q = c; q < d; q++) J[r][q] -= f * J[c][q]
            }
          }
          expect(Math.abs(logJ - logDet)).toBeLessThan(1e-5 * Math.max(1, Math.abs(logDet)))
        }),
        { numRuns: 100 }
      )
      // u = 0 is the centre of the simplex
      const centre = new Float64Array(k)
      b.forward(new Float64Array(k - 1), 0, centre)
      for (const v of centre) expect(v).toBeCloseTo(1 / k, 12)
    }
  })
  it("real vectors: identity with log |det J| = 0", () => {
    const b = Bijection.of({ _tag: "RealVector", dimension: 3 }) as Bijection.Vector
    const x = new Float64Array(3)
    expect(b.forward(new Float64Array([9, 1, 2, 3]), 1, x)).toBe(0)
    expect(Array.from(x)).toEqual([1, 2, 3])
  })
})
