import { Rng } from "@fugue/core"
import { describe, expect, it } from "@effect/vitest"
import { InvalidOptionsError } from "../src/Options.ts"
import * as Resampling from "../src/Resampling.ts"

const counts = (ancestors: Int32Array, m: number): Array<number> => Array.from(Resampling.offspring(ancestors, m))

describe("Resampling: exact offspring counts from scripted uniforms", () => {
  const w = new Float64Array([0.1, 0.2, 0.3, 0.4]) // CDF 0.1, 0.3, 0.6, 1.0

  it("systematic uses one uniform: points (k + u)/n", () => {
    // u = 0.5, n = 4: points 0.125, 0.375, 0.625, 0.875 → particles 1, 2, 3, 3.
    const a = Resampling.systematic(w, 4, Rng.fromUniforms([0.5]))
    expect(Array.from(a)).toEqual([1, 2, 3, 3])
    expect(counts(a, 4)).toEqual([0, 1, 1, 2])
  })

  it("stratified uses one uniform per stratum: points (k + u_k)/n", () => {
    // points 0.9/4 = 0.225, 1.1/4 = 0.275, 2.5/4 = 0.625, 3.2/4 = 0.8 → 1, 1, 3, 3.
    const a = Resampling.stratified(w, 4, Rng.fromUniforms([0.9, 0.1, 0.5, 0.2]))
    expect(Array.from(a)).toEqual([1, 1, 3, 3])
  })

  it("multinomial maps n sorted uniforms through the CDF", () => {
    // sorted 0.05, 0.35, 0.65, 0.95 → 0, 2, 3, 3.
    const a = Resampling.multinomial(w, 4, Rng.fromUniforms([0.95, 0.05, 0.35, 0.65]))
    expect(Array.from(a)).toEqual([0, 2, 3, 3])
  })

  it("residual copies floor(n·w) deterministically and draws the rest from the residuals", () => {
    // w = (0.15, 0.25, 0.6), n = 4: n·w = (0.6, 1, 2.4) → floors (0, 1, 2), one more from the
    // residuals (0.6, 0, 0.4): u = 0.7 → particle 2; u = 0.5 → particle 0.
    const v = new Float64Array([0.15, 0.25, 0.6])
    expect(Array.from(Resampling.residual(v, 4, Rng.fromUniforms([0.7])))).toEqual([1, 2, 2, 2])
    expect(Array.from(Resampling.residual(v, 4, Rng.fromUniforms([0.5])))).toEqual([0, 1, 2, 2])
    // integral n·w: no uniform is used at all (an empty script would throw if one were).
    expect(Array.from(Resampling.residual(new Float64Array([0.25, 0.75]), 4, Rng.fromUniforms([])))).toEqual([0, 1, 1, 1])
  })

  it("never selects a zero-weight particle, even for uniforms at the ends of (0, 1)", () => {
    const z = new Float64Array([0, 0.5, 0, 0.5, 0])
    for (const u of [1e-16, 0.5, 1 - 1e-16]) {
      for (const scheme of Resampling.schemeNames) {
        const script = Array.from({ length: 10 }, () => u)
        const c = counts(Resampling.get(scheme)(z, 10, Rng.fromUniforms(script)), 5)
        expect(c[0] + c[2] + c[4]).toBe(0)
        expect(c[1] + c[3]).toBe(10)
      }
    }
  })

  it("returns n ascending ancestor indices for every scheme", () => {
    const rng = Rng.make(3)
    const v = new Float64Array([0.05, 0.3, 0.15, 0.2, 0.3])
    for (const scheme of Resampling.schemeNames) {
      for (const n of [0, 1, 7, 100]) {
        const a = Resampling.get(scheme)(v, n, rng)
        expect(a.length).toBe(n)
        for (let k = 1; k < n; k++) expect(a[k]).toBeGreaterThanOrEqual(a[k - 1])
      }
    }
  })

  it("rejects NaN, negative or all-zero weights and a bad n with InvalidOptionsError naming the culprit", () => {
    const rng = Rng.make(1)
    for (const scheme of Resampling.schemeNames) {
      const resample = Resampling.get(scheme)
      const nan = (() => {
        try {
          resample(new Float64Array([0.5, Number.NaN]), 3, rng)
        } catch (e) {
          return e
        }
      })()
      expect(nan).toBeInstanceOf(InvalidOptionsError)
      expect((nan as InvalidOptionsError).option).toBe("weights[1]")
      expect(() => resample(new Float64Array([0.5, -0.1]), 3, rng)).toThrow(InvalidOptionsError)
      expect(() => resample(new Float64Array([0, 0]), 3, rng)).toThrow(InvalidOptionsError)
      expect(() => resample(new Float64Array([1]), -1, rng)).toThrow(InvalidOptionsError)
      expect(() => resample(new Float64Array([1]), 1.5, rng)).toThrow(InvalidOptionsError)
    }
  })
})

describe("Resampling: unbiased, and no more variable than multinomial", () => {
  // Weights with fractional n·w so that every scheme is random; n = 10.
  const w = new Float64Array([0.02, 0.13, 0.25, 0.05, 0.31, 0.08, 0.16])
  const n = 10
  const reps = 4000

  const moments = (scheme: Resampling.Scheme, seed: number) => {
    const resample = Resampling.get(scheme)
    const rng = Rng.make(seed)
    const sum = new Float64Array(w.length)
    const sumSq = new Float64Array(w.length)
    for (let r = 0; r < reps; r++) {
      const c = Resampling.offspring(resample(w, n, rng), w.length)
      for (let i = 0; i < w.length; i++) {
        sum[i] += c[i]
        sumSq[i] += c[i] * c[i]
      }
    }
    const mean = Array.from(sum, (s) => s / reps)
    const variance = Array.from(sumSq, (s, i) => s / reps - mean[i] ** 2)
    return { mean, variance }
  }

  const results = new Map(Resampling.schemeNames.map((s, k) => [s, moments(s, 100 + k)]))

  it.each(Resampling.schemeNames)("%s: E[offspring_i] = n·w_i", (scheme) => {
    const { mean } = results.get(scheme)!
    for (let i = 0; i < w.length; i++) {
      // Tolerance: every scheme has Var(count_i) ≤ n·w_i(1 − w_i) (multinomial's; for systematic
      // f(1−f) ≤ n·w(1−w) since 1/(1/a + 1/b) ≥ 1/(1/f + 1/(1−f)) with a = n·w ≥ f, b = n(1−w) ≥ 1−f),
      // so the mean of `reps` independent counts has SE ≤ √(n·w_i(1 − w_i)/reps); allow 4 SE.
      const se = Math.sqrt((n * w[i] * (1 - w[i])) / reps)
      expect(Math.abs(mean[i] - n * w[i])).toBeLessThan(4 * se)
    }
  })

  it("multinomial's offspring variance matches n·w(1 − w)", () => {
    const { variance } = results.get("multinomial")!
    for (let i = 0; i < w.length; i++) {
      const v = n * w[i] * (1 - w[i])
      // SE of a sample variance ≈ v·√(2/reps) for near-normal counts; the counts are skewed for
      // small w, so allow 6 SE (and a 0.01 floor for the tiny ones).
      expect(Math.abs(variance[i] - v)).toBeLessThan(6 * v * Math.sqrt(2 / reps) + 0.01)
    }
  })

  it("systematic gives floor or ceil of n·w copies: Var = f(1 − f)", () => {
    const { variance } = results.get("systematic")!
    for (let i = 0; i < w.length; i++) {
      const f = n * w[i] - Math.floor(n * w[i])
      // A two-point count: the sample variance of Bernoulli(f) has SE ≤ √(f(1−f)/reps); allow 4 SE + 0.005.
      expect(Math.abs(variance[i] - f * (1 - f))).toBeLessThan(4 * Math.sqrt((f * (1 - f)) / reps) + 0.005)
    }
  })

  it("systematic, stratified and residual are no more variable than multinomial", () => {
    const total = (s: Resampling.Scheme) => results.get(s)!.variance.reduce((a, b) => a + b, 0)
    const multinomial = total("multinomial") // ≈ n(1 − Σw²) = 7.93
    for (const s of ["systematic", "stratified", "residual"] as const) {
      expect(total(s)).toBeLessThan(multinomial)
      for (let i = 0; i < w.length; i++) {
        // per particle, with slack for the sampling error of both variance estimates (6 SE, as above)
        const v = n * w[i] * (1 - w[i])
        expect(results.get(s)!.variance[i]).toBeLessThan(v + 6 * v * Math.sqrt(2 / reps) + 0.01)
      }
    }
    expect(total("systematic")).toBeLessThan(0.5 * multinomial)
    expect(total("residual")).toBeLessThan(0.5 * multinomial)
  })
})
