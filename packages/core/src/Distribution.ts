/**
 * The distribution interface every family implements, its support descriptions, and the
 * typed error raised by a constructor given a bad parameter. Families live in
 * `distributions/` and are re-exported from the package root (`Normal`, `Gamma`, …).
 * `logProb` is total: for every valid parameter setting, extremes included, and any input
 * whatsoever it returns −∞ outside the support (or for a value of the wrong type), never NaN
 * and never throws; a log mass is ≤ 0, and a log density is finite at every interior point
 * where its true value is a finite double (it is −∞ only where the true value is below
 * −MAX_VALUE, e.g. Normal(0, 1e-300) at 1). Samplers terminate and return values in the support:
 * a draw that lies beyond the doubles (below 2^-1074, above MAX_VALUE, within 2^-53 of 1) is
 * clamped to the last double inside, and where a density diverges at a boundary (Gamma with
 * shape < 1 at 0, Beta with a shape < 1 at 0 or 1) `logProb` scores the boundary value as that
 * same last interior double, so no value a sampler returns or a transform rounds to has density +∞.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { Kernel } from "./Ad.ts"
import type { Rng } from "./Rng.ts"

/**
 * Where a distribution puts its mass. Used for type checks, transforms and tests.
 *
 * @category models
 * @since 0.1.0
 */
export type Support =
  | { readonly _tag: "Real" }
  | { readonly _tag: "Positive" }
  | { readonly _tag: "NonNegative" }
  | { readonly _tag: "Interval"; readonly lower: number; readonly upper: number }
  | { readonly _tag: "Integers"; readonly lower: number; readonly upper: number }
  | { readonly _tag: "Boolean" }
  | { readonly _tag: "Simplex"; readonly dimension: number }
  | { readonly _tag: "RealVector"; readonly dimension: number }
  | { readonly _tag: "IntegerVector"; readonly dimension: number; readonly total: number }
  | { readonly _tag: "Finite"; readonly size: number }
  /** `length` independent coordinates, each with the scalar support `element` (a broadcast family). */
  | { readonly _tag: "Product"; readonly element: Support; readonly length: number }

/**
 * The runtime kind of a distribution's values: `real` and `integer` are `number`,
 * `boolean` is `boolean`, `vector` is `Float64Array`, `value` is any value compared
 * structurally (a `Marginal` over strings or objects).
 *
 * @category models
 * @since 0.1.0
 */
export type ValueKind = "real" | "integer" | "boolean" | "vector" | "value"

/**
 * A probability distribution over values of type `T`.
 *
 * @example
 * const d: Distribution<number> = Normal(0, 1)
 * d.logProb(d.sample(Rng.make(1)))
 *
 * @category models
 * @since 0.1.0
 */
export interface Distribution<T> {
  /** The family's name, e.g. "Normal". */
  readonly family: string
  /** The runtime kind of the values (what `isValue` checks). */
  readonly kind: ValueKind
  /** Where the mass is. */
  readonly support: Support
  /** One exact draw. */
  sample(rng: Rng): T
  /** log density (continuous) or log mass (discrete); −∞ outside the support, never NaN, never +∞, never throws. */
  logProb(value: T): number
  /** Whether `value` has the right runtime type for this distribution (not whether it is in the support). */
  isValue(value: unknown): value is T
  /**
   * Optional, for an `Interval` support [a, b]: log p(x) at x = a + (b − a)·σ(u), computed from
   * the logit u itself, so it stays exact where x is within rounding of a or b (where `logProb`
   * can only score the rounded double). Samplers that walk on the logit scale use it.
   */
  logProbLogit?(u: number): number
  /**
   * Optional, with `logProbLogit`: that function as an `Ad.Kernel` in (u, parameters), so
   * gradients on the logit scale stay exact near the ends too.
   */
  readonly logProbLogitKernel?: Kernel
  /**
   * Optional: the family's analytic log density with its partial derivatives in the value and
   * in each parameter (an `Ad.Kernel`); gradient-based inference (`LogDensity`) uses it. A
   * family without one is differentiated by finite differences.
   */
  readonly logProbKernel?: Kernel
  /** With `logProbKernel`: this distribution's numeric parameters, in the kernel's order. */
  kernelParameters?(): ReadonlyArray<number>
  /**
   * Optional, for a family that cannot be sampled (the improper priors `Flat`, `FlatPositive`,
   * whose `sample` throws `ImproperPriorError`): a point of the support where MCMC may start the
   * site. MH's initialisation uses it in place of a prior draw (and only there; a value in the
   * `initial` trace takes precedence); a proposal never does, since a fresh site's draw is part
   * of the acceptance ratio. Families that can be sampled leave it out.
   */
  initialValue?(): T
  /** The mean, or undefined where it does not exist. Vector families return a Float64Array. */
  mean(): number | Float64Array | undefined
  /** The variance (per coordinate for vector families), or undefined where it does not exist. */
  variance(): number | Float64Array | undefined
}

/**
 * The value type of a distribution.
 *
 * @category models
 * @since 0.1.0
 */
export type ValueOf<D> = D extends Distribution<infer T> ? T : never

/**
 * Raised by a family's constructor when a parameter is invalid; names the family, the
 * parameter and the offending value.
 *
 * @example
 * try { Normal(0, -1) } catch (e) { (e as InvalidDistributionError).parameter } // "sigma"
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidDistributionError extends Data.TaggedError("InvalidDistributionError")<{
  readonly family: string
  readonly parameter: string
  readonly value: unknown
  readonly reason: string
}> {
  override get message(): string {
    return `${this.family}: invalid parameter ${this.parameter} = ${show(this.value)} (${this.reason})`
  }
}

/** Entries shown of an array-like value, and how deep nested arrays are followed. */
const SHOW_ENTRIES = 8
const SHOW_DEPTH = 2

/**
 * A short rendering of any value for an error message; never throws, whatever the value
 * (Object.create(null), a Symbol, a BigInt, a cyclic or hostile object): strings are quoted,
 * −0 and bigints keep their sign and suffix, arrays show their first entries (`[1, NaN]`).
 */
const show = (value: unknown, depth = 0): string => {
  try {
    switch (typeof value) {
      case "string":
        return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
      case "number":
        return Object.is(value, -0) ? "-0" : String(value)
      case "bigint":
        return `${value}n`
      case "symbol":
        return value.toString()
      case "function":
        return "[function]"
      case "object": {
        if (value === null) return "null"
        if (Array.isArray(value) || ArrayBuffer.isView(value)) {
          if (depth >= SHOW_DEPTH) return "[…]"
          const xs = value as unknown as ArrayLike<unknown>
          const n = xs.length
          const parts: Array<string> = []
          for (let i = 0; i < Math.min(n, SHOW_ENTRIES); i++) parts.push(show(xs[i], depth + 1))
          if (n > SHOW_ENTRIES) parts.push(`… ${n - SHOW_ENTRIES} more`)
          return `[${parts.join(", ")}]`
        }
        return Object.prototype.toString.call(value)
      }
      default:
        return String(value)
    }
  } catch {
    return "[unprintable value]"
  }
}

/** @internal */
export const fail = (family: string, parameter: string, value: unknown, reason: string): never => {
  throw new InvalidDistributionError({ family, parameter, value, reason })
}

/**
 * Checks that a parameter is a finite number.
 *
 * @example
 * Distribution.requireFinite("Normal", "mu", 1)   // 1
 * Distribution.requireFinite("Normal", "mu", NaN) // throws InvalidDistributionError: must be a finite number
 *
 * @category constructors
 * @since 0.1.0
 */
export const requireFinite = (family: string, parameter: string, value: number): number =>
  typeof value === "number" && Number.isFinite(value) ? value : fail(family, parameter, value, "must be a finite number")

/**
 * Checks that a parameter is a finite number > 0.
 *
 * @example
 * Distribution.requirePositive("Gamma", "shape", 2) // 2
 * Distribution.requirePositive("Gamma", "shape", 0) // throws InvalidDistributionError: must be a finite number > 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const requirePositive = (family: string, parameter: string, value: number): number =>
  typeof value === "number" && Number.isFinite(value) && value > 0 ? value : fail(family, parameter, value, "must be a finite number > 0")

/**
 * Checks that a parameter is a probability in [0, 1].
 *
 * @example
 * Distribution.requireProbability("Bernoulli", "p", 0.3) // 0.3
 * Distribution.requireProbability("Bernoulli", "p", 1.5) // throws InvalidDistributionError: must be a probability in [0, 1]
 *
 * @category constructors
 * @since 0.1.0
 */
export const requireProbability = (family: string, parameter: string, value: number): number =>
  typeof value === "number" && value >= 0 && value <= 1 ? value : fail(family, parameter, value, "must be a probability in [0, 1]")

/**
 * Checks that a parameter is an integer ≥ `min`.
 *
 * @example
 * Distribution.requireInteger("Binomial", "n", 10, 0)  // 10
 * Distribution.requireInteger("Binomial", "n", 2.5, 0) // throws InvalidDistributionError: must be an integer >= 0
 *
 * @category constructors
 * @since 0.1.0
 */
export const requireInteger = (family: string, parameter: string, value: number, min: number): number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : fail(family, parameter, value, `must be an integer >= ${min}`)

/** @internal */
export const isNumber = (value: unknown): value is number => typeof value === "number"
/** @internal */
export const isBoolean = (value: unknown): value is boolean => typeof value === "boolean"
/** @internal */
export const isVector = (value: unknown): value is Float64Array => value instanceof Float64Array

/** log(2π) / 2, the normal density's constant. */
export const HALF_LOG_2PI = 0.9189385332046728
