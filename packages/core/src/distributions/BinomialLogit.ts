/**
 * The binomial distribution parameterised by the log-odds `eta` of a success: the observation
 * model of aggregated logistic regression (k successes out of n, `eta` a linear predictor). Use it
 * instead of `Binomial(n, logistic(eta))`: the log mass is formed from `eta` itself, so it stays
 * finite for every finite `eta`.
 *
 * @since 0.2.0
 */
import { logisticValue, primal, softplusValue, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requireFinite, requireInteger, type Distribution, type Support } from "../Distribution.ts"
import { logBinomialKernel } from "../internal/saddlePoint.ts"
import { sampleBinomial } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

/**
 * The log mass log C(n, k) + k·log σ(η) + (n − k)·log σ(−η), by Loader's saddle-point form (as
 * `Binomial`) with p = σ(η), q = σ(−η), each formed directly (never as 1 − the other), and
 * log p = −softplus(−η), log q = −softplus(η) from η: where σ(±η) underflows to 0 (|η| > 745)
 * the saddle-point deviances use these logarithms, so the mass stays finite.
 */
const logMass = (k: number, n: number, p: number, q: number, logP: number, logQ: number): number => {
  const lp = logBinomialKernel(k, n - k, p, q, logP, logQ)
  // Rounding may leave a mass near 1 a few ulps above it.
  return lp > 0 ? 0 : lp
}

/**
 * BinomialLogit(n, eta): mass C(n, k) σ(η)^k σ(−η)^(n−k) for k = 0, …, n, σ(η) = 1 / (1 + e^−η).
 *
 * **Details** `logProb` is Loader's (2000) saddle-point form (accurate for large n, no
 * cancellation between log C(n, k) and the k·log σ terms) with log σ(±η) = −softplus(∓η) taken
 * from η, so it is finite for every finite η wherever the true log mass is a double: at
 * η = 1e300, log p(k) ≈ −(n − k)·1e300 + log C(n, k). Draws are `Binomial`'s (inversion or BTRS).
 *
 * @example
 * const d = new BinomialLogitDistribution(10, 0)
 * d.logProb(5) // log(252 / 1024)
 *
 * @category constructors
 * @since 0.2.0
 */
export class BinomialLogitDistribution implements Distribution<number> {
  get family(): "BinomialLogit" {
    return "BinomialLogit"
  }
  get kind(): "integer" {
    return "integer"
  }
  readonly support: Support
  readonly n: number
  readonly eta: number
  /** σ(η) and σ(−η), each formed directly. */
  readonly p: number
  readonly q: number
  /** log σ(η) = −softplus(−η) and log σ(−η) = −softplus(η), cached. */
  readonly logP: number
  readonly logQ: number
  constructor(n: number, eta: number) {
    this.n = n
    this.eta = eta
    this.p = logisticValue(eta)
    this.q = logisticValue(-eta)
    this.logP = 0 - softplusValue(-eta)
    this.logQ = 0 - softplusValue(eta)
    this.support = { _tag: "Integers", lower: 0, upper: n }
  }
  sample(rng: Rng): number {
    // the smaller of p, q is the exact one: draw failures when q is (k = n − draw)
    return this.p <= this.q ? sampleBinomial(rng, this.n, this.p) : this.n - sampleBinomial(rng, this.n, this.q)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > this.n) return -Infinity
    return logMass(k, this.n, this.p, this.q, this.logP, this.logQ)
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return binomialLogitKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.n, this.eta]
  }
  mean(): number {
    return this.n * this.p
  }
  variance(): number {
    return this.n * this.p * this.q
  }
}

/**
 * The BinomialLogit log mass with its partials in (k, n, eta): ∂η = k − n·σ(η), formed as
 * k·σ(−η) − (n − k)·σ(η) (no cancellation); ∂k = ∂n = 0, since the count and the number of
 * trials are discrete and never differentiated. −∞ unless n is an integer ≥ 0, k an integer in
 * 0 … n and η finite.
 *
 * @example
 * binomialLogitKernel(out, 5, 10, 0, 0) // log(252/1024), out = [0, 0, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const binomialLogitKernel: Kernel = (out, k, n, eta) => {
  if (eta - eta !== 0 || !Number.isSafeInteger(n) || n < 0 || !Number.isInteger(k) || k < 0 || k > n) return -Infinity
  const p = logisticValue(eta)
  const q = logisticValue(-eta)
  out[0] = 0
  out[1] = 0
  out[2] = k * q - (n - k) * p
  return logMass(k, n, p, q, 0 - softplusValue(-eta), 0 - softplusValue(eta))
}

const binomialLogitScalar = (n: number, eta: Real): BinomialLogitDistribution => {
  if (typeof eta === "number") {
    return new BinomialLogitDistribution(requireInteger("BinomialLogit", "n", n, 0), requireFinite("BinomialLogit", "eta", eta))
  }
  const d = new BinomialLogitDistribution(requireInteger("BinomialLogit", "n", n, 0), requireFinite("BinomialLogit", "eta", primal(eta)))
  track(d, [n, eta])
  return d
}

const BINOMIALLOGIT_BROADCAST: Spec = registerSpec({
  family: "BinomialLogit",
  parameters: ["n", "eta"],
  checks: ["count", "finite"],
  kernel: binomialLogitKernel,
  element: (p0, p1) => binomialLogitScalar(p0, p1),
  support: { _tag: "Integers", lower: 0, upper: Infinity },
  boolean: false
})

/**
 * A binomial distribution on the log-odds scale; throws `InvalidDistributionError` unless `n` is
 * an integer ≥ 0 and `eta` is finite. `eta` may be a differentiable value (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = BinomialLogit(20, Ad.add(alpha, Ad.mul(beta, dose)))
 * d.mean() // 20·σ(α + β·dose)
 *
 * @category constructors
 * @since 0.2.0
 */
export function BinomialLogit(n: Reals, eta: Real | Reals): BroadcastDistribution
export function BinomialLogit(n: number, eta: Reals): BroadcastDistribution
export function BinomialLogit(n: number, eta: Real): BinomialLogitDistribution
export function BinomialLogit(n: number | Reals, eta: Real | Reals): BinomialLogitDistribution | BroadcastDistribution {
  if (typeof n === "number" && typeof eta === "number") return binomialLogitScalar(n, eta)
  return isArrayParameter(n) || isArrayParameter(eta) ? broadcast(BINOMIALLOGIT_BROADCAST, [n, eta]) : binomialLogitScalar(n as number, eta as Real)
}
