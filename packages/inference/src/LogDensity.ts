/**
 * The log density of a model on an unconstrained space, with its gradient: what HMC/NUTS, VI
 * and MAP need. `LogDensity.make(model)` runs the model once to find its continuous latent
 * sites, maps each to ℝᵈ with its bijection (log for positive values, scaled logit for
 * intervals, stick-breaking for simplices; `@fugue/core/Bijection`), and gives
 * `logDensity(q)` = log p(x(q), data) + log |det ∂x/∂q| and `logDensityGradient(q, out)`.
 *
 * **Gradient sources**, chosen automatically (`gradientSource` says which and `gradientReason`
 * why): *compiled*, the model's recorded `Ad` tape compiled once into a straight-line function
 * (fixed structure, no allocation per call: the fast path); *taped*, the same recorded tape
 * re-evaluated at each point and swept backwards, without running the model (when code
 * generation is not allowed, or the tape is above `maxCompiledNodes`: V8 stops optimising a
 * function above about 60 KB of bytecode, some 1 800 tape nodes, and a larger compiled function
 * is slower than the tape); *finite differences*, 2·d runs of the model per gradient (central differences), when
 * the model does plain JavaScript arithmetic on a latent value (detected through `valueOf`, and
 * the site named), uses a family without an analytic kernel on differentiable values, or has
 * vector sites. Finite differences are still correct for HMC: any deterministic force keeps the
 * leapfrog reversible and volume-preserving, and the accept step uses the exact density.
 *
 * Models opt into the fast paths by doing arithmetic on latent values with `Ad` (`Ad.mul(tau,
 * eta)`); distributions take `Ad` values as parameters. Both fast paths rest on one recording:
 * a recording without escapes is the same computation at every point, since any use of a latent
 * value by plain JavaScript (`+`, `Math.*`, `<`, string conversion) goes through `valueOf` and is
 * detected. What cannot be detected: `===` / `typeof` on a latent value, or arithmetic on
 * `Ad.primal(x)` / `node.value` (library escape hatches); a model that branches on those must use
 * `gradient: "finite-differences"`.
 *
 * @since 0.2.0
 */
import * as Ad from "@fugue/core/Ad"
import * as Bijection from "@fugue/core/Bijection"
import { InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { ModelCodeError, runToEnd } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import type { Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import { codeGeneration, compile, compiledSize, type Compiled } from "./internal/compileTape.ts"
import {
  DependentDiscreteError,
  DiscoverHandler,
  type DiscreteSite,
  NoGradient,
  noRandomness,
  runsFor,
  ScoreHandler,
  type Site,
  sumSegments,
  plainArithmeticAt,
  TapeHandler,
  type Watch,
  WatchHandler
} from "./internal/density.ts"
import { checkKeys, COMMON_KEYS, maxInstructionsOption, modelOption, oneOf, positiveInteger, seedOption, transformOption } from "./Options.ts"

export { DependentDiscreteError, DiscreteLatentError, type DiscreteSite, RandomnessInDensityError, StructureChangedError, type Site } from "./internal/density.ts"
import { StructureChangedError } from "./internal/density.ts"

/**
 * Where a gradient comes from.
 *
 * @category models
 * @since 0.2.0
 */
export type GradientSource = "compiled" | "taped" | "finite-differences"

/**
 * Options of `LogDensity.make`.
 *
 * @example
 * const options: LogDensity.Options = { gradient: "taped", seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options {
  /** Seed of the discovery run's initial point (uniform(−2, 2) per unconstrained coordinate). */
  readonly seed?: number | undefined
  /** Handler combinators around every run of the model (condition, substitute, scale, …). */
  readonly transform?: Transform | undefined
  /** Instruction limit per run of the model. */
  readonly maxInstructions?: number | undefined
  /** `"auto"` (default): compiled, else taped, else finite differences. A forced source that is not possible fails with `GradientUnavailableError`. */
  readonly gradient?: "auto" | GradientSource | undefined
  /**
   * Largest tape (nodes plus n-ary operands) that is compiled (default 1 500); larger tapes stay
   * taped. Rows that repeat (a likelihood written row by row with scalar `Ad`, 32 rows or more,
   * each feeding one sum) are rolled into a loop and count once, so such a model compiles
   * whatever its number of rows (the 3 020-row wells regression: about 1.3× a hand-written
   * gradient). Raised, any other large tape compiles into chunked functions, slower than the
   * tape until V8 has optimised every chunk (some 10⁴ calls).
   */
  readonly maxCompiledNodes?: number | undefined
  /** How many initial points discovery tries before giving up on a model whose density is not finite there (default 100). */
  readonly initAttempts?: number | undefined
  /**
   * `"error"` (default): a discrete latent site is `DiscreteLatentError`. `"sumOut"`: discrete
   * sites with finite support are summed out, each over its values, which is exact when each one's
   * log probabilities after it (up to the next discrete site) depend on it alone given the
   * continuous sites, as a mixture's per-point assignments do: O(N·K) for N sites of K values
   * (the model runs K times per evaluation, or its K runs are on one tape). Checked at
   * construction (`DependentDiscreteError` otherwise). `discreteProbabilities(q)` recovers their
   * conditional distributions.
   */
  readonly discrete?: "error" | "sumOut" | undefined
}

const KEYS: ReadonlyArray<string> = [...COMMON_KEYS, "gradient", "maxCompiledNodes", "initAttempts", "discrete"]
const DEFAULT_MAX_COMPILED = 1_500
const DEFAULT_INIT_ATTEMPTS = 100

/**
 * The gradient source requested with the `gradient` option is not possible for this model.
 *
 * @example
 * LogDensity.make(usesMathExp, { gradient: "compiled" }) // throws GradientUnavailableError
 *
 * @category errors
 * @since 0.2.0
 */
export class GradientUnavailableError extends Data.TaggedError("GradientUnavailableError")<{
  readonly requested: GradientSource
  readonly reason: string
}> {
  override get message(): string {
    return `LogDensity: the ${this.requested} gradient is not available: ${this.reason}`
  }
}

/**
 * No initial point with a finite log density was found.
 *
 * @example
 * LogDensity.make(function* () { yield* factor(-Infinity) }) // throws InitializationError
 *
 * @category errors
 * @since 0.2.0
 */
export class InitializationError extends Data.TaggedError("InitializationError")<{
  readonly attempts: number
  readonly reason: string
  /** The sampler that was starting (`"NUTS"`, `"HMC"`); absent for `LogDensity.make`. */
  readonly algorithm?: string | undefined
  /** The chain that could not start. */
  readonly chain?: number | undefined
}> {
  override get message(): string {
    const who = `${this.algorithm ?? "LogDensity"}${this.chain === undefined ? "" : ` chain ${this.chain}`}`
    return `${who}: no initial point with a finite log density and gradient in ${this.attempts} attempt${this.attempts === 1 ? "" : "s"} (${this.reason})`
  }
}

/**
 * A point of the wrong length was passed.
 *
 * @example
 * ld.logDensity(new Float64Array(ld.dimension + 1)) // throws DimensionError
 *
 * @category errors
 * @since 0.2.0
 */
export class DimensionError extends Data.TaggedError("DimensionError")<{ readonly expected: number; readonly actual: number }> {
  override get message(): string {
    return `LogDensity: a point of dimension ${this.actual} was given, the model has ${this.expected} unconstrained coordinates`
  }
}

/**
 * A model's log density on the unconstrained space.
 *
 * @example
 * const ld = LogDensity.make(eightSchools)
 * const grad = new Float64Array(ld.dimension)
 * const lp = ld.logDensityGradient(ld.initialPoint, grad)
 *
 * @category models
 * @since 0.2.0
 */
export interface LogDensity {
  /** Number of unconstrained coordinates. */
  readonly dimension: number
  /** The continuous latent sites, in visiting order, with their coordinates. */
  readonly sites: ReadonlyArray<Site>
  /** Where gradients come from. */
  readonly gradientSource: GradientSource
  /** Why that source (e.g. which site's value escaped into plain arithmetic). */
  readonly gradientReason: string
  /** The discovery run's point (finite log density). */
  readonly initialPoint: Float64Array
  /** log p(x(q), data) + log |det ∂x/∂q|; −∞ where a parameter is invalid or outside the support (never NaN). */
  logDensity(q: Float64Array): number
  /** The same value; writes ∇ log density into `out` (zeros where the value is not finite). */
  logDensityGradient(q: Float64Array, out: Float64Array): number
  /** The constrained trace at q (choices with their log probabilities, log prior and likelihood); summed-out sites at their most probable values given q. */
  constrain(q: Float64Array): Trace
  /** The model's return value at q (one run of the model; summed-out sites at their most probable values given q). */
  resultAt(q: Float64Array): unknown
  /** The unconstrained point of a trace that holds every site (into `out` if given). */
  unconstrain(trace: Trace, out?: Float64Array): Float64Array
  /** Discrete sites summed out (`discrete: "sumOut"`), in visiting order; empty otherwise. */
  readonly discreteSites: ReadonlyArray<DiscreteSite>
  /**
   * Per summed-out discrete site, the probabilities of its values given the continuous point q
   * (the Rao–Blackwellised posterior of the site, averaged over draws of q).
   */
  discreteProbabilities(q: Float64Array): Array<Float64Array>
  /** Names of the constrained values, site by site: the address, or `"address[k]"` for a vector site (as `Posterior` columns). */
  readonly valueNames: ReadonlyArray<string>
  /**
   * The constrained site values at q, flattened in `valueNames` order, into `out` (no model run);
   * returns log |det ∂x/∂q|, so `logDensity(q)` less it is the log joint of the trace at q.
   */
  constrainValues(q: Float64Array, out: Float64Array): number
  /**
   * Why the density or its gradient is not finite at q: the sites, observations and factors whose
   * log probability is −∞ or NaN there, and the sites whose gradient coordinates are not finite
   * (one run of the model, plus one gradient). Empty when both are finite.
   */
  explain(q: Float64Array): Array<string>
}

const unwrap = (error: unknown): unknown => (error instanceof ModelCodeError ? error.cause : error)

/** Central differences: h_i = ε^(1/3) · max(1, |q_i|) balances truncation (h²) and rounding (ε/h). */
const FD_STEP = 6.055454452393343e-6

class LogDensityImpl implements LogDensity {
  readonly dimension: number
  readonly sites: ReadonlyArray<Site>
  gradientSource: GradientSource = "finite-differences"
  gradientReason = ""
  readonly initialPoint: Float64Array
  private readonly model: Model<unknown>
  private readonly maxInstructions: number | undefined
  private readonly transform: Transform
  /** Whether `record` ran the model with `Ad` nodes as latent values. */
  recorded = false
  private readonly score: ScoreHandler
  private readonly scoreWrapped: Handler<number>
  /** The recording (its compiled form is built from it in `choose`). */
  readonly tape = new Ad.Tape()
  private readonly tapeHandler: TapeHandler
  private readonly tapeWrapped: Handler<Ad.Real>
  private compiled: Compiled | undefined = undefined
  /** With the taped source: the output node of the recording. */
  private output = -1
  private readonly shifted: Float64Array
  readonly valueNames: ReadonlyArray<string>
  private readonly bijections: ReadonlyArray<Bijection.Bijection>

  readonly discreteSites: ReadonlyArray<DiscreteSite>
  /** Runs per evaluation (the largest summed-out support; 1 without discrete sites). */
  private readonly runs: number

  constructor(
    model: Model<unknown>,
    sites: ReadonlyArray<Site>,
    dimension: number,
    q0: Float64Array,
    transform: Transform,
    maxInstructions: number | undefined,
    discrete: ReadonlyArray<DiscreteSite> = []
  ) {
    this.model = model
    this.sites = sites
    this.discreteSites = discrete
    this.runs = runsFor(discrete)
    this.dimension = dimension
    this.initialPoint = q0
    this.maxInstructions = maxInstructions
    this.transform = transform
    this.score = new ScoreHandler(sites, discrete)
    this.scoreWrapped = transform(this.score, noRandomness)
    this.tapeHandler = new TapeHandler(sites, this.tape, discrete)
    this.tapeWrapped = transform(this.tapeHandler, noRandomness)
    this.shifted = new Float64Array(dimension)
    this.bijections = sites.map((site) => Bijection.of(site.support)!)
    this.valueNames = sites.flatMap((site) =>
      site.shape.length === 0 ? [site.address] : Array.from({ length: site.shape[0]! }, (_, k) => `${site.address}[${k}]`))
  }

  private check(q: Float64Array): void {
    if (q.length !== this.dimension) throw new DimensionError({ expected: this.dimension, actual: q.length })
  }

  /** The generic path: one run of the model with plain numbers (K runs, summed out, with discrete sites). */
  scoreAt(q: Float64Array): number {
    try {
      if (this.discreteSites.length === 0) {
        this.score.reset(q, false)
        const [, lp] = runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })
        return lp === lp ? lp : -Infinity
      }
      this.segmentsAt(q)
      const lp = sumSegments(this.score.pre, this.score.segments, this.discreteSites, this.runs)
      return lp === lp ? lp : -Infinity
    } catch (error) {
      if (unwrap(error) instanceof InvalidDistributionError) return -Infinity
      throw error
    }
  }

  /** The K runs of a summed-out evaluation at q: `score.pre` and `score.segments` hold their weights. */
  private segmentsAt(q: Float64Array, notes?: Array<string>): void {
    for (let r = 0; r < this.runs; r++) {
      this.score.reset(q, false, notes, { run: r, assignment: undefined })
      runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })
    }
  }

  /** One run with each discrete site at a given value index; `score.segments[j·K]` holds site j's segment. */
  private runAssignment(q: Float64Array, assignment: Int32Array, record: boolean): unknown {
    this.score.reset(q, record, undefined, { run: 0, assignment })
    return runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })[0]
  }

  discreteProbabilities(q: Float64Array): Array<Float64Array> {
    this.check(q)
    if (this.discreteSites.length === 0) return []
    this.segmentsAt(q)
    const K = this.runs, seg = this.score.segments
    return this.discreteSites.map((site, j) => {
      const n = site.values.length
      let max = -Infinity
      for (let r = 0; r < n; r++) max = Math.max(max, seg[j * K + r]!)
      const p = new Float64Array(n)
      let total = 0
      for (let r = 0; r < n; r++) total += p[r] = max === -Infinity ? 0 : Math.exp(seg[j * K + r]! - max)
      for (let r = 0; r < n; r++) p[r] = total > 0 ? p[r]! / total : 1 / n
      return p
    })
  }

  /** Each discrete site's most probable value index given q. */
  private mapAssignment(q: Float64Array): Int32Array {
    const probs = this.discreteProbabilities(q)
    return Int32Array.from(probs, (p) => {
      let best = 0
      for (let r = 1; r < p.length; r++) if (p[r]! > p[best]!) best = r
      return best
    })
  }

  /**
   * Checks at q that each discrete site's segment depends on that site alone: runs with other
   * assignments must reproduce, site by site, the segments of the uniform runs.
   */
  checkIndependence(q: Float64Array, rng: CoreRng.Rng): void {
    const sites = this.discreteSites, K = this.runs, n = sites.length
    if (n < 2) return
    this.segmentsAt(q)
    const uniform = this.score.segments.slice()
    const assignments: Array<Int32Array> = []
    for (let shift = 1; shift < Math.min(K, 4); shift++) assignments.push(Int32Array.from(sites, (s, j) => (j + shift) % s.values.length))
    for (let t = 0; t < 2; t++) assignments.push(Int32Array.from(sites, (s) => Math.floor(rng.uniform() * s.values.length)))
    for (const a of assignments) {
      this.runAssignment(q, a, false)
      for (let j = 0; j < n; j++) {
        const got = this.score.segments[j * K]!, want = uniform[j * K + a[j]!]!
        const same = got === want || Math.abs(got - want) <= 1e-9 * (1 + Math.abs(want))
        if (!same) throw new DependentDiscreteError({ address: sites[j]!.address, other: j > 0 ? sites[j - 1]!.address : sites[1]!.address })
      }
    }
  }

  /**
   * One plain-number run at q under a `WatchHandler` (the numbers that can carry a latent
   * value's influence, and the latent values), or undefined if the run threw.
   */
  watch(q: Float64Array): Watch | undefined {
    const score = new ScoreHandler(this.sites)
    score.reset(q, false)
    const watch = new WatchHandler(score)
    try {
      runToEnd(this.transform(watch, noRandomness), this.model, { maxInstructions: this.maxInstructions })
    } catch {
      return undefined
    }
    return watch.watch
  }

  /** One recording at q: the output, or the reason the tape cannot be used. */
  record(q: Float64Array): { readonly output: Ad.Real } | { readonly reason: string } {
    this.recorded = true
    this.tape.begin(this.dimension)
    try {
      let output: Ad.Real = 0
      for (let r = 0; r < this.runs; r++) {
        this.tapeHandler.reset(q, r)
        ;[, output] = runToEnd(this.tapeWrapped, this.model, { maxInstructions: this.maxInstructions })
      }
      if (this.discreteSites.length > 0) output = this.tapeHandler.marginal()
      if (this.tape.escaped >= 0) return { reason: this.escapeReason() }
      return { output }
    } catch (error) {
      const cause = unwrap(error)
      if (cause instanceof NoGradient) return { reason: cause.reason }
      if (cause instanceof InvalidDistributionError && Ad.isNode(cause.value)) {
        return { reason: `the ${cause.family} constructor does not take differentiable parameters (${cause.parameter})` }
      }
      if (cause instanceof Ad.StaleNodeError) return { reason: cause.message }
      throw error
    } finally {
      this.tape.end()
    }
  }

  private escapeReason(): string {
    const { op, x, y, args } = this.tape
    let i = this.tape.escaped
    // walk back to a leaf: the first node operand of each node
    for (let guard = 0; op[i] !== Ad.LEAF && guard < 1e6; guard++) {
      const o = op[i]!
      let next = -1
      if (o >= Ad.SUM) {
        for (let k = x[i]!; k < x[i]! + y[i]!; k++) if (args[k]! >= 0) { next = args[k]!; break }
      } else next = x[i]! >= 0 ? x[i]! : y[i]!
      if (next < 0) break
      i = next
    }
    const input = op[i] === Ad.LEAF ? y[i]! : -1
    const site = this.sites.find((s) => input >= s.offset && input < s.offset + s.dimension)
    const name = site === undefined ? "a latent site" : `"${site.address}"`
    return `the value of ${name} (or one computed from it) escaped into plain JavaScript arithmetic (valueOf): write that arithmetic with Ad functions to get exact gradients`
  }

  useCompiled(fn: Compiled): void {
    this.compiled = fn
  }
  useTape(output: number): void {
    this.output = output
  }
  /** Drops the recording: every evaluation runs the model. */
  forgetRecording(): void {
    this.compiled = undefined
    this.output = -1
  }

  logDensity(q: Float64Array): number {
    this.check(q)
    if (this.compiled !== undefined) {
      const lp = this.compiled(q, undefined)
      return lp === lp ? lp : -Infinity
    }
    if (this.output >= 0) {
      const lp = this.tape.evaluate(q, this.output)
      return lp === lp ? lp : -Infinity
    }
    return this.scoreAt(q)
  }

  logDensityGradient(q: Float64Array, out: Float64Array): number {
    this.check(q)
    if (out.length !== this.dimension) throw new DimensionError({ expected: this.dimension, actual: out.length })
    switch (this.gradientSource) {
      case "compiled":
        this.compiledInto(q, out, this.slot)
        return this.slot[0]!
      case "taped":
        return this.tapedGradient(q, out)
      default:
        return this.finiteDifferences(q, out)
    }
  }

  /**
   * `logDensityGradient` with the value written into `value[0]` instead of returned: the
   * samplers' form (a number returned from a call V8 does not inline is boxed, an allocation per
   * gradient; the compiled path then allocates nothing), for their own arrays of `dimension`
   * values, so unchecked on the compiled path (a typed array's length is compared as a double:
   * two conversions on the way to every leapfrog step's call, 1–2 % of a NUTS step on eight
   * schools).
   */
  gradientInto(q: Float64Array, out: Float64Array, value: Float64Array): void {
    if (this.gradientSource === "compiled") this.compiledInto(q, out, value)
    else value[0] = this.logDensityGradient(q, out)
  }

  /** The compiled path: the value into `value[0]`, −∞ and a zero gradient where it is not a number. */
  private compiledInto(q: Float64Array, out: Float64Array, value: Float64Array): void {
    const compiled = this.compiled!
    compiled(q, out)
    const lp = compiled.value[0]!
    if (lp === lp) value[0] = lp
    else {
      out.fill(0)
      value[0] = -Infinity
    }
  }
  /** `logDensityGradient`'s slot for the compiled path's value. */
  private readonly slot = new Float64Array(1)

  /** The taped path: the recorded tape re-evaluated at q (no model run) with its gradient (`Tape.valueAndGradient`). */
  tapedGradient(q: Float64Array, out: Float64Array): number {
    const lp = this.tape.valueAndGradient(q, this.output, out)
    return lp === lp ? lp : -Infinity
  }

  private finiteDifferences(q: Float64Array, out: Float64Array): number {
    const lp = this.scoreAt(q)
    if (!(lp > -Infinity && lp < Infinity)) {
      out.fill(0)
      return lp
    }
    const p = this.shifted
    p.set(q)
    for (let i = 0; i < this.dimension; i++) {
      const h = FD_STEP * Math.max(1, Math.abs(q[i]!))
      p[i] = q[i]! + h
      const up = this.scoreAt(p)
      p[i] = q[i]! - h
      const down = this.scoreAt(p)
      p[i] = q[i]!
      const finiteUp = up > -Infinity && up < Infinity, finiteDown = down > -Infinity && down < Infinity
      out[i] = finiteUp && finiteDown ? (up - down) / (2 * h) : finiteUp ? (up - lp) / h : finiteDown ? (lp - down) / h : 0
    }
    return lp
  }

  constrain(q: Float64Array): Trace {
    this.check(q)
    if (this.discreteSites.length > 0) {
      this.runAssignment(q, this.mapAssignment(q), true)
      return this.score.trace!
    }
    this.score.reset(q, true)
    runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })
    return this.score.trace!
  }

  resultAt(q: Float64Array): unknown {
    this.check(q)
    if (this.discreteSites.length > 0) return this.runAssignment(q, this.mapAssignment(q), false)
    this.score.reset(q, false)
    return runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })[0]
  }

  constrainValues(q: Float64Array, out: Float64Array): number {
    this.check(q)
    let logJacobian = 0
    let k = 0
    for (let s = 0; s < this.sites.length; s++) {
      const site = this.sites[s]!, b = this.bijections[s]!
      if (b._tag === "Scalar") {
        const u = q[site.offset]!
        out[k++] = b.forward(u)
        logJacobian += b.logJacobian(u)
      } else {
        logJacobian += b.forward(q, site.offset, out.subarray(k, k + b.length))
        k += b.length
      }
    }
    return logJacobian
  }

  explain(q: Float64Array): Array<string> {
    this.check(q)
    const notes: Array<string> = []
    this.score.reset(q, false, notes)
    try {
      if (this.discreteSites.length > 0) this.segmentsAt(q, notes)
      else runToEnd(this.scoreWrapped, this.model, { maxInstructions: this.maxInstructions })
    } catch (error) {
      const cause = unwrap(error)
      if (cause instanceof InvalidDistributionError) notes.push(cause.message)
      else throw error
    } finally {
      this.score.reset(q, false)
    }
    const g = new Float64Array(this.dimension)
    const lp = this.logDensityGradient(q, g)
    if (lp > -Infinity && lp < Infinity) {
      for (const site of this.sites) {
        for (let i = site.offset; i < site.offset + site.dimension; i++) {
          if (!Number.isFinite(g[i]!)) {
            notes.push(`the gradient at site "${site.address}" is ${g[i]}`)
            break
          }
        }
      }
    }
    return notes
  }

  unconstrain(trace: Trace, out: Float64Array = new Float64Array(this.dimension)): Float64Array {
    if (out.length !== this.dimension) throw new DimensionError({ expected: this.dimension, actual: out.length })
    for (const site of this.sites) {
      const choice = trace.choices.get(site.address)
      if (choice === undefined) throw new StructureChangedError({ address: site.address, reason: "the trace has no choice there" })
      const b = Bijection.of(site.support)!
      if (b._tag === "Scalar") out[site.offset] = b.inverse(choice.value as number)
      else b.inverse(choice.value as Float64Array, out, site.offset)
    }
    return out
  }
}

/**
 * Builds the log density of `model` on its unconstrained space, choosing the fastest exact
 * gradient source available. Throws `DiscreteLatentError` for a discrete latent site,
 * `StructureChangedError` if the sites differ between runs, `InitializationError` if no initial
 * point has a finite density.
 *
 * @example
 * const ld = LogDensity.make(function* () {
 *   const mu = yield* sample("mu", Normal(0, 5))
 *   const tau = yield* sample("tau", HalfCauchy(5))
 *   yield* observe("y", Normal(mu, tau), 1.5)
 * })
 * ld.dimension      // 2
 * ld.gradientSource // "compiled"
 *
 * @category constructors
 * @since 0.2.0
 */
export const make = (model: Model<unknown>, options: Options = {}): LogDensity => building(model, options).advance(Infinity)!

/**
 * `make` in steps: the same work, which `advance(deadline)` runs until it is done (the density)
 * or the clock (`performance.now()`) has passed `deadline` between two of its phases (each
 * discovery attempt, the recording, the compilation, each verification point; undefined: not yet),
 * so that a caller working in time slices (MH building its fast path inside a chain's slice) can
 * be interrupted between them. `make` is `advance(Infinity)`.
 *
 * @internal
 */
export const building = (
  model: Model<unknown>,
  options: Options = {}
): { advance(deadline: number): LogDensity | undefined; readonly recorded: boolean } => {
  const built: { density: LogDensityImpl | undefined } = { density: undefined }
  const steps = makeSteps(model, options, built)
  return {
    /** Whether the model was run with `Ad` nodes as latent values (its recording attempted). */
    get recorded() {
      return built.density?.recorded ?? false
    },
    advance(deadline) {
      for (;;) {
        const step = steps.next()
        if (step.done === true) return step.value
        if (deadline < Infinity && performance.now() > deadline) return undefined
      }
    }
  }
}

function* makeSteps(model: Model<unknown>, options: Options, built: { density: LogDensityImpl | undefined }): Generator<void, LogDensity, void> {
  const algorithm = "LogDensity"
  modelOption(algorithm, model)
  checkKeys(algorithm, options, KEYS)
  const seed = seedOption(algorithm, options.seed) ?? 20261201
  const transform = transformOption(algorithm, options.transform) ?? ((h) => h)
  const maxInstructions = maxInstructionsOption(algorithm, options.maxInstructions)
  const requested = options.gradient === undefined ? "auto" : oneOf(algorithm, "gradient", options.gradient, ["auto", "compiled", "taped", "finite-differences"] as const)
  const maxCompiled = options.maxCompiledNodes === undefined ? DEFAULT_MAX_COMPILED : positiveInteger(algorithm, "maxCompiledNodes", options.maxCompiledNodes)
  const attempts = options.initAttempts === undefined ? DEFAULT_INIT_ATTEMPTS : positiveInteger(algorithm, "initAttempts", options.initAttempts)
  const sumOut = (options.discrete === undefined ? "error" : oneOf(algorithm, "discrete", options.discrete, ["error", "sumOut"] as const)) === "sumOut"
  const rng = CoreRng.make(seed)

  // discovery: the sites, and an initial point with a finite density
  let density: LogDensityImpl | undefined
  let lastReason = ""
  for (let attempt = 0; attempt < attempts && density === undefined; attempt++) {
    const discover = new DiscoverHandler(rng, sumOut)
    let q0: Float64Array
    try {
      ;[, q0] = runToEnd(transform(discover, noRandomness), model, { maxInstructions })
    } catch (error) {
      if (unwrap(error) instanceof InvalidDistributionError) {
        lastReason = (unwrap(error) as Error).message
        continue
      }
      throw error
    }
    const candidate = new LogDensityImpl(model, discover.sites, discover.dimension, q0, transform, maxInstructions, discover.discrete)
    const lp = candidate.scoreAt(q0)
    if (lp > -Infinity && lp < Infinity) density = candidate
    else lastReason = `log density ${lp} at the last point`
    yield
  }
  if (density === undefined) throw new InitializationError({ attempts, reason: lastReason })
  built.density = density
  density.checkIndependence(density.initialPoint, rng)
  yield

  yield* choose(density, requested, maxCompiled, rng)
  return density
}

/** How many coordinates the plain-arithmetic check perturbs one at a time to name the site it found. */
const NAME_SEARCH = 32

/**
 * Whether plain-number runs prove that a recording would find a latent value escaping into
 * plain arithmetic, so that the model need not be recorded at all: the reason (the escape's
 * wording) or "". Recording a model that does plain arithmetic on latent values is not only
 * wasted: the nodes reach the model's own operators (`slope * x`), and V8's type feedback
 * for them stays generic for the rest of the process (MH on the seed's regression measured
 * 3–4 % slower after a failed recording).
 *
 * **Details**: five runs with numbers, at q0, q0, q1, q1, q0 (q1 = q0 + ½ in every coordinate),
 * with no arithmetic `Ad` function called in any of them (`Ad.usedSinceReset`), every site
 * scalar (no discrete, vector or summed-out sites), and a noted number that is a function of q,
 * moves with q and is none of the latent values (`plainArithmeticAt` in internal/density.ts,
 * which states what this assumes; MH makes the same check with its own handler).
 */
const plainArithmetic = (density: LogDensityImpl): string => {
  if (density.discreteSites.length > 0 || density.sites.some((s) => s.dimension !== 1 || s.shape.length !== 0)) return ""
  const q0 = density.initialPoint, d = q0.length
  const shifted = (k: number): Float64Array => {
    const q = q0.slice()
    for (let i = 0; i < d; i++) if (k < 0 || i === k) q[i] = q[i]! + 0.5
    return q
  }
  Ad.resetUsage()
  const q1 = shifted(-1)
  const first = density.watch(q0)
  // a model that calls Ad is never proved plain (the common case: one run)
  if (first === undefined || Ad.usedSinceReset()) return ""
  const runs = [first, density.watch(q0), density.watch(q1), density.watch(q1), density.watch(q0)]
  if (Ad.usedSinceReset() || runs.some((r) => r === undefined)) return ""
  const found = plainArithmeticAt(runs as Array<Watch>)
  const a = runs[0]!, n = a.numbers.length
  if (found < 0) return ""
  // the site it moves with, for the message (the recording names the escaped node's site)
  let name = "a latent site"
  for (let k = 0; k < Math.min(d, NAME_SEARCH); k++) {
    const e = density.watch(shifted(k))
    if (e !== undefined && e.numbers.length === n && !Object.is(e.numbers[found], a.numbers[found])) {
      name = `"${density.sites[k]!.address}"`
      break
    }
  }
  return `the value of ${name} (or one computed from it) escaped into plain JavaScript arithmetic (found without recording: it reaches ${a.where(found)}, which no Ad function computed): write that arithmetic with Ad functions to get exact gradients`
}

/** Points at which a recorded density is checked against fresh runs of the model. */
const VERIFY_POINTS = 8

/**
 * The recorded density (compiled or taped) against a fresh run of the model at `VERIFY_POINTS`
 * other points, drawn as initial points are (uniform(−2, 2) per coordinate): a recording is a
 * function of q only if no control flow or constant in it came from a latent value by a route
 * the tape cannot see (`Ad.primal(x) > 0`, `node.value`, state kept between runs). Returns why
 * it is not, or "" when every point agrees (to 1e-9, relative).
 */
function* verifyRecording(density: LogDensityImpl, rng: CoreRng.Rng): Generator<void, string, void> {
  const d = density.dimension
  const q = new Float64Array(d)
  for (let k = 0; k < VERIFY_POINTS; k++) {
    yield
    for (let i = 0; i < d; i++) q[i] = (2 * rng.uniform() - 1) * 2
    const fresh = density.scoreAt(q)
    const recorded = density.logDensity(q)
    const same = fresh === recorded || (!(fresh > -Infinity && fresh < Infinity) && !(recorded > -Infinity && recorded < Infinity)) ||
      Math.abs(fresh - recorded) <= 1e-9 * (1 + Math.abs(fresh))
    if (!same) {
      return `the recorded density differs from a fresh run of the model at another point (${recorded} vs ${fresh}): some control flow or value came from a latent value by a route the tape cannot see (Ad.primal, node.value, or state kept between runs)`
    }
  }
  return ""
}

/** Whether nodes 0 … output include a fused LINEAR_KERNEL node (the compiler writes scalar nodes only). */
const hasFused = (tape: Ad.Tape, output: number): boolean => {
  for (let i = 0; i <= output; i++) if (tape.op[i] === Ad.LINEAR_KERNEL) return true
  return false
}

function* choose(density: LogDensityImpl, requested: "auto" | GradientSource, maxCompiled: number, rng: CoreRng.Rng): Generator<void, void, void> {
  function* use(source: GradientSource, reason: string): Generator<void, void, void> {
    if (source !== "finite-differences") {
      const why = yield* verifyRecording(density, rng)
      if (why !== "") {
        density.forgetRecording()
        if (requested !== "auto") throw new GradientUnavailableError({ requested, reason: why })
        source = "finite-differences"
        reason = why
      }
    }
    density.gradientSource = source
    density.gradientReason = reason
  }
  if (requested === "finite-differences") return yield* use("finite-differences", "requested")
  const plain = plainArithmetic(density)
  if (plain !== "") {
    if (requested !== "auto") throw new GradientUnavailableError({ requested, reason: plain })
    return yield* use("finite-differences", plain)
  }
  yield
  const q0 = density.initialPoint
  const recorded = density.record(q0)
  yield
  if (!("output" in recorded)) {
    if (requested !== "auto") throw new GradientUnavailableError({ requested, reason: recorded.reason })
    return yield* use("finite-differences", recorded.reason)
  }
  if (!Ad.isNode(recorded.output)) return yield* use("finite-differences", "the log density does not depend on the latent values")
  density.useTape(recorded.output.index)
  if (requested === "taped") return yield* use("taped", "requested")
  const tape = density.tape
  const { size, full, loops, rows } = compiledSize(tape, recorded.output.index)
  const codegen = codeGeneration()
  const fusedNodes = hasFused(tape, recorded.output.index)
  const why = !codegen.allowed
    ? codegen.reason
    : fusedNodes
    ? "the tape has fused vector nodes (Ad.linear in a broadcast family), which run their loops in the tape"
    : size > maxCompiled
    ? `the tape has ${size} nodes${loops > 0 ? ` (${full} before its ${rows} repeated rows are rolled into ${loops} loop${loops > 1 ? "s" : ""})` : ""}, above maxCompiledNodes (${maxCompiled})`
    : ""
  if (why !== "") {
    if (requested === "compiled") throw new GradientUnavailableError({ requested, reason: why })
    return yield* use("taped", why)
  }
  yield
  const fn = compile(tape, recorded.output, density.dimension)
  // self-check against the tape at the recording point: a mismatch is a bug in the compiler
  const taped = new Float64Array(density.dimension)
  tape.gradient(recorded.output, taped)
  const compiledGradient = new Float64Array(density.dimension)
  fn(q0, compiledGradient)
  const value = fn.value[0]!
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * (1 + Math.abs(a) + Math.abs(b))
  let ok = close(value, Ad.primal(recorded.output))
  for (let i = 0; i < density.dimension; i++) ok = ok && close(taped[i]!, compiledGradient[i]!)
  if (!ok) throw new Error("LogDensity: the compiled gradient disagrees with the tape (a bug: please report it)")
  density.useCompiled(fn)
  yield
  yield* use(
    "compiled",
    loops > 0
      ? `the tape (${full} nodes) compiled into one function, its ${rows} repeated rows rolled into ${loops} loop${loops > 1 ? "s" : ""} (${size} written out)`
      : `the tape (${size} nodes) compiled into one straight-line function`
  )
}

