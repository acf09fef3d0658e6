/**
 * The spectral density at frequency zero of a series from a fitted autoregression, as coda's
 * `spectrum0.ar` does: Yule–Walker estimates (Levinson–Durbin recursion on the biased
 * autocovariances) for orders 0..min(n − 1, ⌊10·log10 n⌋), the order chosen by AIC, and
 * S(0) = σ²_order / (1 − Σ φ_j)², with R's `ar.yw` small-sample correction
 * σ² · n / (n − (order + 1)). S(0)/n is the variance of the series mean (Geweke 1992).
 *
 * @internal
 */
import { autocovariance } from "./fft.ts"

/** The AR estimate of the spectral density at zero, and the order AIC chose. */
export interface ArSpectrum {
  readonly spectrum: number
  readonly order: number
}

export const spectrum0Ar = (x: Float64Array): ArSpectrum => {
  const n = x.length
  const maxOrder = Math.min(n - 1, Math.floor(10 * Math.log10(n)))
  const r = autocovariance(x, maxOrder)
  if (!(r[0] > 0)) return { spectrum: 0, order: 0 }
  // Levinson–Durbin: phi holds the order-k coefficients; vars[k] the innovation variance.
  const coefficients: Array<Float64Array> = [new Float64Array(0)]
  const vars = new Float64Array(maxOrder + 1)
  vars[0] = r[0]
  let phi = new Float64Array(0)
  for (let k = 1; k <= maxOrder; k++) {
    let acc = r[k]
    for (let j = 1; j < k; j++) acc -= phi[j - 1] * r[k - j]
    const kappa = vars[k - 1] > 0 ? acc / vars[k - 1] : 0
    const next = new Float64Array(k)
    for (let j = 1; j < k; j++) next[j - 1] = phi[j - 1] - kappa * phi[k - j - 1]
    next[k - 1] = kappa
    vars[k] = vars[k - 1] * (1 - kappa * kappa)
    phi = next
    coefficients.push(next)
  }
  // AIC = n·log σ²_k + 2k (+ a constant for the mean); the first minimum wins, as in R.
  let order = 0
  let best = Infinity
  for (let k = 0; k <= maxOrder; k++) {
    const aic = n * Math.log(vars[k]) + 2 * k
    if (aic < best) {
      best = aic
      order = k
    }
  }
  const varPred = (vars[order] * n) / (n - (order + 1))
  if (!(varPred > 0)) return { spectrum: 0, order }
  let sum = 0
  for (const c of coefficients[order]) sum += c
  return { spectrum: varPred / ((1 - sum) * (1 - sum)), order }
}
