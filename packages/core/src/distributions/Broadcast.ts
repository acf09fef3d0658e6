/**
 * Broadcast families: a scalar family over a vector of independent coordinates, each with its
 * own parameters. A family constructor given an array for any parameter returns one:
 * `Normal(means, sigma)` with `means` an array of n values (numbers, a `Float64Array`, or `Ad`
 * values) is the distribution of n independent normals with means `means[i]` and the common
 * `sigma`, so `observe("y", Normal(means, sigma), ys)` conditions on all n values in one
 * instruction, scored in one loop (no generator round trip per value). Scalar parameters are
 * shared by every coordinate; array parameters must all have the same length. Each coordinate's
 * parameters are validated as the scalar family validates them, and an invalid one is named with
 * its index (`Normal: invalid parameter sigma[3] = -1`).
 *
 * Draws are `Float64Array`s (booleans as 0/1 for Bernoulli-type families); observed values may
 * be any array of numbers of the same length (for Bernoulli-type families, 0/1 numbers, or
 * booleans, which the type does not admit but the runtime does). Under the
 * gradient handler the log density is the sum of the family's analytic kernel over the
 * coordinates. As a latent site a broadcast family is a vector site whose unconstrained space is
 * the coordinates' own (`Bijection.of` maps each).
 *
 * @since 0.2.0
 */
import { isNode, LinearPredictor, Node, primal, recordingTape, track, type Kernel, type LinearSum, type Real } from "../Ad.ts"
import { fail, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

/**
 * An array of parameters or values: numbers, a `Float64Array`, differentiable values, or a
 * linear predictor (`Ad.linear(X, beta, alpha)`, one fused tape node under the gradient handler).
 *
 * @example
 * const means: Reals = xs.map((x) => Ad.add(a, Ad.mul(b, x)))
 *
 * @category models
 * @since 0.2.0
 */
export type Reals = ArrayLike<Real> | LinearPredictor

/**
 * What a coordinate's parameter must be: "finite", "positive" (finite and > 0), "nonNegative"
 * (finite and ≥ 0), "probability" (in [0, 1]), "openProbability" (in (0, 1]) or "count" (a safe
 * integer ≥ 0).
 *
 * @example
 * const check: Check = "positive"
 *
 * @category models
 * @since 0.2.0
 */
export type Check = "finite" | "positive" | "nonNegative" | "probability" | "openProbability" | "count"

/**
 * How a scalar family broadcasts: its parameters' names and checks, its kernel, and the scalar
 * constructor for one coordinate (for draws, means and variances).
 *
 * @example
 * const spec: Spec = { family: "Normal", parameters: ["mu", "sigma"], checks: ["finite", "positive"], kernel: normalKernel, element: (mu, sigma) => Normal(mu, sigma), support: { _tag: "Real" }, boolean: false }
 *
 * @category models
 * @since 0.2.0
 */
export interface Spec {
  readonly family: string
  readonly parameters: ReadonlyArray<string>
  readonly checks: ReadonlyArray<Check>
  /** log p(x | p0, p1, p2) with its partials (the family's `logProbKernel`). */
  readonly kernel: Kernel
  /** The scalar distribution of one coordinate. */
  readonly element: (p0: number, p1: number, p2: number) => Distribution<number> | Distribution<boolean>
  /** The support of one coordinate. */
  readonly support: Support
  /** Whether the scalar family's values are booleans (Bernoulli, BernoulliLogit). */
  readonly boolean: boolean
  /**
   * Optional: Σᵢ log p(xᵢ | θᵢ) by a loop specialised to the family, for speed (e.g. the normal's
   * log σ once when σ is shared). Any result that is not finite is redone with the kernel.
   */
  readonly sum?: (x: ArrayLike<number>, values: ReadonlyArray<Float64Array>, strides: ReadonlyArray<number>, n: number) => number
  /** Optional: the fused sum over a linear predictor with its partials (`Ad.LinearSum`), for speed. */
  readonly linear?: LinearSum
}

const passes = (check: Check, v: number): boolean => {
  switch (check) {
    case "finite":
      return v - v === 0
    case "positive":
      return v - v === 0 && v > 0
    case "nonNegative":
      return v - v === 0 && v >= 0
    case "probability":
      return v >= 0 && v <= 1
    case "openProbability":
      return v > 0 && v <= 1
    case "count":
      return Number.isSafeInteger(v) && v >= 0
  }
}

const REASON: Readonly<Record<Check, string>> = {
  finite: "must be a finite number",
  positive: "must be a finite number > 0",
  nonNegative: "must be a finite number >= 0",
  probability: "must be a probability in [0, 1]",
  openProbability: "must be a probability in (0, 1]",
  count: "must be an integer >= 0"
}

const EMPTY = new Float64Array(1)

/**
 * A scalar family over `length` independent coordinates with broadcast parameters.
 *
 * @example
 * const d = Normal([0, 1, 2], 1) // a BroadcastDistribution of length 3
 * d.logProb([0, 1, 2])           // 3 × (−log √(2π))
 *
 * @category constructors
 * @since 0.2.0
 */
export class BroadcastDistribution implements Distribution<ArrayLike<number>> {
  readonly spec: Spec
  readonly length: number
  /** Each parameter's primal values: one number shared by all coordinates (stride 0) or one per coordinate. */
  readonly values: ReadonlyArray<Float64Array>
  readonly strides: ReadonlyArray<number>
  readonly support: Support
  private readonly scratch = new Float64Array(4)
  constructor(spec: Spec, length: number, values: ReadonlyArray<Float64Array>, strides: ReadonlyArray<number>) {
    this.spec = spec
    this.length = length
    this.values = values
    this.strides = strides
    this.support = { _tag: "Product", element: spec.support, length }
  }
  get family(): string {
    return this.spec.family
  }
  get kind(): "vector" {
    return "vector"
  }
  /** Coordinate i's parameter k. */
  parameter(k: number, i: number): number {
    return this.values[k]![i * this.strides[k]!]!
  }
  sample(rng: Rng): Float64Array {
    const n = this.length, out = new Float64Array(n)
    const p = this.values, s = this.strides
    const p0 = p[0] ?? EMPTY, p1 = p[1] ?? EMPTY, p2 = p[2] ?? EMPTY
    const s0 = s[0] ?? 0, s1 = s[1] ?? 0, s2 = s[2] ?? 0
    for (let i = 0; i < n; i++) {
      const x = this.spec.element(p0[i * s0]!, p1[i * s1]!, p2[i * s2]!).sample(rng) as number | boolean
      out[i] = typeof x === "boolean" ? (x ? 1 : 0) : x
    }
    return out
  }
  /** Σᵢ log p(xᵢ | θᵢ): one loop over the family's kernel; −∞ for a value of the wrong length or type. */
  logProb(x: ArrayLike<number>): number {
    const n = this.length
    if (x === null || typeof x !== "object" || x.length !== n) return -Infinity
    const sum = this.spec.sum
    if (sum !== undefined) {
      const fast = sum(x, this.values, this.strides, n)
      if (fast > -Infinity && fast < Infinity) return fast
    }
    const kernel = this.spec.kernel, out = this.scratch
    const p = this.values, s = this.strides
    const p0 = p[0] ?? EMPTY, p1 = p[1] ?? EMPTY, p2 = p[2] ?? EMPTY
    const s0 = s[0] ?? 0, s1 = s[1] ?? 0, s2 = s[2] ?? 0
    let total = 0
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number | boolean
      const v = typeof xi === "number" ? xi : xi === true ? 1 : xi === false ? 0 : Number.NaN
      total += kernel(out, v, p0[i * s0]!, p1[i * s1]!, p2[i * s2]!)
    }
    return total === total ? total : -Infinity
  }
  /** Each coordinate's log p(xᵢ | θᵢ) into `out` (the pointwise log-likelihood). */
  logProbEach(x: ArrayLike<number>, out: Float64Array): void {
    const kernel = this.spec.kernel, scratch = this.scratch
    for (let i = 0; i < this.length; i++) {
      const xi = x[i] as number | boolean
      const v = typeof xi === "number" ? xi : xi === true ? 1 : xi === false ? 0 : Number.NaN
      const lp = kernel(scratch, v, this.parameter(0, i), this.values.length > 1 ? this.parameter(1, i) : 0, this.values.length > 2 ? this.parameter(2, i) : 0)
      out[i] = lp === lp ? lp : -Infinity
    }
  }
  /** An array of `length` numbers (or, for Bernoulli-type families, booleans or 0/1 numbers). */
  isValue(x: unknown): x is ArrayLike<number> {
    if (x === null || typeof x !== "object") return false
    const xs = x as ArrayLike<unknown>
    if (xs.length !== this.length) return false
    if (x instanceof Float64Array) return true
    if (!Array.isArray(x) && !ArrayBuffer.isView(x)) return false
    const boolean = this.spec.boolean
    for (let i = 0; i < xs.length; i++) {
      const v = xs[i]
      if (typeof v !== "number" && !(boolean && typeof v === "boolean")) return false
    }
    return true
  }
  /** The coordinates' means. */
  mean(): Float64Array | undefined {
    return this.moments((d) => d.mean() as number | undefined)
  }
  /** The coordinates' variances. */
  variance(): Float64Array | undefined {
    return this.moments((d) => d.variance() as number | undefined)
  }
  private moments(f: (d: Distribution<unknown>) => number | undefined): Float64Array | undefined {
    const out = new Float64Array(this.length)
    for (let i = 0; i < this.length; i++) {
      const v = f(this.spec.element(this.parameter(0, i), this.values.length > 1 ? this.parameter(1, i) : 0, this.values.length > 2 ? this.parameter(2, i) : 0) as Distribution<unknown>)
      if (v === undefined) return undefined
      out[i] = v
    }
    return out
  }
}

/**
 * Whether any of the parameters is an array (then the family broadcasts).
 *
 * @example
 * anyArray([0, [1, 2]]) // true
 *
 * @category getters
 * @since 0.2.0
 */
export const anyArray = (params: ReadonlyArray<unknown>): boolean => {
  for (let k = 0; k < params.length; k++) if (isArrayParameter(params[k])) return true
  return false
}

/**
 * Copies the numbers (and nodes' values) of `xs` into `out`: returns `length` when all were plain
 * numbers, −1 when some were nodes, and the index of the first entry that is neither (or could
 * not be read) otherwise.
 */
const copyInto = (xs: ArrayLike<Real>, out: Float64Array, length: number): number => {
  let nodes = false
  let i = 0
  try {
    for (; i < length; i++) {
      const e = xs[i]
      if (typeof e === "number") out[i] = e
      else if (e instanceof Node) {
        out[i] = e.value
        nodes = true
      } else return i
    }
  } catch {
    return i
  }
  return nodes ? -1 : length
}

/** The first index whose value fails `check`, or −1 (one loop per check: no switch per entry). */
const firstInvalid = (check: Check, v: Float64Array, n: number): number => {
  switch (check) {
    case "finite":
      for (let i = 0; i < n; i++) if (v[i]! - v[i]! !== 0) return i
      return -1
    case "positive":
      for (let i = 0; i < n; i++) if (!(v[i]! - v[i]! === 0 && v[i]! > 0)) return i
      return -1
    case "nonNegative":
      for (let i = 0; i < n; i++) if (!(v[i]! - v[i]! === 0 && v[i]! >= 0)) return i
      return -1
    case "probability":
      for (let i = 0; i < n; i++) if (!(v[i]! >= 0 && v[i]! <= 1)) return i
      return -1
    case "openProbability":
      for (let i = 0; i < n; i++) if (!(v[i]! > 0 && v[i]! <= 1)) return i
      return -1
    case "count":
      for (let i = 0; i < n; i++) if (!(Number.isSafeInteger(v[i]!) && v[i]! >= 0)) return i
      return -1
  }
}

/**
 * The broadcast distribution of `spec` over `params` (each a `Real` or an array of them):
 * validates every coordinate's parameters, naming the first invalid one with its index, and
 * records the differentiable operands for the gradient handler. `fixedLength` is the length when
 * every parameter is a scalar (`iid`).
 *
 * @example
 * broadcast(NORMAL, [[0, 1, 2], 1]) // three normals with sd 1
 *
 * @category constructors
 * @since 0.2.0
 */
export const broadcast = (spec: Spec, params: ReadonlyArray<Real | Reals>, fixedLength?: number): BroadcastDistribution => {
  let length = -1
  for (let k = 0; k < params.length; k++) {
    const p = params[k]
    if (isArrayParameter(p)) {
      let n: number
      try {
        n = (p as Reals).length
      } catch {
        return fail(spec.family, spec.parameters[k]!, p, "must be a number or an array of numbers (its length could not be read)")
      }
      if (length < 0) length = n
      else if (n !== length) fail(spec.family, spec.parameters[k]!, p, `has length ${n}, but an earlier parameter has length ${length}: broadcast parameters must have one length`)
    }
  }
  if (length < 0) length = fixedLength ?? 1
  const values: Array<Float64Array> = []
  const strides: Array<number> = []
  let tracked = false
  for (let k = 0; k < params.length; k++) {
    const p = params[k]!
    const check = spec.checks[k]!
    const name = spec.parameters[k]!
    if (!isArrayParameter(p)) {
      const v = primal(p as Real)
      if (typeof v !== "number") return fail(spec.family, name, p, REASON[check])
      if (!passes(check, v)) fail(spec.family, name, v, REASON[check])
      if (isNode(p)) tracked = true
      values.push(Float64Array.of(v))
      strides.push(0)
      continue
    }
    const xs = p as Reals
    let out: Float64Array
    if (xs instanceof Float64Array) out = xs
    else if (xs instanceof LinearPredictor) {
      out = xs.values
      if (xs.differentiable) tracked = true
    } else {
      out = new Float64Array(length)
      const copied = copyInto(xs, out, length)
      if (copied < 0) tracked = true
      else if (copied < length) {
        // entry `copied` is neither a number nor a differentiable value, or could not be read
        let e: unknown = p
        try {
          e = xs[copied]
        } catch {
          return fail(spec.family, `${name}[${copied}]`, p, "could not be read")
        }
        return fail(spec.family, `${name}[${copied}]`, e, REASON[check])
      }
    }
    const bad = firstInvalid(check, out, length)
    if (bad >= 0) fail(spec.family, `${name}[${bad}]`, out[bad], REASON[check])
    values.push(out)
    strides.push(1)
  }
  const d = new BroadcastDistribution(spec, length, values, strides)
  if (tracked) track(d, params as ReadonlyArray<Real>)
  return d
}

/**
 * Whether a distribution is a broadcast family.
 *
 * @example
 * isBroadcast(Normal([0, 1], 1)) // true
 *
 * @category getters
 * @since 0.2.0
 */
export const isBroadcast = (d: unknown): d is BroadcastDistribution => d instanceof BroadcastDistribution

/**
 * Whether a family constructor's argument is an array of parameters (not a number, not an
 * `Ad` node): then the family broadcasts.
 *
 * @example
 * isArrayParameter([1, 2]) // true
 * isArrayParameter(1)      // false
 *
 * @category getters
 * @since 0.2.0
 */
export const isArrayParameter = (x: unknown): boolean =>
  typeof x === "object" && x !== null && (Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView)) || x instanceof LinearPredictor)

/** Each broadcasting family's spec, by family name (registered as the family modules load). */
const specs = new Map<string, Spec>()

/**
 * Registers a family's broadcast spec, so that `iid` can broadcast its scalar distributions (each
 * broadcasting family's module calls it once).
 *
 * @example
 * registerSpec(NORMAL_BROADCAST)
 *
 * @category constructors
 * @since 0.2.0
 */
export const registerSpec = (spec: Spec): Spec => {
  specs.set(spec.family, spec)
  return spec
}

/**
 * `n` independent copies of a scalar distribution, as one broadcast distribution: what observes n
 * values at once when every one has the same parameters (`observe("y", iid(Normal(mu, sigma),
 * ys.length), ys)`), or samples a vector site of n iid coordinates. The parameters may be
 * differentiable values. A family that does not broadcast (Categorical, Uniform, the vector
 * families) is a `TypeError` naming it.
 *
 * @example
 * const d = iid(Normal(0, 1), 3)
 * d.logProb([0, 0, 0]) // 3 × log N(0 | 0, 1)
 *
 * @category constructors
 * @since 0.2.0
 */
export const iid = (dist: Distribution<number> | Distribution<boolean>, n: number): BroadcastDistribution => {
  if (!Number.isSafeInteger(n) || n < 0) fail("iid", "n", n, "must be an integer >= 0")
  const spec = specs.get(dist.family)
  const parameters = (dist as { kernelParameters?: () => ReadonlyArray<number> }).kernelParameters?.()
  if (spec === undefined || parameters === undefined || dist instanceof BroadcastDistribution) {
    throw new TypeError(`iid: ${dist.family} does not broadcast (the broadcasting families: ${[...specs.keys()].join(", ")})`)
  }
  // the distribution's own differentiable operands when a tape recorded it, else its numbers
  const operands = recordedOperands(dist) ?? parameters
  return broadcast(spec, operands.slice(0, spec.parameters.length), n)
}

/** The operands a recording tape holds for `dist` (its differentiable parameters), if any. */
const recordedOperands = (dist: object): ReadonlyArray<Real> | undefined => recordingTape()?.distributions.get(dist) as ReadonlyArray<Real> | undefined
