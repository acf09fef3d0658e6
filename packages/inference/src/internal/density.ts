/**
 * The handlers behind `LogDensity`: one that discovers a model's continuous latent sites (drawing
 * each uniformly in (−2, 2) on its unconstrained scale, as Stan initialises), one that scores an
 * unconstrained point with plain numbers, and one that records the same computation on an `Ad`
 * tape. All three check that the model visits the sites found at discovery, in that order, with
 * the same supports; the transform (handler layers) wraps each of them.
 *
 * The log density of an unconstrained point q is Σ_sites [log p(x_s) + log|dx_s/du_s|] + Σ_obs
 * log p(y) + Σ factors, with x_s = forward_s(q[offset_s …]).
 */
import * as Ad from "@fugue/core/Ad"
import type { Address } from "@fugue/core/Address"
import * as Bijection from "@fugue/core/Bijection"
import type { Distribution, Support } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { PointMass, Scaled } from "@fugue/runtime/Combinators"
import type { Handler } from "@fugue/runtime/Handler"
import { Trace } from "@fugue/runtime/Trace"
import { describe } from "@fugue/core/Value"
import { Data } from "effect"

/**
 * One continuous latent site of a fixed-structure model.
 *
 * @category models
 * @since 0.2.0
 */
export interface Site {
  readonly address: Address
  readonly family: string
  readonly support: Support
  /** `[]` for a scalar, `[n]` for a vector value of length n. */
  readonly shape: ReadonlyArray<number>
  /** First unconstrained coordinate. */
  readonly offset: number
  /** Number of unconstrained coordinates (a simplex of length n has n − 1). */
  readonly dimension: number
}

/**
 * A latent site is discrete: `LogDensity` covers continuous latent sites only.
 *
 * @example
 * LogDensity.make(function* () { yield* sample("k", Poisson(3)) }) // throws DiscreteLatentError { address: "k" }
 *
 * @category errors
 * @since 0.2.0
 */
export class DiscreteLatentError extends Data.TaggedError("DiscreteLatentError")<{
  readonly address: Address
  readonly family: string
}> {
  override get message(): string {
    return `latent site "${this.address}" is discrete (${this.family}): gradient-based inference needs continuous latent sites; use MH or SMC, or condition / substitute it`
  }
}

/**
 * A run of the model visited other sites than the first run (a site appeared, disappeared,
 * moved, or changed its support): the model's structure depends on the values.
 *
 * @example
 * // function* () { const a = yield* sample("a", Normal(0, 1)); if (a > 0) yield* sample("b", Normal(0, 1)) }
 * // ld.logDensity(q) throws StructureChangedError { address: "b" } where a ≤ 0 at discovery
 *
 * @category errors
 * @since 0.2.0
 */
export class StructureChangedError extends Data.TaggedError("StructureChangedError")<{
  readonly address: Address
  readonly reason: string
}> {
  override get message(): string {
    return `the model's latent structure changed at "${this.address}": ${this.reason}; LogDensity needs a fixed set of continuous sites (use MH or SMC for models whose structure depends on the values)`
  }
}

/**
 * The model (or a handler transformation) drew a random number while its log density was
 * evaluated: a density must be a deterministic function of the latent values (e.g. `block`
 * draws hidden sites, which makes the density random).
 *
 * @example
 * LogDensity.make(model, { transform: (h, rng) => Combinators.block(h, ["x"], rng) }) // throws RandomnessInDensityError
 *
 * @category errors
 * @since 0.2.0
 */
export class RandomnessInDensityError extends Data.TaggedError("RandomnessInDensityError")<{}> {
  override get message(): string {
    return "a random number was drawn while the log density was evaluated (e.g. by Combinators.block or seed): a log density must be deterministic"
  }
}

/** The stream handed to transforms during density evaluation: any draw is an error. */
export const noRandomness: Rng = {
  uniform: () => {
    throw new RandomnessInDensityError()
  },
  normal: () => {
    throw new RandomnessInDensityError()
  },
  split: () => noRandomness,
  clone: () => noRandomness
}

/** Thrown inside a recording when the tape cannot differentiate something; the caller falls back. */
export class NoGradient {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

const sameSupport = (a: Support, b: Support): boolean => {
  if (a === b) return true
  if (a._tag !== b._tag) return false
  switch (a._tag) {
    case "Interval":
    case "Integers":
      return a.lower === (b as typeof a).lower && a.upper === (b as typeof a).upper
    case "Simplex":
    case "RealVector":
      return a.dimension === (b as typeof a).dimension
    default:
      return true
  }
}

const describeSupport = (s: Support): string =>
  s._tag === "Interval" ? `(${s.lower}, ${s.upper})` : "dimension" in s ? `${s._tag}(${s.dimension})` : s._tag

/** Checks the k-th visited site against the discovered structure. */
const checkSite = (sites: ReadonlyArray<Site>, k: number, address: Address, dist: Distribution<unknown>): Site => {
  const site = sites[k]
  if (site === undefined) throw new StructureChangedError({ address, reason: `a latent site that the first run did not have (it had ${sites.length})` })
  if (site.address !== address) {
    throw new StructureChangedError({ address, reason: `site ${k} was "${site.address}" in the first run` })
  }
  if (site.support._tag !== dist.support._tag || ("dimension" in site.support && !sameSupport(site.support, dist.support))) {
    throw new StructureChangedError({ address, reason: `its support is ${describeSupport(dist.support)}, was ${describeSupport(site.support)}` })
  }
  return site
}

const UNIFORM_INIT = 2

/**
 * Discovery: each continuous latent site gets a point drawn uniformly in (−2, 2) on its
 * unconstrained scale; substituted sites (point masses) are fixed values, not sites.
 */
export class DiscoverHandler implements Handler<Float64Array> {
  readonly sites: Array<Site> = []
  readonly seen = new Set<Address>()
  dimension = 0
  readonly values: Array<number> = []
  private readonly rng: Rng
  constructor(rng: Rng) {
    this.rng = rng
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (this.seen.has(address)) throw new StructureChangedError({ address, reason: "the address is used twice in one execution" })
    this.seen.add(address)
    if (dist instanceof PointMass) return dist.value as T
    const b = Bijection.of(dist.support)
    if (b === undefined) throw new DiscreteLatentError({ address, family: dist.family })
    const draw = () => (2 * this.rng.uniform() - 1) * UNIFORM_INIT
    if (b._tag === "Scalar") {
      const u = draw()
      this.sites.push({ address, family: dist.family, support: dist.support, shape: [], offset: this.dimension, dimension: 1 })
      this.dimension += 1
      this.values.push(u)
      return b.forward(u) as T
    }
    const u = new Float64Array(b.dimension)
    for (let i = 0; i < b.dimension; i++) u[i] = draw()
    const x = new Float64Array(b.length)
    b.forward(u, 0, x)
    this.sites.push({ address, family: dist.family, support: dist.support, shape: [b.length], offset: this.dimension, dimension: b.dimension })
    this.dimension += b.dimension
    for (let i = 0; i < b.dimension; i++) this.values.push(u[i]!)
    return x as T
  }
  observe(): void {}
  factor(): void {}
  finish(): Float64Array {
    return Float64Array.from(this.values)
  }
}

/**
 * Scores an unconstrained point with plain numbers: log p(q) with the Jacobian terms. With
 * `record`, also builds the constrained `Trace` (choices with their log probabilities).
 */
export class ScoreHandler implements Handler<number> {
  readonly sites: ReadonlyArray<Site>
  q: Float64Array = new Float64Array(0)
  cursor = 0
  logDensity = 0
  trace: Trace | undefined = undefined
  /** When set (`LogDensity.explain`): where a log probability is −∞ or NaN, in words. */
  notes: Array<string> | undefined = undefined
  constructor(sites: ReadonlyArray<Site>) {
    this.sites = sites
  }
  reset(q: Float64Array, record: boolean, notes?: Array<string>): void {
    this.q = q
    this.cursor = 0
    this.logDensity = 0
    this.trace = record ? new Trace() : undefined
    this.notes = notes
  }
  private note(what: string, lp: number): void {
    if (this.notes !== undefined && !(lp > -Infinity && lp < Infinity)) this.notes.push(`${what} has log probability ${lp}`)
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (dist instanceof PointMass) {
      const lp = dist.logProb(dist.value)
      this.logDensity += lp
      if (this.trace !== undefined) {
        this.trace.record({ address, value: dist.value, logProb: lp })
        this.trace.logPrior += lp
      }
      return dist.value as T
    }
    const site = checkSite(this.sites, this.cursor++, address, dist as Distribution<unknown>)
    const b = Bijection.of(dist.support)!
    let x: T
    let lp: number
    if (b._tag === "Scalar") {
      const u = this.q[site.offset]!
      x = b.forward(u) as T
      this.logDensity += b.logJacobian(u)
      // on the logit scale where the family scores logits: exact where x rounds to an end
      lp = dist.logProbLogit !== undefined && dist.support._tag === "Interval" ? dist.logProbLogit(u) : dist.logProb(x)
    } else {
      const v = new Float64Array(b.length)
      this.logDensity += b.forward(this.q, site.offset, v)
      x = v as T
      lp = dist.logProb(x)
    }
    this.logDensity += lp
    this.note(`site "${address}" (${dist.family}) at ${describe(x)}`, lp)
    if (this.trace !== undefined) {
      this.trace.record({ address, value: x as number, logProb: lp })
      this.trace.logPrior += lp
    }
    return x
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    const lp = dist.logProb(value)
    this.logDensity += lp
    this.note(`observation "${address}" (${dist.family})`, lp)
    if (this.trace !== undefined) this.trace.logLikelihood += lp
  }
  factor(logWeight: number): void {
    this.note("a factor", logWeight)
    this.logDensity += logWeight
    if (this.trace !== undefined) this.trace.logFactors += logWeight
  }
  finish(): number {
    if (this.cursor !== this.sites.length) {
      throw new StructureChangedError({ address: this.sites[this.cursor]!.address, reason: "the site was not visited" })
    }
    return this.logDensity
  }
}

/** Families whose support's bounds are their parameters (the bijection then depends on them). */
const PARAMETER_BOUNDED: ReadonlySet<string> = new Set(["Uniform"])

/**
 * Records log p(q) on an `Ad` tape: each unconstrained coordinate a leaf, the bijections and
 * every log probability as tape operations (families through their `logProbKernel`). Throws
 * `NoGradient` for what the tape cannot differentiate (vector sites, families without a
 * kernel that meet differentiable values, supports that depend on differentiable parameters).
 */
export class TapeHandler implements Handler<Ad.Real> {
  readonly sites: ReadonlyArray<Site>
  readonly tape: Ad.Tape
  q: Float64Array = new Float64Array(0)
  cursor = 0
  terms: Array<Ad.Real> = []
  constructor(sites: ReadonlyArray<Site>, tape: Ad.Tape) {
    this.sites = sites
    this.tape = tape
  }
  reset(q: Float64Array): void {
    this.q = q
    this.cursor = 0
    this.terms.length = 0
  }
  private score(address: Address, dist: Distribution<unknown>, x: unknown): Ad.Real {
    let k = 1
    let d = dist
    while (d instanceof Scaled) {
      k *= d.factor
      d = d.base
    }
    if (k === 0) return 0
    const operands = this.tape.distributions.get(d)
    if (operands === undefined && !Ad.isNode(x)) return k * d.logProb(x)
    const kernel = d.logProbKernel
    if (kernel === undefined || d.kernelParameters === undefined) {
      throw new NoGradient(`the ${d.family} at "${address}" has no analytic log-density gradient`)
    }
    const xr: Ad.Real = typeof x === "boolean" ? (x ? 1 : 0) : (x as Ad.Real)
    if (typeof xr !== "number" && !Ad.isNode(xr)) throw new NoGradient(`the value at "${address}" is not a scalar`)
    const lp = this.tape.kernel(kernel, xr, operands ?? d.kernelParameters())
    return k === 1 ? lp : Ad.mul(k, lp)
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (dist instanceof PointMass) {
      this.terms.push(this.score(address, dist.base, dist.value))
      return dist.value as T
    }
    const site = checkSite(this.sites, this.cursor++, address, dist as Distribution<unknown>)
    if (site.dimension !== 1 || site.shape.length !== 0) {
      throw new NoGradient(`"${address}" is a vector site (${site.family}); the tape differentiates scalar sites only`)
    }
    if (PARAMETER_BOUNDED.has(dist.family) && this.tape.distributions.has(dist)) {
      throw new NoGradient(`the support of the ${dist.family} at "${address}" depends on differentiable parameters`)
    }
    const b = Bijection.of(dist.support) as Bijection.Scalar
    const u = this.tape.leaf(site.offset, this.q[site.offset]!)
    const x = b.forwardReal(u)
    this.terms.push(b.logJacobianReal(u))
    const logit = dist.logProbLogitKernel
    if (logit !== undefined && dist.support._tag === "Interval" && !(dist instanceof Scaled)) {
      const operands = this.tape.distributions.get(dist)
      this.terms.push(this.tape.kernel(logit, u, operands ?? dist.kernelParameters!()))
    } else this.terms.push(this.score(address, dist as Distribution<unknown>, x))
    return x as unknown as T
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.terms.push(this.score(address, dist as Distribution<unknown>, value))
  }
  factor(logWeight: number): void {
    this.terms.push(logWeight)
  }
  finish(): Ad.Real {
    if (this.cursor !== this.sites.length) {
      throw new StructureChangedError({ address: this.sites[this.cursor]!.address, reason: "the site was not visited" })
    }
    return Ad.sum(this.terms)
  }
}
