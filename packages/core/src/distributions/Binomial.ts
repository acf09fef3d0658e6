/**
 * The binomial distribution: the number of successes in `n` independent trials, each a
 * success with probability `p`. Use it for counts out of a known total.
 *
 * @since 0.1.0
 */
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requireInteger, requireProbability, type Distribution, type Support } from "../Distribution.ts"
import { logBinomialKernel } from "../internal/saddlePoint.ts"
import { sampleBinomial } from "../internal/special.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

/**
 * Binomial(n, p): mass C(n, k) p^k (1 − p)^(n−k) for k = 0, …, n.
 *
 * **Details** `logProb` uses Loader's (2000) saddle-point form, accurate for large n. Draws use
 * inversion when n·min(p, 1 − p) < 10 and Hörmann's BTRS (1993) otherwise.
 *
 * @example
 * const d = new BinomialDistribution(10, 0.5)
 * d.logProb(5) // log(252 / 1024)
 *
 * @category constructors
 * @since 0.1.0
 */
export class BinomialDistribution implements Distribution<number> {
  get family(): "Binomial" {
    return "Binomial"
  }
  get kind(): "integer" {
    return "integer"
  }
  readonly support: Support
  readonly n: number
  readonly p: number
  /** 1 − p, kept separately for precision. */
  readonly q: number
  /** log p and log(1 − p) (−∞ at the ends), cached. */
  readonly logP: number
  readonly logQ: number
  constructor(n: number, p: number) {
    this.n = n
    this.p = p
    this.q = 1 - p
    this.logP = Math.log(p)
    this.logQ = Math.log1p(-p)
    this.support = { _tag: "Integers", lower: 0, upper: n }
  }
  sample(rng: Rng): number {
    return sampleBinomial(rng, this.n, this.p)
  }
  logProb(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > this.n) return -Infinity
    const lp = logBinomialKernel(k, this.n - k, this.p, this.q, this.logP, this.logQ)
    // Rounding may leave a mass near 1 a few ulps above it.
    return lp > 0 ? 0 : lp
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return binomialKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.n, this.p]
  }
  mean(): number {
    return this.n * this.p
  }
  variance(): number {
    return this.n * this.p * this.q
  }
}

/**
 * The binomial log mass with its partials in (k, n, p): ∂p = k/p − (n − k)/(1 − p) (a term
 * whose count is 0 is left out, so p = 0 and p = 1 stay finite where the mass is); ∂k = ∂n = 0
 * (both are integers). −∞ unless n is an integer ≥ 0, p in [0, 1] and k an integer in [0, n].
 *
 * @example
 * binomialKernel(out, 5, 10, 0.5, 0) // log(252/1024), out = [0, 0, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const binomialKernel: Kernel = (out, k, n, p) => {
  if (!(Number.isSafeInteger(n) && n >= 0 && p >= 0 && p <= 1 && Number.isInteger(k) && k >= 0 && k <= n)) return -Infinity
  const q = 1 - p
  out[0] = 0
  out[1] = 0
  out[2] = (k > 0 ? k / p : 0) - (k < n ? (n - k) / q : 0)
  const lp = logBinomialKernel(k, n - k, p, q, Math.log(p), Math.log1p(-p))
  return lp > 0 ? 0 : lp
}

const binomialScalar = (n: number, p: Real): BinomialDistribution => {
  if (typeof p === "number") return new BinomialDistribution(requireInteger("Binomial", "n", n, 0), requireProbability("Binomial", "p", p))
  const d = new BinomialDistribution(requireInteger("Binomial", "n", n, 0), requireProbability("Binomial", "p", primal(p)))
  track(d, [n, p])
  return d
}

const BINOMIAL_BROADCAST: Spec = registerSpec({
  family: "Binomial",
  parameters: ["n", "p"],
  checks: ["count", "probability"],
  kernel: binomialKernel,
  element: (p0, p1) => binomialScalar(p0, p1),
  support: { _tag: "Integers", lower: 0, upper: Infinity },
  boolean: false
})

/**
 * A binomial distribution; throws `InvalidDistributionError` unless `n` is an integer ≥ 0 and
 * `p` is in [0, 1]. `p` may be a differentiable value (`Ad.Real`); `n` is a plain integer.
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Binomial(20, 0.1)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export function Binomial(n: Reals, p: Real | Reals): BroadcastDistribution
export function Binomial(n: number, p: Reals): BroadcastDistribution
export function Binomial(n: number, p: Real): BinomialDistribution
export function Binomial(n: number | Reals, p: Real | Reals): BinomialDistribution | BroadcastDistribution {
  if (typeof n === "number" && typeof p === "number") return binomialScalar(n, p)
  return isArrayParameter(n) || isArrayParameter(p) ? broadcast(BINOMIAL_BROADCAST, [n, p]) : binomialScalar(n as number, p as Real)
}
