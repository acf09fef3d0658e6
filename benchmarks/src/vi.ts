/**
 * Variational inference, side by side: `Vi.runUnsafe` (mean-field and full-rank ADVI) on a
 * 10-coefficient Bayesian linear regression with known noise, against a hand-written mean-field
 * ADVI loop (one draw per step, the same Adam: β 0.9 / 0.999, ε 1e-8, learning rate 0.01) on
 * the analytic gradient, and the same hand loop on `LogDensity`'s compiled gradient (what
 * separates the sampler from the gradient). Iterations per second at n = 50 and n = 100
 * observations (the second is above the default compile limit, so its gradient is taped).
 * Writes `benchmarks/results/vi.md`.
 *
 * @since 0.2.0
 */
import { Ad, addr, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as LogDensity from "@fugue/inference/LogDensity"
import * as Vi from "@fugue/inference/Vi"
import { environment, markdownTable, timeRuns, writeResult } from "./report.ts"

const D = 10
const SIGMA = 0.8, PRIOR = 2

/** The regression and its data (fixed seed): b_j ~ N(0, 2), y_i ~ N(x_i·b, 0.8). */
export const regression = (n: number): { model: Model<void>; X: Float64Array; y: Float64Array } => {
  const rng = CoreRng.make(7)
  const rows = Array.from({ length: n }, () => Array.from({ length: D }, () => rng.normal()))
  const beta = Array.from({ length: D }, (_, j) => (j % 2 ? 1 : -1) * (0.5 + j / D))
  const y = rows.map((r) => r.reduce((s, x, j) => s + x * beta[j]!, 0) + SIGMA * rng.normal())
  const model: Model<void> = function*() {
    const b: Array<Ad.Real> = []
    for (let j = 0; j < D; j++) b.push(yield* sample(addr("b", j), Normal(0, PRIOR)))
    for (let i = 0; i < n; i++) yield* observe(addr("y", i), Normal(Ad.dot(rows[i]!, b), SIGMA), y[i]!)
  }
  const X = new Float64Array(n * D)
  rows.forEach((r, i) => r.forEach((v, j) => (X[i * D + j] = v)))
  return { model, X, y: Float64Array.from(y) }
}

/** The analytic log density and gradient of `regression(n)`. */
export const handGradient = (X: Float64Array, y: Float64Array) => {
  const n = y.length
  const logNorm = -Math.log(SIGMA) - 0.5 * Math.log(2 * Math.PI), logPrior = -Math.log(PRIOR) - 0.5 * Math.log(2 * Math.PI)
  return (b: Float64Array, g: Float64Array): number => {
    let lp = 0
    for (let j = 0; j < D; j++) {
      g[j] = -b[j]! / (PRIOR * PRIOR)
      lp += logPrior - 0.5 * (b[j]! / PRIOR) ** 2
    }
    for (let i = 0; i < n; i++) {
      let mu = 0
      const o = i * D
      for (let j = 0; j < D; j++) mu += X[o + j]! * b[j]!
      const r = (y[i]! - mu) / SIGMA
      lp += logNorm - 0.5 * r * r
      const w = r / SIGMA
      for (let j = 0; j < D; j++) g[j] = g[j]! + w * X[o + j]!
    }
    return lp
  }
}

/** A hand-written mean-field ADVI loop: one draw per step, Adam, no convergence check; returns μ. */
export const handAdvi = (iterations: number, seed: number, gradient: (b: Float64Array, g: Float64Array) => number): Float64Array => {
  const r = CoreRng.make(seed)
  const mu = new Float64Array(D), om = new Float64Array(D), eps = new Float64Array(D), z = new Float64Array(D), g = new Float64Array(D)
  const m = new Float64Array(2 * D), v = new Float64Array(2 * D), grad = new Float64Array(2 * D)
  let b1 = 1, b2 = 1
  for (let t = 0; t < iterations; t++) {
    for (let i = 0; i < D; i++) {
      eps[i] = r.normal()
      z[i] = mu[i]! + Math.exp(om[i]!) * eps[i]!
    }
    gradient(z, g)
    for (let i = 0; i < D; i++) {
      grad[i] = g[i]!
      grad[D + i] = g[i]! * eps[i]! * Math.exp(om[i]!) + 1
    }
    b1 *= 0.9
    b2 *= 0.999
    for (let k = 0; k < 2 * D; k++) {
      m[k] = 0.9 * m[k]! + 0.1 * grad[k]!
      v[k] = 0.999 * v[k]! + 0.001 * grad[k]! * grad[k]!
      const step = (0.01 * m[k]! / (1 - b1)) / (Math.sqrt(v[k]! / (1 - b2)) + 1e-8)
      if (k < D) mu[k] = mu[k]! + step
      else om[k - D] = om[k - D]! + step
    }
  }
  return mu
}

const main = (): void => {
  const lines: Array<string> = []
  const log = (s: string) => {
    console.log(s)
    lines.push(s)
  }
  log("# Variational inference\n")
  log(environment())
  const ITERS = 20_000
  const rows: Array<Array<string>> = []
  for (const n of [50, 100]) {
    const { model, X, y } = regression(n)
    const ld = LogDensity.make(model)
    const hand = handGradient(X, y)
    const compiled = (b: Float64Array, g: Float64Array) => ld.logDensityGradient(b, g)
    const rate = (ms: number) => (ITERS / ms) * 1000
    const tHand = timeRuns(() => handAdvi(ITERS, 2, hand), { warmup: 1, runs: 5 })
    const tHandLd = timeRuns(() => handAdvi(ITERS, 2, compiled), { warmup: 1, runs: 5 })
    const vi = (options: Vi.Options) => () => Vi.runUnsafe(model, { seed: 2, iterations: ITERS, tolerance: 1e-12, draws: 1, ...options })
    const tMf = timeRuns(vi({}), { warmup: 1, runs: 5 })
    const tMf1 = timeRuns(vi({ evalSamples: 1 }), { warmup: 1, runs: 5 })
    const tFr = timeRuns(vi({ guide: "fullRank" }), { warmup: 1, runs: 3 })
    const fmt = (ms: number) => `${(rate(ms) / 1000).toFixed(0)} k it/s`
    rows.push([
      `n = ${n} (${ld.gradientSource} gradient)`,
      fmt(tHand.medianMs),
      fmt(tHandLd.medianMs),
      `${fmt(tMf.medianMs)} (${(tMf.medianMs / tHand.medianMs).toFixed(2)}×)`,
      `${fmt(tMf1.medianMs)} (${(tMf1.medianMs / tHandLd.medianMs).toFixed(2)}×)`,
      fmt(tFr.medianMs)
    ])
  }
  log("\n## 10-coefficient regression, 20 000 iterations\n")
  log(markdownTable(
    ["model", "hand ADVI, analytic gradient", "hand ADVI, LogDensity gradient", "Vi mean-field (÷ hand analytic, time)", "Vi mean-field, evalSamples 1 (÷ hand on LogDensity)", "Vi full-rank"],
    rows
  ))
  log("\n- Vi's default convergence check draws 100 ELBO samples every 100 iterations (about one more log density per step); `evalSamples: 1` shows the loop itself against the hand loop on the same gradient.")
  log("- Medians of 5 runs (3 for full rank) after one warm-up run; the tolerance is set so that every run takes all 20 000 iterations.")
  writeResult("vi", lines.join("\n"))
}

if (import.meta.url === `file://${process.argv[1]}`) main()
