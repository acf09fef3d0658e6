/**
 * The Poisson distribution parameterised by its log rate `eta` (rate e^η): the observation model
 * of Poisson regression (log link), where `eta` is a linear predictor. Use it instead of
 * `Poisson(exp(eta))`: the log mass is formed from `eta` itself, so it stays finite where e^η
 * under- or overflows.
 *
 * @since 0.2.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { HALF_LOG_2PI, isNumber, requireFinite, type Distribution, type Support } from "../Distribution.ts"
import { clampReal, MIN_NORMAL } from "../internal/limits.ts"
import { bd0, bd0Product, stirlerr } from "../internal/saddlePoint.ts"
import { samplePoisson } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "Integers", lower: 0, upper: Infinity }
const LOG_2PI = 2 * HALF_LOG_2PI

/**
 * log p(k) = kη − e^η − log k! for an integer k ≥ 0, as Loader's (2000) saddle-point form
 * −stirlerr(k) − bd0(k, λ) − ½ log(2πk) (no cancellation between kη, e^η and log k! near the
 * mode). The deviance bd0(k, λ) = k log(k/λ) + λ − k is taken three ways by the size of λ = e^η:
 * a normal double, directly; below the normal range (η < −708), from η itself as
 * k(log k − η) + λ − k, where nothing cancels; above MAX_VALUE (η > 709.78), as bd0(k, h·h) with
 * h = e^(η/2), which `bd0Product` rescales by an exact power of two, so k near MAX_VALUE still
 * gets its finite mass. Where even h overflows (η > 1419), or the rescaled deviance does, the true
 * log mass is below −MAX_VALUE for every double k (λ ≥ e^1419 ≫ MAX_VALUE ≥ k makes
 * bd0 ≥ λ − k − k log(λ/k) > MAX_VALUE), so −∞ is the right answer there.
 */
const logMass = (k: number, eta: number): number => {
  const lambda = Math.exp(eta)
  // 0 − λ: −∞ where λ overflows (the true −e^η is then below −MAX_VALUE)
  if (k === 0) return 0 - lambda
  let deviance: number
  if (lambda >= MIN_NORMAL && lambda < Infinity) deviance = bd0(k, lambda)
  else if (lambda < MIN_NORMAL) deviance = k * (Math.log(k) - eta) + lambda - k
  else {
    const h = Math.exp(0.5 * eta)
    deviance = h < Infinity ? bd0Product(k, h, h) : Infinity
  }
  const lp = -stirlerr(k) - deviance - 0.5 * (LOG_2PI + Math.log(k))
  // Rounding may leave a mass near 1 a few ulps above it.
  return lp > 0 ? 0 : lp
}

/**
 * PoissonLog(eta): mass e^(−λ) λ^k / k! for k = 0, 1, 2, … with rate λ = e^η.
 *
 * **Details** `logProb` is kη − e^η − log k! in Loader's (2000) saddle-point form, finite for
 * every finite η wherever the true log mass is a double: at η = −1e300 it is kη − log k! ≈ −1e300·k,
 * exactly, and where e^η overflows (η > 709.78) the deviance is rescaled, so only
 * a true log mass below −MAX_VALUE gives −∞ (e.g. η = 1e300 at every k). Draws are `Poisson`'s
 * (inversion, PTRS, a rounded normal for huge rates); where e^η overflows a draw is MAX_VALUE.
 *
 * @example
 * const d = new PoissonLogDistribution(Math.log(3))
 * d.logProb(0) // −3
 *
 * @category constructors
 * @since 0.2.0
 */
export class PoissonLogDistribution implements Distribution<number> {
  get family(): "PoissonLog" {
    return "PoissonLog"
  }
  get kind(): "integer" {
    return "integer"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly eta: number
  /** The rate e^η (0 or +∞ where it under- or overflows). */
  readonly rate: number
  constructor(eta: number) {
    this.eta = eta
    this.rate = Math.exp(eta)
  }
  sample(rng: Rng): number {
    return samplePoisson(rng, this.rate)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0) return -Infinity
    return logMass(k, this.eta)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return poissonLogKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.eta]
  }
  /** e^η (+∞ where it overflows). */
  mean(): number {
    return this.rate
  }
  /** e^η (+∞ where it overflows). */
  variance(): number {
    return this.rate
  }
}

/**
 * The PoissonLog log mass with its partials in (k, eta): ∂η = k − e^η (clamped to ±MAX_VALUE
 * where e^η overflows and the mass is still finite); ∂k = 0, since the count is discrete and
 * never differentiated. −∞ unless k is an integer ≥ 0 and η finite.
 *
 * @example
 * poissonLogKernel(out, 2, 0, 0, 0) // −1 − log 2, out = [0, 1]
 *
 * @category numerics
 * @since 0.2.0
 */
export const poissonLogKernel: Kernel = (out, k, eta) => {
  if (eta - eta !== 0 || !Number.isInteger(k) || k < 0) return -Infinity
  out[0] = 0
  out[1] = clampReal(k - Math.exp(eta))
  return logMass(k, eta)
}

const poissonLogScalar = (eta: Real): PoissonLogDistribution => {
  if (typeof eta === "number") return new PoissonLogDistribution(requireFinite("PoissonLog", "eta", eta))
  const d = new PoissonLogDistribution(requireFinite("PoissonLog", "eta", primal(eta)))
  track(d, [eta])
  return d
}

const POISSONLOG_BROADCAST: Spec = registerSpec({
  family: "PoissonLog",
  parameters: ["eta"],
  checks: ["finite"],
  kernel: poissonLogKernel,
  element: (p0) => poissonLogScalar(p0),
  support: SUPPORT,
  boolean: false
})

/**
 * A Poisson distribution on the log-rate scale; throws `InvalidDistributionError` unless `eta`
 * is finite. `eta` may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = PoissonLog(Ad.add(alpha, Ad.mul(beta, x)))
 * d.mean() // e^(α + βx)
 *
 * @category constructors
 * @since 0.2.0
 */
export function PoissonLog(eta: Reals): BroadcastDistribution
export function PoissonLog(eta: Real): PoissonLogDistribution
export function PoissonLog(eta: Real | Reals): PoissonLogDistribution | BroadcastDistribution {
  if (typeof eta === "number") return poissonLogScalar(eta)
  return isArrayParameter(eta) ? broadcast(POISSONLOG_BROADCAST, [eta]) : poissonLogScalar(eta as Real)
}
