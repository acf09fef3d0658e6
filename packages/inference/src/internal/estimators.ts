/**
 * The MCMC estimators behind `Diagnostics` (re-exported there; this module is internal): input
 * checks, split and rank-normalised chains, autocovariance, ESS (Geyer's initial monotone
 * sequence), R-hat, Monte Carlo standard errors, Geweke's z, and the public sample quantile.
 * Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), as implemented in Stan
 * (`stan/analyze/mcmc`), ArviZ (`arviz.stats.diagnostics`) and the R package posterior.
 * Quantile functions come from @stdlib: the normal quantile for rank normalisation, the Beta
 * quantile for the MCSE of a quantile.
 *
 * @internal
 */
import { describe } from "@fugue/core/Value"
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile"
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile"
import * as Data from "effect/Data"
import { checkKeys, InvalidOptionsError } from "../Options.ts"
import { spectrum0Ar } from "./arSpectrum.ts"
import { autocovariance as autocovarianceOf } from "./fft.ts"
import { quantileSorted, sampleQuantile } from "./quantile.ts"

/**
 * One chain of draws of a scalar quantity.
 *
 * @example
 * const chain: Diagnostics.Chain = new Float64Array([0.1, -0.3, 0.2, 0.5])
 *
 * @category models
 * @since 0.1.0
 */
export type Chain = Float64Array | ReadonlyArray<number>

/**
 * Several chains of the same scalar quantity, all of the same length.
 *
 * @example
 * const chains: Diagnostics.Chains = Posterior.chainsOf(post, "slope")
 *
 * @category models
 * @since 0.1.0
 */
export type Chains = ReadonlyArray<Chain>

/**
 * The input to a diagnostic was unusable: no chains, fewer than 4 draws, chains of unequal
 * length, a NaN or infinite draw, or an option out of range. `problem` names the culprit.
 *
 * @example
 * Diagnostics.rhat([[1, 2, 3, 4], [1, 2]]) // throws DiagnosticsInputError { diagnostic: "rhat", problem: "chain 1 has 2 draws but chain 0 has 4 …" }
 *
 * @category errors
 * @since 0.1.0
 */
export class DiagnosticsInputError extends Data.TaggedError("DiagnosticsInputError")<{
  readonly diagnostic: string
  readonly problem: string
}> {
  override get message(): string {
    return `${text(this.diagnostic)}: ${text(this.problem)}`
  }
}

/** A string field as it is, anything else (a field set by hand to any value) described. */
const text = (v: unknown): string => (typeof v === "string" ? v : describe(v))

/** @internal */
export function fail(diagnostic: string, problem: string): never {
  throw new DiagnosticsInputError({ diagnostic, problem })
}

/** @internal */
export const MIN_DRAWS = 4

const checkChain = (diagnostic: string, chain: unknown, label: string): Float64Array => {
  if (!(chain instanceof Float64Array) && !Array.isArray(chain)) {
    return fail(diagnostic, `${label} is not an array of numbers (got ${describe(chain)})`)
  }
  const values = chain as ArrayLike<unknown>
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (typeof v !== "number" || !Number.isFinite(v)) {
      fail(diagnostic, `${label}, draw ${i} is ${describe(v)}; draws must be finite numbers`)
    }
  }
  return chain instanceof Float64Array ? chain : Float64Array.from(values as ArrayLike<number>)
}

const checkChains = (diagnostic: string, chains: Chains): Array<Float64Array> => {
  if (chains instanceof Float64Array || (Array.isArray(chains) && typeof chains[0] === "number")) {
    return fail(diagnostic, "expected an array of chains but got a single chain of numbers; wrap it as [chain]")
  }
  if (!Array.isArray(chains) || chains.length === 0) {
    return fail(diagnostic, "no chains were given; at least 1 chain is needed")
  }
  const first = chains[0] as unknown as { length?: unknown }
  const n = typeof first?.length === "number" ? first.length : 0
  const out: Array<Float64Array> = []
  for (let c = 0; c < chains.length; c++) {
    const chain = checkChain(diagnostic, chains[c], `chain ${c}`)
    if (chain.length !== n) {
      fail(diagnostic, `chain ${c} has ${chain.length} draws but chain 0 has ${n}; chains must have equal lengths`)
    }
    out.push(chain)
  }
  if (n < MIN_DRAWS) fail(diagnostic, `chains have ${n} draws; at least ${MIN_DRAWS} are needed`)
  return out
}

const checkSingle = (diagnostic: string, chain: Chain): Float64Array => {
  const x = checkChain(diagnostic, chain, "the chain")
  if (x.length < MIN_DRAWS) fail(diagnostic, `the chain has ${x.length} draws; at least ${MIN_DRAWS} are needed`)
  return x
}

/** @internal */
export const checkProbability = (diagnostic: string, option: string, q: unknown): number => {
  if (typeof q !== "number" || !(q >= 0 && q <= 1)) {
    return fail(diagnostic, `${option} = ${describe(q)} must be a probability in [0, 1]`)
  }
  return q
}

// ---------------------------------------------------------------------------------------------
// Building blocks: splitting, pooling, ranks.

/** Split each chain into its first and second half, dropping the middle draw when the length is odd. */
const splitChains = (chains: ReadonlyArray<Float64Array>): Array<Float64Array> => {
  const n = chains[0].length
  const half = n >> 1
  const out: Array<Float64Array> = []
  for (const c of chains) out.push(c.subarray(0, half))
  for (const c of chains) out.push(c.subarray(n - half))
  return out
}

const pool = (chains: ReadonlyArray<Float64Array>): Float64Array => {
  const n = chains[0].length
  const out = new Float64Array(chains.length * n)
  for (let c = 0; c < chains.length; c++) out.set(chains[c], c * n)
  return out
}

const map = (chains: ReadonlyArray<Float64Array>, f: (x: number) => number): Array<Float64Array> =>
  chains.map((c) => {
    const out = new Float64Array(c.length)
    for (let i = 0; i < c.length; i++) out[i] = f(c[i])
    return out
  })

const allEqual = (chains: ReadonlyArray<Float64Array>): boolean => {
  const v = chains[0][0]
  for (const c of chains) for (let i = 0; i < c.length; i++) if (c[i] !== v) return false
  return true
}

/** @internal */
export const meanOf = (x: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  return s / x.length
}

/** Sample variance with the n − 1 divisor. @internal */
export const varianceOf = (x: ArrayLike<number>): number => {
  const m = meanOf(x)
  let s = 0
  for (let i = 0; i < x.length; i++) s += (x[i] - m) * (x[i] - m)
  return s / (x.length - 1)
}

const sorted = (x: Float64Array): Float64Array => Float64Array.from(x).sort()

/** Index of the first element of sorted `s` that is >= v (or > v when `strict`). */
const bound = (s: Float64Array, v: number, strict: boolean): number => {
  let lo = 0
  let hi = s.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (strict ? s[mid] <= v : s[mid] < v) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Rank normalisation (Vehtari et al. 2021, Eq. 14): pool all draws, give each its rank r
 * (ties get the average rank), and map it to z = Φ⁻¹((r − 3/8) / (S + 1/4)).
 */
const zScale = (chains: ReadonlyArray<Float64Array>): Array<Float64Array> => {
  const s = sorted(pool(chains))
  const size = s.length
  return map(chains, (v) => {
    // Ranks lo+1 .. hi share the value v; their average is (lo + 1 + hi) / 2.
    const rank = (bound(s, v, false) + 1 + bound(s, v, true)) / 2
    return normalQuantile((rank - 0.375) / (size + 0.25), 0, 1)
  })
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b)

const maxDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b)

// ---------------------------------------------------------------------------------------------
// Autocorrelation.

/**
 * The sample autocovariance of one chain at lags 0..maxLag (default: every lag, n − 1).
 *
 * **Details** γ̂_k = (1/n) Σ_{i=0}^{n−k−1} (x_i − x̄)(x_{i+k} − x̄), the biased estimator (divisor
 * n, so the sequence is positive semi-definite) that Stan and ArviZ use; computed by FFT in
 * O(n log n).
 *
 * @example
 * const acov = Diagnostics.autocovariance([1, 3, 2, 5, 4], 2)
 * acov[0] // the (biased) variance
 *
 * @category numerics
 * @since 0.1.0
 */
export const autocovariance = (chain: Chain, maxLag?: number): Float64Array => {
  const x = checkSingle("autocovariance", chain)
  return autocovarianceOf(x, checkLag("autocovariance", x.length, maxLag))
}

const checkLag = (diagnostic: string, n: number, maxLag: number | undefined): number => {
  if (maxLag === undefined) return n - 1
  if (!Number.isSafeInteger(maxLag) || maxLag < 0 || maxLag > n - 1) {
    fail(diagnostic, `maxLag = ${describe(maxLag)} must be an integer in [0, ${n - 1}] for a chain of ${n} draws`)
  }
  return maxLag
}

/**
 * The sample autocorrelation of one chain at lags 0..maxLag (default n − 1): the
 * autocovariance divided by its value at lag 0. `undefined` for a constant chain.
 *
 * @example
 * const rho = Diagnostics.autocorrelation(chain, 50)
 * rho?.[1] // lag-1 autocorrelation
 *
 * @category numerics
 * @since 0.1.0
 */
export const autocorrelation = (chain: Chain, maxLag?: number): Float64Array | undefined => {
  const x = checkSingle("autocorrelation", chain)
  const acov = autocovarianceOf(x, checkLag("autocorrelation", x.length, maxLag))
  const v = acov[0]
  if (!(v > 0)) return undefined
  for (let k = 0; k < acov.length; k++) acov[k] /= v
  acov[0] = 1
  return acov
}

// ---------------------------------------------------------------------------------------------
// The sample quantile.

/**
 * The sample q-quantile of draws, weighted when `weights` is given: the library's one quantile
 * rule, the one `Posterior.quantile`, `summary` and `essQuantile` use.
 *
 * **Details** Equally weighted: linear interpolation between order statistics, h = (S − 1)q,
 * θ̂_q = θ_(⌊h⌋) + (h − ⌊h⌋)(θ_(⌊h⌋+1) − θ_(⌊h⌋)) (Hyndman & Fan type 7; R's and NumPy's
 * default, as Stan, ArviZ and posterior report). Weighted: the smallest draw whose cumulative
 * normalised weight reaches q (NumPy's weighted `inverted_cdf`); weights are finite, ≥ 0, not
 * all 0, one per draw, and need not sum to 1. At least one draw, all finite; q in [0, 1].
 *
 * @example
 * Diagnostics.quantile([3, 1, 2, 4], 0.5)            // 2.5
 * Diagnostics.quantile([0, 10, 20], 0.5, [2, 1, 1])  // 0
 *
 * @category numerics
 * @since 0.1.0
 */
export const quantile = (draws: Chain, q: number, weights?: Chain): number => {
  const x = checkChain("quantile", draws, "the draws")
  if (x.length === 0) fail("quantile", "no draws were given; at least 1 is needed")
  checkProbability("quantile", "q", q)
  if (weights === undefined) return sampleQuantile(x, q)
  const w = checkChain("quantile", weights, "the weights")
  if (w.length !== x.length) fail("quantile", `${w.length} weights for ${x.length} draws; give one weight per draw`)
  let total = 0
  for (let i = 0; i < w.length; i++) {
    if (w[i] < 0) fail("quantile", `weight ${i} is ${describe(w[i])}; weights must be >= 0`)
    total += w[i]
  }
  if (!(total > 0)) fail("quantile", "every weight is 0")
  return sampleQuantile(x, q, w)
}

// ---------------------------------------------------------------------------------------------
// Effective sample size.

/**
 * Geyer's initial monotone sequence estimator of the ESS of M chains of N draws (Geyer 1992;
 * Stan reference manual "Effective sample size"; Vehtari et al. 2021 §3.2). Transcribes
 * ArviZ's `_ess`, which is Stan's `stan::analyze::ess` with the loop bound and the last pair
 * made consistent (the two agree whenever the sequence ends on a negative pair).
 */
const essCore = (chains: ReadonlyArray<Float64Array>): number | undefined => {
  if (allEqual(chains)) return undefined
  const m = chains.length
  const n = chains[0].length
  // acov[t] averaged over chains; the lag-0 term is each chain's biased variance.
  const meanAcov = new Float64Array(n)
  const chainMeans = new Float64Array(m)
  for (let c = 0; c < m; c++) {
    const acov = autocovarianceOf(chains[c], n - 1)
    for (let t = 0; t < n; t++) meanAcov[t] += acov[t] / m
    chainMeans[c] = meanOf(chains[c])
  }
  // W (mean within-chain variance, n − 1 divisor) and var⁺ = (N−1)/N · W + B/N.
  const meanVar = (meanAcov[0] * n) / (n - 1)
  let varPlus = (meanVar * (n - 1)) / n
  if (m > 1) varPlus += varianceOf(chainMeans)
  const rho = new Float64Array(n)
  const rhoAt = (t: number): number => 1 - (meanVar - meanAcov[t]) / varPlus
  let rhoEven = 1
  rho[0] = rhoEven
  let rhoOdd = rhoAt(1)
  rho[1] = rhoOdd
  // Geyer's initial positive sequence: add pairs ρ_{2k} + ρ_{2k+1} while their sum is positive.
  let t = 1
  while (t < n - 3 && rhoEven + rhoOdd > 0) {
    rhoEven = rhoAt(t + 1)
    rhoOdd = rhoAt(t + 2)
    if (rhoEven + rhoOdd >= 0) {
      rho[t + 1] = rhoEven
      rho[t + 2] = rhoOdd
    }
    t += 2
  }
  const maxT = t - 2
  // The last positive even term enters once: the "improved" estimate that keeps the variance
  // down for antithetic chains (Stan: "tau_hat = -1 + 2 * sum(rho[0..max_s)) + rho[max_s + 1]").
  if (rhoEven > 0) rho[maxT + 1] = rhoEven
  // Geyer's initial monotone sequence: pair sums may not increase.
  t = 1
  while (t <= maxT - 2) {
    if (rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]) {
      rho[t + 1] = (rho[t - 1] + rho[t]) / 2
      rho[t + 2] = rho[t + 1]
    }
    t += 2
  }
  const total = m * n
  let sum = 0
  for (let k = 0; k <= maxT; k++) sum += rho[k]
  let tau = -1 + 2 * sum + (maxT + 1 < n ? rho[maxT + 1] : 0)
  // ESS is capped at S·log10(S) (Stan, ArviZ, posterior), which bounds antithetic estimates.
  tau = Math.max(tau, 1 / Math.log10(total))
  return total / tau
}

/**
 * The basic effective sample size of the chains as given (no splitting, no rank
 * normalisation): Stan's `ess`, with Geyer's initial monotone sequence.
 *
 * **Details** ESS = M·N / τ̂, τ̂ = −1 + 2 Σ_{t=0}^{2K−1} ρ̂_t + ρ̂_{2K} (the last positive even
 * term once), ρ̂_t = 1 − (W − mean_m γ̂_{m,t}) / var⁺, truncated where a pair sum turns
 * negative and made monotone; capped at M·N·log10(M·N). For an AR(1) chain with coefficient
 * φ, ESS/N → (1 − φ)/(1 + φ). `undefined` when every draw is the same.
 *
 * @example
 * Diagnostics.ess([chain0, chain1]) // ≈ 2N/3 for AR(1) chains with φ = 0.5
 *
 * @category numerics
 * @since 0.1.0
 */
export const ess = (chains: Chains): number | undefined => essCore(checkChains("ess", chains))

/**
 * The ESS for the posterior mean: the basic ESS of the split chains (posterior's `ess_mean`,
 * ArviZ's `method="mean"`). This is the ESS that `mcse` uses.
 *
 * @example
 * Diagnostics.essMean(Posterior.chainsOf(post, "slope"))
 *
 * @category numerics
 * @since 0.1.0
 */
export const essMean = (chains: Chains): number | undefined =>
  essCore(splitChains(checkChains("essMean", chains)))

/**
 * Bulk ESS (Vehtari et al. 2021 §4.1): the basic ESS of the rank-normalised split chains.
 * Robust to heavy tails; the ESS to report for the centre of the distribution. Aim for
 * more than 100 per chain.
 *
 * @example
 * Diagnostics.essBulk(Posterior.chainsOf(post, "slope"))
 *
 * @category numerics
 * @since 0.1.0
 */
export const essBulk = (chains: Chains): number | undefined =>
  essCore(zScale(splitChains(checkChains("essBulk", chains))))

const essQuantileOf = (xs: ReadonlyArray<Float64Array>, s: Float64Array, q: number): number | undefined => {
  const threshold = quantileSorted(s, q)
  return essCore(splitChains(map(xs, (v) => (v <= threshold ? 1 : 0))))
}

/**
 * The ESS for the q-quantile (Vehtari et al. 2021 §4.3): the basic ESS of the split chains of
 * the indicator I(θ ≤ θ̂_q), θ̂_q the pooled sample quantile (linear interpolation).
 * `undefined` when the indicator is constant.
 *
 * @example
 * Diagnostics.essQuantile(chains, 0.975)
 *
 * @category numerics
 * @since 0.1.0
 */
export const essQuantile = (chains: Chains, q: number): number | undefined => {
  const xs = checkChains("essQuantile", chains)
  return essQuantileOf(xs, sorted(pool(xs)), checkProbability("essQuantile", "q", q))
}

/**
 * Tail ESS (Vehtari et al. 2021 §4.3): the smaller of the quantile ESS at 5% and at 95%. The
 * ESS to report for tail quantities and intervals. (If one of the two is undefined — a
 * constant indicator, as for a discrete quantity — the other is returned.)
 *
 * @example
 * Diagnostics.essTail(Posterior.chainsOf(post, "slope"))
 *
 * @category numerics
 * @since 0.1.0
 */
export const essTail = (chains: Chains): number | undefined => {
  const xs = checkChains("essTail", chains)
  const s = sorted(pool(xs))
  return minDefined(essQuantileOf(xs, s, 0.05), essQuantileOf(xs, s, 0.95))
}

/**
 * The ESS for the posterior standard deviation (posterior's `ess_sd`): the smaller of the
 * split-chain ESS of θ and of (θ − θ̄)².
 *
 * @example
 * Diagnostics.essSd(chains)
 *
 * @category numerics
 * @since 0.1.0
 */
export const essSd = (chains: Chains): number | undefined => {
  const xs = checkChains("essSd", chains)
  const m = meanOf(pool(xs))
  return minDefined(essCore(splitChains(xs)), essCore(splitChains(map(xs, (v) => (v - m) * (v - m)))))
}

// ---------------------------------------------------------------------------------------------
// R-hat.

/** Gelman–Rubin on the chains as given: sqrt(((N−1)/N · W + B/N) / W). Infinity when W = 0 < B. */
const rhatCore = (chains: ReadonlyArray<Float64Array>): number | undefined => {
  const n = chains[0].length
  const means = new Float64Array(chains.length)
  let within = 0
  for (let c = 0; c < chains.length; c++) {
    means[c] = meanOf(chains[c])
    within += varianceOf(chains[c]) / chains.length
  }
  const between = n * varianceOf(means)
  if (!(within > 0)) return between > 0 ? Infinity : undefined
  return Math.sqrt((between / within + n - 1) / n)
}

const fold = (chains: ReadonlyArray<Float64Array>): Array<Float64Array> => {
  const median = quantileSorted(sorted(pool(chains)), 0.5)
  return map(chains, (v) => Math.abs(v - median))
}

/**
 * The classic split R-hat (Gelman et al., BDA3 §11.4): potential scale reduction of the
 * chains split in halves, on the raw draws. Kept for comparison; prefer `rhat`, which also
 * catches chains that differ in scale or have heavy tails.
 *
 * **Details** With M' = 2M half-chains of N' draws, W the mean within-chain variance and B/N'
 * the variance of the chain means: R̂ = sqrt(((N'−1)/N' · W + B/N') / W). Infinity when
 * every half-chain is constant but they differ; `undefined` when every draw is the same.
 *
 * @example
 * Diagnostics.rhatBasic(Posterior.chainsOf(post, "slope"))
 *
 * @category numerics
 * @since 0.1.0
 */
export const rhatBasic = (chains: Chains): number | undefined =>
  rhatCore(splitChains(checkChains("rhatBasic", chains)))

/**
 * Bulk R-hat (Vehtari et al. 2021 §4.2): split R-hat of the rank-normalised draws.
 *
 * @example
 * Diagnostics.rhatBulk(chains)
 *
 * @category numerics
 * @since 0.1.0
 */
export const rhatBulk = (chains: Chains): number | undefined =>
  rhatCore(zScale(splitChains(checkChains("rhatBulk", chains))))

/**
 * Folded (tail) R-hat (Vehtari et al. 2021 §4.2): split R-hat of the rank-normalised
 * |θ − median(θ)|; detects chains with the same location but different scales.
 *
 * @example
 * Diagnostics.rhatTail(chains)
 *
 * @category numerics
 * @since 0.1.0
 */
export const rhatTail = (chains: Chains): number | undefined =>
  rhatCore(zScale(splitChains(fold(checkChains("rhatTail", chains)))))

/**
 * The recommended R-hat (Vehtari et al. 2021): the larger of the bulk and the folded
 * rank-normalised split R-hat. Use the draws only when it is below 1.01 (with bulk and tail
 * ESS above 100 per chain).
 *
 * **Details** max(rhatBulk, rhatTail). `undefined` when every draw is the same (no
 * variation to compare); Infinity when each half-chain is stuck at its own value. One chain
 * is enough: it is split in two.
 *
 * @example
 * const r = Diagnostics.rhat(Posterior.chainsOf(post, "slope"))
 * if (r !== undefined && r > 1.01) console.warn("not converged")
 *
 * @category numerics
 * @since 0.1.0
 */
export const rhat = (chains: Chains): number | undefined => {
  const xs = checkChains("rhat", chains)
  return maxDefined(rhatCore(zScale(splitChains(xs))), rhatCore(zScale(splitChains(fold(xs)))))
}

// ---------------------------------------------------------------------------------------------
// Monte Carlo standard errors.

/**
 * The Monte Carlo standard error of the posterior mean: sd / sqrt(essMean), sd the pooled
 * sample standard deviation. 0 when every draw is the same.
 *
 * @example
 * const se = Diagnostics.mcse(Posterior.chainsOf(post, "slope"))
 *
 * @category numerics
 * @since 0.1.0
 */
export const mcse = (chains: Chains): number => {
  const xs = checkChains("mcse", chains)
  const e = essCore(splitChains(xs))
  if (e === undefined) return 0
  return Math.sqrt(varianceOf(pool(xs)) / e)
}

// Φ(−1) and Φ(1) as posterior's `mcse_quantile` writes them.
const ONE_SIGMA = [0.1586553, 0.8413447]

/**
 * The Monte Carlo standard error of the q-quantile (Vehtari et al. 2021 §4.4; posterior's
 * `mcse_quantile`): half the width of the ±1σ interval of order statistics implied by a
 * Beta(ess·q + 1, ess·(1 − q) + 1) posterior for the quantile's probability, ess the
 * quantile ESS. 0 when every draw is the same; `undefined` when the quantile ESS is.
 *
 * **Details** a_{1,2} = Beta quantiles at Φ(∓1); with sorted draws θ_(1..S):
 * mcse = (θ_(min(⌈a₂S⌉, S)) − θ_(max(⌊a₁S⌋, 1))) / 2.
 *
 * @example
 * Diagnostics.mcseQuantile(chains, 0.05)
 *
 * @category numerics
 * @since 0.1.0
 */
export const mcseQuantile = (chains: Chains, q: number): number | undefined => {
  const xs = checkChains("mcseQuantile", chains)
  checkProbability("mcseQuantile", "q", q)
  if (allEqual(xs)) return 0
  const s = sorted(pool(xs))
  const e = essQuantileOf(xs, s, q)
  if (e === undefined) return undefined
  const size = s.length
  // @stdlib's Beta quantile (the inverse regularised incomplete beta, Boost's ibeta_inv).
  const a1 = betaQuantile(ONE_SIGMA[0], e * q + 1, e * (1 - q) + 1)
  const a2 = betaQuantile(ONE_SIGMA[1], e * q + 1, e * (1 - q) + 1)
  const th1 = s[Math.max(Math.floor(a1 * size), 1) - 1]
  const th2 = s[Math.min(Math.ceil(a2 * size), size) - 1]
  return (th2 - th1) / 2
}

// ---------------------------------------------------------------------------------------------
// Geweke.

/**
 * Options for `geweke`: the fractions of the chain in the first and the last segment.
 *
 * @example
 * Diagnostics.geweke(chain, { first: 0.1, last: 0.5 })
 *
 * @category models
 * @since 0.1.0
 */
export interface GewekeOptions {
  /** Fraction of draws at the start (default 0.1). */
  readonly first?: number
  /** Fraction of draws at the end (default 0.5). */
  readonly last?: number
}

const GEWEKE_KEYS: ReadonlyArray<string> = ["first", "last"]

/** Draws an AR fit needs so that the order-max model keeps a positive residual degree of freedom. */
const MIN_SEGMENT = 12

/**
 * Geweke's (1992) convergence z-score for one chain: the difference between the means of the
 * first and the last segment, divided by its standard error. Approximately N(0, 1) for a
 * stationary chain; large |z| means the chain was still drifting.
 *
 * **Details** Segments are the first ⌊first·n⌋ and the last ⌊last·n⌋ draws (coda's windows,
 * up to rounding by one draw). Each segment's variance of the mean is S(0)/n_seg, with the
 * spectral density at zero S(0) from an autoregression fitted by Yule–Walker with the order
 * chosen by AIC (coda's `spectrum0.ar`, R's `ar.yw`): unlike batch means this needs no batch
 * size and is accurate for short segments of an autocorrelated chain. Each segment needs at
 * least 12 draws. `undefined` when both segments are constant and equal.
 *
 * @example
 * const z = Diagnostics.geweke(chain)
 * Math.abs(z ?? 0) > 1.96 // evidence of drift at the 5% level
 *
 * @category numerics
 * @since 0.1.0
 */
export const geweke = (chain: Chain, options: GewekeOptions = {}): number | undefined => {
  checkKeys("geweke", options, GEWEKE_KEYS)
  const first = options.first ?? 0.1
  const last = options.last ?? 0.5
  const fraction = (option: string, value: unknown): void => {
    if (typeof value !== "number" || !(value > 0 && value < 1)) {
      throw new InvalidOptionsError({ algorithm: "geweke", option, value, reason: "must be a number in (0, 1)" })
    }
  }
  fraction("first", first)
  fraction("last", last)
  if (first + last > 1) {
    throw new InvalidOptionsError({
      algorithm: "geweke",
      option: "first + last",
      value: first + last,
      reason: "must be at most 1 (the segments may not overlap)"
    })
  }
  const x = checkSingle("geweke", chain)
  const n = x.length
  const nA = Math.floor(first * n)
  const nB = Math.floor(last * n)
  if (nA < MIN_SEGMENT || nB < MIN_SEGMENT) {
    fail("geweke", `segments of ${nA} and ${nB} draws from a chain of ${n}; each needs at least ${MIN_SEGMENT} for the AR fit`)
  }
  const a = x.subarray(0, nA)
  const b = x.subarray(n - nB)
  const diff = meanOf(a) - meanOf(b)
  const variance = spectrum0Ar(a).spectrum / nA + spectrum0Ar(b).spectrum / nB
  if (!(variance > 0)) return diff === 0 ? undefined : diff > 0 ? Infinity : -Infinity
  return diff / Math.sqrt(variance)
}

