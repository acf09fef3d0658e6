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
import { BroadcastDistribution, type Reals } from "@fugue/core/distributions/Broadcast"
import type { Rng } from "@fugue/core/Rng"
import { PointMass, Scaled } from "@fugue/runtime/Combinators"
import type { Handler } from "@fugue/runtime/Handler"
import { Trace } from "@fugue/runtime/Trace"
import { describe } from "@fugue/core/Value"
import { finiteSupportValues } from "./support.ts"
import * as Data from "effect/Data"

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
 * A discrete latent site that `LogDensity` sums out: its finite support, in order.
 *
 * @category models
 * @since 0.2.0
 */
export interface DiscreteSite {
  readonly address: Address
  readonly family: string
  readonly values: ReadonlyArray<unknown>
}

/**
 * Summing out discrete sites needs each one's log probabilities after it (up to the next
 * discrete site) to depend on it alone (given the continuous sites), as per-point assignments of a
 * mixture do; they did not here: with other values at the other discrete sites, the segment after
 * `address` changed.
 *
 * @example
 * // z1 ~ Bernoulli(0.5); z2 ~ Bernoulli(z1 ? 0.9 : 0.1): z2's probability depends on z1
 *
 * @category errors
 * @since 0.2.0
 */
export class DependentDiscreteError extends Data.TaggedError("DependentDiscreteError")<{
  readonly address: Address
  readonly other: Address
}> {
  override get message(): string {
    return `the discrete sites cannot be summed out one by one: the log probabilities after "${this.address}" depend on the value of "${this.other}" (sum out only sites that are independent given the continuous ones, e.g. a mixture's per-point assignments; otherwise use MH, SMC or Enumerate)`
  }
}

/** Values one run gives the discrete sites: run r gives each site its r-th value, or an explicit assignment. */
export interface DiscreteRun {
  readonly run: number
  readonly assignment: Int32Array | undefined
}

/** Index of the value site j takes in a run (a site with fewer values takes its first). */
const valueIndex = (sites: ReadonlyArray<DiscreteSite>, j: number, run: DiscreteRun): number =>
  run.assignment !== undefined ? run.assignment[j]! : run.run < sites[j]!.values.length ? run.run : 0

/** The discrete site expected at position j. */
const checkDiscrete = (sites: ReadonlyArray<DiscreteSite>, j: number, address: Address): DiscreteSite => {
  const site = sites[j]
  if (site === undefined || site.address !== address) {
    throw new StructureChangedError({ address, reason: site === undefined ? "a discrete site that the first run did not have" : `discrete site ${j} was "${site.address}" in the first run` })
  }
  return site
}

/** The runs that sum out discrete sites: as many as the largest support. */
export const runsFor = (sites: ReadonlyArray<DiscreteSite>): number => sites.reduce((k, s) => Math.max(k, s.values.length), 1)

/**
 * log Σ over each site's values of its segment weights, plus the part before the first discrete
 * site: `segments[j·K + r]` is site j's segment in run r.
 */
export const sumSegments = (pre: number, segments: Float64Array, sites: ReadonlyArray<DiscreteSite>, K: number): number => {
  let total = pre
  for (let j = 0; j < sites.length; j++) {
    const n = sites[j]!.values.length
    let max = -Infinity
    for (let r = 0; r < n; r++) max = Math.max(max, segments[j * K + r]!)
    if (max === -Infinity) return -Infinity
    let sum = 0
    for (let r = 0; r < n; r++) sum += Math.exp(segments[j * K + r]! - max)
    total += max + Math.log(sum)
  }
  return total
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
    case "Product":
      return a.length === (b as typeof a).length && sameSupport(a.element, (b as typeof a).element)
    default:
      return true
  }
}

const describeSupport = (s: Support): string =>
  s._tag === "Interval" ? `(${s.lower}, ${s.upper})` : s._tag === "Product" ? `${describeSupport(s.element)}^${s.length}` : "dimension" in s ? `${s._tag}(${s.dimension})` : s._tag

/** Checks the k-th visited site against the discovered structure. */
const checkSite = (sites: ReadonlyArray<Site>, k: number, address: Address, dist: Distribution<unknown>): Site => {
  const site = sites[k]
  if (site === undefined) throw new StructureChangedError({ address, reason: `a latent site that the first run did not have (it had ${sites.length})` })
  if (site.address !== address) {
    throw new StructureChangedError({ address, reason: `site ${k} was "${site.address}" in the first run` })
  }
  if (site.support._tag !== dist.support._tag || (("dimension" in site.support || site.support._tag === "Product") && !sameSupport(site.support, dist.support))) {
    throw new StructureChangedError({ address, reason: `its support is ${describeSupport(dist.support)}, was ${describeSupport(site.support)}` })
  }
  return site
}

const UNIFORM_INIT = 2
/** Largest support summed out at one site. */
const MAX_SUMMED = 1000

/**
 * Discovery: each continuous latent site gets a point drawn uniformly in (−2, 2) on its
 * unconstrained scale; substituted sites (point masses) are fixed values, not sites.
 */
export class DiscoverHandler implements Handler<Float64Array> {
  readonly sites: Array<Site> = []
  readonly discrete: Array<DiscreteSite> = []
  readonly seen = new Set<Address>()
  dimension = 0
  readonly values: Array<number> = []
  private readonly rng: Rng
  private readonly sumOut: boolean
  constructor(rng: Rng, sumOut = false) {
    this.rng = rng
    this.sumOut = sumOut
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (this.seen.has(address)) throw new StructureChangedError({ address, reason: "the address is used twice in one execution" })
    this.seen.add(address)
    if (dist instanceof PointMass) return dist.value as T
    const b = Bijection.of(dist.support)
    if (b === undefined) {
      const values = this.sumOut ? finiteSupportValues(dist as Distribution<unknown>, MAX_SUMMED) : undefined
      if (values === undefined || values.length === 0) throw new DiscreteLatentError({ address, family: dist.family })
      this.discrete.push({ address, family: dist.family, values })
      return values[0] as T
    }
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
  /** Summed-out discrete sites (empty: none). */
  readonly discrete: ReadonlyArray<DiscreteSite>
  /** Runs per evaluation when summing out: the largest support. */
  readonly K: number
  q: Float64Array = new Float64Array(0)
  cursor = 0
  /** The running log weight of the current segment (all of it without discrete sites). */
  logDensity = 0
  trace: Trace | undefined = undefined
  /** When set (`LogDensity.explain`): where a log probability is −∞ or NaN, in words. */
  notes: Array<string> | undefined = undefined
  // summing out: the segments of the runs of one evaluation
  run: DiscreteRun = { run: 0, assignment: undefined }
  private dcursor = 0
  private segment = -1
  pre = 0
  readonly segments: Float64Array
  constructor(sites: ReadonlyArray<Site>, discrete: ReadonlyArray<DiscreteSite> = []) {
    this.sites = sites
    this.discrete = discrete
    this.K = runsFor(discrete)
    this.segments = new Float64Array(discrete.length * this.K)
  }
  reset(q: Float64Array, record: boolean, notes?: Array<string>, run: DiscreteRun = { run: 0, assignment: undefined }): void {
    this.q = q
    this.cursor = 0
    this.logDensity = 0
    this.trace = record ? new Trace() : undefined
    this.notes = notes
    this.run = run
    this.dcursor = 0
    this.segment = -1
  }
  /** Ends the current segment: its weight goes to the part before the discrete sites, or to its site's slot for this run. */
  private flush(): void {
    if (this.segment < 0) {
      if (this.run.run === 0) this.pre = this.logDensity
    } else this.segments[this.segment * this.K + (this.run.assignment === undefined ? this.run.run : 0)] = this.logDensity
    this.logDensity = 0
  }
  private discreteSample(address: Address, dist: Distribution<unknown>): unknown {
    const j = this.dcursor++
    const site = checkDiscrete(this.discrete, j, address)
    const v = site.values[valueIndex(this.discrete, j, this.run)]
    this.flush()
    this.segment = j
    const lp = dist.logProb(v)
    this.logDensity += lp
    this.note(`site "${address}" (${dist.family}) at ${describe(v)}`, lp)
    if (this.trace !== undefined) {
      this.trace.record({ address, value: v as number, logProb: lp })
      this.trace.logPrior += lp
    }
    return v
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
    if (this.discrete.length > 0 && Bijection.of(dist.support) === undefined) return this.discreteSample(address, dist as Distribution<unknown>) as T
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
    if (this.discrete.length === 0) return this.logDensity
    if (this.dcursor !== this.discrete.length) {
      throw new StructureChangedError({ address: this.discrete[this.dcursor]!.address, reason: "the discrete site was not visited" })
    }
    this.flush()
    return this.pre
  }
}

/**
 * What a plain-number run of a model showed, instruction by instruction: the numbers through
 * which a latent value can reach the density (each family's scalar `kernelParameters`, a number
 * observed, a factor's log weight) with where each was seen, and the latent values drawn with
 * their supports: the evidence of `plainArithmeticAt`. A `WatchHandler` fills it around a
 * `ScoreHandler`; MH's proposal handler fills it itself (so the driver's calls into handlers stay
 * monomorphic on MH's hot path).
 */
export class Watch {
  readonly numbers: Array<number> = []
  /**
   * Where each number was seen, in three columns (no string built per number: a run of a model
   * with 10 000 observations notes 20 000 numbers): the address ("" for a factor), the
   * parameter's index (−1 the observed value, −2 a factor's log weight), the family.
   */
  readonly addresses: Array<Address> = []
  readonly slots: Array<number> = []
  readonly families: Array<string> = []
  readonly latents = new Set<number>()
  /** Per latent site in visit order: its address and support (undefined for a value that is not a number). */
  readonly sites: Array<{ readonly address: Address; readonly support: Support | undefined }> = []
  private parameters(address: Address, dist: Distribution<unknown>): void {
    const parameters = dist.kernelParameters?.()
    if (parameters === undefined) return
    for (let k = 0; k < parameters.length; k++) {
      const p = parameters[k]
      if (typeof p !== "number") continue
      this.numbers.push(p)
      this.addresses.push(address)
      this.slots.push(k)
      this.families.push(dist.family)
    }
  }
  sampled(address: Address, dist: Distribution<unknown>, x: unknown): void {
    if (dist instanceof PointMass) return
    this.parameters(address, dist)
    if (typeof x === "number") this.latents.add(x)
    this.sites.push({ address, support: typeof x === "number" && dist.kind === "real" ? dist.support : undefined })
  }
  observed(address: Address, dist: Distribution<unknown>, value: unknown): void {
    this.parameters(address, dist)
    if (typeof value === "number") {
      this.numbers.push(value)
      this.addresses.push(address)
      this.slots.push(-1)
      this.families.push(dist.family)
    }
  }
  factored(logWeight: number): void {
    this.numbers.push(logWeight)
    this.addresses.push("")
    this.slots.push(-2)
    this.families.push("")
  }
  /** Whether number j was seen at the same place as `other`'s number j. */
  samePlace(j: number, other: Watch): boolean {
    return this.slots[j] === other.slots[j] && this.addresses[j] === other.addresses[j] && this.families[j] === other.families[j]
  }
  /** Where number j was seen, in words. */
  where(j: number): string {
    const slot = this.slots[j]!, address = this.addresses[j]!
    if (slot === -2) return "a factor's log weight"
    if (slot === -1) return `the value observed at "${address}"`
    const site = this.sites.some((s) => s.address === address) ? `site "${address}"` : `observation "${address}"`
    return `parameter ${slot + 1} of ${this.families[j]} at ${site}`
  }
}

/** A `ScoreHandler` whose run fills a `Watch`. */
export class WatchHandler implements Handler<number> {
  readonly inner: ScoreHandler
  readonly watch = new Watch()
  constructor(inner: ScoreHandler) {
    this.inner = inner
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const x = this.inner.sample(address, dist)
    this.watch.sampled(address, dist as Distribution<unknown>, x)
    return x
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.watch.observed(address, dist as Distribution<unknown>, value)
    this.inner.observe(address, dist, value)
  }
  factor(logWeight: number): void {
    this.watch.factored(logWeight)
    this.inner.factor(logWeight)
  }
  finish(): number {
    return this.inner.finish()
  }
}

/**
 * From five watched plain-number runs at the points (or states) q0, q0, q1, q1, q0, with every
 * latent site moved between q0 and q1 and no arithmetic `Ad` function called in any of them:
 * the index of a noted number that proves plain arithmetic on latent values, or −1.
 *
 * **Details**: a noted number (a kernel parameter, an observed number, a factor's log weight)
 * that is the same in the three runs at q0 and in the two at q1 (so a function of the latent
 * values, not of state kept between runs or of randomness: a number that alternates, or changes
 * once, fails that), differs between q0 and q1 (so it depends on them) and is none of the runs'
 * latent values (so it was computed from them) was computed from latent values by plain
 * JavaScript, since no `Ad` function ran: run with `Ad` nodes as latent values (a recording),
 * that computation converts a node to a number (`valueOf`, `Symbol.toPrimitive` or `toString`,
 * each an escape), so the recording cannot give a density. It assumes what the recording
 * assumes: the model does not branch on `typeof` / `===` of a latent value (a model doing plain
 * arithmetic on numbers and `Ad` arithmetic on nodes would be recorded by itself but is refused
 * here), nor compute through `Ad.primal` / `node.value` (which the recording's verification
 * refuses too). The runs must visit the same instructions (else −1).
 */
export const plainArithmeticAt = (runs: ReadonlyArray<Watch>): number => {
  if (runs.length !== 5) return -1
  const [a, a2, b, b2, a3] = runs as [Watch, Watch, Watch, Watch, Watch]
  const n = a.numbers.length
  for (const r of runs) if (r.numbers.length !== n) return -1
  for (let j = 0; j < n; j++) {
    for (const r of runs) if (!r.samePlace(j, a)) return -1
  }
  for (let j = 0; j < n; j++) {
    const x = a.numbers[j]!, y = b.numbers[j]!
    const stable = Object.is(x, a2.numbers[j]) && Object.is(x, a3.numbers[j]) && Object.is(y, b2.numbers[j])
    if (stable && !Object.is(x, y) && !a.latents.has(x) && !b.latents.has(y)) return j
  }
  return -1
}

/**
 * Whether a broadcast observation can be one fused node: exactly one parameter is a
 * differentiable linear predictor, the others are scalars, and the observed values are numbers.
 */
const fusable = (
  operands: ReadonlyArray<Ad.Real | Reals>,
  xs: ArrayLike<Ad.Real | boolean>
): { readonly slot: number; readonly predictor: Ad.LinearPredictor } | undefined => {
  let slot = -1
  for (let k = 0; k < operands.length; k++) {
    const p = operands[k]
    if (p instanceof Ad.LinearPredictor) {
      if (slot >= 0 || !p.differentiable) return undefined
      slot = k
    } else if (typeof p !== "number" && !Ad.isNode(p)) return undefined
  }
  if (slot < 0 || operands.length > 3) return undefined
  for (let i = 0; i < xs.length; i++) if (Ad.isNode(xs[i])) return undefined
  return { slot, predictor: operands[slot] as Ad.LinearPredictor }
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
  readonly discrete: ReadonlyArray<DiscreteSite>
  readonly K: number
  q: Float64Array = new Float64Array(0)
  cursor = 0
  terms: Array<Ad.Real> = []
  // summing out: every run of one recording shares the leaves; segments per site per run
  private run = 0
  private dcursor = 0
  private segment = -1
  private leaves: Array<Ad.Node | undefined> = []
  /** The leaves of vector sites' coordinates, by unconstrained index. */
  private slotLeaves: Array<Ad.Node | undefined> = []
  private pre: Array<Ad.Real> = []
  private segments: Array<Array<Ad.Real>> = []
  constructor(sites: ReadonlyArray<Site>, tape: Ad.Tape, discrete: ReadonlyArray<DiscreteSite> = []) {
    this.sites = sites
    this.tape = tape
    this.discrete = discrete
    this.K = runsFor(discrete)
  }
  reset(q: Float64Array, run = 0): void {
    this.q = q
    this.cursor = 0
    this.terms = []
    this.run = run
    this.dcursor = 0
    this.segment = -1
    if (run === 0) {
      this.leaves = []
      this.slotLeaves = []
      this.pre = []
      this.segments = Array.from({ length: this.discrete.length * this.K }, () => [])
    }
  }
  private flush(): void {
    if (this.segment < 0) {
      if (this.run === 0) this.pre = this.terms
    } else this.segments[this.segment * this.K + this.run] = this.terms
    this.terms = []
  }
  /** After the K runs of one recording: the part before the discrete sites plus, per site, log Σ over its values. */
  marginal(): Ad.Real {
    const parts: Array<Ad.Real> = [Ad.sum(this.pre)]
    for (let j = 0; j < this.discrete.length; j++) {
      const n = this.discrete[j]!.values.length
      const perValue: Array<Ad.Real> = []
      for (let r = 0; r < n; r++) perValue.push(Ad.sum(this.segments[j * this.K + r]!))
      parts.push(n === 1 ? perValue[0]! : Ad.logSumExp(perValue))
    }
    return Ad.sum(parts)
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
    if (d instanceof BroadcastDistribution) {
      const lp = this.broadcastScore(d, operands as ReadonlyArray<Ad.Real | Reals> | undefined, x)
      return k === 1 ? lp : Ad.mul(k, lp)
    }
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
  /**
   * Σᵢ log p(xᵢ | θᵢ) of a broadcast family on the tape: plain numbers when neither the values
   * nor the parameters are differentiable, else one kernel node per coordinate.
   */
  private broadcastScore(d: BroadcastDistribution, operands: ReadonlyArray<Ad.Real | Reals> | undefined, x: unknown): Ad.Real {
    const xs = x as ArrayLike<Ad.Real | boolean>
    let anyNode = operands !== undefined
    if (!anyNode) for (let i = 0; i < xs.length && !anyNode; i++) anyNode = Ad.isNode(xs[i])
    if (!anyNode) return d.logProb(x as ArrayLike<number>)
    if (xs.length !== d.length) return -Infinity
    const kernel = d.spec.kernel
    const fused = operands === undefined ? undefined : fusable(operands, xs)
    if (fused !== undefined) {
      // one node for the whole observation: Σᵢ k(yᵢ, …, ηᵢ, …) with η = a + Xβ
      const others: Array<Ad.Real> = []
      for (let k = 0; k < 3; k++) if (k !== fused.slot) others.push(k < operands!.length ? (operands![k] as Ad.Real) : 0)
      const ys = Float64Array.from(xs as ArrayLike<number | boolean>, (v) => (typeof v === "boolean" ? (v ? 1 : 0) : v))
      return this.tape.linearKernel(kernel, ys, fused.predictor, fused.slot, [others[0]!, others[1]!], d.spec.linear)
    }
    const params: Array<Ad.Real> = []
    const terms: Array<Ad.Real> = []
    const count = d.values.length
    for (let i = 0; i < d.length; i++) {
      params.length = 0
      for (let k = 0; k < count; k++) {
        const p = operands === undefined ? undefined : operands[k]
        params.push(
          p === undefined ? d.parameter(k, i) : typeof p === "number" || Ad.isNode(p) ? p : p instanceof Ad.LinearPredictor ? p.at(i) : (p as ArrayLike<Ad.Real>)[i]!
        )
      }
      const xi = xs[i]!
      terms.push(this.tape.kernel(kernel, typeof xi === "boolean" ? (xi ? 1 : 0) : xi, params))
    }
    return Ad.sum(terms)
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (dist instanceof PointMass) {
      this.terms.push(this.score(address, dist.base, dist.value))
      return dist.value as T
    }
    if (this.discrete.length > 0 && Bijection.of(dist.support) === undefined) {
      const j = this.dcursor++
      const site = checkDiscrete(this.discrete, j, address)
      const v = site.values[valueIndex(this.discrete, j, { run: this.run, assignment: undefined })]
      this.flush()
      this.segment = j
      this.terms.push(this.score(address, dist as Distribution<unknown>, v))
      return v as T
    }
    const site = checkSite(this.sites, this.cursor++, address, dist as Distribution<unknown>)
    if (dist instanceof BroadcastDistribution) {
      // a product of scalar bijections: one leaf per coordinate, each with its own Jacobian
      const element = (Bijection.of(dist.support) as Bijection.Vector | undefined)?.element
      if (element === undefined) throw new NoGradient(`"${address}" is a ${dist.family} vector site without a scalar transform per coordinate`)
      const xs: Array<Ad.Real> = []
      for (let i = 0; i < site.dimension; i++) {
        const slot = site.offset + i
        const u = this.slotLeaves[slot] ?? (this.slotLeaves[slot] = this.tape.leaf(slot, this.q[slot]!))
        xs.push(element.forwardReal(u))
        this.terms.push(element.logJacobianReal(u))
      }
      this.terms.push(this.score(address, dist as Distribution<unknown>, xs))
      return xs as unknown as T
    }
    if (site.dimension !== 1 || site.shape.length !== 0) {
      throw new NoGradient(`"${address}" is a vector site (${site.family}); the tape differentiates scalar sites only`)
    }
    if (PARAMETER_BOUNDED.has(dist.family) && this.tape.distributions.has(dist)) {
      throw new NoGradient(`the support of the ${dist.family} at "${address}" depends on differentiable parameters`)
    }
    const b = Bijection.of(dist.support) as Bijection.Scalar
    const k = this.cursor - 1
    const u = this.leaves[k] ?? (this.leaves[k] = this.tape.leaf(site.offset, this.q[site.offset]!))
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
    if (this.discrete.length === 0) return Ad.sum(this.terms)
    if (this.dcursor !== this.discrete.length) {
      throw new StructureChangedError({ address: this.discrete[this.dcursor]!.address, reason: "the discrete site was not visited" })
    }
    this.flush()
    return 0
  }
}
