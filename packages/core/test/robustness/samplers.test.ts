/**
 * Samplers at extreme parameters. Every draw must be finite, of the right type and in the support,
 * and its `logProb` never NaN or +∞ — and finite wherever the independent bound of `families.ts`
 * proves the log density there is a finite double (in particular draws clamped to 2^-1074, 1 − 2^-53
 * or MAX_VALUE are scored finitely when the family's mass is representable at all).
 *
 * Moments, on 10^4 draws at fixed seeds, standardised by the family's own mean and variance:
 * z = (x − μ)/σ, |mean z| ≤ 5/√n (the sample mean's standard error is σ/√n; 5 SE is a two-sided
 * normal false-alarm rate of 6e-7 per check), and |var z − 1| ≤ 6·√((m4 − 1)/n) + 30/n with m4 the
 * sample's fourth moment of z (the delta-method SE of a sample variance; 6 SE because m4 is itself
 * estimated; 30/n for the O(1/n) terms the delta method drops, all there is for a two-point law). The variance is checked only where the kurtosis is moderate and the spread is wider
 * than the doubles around the mean (σ ≫ ulp(μ)): Gamma(1e300, 1) has σ = 1e150 but ulp(1e300) ≈
 * 1e284, so its draws cannot show any spread. Means of clamped draws may differ from the exact
 * mean by the clamping (at most 2^-1074 per draw), so a slack of 1e-300 (absolute) is allowed.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Distribution } from "../../src/Distribution.ts"
import * as F from "../../src/distributions/index.ts"
import * as Rng from "../../src/Rng.ts"
import { families, FINITE_BOUND, type Family } from "./families.ts"

const byName = new Map(families.map((f) => [f.name, f]))
const family = (name: string): Family => byName.get(name) as Family

/**
 * One draw's checks: type, support, finite value, finite log density where provably representable.
 * Plain comparisons (an `expect` per draw would dominate the suite's time); a failure names the draw.
 */
const checkDraw = (f: Family, p: ReadonlyArray<any>, d: Distribution<any>, x: unknown): void => {
  const finite = x instanceof Float64Array ? x.every((v) => Number.isFinite(v)) : typeof x !== "number" || Number.isFinite(x)
  const lp = d.logProb(x)
  const ok = d.isValue(x) && finite && f.inSupport(p, x) && lp === lp && lp !== Infinity && !(f.bound(p, x) < FINITE_BOUND && lp === -Infinity)
  if (!ok) expect.fail(`${f.name}(${p.map((v) => JSON.stringify(v)).join(", ")}): draw ${x instanceof Float64Array ? `[${Array.from(x)}]` : String(x)} has log density ${lp}`)
}

describe("samplers terminate and stay in the support for random extreme parameters", () => {
  /** 150 parameter settings × 100 draws per family: 30–100 ms each on a quiet machine (timeout 10 s). */
  for (const f of families) {
    it(
      `${f.name}: draws are finite, in the support, and scored without NaN or +∞`,
      () => {
        fc.assert(
          fc.property(f.params, fc.integer(), (p, seed) => {
            const d = f.make(p)
            const rng = Rng.make(seed)
            for (let i = 0; i < 100; i++) checkDraw(f, p, d, d.sample(rng))
          }),
          { numRuns: 150, seed: 20251102 }
        )
      },
      10_000
    )
  }
})

/** Which moments to compare: both, the mean only (heavy tails, or spread below the doubles), none. */
type Moments = "both" | "mean" | "none"

/** Extreme parameter settings whose mass the doubles can represent, with the moments to check. */
const EXTREMES: ReadonlyArray<[string, ReadonlyArray<any>, Moments]> = [
  ["Normal", [0, 1e-300], "both"],
  ["Normal", [1e300, 1e299], "both"],
  ["Normal", [-1e308, 1e307], "both"],
  ["LogNormal", [700, 0.01], "both"],
  ["LogNormal", [-700, 0.01], "both"],
  ["LogNormal", [0, 1e-300], "mean"],
  ["Uniform", [-8e307, 8e307], "both"],
  ["Uniform", [-1e-300, 1e-300], "both"],
  ["Uniform", [1e308, Number.MAX_VALUE], "both"],
  ["Exponential", [1e-300], "both"],
  ["Exponential", [1e300], "both"],
  ["Gamma", [1e-3, 1], "mean"],
  ["Gamma", [0.01, 1], "mean"],
  ["Gamma", [1e-300, 1], "mean"],
  ["Gamma", [1e300, 1e300], "mean"],
  ["Gamma", [1e300, 1], "mean"],
  ["Gamma", [1e5, 1], "both"],
  ["Gamma", [2, 1e-300], "both"],
  ["Gamma", [2, 1e300], "both"],
  ["Beta", [1e-3, 1e-3], "both"],
  ["Beta", [1e-310, 1e-310], "both"],
  ["Beta", [0.01, 0.01], "both"],
  ["Beta", [1e300, 1e300], "mean"],
  ["Beta", [1e-300, 1e300], "mean"],
  ["Beta", [1e300, 1e-300], "mean"],
  ["Beta", [Number.MAX_VALUE, Number.MAX_VALUE], "mean"],
  ["Beta", [1e5, 3e5], "both"],
  ["Bernoulli", [1e-300], "mean"],
  ["Bernoulli", [1 - 2 ** -53], "mean"],
  ["Binomial", [2 ** 53 - 1, 0.5], "both"],
  ["Binomial", [1e9, 1e-300], "mean"],
  ["Binomial", [1000, 1 - 2 ** -53], "mean"],
  ["Categorical", [[Number.MIN_VALUE, 1, Number.MAX_VALUE]], "mean"],
  ["Poisson", [1e-300], "mean"],
  ["Poisson", [1e15], "both"],
  ["Poisson", [1e300], "mean"],
  ["Poisson", [2 ** 120], "mean"],
  ["Cauchy", [1e300, 1e-300], "none"],
  ["Cauchy", [0, 1e308], "none"],
  ["HalfCauchy", [1e-300], "none"],
  ["HalfCauchy", [1e308], "none"],
  ["HalfNormal", [1e-300], "both"],
  ["HalfNormal", [1e300], "both"],
  ["StudentT", [0.01, 0, 1], "none"],
  ["StudentT", [1e-300, 0, 1], "none"],
  ["StudentT", [1e308, 0, 1], "both"],
  ["StudentT", [10, 0, 1e-300], "both"],
  ["StudentT", [3, 1e300, 1e290], "mean"],
  ["Laplace", [-1e300, 1e299], "both"],
  ["Laplace", [0, 1e-300], "both"],
  ["Weibull", [1e-3, 1], "none"],
  ["Weibull", [1e10, 1], "both"],
  ["Weibull", [1.5, 1e300], "both"],
  ["Weibull", [2, 1e-300], "both"],
  ["ChiSquared", [1e-300], "mean"],
  ["ChiSquared", [0.01], "mean"],
  ["ChiSquared", [1e308], "mean"],
  ["InverseGamma", [1e300, 1e300], "mean"],
  ["InverseGamma", [10, 1e300], "both"],
  ["InverseGamma", [0.01, 1], "none"],
  ["DiscreteUniform", [-(2 ** 52), 2 ** 52], "both"],
  ["Geometric", [1e-300], "both"],
  ["Geometric", [Number.MIN_VALUE], "none"],
  ["NegativeBinomial", [1e-3, 1e-310], "none"],
  ["NegativeBinomial", [4e-323, 0.5], "mean"],
  ["NegativeBinomial", [1e300, 0.5], "mean"],
  ["NegativeBinomial", [50, 1e-10], "both"],
  ["Dirichlet", [[1e-310, 1e-310]], "mean"],
  ["Dirichlet", [[0.01, 0.01, 0.01]], "mean"],
  ["Dirichlet", [[1e300, 1e300, 1e300]], "mean"],
  ["Dirichlet", [[1e-300, 1, 1e300]], "mean"],
  ["Multinomial", [2 ** 53 - 1, [1, 1, 0]], "mean"],
  ["Multinomial", [1e6, [Number.MIN_VALUE, 1, Number.MAX_VALUE]], "mean"],
  ["MultivariateNormal", [[1e150, -1e150], [[1e298, 0], [0, 1e298]]], "both"],
  ["MultivariateNormal", [[1e308, -1e308], [[1e300, 0], [0, 1e300]]], "mean"],
  ["MultivariateNormal", [[0, 0], [[1e-300, 0], [0, 1e-300]]], "both"]
]

const N = 10_000

/** z = (x − μ)/σ, from the halves where x − μ overflows. */
const standardise = (x: number, mu: number, sigma: number): number => {
  const d = x - mu
  return d - d === 0 ? d / sigma : ((0.5 * x - 0.5 * mu) / sigma) * 2
}

const checkMoments = (xs: Float64Array, mu: number, variance: number, which: Moments, label: string): void => {
  if (which === "none" || !Number.isFinite(mu)) return
  const n = xs.length
  if (!(variance > 0 && variance < Infinity)) {
    // σ² under- or overflows although σ may not (Normal(0, 1e-300), Normal(1e300, 1e299)): the
    // mean alone, against the sample's own spread (computed relative to its largest deviation).
    // The mean as x_0 + Σ(x_i − x_0)/n: exact for a constant sample, no overflow for huge values.
    let shift = 0
    for (let i = 0; i < n; i++) shift += standardise(xs[i], xs[0], n)
    const m = xs[0] + shift
    let scale = 0
    for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(standardise(xs[i], m, 1)))
    if (scale === 0) {
      expect(Math.abs(m - mu), `${label}: mean ${m} vs ${mu}`).toBeLessThanOrEqual(1e-300 + 1e-15 * Math.abs(mu))
      return
    }
    let s2 = 0
    for (let i = 0; i < n; i++) s2 += standardise(xs[i], m, scale) ** 2 / (n - 1)
    const s = Math.sqrt(s2) * scale
    expect(Math.abs(standardise(m, mu, s)), `${label}: mean ${m} vs ${mu}`).toBeLessThanOrEqual(5 / Math.sqrt(n) + 1e-300 / s)
    return
  }
  const sigma = Math.sqrt(variance)
  let zs = 0
  let z2 = 0
  let z4 = 0
  for (let i = 0; i < n; i++) {
    const z = standardise(xs[i], mu, sigma)
    zs += z
    z2 += z * z
    z4 += z * z * z * z
  }
  const zMean = zs / n
  // + 4 ulp(μ)/σ: draws are doubles, so a spread below the ulp of the mean shows only as rounding.
  expect(Math.abs(zMean), `${label}: standardised mean ${zMean}`).toBeLessThanOrEqual(5 / Math.sqrt(n) + (1e-300 + 4 * 2 ** -52 * Math.abs(mu)) / sigma)
  if (which === "both") {
    const zVar = (z2 - n * zMean * zMean) / (n - 1)
    const se = Math.sqrt(Math.max(z4 / n - 1, 0) / n)
    // + 30/n: the O(1/n) part the delta method leaves out (var z − 1 ≈ 1/n − mean(z)², and
    // mean(z)² ≤ 25/n at 5 SE), which is all there is for a two-point law (m4 = 1, SE 0).
    expect(Math.abs(zVar - 1), `${label}: standardised variance ${zVar} (SE ${se})`).toBeLessThanOrEqual(6 * se + 30 / n)
  }
}

describe("extreme parameters × 10^4 draws: finite, in the support, finite log density, moments", () => {
  it(
    "every listed setting",
    () => {
      for (const [name, p, which] of EXTREMES) {
        const f = family(name)
        const d = f.make(p)
        const rng = Rng.make(17)
        const label = `${name}(${p.map((v) => JSON.stringify(v)).join(", ")})`
        const draws: Array<unknown> = []
        for (let i = 0; i < N; i++) {
          const x = d.sample(rng)
          const lp = d.logProb(x)
          if (!(lp > -Infinity && lp < Infinity)) expect.fail(`${label}: draw ${String(x)} has log density ${lp}`)
          checkDraw(f, p, d, x)
          draws.push(x)
        }
        const mean = d.mean()
        const variance = d.variance()
        if (typeof mean === "number") {
          checkMoments(Float64Array.from(draws as Array<number | boolean>, Number), mean, variance as number, which, label)
        } else if (mean instanceof Float64Array) {
          for (let j = 0; j < mean.length; j++) {
            const xs = Float64Array.from(draws as Array<Float64Array>, (x) => x[j])
            checkMoments(xs, mean[j], (variance as Float64Array)[j], which, `${label}[${j}]`)
          }
        }
      }
    },
    20_000
  )
})

describe("overflow and underflow happen only as often as the law puts mass beyond the doubles", () => {
  // 4·10^5 draws; a binomial count's SE is √(n p (1 − p)), and 5 SE bounds each check.
  const M = 400_000
  const within = (count: number, p: number): void => {
    expect(Math.abs(count - M * p)).toBeLessThan(5 * Math.sqrt(M * p * (1 - p)))
  }
  it(
    "StudentT(0.01): |t| ≥ MAX_VALUE with probability I_{ν/(ν+MAX²)}(ν/2, ½) = 8.025e-4 (mpmath)",
    () => {
      const d = F.StudentT(0.01)
      const rng = Rng.make(1)
      let at = 0
      for (let i = 0; i < M; i++) if (Math.abs(d.sample(rng)) >= Number.MAX_VALUE) at++
      within(at, 8.02528149366055e-4)
    },
    5_000
  )
  it(
    "Gamma(0.01, 1): draws below 2^-1074 (returned as 2^-1074) with probability P(0.01, 2^-1074) = 5.880e-4 (mpmath)",
    () => {
      const d = F.Gamma(0.01, 1)
      const rng = Rng.make(2)
      let at = 0
      // A draw in [2^-1074, 1.5·2^-1074) also rounds to 2^-1074: its mass, about 5e-4·(1.5^0.01 − 1) ≈ 2e-6, is negligible.
      for (let i = 0; i < M; i++) if (d.sample(rng) === Number.MIN_VALUE) at++
      within(at, 5.88043042468477e-4)
    },
    5_000
  )
})
