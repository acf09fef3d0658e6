/**
 * Predictive accuracy from posterior draws: approximate leave-one-out cross-validation by
 * Pareto-smoothed importance sampling (PSIS-LOO) and the widely applicable information criterion
 * (WAIC), from a pointwise log-likelihood (`Predictive.logLikelihoodUnsafe`). Follows Vehtari,
 * Gelman & Gabry (2017), "Practical Bayesian model evaluation using leave-one-out cross-validation
 * and WAIC", Statistics and Computing 27, and Vehtari, Simpson, Gelman, Yao & Gabry (2024),
 * "Pareto smoothed importance sampling", JMLR 25, as implemented in the R package loo (tail length
 * min(0.2·S, 3√S), the Zhang & Stephens (2009) generalised-Pareto fit with its weakly informative
 * prior on the shape, weights truncated at the largest raw weight). Each observation's Pareto k̂
 * says how far its estimate can be trusted: above 0.7 it cannot (a warning names it).
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import type { Posterior } from "./Posterior.ts"

/**
 * The pointwise log-likelihood was unusable: no observations, chains of different lengths, fewer
 * than 2 draws, or a NaN.
 *
 * @example
 * Loo.psisLoo(emptyPosterior) // throws LooInputError
 *
 * @category errors
 * @since 0.2.0
 */
export class LooInputError extends Data.TaggedError("LooInputError")<{ readonly problem: string }> {
  override get message(): string {
    return `Loo: ${this.problem}`
  }
}

/**
 * PSIS-LOO's result.
 *
 * @example
 * const { elpd, se, pLoo, paretoK } = Loo.psisLoo(ll)
 *
 * @category models
 * @since 0.2.0
 */
export interface LooResult {
  /** The expected log pointwise predictive density, Σᵢ log p(yᵢ | y₋ᵢ). */
  readonly elpd: number
  /** Its standard error, √n · sd(elpdᵢ). */
  readonly se: number
  /** The effective number of parameters, lpd − elpd. */
  readonly pLoo: number
  /** The LOO information criterion −2·elpd. */
  readonly looic: number
  /** Per observation: log p(yᵢ | y₋ᵢ), and the Pareto k̂ of its importance weights. */
  readonly pointwise: ReadonlyArray<{ readonly observation: string; readonly elpd: number; readonly paretoK: number }>
  /** Observations with k̂ > 0.7 (unreliable), in words. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * WAIC's result.
 *
 * @example
 * const { elpd, pWaic } = Loo.waic(ll)
 *
 * @category models
 * @since 0.2.0
 */
export interface WaicResult {
  readonly elpd: number
  readonly se: number
  /** Σᵢ Var_s(log p(yᵢ | θˢ)). */
  readonly pWaic: number
  readonly waic: number
  /** Observations whose posterior variance of the log-likelihood exceeds 0.4 (WAIC unreliable there). */
  readonly warnings: ReadonlyArray<string>
}

/** The pooled draws of each observation's log-likelihood. */
const pointwiseOf = (ll: Posterior<unknown>): Array<{ name: string; values: Float64Array }> => {
  if (typeof ll !== "object" || ll === null || !(ll.draws instanceof Map) || ll.sites.length === 0) {
    throw new LooInputError({ problem: "expected a pointwise log-likelihood (Predictive.logLikelihoodUnsafe) with at least one observation" })
  }
  return ll.sites.map((name) => {
    const chains = ll.draws.get(name)!
    let n = 0
    for (const c of chains) n += c.length
    if (n < 2) throw new LooInputError({ problem: `observation "${name}" has ${n} draws; at least 2 are needed` })
    const values = new Float64Array(n)
    let k = 0
    for (const c of chains) for (let i = 0; i < c.length; i++) values[k++] = c[i]!
    for (let i = 0; i < n; i++) if (Number.isNaN(values[i]!)) throw new LooInputError({ problem: `observation "${name}" has a NaN log-likelihood at draw ${i}` })
    return { name, values }
  })
}

const logSumExp = (x: ArrayLike<number>): number => {
  let m = -Infinity
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!
  if (m === -Infinity || m === Infinity) return m
  let s = 0
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m)
  return m + Math.log(s)
}

/**
 * Zhang & Stephens (2009) estimate of a generalised Pareto fit to the sorted exceedances x, with
 * loo's weakly informative prior on k (k̂ ← (n·k̂ + 10·0.5)/(n + 10)).
 */
const gpdFit = (x: Float64Array): { k: number; sigma: number } => {
  const n = x.length
  const prior = 3
  const m = 30 + Math.floor(Math.sqrt(n))
  const xstar = x[Math.floor(n / 4 + 0.5) - 1]!
  const theta = new Float64Array(m)
  const lTheta = new Float64Array(m)
  for (let j = 0; j < m; j++) {
    theta[j] = 1 / x[n - 1]! + (1 - Math.sqrt(m / (j + 1 - 0.5))) / prior / xstar
    // profile log-likelihood: n (log(b/k) − k − 1) with b = −θ, k = mean log1p(b x)
    const b = -theta[j]!
    let k = 0
    for (let i = 0; i < n; i++) k += Math.log1p(b * x[i]!)
    k /= n
    lTheta[j] = n * (Math.log(b / k) - k - 1)
  }
  const lse = logSumExp(lTheta)
  let thetaHat = 0
  for (let j = 0; j < m; j++) thetaHat += theta[j]! * Math.exp(lTheta[j]! - lse)
  let k = 0
  for (let i = 0; i < n; i++) k += Math.log1p(-thetaHat * x[i]!)
  k /= n
  const sigma = -k / thetaHat
  k = (n * k + 10 * 0.5) / (n + 10)
  return { k: Number.isNaN(k) ? Infinity : k, sigma }
}

/** The generalised Pareto quantile function. */
const qgpd = (p: number, k: number, sigma: number): number => (sigma * Math.expm1(-k * Math.log1p(-p))) / k

/** Pareto-smoothed log weights of one observation (in place, relative to the log ratios' scale); returns k̂. */
const psis = (logRatios: Float64Array, lw: Float64Array): number => {
  const S = logRatios.length
  let max = -Infinity
  for (let i = 0; i < S; i++) if (logRatios[i]! > max) max = logRatios[i]!
  for (let i = 0; i < S; i++) lw[i] = logRatios[i]! - max
  const tail = Math.ceil(Math.min(0.2 * S, 3 * Math.sqrt(S)))
  let khat = Infinity
  if (tail >= 5) {
    const order = Array.from({ length: S }, (_, i) => i).sort((a, b) => lw[a]! - lw[b]!)
    const tailIds = order.slice(S - tail)
    const lo = lw[tailIds[0]!]!, hi = lw[tailIds[tail - 1]!]!
    if (Math.abs(hi - lo) >= Number.EPSILON / 100) {
      const cutoff = lw[order[S - tail - 1]!]!
      const tailMax = hi
      const exceed = new Float64Array(tail)
      const base = Math.exp(cutoff - tailMax)
      for (let j = 0; j < tail; j++) exceed[j] = Math.exp(lw[tailIds[j]!]! - tailMax) - base
      const fit = gpdFit(exceed)
      khat = fit.k
      if (Number.isFinite(fit.k)) {
        for (let j = 0; j < tail; j++) {
          const q = qgpd((j + 1 - 0.5) / tail, fit.k, fit.sigma) + base
          lw[tailIds[j]!] = Math.log(q) + tailMax
        }
      }
    }
  }
  // truncated at the largest raw weight (0 after the shift)
  for (let i = 0; i < S; i++) if (lw[i]! > 0) lw[i] = 0
  return khat
}

/**
 * PSIS-LOO from a pointwise log-likelihood (`Predictive.logLikelihoodUnsafe`): per observation,
 * importance weights 1/p(yᵢ | θˢ) over the posterior draws, Pareto-smoothed, give
 * log p(yᵢ | y₋ᵢ) ≈ log Σ wₛ p(yᵢ | θˢ) − log Σ wₛ. Draws are treated as one pooled sample
 * (relative efficiency 1, as loo's default). Throws `LooInputError` for an unusable input.
 *
 * @example
 * const ll = Predictive.logLikelihoodUnsafe(model, Nuts.runUnsafe(model, { samples: 1000, chains: 4 }))
 * const { elpd, se, paretoK } = Loo.psisLoo(ll)
 *
 * @category constructors
 * @since 0.2.0
 */
export const psisLoo = (logLikelihood: Posterior<unknown>): LooResult => {
  const points = pointwiseOf(logLikelihood)
  const pointwise: Array<{ observation: string; elpd: number; paretoK: number }> = []
  let lpd = 0
  for (const { name, values } of points) {
    const S = values.length
    const ratios = new Float64Array(S), lw = new Float64Array(S), sum = new Float64Array(S)
    for (let s = 0; s < S; s++) ratios[s] = -values[s]!
    const k = psis(ratios, lw)
    for (let s = 0; s < S; s++) sum[s] = lw[s]! + values[s]!
    const elpd = logSumExp(sum) - logSumExp(lw)
    lpd += logSumExp(values) - Math.log(S)
    pointwise.push({ observation: name, elpd, paretoK: k })
  }
  const n = pointwise.length
  const elpd = pointwise.reduce((a, p) => a + p.elpd, 0)
  const mean = elpd / n
  const variance = n > 1 ? pointwise.reduce((a, p) => a + (p.elpd - mean) ** 2, 0) / (n - 1) : 0
  const bad = pointwise.filter((p) => !(p.paretoK <= 0.7))
  const warnings = bad.length === 0 ? [] : [
    `Pareto k̂ > 0.7 for ${bad.length} of ${n} observations (${bad.slice(0, 5).map((p) => `${p.observation}: ${p.paretoK.toFixed(2)}`).join(", ")}${bad.length > 5 ? ", …" : ""}): their LOO estimates are unreliable; refit without them (exact LOO) or use K-fold cross-validation`
  ]
  return { elpd, se: Math.sqrt(n * variance), pLoo: lpd - elpd, looic: -2 * elpd, pointwise, warnings }
}

/**
 * WAIC from a pointwise log-likelihood: elpd = Σᵢ [log mean_s p(yᵢ | θˢ) − Var_s log p(yᵢ | θˢ)].
 * PSIS-LOO is the better estimate (and says when it fails); WAIC is here for comparison.
 *
 * @example
 * Loo.waic(ll).elpd
 *
 * @category constructors
 * @since 0.2.0
 */
export const waic = (logLikelihood: Posterior<unknown>): WaicResult => {
  const points = pointwiseOf(logLikelihood)
  const terms: Array<number> = []
  let pWaic = 0
  const warned: Array<string> = []
  for (const { name, values } of points) {
    const S = values.length
    let m = 0
    for (let s = 0; s < S; s++) m += values[s]!
    m /= S
    let v = 0
    for (let s = 0; s < S; s++) v += (values[s]! - m) ** 2
    v /= S - 1
    pWaic += v
    if (v > 0.4) warned.push(name)
    terms.push(logSumExp(values) - Math.log(S) - v)
  }
  const n = terms.length
  const elpd = terms.reduce((a, b) => a + b, 0)
  const mean = elpd / n
  const variance = n > 1 ? terms.reduce((a, t) => a + (t - mean) ** 2, 0) / (n - 1) : 0
  const warnings = warned.length === 0 ? [] : [`the log-likelihood's posterior variance exceeds 0.4 for ${warned.length} of ${n} observations (${warned.slice(0, 5).join(", ")}): WAIC is unreliable; use PSIS-LOO`]
  return { elpd, se: Math.sqrt(n * variance), pWaic, waic: -2 * elpd, warnings }
}
