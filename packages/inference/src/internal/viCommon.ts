// What `Vi`'s three methods (ADVI, MAP, Laplace) share: the target they work on (a `LogDensity`,
// or its log density without the bijections' Jacobian), the starting point (the user's values,
// else uniform(−r, r) per unconstrained coordinate, retried), the names of the unconstrained
// coordinates, the site values at a point, and the typed errors that only these methods raise.
import * as Bijection from "@fugue/core/Bijection"
import type * as CoreRng from "@fugue/core/Rng"
import * as Data from "effect/Data"
import * as LogDensity from "../LogDensity.ts"
import { fillInitial, type InitialValues } from "./initial.ts"

export type { InitialValues } from "./initial.ts"

/** A log density on ℝᵈ with its gradient (a `LogDensity`, or one without the Jacobian). */
export interface Target {
  readonly dimension: number
  logDensity(q: Float64Array): number
  /** Writes the gradient into `out`; returns the log density (−∞ where not finite, never NaN). */
  logDensityGradient(q: Float64Array, out: Float64Array): number
  /** Why the density or its gradient is not finite at q (sites, observations, factors). */
  explain(q: Float64Array): Array<string>
}


/**
 * Every draw of `steps` consecutive optimisation steps had a non-finite log density or
 * gradient, so the guide could not be moved: `reasons` says where (from `LogDensity.explain` at
 * the last draw: the sites, observations or factors whose log probability or gradient is not
 * finite there).
 *
 * @example
 * Vi.runUnsafe(model, { seed: 1 }) // throws NonFiniteDensityError { algorithm: "VI", iteration: 412, steps: 50 }
 *
 * @category errors
 * @since 0.2.0
 */
export class NonFiniteDensityError extends Data.TaggedError("NonFiniteDensityError")<{
  readonly algorithm: string
  readonly iteration: number
  readonly steps: number
  readonly reasons: ReadonlyArray<string>
}> {
  override get message(): string {
    const why = this.reasons.length > 0 ? this.reasons.slice(0, 5).join("; ") : "the log density or its gradient is not finite"
    return `${this.algorithm}: every draw of ${this.steps} consecutive steps (up to iteration ${this.iteration}) had a non-finite log density or gradient: ${why}`
  }
}

/**
 * The negative Hessian of the log density at the mode is not positive definite, so there is no
 * Gaussian (Laplace) approximation there: the point is a saddle or the density is flat or
 * unbounded along `coordinate` (of site `site`), e.g. an improper prior without enough data, or
 * a scale at its boundary with `jacobian: false`.
 *
 * @example
 * Vi.laplaceUnsafe(flatModel, { seed: 1 }) // throws NotPositiveDefiniteError { site: "x", pivot: 0 }
 *
 * @category errors
 * @since 0.2.0
 */
export class NotPositiveDefiniteError extends Data.TaggedError("NotPositiveDefiniteError")<{
  readonly algorithm: string
  readonly site: string
  readonly coordinate: number
  readonly pivot: number
}> {
  override get message(): string {
    if (this.pivot !== this.pivot) {
      return `${this.algorithm}: the gradient is not finite within a finite-difference step of the mode along coordinate ${this.coordinate} (site "${this.site}"), so the Hessian there is not defined`
    }
    return `${this.algorithm}: the negative Hessian of the log density at the mode is not positive definite (pivot ${this.pivot.toPrecision(4)} at coordinate ${this.coordinate}, site "${this.site}"): the mode is a saddle point or the density is flat or unbounded there (an improper prior? a scale at 0 with jacobian: false?)`
  }
}

/** The names of the unconstrained coordinates: the address, or "address[j]" for a vector site's j-th. */
export const coordinateNames = (density: LogDensity.LogDensity): Array<string> =>
  density.sites.flatMap((site) =>
    site.shape.length === 0 ? [site.address as string] : Array.from({ length: site.dimension }, (_, j) => `${site.address}[${j}]`))

/** The site of unconstrained coordinate i. */
export const siteOf = (density: LogDensity.LogDensity, i: number): string =>
  (density.sites.find((s) => i >= s.offset && i < s.offset + s.dimension)?.address as string | undefined) ?? `coordinate ${i}`

/** The site values at q, by address: numbers for scalar sites, Float64Arrays for vector sites. */
export const valuesAt = (density: LogDensity.LogDensity, q: Float64Array): Record<string, number | Float64Array> => {
  const flat = new Float64Array(density.valueNames.length)
  density.constrainValues(q, flat)
  const out: Record<string, number | Float64Array> = {}
  let k = 0
  for (const site of density.sites) {
    if (site.shape.length === 0) out[site.address] = flat[k++]!
    else {
      out[site.address] = flat.slice(k, k + site.shape[0]!)
      k += site.shape[0]!
    }
  }
  return out
}

/**
 * A starting point with a finite log density and gradient: the user's values where given,
 * uniform(−radius, radius) on the unconstrained scale elsewhere, retried up to `attempts` times;
 * else `InitializationError` naming the culprits at the last point tried.
 */
export const startPoint = (
  algorithm: string,
  density: LogDensity.LogDensity,
  target: Target,
  initial: InitialValues | undefined,
  radius: number,
  attempts: number,
  rng: CoreRng.Rng
): Float64Array => {
  const d = density.dimension
  const q = new Float64Array(d)
  const g = new Float64Array(d)
  const fixed = new Uint8Array(d)
  if (initial !== undefined) fillInitial(algorithm, density, initial, q, fixed)
  const tries = fixed.indexOf(0) >= 0 ? attempts : 1
  for (let a = 0; a < tries; a++) {
    for (let i = 0; i < d; i++) if (fixed[i] === 0) q[i] = radius * (2 * rng.uniform() - 1)
    if (finiteAt(target, q, g)) return q
  }
  const reasons = target.explain(q)
  const at = Array.from(q, (x) => Number(x.toPrecision(4)))
  throw new LogDensity.InitializationError({
    algorithm,
    attempts: tries,
    reason: `${reasons.length > 0 ? reasons.slice(0, 5).join("; ") : "the log density or its gradient is not finite"} (last point tried, unconstrained: [${at.join(", ")}])`
  })
}

/** Whether the log density and every gradient coordinate are finite at q (the gradient left in g). */
export const finiteAt = (target: Target, q: Float64Array, g: Float64Array): boolean => {
  const lp = target.logDensityGradient(q, g)
  if (!(lp > -Infinity && lp < Infinity)) return false
  for (let i = 0; i < g.length; i++) if (g[i]! - g[i]! !== 0) return false
  return true
}

const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))

/** How the log-Jacobian of a scalar bijection varies: 0, 1 or −tanh(u/2) per unit of u, else unknown. */
const IDENTITY = 0, LINEAR = 1, LOGIT = 2, OTHER = 3

/**
 * The kind of a scalar bijection's log |dx/du|, read off three values: identity (0), the exp
 * family (u, so slope 1), and the scaled logit (log(b − a) − softplus(−u) − softplus(u), whose
 * derivative is σ(−u) − σ(u) = −tanh(u/2)); anything else is differentiated numerically.
 */
const kindOf = (b: Bijection.Scalar): number => {
  const l0 = b.logJacobian(0), l1 = b.logJacobian(1), lm = b.logJacobian(-1)
  if (l0 === 0 && l1 === 0 && lm === 0) return IDENTITY
  if (l1 - l0 === 1 && l0 - lm === 1) return LINEAR
  const logit = -softplus(-1) - softplus(1) + 2 * Math.LN2
  if (Math.abs(l1 - l0 - logit) < 1e-12 && Math.abs(lm - l0 - logit) < 1e-12) return LOGIT
  return OTHER
}

/** Central-difference step for the log-Jacobian's numerical derivative (ε^(1/3)). */
const FD_STEP = 6.055454452393343e-6

/**
 * The log density without the bijections' log-Jacobian: log p(x(q), data), the objective of
 * MAP on the constrained scale (Stan's `optimize` default). Its gradient is the density's less
 * ∂ log|det ∂x/∂q| / ∂q: analytic for scalar sites, central differences of the (cheap,
 * model-free) bijection for vector sites.
 */
export class WithoutJacobian implements Target {
  readonly dimension: number
  private readonly density: LogDensity.LogDensity
  private readonly values: Float64Array
  private readonly kinds: Int8Array
  private readonly scalars: Array<Bijection.Scalar | undefined>
  private readonly vectors: Array<{ readonly b: Bijection.Vector; readonly offset: number; readonly x: Float64Array } | undefined>
  private readonly shifted: Float64Array
  constructor(density: LogDensity.LogDensity) {
    this.density = density
    this.dimension = density.dimension
    this.values = new Float64Array(density.valueNames.length)
    this.kinds = new Int8Array(density.dimension)
    this.scalars = new Array(density.dimension).fill(undefined)
    this.vectors = new Array(density.dimension).fill(undefined)
    this.shifted = new Float64Array(density.dimension)
    for (const site of density.sites) {
      const b = Bijection.of(site.support)!
      if (b._tag === "Scalar") {
        this.kinds[site.offset] = kindOf(b)
        this.scalars[site.offset] = b
      } else {
        const entry = { b, offset: site.offset, x: new Float64Array(b.length) }
        for (let i = site.offset; i < site.offset + site.dimension; i++) {
          this.kinds[i] = OTHER
          this.vectors[i] = entry
        }
      }
    }
  }
  logDensity(q: Float64Array): number {
    const lp = this.density.logDensity(q)
    if (!(lp > -Infinity && lp < Infinity)) return lp
    return lp - this.density.constrainValues(q, this.values)
  }
  logDensityGradient(q: Float64Array, out: Float64Array): number {
    const lp = this.density.logDensityGradient(q, out)
    if (!(lp > -Infinity && lp < Infinity)) return lp
    const logJacobian = this.density.constrainValues(q, this.values)
    for (let i = 0; i < this.dimension; i++) {
      const u = q[i]!
      switch (this.kinds[i]) {
        case IDENTITY:
          break
        case LINEAR:
          out[i] = out[i]! - 1
          break
        case LOGIT:
          out[i] = out[i]! + Math.tanh(0.5 * u)
          break
        default:
          out[i] = out[i]! - this.logJacobianSlope(q, i)
      }
    }
    return lp - logJacobian
  }
  /** ∂ log|dx/du| / ∂q_i by central differences (only the site's own bijection is evaluated). */
  private logJacobianSlope(q: Float64Array, i: number): number {
    const h = FD_STEP * Math.max(1, Math.abs(q[i]!))
    const scalar = this.scalars[i]
    if (scalar !== undefined) return (scalar.logJacobian(q[i]! + h) - scalar.logJacobian(q[i]! - h)) / (2 * h)
    const v = this.vectors[i]!
    const p = this.shifted
    p.set(q)
    p[i] = q[i]! + h
    const up = v.b.forward(p, v.offset, v.x)
    p[i] = q[i]! - h
    const down = v.b.forward(p, v.offset, v.x)
    return (up - down) / (2 * h)
  }
  explain(q: Float64Array): Array<string> {
    return this.density.explain(q)
  }
}
