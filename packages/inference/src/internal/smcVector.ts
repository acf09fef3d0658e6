// The vectorised step of the unfold engine (smcUnfold.ts): one unfold step t, recorded (twice, see probeStep) with
// symbolic inputs and run for the whole population as generated straight-line code over typed-
// array columns, instead of once per particle through the driver — the form of a hand-written
// bootstrap particle filter (Gordon, Salmond & Smith 1993), reached from the model itself.
//
// Why: the interpreted step costs a generator, a model closure, an instruction object per
// `yield*`, a distribution object per site and a handler call per instruction, per particle per
// step (measured: even through the state-space filter's driver the random walk's step is 4.6× the
// hand-written filter, a fifth of it garbage collection of those objects). The per-particle work
// of a fixed step is a few floating-point operations and one normal draw. Measured on the
// 1000-particle, 50-step random walk (paired CPU time against the hand-written filter): 2.7× the
// hand filter (140 ns per particle-step against 49), where the interpreted steps are 9.6× (516
// ns).
//
// Recording (`probeStep`): the step's model `step(state, t)` runs once, under the one driver
// (`runToEnd`) with a recording handler, on an `Ad` tape whose first inputs are the state (a
// number: one input; a plain array or object of L numbers: L inputs, passed as an array or object
// of nodes) and whose next input k is the value of the step's k-th sample site. The handler writes
// down each instruction in order: a sample site (family, the tape references of its parameters),
// an observation (family, parameters, the observed value, which must be a plain number), a factor
// (its log weight, a reference), and the returned state (references). Arithmetic on the state or
// on a site's value must be written with `Ad` (recorded); any use of those values by plain
// JavaScript (`+`, `Math.*`, `<`, string conversion) goes through `valueOf` and is detected
// (`Tape.escaped`), as is a model reading a distribution built from them (`logProb`, `sample`).
// The recording is refused — and the step runs interpreted, as before — on any escape, a family at
// a site or an observation other than Normal and the scalar continuous families of `FAMILIES`
// (discrete and vector families, broadcast distributions), an observed value that is not a plain
// number, a returned state that is not a number or a plain array or object of numbers (its shape
// may change from step to step), an `Ad` operation without a plain scalar form here (sums, dot
// products, linear predictors), or any error while recording — including an invalid parameter at
// the recording's values (the state of a live particle, a site's mean or mu), so a step whose
// parameters are invalid there runs interpreted. A recording without escapes is the same
// computation for every particle: control flow on a recorded value would have gone through
// `valueOf`. A value taken off the tape without `valueOf` (`Ad.primal(x)`, `node.value`) becomes a
// constant of the recording; so the step is recorded twice, at two states (two particles', or one
// moved) with other site values, and runs vectorised only if both recordings are the same
// computation (instructions, tape and constants), as `LogDensity` checks its recording against
// fresh runs at other points. What cannot be detected: `===` / `typeof` on the state or a site
// value, and a value taken off the tape that is the same at both recordings.
//
// Code (`compileStep`): the instructions are cut at each barrier (observe / factor) into segments
// (segment s < B ends at barrier s; segment B is the rest of the step and its return), and each
// segment becomes one function that loops over the particles: for particle i it loads the stream
// of particle i (`ParticleStreams.use(i)`), evaluates the tape's operations it needs in recording
// order with the plain-number arithmetic the `Ad` functions use on numbers, checks a Normal's
// parameters as its constructor does (`requireFinite` / `requirePositive`), draws a Normal site
// exactly as `NormalDistribution.sample` does (mu + σ·normal(), clamped when it overflows) and
// scores a Normal observation exactly as `NormalDistribution.logProb` does (the cached −log σ −
// log(2π)/2, once per segment when σ is a constant; the halves on overflow); any other family it
// builds per particle with its own constructor function (the validation) and draws and scores with
// its own `sample` / `logProb`: the same numbers in the same order from the same stream as the
// interpreted step, bit for bit. Site values go straight to per-site Float64Array columns;
// constants (including observed values such as `ys[t]`) are an argument, so steps that differ only
// in constants share one compiled function (cached by the generated source, a fingerprint of the
// structure). A particle whose parameters are invalid (a NaN state, a non-finite σ) is marked
// (`dead[i] = 2`) with the number of sites it had drawn, as the interpreted step's
// InvalidDistributionError would leave it: weight −∞, counted, never advanced again. The driver
// builds the instruction that follows a barrier before it stops there, so the parameters of that
// instruction are checked in the barrier's segment (an invalid one gives the barrier's weight −∞,
// as the interpreted step does).
//
// Side effects: the step function `step(state, t)` and the model it returns run twice per step (to
// record), not once per particle; a step with side effects (logging, counters, reading mutable
// state) behaves differently under this path. `Smc.Options.vectorise: "never"` runs every step
// interpreted.
import * as Ad from "@fugue/core/Ad"
import { HALF_LOG_2PI, InvalidDistributionError, type Distribution } from "@fugue/core/Distribution"
import * as Families from "@fugue/core/distributions/index"
import { NormalDistribution } from "@fugue/core/distributions/Normal"
import * as CoreRng from "@fugue/core/Rng"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { ModelCodeError, runToEnd } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import { BINARY_FORWARD, codeGeneration, UNARY_FORWARD } from "./compileTape.ts"
import type { ParticleStreams } from "./particleStreams.ts"

const SAMPLE = 0, OBSERVE = 1, FACTOR = 2

/** One recorded instruction: references are tape nodes (≥ 0) or constants (−1 − k). */
interface Instruction {
  readonly kind: number
  /** SAMPLE: the site's index in the step. */
  readonly site: number
  /** SAMPLE / OBSERVE: the family ("Normal": the inlined form, else one of `FAMILIES`). */
  readonly family: string
  /** SAMPLE / OBSERVE: the family's parameters in its constructor's order; FACTOR: the log weight. */
  readonly params: ReadonlyArray<number>
  /** OBSERVE: the observed value's constant. */
  readonly value: number
}

/**
 * The scalar continuous families other than Normal a vectorised step may use, by name: the
 * generated code builds each through its own constructor function (which validates it) and
 * calls its own `sample` / `logProb`, so the numbers are the interpreted step's by construction
 * (a distribution object per particle and site, unlike Normal's inlined arithmetic).
 */
const FAMILIES: Readonly<Record<string, (...parameters: Array<number>) => Distribution<number>>> = {
  LogNormal: Families.LogNormal,
  Uniform: Families.Uniform,
  Exponential: Families.Exponential,
  Gamma: Families.Gamma,
  Beta: Families.Beta,
  Cauchy: Families.Cauchy,
  HalfCauchy: Families.HalfCauchy,
  HalfNormal: Families.HalfNormal,
  StudentT: Families.StudentT,
  Laplace: Families.Laplace,
  Weibull: Families.Weibull,
  ChiSquared: Families.ChiSquared,
  InverseGamma: Families.InverseGamma
} as never


/**
 * One segment of a step for every particle: reads the state column `S` and earlier site
 * columns, writes this segment's site columns, the barrier's log weight to `inc[i]` (barrier
 * segments) or the returned state to `R[i]` (the last segment); skips particles with
 * `dead[i] !== 0`; a particle with invalid parameters gets `dead[i] = 2` (4 when they are those
 * of the instruction after the segment's barrier), `drawn[i]` = the sites it had drawn in the
 * step, `inc[i] = −∞`. Returns how many particles it so marked.
 */
export type Segment = (
  n: number,
  dead: Uint8Array,
  drawn: Int32Array,
  S: ReadonlyArray<Float64Array>,
  V: ReadonlyArray<Float64Array>,
  c: Float64Array,
  streams: ParticleStreams,
  rng: Rng,
  inc: Float64Array,
  R: ReadonlyArray<Float64Array>
) => number

/** A recorded and compiled step t. */
export interface VectorStep {
  /** The sample sites' addresses (relative to the step's scope), in order. */
  readonly addresses: Array<string>
  /** The barriers' addresses (relative; "" for a factor), in order. */
  readonly barriers: ReadonlyArray<string>
  /** barriers.length + 1 segments (see the header). */
  readonly segments: ReadonlyArray<Segment>
  /** The sites drawn before segment s (s = 0 … barriers.length), and in all at index barriers.length + 1. */
  readonly sitesBefore: Int32Array
  /** The constants the segments read. */
  readonly constants: Float64Array
  /** The state the step starts from and the one it returns. */
  readonly inShape: Shape
  readonly outShape: Shape
}

/**
 * The form of a state a vectorised step takes and returns, one column per component: −1 a
 * number; L ≥ 0 a plain array of L numbers; a list of keys a plain object of numbers with those
 * own enumerable keys, in that order.
 */
export type Shape = number | ReadonlyArray<string>

const isPlainArray = (x: unknown): x is ReadonlyArray<unknown> => Array.isArray(x) && Object.getPrototypeOf(x) === Array.prototype
const isPlainObject = (x: unknown): x is Readonly<Record<string, unknown>> =>
  typeof x === "object" && x !== null && Object.getPrototypeOf(x) === Object.prototype

/** The shape of a state whose components satisfy `component` (numbers, or nodes while recording); undefined for any other value. */
export const shapeOf = (x: unknown, component: (c: unknown) => boolean = (c) => typeof c === "number"): Shape | undefined => {
  if (component(x)) return -1
  if (isPlainArray(x)) {
    // (a hole reads as undefined: not a component)
    for (let j = 0; j < x.length; j++) if (!component(x[j])) return undefined
    return x.length
  }
  if (isPlainObject(x)) {
    const keys = Object.keys(x)
    // accessors would run (and could see the nodes) on every read: only data properties
    for (const k of keys) if (!component(x[k]) || Object.getOwnPropertyDescriptor(x, k)!.get !== undefined) return undefined
    return keys
  }
  return undefined
}

/** The number of components (columns) of a shape. */
export const widthOf = (shape: Shape): number => (typeof shape === "number" ? (shape < 0 ? 1 : shape) : shape.length)

/** Whether two shapes are the same. */
export const sameShape = (a: Shape, b: Shape): boolean => {
  if (typeof a === "number" || typeof b === "number") return a === b
  return a.length === b.length && a.every((k, j) => k === b[j])
}

/** The components of a state of that shape, in column order. */
export const componentsOf = <A>(x: unknown, shape: Shape): Array<A> =>
  typeof shape === "number" ? (shape < 0 ? [x as A] : [...(x as ReadonlyArray<A>)]) : shape.map((k) => (x as Record<string, A>)[k]!)

/** The state of that shape with these components (a fresh plain array or object, as a step returns it). */
export const stateOf = <A>(shape: Shape, component: (j: number) => A): unknown => {
  if (typeof shape === "number") {
    if (shape < 0) return component(0)
    const out: Array<A> = []
    for (let j = 0; j < shape; j++) out.push(component(j))
    return out
  }
  const out: Record<string, A> = {}
  for (let j = 0; j < shape.length; j++) out[shape[j]!] = component(j)
  return out
}

/** Raised inside the recording to refuse it, with why (caught by `probeStep`). */
class Refused {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/** The recording handler: see the header. */
class ProbeHandler implements Handler<void> {
  readonly tape: Ad.Tape
  readonly instructions: Array<Instruction> = []
  /** Where each instruction was met: the tape's size then. */
  readonly positions: Array<number> = []
  readonly addresses: Array<string> = []
  readonly barriers: Array<string> = []
  /** Observed values (constants appended after the tape's). */
  readonly observed: Array<number> = []
  /** The tape input of site 0 (the state's components come first). */
  readonly offset: number
  /** The second recording (see `probeStep`): sites take other values than the first's. */
  readonly variant: boolean
  constructor(tape: Ad.Tape, offset: number, variant: boolean) {
    this.tape = tape
    this.offset = offset
    this.variant = variant
  }
  /** The family of a supported distribution and its parameters' references (refuses any other). */
  private parameters<T>(where: string, dist: Distribution<T>): { readonly family: string; readonly params: Array<number>; readonly value: number } {
    const operands = this.tape.distributions.get(dist)
    if (dist instanceof NormalDistribution) {
      const mu: Ad.Real = operands === undefined ? dist.mu : operands[0]!
      const sigma: Ad.Real = operands === undefined ? dist.sigma : operands[1]!
      const other = dist.mu + 0.5 * dist.sigma
      const value = this.variant && other - other === 0 ? other : dist.mu
      return { family: "Normal", params: [this.tape.ref(mu), this.tape.ref(sigma)], value }
    }
    const family = (dist as { family?: unknown }).family
    const make = typeof family === "string" && Object.hasOwn(FAMILIES, family) ? FAMILIES[family]! : undefined
    if (make === undefined || dist.kind !== "real") {
      throw new Refused(`${where} is ${String(family)}, not one of the scalar continuous families a vectorised step draws or scores`)
    }
    const primals = (dist as unknown as { kernelParameters(): ReadonlyArray<number> }).kernelParameters()
    // the scalar class of the family (not a broadcast one), rebuilt from the parameters' values
    const reference = make(...primals)
    if (Object.getPrototypeOf(reference) !== Object.getPrototypeOf(dist)) throw new Refused(`${where} is a broadcast ${family}, not a scalar one`)
    const reals: ReadonlyArray<Ad.Real> = operands === undefined ? primals : operands
    if (reals.length !== primals.length) throw new Refused(`${where}: its ${family}'s parameters are not tracked one by one`)
    // the site's value at the recording (where later parameters are validated): its mean where
    // that is finite and in the support, else a draw from a fixed stream of its own (not a
    // particle's) — the same in every run, so whether a step records never depends on the run
    // (the second recording: a draw from another fixed stream)
    const mean = (reference as { mean?: () => number | undefined }).mean?.()
    const value = this.variant
      ? reference.sample(CoreRng.make(2))
      : typeof mean === "number" && reference.logProb(mean) > -Infinity ? mean : reference.sample(CoreRng.make(1))
    return { family: family as string, params: reals.map((r) => this.tape.ref(r)), value }
  }
  sample<T>(address: string, dist: Distribution<T>): T {
    const { family, params, value } = this.parameters(`the site "${address}"`, dist)
    const site = this.addresses.length
    this.addresses.push(address)
    this.positions.push(this.tape.size)
    this.instructions.push({ kind: SAMPLE, site, family, params, value: 0 })
    return this.tape.leaf(this.offset + site, value) as unknown as T
  }
  observe<T>(address: string, dist: Distribution<T>, value: T): void {
    const { family, params } = this.parameters(`the observation "${address}"`, dist)
    if (typeof value !== "number") throw new Refused(`the value observed at "${address}" is not a plain number`)
    this.positions.push(this.tape.size)
    this.instructions.push({ kind: OBSERVE, site: -1, family, params, value: this.observed.push(value) - 1 })
    this.barriers.push(address)
  }
  factor(logWeight: number): void {
    const a = this.tape.ref(logWeight as Ad.Real)
    this.positions.push(this.tape.size)
    this.instructions.push({ kind: FACTOR, site: -1, family: "", params: [a], value: 0 })
    this.barriers.push("")
  }
  finish(): void {}
}

/** The plain-number form of each supported tape operation (as `Ad.add` … compute on numbers): the compiler's. */
const unaryCode = UNARY_FORWARD
const binaryCode = BINARY_FORWARD

/** As NormalDistribution.logProb's rare path: NaN and ±∞ get −∞, an overflowed x − mu is redone from the halves. */
const halves = (x: number, mu: number, sigma: number, logNorm: number): number => {
  if (x - x !== 0) return -Infinity
  const h = (0.5 * x - 0.5 * mu) / sigma
  return logNorm - 2 * h * h
}
/** As clampReal: a draw that overflowed becomes ±MAX_VALUE (NaN stays NaN). */
const clamp = (x: number): number => (x < -Number.MAX_VALUE ? -Number.MAX_VALUE : x > Number.MAX_VALUE ? Number.MAX_VALUE : x)

type Factory = (
  logistic: (x: number) => number,
  softplus: (x: number) => number,
  halves: (x: number, mu: number, sigma: number, logNorm: number) => number,
  clamp: (x: number) => number,
  HALF: number,
  F: typeof FAMILIES,
  Invalid: typeof InvalidDistributionError
) => Segment

/** Compiled segments by their source (the step's structure); cleared when it grows past `CACHE_LIMIT`. */
const cache = new Map<string, Segment>()
const CACHE_LIMIT = 512

/** Whether `new Function` may run here (checked once). */
let allowed: boolean | undefined = undefined

/** What a recording wrote that the generated code depends on (compared between the two recordings). */
interface Recording {
  readonly handler: ProbeHandler
  readonly output: Array<number>
  readonly outShape: Shape
  readonly op: Array<number>
  readonly x: Array<number>
  readonly y: Array<number>
  readonly constants: Array<number>
}

/** One recording of `step(state, t)` with the state's components at `values`; why not, when refused. */
const record = <S>(
  step: (state: S, t: number) => Model<S>,
  t: number,
  inShape: Shape,
  values: ReadonlyArray<number>,
  tape: Ad.Tape,
  maxInstructions: number | undefined,
  variant: boolean
): Recording | string => {
  const inputs = widthOf(inShape)
  const handler = new ProbeHandler(tape, inputs, variant)
  try {
    tape.begin(inputs)
    const state = stateOf(inShape, (j) => tape.leaf(j, values[j]!))
    const [result] = runToEnd(handler, step(state as S, t), { maxInstructions })
    // the returned state: a number, a plain array or a plain object of numbers (a typed array
    // would have converted its nodes through valueOf: an escape)
    const outShape = shapeOf(result, (c) => typeof c === "number" || Ad.isNode(c))
    if (outShape === undefined) return "the step returned a state that is not a number or a plain array or object of numbers"
    const output = componentsOf<Ad.Real>(result, outShape).map((c) => tape.ref(c))
    if (tape.escaped >= 0) {
      return "the state or a site's value reached plain JavaScript arithmetic or control flow (write that arithmetic with Ad functions)"
    }
    const size = tape.size
    return {
      handler,
      output,
      outShape,
      op: Array.from(tape.op.subarray(0, size)),
      x: Array.from(tape.x.subarray(0, size)),
      y: Array.from(tape.y.subarray(0, size)),
      constants: Array.from(tape.constants.subarray(0, tape.constantCount))
    }
  } catch (error) {
    // any error while recording (a refusal, an invalid parameter at the probe's values, a stale
    // node, an error of the model's own): the interpreted step raises whatever it should
    // (the driver wraps what a handler throws in a ModelCodeError: its cause)
    const cause = error instanceof ModelCodeError ? error.cause : error
    return cause instanceof Refused ? cause.reason : `recording it raised ${error instanceof Error ? error.message : String(error)}`
  } finally {
    tape.end()
  }
}

const sameNumbers = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean =>
  a.length === b.length && a.every((x, i) => Object.is(x, b[i]))

/** Whether two recordings are the same computation: the same instructions, tape and constants. */
const sameRecording = (a: Recording, b: Recording): boolean => {
  const ha = a.handler, hb = b.handler
  return sameShape(a.outShape, b.outShape) && sameNumbers(a.output, b.output) && sameNumbers(a.op, b.op) &&
    sameNumbers(a.x, b.x) && sameNumbers(a.y, b.y) && sameNumbers(a.constants, b.constants) &&
    sameNumbers(ha.observed, hb.observed) && ha.addresses.length === hb.addresses.length &&
    ha.addresses.every((x, i) => x === hb.addresses[i]) && ha.barriers.every((x, i) => x === hb.barriers[i]) &&
    ha.instructions.length === hb.instructions.length &&
    ha.instructions.every((x, i) => {
      const y = hb.instructions[i]!
      return x.kind === y.kind && x.site === y.site && x.family === y.family && x.value === y.value && sameNumbers(x.params, y.params)
    })
}

/**
 * Records step t twice and compiles it; why not (a sentence), when the step cannot run
 * vectorised (see the header). The first recording has the state's components at `probe` and each site at its
 * value's rule (the mean, else a fixed draw); the second at `other` (another particle's state, or
 * a moved one) with other site values. A value that left the tape without passing through
 * `valueOf` (`Ad.primal(x)`, `node.value`) becomes a constant of the recording, so the two
 * recordings differ and the step runs interpreted: where a recording would give every particle
 * the numbers of one, this is how it is found (as `LogDensity` checks its recording against
 * fresh runs at other points). It cannot see such a value that is the same at both points.
 */
export const probeStep = <S>(
  step: (state: S, t: number) => Model<S>,
  t: number,
  inShape: Shape,
  probe: ReadonlyArray<number>,
  other: ReadonlyArray<number>,
  tape: Ad.Tape,
  maxInstructions: number | undefined
): VectorStep | string => {
  allowed ??= codeGeneration().allowed
  if (!allowed) return codeGeneration().reason
  const first = record(step, t, inShape, probe, tape, maxInstructions, false)
  if (typeof first === "string") return first
  const second = record(step, t, inShape, other, tape, maxInstructions, true)
  if (typeof second === "string") return `at a second state: ${second}`
  if (!sameRecording(first, second)) {
    return "its recordings at two states differ: a value left the tape without Ad (Ad.primal, node.value) or the structure depends on the state"
  }
  // the tape holds the second recording, the same computation as the first
  return compileStep(tape, second.handler, second.output, inShape, second.outShape)
}

/** The generated segments of a recording (see the header). */
const compileStep = (tape: Ad.Tape, h: ProbeHandler, output: ReadonlyArray<number>, inShape: Shape, outShape: Shape): VectorStep | string => {
  const inputs = h.offset
  const constantCount = tape.constantCount
  const constants = new Float64Array(constantCount + h.observed.length)
  constants.set(tape.constants.subarray(0, constantCount))
  for (let k = 0; k < h.observed.length; k++) constants[constantCount + k] = h.observed[k]!
  for (let i = 0; i < tape.size; i++) {
    const op = tape.op[i]!
    if (op !== Ad.LEAF && unaryCode[op] === undefined && binaryCode[op] === undefined) {
      return "it uses an Ad operation with no scalar form here (a sum, dot product, log-sum-exp or linear predictor)"
    }
  }
  const barriers = h.barriers.length
  const segments: Array<Segment> = []
  const sources: Array<string> = []
  const sitesBefore = new Int32Array(barriers + 2)
  let next = 0
  let drawnSoFar = 0
  for (let s = 0; s <= barriers; s++) {
    sitesBefore[s] = drawnSoFar
    // the instructions of segment s: up to and including barrier s (the rest, for the last)
    const body: Array<string> = []
    const defined = new Set<string>()
    const columns = new Set<number>()
    const states = new Set<number>()
    let draws = false
    const name = (r: number): string => {
      if (r < 0) return `c[${-1 - r}]`
      const op = tape.op[r]!
      if (op === Ad.LEAF) {
        const input = tape.y[r]!
        if (input < inputs) {
          // a component of the state
          const v = `s${input}`
          if (!defined.has(v)) {
            defined.add(v)
            states.add(input)
            body.push(`const ${v} = S${input}[i]`)
          }
          return v
        }
        const site = input - inputs
        const v = `x${site}`
        if (!defined.has(v)) {
          // a site of an earlier segment: read back from its column
          defined.add(v)
          columns.add(site)
          body.push(`const ${v} = V${site}[i]`)
        }
        return v
      }
      const v = `n${r}`
      if (defined.has(v)) return v
      const code = binaryCode[op] !== undefined
        ? binaryCode[op]!(name(tape.x[r]!), name(tape.y[r]!))
        : unaryCode[op]!(name(tape.x[r]!))
      defined.add(v)
      body.push(`const ${v} = ${code}`)
      return v
    }
    const fail = (drawn: number, code: number): string => `dead[i] = ${code}; drawn[i] = ${drawn}; inc[i] = -Infinity; broke++; continue`
    // Normal: its constructor's checks (a constant parameter passed them at the recording, with
    // this value); another family: its constructor function, whose InvalidDistributionError marks
    // the particle. Returns the distribution's variable for another family.
    const check = (ins: Instruction, drawn: number, code = 2): string => {
      const [a, b] = ins.params
      if (ins.family === "Normal") {
        const mu = name(a!), sigma = name(b!)
        const tests = [...(a! < 0 ? [] : [`${mu} - ${mu} === 0`]), ...(b! < 0 ? [] : [`${sigma} - ${sigma} === 0 && ${sigma} > 0`])]
        if (tests.length > 0) body.push(`if (!(${tests.join(" && ")})) { ${fail(drawn, code)} }`)
        return ""
      }
      const args = ins.params.map(name).join(", ")
      const d = `d${body.length}`
      body.push(`let ${d}`)
      body.push(`try { ${d} = F.${ins.family}(${args}) } catch (error) { if (!(error instanceof Invalid)) throw error; ${fail(drawn, code)} }`)
      return d
    }
    // −log σ − log(2π)/2 of a constant σ once per segment, not per particle
    const hoisted: Array<string> = []
    let barrier = false
    while (next < h.instructions.length && !barrier) {
      const ins = h.instructions[next++]!
      if (ins.kind === SAMPLE) {
        const d = check(ins, drawnSoFar)
        const v = `x${ins.site}`
        defined.add(v)
        columns.add(ins.site)
        draws = true
        if (ins.family === "Normal") {
          const mu = name(ins.params[0]!), sigma = name(ins.params[1]!)
          body.push(`let ${v} = ${mu} + ${sigma} * rng.normal()`)
          body.push(`if (${v} - ${v} !== 0) ${v} = clamp(${v})`)
        } else body.push(`const ${v} = ${d}.sample(rng)`)
        body.push(`V${ins.site}[i] = ${v}`)
        drawnSoFar++
      } else if (ins.kind === OBSERVE) {
        const d = check(ins, drawnSoFar)
        const y = `c[${constantCount + ins.value}]`
        if (ins.family === "Normal") {
          const mu = name(ins.params[0]!), sigma = name(ins.params[1]!)
          ;(ins.params[1]! < 0 ? hoisted : body).push(`const ln${next} = -Math.log(${sigma}) - HALF`)
          body.push(`const z${next} = (${y} - ${mu}) / ${sigma}`)
          body.push(`let lp${next} = ln${next} - 0.5 * z${next} * z${next}`)
          body.push(`if (!(lp${next} - lp${next} === 0)) lp${next} = halves(${y}, ${mu}, ${sigma}, ln${next})`)
          body.push(`inc[i] = lp${next}`)
        } else body.push(`inc[i] = ${d}.logProb(${y})`)
        barrier = true
      } else {
        body.push(`inc[i] = ${name(ins.params[0]!)}`)
        barrier = true
      }
    }
    if (!barrier) {
      const names = output.map(name)
      for (let j = 0; j < names.length; j++) body.push(`R${j}[i] = ${names[j]}`)
    }
    else if (next < h.instructions.length && h.instructions[next]!.kind !== FACTOR) {
      // the driver builds the instruction after a barrier before it stops (Execution.drive), so
      // an invalid distribution there breaks the particle in this barrier's advance
      check(h.instructions[next]!, drawnSoFar, 4)
    }
    const loads = [
      ...Array.from(columns).sort((a, b) => a - b).map((k) => `const V${k} = V[${k}]`),
      ...Array.from(states).sort((a, b) => a - b).map((k) => `const S${k} = S[${k}]`),
      ...(barrier ? [] : output.map((_, j) => `const R${j} = R[${j}]`))
    ].join("\n")
    const source = `${loads}
${hoisted.join("\n")}
let broke = 0
for (let i = 0; i < n; i++) {
if (dead[i] !== 0) continue
${draws ? "streams.use(i)\n" : ""}${body.join("\n")}
}
return broke`
    sources.push(source)
  }
  sitesBefore[barriers + 1] = drawnSoFar
  for (const source of sources) {
    let segment = cache.get(source)
    if (segment === undefined) {
      const factory = new Function(
        "logistic",
        "softplus",
        "halves",
        "clamp",
        "HALF",
        "F",
        "Invalid",
        `"use strict"\nreturn function segment(n, dead, drawn, S, V, c, streams, rng, inc, R) {\n${source}\n}`
      ) as Factory
      segment = factory(Ad.logisticValue, Ad.softplusValue, halves, clamp, HALF_LOG_2PI, FAMILIES, InvalidDistributionError)
      if (cache.size >= CACHE_LIMIT) cache.clear()
      cache.set(source, segment)
    }
    segments.push(segment)
  }
  return { addresses: h.addresses, barriers: h.barriers, segments, sitesBefore, constants, inShape, outShape }
}
