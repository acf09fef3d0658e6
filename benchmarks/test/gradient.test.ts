import { describe, expect, it } from "@effect/vitest"
import * as LogDensity from "@fugue/inference/LogDensity"
import {
  eightSchoolsNonCentred,
  eightSchoolsNonCentredHand,
  eightSchoolsPoints,
  type DensityGradient,
  wellsData,
  wellsHead,
  wellsLogistic,
  wellsLogisticDot,
  wellsLogisticHand,
  wellsPoints
} from "../src/gradientModels.ts"
import { eightSchoolsData } from "../src/models.ts"

// The gradient suite's hand-written gradients are only a fair "physical limit" if they compute
// what LogDensity computes. These tests pin that down at the suite's points and at LogDensity's
// own initial point: value and gradient to 1e-12 relative (values below 1 in magnitude compared
// absolutely), for the compiled and the taped sources, which are exact up to rounding.

const relClose = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b))

/** The largest relative disagreement between `density` and `hand` over `points` (value and every partial). */
const worst = (density: LogDensity.LogDensity, hand: DensityGradient, points: ReadonlyArray<Float64Array>): number => {
  const d = density.dimension
  const expected = new Float64Array(d)
  const actual = new Float64Array(d)
  let max = 0
  const update = (a: number, b: number) => {
    max = Math.max(max, Math.abs(a - b) / Math.max(1, Math.abs(a), Math.abs(b)))
  }
  for (const q of points) {
    update(density.logDensityGradient(q, actual), hand(q, expected))
    update(density.logDensity(q), hand(q, expected))
    for (let i = 0; i < d; i++) update(actual[i], expected[i])
  }
  return max
}

/**
 * Central differences with step h ≥ 6.06e-6 (LogDensity's ε^(1/3)·max(1, |q_i|)) err by about
 * ε·|lp|/h from rounding plus h²·|∂³lp|/6 from truncation; the tolerance is 100 × the rounding
 * bound, which also covers the truncation term at these points (h² ≈ 4e-11 times third
 * derivatives of at most a few hundred), compared as in `relClose`.
 */
const finiteDifferencesAgree = (density: LogDensity.LogDensity, hand: DensityGradient, points: ReadonlyArray<Float64Array>): void => {
  const d = density.dimension
  const expected = new Float64Array(d)
  const actual = new Float64Array(d)
  for (const q of points) {
    const lp = density.logDensityGradient(q, actual)
    expect(relClose(lp, hand(q, expected), 1e-12)).toBe(true)
    const tolerance = (100 * Number.EPSILON * Math.max(1, Math.abs(lp))) / 6.055454452393343e-6
    for (let i = 0; i < d; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected[i])))
  }
}

describe("hand-written eight schools (non-centred) gradient", () => {
  const data = eightSchoolsData()
  const model = eightSchoolsNonCentred(data)
  const hand = eightSchoolsNonCentredHand(data)
  const points = eightSchoolsPoints(data, 16)

  it("equals the compiled gradient to 1e-12 at every point", () => {
    const density = LogDensity.make(model, { gradient: "compiled" })
    expect(density.dimension).toBe(data.J + 2)
    expect(worst(density, hand, [...points, density.initialPoint])).toBeLessThanOrEqual(1e-12)
  })

  it("equals the taped gradient to 1e-12 at every point", () => {
    const density = LogDensity.make(model, { gradient: "taped" })
    expect(worst(density, hand, [...points, density.initialPoint])).toBeLessThanOrEqual(1e-12)
  })

  it("agrees with finite differences within their rounding error", () => {
    const density = LogDensity.make(model, { gradient: "finite-differences" })
    finiteDifferencesAgree(density, hand, [...points, density.initialPoint])
  })
})

describe("hand-written wells logistic regression gradient", () => {
  const data = wellsData()
  const hand = wellsLogisticHand(data)
  const points = wellsPoints(8)

  it("the data set is posteriordb's 3020 wells, outcomes 0/1", () => {
    expect(data.N).toBe(3020)
    for (const column of [data.switched, data.dist, data.arsenic]) expect(column.length).toBe(3020)
    expect(data.switched.every((s) => s === 0 || s === 1)).toBe(true)
  })

  it("equals the compiled and taped gradients of the scalar-Ad model to 1e-12", () => {
    // ≈ 0.2 s here (code generation for a 30 000-node tape, then a function V8 leaves unoptimised); timeout 25×.
    const model = wellsLogistic(data)
    for (const options of [{ gradient: "compiled", maxCompiledNodes: 1_000_000 }, { gradient: "taped" }] as const) {
      const density = LogDensity.make(model, options)
      expect(density.gradientSource).toBe(options.gradient)
      expect(worst(density, hand, [...points, density.initialPoint])).toBeLessThanOrEqual(1e-12)
    }
  }, 5_000)

  it("equals the compiled and taped gradients of the Ad.dot model to 1e-12", () => {
    // ≈ 0.15 s here; timeout 30×.
    const model = wellsLogisticDot(data)
    for (const options of [{ gradient: "compiled", maxCompiledNodes: 1_000_000 }, { gradient: "taped" }] as const) {
      const density = LogDensity.make(model, options)
      expect(worst(density, hand, [...points, density.initialPoint])).toBeLessThanOrEqual(1e-12)
    }
  }, 5_000)

  it("equals the compiled gradient on the first N rows, as the scaling table times it", () => {
    // ≈ 50 ms here; timeout 100×.
    for (const n of [100, 300, 1000]) {
      const head = wellsHead(data, n)
      const density = LogDensity.make(wellsLogistic(head), { gradient: "compiled", maxCompiledNodes: 1_000_000 })
      expect(worst(density, wellsLogisticHand(head), points)).toBeLessThanOrEqual(1e-12)
    }
  }, 5_000)

  it("agrees with finite differences within their rounding error", () => {
    // ≈ 70 ms here (7 model runs of 3020 observes per point); timeout 70×.
    const density = LogDensity.make(wellsLogistic(data), { gradient: "finite-differences" })
    finiteDifferencesAgree(density, hand, [...points, density.initialPoint])
  }, 5_000)
})
