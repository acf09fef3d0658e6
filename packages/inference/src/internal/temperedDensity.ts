// The densities of tempered SMC (internal/temperedEngine.ts): the prior part of a model's
// `LogDensity` (every observation and factor scaled by 0, inside the run's own layers), the
// handler that draws a particle from the prior straight onto the unconstrained space, and the
// tempered target π_β = prior + β (full − prior) with its gradient, for the Hamiltonian moves.
import * as Bijection from "@fugue/core/Bijection"
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import { ImproperPriorError } from "@fugue/core/distributions/Flat"
import type { Rng } from "@fugue/core/Rng"
import { compose, identity, mask, PointMass, scale, Scaled, type Transform } from "@fugue/runtime/Combinators"
import type { Handler } from "@fugue/runtime/Handler"
import * as LogDensity from "../LogDensity.ts"
import { InvalidOptionsError } from "../Options.ts"
import type { Target } from "./hamiltonian.ts"

export const ALGORITHM = "TemperedSMC"

/** Every observation and factor contributes 0: the prior part of the density, Jacobian included. */
const priorOnly: Transform = (handler) => scale(mask(handler, () => true), 0, () => false)

/** The run's transformation with the observations and factors dropped inside it (the run's layers see every instruction first). */
export const priorTransform = (transform: Transform): Transform => (transform === identity ? priorOnly : compose(transform, priorOnly))

/**
 * Draws every continuous site from its distribution and writes its unconstrained coordinates
 * into `q` (sites in `LogDensity` order; substituted sites are fixed values, not sites).
 * Observations and factors are ignored: a run is one exact prior draw.
 */
export class DrawHandler implements Handler<void> {
  readonly rng: Rng
  readonly sites: ReadonlyArray<LogDensity.Site>
  readonly bijections: ReadonlyArray<Bijection.Bijection>
  q: Float64Array = new Float64Array(0)
  offset = 0
  cursor = 0
  constructor(rng: Rng, sites: ReadonlyArray<LogDensity.Site>) {
    this.rng = rng
    this.sites = sites
    this.bijections = sites.map((s) => Bijection.of(s.support)!)
  }
  reset(q: Float64Array, offset: number): void {
    this.q = q
    this.offset = offset
    this.cursor = 0
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (dist instanceof PointMass) return dist.value as T
    const k = this.cursor++
    const site = this.sites[k]
    if (site === undefined || site.address !== address) {
      throw new LogDensity.StructureChangedError({ address, reason: site === undefined ? "a latent site that the first run did not have" : `site ${k} was "${site.address}" in the first run` })
    }
    if (dist instanceof Scaled && dist.factor !== 1) {
      throw new InvalidOptionsError({
        algorithm: ALGORITHM,
        option: "transform",
        value: dist.factor,
        reason: `scales the latent site "${address}": tempering starts from exact prior draws, so latent sites must keep their own distributions (scale observations only)`
      })
    }
    if (dist.initialValue !== undefined) throw new ImproperPriorError({ family: dist.family })
    const x = dist.sample(this.rng)
    const b = this.bijections[k]!
    if (b._tag === "Scalar") this.q[this.offset + site.offset] = b.inverse(x as number)
    else b.inverse(x as Float64Array, this.q, this.offset + site.offset)
    return x
  }
  observe(): void {}
  factor(): void {}
  finish(): void {
    const next = this.sites[this.cursor]
    if (next !== undefined) throw new LogDensity.StructureChangedError({ address: next.address, reason: "the site was not visited" })
  }
}

/** π_β for the Hamiltonian samplers: prior + β (full − prior), and its gradient. */
export class TemperedTarget implements Target {
  readonly dimension: number
  beta = 0
  evaluations = 0
  private readonly prior: LogDensity.LogDensity
  private readonly full: LogDensity.LogDensity
  private readonly g0: Float64Array
  private readonly g1: Float64Array
  constructor(prior: LogDensity.LogDensity, full: LogDensity.LogDensity) {
    this.dimension = full.dimension
    this.prior = prior
    this.full = full
    this.g0 = new Float64Array(full.dimension)
    this.g1 = new Float64Array(full.dimension)
  }
  logDensityGradient(q: Float64Array, g: Float64Array): number {
    const d = this.dimension, g0 = this.g0, g1 = this.g1, beta = this.beta
    this.evaluations += 2
    const lp0 = this.prior.logDensityGradient(q, g0)
    const lp1 = lp0 > -Infinity && lp0 < Infinity ? this.full.logDensityGradient(q, g1) : lp0
    if (!(lp0 > -Infinity && lp0 < Infinity && lp1 > -Infinity && lp1 < Infinity)) {
      for (let i = 0; i < d; i++) g[i] = 0
      return -Infinity
    }
    for (let i = 0; i < d; i++) g[i] = g0[i]! + beta * (g1[i]! - g0[i]!)
    return lp0 + beta * (lp1 - lp0)
  }
}

/** log π_β from the log prior and log likelihood (β·(−∞) is −∞ for β > 0, nothing at β = 0). */
export const tempered = (logPrior: number, logLikelihood: number, beta: number): number =>
  beta === 0 ? logPrior : logPrior + beta * logLikelihood

/** Lower Cholesky factor of the d×d row-major `a` into `out`; false unless positive definite. */
export const cholesky = (a: Float64Array, d: number, out: Float64Array): boolean => {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!
      for (let k = 0; k < j; k++) s -= out[i * d + k]! * out[j * d + k]!
      if (i === j) {
        if (!(s > 0 && s < Infinity)) return false
        out[i * d + i] = Math.sqrt(s)
      } else out[i * d + j] = s / out[j * d + j]!
    }
    for (let j = i + 1; j < d; j++) out[i * d + j] = 0
  }
  return true
}
