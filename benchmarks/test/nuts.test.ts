import { describe, expect, it } from "@effect/vitest"
import * as Diagnostics from "@fugue/inference/Diagnostics"
import * as LogDensity from "@fugue/inference/LogDensity"
import { type DensityGradient, eightSchoolsNonCentred, kidiqData, kidiqRegression } from "../src/gradientModels.ts"
import { HALF_LOG_2PI, eightSchoolsData } from "../src/models.ts"
import { ar1Gaussian, eightSchoolsNonCentredWebppl, iidGaussian, runWebpplHmc } from "../src/nuts.ts"
import * as Hand from "../src/nutsHand.ts"
import { integratorOverhead, transitionOverhead } from "../src/nutsOverhead.ts"
import * as Webppl from "../src/webppl.ts"

// The NUTS suite's hand-written samplers are only a fair limit if they sample the target; its
// WebPPL row only a fair peer if the program runs WebPPL's HMC and hands back every kept draw;
// its kid IQ model only a fair regression if its sufficient-statistics likelihood is the
// row-by-row one. These tests pin that down.

/** A standard normal in d dimensions: log density and gradient. */
const standardNormal: DensityGradient = (q, g) => {
  let lp = 0
  for (let i = 0; i < q.length; i++) {
    lp -= 0.5 * q[i] * q[i]
    g[i] = -q[i]
  }
  return lp
}

/**
 * Every coordinate's mean and second moment within 4 MCSE of 0 and 1 (MCSE from
 * `Diagnostics.mcse`, Geyer's initial-monotone ESS, so autocorrelation is accounted for).
 */
const leavesStandardNormalInvariant = (result: Hand.HandResult, d: number): void => {
  for (let k = 0; k < d; k++) {
    const x = Hand.column(result.draws, d, k)
    const x2 = x.map((v) => v * v)
    const mean = x.reduce((a, b) => a + b, 0) / x.length
    const second = x2.reduce((a, b) => a + b, 0) / x.length
    expect(Math.abs(mean)).toBeLessThan(4 * Diagnostics.mcse([x]))
    expect(Math.abs(second - 1)).toBeLessThan(4 * Diagnostics.mcse([x2]))
  }
}

describe("hand-written Hamiltonian samplers", () => {
  const d = 5
  // a non-unit metric, so the momentum draw and the kinetic energy are both exercised
  const options = (seed: number): Hand.HandOptions => ({
    dimension: d,
    stepSize: 0.4,
    iterations: 20_000,
    initial: new Float64Array(d).fill(0.5),
    seed,
    inverseMetric: Float64Array.from([1, 0.8, 1.2, 1, 0.9])
  })

  it("static HMC leaves a standard normal invariant", () => {
    // ≈ 0.15 s here (cold); timeout 30×.
    const result = Hand.staticHmc(standardNormal, options(1), 5)
    expect(result.gradientEvaluations).toBe(1 + 20_000 * 5)
    expect(result.meanAcceptStat).toBeGreaterThan(0.9)
    leavesStandardNormalInvariant(result, d)
  }, 5_000)

  it("NUTS leaves a standard normal invariant, with trees of depth 2–3", () => {
    // ≈ 0.17 s here (cold); timeout 30×.
    const result = Hand.nuts(standardNormal, options(2))
    expect(result.divergences).toBe(0)
    expect(result.meanTreeDepth).toBeGreaterThan(1.5)
    expect(result.meanTreeDepth).toBeLessThan(4)
    leavesStandardNormalInvariant(result, d)
  }, 5_000)

  it("the leapfrog integrator alone evaluates one gradient a step, with an energy error of second order in ε", () => {
    // on a standard normal the leapfrog's energy error at a time t is O(ε²) (Leimkuhler & Reich
    // 2004, §4.3): over the same t = 2, halving ε divides it by 4 up to O(ε⁴) (4.05 here; a
    // first-order slip in a kick or the drift would give about 2), and it is never exactly 0
    const run = (stepSize: number, steps: number) =>
      Hand.leapfrogOnly(standardNormal, { ...options(4), stepSize, iterations: 200 }, steps)
    const coarse = run(0.2, 10), fine = run(0.1, 20)
    expect(coarse.gradientEvaluations).toBe(1 + 200 * 10)
    expect(fine.gradientEvaluations).toBe(1 + 200 * 20)
    expect(fine.energyError).toBeGreaterThan(0)
    expect(fine.energyError / 200).toBeLessThan(0.01)
    expect(coarse.energyError / fine.energyError).toBeGreaterThan(3.5)
    expect(coarse.energyError / fine.energyError).toBeLessThan(4.5)
  }, 1_000)

  it("a step size far too large diverges and is counted, never NaN", () => {
    const result = Hand.staticHmc((q, g) => {
      // log density −x⁴: the leapfrog blows up for large ε
      g[0] = -4 * q[0] ** 3
      return -(q[0] ** 4)
    }, { dimension: 1, stepSize: 5, iterations: 200, initial: Float64Array.of(1), seed: 3 }, 10)
    expect(result.divergences).toBeGreaterThan(0)
    expect(Array.from(result.draws).every(Number.isFinite)).toBe(true)
  }, 1_000)
})

describe("WebPPL's HMC on eight schools, non-centred", () => {
  it("compiles and hands back every kept draw of mu and tau, in order", () => {
    // ≈ 0.6 s here (most of it compiling); timeout 50×.
    const { program } = Webppl.compile(eightSchoolsNonCentredWebppl)
    const result = runWebpplHmc(program, eightSchoolsData(), { steps: 5, stepSize: 0.3, samples: 200, burn: 20 })
    expect(result.mu.length).toBe(200)
    expect(result.tau.length).toBe(200)
    expect(Array.from(result.tau).every((t) => t > 0)).toBe(true)
    // a chain, not independent draws: HMC at this ε accepts most proposals, so most draws move
    let moved = 0
    for (let i = 1; i < 200; i++) if (result.mu[i] !== result.mu[i - 1]) moved++
    expect(moved).toBeGreaterThan(100)
  }, 30_000)
})

describe("kid IQ regression", () => {
  const data = kidiqData()

  it("the data set is posteriordb's 434 children", () => {
    expect(data.N).toBe(434)
    expect(data.kid_score.length).toBe(434)
    expect(data.mom_iq.length).toBe(434)
  }, 1_000)

  it("its gradient is compiled, on q = [beta0, beta1, log sigma]", () => {
    const density = LogDensity.make(kidiqRegression(data))
    expect(density.gradientSource).toBe("compiled")
    expect(density.sites.map((s) => s.address)).toEqual(["beta0", "beta1", "sigma"])
  }, 1_000)

  it("its sufficient-statistics likelihood equals the row-by-row sum, Jacobian included", () => {
    // Relative 1e-10: Σy² ≈ 3.4·10⁶ cancels down to Σ residual² ≈ 1.5·10⁵, costing about two digits.
    const density = LogDensity.make(kidiqRegression(data))
    const logNormal = (x: number, m: number, s: number) => -HALF_LOG_2PI - Math.log(s) - (0.5 * (x - m) ** 2) / (s * s)
    for (const [b0, b1, logSigma] of [[26, 0.6, Math.log(18)], [20, 0.65, 3], [-5, 1, 2.5], [0, 0, 4]]) {
      const sigma = Math.exp(logSigma)
      let expected = logNormal(b0, 0, 100) + logNormal(b1, 0, 100) + Math.log(2 / (Math.PI * 2.5)) - Math.log1p((sigma / 2.5) ** 2) + logSigma
      for (let i = 0; i < data.N; i++) expected += logNormal(data.kid_score[i], b0 + b1 * data.mom_iq[i], sigma)
      const actual = density.logDensity(Float64Array.of(b0, b1, logSigma))
      expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-10 * Math.abs(expected))
    }
  }, 1_000)
})

describe("the scaling models", () => {
  it("iid and AR(1) Gaussians have compiled gradients of the right dimension", () => {
    for (const make of [iidGaussian, ar1Gaussian]) {
      const density = LogDensity.make(make(100))
      expect(density.dimension).toBe(100)
      expect(density.gradientSource).toBe("compiled")
    }
  }, 1_000)
})

describe("the transitions-alone overhead", () => {
  it("times a NUTS step (a gradient and the sampler's work) above the gradient alone, both finite", () => {
    // eight schools at a warm-up-like ε and unit metric: a step evaluates the gradient once and
    // adds the sampler's work (about as much again), so it cannot cost less than the gradient alone
    const density = LogDensity.make(eightSchoolsNonCentred(eightSchoolsData()))
    const r = transitionOverhead(density, 0.4, new Float64Array(density.dimension).fill(1), 3, 300)
    expect(Number.isFinite(r.stepNs) && Number.isFinite(r.gradientNs)).toBe(true)
    expect(r.gradientNs).toBeGreaterThan(0)
    expect(r.stepNs).toBeGreaterThan(r.gradientNs)
    expect(r.chainNs).toBeGreaterThan(0)
    expect(r.quartiles[0]).toBeLessThanOrEqual(r.overhead)
    expect(r.overhead).toBeLessThanOrEqual(r.quartiles[1])
  }, 10_000)

  it("integratorOverhead times the hand-written leapfrog alone against the same gradient", () => {
    // ≈ 0.1 s here; timeout 50×. The integrator adds its kicks and drift to each gradient, so a
    // step costs more than the gradient alone
    const density = LogDensity.make(eightSchoolsNonCentred(eightSchoolsData()))
    const points = Array.from({ length: 16 }, (_, k) => new Float64Array(density.dimension).fill(0.05 * k))
    const r = integratorOverhead(density, 0.4, new Float64Array(density.dimension).fill(1), points[3]!, points, 8, 3, 300)
    expect(r.gradientNs).toBeGreaterThan(0)
    expect(r.stepNs).toBeGreaterThan(r.gradientNs)
    expect(r.quartiles[0]).toBeLessThanOrEqual(r.overhead)
    expect(r.overhead).toBeLessThanOrEqual(r.quartiles[1])
  }, 5_000)
})
