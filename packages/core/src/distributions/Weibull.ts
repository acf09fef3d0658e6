/**
 * The Weibull distribution with a `shape` k and a `scale` λ. Use it for lifetimes and
 * failure times: k < 1 means a falling hazard, k = 1 the exponential, k > 1 a rising hazard.
 *
 * @since 0.1.0
 */
import gammaln from "@stdlib/math-base-special-gammaln"
import { primal, track, type Kernel, type Real } from "../Ad.ts"
import { isNumber, requirePositive, type Distribution, type Support } from "../Distribution.ts"
import { clampPositive, MIN_NORMAL, MIN_POSITIVE } from "../internal/limits.ts"
import type { Rng } from "../Rng.ts"
import { broadcast, isArrayParameter, registerSpec, type BroadcastDistribution, type Reals, type Spec } from "./Broadcast.ts"

const SUPPORT: Support = { _tag: "NonNegative" }

/**
 * log(x/λ) for x, λ > 0 finite: near 1 as log1p((x − λ)/λ) (x − λ is exact there, and k·log(x/λ)
 * amplifies the ratio's rounding by k); outside the doubles as log x − log λ.
 */
const logRatio = (x: number, scale: number): number => {
  const r = x / scale
  return r > 0.5 && r < 2 ? Math.log1p((x - scale) / scale) : r >= MIN_NORMAL && r < Infinity ? Math.log(r) : Math.log(x) - Math.log(scale)
}

/**
 * Weibull(shape, scale): density (k/λ)(x/λ)^(k−1) exp(−(x/λ)^k) on x ≥ 0.
 *
 * **Details** `logProb` works with log(x/λ) (from log x − log λ where the ratio leaves the
 * doubles) and returns −∞ as soon as (x/λ)^k overflows, so it is never ∞ − ∞. Draws are the
 * inversion λ(−log U)^(1/k), in log space where the power leaves the doubles, clamped into
 * [2^-1074, MAX_VALUE] (for small k much of the mass lies beyond MAX_VALUE). At x = 0 `logProb`
 * is −log λ for k = 1 and −∞ for k > 1; for k < 1, where the density diverges, it scores 0 as the
 * clamped value 2^-1074 (finite).
 *
 * @example
 * const d = new WeibullDistribution(1, 2)
 * d.mean() // 2
 *
 * @category constructors
 * @since 0.1.0
 */
export class WeibullDistribution implements Distribution<number> {
  get family(): "Weibull" {
    return "Weibull"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return SUPPORT
  }
  readonly shape: number
  readonly scale: number
  /** log k − log λ, cached. */
  readonly logNorm: number
  constructor(shape: number, scale: number) {
    this.shape = shape
    this.scale = scale
    this.logNorm = Math.log(shape) - Math.log(scale)
  }
  sample(rng: Rng): number {
    // Inversion: λ·(−log U)^(1/k); −log U is in [2^-53, 37], so only the power can leave the doubles.
    const e = -Math.log(rng.uniform())
    const x = this.scale * Math.pow(e, 1 / this.shape)
    if (x > 0 && x < Infinity) return x
    return clampPositive(Math.exp(Math.log(this.scale) + Math.log(e) / this.shape))
  }
  logProb(x: number): number {
    if (typeof x !== "number") return -Infinity
    if (x > 0 && x < Infinity) {
      const lz = logRatio(x, this.scale)
      const power = Math.exp(this.shape * lz)
      // (x/λ)^k = ∞ outweighs (k − 1)·log(x/λ) (which may be +∞ too for huge k).
      return power < Infinity ? this.logNorm + (this.shape - 1) * lz - power : -Infinity
    }
    if (x === 0) return this.shape < 1 ? this.logProb(MIN_POSITIVE) : this.shape === 1 ? this.logNorm : -Infinity
    return -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  get logProbKernel(): Kernel {
    return weibullKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return [this.shape, this.scale]
  }
  mean(): number {
    return this.scale * Math.exp(gammaln(1 + 1 / this.shape))
  }
  /**
   * λ²(Γ(1 + 2/k) − Γ(1 + 1/k)²), written as mean²·expm1(log Γ(1 + 2ε) − 2 log Γ(1 + ε)) with
   * ε = 1/k; for k ≥ 10 the exponent comes from its series (the difference of Γ values cancels
   * to nothing, even to a negative number, for large k).
   */
  variance(): number {
    const e = 1 / this.shape
    const lg1 = gammaln(1 + e)
    const d = e <= 0.1 ? logGammaRatioSeries(e) : gammaln(1 + 2 * e) - 2 * lg1
    const m = this.scale * Math.exp(lg1)
    return m * m * Math.expm1(d)
  }
}

/** ζ(2), …, ζ(10); above, ζ(n) = 1 + 2^-n + 3^-n + 4^-n to double precision of the series. */
const ZETA: ReadonlyArray<number> = [
  Math.PI ** 2 / 6, 1.2020569031595942, Math.PI ** 4 / 90, 1.0369277551433699, Math.PI ** 6 / 945,
  1.0083492773819228, 1.0040773561979443, 1.0020083928260822, 1.0009945751278181
]

/**
 * log Γ(1 + 2ε) − 2 log Γ(1 + ε) = Σ_{n≥2} (−1)^n ζ(n) (2^n − 2) εⁿ / n for 0 < ε ≤ 0.1, from
 * log Γ(1 + ε) = −γε + Σ_{n≥2} (−1)^n ζ(n) εⁿ / n (Abramowitz & Stegun 6.1.33); the γ terms cancel.
 */
const logGammaRatioSeries = (e: number): number => {
  let s = 0
  let p = e * e
  for (let n = 2; n < 60; n++) {
    const zeta = n <= 10 ? ZETA[n - 2] : 1 + 2 ** -n + 3 ** -n + 4 ** -n
    const term = (zeta * (2 ** n - 2) * p) / n
    s += n % 2 === 0 ? term : -term
    if (term < 1e-17 * s) break
    p *= e
  }
  return s
}

/**
 * The Weibull log density with its partials in (x, shape k, scale λ): with p = (x/λ)^k,
 * ∂x = (k − 1 − k·p)/x, ∂k = 1/k + log(x/λ)·(1 − p), ∂λ = k(p − 1)/λ.
 *
 * **Details** The value is `logProb`'s (−∞ where p overflows). Defined on the open support
 * x > 0: at x = 0 the partial in k is infinite (and for k < 1 the density diverges), so x ≤ 0
 * and x = +∞ give −∞.
 *
 * @example
 * weibullKernel(out, 1, 2, 1, 0) // log 2 − 1, out = [−1, ½, 0]
 *
 * @category numerics
 * @since 0.2.0
 */
export const weibullKernel: Kernel = (out, x, shape, scale) => {
  if (!(shape > 0 && shape < Infinity && scale > 0 && scale < Infinity && x > 0 && x < Infinity)) return -Infinity
  const lz = logRatio(x, scale)
  const power = Math.exp(shape * lz)
  if (!(power < Infinity)) return -Infinity
  out[0] = (shape - 1 - shape * power) / x
  out[1] = 1 / shape + lz * (1 - power)
  out[2] = (shape * (power - 1)) / scale
  return Math.log(shape) - Math.log(scale) + (shape - 1) * lz - power
}

const weibullScalar = (shape: Real, scale: Real): WeibullDistribution => {
  if (typeof shape === "number" && typeof scale === "number") {
    return new WeibullDistribution(requirePositive("Weibull", "shape", shape), requirePositive("Weibull", "scale", scale))
  }
  const d = new WeibullDistribution(requirePositive("Weibull", "shape", primal(shape)), requirePositive("Weibull", "scale", primal(scale)))
  track(d, [shape, scale])
  return d
}

const WEIBULL_BROADCAST: Spec = registerSpec({
  family: "Weibull",
  parameters: ["shape", "scale"],
  checks: ["positive", "positive"],
  kernel: weibullKernel,
  element: (p0, p1) => weibullScalar(p0, p1),
  support: SUPPORT,
  boolean: false
})

/**
 * A Weibull distribution; throws `InvalidDistributionError` unless `shape` and `scale` are finite and > 0.
 * The parameters may be differentiable values (`Ad.Real`).
 *
 * Given an array for any parameter, the broadcast family over that many independent
 * coordinates (`BroadcastDistribution`).
 *
 * @example
 * const d = Weibull(2, 1)
 * d.logProb(1) // log 2 − 1
 *
 * @category constructors
 * @since 0.1.0
 */
export function Weibull(shape: Reals, scale: Real | Reals): BroadcastDistribution
export function Weibull(shape: Real, scale: Reals): BroadcastDistribution
export function Weibull(shape: Real, scale: Real): WeibullDistribution
export function Weibull(shape: Real | Reals, scale: Real | Reals): WeibullDistribution | BroadcastDistribution {
  if (typeof shape === "number" && typeof scale === "number") return weibullScalar(shape, scale)
  return isArrayParameter(shape) || isArrayParameter(scale) ? broadcast(WEIBULL_BROADCAST, [shape, scale]) : weibullScalar(shape as Real, scale as Real)
}
