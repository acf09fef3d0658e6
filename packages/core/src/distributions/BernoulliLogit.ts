/**
 * The Bernoulli distribution parameterised by the log-odds `eta` = log(p / (1 − p)): the
 * observation model of logistic regression, where `eta` is a linear predictor. Use it instead of
 * `Bernoulli(logistic(eta))`: the log mass is computed from `eta` itself, so it stays exact, and
 * finite, for every finite `eta` (a probability rounded to 0 or 1 would give −∞).
 *
 * @since 0.2.0
 */
import { logisticValue, primal, softplusValue, track, type Kernel, type Real } from "../Ad.ts"
import { isBoolean, requireFinite, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Boolean" }

/**
 * BernoulliLogit(eta): mass σ(η) at `true` and σ(−η) at `false`, σ(η) = 1 / (1 + e^−η).
 *
 * **Details** log p(true) = −softplus(−η), log p(false) = −softplus(η), softplus(t) =
 * log(1 + e^t) computed without overflow: finite for every finite η (at η = 1e300,
 * log p(false) = −1e300 exactly as it should be).
 *
 * @example
 * const d = new BernoulliLogitDistribution(0)
 * d.logProb(true) // log ½
 *
 * @category constructors
 * @since 0.2.0
 */
export class BernoulliLogitDistribution implements Distribution<boolean> {
  get family(): "BernoulliLogit" {
    return "BernoulliLogit"
  }
  get kind(): "boolean" {
    return "boolean"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly eta: number
  /** log σ(η) and log σ(−η), cached (0 − … keeps an exact 0 positive). */
  readonly logP: number
  readonly logQ: number
  constructor(eta: number) {
    this.eta = eta
    this.logP = 0 - softplusValue(-eta)
    this.logQ = 0 - softplusValue(eta)
  }
  sample(rng: Rng): boolean {
    // U < σ(η) with U in (0, 1): σ(η) = 1 (η ≥ 37) is always true, σ(η) = 0 never.
    return rng.uniform() < logisticValue(this.eta)
  }
  logProb(x: boolean): number {
    return x === true ? this.logP : x === false ? this.logQ : -Infinity
  }
  isValue(x: unknown): x is boolean {
    return isBoolean(x)
  }
  get logProbKernel(): Kernel {
    return bernoulliLogitKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.eta]
  }
  /** The mean of the indicator, σ(η). */
  mean(): number {
    return logisticValue(this.eta)
  }
  /** σ(η)·σ(−η). */
  variance(): number {
    return logisticValue(this.eta) * logisticValue(-this.eta)
  }
}

/**
 * The BernoulliLogit log mass with its partials, the value coded as x = 1 (`true`) or 0
 * (`false`): log p = −softplus(−η) or −softplus(η), ∂η = x − σ(η) (σ(−η) at 1, −σ(η) at 0);
 * ∂x = 0, since the value is discrete and never differentiated. −∞ for any other x.
 *
 * @example
 * bernoulliLogitKernel(out, 1, 0, 0, 0) // log ½, out = [0, ½]
 *
 * @category numerics
 * @since 0.2.0
 */
export const bernoulliLogitKernel: Kernel = (out, x, eta) => {
  if (eta - eta !== 0 || (x !== 0 && x !== 1)) return -Infinity
  out[0] = 0
  // t = −η for true, η for false: log p = −softplus(t), ∂η = ±σ(t); one exp serves both
  // (e = e^−|t|: softplus(t) = max(t, 0) + log1p(e), σ(t) = 1/(1 + e) or e/(1 + e)), with the
  // same arithmetic as softplusValue and logisticValue
  const t = x === 1 ? -eta : eta
  const e = Math.exp(-Math.abs(t))
  const sigma = t >= 0 ? 1 / (1 + e) : e / (1 + e)
  out[1] = x === 1 ? sigma : -sigma
  return 0 - (t > 0 ? t + Math.log1p(e) : Math.log1p(e))
}

const bernoulliLogitScalar = (eta: Real): BernoulliLogitDistribution => {
  if (typeof eta === "number") return new BernoulliLogitDistribution(requireFinite("BernoulliLogit", "eta", eta))
  const d = new BernoulliLogitDistribution(requireFinite("BernoulliLogit", "eta", primal(eta)))
  track(d, [eta])
  return d
}

const BERNOULLILOGIT_BROADCAST: Spec = registerSpec({
  family: "BernoulliLogit",
  parameters: ["eta"],
  checks: ["finite"],
  kernel: bernoulliLogitKernel,
  element: (p0) => bernoulliLogitScalar(p0),
  support: SUPPORT,
  boolean: true,
  linear: (ys, design, a, beta, slot, _o0, _o1, grad) => {
    // the kernel's arithmetic row by row (−softplus(t), ∂η = ±σ(t), t = ∓η), the coefficients
    // and their partials in locals for d ≤ 4; other designs, or a value not 0/1, decline
    const n = design.rows, d = design.columns, X = design.data
    if (slot !== 0 || d > 4) return Number.NaN
    const b0 = d > 0 ? beta[0]! : 0, b1 = d > 1 ? beta[1]! : 0, b2 = d > 2 ? beta[2]! : 0, b3 = d > 3 ? beta[3]! : 0
    let v = 0, ga = 0, g0 = 0, g1 = 0, g2 = 0, g3 = 0
    for (let i = 0; i < n; i++) {
      const base = i * d
      const x0 = d > 0 ? X[base]! : 0, x1 = d > 1 ? X[base + 1]! : 0, x2 = d > 2 ? X[base + 2]! : 0, x3 = d > 3 ? X[base + 3]! : 0
      const eta = a + b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
      const y = ys[i]!
      if (y !== 0 && y !== 1) return Number.NaN
      const t = y === 1 ? -eta : eta
      const e = Math.exp(-Math.abs(t))
      const sigma = t >= 0 ? 1 / (1 + e) : e / (1 + e)
      v -= t > 0 ? t + Math.log1p(e) : Math.log1p(e)
      const g = y === 1 ? sigma : -sigma
      ga += g
      g0 += g * x0
      g1 += g * x1
      g2 += g * x2
      g3 += g * x3
    }
    if (!(v > -Infinity && v < Infinity)) return Number.NaN
    grad[0] = ga
    if (d > 0) grad[1] = g0
    if (d > 1) grad[2] = g1
    if (d > 2) grad[3] = g2
    if (d > 3) grad[4] = g3
    grad[1 + d] = 0
    grad[2 + d] = 0
    return v
  }
})

/**
 * A Bernoulli distribution on the log-odds scale; throws `InvalidDistributionError` unless `eta`
 * is finite. `eta` may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = BernoulliLogit(Ad.add(alpha, Ad.mul(beta, x)))
 * d.logProb(false) // −softplus(α + βx)
 *
 * @category constructors
 * @since 0.2.0
 */
export function BernoulliLogit(eta: Reals): BroadcastDistribution
export function BernoulliLogit(eta: Real): BernoulliLogitDistribution
export function BernoulliLogit(eta: Real | Reals): BernoulliLogitDistribution | BroadcastDistribution {
  if (typeof eta === "number") return bernoulliLogitScalar(eta)
  return isArrayParameter(eta) ? broadcast(BERNOULLILOGIT_BROADCAST, [eta]) : bernoulliLogitScalar(eta as Real)
}
