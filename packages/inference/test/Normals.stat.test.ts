// The momenta's standard normals (src/internal/normals.ts, the ziggurat of Marsaglia & Tsang 2000
// in Doornik's 2005 form): its tables, its distribution and its determinism. Fixed seeds, so the
// tests are deterministic; the tolerances are nevertheless derived from the sampling distribution
// of each statistic under an exact N(0, 1) generator, not tuned:
// - Kolmogorov–Smirnov: √n·D converges to the Kolmogorov distribution, P(√n·D > x) ≈
//   2·Σ_{k≥1} (−1)^{k−1} e^{−2k²x²}; its first term alone gives x = √(ln(2/α)/2) = 2.2253 for
//   α = 10⁻⁴ (the later terms are below 10⁻³⁰ there). Over 10⁶ draws that is D < 2.23e−3.
// - Moments and tail frequencies: means of functions of n iid draws, so MCSE = sd(f)/√n with the
//   exact sd: sd(z) = 1, sd(z²) = √2, sd(z³) = √15, sd(z⁴) = √96 (E z⁸ = 105), and for a
//   frequency p, the binomial √(p(1 − p)/n). Each is accepted within Z = 4.5 MCSE: over the eight
//   checks the family-wise false-alarm rate is below 8 · 6.8e−6 ≈ 5e−5 (Bonferroni).
// Φ is computed here independently of the library: the series erf(z) = (2/√π)·e^{−z²}·
// Σ 2ⁿz^{2n+1}/(2n+1)!! (all terms positive) for |x| ≤ 3, Laplace's continued fraction for the
// Mills ratio beyond; checked against published values to 1e−13 relative (1 − Φ from the series
// loses about that much to cancellation near 3).
import { describe, expect, it } from "@effect/vitest"
import * as Rng from "@fugue/core/Rng"
import { normalsOver, zigguratNormal, zigguratTables } from "../src/internal/normals.ts"

const Z = 4.5

/** Φ(x), the standard normal CDF, to about 1e−13 relative (see the header). */
const Phi = (x: number): number => {
  const a = Math.abs(x)
  let upper: number // P(Z > a)
  if (a <= 3) {
    const z = a / Math.SQRT2
    let term = z, s = z
    for (let n = 1; term > 1e-17 * s; n++) {
      term *= (2 * z * z) / (2 * n + 1)
      s += term
    }
    upper = 0.5 - (s * Math.exp(-z * z)) / Math.sqrt(Math.PI)
  } else {
    let cf = a
    for (let k = 300; k >= 1; k--) cf = a + k / cf
    upper = Math.exp(-0.5 * a * a) / Math.sqrt(2 * Math.PI) / cf
  }
  return x >= 0 ? 1 - upper : upper
}

const within = (label: string, estimate: number, exact: number, mcse: number): void => {
  const z = Math.abs(estimate - exact) / mcse
  console.log(`${label}: estimate ${estimate.toPrecision(6)} exact ${exact.toPrecision(6)} MCSE ${mcse.toExponential(2)} z ${z.toFixed(2)}`)
  expect(z, `${label}: |estimate − exact| / MCSE`).toBeLessThan(Z)
}

/** The Kolmogorov–Smirnov statistic of sorted draws against a CDF. */
const ksStatistic = (sorted: Float64Array, cdf: (x: number) => number): number => {
  const n = sorted.length
  let d = 0
  for (let i = 0; i < n; i++) {
    const F = cdf(sorted[i]!)
    d = Math.max(d, (i + 1) / n - F, F - i / n)
  }
  return d
}

/** The KS critical value at level 10⁻⁴ for n draws (header). */
const ksCritical = (n: number): number => Math.sqrt(Math.log(2 / 1e-4) / 2) / Math.sqrt(n)

describe("the ziggurat's tables", () => {
  it("Φ here matches published values (the tests' yardstick)", () => {
    expect(Math.abs(Phi(1) - 0.8413447460685429)).toBeLessThan(1e-15)
    expect(Math.abs(Phi(-2) - 0.022750131948179195) / 0.022750131948179195).toBeLessThan(1e-13)
    expect(Math.abs(Phi(-3) - 0.0013498980316300946) / 0.0013498980316300946).toBeLessThan(1e-13)
    expect(Math.abs(Phi(-4) - 3.1671241833119863e-5) / 3.1671241833119863e-5).toBeLessThan(1e-13)
  })

  it("128 layers of equal area, the base layer holding the tail, closing at f(0) = 1; r as Marsaglia & Tsang print it", () => {
    const { x, r } = zigguratTables()
    const f = (t: number) => Math.exp(-0.5 * t * t)
    // Marsaglia & Tsang (2000) give r = 3.442619855899 (13 digits)
    expect(Math.abs(r - 3.442619855899)).toBeLessThan(1e-11)
    expect(x[1]).toBe(r)
    expect(x[128]).toBe(0)
    // base layer: the rectangle [0, r] × [0, f(r)] and the tail ∫_r^∞ f = √(2π)·(1 − Φ(r))
    const v = r * f(r) + Math.sqrt(2 * Math.PI) * (1 - Phi(r))
    expect(Math.abs(x[0]! * f(r) - v) / v).toBeLessThan(1e-12)
    for (let i = 1; i < 128; i++) {
      expect(x[i + 1]!).toBeLessThan(x[i]!)
      expect(Math.abs((x[i]! * (f(x[i + 1]!) - f(x[i]!))) / v - 1), `layer ${i}`).toBeLessThan(1e-12)
    }
  })
})

describe("the ziggurat's draws are N(0, 1)", () => {
  it("Kolmogorov–Smirnov against Φ over 10⁶ draws, and over 10⁶ draws of normalsOver in blocks of 10", () => {
    const n = 1_000_000
    const rng = Rng.make(20260101) as Rng.Xoroshiro
    const single = new Float64Array(n)
    for (let i = 0; i < n; i++) single[i] = zigguratNormal(rng)
    const bulk = new Float64Array(n)
    const block = new Float64Array(10), ones = new Float64Array(10).fill(1)
    const rng2 = Rng.make(20260102)
    for (let i = 0; i < n; i += 10) {
      normalsOver(rng2, block, ones, 10)
      bulk.set(block, i)
    }
    for (const [label, draws] of [["zigguratNormal", single], ["normalsOver", bulk]] as const) {
      const d = ksStatistic(draws.sort(), Phi)
      console.log(`${label}: KS D ${d.toExponential(3)}, √n·D ${(d * Math.sqrt(n)).toFixed(3)}, critical D at 1e−4 ${ksCritical(n).toExponential(3)}`)
      expect(d).toBeLessThan(ksCritical(n))
    }
  }, 60_000)

  it("moments, lag-1 correlation and the frequencies beyond 3σ, 4σ and r over 10⁷ draws; the tail beyond r by KS against its conditional law", () => {
    const n = 10_000_000
    const rng = Rng.make(7)
    const block = new Float64Array(10), ones = new Float64Array(10).fill(1)
    const { r } = zigguratTables()
    let s1 = 0, s2 = 0, s3 = 0, s4 = 0, lag = 0, previous = 0
    let beyond3 = 0, beyond4 = 0, beyondR = 0
    const tail: Array<number> = []
    for (let i = 0; i < n; i += 10) {
      normalsOver(rng, block, ones, 10)
      for (let k = 0; k < 10; k++) {
        const z = block[k]!, z2 = z * z
        s1 += z
        s2 += z2
        s3 += z2 * z
        s4 += z2 * z2
        lag += z * previous
        previous = z
        const a = Math.abs(z)
        if (a > 3) beyond3++
        if (a > 4) beyond4++
        if (a > r) {
          beyondR++
          tail.push(a)
        }
      }
    }
    within("mean", s1 / n, 0, 1 / Math.sqrt(n))
    within("E z²", s2 / n, 1, Math.sqrt(2 / n))
    within("E z³", s3 / n, 0, Math.sqrt(15 / n))
    within("E z⁴", s4 / n, 3, Math.sqrt(96 / n))
    // consecutive draws independent: E z_k z_{k+1} = 0, sd of the product 1
    within("lag-1 E z_k z_{k+1}", lag / (n - 1), 0, 1 / Math.sqrt(n - 1))
    const frequency = (label: string, count: number, p: number) => within(label, count / n, p, Math.sqrt((p * (1 - p)) / n))
    frequency("P(|z| > 3)", beyond3, 2 * Phi(-3))
    frequency("P(|z| > 4)", beyond4, 2 * Phi(-4))
    frequency("P(|z| > r), the tail layer", beyondR, 2 * Phi(-r))
    // beyond r, |z| has the law P(|z| ≤ t | |z| > r) = 1 − Φ(−t)/Φ(−r)
    const sorted = Float64Array.from(tail).sort()
    const d = ksStatistic(sorted, (t) => 1 - Phi(-t) / Phi(-r))
    console.log(`tail beyond r: ${sorted.length} draws, KS D ${d.toExponential(3)}, critical ${ksCritical(sorted.length).toExponential(3)}`)
    expect(d).toBeLessThan(ksCritical(sorted.length))
  }, 60_000)
})

describe("the ziggurat's determinism", () => {
  it("the same seed gives the same draws; normalsOver's blocks are zigguratNormal's draws divided by the scale, whatever the block sizes", () => {
    const a = Rng.make(3) as Rng.Xoroshiro, b = Rng.make(3) as Rng.Xoroshiro
    const one = Array.from({ length: 1000 }, () => zigguratNormal(a))
    const again = Array.from({ length: 1000 }, () => zigguratNormal(b))
    expect(again).toEqual(one)
    const c = Rng.make(3)
    const scale = Float64Array.from({ length: 7 }, (_, i) => 0.5 + i)
    const out = new Float64Array(7)
    const blocks: Array<number> = [], expected: Array<number> = []
    for (let done = 0, d = 1; done < 1000; done += d, d = (d % 7) + 1) {
      const m = Math.min(d, 1000 - done)
      normalsOver(c, out, scale, m)
      for (let i = 0; i < m; i++) blocks.push(out[i]!)
      for (let i = 0; i < m; i++) expected.push(one[done + i]! / scale[i]!)
    }
    expect(blocks).toEqual(expected)
    // and a clone made mid-stream continues with the same draws
    const d = Rng.make(3) as Rng.Xoroshiro
    for (let i = 0; i < 500; i++) zigguratNormal(d)
    const e = d.clone() as Rng.Xoroshiro
    expect(Array.from({ length: 500 }, () => zigguratNormal(e))).toEqual(one.slice(500))
  })

  it("normalsOver steps the generator's own state: 10⁵ draws in blocks of 10, each block followed by a uniform(), are zigguratNormal's and uniform()'s draws (some 1200 through the slow path)", () => {
    const a = Rng.make(11) as Rng.Xoroshiro, b = Rng.make(11) as Rng.Xoroshiro
    const out = new Float64Array(10), ones = new Float64Array(10).fill(1)
    let same = true
    for (let k = 0; k < 10_000 && same; k++) {
      normalsOver(a, out, ones, 10)
      for (let i = 0; i < 10; i++) same = same && out[i] === zigguratNormal(b)
      same = same && a.uniform() === b.uniform()
    }
    expect(same).toBe(true)
  })

  it("a stream's pending polar normal is left for its next normal(); a scripted source is read through normal(), draw by draw", () => {
    const a = Rng.make(5), b = Rng.make(5)
    a.normal()
    b.normal() // both now hold the polar pair's second normal
    const out = new Float64Array(4), ones = new Float64Array(4).fill(1)
    normalsOver(a, out, ones, 4)
    expect(a.normal()).toBe(b.normal())
    const scripted = Rng.fromUniforms([0.5, 0.975, 0.025])
    normalsOver(scripted, out, Float64Array.from([1, 2, 4, 1]), 3)
    expect(Math.abs(out[0]!)).toBeLessThan(1e-15)
    expect(Math.abs(out[1]! - 1.959963984540054 / 2)).toBeLessThan(1e-12)
    expect(Math.abs(out[2]! + 1.959963984540054 / 4)).toBeLessThan(1e-12)
  })
})
