import { describe, expect, it } from "@effect/vitest"
import erfc from "@stdlib/math-base-special-erfc"
import * as Rng from "../src/Rng.ts"
import { ksCritical, ksStatistic, momentErrors } from "./helpers.ts"

const N = 100_000
const take = (rng: Rng.Rng, n: number, f: (r: Rng.Rng) => number = (r) => r.uniform()): Array<number> => Array.from({ length: n }, () => f(rng))

describe("Rng", () => {
  it("the same seed gives the same stream, uniforms and normals alike", () => {
    const a = Rng.make(7)
    const b = Rng.make(7)
    for (let i = 0; i < 1000; i++) {
      expect(a.uniform()).toBe(b.uniform())
      expect(a.normal()).toBe(b.normal())
    }
  })

  it("different seeds give different streams", () => {
    expect(take(Rng.make(1), 10)).not.toEqual(take(Rng.make(2), 10))
  })

  it("clone continues with the same draws, including a cached normal", () => {
    const a = Rng.make(3)
    a.normal() // leaves the second normal of the pair cached
    const b = a.clone()
    expect(take(a, 20, (r) => r.normal())).toEqual(take(b, 20, (r) => r.normal()))
  })

  it("split streams differ from each other and from the parent", () => {
    const parent = Rng.make(11)
    const child = parent.split()
    const other = parent.split()
    const p = take(parent, 100)
    const c = take(child, 100)
    const o = take(other, 100)
    expect(c).not.toEqual(p)
    expect(o).not.toEqual(c)
    expect(o).not.toEqual(p)
    // No shared values at all between the first draws (53-bit values; a collision would mean overlap).
    const seen = new Set(c)
    expect(p.some((u) => seen.has(u)) || o.some((u) => seen.has(u))).toBe(false)
  })

  it("split is deterministic", () => {
    expect(take(Rng.make(5).split(), 50)).toEqual(take(Rng.make(5).split(), 50))
  })

  it("streams(seed, n)[i] does not depend on n", () => {
    const few = Rng.streams(42, 2)
    const many = Rng.streams(42, 6)
    for (let i = 0; i < 2; i++) expect(take(few[i], 100)).toEqual(take(many[i], 100))
    const all = many.map((r) => take(r, 5))
    expect(new Set(all.map((xs) => xs.join(","))).size).toBe(6)
  })

  it("uniform() lies in the open interval (0, 1) and is uniform (moments and KS at α = 1e-4)", () => {
    const xs = take(Rng.make(2024), N)
    expect(xs.filter((u) => !(u > 0 && u < 1))).toEqual([])
    const m = momentErrors(xs, 1 / 12)
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(5 * m.seMean)
    expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(5 * m.seVariance)
    expect(ksStatistic(xs, (u) => u)).toBeLessThan(ksCritical(N, 1e-4))
  })

  it("normal() has mean 0, variance 1 (5 SE, variance SE from the sample's fourth moment) and passes KS at α = 1e-4", () => {
    const xs = take(Rng.make(77), N, (r) => r.normal())
    const m = momentErrors(xs, 1)
    expect(Math.abs(m.mean)).toBeLessThan(5 * m.seMean)
    expect(Math.abs(m.variance - 1)).toBeLessThan(5 * m.seVariance)
    expect(ksStatistic(xs, (x) => 0.5 * erfc(-x / Math.SQRT2))).toBeLessThan(ksCritical(N, 1e-4))
  })

  it("consecutive normals are uncorrelated (the polar method's pair)", () => {
    const rng = Rng.make(9)
    const prod = take(rng, N, (r) => r.normal() * r.normal())
    const m = momentErrors(prod, 1)
    expect(Math.abs(m.mean)).toBeLessThan(5 * m.seMean)
  })

  it("fromUniforms replays its script and then throws ScriptExhaustedError", () => {
    const rng = Rng.fromUniforms([0.5, 0.25, 0.975])
    expect(rng.uniform()).toBe(0.5)
    expect(rng.uniform()).toBe(0.25)
    expect(rng.normal()).toBeCloseTo(1.959963984540054, 12)
    expect(() => rng.uniform()).toThrow(Rng.ScriptExhaustedError)
  })

  it("normalQuantile inverts the normal CDF", () => {
    for (const p of [1e-10, 0.001, 0.02, 0.3, 0.5, 0.8, 0.99, 1 - 1e-9]) {
      const x = Rng.normalQuantile(p)
      expect(Math.abs(0.5 * erfc(-x / Math.SQRT2) - p)).toBeLessThan(1e-14 * Math.max(p, 1e-3))
    }
    expect(Rng.normalQuantile(0)).toBe(-Infinity)
    expect(Rng.normalQuantile(1)).toBe(Infinity)
  })
})

describe("Rng.stateOf / fromState", () => {
  it("a saved stream continues exactly where it was saved, a cached normal included", () => {
    const a = Rng.make(12)
    a.normal() // leaves the second normal of the pair cached
    const b = Rng.fromState(Rng.stateOf(a))
    for (let i = 0; i < 50; i++) {
      expect(b.normal()).toBe(a.normal())
      expect(b.uniform()).toBe(a.uniform())
    }
    expect(() => Rng.stateOf(Rng.fromUniforms([0.5]))).toThrow(TypeError)
  })
})
