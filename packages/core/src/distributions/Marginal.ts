/**
 * A distribution over a finite set of arbitrary values with given log weights: the exact
 * marginal of a model's return value that enumeration computes, or any other discrete
 * distribution over numbers, booleans, strings, arrays or plain objects. Equal values are merged
 * (compared structurally: numbers by value with −0 and 0 distinct, arrays and typed arrays
 * element by element, plain objects key by key in any key order), and their weights added. It
 * can be sampled and scored like any family, so an inferred distribution can be used inside
 * another model (`observe` of any value; `sample` of numeric or boolean values).
 *
 * @since 0.2.0
 */
import { InvalidDistributionError, type Distribution, type Support, type ValueKind } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"
import { CategoricalDistribution } from "./Categorical.ts"

/**
 * The structural key of a value: equal keys ⇔ values merged by `Marginal`. Never throws; a value
 * that has no structural key (a function, a symbol, a class instance other than an array or a
 * typed array, a cyclic object) gets `undefined`.
 *
 * @example
 * keyOf({ b: 1, a: [true, 2] }) === keyOf({ a: [true, 2], b: 1 }) // true
 *
 * @category getters
 * @since 0.2.0
 */
export const keyOf = (value: unknown): string | undefined => {
  try {
    return keyInner(value, 0)
  } catch {
    return undefined
  }
}

const MAX_DEPTH = 64

const keyInner = (v: unknown, depth: number): string | undefined => {
  if (depth > MAX_DEPTH) return undefined
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? "n-0" : `n${v}`
    case "boolean":
      return v ? "T" : "F"
    case "string":
      return `s${JSON.stringify(v)}`
    case "undefined":
      return "u"
    case "bigint":
      return `b${v}`
    case "object": {
      if (v === null) return "null"
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
        const parts: Array<string> = []
        const xs = v as unknown as ArrayLike<number | bigint>
        for (let i = 0; i < xs.length; i++) parts.push(keyInner(xs[i], depth + 1)!)
        return `[${parts.join(",")}]`
      }
      if (Array.isArray(v)) {
        const parts: Array<string> = []
        for (const x of v) {
          const k = keyInner(x, depth + 1)
          if (k === undefined) return undefined
          parts.push(k)
        }
        return `[${parts.join(",")}]`
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) return undefined
      const keys = Object.keys(v).sort()
      const parts: Array<string> = []
      for (const key of keys) {
        const k = keyInner((v as Record<string, unknown>)[key], depth + 1)
        if (k === undefined) return undefined
        parts.push(`${JSON.stringify(key)}:${k}`)
      }
      return `{${parts.join(",")}}`
    }
    default:
      return undefined
  }
}

/**
 * Marginal(values, logWeights): mass ∝ exp(logWeights[i]) at values[i], equal values merged.
 *
 * @example
 * const d = new MarginalDistribution(["a", "b"], new Float64Array([Math.log(0.25), Math.log(0.75)]))
 * d.logProb("b") // log 0.75
 *
 * @category constructors
 * @since 0.2.0
 */
export class MarginalDistribution<T> implements Distribution<T> {
  get family(): string {
    return "Marginal"
  }
  readonly kind: ValueKind
  readonly support: Support
  /** The distinct values, most probable first (ties in order of first appearance). */
  readonly values: ReadonlyArray<T>
  /** Their normalised probabilities. */
  readonly probabilities: Float64Array
  /** Their log probabilities (exact where a probability underflows). */
  readonly logProbabilities: Float64Array
  private readonly index: Map<string, number>
  /** The categorical over the values' indices: sampling by its inverse cdf. */
  private readonly indices: CategoricalDistribution
  /** Internal: use `Marginal(values, logWeights)`, which validates and merges. */
  constructor(values: ReadonlyArray<T>, logProbabilities: Float64Array, keys: ReadonlyArray<string>) {
    this.values = values
    this.logProbabilities = logProbabilities
    this.probabilities = logProbabilities.map(Math.exp)
    this.index = new Map(keys.map((k, i) => [k, i]))
    const n = values.length
    this.indices = new CategoricalDistribution(this.probabilities, logProbabilities)
    const all = (p: (v: unknown) => boolean) => values.every(p)
    if (all((v) => typeof v === "boolean")) {
      this.kind = "boolean"
      this.support = { _tag: "Boolean" }
    } else if (all((v) => typeof v === "number" && Number.isInteger(v))) {
      this.kind = "integer"
      const xs = values as unknown as ReadonlyArray<number>
      this.support = { _tag: "Integers", lower: Math.min(...xs), upper: Math.max(...xs) }
    } else {
      this.kind = all((v) => typeof v === "number") ? "real" : "value"
      this.support = { _tag: "Finite", size: n }
    }
  }
  sample(rng: Rng): T {
    return this.values[this.indices.sample(rng)]!
  }
  logProb(value: T): number {
    const k = keyOf(value)
    const i = k === undefined ? undefined : this.index.get(k)
    return i === undefined ? -Infinity : this.logProbabilities[i]!
  }
  isValue(value: unknown): value is T {
    switch (this.kind) {
      case "boolean":
        return typeof value === "boolean"
      case "integer":
      case "real":
        return typeof value === "number"
      default:
        return true
    }
  }
  /** The probability of `value` (0 when it is not among the values). */
  probability(value: T): number {
    return Math.exp(this.logProb(value))
  }
  /** The most probable value (the first of the most probable ones). */
  mode(): T {
    return this.values[0]!
  }
  mean(): number | undefined {
    if (this.kind !== "integer" && this.kind !== "real") return undefined
    let m = 0
    for (let i = 0; i < this.values.length; i++) m += (this.values[i] as unknown as number) * this.probabilities[i]!
    return m
  }
  variance(): number | undefined {
    const m = this.mean()
    if (m === undefined) return undefined
    let v = 0
    for (let i = 0; i < this.values.length; i++) v += ((this.values[i] as unknown as number) - m) ** 2 * this.probabilities[i]!
    return v
  }
}

/**
 * Accumulates weighted values into a `Marginal` one at a time, merging equal values as they come
 * (a running log-sum-exp per value), so enumerating 10⁴ paths keeps one entry per distinct return
 * value instead of every path. `Marginal(values, logWeights)` is built with it.
 *
 * @example
 * const b = new MarginalBuilder<string>()
 * b.add("a", Math.log(0.2)); b.add("b", Math.log(0.6)); b.add("a", Math.log(0.2))
 * b.build().probability("a") // 0.4
 *
 * @category constructors
 * @since 0.2.0
 */
export class MarginalBuilder<T> {
  private readonly keys: Array<string> = []
  private readonly values: Array<T> = []
  private readonly max: Array<number> = []
  private readonly sum: Array<number> = []
  private readonly index = new Map<string, number>()
  /** Distinct values so far. */
  get size(): number {
    return this.values.length
  }
  /**
   * Adds `value` with log weight `logWeight` (−∞ is ignored). Throws `InvalidDistributionError`
   * for a NaN or +∞ weight, or a value without a structural key.
   */
  add(value: T, logWeight: number): void {
    if (typeof logWeight !== "number" || Number.isNaN(logWeight) || logWeight === Infinity) {
      throw new InvalidDistributionError({ family: "Marginal", parameter: "logWeights", value: logWeight, reason: "every weight must be a number < +Infinity" })
    }
    if (logWeight === -Infinity) return
    const key = typeof value === "number" && !Object.is(value, -0) ? `n${value}` : keyOf(value)
    if (key === undefined) {
      throw new InvalidDistributionError({ family: "Marginal", parameter: "values", value, reason: "has no structural key (functions, symbols, class instances and cyclic objects cannot be compared)" })
    }
    const i = this.index.get(key)
    if (i === undefined) {
      this.index.set(key, this.values.length)
      this.keys.push(key)
      this.values.push(value)
      this.max.push(logWeight)
      this.sum.push(1)
    } else if (logWeight > this.max[i]!) {
      this.sum[i] = this.sum[i]! * Math.exp(this.max[i]! - logWeight) + 1
      this.max[i] = logWeight
    } else this.sum[i] = this.sum[i]! + Math.exp(logWeight - this.max[i]!)
  }
  /** The distribution; throws `InvalidDistributionError` when nothing of finite weight was added. */
  build(): MarginalDistribution<T> {
    const n = this.values.length
    if (n === 0) throw new InvalidDistributionError({ family: "Marginal", parameter: "logWeights", value: [], reason: "must have at least one finite entry" })
    const logMass = this.values.map((_, i) => this.max[i]! + Math.log(this.sum[i]!))
    const top = Math.max(...logMass)
    let total = 0
    for (const l of logMass) total += Math.exp(l - top)
    const logTotal = top + Math.log(total)
    const ranked = logMass.map((l, i) => ({ i, lp: l - logTotal })).sort((a, b) => b.lp - a.lp || a.i - b.i)
    return new MarginalDistribution(
      ranked.map((r) => this.values[r.i]!),
      Float64Array.from(ranked, (r) => r.lp),
      ranked.map((r) => this.keys[r.i]!)
    )
  }
}

/**
 * A distribution over `values` with mass ∝ exp(logWeights[i]); equal values (structurally, see
 * `keyOf`) are merged, weights of −∞ dropped. Throws `InvalidDistributionError` for mismatched
 * lengths, no finite weight, a NaN or +∞ weight, or a value without a structural key.
 *
 * @example
 * const d = Marginal(["heads", "tails", "heads"], [Math.log(0.2), Math.log(0.5), Math.log(0.3)])
 * d.probability("heads") // 0.5
 *
 * @category constructors
 * @since 0.2.0
 */
export const Marginal = <T>(values: ReadonlyArray<T>, logWeights: ArrayLike<number>): MarginalDistribution<T> => {
  const fail = (parameter: string, value: unknown, reason: string): never => {
    throw new InvalidDistributionError({ family: "Marginal", parameter, value, reason })
  }
  if (!Array.isArray(values)) fail("values", values, "must be an array")
  if (logWeights === null || typeof logWeights !== "object" || typeof logWeights.length !== "number") fail("logWeights", logWeights, "must be an array of numbers")
  if (values.length !== logWeights.length) fail("logWeights", logWeights, `must have one entry per value (${values.length}), got ${logWeights.length}`)
  const builder = new MarginalBuilder<T>()
  for (let i = 0; i < values.length; i++) builder.add(values[i]!, logWeights[i]!)
  return builder.build()
}

/**
 * The point mass at one value (WebPPL's `Delta`): log probability 0 there, −∞ elsewhere; any
 * value with a structural key (numbers, booleans, strings, arrays, plain objects).
 *
 * @example
 * const d = new DeltaDistribution("yes")
 * d.logProb("yes") // 0
 *
 * @category constructors
 * @since 0.2.0
 */
export class DeltaDistribution<T> extends MarginalDistribution<T> {
  override get family(): string {
    return "Delta"
  }
  /** The value. */
  readonly value: T
  constructor(value: T, key: string) {
    super([value], new Float64Array([0]), [key])
    this.value = value
  }
}

/**
 * Delta(value): all the mass at `value`. Throws `InvalidDistributionError` for a value without a
 * structural key (a function, a class instance) or a NaN.
 *
 * @example
 * Delta(3).sample(Rng.make(1)) // 3
 * Delta({ a: 1 }).logProb({ a: 1 }) // 0
 *
 * @category constructors
 * @since 0.2.0
 */
export const Delta = <T>(value: T): DeltaDistribution<T> => {
  const key = typeof value === "number" && Number.isNaN(value) ? undefined : keyOf(value)
  if (key === undefined) throw new InvalidDistributionError({ family: "Delta", parameter: "value", value, reason: "must be a value with a structural key (not NaN, a function, a symbol or a class instance)" })
  return new DeltaDistribution(value, key)
}
