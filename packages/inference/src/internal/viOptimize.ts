// The optimiser behind MAP and Laplace: L-BFGS (Liu & Nocedal 1989; Nocedal & Wright, Numerical
// Optimization, 2nd ed. 2006, Algorithm 7.4 for the two-loop recursion, Algorithms 3.5–3.6 for
// the line search), maximising a log density f on ℝᵈ (minimising F = −f), and the Hessian at the
// mode by central differences of the exact gradient.
//
// Line search: the strong Wolfe conditions with c1 = 1e-4, c2 = 0.9 (Nocedal & Wright's values
// for quasi-Newton methods): F(x + αp) ≤ F(x) + c1 α ∇Fᵀp and |∇F(x + αp)ᵀp| ≤ c2 |∇Fᵀp|. The
// first trial step is 1 (the quasi-Newton step), or 1/‖∇F‖∞ on the first iteration (the
// Hessian estimate is the identity then, so the step is in the gradient's units). A point where
// the log density or its gradient is not finite counts as F = +∞: the search shortens the step
// (bisection in `zoom`), so the iterate never leaves the density's finite region. The curvature
// pair (s, y) is kept only when yᵀs > 0, so the inverse-Hessian estimate stays positive definite;
// the initial scaling is γ = sᵀy / yᵀy of the newest pair (Nocedal & Wright eq. 7.20).
//
// Convergence (Stan's BFGS defaults, `tol_grad` and `tol_rel_obj`): ‖∇f‖∞ ≤ `tolerance`, or a
// relative change of f below 1e4·ε ≈ 2.2e-12 in one iteration, or a line search that cannot find
// a change of f above that level (the objective is flat to rounding along the search direction).
//
// Hessian: column j is (∇f(x + h_j e_j) − ∇f(x − h_j e_j)) / (2h_j) with h_j = ε^(1/3)·max(1, |x_j|),
// then symmetrised, (H + Hᵀ)/2. Its error is h²/6 · ∂³(∇f) (truncation) plus about ε·G/h
// (rounding, G the size of the terms summed into the gradient): zero truncation for a quadratic
// density, and for smooth ones a relative error of order 1e-10 at this step.
import { finiteAt, type Target } from "./viCommon.ts"

const C1 = 1e-4
const C2 = 0.9
const MEMORY = 10
const MAX_LINE_SEARCH = 40
/** Stan's tol_rel_obj default: 1e4 · machine epsilon. */
const RELATIVE_OBJECTIVE = 1e4 * 2.220446049250313e-16
const FD_STEP = 6.055454452393343e-6

export interface LbfgsConfig {
  readonly iterations: number
  readonly tolerance: number
}

/** L-BFGS maximising `target` from `start`, one iteration per `step()`. */
export class Lbfgs {
  readonly target: Target
  readonly config: LbfgsConfig
  readonly dimension: number
  /** Current point, its log density and gradient (of f, not F). */
  readonly x: Float64Array
  readonly g: Float64Array
  f: number
  iteration = 0
  done = false
  converged = false
  reason = ""
  gradientEvaluations = 0
  private readonly s: Array<Float64Array>
  private readonly y: Array<Float64Array>
  private readonly rho: Float64Array
  private readonly alpha: Float64Array
  private stored = 0
  private newest = -1
  private readonly p: Float64Array
  private readonly trial: Float64Array
  private readonly trialG: Float64Array
  private readonly bestX: Float64Array
  private readonly bestG: Float64Array

  constructor(target: Target, config: LbfgsConfig, start: Float64Array) {
    const d = target.dimension
    this.target = target
    this.config = config
    this.dimension = d
    this.x = Float64Array.from(start)
    this.g = new Float64Array(d)
    this.s = Array.from({ length: MEMORY }, () => new Float64Array(d))
    this.y = Array.from({ length: MEMORY }, () => new Float64Array(d))
    this.rho = new Float64Array(MEMORY)
    this.alpha = new Float64Array(MEMORY)
    this.p = new Float64Array(d)
    this.trial = new Float64Array(d)
    this.trialG = new Float64Array(d)
    this.bestX = new Float64Array(d)
    this.bestG = new Float64Array(d)
    this.f = target.logDensityGradient(this.x, this.g)
    this.gradientEvaluations++
    if (this.gradientNorm() <= config.tolerance) this.finish(true, "the gradient is below the tolerance at the start")
    if (config.iterations === 0) this.finish(false, "no iterations were allowed")
  }

  private finish(converged: boolean, reason: string): void {
    this.done = true
    this.converged = converged
    this.reason = reason
  }

  private gradientNorm(): number {
    let m = 0
    for (let i = 0; i < this.dimension; i++) m = Math.max(m, Math.abs(this.g[i]!))
    return m
  }

  /** p = H ∇f by the two-loop recursion (an ascent direction for f). */
  private direction(): void {
    const d = this.dimension, p = this.p, alpha = this.alpha
    p.set(this.g)
    let k = this.newest
    for (let n = 0; n < this.stored; n++) {
      const s = this.s[k]!, y = this.y[k]!
      let a = 0
      for (let i = 0; i < d; i++) a += s[i]! * p[i]!
      a *= this.rho[k]!
      alpha[k] = a
      for (let i = 0; i < d; i++) p[i] -= a * y[i]!
      k = (k - 1 + MEMORY) % MEMORY
    }
    if (this.stored > 0) {
      const s = this.s[this.newest]!, y = this.y[this.newest]!
      let sy = 0, yy = 0
      for (let i = 0; i < d; i++) {
        sy += s[i]! * y[i]!
        yy += y[i]! * y[i]!
      }
      const gamma = sy / yy
      for (let i = 0; i < d; i++) p[i] *= gamma
    }
    k = (this.newest - this.stored + 1 + MEMORY) % MEMORY
    for (let n = 0; n < this.stored; n++) {
      const s = this.s[k]!, y = this.y[k]!
      let b = 0
      for (let i = 0; i < d; i++) b += y[i]! * p[i]!
      b *= this.rho[k]!
      const c = alpha[k]! - b
      for (let i = 0; i < d; i++) p[i] += c * s[i]!
      k = (k + 1) % MEMORY
    }
  }

  /** One iteration: a direction, a strong-Wolfe line search along it, the curvature update. Returns `done`. */
  step(): boolean {
    if (this.done) return true
    const d = this.dimension
    this.direction()
    let slope = 0
    for (let i = 0; i < d; i++) slope -= this.g[i]! * this.p[i]!
    if (!(slope < 0)) {
      // not a descent direction (rounding in a stale memory): restart from the gradient
      this.stored = 0
      this.p.set(this.g)
      slope = 0
      for (let i = 0; i < d; i++) slope -= this.g[i]! * this.g[i]!
    }
    const first = this.iteration === 0 || this.stored === 0
    const initial = first ? 1 / Math.max(1, this.gradientNorm()) : 1
    const F0 = -this.f
    const found = this.lineSearch(F0, slope, initial)
    this.iteration++
    if (found === undefined) {
      // no step satisfied the conditions: converged if no trial changed f above rounding
      if (this.stored > 0) this.stored = 0 // one more try, along the gradient
      else if (this.bestChange <= RELATIVE_OBJECTIVE * Math.max(1, Math.abs(this.f))) this.finish(true, "the log density is flat to rounding along the gradient")
      else this.finish(false, "the line search found no acceptable step")
      if (!this.done && this.iteration >= this.config.iterations) this.finish(false, `the iteration limit (${this.config.iterations}) was reached`)
      return this.done
    }
    // accept: s = x_new − x, y = ∇F_new − ∇F = −(g_new − g)
    const slot = (this.newest + 1) % MEMORY
    const s = this.s[slot]!, y = this.y[slot]!
    let sy = 0
    for (let i = 0; i < d; i++) {
      s[i] = this.bestX[i]! - this.x[i]!
      y[i] = this.g[i]! - this.bestG[i]!
      sy += s[i]! * y[i]!
    }
    const fOld = this.f
    this.x.set(this.bestX)
    this.g.set(this.bestG)
    this.f = found
    if (sy > 0) {
      this.rho[slot] = 1 / sy
      this.newest = slot
      this.stored = Math.min(MEMORY, this.stored + 1)
    }
    if (this.gradientNorm() <= this.config.tolerance) this.finish(true, "the gradient is below the tolerance")
    else if (Math.abs(this.f - fOld) <= RELATIVE_OBJECTIVE * Math.max(1, Math.abs(this.f), Math.abs(fOld))) {
      this.finish(true, "the relative change of the log density is below 2.2e-12")
    } else if (this.iteration >= this.config.iterations) this.finish(false, `the iteration limit (${this.config.iterations}) was reached`)
    return this.done
  }

  private bestChange = Infinity

  /** F at x + αp with its gradient into `trialG` (returns +∞ where not finite). */
  private phi(alpha: number): number {
    const d = this.dimension, t = this.trial
    for (let i = 0; i < d; i++) t[i] = this.x[i]! + alpha * this.p[i]!
    this.gradientEvaluations++
    const f = this.target.logDensityGradient(t, this.trialG)
    if (!(f > -Infinity && f < Infinity)) return Infinity
    for (let i = 0; i < d; i++) if (this.trialG[i]! - this.trialG[i]! !== 0) return Infinity
    const change = Math.abs(f - this.f)
    if (change < this.bestChange) this.bestChange = change
    return -f
  }
  private dphi(): number {
    let s = 0
    for (let i = 0; i < this.dimension; i++) s -= this.trialG[i]! * this.p[i]!
    return s
  }
  private keep(): void {
    this.bestX.set(this.trial)
    this.bestG.set(this.trialG)
  }

  /**
   * Nocedal & Wright Algorithm 3.5: the new f (and the point in bestX/bestG) at a step that
   * satisfies the strong Wolfe conditions, or undefined.
   */
  private lineSearch(F0: number, slope0: number, initial: number): number | undefined {
    this.bestChange = Infinity
    let prevAlpha = 0, prevF = F0, prevSlope = slope0
    let alpha = initial
    for (let k = 0; k < MAX_LINE_SEARCH; k++) {
      const F = this.phi(alpha)
      if (F === Infinity) {
        // outside the finite region: shorten the step
        const r = this.zoom(F0, slope0, prevAlpha, prevF, prevSlope, alpha, F)
        if (r !== undefined) return r
        return undefined
      }
      if (F > F0 + C1 * alpha * slope0 || (k > 0 && F >= prevF)) return this.zoom(F0, slope0, prevAlpha, prevF, prevSlope, alpha, F)
      const slope = this.dphi()
      if (Math.abs(slope) <= -C2 * slope0) {
        this.keep()
        return -F
      }
      if (slope >= 0) return this.zoom(F0, slope0, alpha, F, slope, prevAlpha, prevF)
      prevAlpha = alpha
      prevF = F
      prevSlope = slope
      alpha *= 2
    }
    return undefined
  }

  /** Nocedal & Wright Algorithm 3.6, the trial step by safeguarded cubic interpolation (bisection where that fails). */
  private zoom(F0: number, slope0: number, lo: number, Flo: number, slopeLo: number, hi: number, Fhi: number): number | undefined {
    for (let k = 0; k < MAX_LINE_SEARCH; k++) {
      const width = hi - lo
      let alpha = Number.NaN
      if (Fhi < Infinity) {
        // the quadratic through (lo, Flo, slopeLo) and (hi, Fhi): its minimiser
        const denom = 2 * (Fhi - Flo - slopeLo * width)
        if (denom > 0) alpha = lo - (slopeLo * width * width) / denom
      }
      const a = Math.min(lo, hi), b = Math.max(lo, hi), margin = 0.1 * (b - a)
      if (!(alpha > a + margin && alpha < b - margin)) alpha = 0.5 * (lo + hi)
      if (Math.abs(width) < 1e-16 * Math.max(1, Math.abs(lo))) return undefined
      const F = this.phi(alpha)
      if (F === Infinity || F > F0 + C1 * alpha * slope0 || F >= Flo) {
        hi = alpha
        Fhi = F
      } else {
        const slope = this.dphi()
        if (Math.abs(slope) <= -C2 * slope0) {
          this.keep()
          return -F
        }
        if (slope * (hi - lo) >= 0) {
          hi = lo
          Fhi = Flo
        }
        lo = alpha
        Flo = F
        slopeLo = slope
      }
    }
    return undefined
  }
}

/**
 * The Hessian of `target` at x by central differences of its gradient, symmetrised, into `out`
 * (row-major d × d); returns the gradient evaluations used (2d), or −1 − j where a gradient
 * along coordinate j was not finite.
 */
export const hessian = (target: Target, x: Float64Array, out: Float64Array): number => {
  const d = target.dimension
  const p = Float64Array.from(x)
  const up = new Float64Array(d), down = new Float64Array(d)
  for (let j = 0; j < d; j++) {
    const h = FD_STEP * Math.max(1, Math.abs(x[j]!))
    p[j] = x[j]! + h
    const okUp = finiteAt(target, p, up)
    p[j] = x[j]! - h
    const okDown = finiteAt(target, p, down)
    p[j] = x[j]!
    if (!okUp || !okDown) return -1 - j
    // the exact difference of the two points: (x + h) − (x − h) in floating point
    const span = (x[j]! + h) - (x[j]! - h)
    for (let i = 0; i < d; i++) out[i * d + j] = (up[i]! - down[i]!) / span
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const s = 0.5 * (out[i * d + j]! + out[j * d + i]!)
      out[i * d + j] = s
      out[j * d + i] = s
    }
  }
  return 2 * d
}

/**
 * The lower Cholesky factor of a symmetric matrix A (row-major), in place of `out`: A = L Lᵀ.
 * Returns −1 on success, else the index of the first pivot that is not positive (its value in `pivot[0]`).
 */
export const cholesky = (a: Float64Array, d: number, out: Float64Array, pivot: Float64Array): number => {
  out.fill(0)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!
      for (let k = 0; k < j; k++) s -= out[i * d + k]! * out[j * d + k]!
      if (i === j) {
        if (!(s > 0) || s === Infinity) {
          pivot[0] = s
          return i
        }
        out[i * d + i] = Math.sqrt(s)
      } else out[i * d + j] = s / out[j * d + j]!
    }
  }
  return -1
}

/** Solves Lᵀ x = z for lower-triangular L (row-major), in place of `z`. */
export const solveUpper = (l: Float64Array, d: number, z: Float64Array): void => {
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i]!
    for (let k = i + 1; k < d; k++) s -= l[k * d + i]! * z[k]!
    z[i] = s / l[i * d + i]!
  }
}

/** (L Lᵀ)⁻¹ for lower-triangular L, row-major: column j solves L Lᵀ c = e_j. */
export const inverseFromCholesky = (l: Float64Array, d: number): Float64Array => {
  const out = new Float64Array(d * d)
  const c = new Float64Array(d)
  for (let j = 0; j < d; j++) {
    c.fill(0)
    c[j] = 1
    for (let i = 0; i < d; i++) {
      let s = c[i]!
      for (let k = 0; k < i; k++) s -= l[i * d + k]! * c[k]!
      c[i] = s / l[i * d + i]!
    }
    solveUpper(l, d, c)
    for (let i = 0; i < d; i++) out[i * d + j] = c[i]!
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) {
      const s = 0.5 * (out[i * d + j]! + out[j * d + i]!)
      out[i * d + j] = s
      out[j * d + i] = s
    }
  }
  return out
}
