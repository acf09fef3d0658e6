import { Rng } from "@fugue/core"
import { describe, expect, it } from "@effect/vitest"
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile"
import * as fc from "fast-check"
import * as Diagnostics from "../src/Diagnostics.ts"
import { spectrum0Ar } from "../src/internal/arSpectrum.ts"
import { autocovarianceDirect, autocovarianceFft } from "../src/internal/fft.ts"
import { InvalidOptionsError } from "../src/Options.ts"
import * as Posterior from "../src/Posterior.ts"

// ---------------------------------------------------------------------------------------------
// Fixtures. The Park–Miller generator and the AR filter use only exact integer arithmetic and
// correctly rounded + − × ÷ (and floor), so Python and JavaScript produce bit-identical inputs;
// the reference values below come from the Python script at the end of this file.

const parkMiller = (seed: number): (() => number) => {
  let s = seed
  return () => {
    s = (s * 16807) % 2147483647
    return s / 2147483647
  }
}

const arChain = (u: () => number, n: number, phi: number, scale = 1, shift = 0, digits?: number): Array<number> => {
  let y = 0
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    y = phi * y + (u() - 0.5)
    let v = y * scale + shift
    if (digits !== undefined) v = Math.floor(v * digits) / digits
    out.push(v)
  }
  return out
}

const uA = parkMiller(12345)
/** 3 chains × 11 draws (odd: the middle draw is dropped when splitting), one decimal (ties), chain 2 shifted. */
const A = [0, 1, 2].map((c) => arChain(uA, 11, 0.6, 1, c === 2 ? 0.3 : 0, 10))
const uB = parkMiller(777)
/** 4 chains × 200 draws of an AR(1) with φ = 0.8; chain 3 has twice the scale. */
const B = [0, 1, 2, 3].map((c) => arChain(uB, 200, 0.8, c === 3 ? 2 : 1))
const uC = parkMiller(2024)
/** One chain of 57 draws of an AR(1) with φ = −0.4 (antithetic). */
const C = [arChain(uC, 57, -0.4)]
const uG = parkMiller(99)
/** One chain of 400 draws of an AR(1) with φ = 0.7, for Geweke. */
const G = arChain(uG, 400, 0.7)

/** Stationary Gaussian AR(1) with unit innovations: x₀ ~ N(0, 1/(1 − φ²)). */
const ar1 = (rng: Rng.Rng, n: number, phi: number): Float64Array => {
  const out = new Float64Array(n)
  let y = rng.normal() / Math.sqrt(1 - phi * phi)
  for (let i = 0; i < n; i++) {
    out[i] = y
    y = phi * y + rng.normal()
  }
  return out
}

const iidChains = (seed: number, chains: number, n: number, f: (c: number, z: number) => number = (_, z) => z) =>
  Rng.streams(seed, chains).map((rng, c) => Float64Array.from({ length: n }, () => f(c, rng.normal())))

/** |actual − expected| ≤ rel·|expected| (the references agree with this code to ~1e-13). */
const expectRel = (actual: number | undefined, expected: number, rel = 1e-10): void => {
  expect(actual).toBeTypeOf("number")
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(rel * Math.abs(expected))
}

const all = (x: Diagnostics.Chains) => ({
  ess: Diagnostics.ess(x),
  essMean: Diagnostics.essMean(x),
  essBulk: Diagnostics.essBulk(x),
  essTail: Diagnostics.essTail(x),
  essQuantile30: Diagnostics.essQuantile(x, 0.3),
  essSd: Diagnostics.essSd(x),
  rhatBasic: Diagnostics.rhatBasic(x),
  rhatBulk: Diagnostics.rhatBulk(x),
  rhatTail: Diagnostics.rhatTail(x),
  mcse: Diagnostics.mcse(x),
  mcseQuantile5: Diagnostics.mcseQuantile(x, 0.05),
  mcseQuantile50: Diagnostics.mcseQuantile(x, 0.5)
})

const expectAll = (x: Diagnostics.Chains, reference: Record<string, number>): void => {
  const got = all(x)
  for (const [k, v] of Object.entries(reference)) expectRel(got[k as keyof typeof got], v)
  expect(Diagnostics.rhat(x)).toBe(Math.max(got.rhatBulk!, got.rhatTail!))
}

const posteriorOf = (
  draws: Record<string, ReadonlyArray<Float64Array>>,
  weights?: ReadonlyArray<Float64Array>
): Posterior.Posterior<unknown> => {
  const sites = Object.keys(draws).sort()
  const first = draws[sites[0]]
  return {
    algorithm: weights ? "IS" : "MH",
    sites,
    draws: new Map(sites.map((s) => [s, draws[s]])),
    returns: first.map((c) => Array.from(c, () => undefined)),
    logWeights: first.map((c) => new Float64Array(c.length)),
    weights,
    logEvidence: undefined,
    stats: {}
  }
}

// ---------------------------------------------------------------------------------------------

describe("reference values (independent Python implementation, script at the end of the file)", () => {
  it("small chains with ties and an odd length (data set A)", () => {
    expect(A).toEqual([
      [-0.5, 0.0, 0.5, -0.2, -0.6, -0.9, -0.3, -0.1, 0.3, 0.5, 0.1],
      [-0.4, -0.5, 0.0, 0.5, -0.1, -0.2, -0.6, -0.6, -0.7, -0.1, -0.4],
      [0.7, 0.2, 0.7, 0.9, 0.5, 0.5, 0.4, 0.0, 0.5, 0.3, 0.7]
    ])
    expectAll(A, {
      ess: 4.053052377693034,
      essMean: 11.815451875731416,
      essBulk: 11.79043459646633,
      essTail: 44.31363764158987, // = S·log10(S) for S = 30: the cap
      essQuantile30: 18.04270462633452,
      essSd: 11.815451875731416,
      rhatBasic: 1.490865227888107,
      rhatBulk: 1.5093039087057378,
      rhatTail: 1.0590686707962425,
      mcse: 0.14115407982555808,
      mcseQuantile5: 0.15000000000000002,
      mcseQuantile50: 0.25
    })
    expectRel(Diagnostics.essTail(A), 30 * Math.log10(30), 1e-12)
  })

  it("four autocorrelated chains, one with twice the scale (data set B)", () => {
    expectAll(B, {
      ess: 100.98341640875545,
      essMean: 105.45280518223917,
      essBulk: 107.07132262005237,
      essTail: 80.19847770987458,
      essQuantile30: 155.25540112070146,
      essSd: 51.69621914779064,
      rhatBasic: 1.0247424027369028,
      rhatBulk: 1.0291254908947345,
      rhatTail: 1.0521096914435675,
      mcse: 0.06327597004322803,
      mcseQuantile5: 0.19834392903969855,
      mcseQuantile50: 0.054704530110170804
    })
  })

  it("one antithetic chain (data set C), autocovariance and autocorrelation", () => {
    expectAll(C, {
      ess: 100.08486677333201,
      essMean: 96.20430994438742,
      essBulk: 97.89852951234722,
      essTail: 34.21683408382404,
      essQuantile30: 97.89852951234722,
      essSd: 68.92896169337503,
      rhatBasic: 0.9990984481607954,
      rhatBulk: 0.9957500623761254,
      rhatTail: 1.019098882789606,
      mcse: 0.03180450856461086,
      mcseQuantile5: 0.1298731256757646,
      mcseQuantile50: 0.08124927349184714
    })
    const acov = Diagnostics.autocovariance(C[0], 4)
    const acor = Diagnostics.autocorrelation(C[0], 4)!
    const refAcov = [0.09560598469392857, -0.019553567319037204, -0.02808111313727751, 0.012634247502788907, 0.0124705391991229]
    const refAcor = [1.0, -0.2045224196124926, -0.29371710596544687, 0.13214912793624772, 0.13043680517538603]
    expect(acov.length).toBe(5)
    refAcov.forEach((v, k) => expectRel(acov[k], v, 1e-12))
    refAcor.forEach((v, k) => expectRel(acor[k], v, 1e-12))
    expect(Diagnostics.autocovariance(C[0]).length).toBe(57)
  })

  it("Geweke z and the AR spectral density at zero (data set G)", () => {
    expectRel(Diagnostics.geweke(G), 0.13940874295565864, 1e-10)
    const s = spectrum0Ar(Float64Array.from(G))
    expect(s.order).toBe(2)
    expectRel(s.spectrum, 0.9975897765832824, 1e-10)
  })

  it("the @stdlib Beta quantile that mcseQuantile uses matches scipy.stats.beta.ppf and the closed forms", () => {
    // Closed forms: Beta(1, b) has F⁻¹(p) = 1 − (1 − p)^{1/b}; Beta(a, 1) has p^{1/a}.
    expectRel(betaQuantile(0.3, 1, 4), 1 - Math.pow(0.7, 1 / 4), 1e-12)
    expectRel(betaQuantile(0.3, 4, 1), Math.pow(0.3, 1 / 4), 1e-12)
    // scipy 1.17 beta.ppf(p, a, b).
    expectRel(betaQuantile(0.1586553, 0.05 * 2345.6 + 1, 0.95 * 2345.6 + 1), 0.04587438465121542, 1e-9)
    expectRel(betaQuantile(0.8413447, 50000.5, 49000.25), 0.5066407462888121, 1e-9)
    expectRel(betaQuantile(0.5, 2.5, 3.5), 0.40684494089319373, 1e-9)
    expectRel(betaQuantile(0.01, 0.7, 0.3), 0.005784090928968502, 1e-9)
    expectRel(betaQuantile(0.999, 30, 2), 0.9985123138630576, 1e-9)
  })
})

describe("exact identities", () => {
  it("the FFT autocovariance equals the direct sum", () => {
    const x = ar1(Rng.make(3), 5000, 0.7)
    const fast = autocovarianceFft(x, 4999)
    const direct = autocovarianceDirect(x, 4999)
    let worst = 0
    for (let k = 0; k < 5000; k++) worst = Math.max(worst, Math.abs(fast[k] - direct[k]))
    // Rounding: O(ε log n) relative to γ₀ for the FFT, O(ε n) for the sum.
    expect(worst).toBeLessThan(1e-12 * direct[0] * 5000)
    expect(Diagnostics.autocorrelation(x)![0]).toBe(1)
  })

  it("splitting drops the middle draw of an odd-length chain", () => {
    const a = [0.3, -1.2, 0.8, 2.5, 99, -0.7, 0.1, 1.4, -0.2]
    const b = [...a]
    b[4] = -1234.5
    expect(Diagnostics.rhatBasic([a])).toBe(Diagnostics.rhatBasic([b]))
    expect(Diagnostics.essMean([a])).toBe(Diagnostics.essMean([b]))
    // and is what splitting by hand gives
    expect(Diagnostics.rhatBasic([a])).toBe(Diagnostics.rhatBasic([a.slice(0, 4).concat(a.slice(5))]))
    expect(Diagnostics.essMean([a])).toBe(Diagnostics.ess([a.slice(0, 4), a.slice(5)]))
  })

  it("rank-normalised diagnostics are invariant under increasing transformations", () => {
    const x = iidChains(11, 4, 300)
    const y = x.map((c) => c.map((v) => Math.exp(2 * v) + 5))
    expect(Diagnostics.essBulk(y)).toBe(Diagnostics.essBulk(x))
    expect(Diagnostics.rhatBulk(y)).toBe(Diagnostics.rhatBulk(x))
    expect(Diagnostics.essTail(y)).toBe(Diagnostics.essTail(x))
  })

  it("R-hat and ESS do not depend on the order of the chains", () => {
    const x = iidChains(12, 4, 200)
    const y = [x[2], x[0], x[3], x[1]]
    expectRel(Diagnostics.rhat(y), Diagnostics.rhat(x)!, 1e-13)
    expectRel(Diagnostics.essBulk(y), Diagnostics.essBulk(x)!, 1e-13)
    expectRel(Diagnostics.ess(y), Diagnostics.ess(x)!, 1e-13)
  })

  it("mcse is the pooled sd over the square root of essMean", () => {
    const pooled = B.flat()
    const m = pooled.reduce((a, b) => a + b, 0) / pooled.length
    const sd = Math.sqrt(pooled.reduce((a, b) => a + (b - m) ** 2, 0) / (pooled.length - 1))
    expectRel(Diagnostics.mcse(B), sd / Math.sqrt(Diagnostics.essMean(B)!), 1e-12)
  })

  it("ESS is capped at S·log10(S): a strongly antithetic chain hits the cap", () => {
    const x = ar1(Rng.make(4), 10000, -0.95) // (1 − φ)/(1 + φ) = 39 > log10(10000) = 4
    expectRel(Diagnostics.ess([x]), 10000 * 4, 1e-12)
  })
})

describe("the sample quantile: one rule for every caller", () => {
  it("equally weighted draws: linear interpolation between order statistics (R type 7, np.quantile)", () => {
    const x = [7, 1, 3, 5, 9, 2]
    // sorted 1 2 3 5 7 9; h = 5q: q = 0.5 → 3 + 0.5·2 = 4; q = 0.9 → 7 + 0.5·2 = 8; q = 0.05 → 1 + 0.25·1.
    expect(Diagnostics.quantile(x, 0.5)).toBe(4)
    expect(Diagnostics.quantile(x, 0.9)).toBe(8)
    expect(Diagnostics.quantile(x, 0.05)).toBe(1.25)
    expect(Diagnostics.quantile(x, 0)).toBe(1)
    expect(Diagnostics.quantile(x, 1)).toBe(9)
    expect(Diagnostics.quantile([42], 0.3)).toBe(42)
    // np.quantile(B, [0.05, 0.5, 0.95]) on data set B.
    expectRel(Diagnostics.quantile(B.flat(), 0.05), -1.0878150204608261, 1e-12)
    expectRel(Diagnostics.quantile(B.flat(), 0.95), 0.8620949378738423, 1e-12)
  })

  it("weighted draws: the smallest draw whose cumulative weight reaches q; zero weights drop out", () => {
    const v = [0, 10, 20, 30]
    const w = [2, 1, 1, 0] // normalised 0.5 0.25 0.25 0
    expect(Diagnostics.quantile(v, 0.5, w)).toBe(0)
    expect(Diagnostics.quantile(v, 0.6, w)).toBe(10)
    expect(Diagnostics.quantile(v, 0.75, w)).toBe(10)
    expect(Diagnostics.quantile(v, 1, w)).toBe(20)
    expect(Diagnostics.quantile(v, 0, [0, 1, 1, 1])).toBe(10)
  })

  it("the input arrays are not reordered", () => {
    const x = [3, 1, 2]
    Diagnostics.quantile(x, 0.5)
    Diagnostics.quantile(x, 0.5, [1, 1, 1])
    expect(x).toEqual([3, 1, 2])
  })
})

// Timeouts: the expensive tests carry their own, ≥ 20× their time on the 2-core development
// machine under load ~2 (AR(1) ESS 0.47 s, Geweke 1.2 s, iid R-hat 0.11 s), so they hold on a
// busy CI machine without relying on vitest's 5 s default.
describe("statistical behaviour", () => {
  it("ESS/n of long AR(1) chains tends to (1 − φ)/(1 + φ)", () => {
    // Tolerance: Sokal (1997) gives var(τ̂)/τ² ≈ 2(2M + 1)/N for an autocorrelation time
    // summed over a window of M lags from N draws; Geyer's sequence stops where the pair sums
    // sink below their noise (sd of ρ̂_k ≈ sqrt((1 + φ²)/((1 − φ²)N)) ≈ 0.003–0.007 here), so
    // M ≤ 10 (φ = 0), ≤ 20 (|φ| = 0.5), ≤ 60 (φ = 0.9, ρ₆₀ = 0.002). ESS/n = 1/τ has the same
    // relative sd; we allow 4 sd. Truncation bias (≈ 1% at N = 20 000 for φ = 0, measured) is
    // well inside. N = 4 chains × 50 000.
    const N = 200_000
    for (const [phi, M] of [[0, 10], [0.5, 20], [-0.5, 20], [0.9, 60]] as const) {
      const chains = Rng.streams(100 + Math.round(phi * 10), 4).map((rng) => ar1(rng, N / 4, phi))
      const ratio = Diagnostics.ess(chains)! / N
      const expected = (1 - phi) / (1 + phi)
      const tolerance = 4 * Math.sqrt((2 * (2 * M + 1)) / N)
      expect(Math.abs(ratio / expected - 1)).toBeLessThan(tolerance)
    }
  }, 20_000)

  it("iid normal chains: R-hat within [0.99, 1.01] and bulk ESS ≈ S", () => {
    // 20 replicates of 4 chains × 1000 draws. ESS/S has sd ≈ 0.04 between replicates; the
    // mean of 20 must lie within 4 standard errors (4 · sd/√20) of 1.
    const ratios: Array<number> = []
    for (let k = 0; k < 20; k++) {
      const x = iidChains(50 + k, 4, 1000)
      for (const r of [Diagnostics.rhat(x)!, Diagnostics.rhatBasic(x)!]) {
        expect(r).toBeGreaterThan(0.99)
        expect(r).toBeLessThan(1.01)
      }
      ratios.push(Diagnostics.essBulk(x)! / 4000)
    }
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length
    const sd = Math.sqrt(ratios.reduce((a, b) => a + (b - mean) ** 2, 0) / (ratios.length - 1))
    expect(Math.abs(mean - 1)).toBeLessThan((4 * sd) / Math.sqrt(ratios.length))
  }, 10_000)

  it("chains with shifted means give R-hat well above 1.1", () => {
    const x = iidChains(8, 4, 1000, (c, z) => z + (c === 3 ? 2 : 0))
    expect(Diagnostics.rhat(x)!).toBeGreaterThan(1.1)
    expect(Diagnostics.rhatBasic(x)!).toBeGreaterThan(1.1)
  })

  it("chains with equal means but different scales are caught by the folded R-hat, not the basic one", () => {
    const x = iidChains(7, 4, 1000, (c, z) => z * (c === 3 ? 3 : 1))
    expect(Diagnostics.rhatBasic(x)!).toBeLessThan(1.01)
    expect(Diagnostics.rhatBulk(x)!).toBeLessThan(1.01)
    expect(Diagnostics.rhatTail(x)!).toBeGreaterThan(1.1)
    expect(Diagnostics.rhat(x)).toBe(Diagnostics.rhatTail(x))
  })

  it("Geweke z is N(0, 1) for stationary chains: ~95% of 200 seeds within ±1.96", () => {
    // Count ~ Binomial(200, 0.95): mean 190, sd √(200 · 0.95 · 0.05) = 3.08; allow 4 sd
    // (≥ 178). The AR estimate of S(0) from a short segment is biased low, so the test is
    // liberal for short chains (measured over 2000 seeds: 92.9% within ±1.96 at n = 1000,
    // 95.2% at n = 20 000); hence n = 20 000 here.
    let within = 0
    for (let k = 0; k < 200; k++) {
      const z = Diagnostics.geweke(ar1(Rng.make(5000 + k), 20_000, 0.5))!
      if (Math.abs(z) < 1.959964) within++
    }
    expect(within).toBeGreaterThanOrEqual(178)
  }, 30_000)

  it("Geweke z is large for a drifting chain", () => {
    const rng = Rng.make(6)
    const x = Float64Array.from({ length: 1000 }, (_, t) => 0.003 * t + rng.normal())
    expect(Math.abs(Diagnostics.geweke(x)!)).toBeGreaterThan(5)
  })
})

describe("degenerate inputs never give NaN", () => {
  it("constant chains: R-hat and ESS undefined, MCSE 0", () => {
    const x = [[2, 2, 2, 2, 2], [2, 2, 2, 2, 2]]
    for (const f of [Diagnostics.rhat, Diagnostics.rhatBasic, Diagnostics.rhatBulk, Diagnostics.rhatTail]) {
      expect(f(x)).toBeUndefined()
    }
    for (const f of [Diagnostics.ess, Diagnostics.essMean, Diagnostics.essBulk, Diagnostics.essTail, Diagnostics.essSd]) {
      expect(f(x)).toBeUndefined()
    }
    expect(Diagnostics.essQuantile(x, 0.5)).toBeUndefined()
    expect(Diagnostics.mcse(x)).toBe(0)
    expect(Diagnostics.mcseQuantile(x, 0.5)).toBe(0)
    expect(Diagnostics.autocorrelation(x[0])).toBeUndefined()
    expect(Diagnostics.geweke(new Float64Array(200).fill(1))).toBeUndefined()
  })

  it("each chain stuck at its own value: R-hat is Infinity", () => {
    const x = [[1, 1, 1, 1], [2, 2, 2, 2]]
    expect(Diagnostics.rhat(x)).toBe(Infinity)
    expect(Diagnostics.rhatBasic(x)).toBe(Infinity)
    const g = Float64Array.from({ length: 200 }, (_, i) => (i < 100 ? 0 : 1))
    expect(Diagnostics.geweke(g)).toBe(-Infinity)
  })

  it("a discrete 0/1 quantity: tail ESS falls back to the defined quantile ESS", () => {
    const rng = Rng.make(9)
    const x = [0, 1].map(() => Array.from({ length: 400 }, () => (rng.uniform() < 0.5 ? 1 : 0)))
    // q95 = 1, so I(x ≤ q95) is constant; q05 = 0 gives a proper indicator.
    expect(Diagnostics.essQuantile(x, 0.95)).toBeUndefined()
    expect(Diagnostics.essTail(x)).toBe(Diagnostics.essQuantile(x, 0.05))
    expect(Diagnostics.rhat(x)).toBeTypeOf("number")
  })

  it("property: on any chains (ties, constants, tiny lengths) every result is a number or undefined, never NaN", () => {
    const chainsArb = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 4, max: 30 }), fc.integer({ min: 1, max: 5 }))
      .chain(([m, n, levels]) =>
        fc.array(fc.array(fc.integer({ min: 0, max: levels - 1 }).map((v) => v * 0.5), { minLength: n, maxLength: n }), {
          minLength: m,
          maxLength: m
        })
      )
    fc.assert(
      fc.property(chainsArb, fc.double({ min: 0, max: 1, noNaN: true }), (x, q) => {
        const results = [
          Diagnostics.ess(x), Diagnostics.essMean(x), Diagnostics.essBulk(x), Diagnostics.essTail(x),
          Diagnostics.essSd(x), Diagnostics.essQuantile(x, q), Diagnostics.rhat(x), Diagnostics.rhatBasic(x),
          Diagnostics.mcse(x), Diagnostics.mcseQuantile(x, q)
        ]
        for (const r of results) {
          if (r !== undefined) {
            expect(Number.isNaN(r)).toBe(false)
            expect(r).toBeGreaterThanOrEqual(0)
          }
        }
      }),
      { seed: 20240601, numRuns: 300 }
    )
  }, 10_000)
})

describe("bad input is a DiagnosticsInputError naming the problem", () => {
  const expectError = (f: () => unknown, diagnostic: string, pattern: RegExp): void => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(Diagnostics.DiagnosticsInputError)
      const err = e as Diagnostics.DiagnosticsInputError
      expect(err._tag).toBe("DiagnosticsInputError")
      expect(err.diagnostic).toBe(diagnostic)
      expect(err.problem).toMatch(pattern)
      expect(err.message).toContain(diagnostic)
      return
    }
    throw new Error("expected a DiagnosticsInputError")
  }

  it("no chains, too few draws, unequal lengths, NaN or infinite draws", () => {
    expectError(() => Diagnostics.rhat([]), "rhat", /at least 1 chain/)
    expectError(() => Diagnostics.ess([[1, 2, 3]]), "ess", /3 draws; at least 4/)
    expectError(() => Diagnostics.essBulk([[1, 2, 3, 4], [1, 2, 3]]), "essBulk", /chain 1 has 3 draws but chain 0 has 4/)
    expectError(() => Diagnostics.rhat([[1, 2, 3, 4], [1, Number.NaN, 3, 4]]), "rhat", /chain 1, draw 1 is NaN/)
    expectError(() => Diagnostics.mcse([new Float64Array([1, 2, Infinity, 4])]), "mcse", /chain 0, draw 2 is Infinity/)
    expectError(() => Diagnostics.rhat([["a", "b", "c", "d"] as unknown as Array<number>]), "rhat", /draw 0 is "a"/)
    expectError(() => Diagnostics.rhat([[1, 2, 3, 4], 5 as unknown as Array<number>]), "rhat", /chain 1 is not an array/)
    expectError(() => Diagnostics.rhat(new Float64Array(8) as unknown as Diagnostics.Chains), "rhat", /wrap it as \[chain\]/)
    expectError(() => Diagnostics.ess([1, 2, 3, 4] as unknown as Diagnostics.Chains), "ess", /single chain/)
  })

  it("options out of range", () => {
    expectError(() => Diagnostics.essQuantile(B, 1.5), "essQuantile", /q = 1.5/)
    expectError(() => Diagnostics.mcseQuantile(B, Number.NaN), "mcseQuantile", /q = NaN/)
    expectError(() => Diagnostics.autocorrelation(C[0], 57), "autocorrelation", /maxLag = 57/)
    expectError(() => Diagnostics.autocovariance(C[0], 1.5), "autocovariance", /maxLag = 1.5/)
    expectError(() => Diagnostics.autocorrelation([1, 2]), "autocorrelation", /2 draws/)
    expectError(() => Diagnostics.geweke(G.slice(0, 100)), "geweke", /segments of 10 and 50 draws/)
    expectError(() => Diagnostics.quantileKey(1.5), "quantileKey", /p = 1.5/)
    expectError(() => Diagnostics.quantile([], 0.5), "quantile", /no draws/)
    expectError(() => Diagnostics.quantile([1, 2], 0.5, [1]), "quantile", /1 weights for 2 draws/)
    expectError(() => Diagnostics.quantile([1, 2], 0.5, [1, -1]), "quantile", /weight 1 is -1/)
    expectError(() => Diagnostics.quantile([1, 2], 0.5, [0, 0]), "quantile", /every weight is 0/)
    expectError(() => Diagnostics.quantile([1, 2], "0.5" as unknown as number), "quantile", /q = "0.5"/)
  })

  it("messages describe any offending value: Object.create(null), symbols, bigints", () => {
    const odd: ReadonlyArray<readonly [unknown, RegExp]> = [
      [Object.create(null), /Object\(null prototype\) \{\}/],
      [Symbol("s"), /Symbol\(s\)/],
      [10n, /10n/]
    ]
    for (const [value, shown] of odd) {
      expectError(() => Diagnostics.rhat([[1, 2, 3, value as number]]), "rhat", shown)
      expectError(() => Diagnostics.essQuantile(B, value as number), "essQuantile", shown)
      expectError(() => Diagnostics.autocorrelation(C[0], value as number), "autocorrelation", shown)
      expectError(() => Diagnostics.quantile([1, 2, 3], value as number), "quantile", shown)
      expectError(() => Diagnostics.ess(value as Diagnostics.Chains), "ess", /at least 1 chain/)
      expectError(() => Diagnostics.ess([value as Diagnostics.Chain]), "ess", shown)
      expect(() => Diagnostics.geweke(G, { first: value as number })).toThrow(shown)
      expect(() => Diagnostics.summary(posteriorOf({ x: B.map((c) => Float64Array.from(c)) }), { quantiles: [value as number] })).toThrow(shown)
      expect(() => Diagnostics.formatSummary([], { digits: value as number })).toThrow(shown)
      expect(() => Diagnostics.formatSummary([{ ...row, mean: value as number }])).toThrow(shown)
      // an error built by hand with such values still has a message
      const built = new Diagnostics.DiagnosticsInputError({ diagnostic: value as string, problem: value as string })
      expect(built.message).toMatch(shown)
    }
  })
  const row: Diagnostics.SummaryRow = { site: "a", mean: 0, sd: 1, mcse: undefined, essBulk: undefined, essTail: undefined, rhat: undefined, missing: 0 }
})

describe("options are checked before any work: unknown keys and invalid values are an InvalidOptionsError", () => {
  const post = posteriorOf({ x: B.map((c) => Float64Array.from(c)) })
  const expectOption = (f: () => unknown, algorithm: string, option: string, message: RegExp): void => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidOptionsError)
      const err = e as InvalidOptionsError
      expect(err.algorithm).toBe(algorithm)
      expect(err.option).toBe(option)
      expect(err.message).toMatch(message)
      return
    }
    throw new Error("expected an InvalidOptionsError")
  }

  it("unknown keys name the key and the closest valid one", () => {
    const bad = { quantile: [0.5] } as unknown as Diagnostics.SummaryOptions
    expectOption(() => Diagnostics.summary(post, bad), "summary", "quantile", /^summary: unknown option `quantile`; did you mean `quantiles`\?/)
    const digit = { digit: 3 } as unknown as Diagnostics.FormatOptions
    expectOption(() => Diagnostics.formatSummary([], digit), "formatSummary", "digit", /unknown option `digit`; did you mean `digits`\?/)
    expectOption(() => Diagnostics.summaryToMarkdown([], digit), "summaryToMarkdown", "digit", /did you mean `digits`\?/)
    const frist = { frist: 0.2 } as unknown as Diagnostics.GewekeOptions
    expectOption(() => Diagnostics.geweke(G, frist), "geweke", "frist", /did you mean `first`\?/)
    expectOption(() => Diagnostics.summary(post, null as unknown as Diagnostics.SummaryOptions), "summary", "options", /must be an object/)
  })

  it("before any work: a bad key is reported even when the data are unusable too", () => {
    const bad = { warmUp: 1 } as unknown as Diagnostics.SummaryOptions
    expectOption(() => Diagnostics.summary(undefined as unknown as Posterior.Posterior<unknown>, bad), "summary", "warmUp", /unknown option `warmUp`/)
    expectOption(() => Diagnostics.geweke([1, 2], { first: 0 }), "geweke", "first", /must be a number in \(0, 1\)/)
  })

  it("invalid values name the option", () => {
    expectOption(() => Diagnostics.summary(post, { quantiles: [0.5, -0.1] }), "summary", "quantiles[1]", /quantiles\[1\] = -0.1 \(must be a probability in \[0, 1\]\)/)
    expectOption(() => Diagnostics.summary(post, { quantiles: 0.5 as unknown as Array<number> }), "summary", "quantiles", /must be an array/)
    expectOption(() => Diagnostics.summary(post, { quantiles: [Number.NaN] }), "summary", "quantiles[0]", /NaN/)
    expectOption(() => Diagnostics.formatSummary([], { digits: 0 }), "formatSummary", "digits", /digits = 0/)
    expectOption(() => Diagnostics.summaryToMarkdown([], { digits: "4" as unknown as number }), "summaryToMarkdown", "digits", /digits = "4"/)
    expectOption(() => Diagnostics.geweke(G, { first: 0.6, last: 0.5 }), "geweke", "first + last", /at most 1/)
    expectOption(() => Diagnostics.geweke(G, { first: 0 }), "geweke", "first", /first = 0/)
    expectOption(() => Diagnostics.geweke(G, { last: 1 }), "geweke", "last", /last = 1/)
  })

  it("the rows and the posterior must be what they claim", () => {
    expect(() => Diagnostics.formatSummary("rows" as unknown as Array<Diagnostics.SummaryRow>)).toThrow(Diagnostics.DiagnosticsInputError)
    expect(() => Diagnostics.formatSummary([Object.create(null)])).toThrow(/rows\[0\] is Object\(null prototype\)/)
    expect(() => Diagnostics.summary({} as Posterior.Posterior<unknown>)).toThrow(/expected a Posterior/)
  })
})

describe("summary", () => {
  const chainsX = B.map((c) => Float64Array.from(c))
  const chainsY = iidChains(21, 4, 200, (_, z) => 3 + 2 * z)

  it("reports mean, sd, MCSE, quantiles, ESS and R-hat per site", () => {
    const rows = Diagnostics.summary(posteriorOf({ y: chainsY, x: chainsX }))
    expect(rows.map((r) => r.site)).toEqual(["x", "y"])
    const x = rows[0]
    // Quantiles from NumPy (np.quantile, linear) on data set B.
    expectRel(x.q5, -1.0878150204608261, 1e-12)
    expectRel(x.q50, -0.06337220855073102, 1e-12)
    expectRel(x.q95, 0.8620949378738423, 1e-12)
    // Against the sorted array directly: type 7, h = (S − 1)p.
    const s = B.flat().sort((a, b) => a - b)
    const h = (s.length - 1) * 0.95
    expect(x.q95).toBeCloseTo(s[Math.floor(h)] + (h - Math.floor(h)) * (s[Math.floor(h) + 1] - s[Math.floor(h)]), 14)
    const pooled = B.flat()
    const mean = pooled.reduce((a, b) => a + b, 0) / pooled.length
    expect(x.mean).toBeCloseTo(mean, 14)
    expect(x.sd).toBeCloseTo(Math.sqrt(pooled.reduce((a, b) => a + (b - mean) ** 2, 0) / (pooled.length - 1)), 14)
    expect(x.mcse).toBe(Diagnostics.mcse(B))
    expect(x.essBulk).toBe(Diagnostics.essBulk(B))
    expect(x.essTail).toBe(Diagnostics.essTail(B))
    expect(x.rhat).toBe(Diagnostics.rhat(B))
    expect(x.missing).toBe(0)
    expect(Object.keys(x)).toEqual(["site", "mean", "sd", "mcse", "q5", "q50", "q95", "essBulk", "essTail", "rhat", "missing", "warnings"])
  })

  it("takes the quantiles to report as an option", () => {
    const [row] = Diagnostics.summary(posteriorOf({ y: chainsY }), { quantiles: [0.025, 0.975] })
    expect(Object.keys(row).filter((k) => k.startsWith("q"))).toEqual(["q2.5", "q97.5"])
    expect(row["q2.5"]).toBeLessThan(row["q97.5"])
    expect(Diagnostics.quantileKey(0.05)).toBe("q5")
    expect(Diagnostics.quantileKey(0.001)).toBe("q0.1")
  })

  it("summarises a site absent from some draws over the draws that have it", () => {
    const z = chainsY.map((c) => Float64Array.from(c))
    z[1][3] = Number.NaN
    z[2][0] = Number.NaN
    const [row] = Diagnostics.summary(posteriorOf({ z }))
    const present = z.flatMap((c) => Array.from(c)).filter((v) => !Number.isNaN(v))
    expect(row.missing).toBe(2)
    expect(row.mean).toBeCloseTo(present.reduce((a, b) => a + b, 0) / present.length, 14)
    expect(row.rhat).toBeUndefined()
    expect(row.essBulk).toBeUndefined()
    expect(Number.isNaN(row.sd)).toBe(false)
  })

  it("weighted posteriors: weighted moments and quantiles, Kish ESS, no R-hat", () => {
    const values = [Float64Array.from([1, 2, 3, 4, 10]), Float64Array.from([0, 5, 6, 7, 8])]
    const weights = [Float64Array.from([0.1, 0.2, 0.3, 0.3, 0.1]), Float64Array.from([0.5, 0.125, 0.125, 0.125, 0.125])]
    const post = posteriorOf({ theta: values }, weights)
    const [row] = Diagnostics.summary(post, { quantiles: [0.1, 0.5, 0.9] })
    // Each chain's weights sum to 1; the two chains count equally.
    let mean = 0
    for (let c = 0; c < 2; c++) for (let i = 0; i < 5; i++) mean += (weights[c][i] / 2) * values[c][i]
    let variance = 0
    for (let c = 0; c < 2; c++) for (let i = 0; i < 5; i++) variance += (weights[c][i] / 2) * (values[c][i] - mean) ** 2
    expect(row.mean).toBeCloseTo(mean, 14)
    expect(row.mean).toBeCloseTo((3.6 + 3.25) / 2, 14) // chain means 3.6 and 3.25
    expect(row.sd).toBeCloseTo(Math.sqrt(variance), 14)
    expect(row.mean).toBeCloseTo(Posterior.mean(post, "theta"), 14)
    expect(row.sd).toBeCloseTo(Posterior.sd(post, "theta"), 14)
    // Pooled weights, sorted by value: 0:.25 1:.05 2:.1 3:.15 4:.15 5:.0625 6:.0625 7:.0625 8:.0625 10:.05.
    // Cumulative: .25 .30 .40 .55 .70 .7625 .825 .8875 .95 1 → q10 = 0, q50 = 3, q90 = 8.
    expect([row.q10, row.q50, row.q90]).toEqual([0, 3, 8])
    for (const p of [0.1, 0.5, 0.9]) expect(row[Diagnostics.quantileKey(p)]).toBe(Posterior.quantile(post, "theta", p))
    // Kish: 1/Σw² per chain = 1/0.24 + 1/0.3125.
    const kish = 1 / 0.24 + 1 / 0.3125
    expect(row.essBulk).toBeCloseTo(kish, 12)
    expect(row.essTail).toBeCloseTo(kish, 12)
    expect(row.mcse).toBeCloseTo(Math.sqrt(variance / kish), 12)
    expect(row.rhat).toBeUndefined()
  })

  it("rejects negative weights", () => {
    const post = posteriorOf({ t: [Float64Array.from([1, 2, 3, 4])] }, [Float64Array.from([0.5, 0.6, -0.1, 0])])
    expect(() => Diagnostics.summary(post)).toThrow(Posterior.PosteriorInputError)
    expect(() => Diagnostics.summary(post)).toThrow(/weights\[0\]\[2\] = -0.1 must be finite and >= 0/)
  })

  it("a site absent from every draw is a NoDrawsError naming it", () => {
    const post = posteriorOf({ a: chainsY, gone: chainsY.map((c) => new Float64Array(c.length).fill(Number.NaN)) })
    expect(() => Diagnostics.summary(post)).toThrow(Posterior.NoDrawsError)
    expect(() => Diagnostics.summary(post)).toThrow(/site "gone" is absent from all 800 draws/)
  })

  it("its quantiles are Posterior.quantile's and Diagnostics.quantile's: one rule", () => {
    const post = posteriorOf({ x: chainsX, y: chainsY })
    const rows = Diagnostics.summary(post, { quantiles: [0, 0.05, 0.37, 0.5, 1] })
    for (const row of rows) {
      const pooled = Posterior.pooled(post, row.site)
      for (const p of [0, 0.05, 0.37, 0.5, 1]) {
        expect(row[Diagnostics.quantileKey(p)]).toBe(Posterior.quantile(post, row.site, p))
        expect(row[Diagnostics.quantileKey(p)]).toBe(Diagnostics.quantile(pooled, p))
      }
    }
  })
})

describe("formatting", () => {
  const rows: Array<Diagnostics.SummaryRow> = [
    { site: "mu", mean: 1.23456, sd: 0.5, mcse: 0.0123456, q5: 0.4, q50: 1.2, q95: 2.1, essBulk: 1234.4, essTail: 987.6, rhat: 1.0012, missing: 0 },
    { site: "sigma|long", mean: -12345.678, sd: 0.000012345, mcse: undefined, q5: -1e20, q50: 0, q95: 3, essBulk: undefined, essTail: undefined, rhat: Infinity, missing: 0 }
  ]

  it("formatSummary prints a fixed-width table", () => {
    const text = Diagnostics.formatSummary(rows)
    expect(text).toBe(
      [
        "site          mean        sd     mcse          q5    q50    q95  ess_bulk  ess_tail   rhat",
        "mu           1.235    0.5000  0.01235      0.4000  1.200  2.100      1234       988  1.001",
        "sigma|long  -12346  1.234e-5        -  -1.000e+20      0  3.000         -         -    Inf"
      ].join("\n")
    )
    const lines = text.split("\n")
    expect(new Set(lines.map((l) => l.length)).size).toBe(1)
  })

  it("summaryToMarkdown prints a Markdown table", () => {
    const md = Diagnostics.summaryToMarkdown(rows, { digits: 3 }).split("\n")
    expect(md[0]).toBe("| site | mean | sd | mcse | q5 | q50 | q95 | ess_bulk | ess_tail | rhat |")
    expect(md[1]).toBe("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    expect(md[2]).toBe("| mu | 1.23 | 0.500 | 0.0123 | 0.400 | 1.20 | 2.10 | 1234 | 988 | 1.001 |")
    expect(md[3]).toBe("| sigma\\|long | -12346 | 1.23e-5 | - | -1.00e+20 | 0 | 3.00 | - | - | Inf |")
  })

  it("a summary of a real posterior formats without NaN", () => {
    const text = Diagnostics.formatSummary(Diagnostics.summary(posteriorOf({ x: B.map((c) => Float64Array.from(c)) })))
    expect(text).not.toContain("NaN")
    const lines = text.split("\n")
    // header + one row; then one line per warning (these short chains have a low ESS)
    expect(lines.filter((l) => !l.startsWith("warning: "))).toHaveLength(2)
    for (const l of lines.slice(2)) expect(l).toMatch(/^warning: x: (bulk|tail) ESS \d+ < 400$|^warning: x: R-hat/)
  })

  it("warns when a chain never moves (a stuck sampler), when R-hat > 1.01 and when the ESS is low", () => {
    const n = 200
    const moving = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1)
    const stuck = new Float64Array(n).fill(0.25)
    const rows = Diagnostics.summary(posteriorOf({ x: [moving, stuck] }))
    expect(rows[0].warnings).toContain("chain 1 never moved (every draw 0.25): the sampler is stuck")
    expect(rows[0].warnings!.some((w) => w.startsWith("R-hat"))).toBe(true)
    const text = Diagnostics.formatSummary(rows)
    expect(text).toMatch(/warning: x: chain 1 never moved/)
    // a well-mixed pair of chains raises nothing
    const a = Float64Array.from({ length: 4000 }, (_, i) => Math.sin(i * 78.233) * 43758.5453 % 1)
    const b = Float64Array.from({ length: 4000 }, (_, i) => Math.sin(i * 39.425) * 43758.5453 % 1)
    expect(Diagnostics.summary(posteriorOf({ y: [a, b] }))[0].warnings).toEqual([])
  })
})

/*
Reference script (Python 3.11, numpy 2.4.6, scipy 1.17.1), run on the development machine:

import math
import numpy as np
from scipy import stats, linalg

def park_miller(seed):
    s = seed
    def u():
        nonlocal s
        s = (s * 16807) % 2147483647
        return s / 2147483647
    return u

def ar_chain(u, n, phi, scale=1.0, shift=0.0, digits=None):
    y = 0.0
    out = []
    for _ in range(n):
        y = phi * y + (u() - 0.5)
        v = y * scale + shift
        if digits is not None:
            v = math.floor(v * digits) / digits
        out.append(v)
    return out

def autocov(x):
    x = np.asarray(x, float); n = len(x); d = x - x.mean()
    return np.array([np.dot(d[: n - k], d[k:]) / n for k in range(n)])

def ess_core(ary):  # ArviZ diagnostics.py `_ess`
    ary = np.asarray(ary, float)
    if np.all(ary == ary.flat[0]):
        return None
    m, n = ary.shape
    acov = np.array([autocov(c) for c in ary])
    chain_mean = ary.mean(axis=1)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(chain_mean, ddof=1)
    rho = np.zeros(n)
    rho_even = 1.0; rho[0] = rho_even
    rho_odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus; rho[1] = rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        rho_odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1] = rho_even; rho[t + 2] = rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
            rho[t + 2] = rho[t + 1]
        t += 2
    S = m * n
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
    tau = max(tau, 1 / np.log10(S))
    return S / tau

def split(ary):
    ary = np.asarray(ary, float); half = ary.shape[1] // 2
    return np.vstack([ary[:, :half], ary[:, -half:]])

def z_scale(ary):
    r = stats.rankdata(ary, method="average").reshape(ary.shape)
    return stats.norm.ppf((r - 0.375) / (ary.size + 0.25))

def rhat_core(ary):
    n = ary.shape[1]
    B = n * np.var(ary.mean(axis=1), ddof=1)
    W = np.mean(np.var(ary, axis=1, ddof=1))
    return math.sqrt((B / W + n - 1) / n)

def fold(ary):
    ary = np.asarray(ary, float); return np.abs(ary - np.median(ary))

def ess_quantile(ary, q):
    ary = np.asarray(ary, float)
    return ess_core(split((ary <= np.quantile(ary, q)).astype(float)))

def mnone(a, b):
    return b if a is None else a if b is None else min(a, b)

def mcse_quantile(ary, q):  # posterior's mcse_quantile
    ary = np.asarray(ary, float)
    e = ess_quantile(ary, q)
    a = stats.beta.ppf([0.1586553, 0.8413447], e * q + 1, e * (1 - q) + 1)
    s = np.sort(ary.ravel()); S = s.size
    th1 = s[max(math.floor(a[0] * S), 1) - 1]
    th2 = s[min(math.ceil(a[1] * S), S) - 1]
    return (th2 - th1) / 2

def all_diag(ary):
    ary = np.asarray(ary, float)
    return dict(
        ess=ess_core(ary),
        essMean=ess_core(split(ary)),
        essBulk=ess_core(z_scale(split(ary))),
        essTail=mnone(ess_quantile(ary, 0.05), ess_quantile(ary, 0.95)),
        essQuantile30=ess_quantile(ary, 0.3),
        essSd=mnone(ess_core(split(ary)), ess_core(split((ary - ary.mean()) ** 2))),
        rhatBasic=rhat_core(split(ary)),
        rhatBulk=rhat_core(z_scale(split(ary))),
        rhatTail=rhat_core(z_scale(split(fold(ary)))),
        mcse=np.std(ary, ddof=1) / math.sqrt(ess_core(split(ary))),
        mcseQuantile5=mcse_quantile(ary, 0.05),
        mcseQuantile50=mcse_quantile(ary, 0.5),
        q5=np.quantile(ary, 0.05), q50=np.quantile(ary, 0.5), q95=np.quantile(ary, 0.95),
    )

def spectrum0_ar(x):  # R's ar.yw (AIC order) + coda's spectrum0.ar; each order solved directly
    x = np.asarray(x, float); n = len(x)
    pmax = min(n - 1, int(math.floor(10 * math.log10(n))))
    r = autocov(x)[: pmax + 1]
    best = None
    for p in range(pmax + 1):
        if p == 0:
            phi = np.zeros(0); v = r[0]
        else:
            phi = linalg.solve_toeplitz(r[:p], r[1 : p + 1]); v = r[0] - np.dot(phi, r[1 : p + 1])
        aic = n * math.log(v) + 2 * p
        if best is None or aic < best[0]:
            best = (aic, p, phi, v)
    _, p, phi, v = best
    return v * n / (n - (p + 1)) / (1 - phi.sum()) ** 2, p

def geweke(x, first=0.1, last=0.5):
    x = np.asarray(x, float); n = len(x)
    a = x[: int(math.floor(first * n))]; b = x[n - int(math.floor(last * n)):]
    sa, pa = spectrum0_ar(a); sb, pb = spectrum0_ar(b)
    return (a.mean() - b.mean()) / math.sqrt(sa / len(a) + sb / len(b)), pa, pb

uA = park_miller(12345)
A = [ar_chain(uA, 11, 0.6, shift=0.3 if c == 2 else 0.0, digits=10) for c in range(3)]
uB = park_miller(777)
B = [ar_chain(uB, 200, 0.8, scale=2.0 if c == 3 else 1.0) for c in range(4)]
uC = park_miller(2024)
C = [ar_chain(uC, 57, -0.4)]
uG = park_miller(99)
G = ar_chain(uG, 400, 0.7)
print(A, all_diag(A), all_diag(B), all_diag(C))
print(autocov(C[0])[:5], autocov(C[0])[:5] / autocov(C[0])[0])
print(geweke(G), spectrum0_ar(G))
*/
