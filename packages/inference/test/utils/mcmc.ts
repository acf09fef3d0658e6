// Test helpers for the MCMC statistical tests: effective sample size by Geyer's initial
// positive (monotone) sequence, Monte Carlo standard errors of a mean and of a standard
// deviation, and split R-hat (plain, BDA3 §11.4, and rank-normalised, Vehtari et al. 2021).
// Kept local to the tests so the tolerances do not depend on the library code under test.
import { normalQuantile } from "@fugue/core/Rng"

/** In-place radix-2 FFT (re, im of power-of-two length). */
const fft = (re: Float64Array, im: Float64Array, inverse: boolean): void => {
  const n = re.length
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      let t = re[i]; re[i] = re[j]; re[j] = t
      t = im[i]; im[i] = im[j]; im[j] = t
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len
    const wr = Math.cos(ang), wi = Math.sin(ang)
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0
      for (let k = 0; k < len / 2; k++) {
        const ar = re[i + k], ai = im[i + k]
        const br = re[i + k + len / 2] * cr - im[i + k + len / 2] * ci
        const bi = re[i + k + len / 2] * ci + im[i + k + len / 2] * cr
        re[i + k] = ar + br; im[i + k] = ai + bi
        re[i + k + len / 2] = ar - br; im[i + k + len / 2] = ai - bi
        const t = cr * wr - ci * wi
        ci = cr * wi + ci * wr
        cr = t
      }
    }
  }
}

/** Autocorrelations ρ_0..ρ_{n−1} of one chain (biased autocovariance / variance, via FFT). */
export const autocorrelation = (x: ArrayLike<number>): Float64Array => {
  const n = x.length
  let mean = 0
  for (let i = 0; i < n; i++) mean += x[i]
  mean /= n
  let size = 1
  while (size < 2 * n) size <<= 1
  const re = new Float64Array(size), im = new Float64Array(size)
  for (let i = 0; i < n; i++) re[i] = x[i] - mean
  fft(re, im, false)
  for (let i = 0; i < size; i++) {
    re[i] = re[i] * re[i] + im[i] * im[i]
    im[i] = 0
  }
  fft(re, im, true)
  const out = new Float64Array(n)
  const c0 = re[0]
  for (let t = 0; t < n; t++) out[t] = c0 > 0 ? re[t] / c0 : t === 0 ? 1 : 0
  return out
}

/**
 * Effective sample size of one chain by Geyer's (1992) initial monotone positive sequence:
 * Γ_k = ρ_2k + ρ_2k+1 summed while positive and forced non-increasing; τ = −1 + 2 Σ Γ_k; ESS = n/τ.
 * A constant chain has ESS 1 (nothing is learned from repeats).
 */
export const essGeyer = (x: ArrayLike<number>): number => {
  const n = x.length
  const rho = autocorrelation(x)
  if (rho[0] !== 1) return 1
  let sum = 0
  let prev = Infinity
  for (let k = 0; 2 * k + 1 < n; k++) {
    let g = rho[2 * k] + rho[2 * k + 1]
    if (g <= 0) break
    if (g > prev) g = prev
    sum += g
    prev = g
  }
  const tau = Math.max(-1 + 2 * sum, 1 / Math.log10(n)) // Stan's lower bound on τ
  return n / tau
}

const meanOf = (x: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  return s / x.length
}

/** ESS of several independent chains: the sum of the chains' ESS. */
export const essChains = (chains: ReadonlyArray<ArrayLike<number>>): number => chains.reduce((s, c) => s + essGeyer(c), 0)

export interface MeanCheck {
  readonly estimate: number
  readonly exact: number
  readonly mcse: number
  readonly ess: number
  /** |estimate − exact| / mcse */
  readonly z: number
}

const pool = (chains: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  const n = chains.reduce((s, c) => s + c.length, 0)
  const out = new Float64Array(n)
  let k = 0
  for (const c of chains) for (let i = 0; i < c.length; i++) out[k++] = c[i]
  return out
}

/** Posterior mean estimate with MCSE = sd / sqrt(ESS), ESS by Geyer summed over chains. */
export const checkMean = (chains: ReadonlyArray<ArrayLike<number>>, exact: number): MeanCheck => {
  const all = pool(chains)
  const estimate = meanOf(all)
  let v = 0
  for (let i = 0; i < all.length; i++) v += (all[i] - estimate) ** 2
  const sd = Math.sqrt(v / (all.length - 1))
  const ess = essChains(chains)
  const mcse = sd / Math.sqrt(ess)
  return { estimate, exact, mcse, ess, z: Math.abs(estimate - exact) / mcse }
}

/**
 * Posterior sd estimate with its MCSE by the delta method: σ̂² is the mean of d = (x − m)²,
 * whose MCSE is sd(d)/sqrt(ESS(d)); then MCSE(σ̂) = MCSE(σ̂²) / (2σ̂).
 */
export const checkSd = (chains: ReadonlyArray<ArrayLike<number>>, exact: number): MeanCheck => {
  const all = pool(chains)
  const m = meanOf(all)
  const sq = chains.map((c) => Float64Array.from(c as ArrayLike<number>, (x) => (x - m) ** 2))
  const v = checkMean(sq, exact * exact)
  const estimate = Math.sqrt(v.estimate)
  const mcse = v.mcse / (2 * estimate)
  return { estimate, exact, mcse, ess: v.ess, z: Math.abs(estimate - exact) / mcse }
}

const splitHalves = (chains: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> => {
  const out: Array<Float64Array> = []
  for (const c of chains) {
    const half = Math.floor(c.length / 2)
    const arr = Float64Array.from(c as ArrayLike<number>)
    out.push(arr.subarray(0, half), arr.subarray(c.length - half))
  }
  return out
}

const rhatOf = (chains: ReadonlyArray<ArrayLike<number>>): number => {
  const m = chains.length
  const n = chains[0].length
  const means = chains.map(meanOf)
  const grand = meanOf(means)
  let b = 0
  for (const mu of means) b += (mu - grand) ** 2
  b = (n * b) / (m - 1)
  let w = 0
  chains.forEach((c, j) => {
    let s = 0
    for (let i = 0; i < n; i++) s += (c[i] - means[j]) ** 2
    w += s / (n - 1)
  })
  w /= m
  const varPlus = ((n - 1) / n) * w + b / n
  return Math.sqrt(varPlus / w)
}

/** Split R-hat (BDA3 §11.4): each chain cut in halves, then the Gelman–Rubin ratio. */
export const splitRhat = (chains: ReadonlyArray<ArrayLike<number>>): number => rhatOf(splitHalves(chains))

const rankNormalise = (chains: ReadonlyArray<ArrayLike<number>>): Array<Float64Array> => {
  const all = pool(chains)
  const order = Array.from(all.keys()).sort((a, b) => all[a] - all[b])
  const z = new Float64Array(all.length)
  // average ranks for ties
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && all[order[j + 1]] === all[order[i]]) j++
    const r = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) z[order[k]] = normalQuantile((r - 3 / 8) / (all.length + 1 / 4))
    i = j + 1
  }
  const out: Array<Float64Array> = []
  let k = 0
  for (const c of chains) {
    out.push(z.subarray(k, k + c.length))
    k += c.length
  }
  return out
}

/** Rank-normalised split R-hat (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021): max of bulk and folded. */
export const rankRhat = (chains: ReadonlyArray<ArrayLike<number>>): number => {
  const halves = splitHalves(chains)
  const bulk = rhatOf(rankNormalise(halves))
  const all = pool(chains)
  const sorted = Float64Array.from(all).sort()
  const median = sorted[sorted.length >> 1]
  const folded = halves.map((c) => Float64Array.from(c, (x) => Math.abs(x - median)))
  const tail = rhatOf(rankNormalise(folded))
  return Math.max(bulk, tail)
}
