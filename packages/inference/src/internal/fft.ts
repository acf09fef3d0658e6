/**
 * Radix-2 fast Fourier transform and the autocovariance of a series computed with it
 * (Wiener–Khinchin: zero-pad to a power of two at least twice the length, transform,
 * take |X|², transform back). O(n log n); used by the ESS and Geweke diagnostics.
 *
 * @internal
 */

/** In-place iterative radix-2 FFT (Cooley–Tukey); `inverse` leaves the 1/N factor to the caller. */
export const fftInPlace = (re: Float64Array, im: Float64Array, inverse: boolean): void => {
  const n = re.length
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      let t = re[i]
      re[i] = re[j]
      re[j] = t
      t = im[i]
      im[i] = im[j]
      im[j] = t
    }
  }
  const sign = inverse ? 1 : -1
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1
    const angle = (sign * 2 * Math.PI) / len
    // Twiddles computed directly (not by recurrence) to keep the rounding error at O(ε log n).
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(angle * k)
      const wi = Math.sin(angle * k)
      for (let start = 0; start < n; start += len) {
        const a = start + k
        const b = a + half
        const xr = re[b] * wr - im[b] * wi
        const xi = re[b] * wi + im[b] * wr
        re[b] = re[a] - xr
        im[b] = im[a] - xi
        re[a] += xr
        im[a] += xi
      }
    }
  }
}

/** The smallest power of two that is at least `n`. */
export const nextPowerOfTwo = (n: number): number => {
  let p = 1
  while (p < n) p <<= 1
  return p
}

/**
 * The biased sample autocovariance γ̂_k = (1/n) Σ_{i<n−k} (x_i − x̄)(x_{i+k} − x̄) for
 * k = 0..maxLag, by FFT (the estimator Stan's `autocovariance` and ArviZ's `autocov` use).
 */
export const autocovarianceFft = (x: Float64Array, maxLag: number): Float64Array => {
  const n = x.length
  let mean = 0
  for (let i = 0; i < n; i++) mean += x[i]
  mean /= n
  const size = nextPowerOfTwo(2 * n)
  const re = new Float64Array(size)
  const im = new Float64Array(size)
  for (let i = 0; i < n; i++) re[i] = x[i] - mean
  fftInPlace(re, im, false)
  for (let i = 0; i < size; i++) {
    re[i] = re[i] * re[i] + im[i] * im[i]
    im[i] = 0
  }
  fftInPlace(re, im, true)
  const out = new Float64Array(maxLag + 1)
  const scale = 1 / (size * n)
  for (let k = 0; k <= maxLag; k++) out[k] = re[k] * scale
  return out
}

/** The same estimator by the direct O(n·maxLag) sum; used for short series and in tests. */
export const autocovarianceDirect = (x: Float64Array, maxLag: number): Float64Array => {
  const n = x.length
  let mean = 0
  for (let i = 0; i < n; i++) mean += x[i]
  mean /= n
  const out = new Float64Array(maxLag + 1)
  for (let k = 0; k <= maxLag; k++) {
    let s = 0
    for (let i = 0; i + k < n; i++) s += (x[i] - mean) * (x[i + k] - mean)
    out[k] = s / n
  }
  return out
}

/** FFT for long series and many lags, the direct sum when that is cheaper. */
export const autocovariance = (x: Float64Array, maxLag: number): Float64Array =>
  x.length * (maxLag + 1) <= 4096 ? autocovarianceDirect(x, maxLag) : autocovarianceFft(x, maxLag)
