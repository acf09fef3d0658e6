import { describe, expect, it } from "@effect/vitest"
import { Rng } from "@fugue/core"
import { PriorHandler, run, ScoreGivenTrace } from "@fugue/runtime"
import {
  bootstrapFilter,
  eightSchools,
  eightSchoolsData,
  eightSchoolsLogJoint,
  eightSchoolsPosteriorMeanMu,
  HALF_LOG_2PI,
  kalman,
  linearRegression,
  randomWalkData,
  regressionForward,
  regressionLogJoint,
  regressionMh,
  regressionPosteriorMeans
} from "../src/models.ts"

// The hand-written baselines are only a fair "physical limit" if they compute exactly what the
// Fugue models compute. These tests pin that down, then check the baselines' inference (and
// the exact references the inference suite prints) against closed-form answers.

const relClose = (a: number, b: number, rel = 1e-12) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b))

/** Batch-means Monte Carlo standard error of the mean of xs[from..] (B batches). */
const batchMeans = (xs: ArrayLike<number>, from: number, batches: number): { mean: number; mcse: number } => {
  const n = xs.length - from
  const size = Math.floor(n / batches)
  const means: Array<number> = []
  for (let b = 0; b < batches; b++) {
    let s = 0
    for (let i = 0; i < size; i++) s += xs[from + b * size + i]
    means.push(s / size)
  }
  const mean = means.reduce((a, b) => a + b, 0) / batches
  const variance = means.reduce((a, m) => a + (m - mean) ** 2, 0) / (batches - 1)
  return { mean, mcse: Math.sqrt(variance / batches) }
}

describe("hand-written regression", () => {
  it("draws exactly what PriorHandler draws from the same seed, with the same log weights", () => {
    const out = new Float64Array(5)
    for (let seed = 1; seed <= 50; seed++) {
      const [, trace] = run(new PriorHandler(Rng.make(seed)), linearRegression)
      regressionForward(Rng.make(seed), out)
      expect(out[0]).toBe(trace.choices.get("slope")!.value)
      expect(out[1]).toBe(trace.choices.get("intercept")!.value)
      expect(out[2]).toBe(trace.choices.get("noise")!.value)
      expect(relClose(out[3], trace.logPrior)).toBe(true)
      expect(relClose(out[4], trace.logLikelihood)).toBe(true)
    }
  })

  it("its log joint equals ScoreGivenTrace's total log weight", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const [, trace] = run(new PriorHandler(Rng.make(seed)), linearRegression)
      const [, scored] = run(new ScoreGivenTrace(trace), linearRegression)
      const v = (a: string) => trace.choices.get(a)!.value as number
      expect(relClose(regressionLogJoint(v("slope"), v("intercept"), v("noise")), scored.totalLogWeight)).toBe(true)
    }
    expect(regressionLogJoint(1, 0, 0)).toBe(-Infinity)
    expect(regressionLogJoint(1, 0, -1)).toBe(-Infinity)
  })

  it("the exact posterior means agree with self-normalised importance sampling from the prior", () => {
    // 400 000 prior draws weighted by the likelihood; SE of the self-normalised estimate is
    // sqrt(Σ w²(x − μ̂)²) / Σ w (delta method). Tolerance: 4 SE.
    const exact = regressionPosteriorMeans()
    const rng = Rng.make(11)
    const out = new Float64Array(5)
    const n = 400_000
    const xs = new Float64Array(n)
    const ws = new Float64Array(n)
    let sw = 0
    let swx = 0
    for (let i = 0; i < n; i++) {
      regressionForward(rng, out)
      xs[i] = out[0]
      ws[i] = Math.exp(out[4] + 10)
      sw += ws[i]
      swx += ws[i] * xs[i]
    }
    const mu = swx / sw
    let s2 = 0
    for (let i = 0; i < n; i++) s2 += ws[i] * ws[i] * (xs[i] - mu) ** 2
    const se = Math.sqrt(s2) / sw
    expect(Math.abs(mu - exact.slope)).toBeLessThan(4 * se)
  }, 10_000)

  it("single-site MH recovers the exact posterior means of slope and noise", () => {
    // 4 chains × 100 000 iterations, 2 000 burn-in each; MCSE per chain by batch means (50
    // batches), combined MCSE = sqrt(Σ mcse²)/4. Tolerance: 4 × combined MCSE.
    const exact = regressionPosteriorMeans()
    for (const [site, truth] of [[0, exact.slope], [2, exact.noise]] as const) {
      let sum = 0
      let var_ = 0
      for (let chain = 0; chain < 4; chain++) {
        const { draws } = regressionMh(Rng.make(100 + chain), 100_000)
        const column = new Float64Array(100_000)
        for (let i = 0; i < 100_000; i++) column[i] = draws[3 * i + site]
        const { mean, mcse } = batchMeans(column, 2000, 50)
        sum += mean
        var_ += mcse * mcse
      }
      const estimate = sum / 4
      const mcse = Math.sqrt(var_) / 4
      expect(Math.abs(estimate - truth)).toBeLessThan(4 * mcse)
    }
  }, 10_000)
})

describe("hand-written eight schools", () => {
  const data = eightSchoolsData()
  const model = eightSchools(data)

  it("its log joint equals ScoreGivenTrace's total log weight", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const [, trace] = run(new PriorHandler(Rng.make(seed)), model)
      const [, scored] = run(new ScoreGivenTrace(trace), model)
      const state = new Float64Array(data.J + 2)
      state[0] = trace.choices.get("mu")!.value as number
      state[1] = trace.choices.get("tau")!.value as number
      for (let j = 0; j < data.J; j++) state[2 + j] = trace.choices.get(`theta#${j}`)!.value as number
      expect(relClose(eightSchoolsLogJoint(data, state), scored.totalLogWeight, 1e-10)).toBe(true)
    }
  })

  it("the exact E[mu | y] agrees with importance sampling over (mu, tau), thetas integrated out", () => {
    // Prior draws of (mu, tau), weight Π N(y_j; mu, σ_j² + τ²); tolerance 4 SE (delta method).
    const exact = eightSchoolsPosteriorMeanMu(data)
    const rng = Rng.make(5)
    const n = 400_000
    const xs = new Float64Array(n)
    const lw = new Float64Array(n)
    let max = -Infinity
    for (let i = 0; i < n; i++) {
      const mu = 5 * rng.normal()
      const tau = 5 * Math.tan(0.5 * Math.PI * rng.uniform())
      let l = 0
      for (let j = 0; j < data.J; j++) {
        const v = data.sigma[j] ** 2 + tau * tau
        l += -HALF_LOG_2PI - 0.5 * Math.log(v) - (0.5 * (data.y[j] - mu) ** 2) / v
      }
      xs[i] = mu
      lw[i] = l
      if (l > max) max = l
    }
    let sw = 0
    let swx = 0
    for (let i = 0; i < n; i++) {
      const w = Math.exp(lw[i] - max)
      sw += w
      swx += w * xs[i]
    }
    const est = swx / sw
    let s2 = 0
    for (let i = 0; i < n; i++) s2 += Math.exp(2 * (lw[i] - max)) * (xs[i] - est) ** 2
    const se = Math.sqrt(s2) / sw
    expect(Math.abs(est - exact)).toBeLessThan(4 * se)
    expect(exact).toBeGreaterThan(4)
    expect(exact).toBeLessThan(5)
  }, 10_000)
})

describe("hand-written particle filter", () => {
  const { ys } = randomWalkData()
  const exact = kalman(ys)

  it("the data set is the committed 50-step random walk", () => {
    expect(ys.length).toBe(50)
    expect(exact.logEvidence).toBeLessThan(0)
  })

  it("its evidence estimate is unbiased and its filtering mean consistent (Kalman)", () => {
    // Ẑ is unbiased for Z (Del Moral 2004): over R = 40 runs, mean(Ẑ/Z) is within 4 SE of 1,
    // SE = sd(Ẑ/Z)/√R. The filtering mean's bias is O(1/N) (≈ 4e-4 here), far below 4 SE of
    // the average over runs.
    const runs = 40
    const ratios: Array<number> = []
    const means: Array<number> = []
    for (let r = 0; r < runs; r++) {
      const out = bootstrapFilter(Rng.make(1000 + r), ys, 1000)
      ratios.push(Math.exp(out.logEvidence - exact.logEvidence))
      means.push(out.mean)
    }
    const avg = (xs: Array<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
    const se = (xs: Array<number>) => {
      const m = avg(xs)
      return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) / xs.length)
    }
    expect(Math.abs(avg(ratios) - 1)).toBeLessThan(4 * se(ratios))
    expect(Math.abs(avg(means) - exact.mean)).toBeLessThan(4 * se(means))
  })
})
