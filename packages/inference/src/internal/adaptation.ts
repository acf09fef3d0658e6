// Warm-up adaptation of the Hamiltonian samplers, as in Stan (stan/src/stan/mcmc/
// stepsize_adaptation.hpp, windowed_adaptation.hpp, var_adaptation.hpp, covar_adaptation.hpp):
//
// - step size by dual averaging (Nesterov 2009, as adapted by Hoffman & Gelman 2014, §3.2.1):
//   log ε is driven towards the target mean acceptance statistic δ, shrinkage towards
//   μ = log(10 ε₀), γ = 0.05, t₀ = 10, κ = 0.75; the final step size is exp of the averaged iterate;
// - the metric from the draws of slow windows: after an initial fast interval (75 iterations),
//   windows of 25, 50, 100, … iterations (the last stretched to the terminal fast interval of 50)
//   each estimate the variance (or covariance) of the unconstrained position with Welford's
//   algorithm; the estimate is regularised towards 10⁻³·I with weight 5 / (n + 5), becomes the
//   inverse metric, and the step size is searched again and its dual averaging restarted.
// When the warm-up is shorter than 20 iterations there is no metric adaptation; when it is shorter
// than the three default intervals, they are 15 % / 75 % / 10 % of it (Stan's rule).

/** Dual averaging's averaging exponent κ. */
const KAPPA = 0.75

/**
 * t^−κ for t = 0, 1, …, as far as a warm-up has counted: the same numbers as `Math.pow`, which
 * costs some 37 ns a call here (2 % of a warm-up iteration on eight schools, where a NUTS
 * transition is about 2 µs).
 */
const decay: Array<number> = [Infinity]

const decayAt = (t: number): number => {
  while (decay.length <= t) decay.push(Math.pow(decay.length, -KAPPA))
  return decay[t]!
}

/** Dual averaging of the log step size towards a target acceptance statistic. */
export class DualAveraging {
  private readonly delta: number
  private readonly gamma = 0.05
  private readonly t0 = 10
  private mu = 0
  private counter = 0
  private sBar = 0
  private xBar = 0
  constructor(delta: number) {
    this.delta = delta
  }
  /** Restarts around ε₀: shrinks towards log(10 ε₀). */
  restart(epsilon: number): void {
    this.mu = Math.log(10 * epsilon)
    this.counter = 0
    this.sBar = 0
    this.xBar = 0
  }
  /** One update from the last transition's acceptance statistic; returns the next step size. */
  learn(acceptStat: number): number {
    this.counter++
    const a = acceptStat > 1 ? 1 : acceptStat
    const eta = 1 / (this.counter + this.t0)
    this.sBar = (1 - eta) * this.sBar + eta * (this.delta - a)
    const x = this.mu - (this.sBar * Math.sqrt(this.counter)) / this.gamma
    const xEta = decayAt(this.counter)
    this.xBar = (1 - xEta) * this.xBar + xEta * x
    return Math.exp(x)
  }
  /** The adapted step size, exp(x̄). */
  final(): number {
    return Math.exp(this.xBar)
  }
  /** The state, for a checkpoint. */
  save(): ReadonlyArray<number> {
    return [this.mu, this.counter, this.sBar, this.xBar]
  }
  load(s: ReadonlyArray<number>): void {
    ;[this.mu, this.counter, this.sBar, this.xBar] = s as [number, number, number, number]
  }
}

/** Stan's windowed schedule over `warmup` iterations. */
export class Windows {
  readonly warmup: number
  readonly initBuffer: number
  readonly termBuffer: number
  readonly adaptsMetric: boolean
  private counter = 0
  private windowSize: number
  private nextWindow: number
  constructor(warmup: number, initBuffer: number, termBuffer: number, baseWindow: number) {
    this.warmup = warmup
    this.adaptsMetric = warmup >= 20
    if (initBuffer + baseWindow + termBuffer > warmup) {
      initBuffer = Math.trunc(0.15 * warmup)
      termBuffer = Math.trunc(0.1 * warmup)
      baseWindow = warmup - (initBuffer + termBuffer)
    }
    this.initBuffer = initBuffer
    this.termBuffer = termBuffer
    this.windowSize = baseWindow
    this.nextWindow = initBuffer + baseWindow - 1
  }
  /** Whether the current iteration's draw goes into the variance estimate. */
  inWindow(): boolean {
    const c = this.counter
    return this.adaptsMetric && c >= this.initBuffer && c < this.warmup - this.termBuffer && c !== this.warmup
  }
  /** Whether the current iteration closes a slow window. */
  endOfWindow(): boolean {
    return this.adaptsMetric && this.counter === this.nextWindow && this.counter !== this.warmup
  }
  private computeNextWindow(): void {
    const last = this.warmup - this.termBuffer - 1
    if (this.nextWindow === last) return
    this.windowSize *= 2
    this.nextWindow = this.counter + this.windowSize
    if (this.nextWindow !== last && this.nextWindow + 2 * this.windowSize >= this.warmup - this.termBuffer) this.nextWindow = last
  }
  save(): ReadonlyArray<number> {
    return [this.counter, this.windowSize, this.nextWindow]
  }
  load(s: ReadonlyArray<number>): void {
    ;[this.counter, this.windowSize, this.nextWindow] = s as [number, number, number]
  }
  /** Advances past the current iteration; at the end of a window, first computes the next one. */
  advance(endOfWindow: boolean): void {
    if (endOfWindow) this.computeNextWindow()
    this.counter++
  }
}

/** Welford's running mean and (co)variance of positions. */
export class Welford {
  private readonly d: number
  private readonly dense: boolean
  private n = 0
  private readonly mean: Float64Array
  private readonly m2: Float64Array
  private readonly delta: Float64Array
  constructor(d: number, dense: boolean) {
    this.d = d
    this.dense = dense
    this.mean = new Float64Array(d)
    this.m2 = new Float64Array(dense ? d * d : d)
    this.delta = new Float64Array(d)
  }
  get count(): number {
    return this.n
  }
  save(): { readonly n: number; readonly mean: Float64Array; readonly m2: Float64Array } {
    return { n: this.n, mean: this.mean.slice(), m2: this.m2.slice() }
  }
  load(s: { readonly n: number; readonly mean: Float64Array; readonly m2: Float64Array }): void {
    this.n = s.n
    this.mean.set(s.mean)
    this.m2.set(s.m2)
  }
  restart(): void {
    this.n = 0
    this.mean.fill(0)
    this.m2.fill(0)
  }
  add(q: Float64Array): void {
    const d = this.d, mean = this.mean, m2 = this.m2, delta = this.delta
    this.n++
    for (let i = 0; i < d; i++) {
      delta[i] = q[i]! - mean[i]!
      mean[i] = mean[i]! + delta[i]! / this.n
    }
    if (this.dense) {
      for (let i = 0; i < d; i++) {
        const after = q[i]! - mean[i]!
        for (let j = 0; j < d; j++) m2[i * d + j] = m2[i * d + j]! + after * delta[j]!
      }
    } else for (let i = 0; i < d; i++) m2[i] = m2[i]! + delta[i]! * (q[i]! - mean[i]!)
  }
  /**
   * The regularised estimate (n/(n+5))·S + 10⁻³·(5/(n+5))·I, S the sample (co)variance, into
   * `out` (a diagonal, or a row-major matrix, symmetrised).
   */
  regularised(out: Float64Array): void {
    const n = this.n, d = this.d
    const w = n / (n + 5), shrink = 1e-3 * (5 / (n + 5))
    const denom = n > 1 ? n - 1 : 1
    if (!this.dense) {
      for (let i = 0; i < d; i++) out[i] = w * (this.m2[i]! / denom) + shrink
      return
    }
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const s = 0.5 * (this.m2[i * d + j]! + this.m2[j * d + i]!) / denom
        out[i * d + j] = w * s + (i === j ? shrink : 0)
      }
    }
  }
}
