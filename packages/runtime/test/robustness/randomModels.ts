// Random models for the robustness suites (runtime and inference): a fast-check arbitrary of
// model descriptions and the interpreter that turns a description into a model.
//
// A description is a list of steps: `sample` at an address from any family of @fugue/core with
// random valid parameters (or parameters computed from earlier draws, which may make them
// invalid), `observe` of a value drawn from the site's own distribution (valid) or of an
// out-of-support / ill-typed value, `factor` of a number (rarely NaN, +∞ or a non-number),
// `scope` and `plate` nesting, a `branch` on an earlier value, occasional reused addresses, and
// rare deliberate faults (a yielded non-instruction, an exception thrown by the model). The
// model is deterministic given its choices (observed values are drawn from fixed per-step
// seeds), so the replay and score identities must hold for every completed execution.
//
// `moderate` descriptions keep parameters in ordinary ranges (0.1 … 100 for scales and
// shapes); `extreme` ones also use 5e-324 … 1.8e308 (still valid), to reach the families'
// numerics through the runtime.
import type { Distribution } from "@fugue/core/Distribution"
import * as D from "@fugue/core/distributions/index"
import { factor, type Instruction, type Model, observe, plate, type Program, sample, scope } from "@fugue/core/Model"
import * as Rng from "@fugue/core/Rng"
import { describe } from "@fugue/core/Value"
import fc from "fast-check"
import { ModelCodeError } from "../../src/Execution.ts"
import { isModelError } from "../../src/Interpreter.ts"

// ---------------------------------------------------------------------------------------------
// Descriptions

/** What a scalar parameter must be for its family. */
export type Domain = "real" | "pos" | "prob" | "probPos" | "count" | "int"

/** A scalar parameter: a constant, or (when `back` is set and a value was drawn) an earlier draw. */
export interface Scalar {
  readonly value: number
  /** Which earlier draw (counted back from the latest, modulo how many there are). */
  readonly back?: number | undefined
  /** Use the earlier draw as it is (may be invalid for the domain) instead of mapping it in. */
  readonly raw?: boolean | undefined
}

export interface DistDesc {
  readonly family: FamilyName
  readonly scalars: ReadonlyArray<Scalar>
  readonly vector: ReadonlyArray<number>
  readonly matrix: ReadonlyArray<ReadonlyArray<number>>
}

/** An address: fresh (unique, from the step's position) or a name from a small shared pool. */
export type AddressDesc = { readonly kind: "fresh" } | { readonly kind: "named"; readonly name: string }

export type ObservedDesc =
  | { readonly kind: "draw"; readonly seed: number }
  | { readonly kind: "fixed"; readonly value: unknown }

export type FactorDesc = { readonly kind: "const"; readonly value: unknown } | { readonly kind: "ref"; readonly back: number }

export type Step =
  | { readonly kind: "sample"; readonly id: number; readonly address: AddressDesc; readonly dist: DistDesc }
  | { readonly kind: "observe"; readonly id: number; readonly address: AddressDesc; readonly dist: DistDesc; readonly observed: ObservedDesc }
  | { readonly kind: "factor"; readonly weight: FactorDesc }
  | { readonly kind: "scope"; readonly id: number; readonly prefix: AddressDesc; readonly body: ReadonlyArray<Step> }
  | { readonly kind: "plate"; readonly id: number; readonly n: number; readonly body: ReadonlyArray<Step> }
  | { readonly kind: "branch"; readonly back: number; readonly threshold: number; readonly then: ReadonlyArray<Step>; readonly otherwise: ReadonlyArray<Step> }
  | { readonly kind: "junk"; readonly value: unknown }
  | { readonly kind: "throw" }

export interface ModelDesc {
  readonly extremes: boolean
  readonly steps: ReadonlyArray<Step>
}

// ---------------------------------------------------------------------------------------------
// Families

type Build = (s: ReadonlyArray<number>, v: ReadonlyArray<number>, m: ReadonlyArray<ReadonlyArray<number>>) => Distribution<unknown>
type VectorKind = "none" | "probs" | "alpha" | "mvn"
interface Family {
  readonly name: string
  readonly domains: ReadonlyArray<Domain>
  readonly vector: VectorKind
  readonly build: Build
}

const FAMILIES = [
  { name: "Normal", domains: ["real", "pos"], vector: "none", build: (s) => D.Normal(s[0], s[1]) },
  { name: "LogNormal", domains: ["real", "pos"], vector: "none", build: (s) => D.LogNormal(s[0], s[1]) },
  { name: "Uniform", domains: ["real", "pos"], vector: "none", build: (s) => D.Uniform(s[0], s[0] + s[1]) },
  { name: "Exponential", domains: ["pos"], vector: "none", build: (s) => D.Exponential(s[0]) },
  { name: "Gamma", domains: ["pos", "pos"], vector: "none", build: (s) => D.Gamma(s[0], s[1]) },
  { name: "Beta", domains: ["pos", "pos"], vector: "none", build: (s) => D.Beta(s[0], s[1]) },
  { name: "Bernoulli", domains: ["prob"], vector: "none", build: (s) => D.Bernoulli(s[0]) },
  { name: "Binomial", domains: ["count", "prob"], vector: "none", build: (s) => D.Binomial(s[0], s[1]) },
  { name: "Categorical", domains: [], vector: "probs", build: (_, v) => D.Categorical(v) },
  { name: "Poisson", domains: ["pos"], vector: "none", build: (s) => D.Poisson(s[0]) },
  { name: "Cauchy", domains: ["real", "pos"], vector: "none", build: (s) => D.Cauchy(s[0], s[1]) },
  { name: "HalfCauchy", domains: ["pos"], vector: "none", build: (s) => D.HalfCauchy(s[0]) },
  { name: "HalfNormal", domains: ["pos"], vector: "none", build: (s) => D.HalfNormal(s[0]) },
  { name: "StudentT", domains: ["pos", "real", "pos"], vector: "none", build: (s) => D.StudentT(s[0], s[1], s[2]) },
  { name: "Laplace", domains: ["real", "pos"], vector: "none", build: (s) => D.Laplace(s[0], s[1]) },
  { name: "Weibull", domains: ["pos", "pos"], vector: "none", build: (s) => D.Weibull(s[0], s[1]) },
  { name: "ChiSquared", domains: ["pos"], vector: "none", build: (s) => D.ChiSquared(s[0]) },
  { name: "InverseGamma", domains: ["pos", "pos"], vector: "none", build: (s) => D.InverseGamma(s[0], s[1]) },
  { name: "DiscreteUniform", domains: ["int", "count"], vector: "none", build: (s) => D.DiscreteUniform(s[0], s[0] + s[1]) },
  { name: "Geometric", domains: ["probPos"], vector: "none", build: (s) => D.Geometric(s[0]) },
  { name: "NegativeBinomial", domains: ["pos", "probPos"], vector: "none", build: (s) => D.NegativeBinomial(s[0], s[1]) },
  { name: "Dirichlet", domains: [], vector: "alpha", build: (_, v) => D.Dirichlet(v) },
  { name: "Multinomial", domains: ["count"], vector: "probs", build: (s, v) => D.Multinomial(s[0], v) },
  { name: "MultivariateNormal", domains: [], vector: "mvn", build: (_, v, m) => D.MultivariateNormal(v, m) }
] as const satisfies ReadonlyArray<Family>

export type FamilyName = (typeof FAMILIES)[number]["name"]

/** The names of every family the arbitraries draw from. */
export const familyNames: ReadonlyArray<FamilyName> = FAMILIES.map((f) => f.name)

const familyOf = new Map<string, Family>(FAMILIES.map((f) => [f.name, f]))

// ---------------------------------------------------------------------------------------------
// Parameter arbitraries

const logUniform = (lo: number, hi: number) => fc.double({ min: Math.log(lo), max: Math.log(hi), noNaN: true }).map(Math.exp)

const MODERATE: Record<Domain, fc.Arbitrary<number>> = {
  real: fc.double({ min: -50, max: 50, noNaN: true }),
  pos: logUniform(0.1, 100),
  prob: fc.oneof({ weight: 8, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(0, 1) }),
  probPos: fc.double({ min: 0.01, max: 1, noNaN: true }),
  count: fc.integer({ min: 0, max: 30 }),
  int: fc.integer({ min: -20, max: 20 })
}

const EXTREME: Record<Domain, fc.Arbitrary<number>> = {
  real: fc.constantFrom(1e300, -1e300, 1e-300, -1e-300, 0, -0, Number.MAX_VALUE, -Number.MAX_VALUE, 5e-324, 1e15),
  pos: fc.constantFrom(5e-324, 1e-310, 1e-300, 1e-100, 1e-10, 1e-3, 1e10, 1e100, 1e300, Number.MAX_VALUE),
  prob: fc.constantFrom(5e-324, 1e-300, 1e-16, 1 - 1e-16, 1 - 2 ** -53),
  probPos: fc.constantFrom(5e-324, 1e-300, 1e-16, 1e-6, 1 - 2 ** -53),
  count: fc.constantFrom(2 ** 53 - 1, 1e15, 1e6, 1000),
  int: fc.constantFrom(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 40, -1e15, 1e15)
}

const domainArb = (d: Domain, extremes: boolean): fc.Arbitrary<number> =>
  extremes ? fc.oneof({ weight: 2, arbitrary: MODERATE[d] }, { weight: 1, arbitrary: EXTREME[d] }) : MODERATE[d]

const scalarArb = (d: Domain, extremes: boolean): fc.Arbitrary<Scalar> =>
  fc.oneof(
    { weight: 4, arbitrary: domainArb(d, extremes).map((value): Scalar => ({ value })) },
    {
      weight: 1,
      arbitrary: fc.record({ value: domainArb(d, extremes), back: fc.nat({ max: 4 }), raw: fc.boolean() })
    }
  )

const probsArb = (extremes: boolean): fc.Arbitrary<Array<number>> => {
  const entry = fc.double({ min: 0, max: 10, noNaN: true })
  const e = extremes ? fc.oneof({ weight: 2, arbitrary: entry }, { weight: 1, arbitrary: fc.constantFrom(0, 5e-324, 1e-300, 1e300, Number.MAX_VALUE) }) : entry
  return fc.array(e, { minLength: 1, maxLength: 5 })
}

const alphaArb = (extremes: boolean): fc.Arbitrary<Array<number>> =>
  fc.array(domainArb("pos", extremes), { minLength: 2, maxLength: 4 })

// Covariance L Lᵀ + 0.1 I (positive definite), times a scale (1, or an extreme one).
const mvnArb = (extremes: boolean): fc.Arbitrary<{ vector: Array<number>; matrix: Array<Array<number>> }> =>
  fc.integer({ min: 1, max: 3 }).chain((d) =>
    fc.record({
      vector: fc.array(domainArb("real", extremes), { minLength: d, maxLength: d }),
      l: fc.array(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: d, maxLength: d }), { minLength: d, maxLength: d }),
      s: extremes ? fc.constantFrom(1, 1, 1e-300, 1e-150, 1e150, 1e300) : fc.constant(1)
    }).map(({ vector, l, s }) => {
      const matrix = Array.from({ length: d }, (_, i) =>
        Array.from({ length: d }, (_, j) => {
          let c = i === j ? 0.1 : 0
          for (let k = 0; k < d; k++) c += l[i][k] * l[j][k]
          return c * s
        }))
      return { vector, matrix }
    })
  )

const distArb = (extremes: boolean): fc.Arbitrary<DistDesc> =>
  fc.oneof(
    ...FAMILIES.map((f: Family) => {
      const scalars = fc.tuple(...f.domains.map((d) => scalarArb(d, extremes)))
      const vm = f.vector === "probs"
        ? probsArb(extremes).map((vector) => ({ vector, matrix: [] as Array<Array<number>> }))
        : f.vector === "alpha"
        ? alphaArb(extremes).map((vector) => ({ vector, matrix: [] as Array<Array<number>> }))
        : f.vector === "mvn"
        ? mvnArb(extremes)
        : fc.constant({ vector: [] as Array<number>, matrix: [] as Array<Array<number>> })
      return fc.tuple(scalars, vm).map(([s, { vector, matrix }]): DistDesc => ({
        family: f.name as FamilyName,
        scalars: s,
        vector,
        matrix
      }))
    })
  )

// ---------------------------------------------------------------------------------------------
// Values outside the happy path

class Opaque {
  readonly tag = "opaque"
}

/**
 * Values of the wrong type or outside the support for some family: what a user might pass as
 * data (strings, undefined, NaN, 0/1 for a Bernoulli, plain arrays or ragged vectors for a
 * Dirichlet, non-integers for counts, exotic objects).
 */
export const oddValues: ReadonlyArray<unknown> = [
  "1",
  "",
  undefined,
  null,
  Number.NaN,
  Infinity,
  -Infinity,
  -1,
  0,
  -0,
  1,
  0.5,
  2.5,
  7,
  1e308,
  -1e308,
  5e-324,
  true,
  false,
  {},
  [0.5, 0.5],
  new Float64Array(0),
  new Float64Array([0.5, 0.5]),
  new Float64Array([0.2, 0.3, 0.5]),
  new Float64Array([Number.NaN, 1]),
  new Float64Array([1, 2, 3]),
  new Float64Array([-1, 2]),
  new Float64Array([Infinity, 0]),
  10n,
  Symbol("odd"),
  Object.create(null),
  new Opaque(),
  () => 1
]

const oddValueArb: fc.Arbitrary<unknown> = fc.constantFrom(...oddValues)

/** A value: usually an ordinary one of some type, sometimes an odd one. */
export const anyValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: oddValueArb },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 10 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.float64Array({ minLength: 1, maxLength: 4 }) }
)

/** Names shared between steps, scopes and plates, so addresses sometimes collide. */
const NAMES = ["d", "s0", "s1", "s2", "y1", "c0/s1", "p0#0/s1", "c1", "", "a/b", "d#0"]

const addressArb: fc.Arbitrary<AddressDesc> = fc.oneof(
  { weight: 18, arbitrary: fc.constant<AddressDesc>({ kind: "fresh" }) },
  {
    weight: 2,
    arbitrary: fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 2 })).map((name): AddressDesc => ({ kind: "named", name }))
  }
)

const factorArb: fc.Arbitrary<FactorDesc> = fc.oneof(
  { weight: 12, arbitrary: fc.double({ min: -10, max: 10, noNaN: true }).map((value): FactorDesc => ({ kind: "const", value })) },
  { weight: 2, arbitrary: fc.constant<FactorDesc>({ kind: "const", value: -Infinity }) },
  { weight: 3, arbitrary: fc.nat({ max: 4 }).map((back): FactorDesc => ({ kind: "ref", back })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(Number.NaN, Infinity).map((value): FactorDesc => ({ kind: "const", value })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("1", undefined, null, true, 1n).map((value): FactorDesc => ({ kind: "const", value })) }
)

const observedArb: fc.Arbitrary<ObservedDesc> = fc.oneof(
  { weight: 8, arbitrary: fc.nat().map((seed): ObservedDesc => ({ kind: "draw", seed })) },
  { weight: 2, arbitrary: anyValueArb.map((value): ObservedDesc => ({ kind: "fixed", value })) }
)

const junkArb: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(1, undefined, null, "sample", {}, { _tag: "Nope" }, [], true)

// ---------------------------------------------------------------------------------------------
// The arbitrary

/** Options of `modelArb`. */
export interface ModelArbOptions {
  /** Also draw extreme (still valid) parameters. */
  readonly extremes?: boolean
  /** Include the deliberate faults (a yielded non-instruction, a thrown exception). Default true. */
  readonly faults?: boolean
  /** The fewest top-level steps (default 1). */
  readonly minSteps?: number
  /** The most top-level steps (default 10). */
  readonly maxSteps?: number
  /** Only sample / observe / factor steps, no nesting (with many steps: wide traces). Default false. */
  readonly flat?: boolean
}

// Ids are placeholders (0) while generating; `numberSteps` gives each step its position.
const ZERO = fc.constant(0)

const numberSteps = (steps: ReadonlyArray<Step>, next: { id: number }): Array<Step> =>
  steps.map((s): Step => {
    switch (s.kind) {
      case "sample":
      case "observe":
        return { ...s, id: next.id++ }
      case "scope":
      case "plate":
        return { ...s, id: next.id++, body: numberSteps(s.body, next) }
      case "branch":
        return { ...s, then: numberSteps(s.then, next), otherwise: numberSteps(s.otherwise, next) }
      default:
        return s
    }
  })

/**
 * Random model descriptions. Interpret one with `toModel`; `render` prints it as model code
 * (fast-check prints counterexamples that way).
 */
export const modelArb = (options: ModelArbOptions = {}): fc.Arbitrary<ModelDesc> => {
  const extremes = options.extremes ?? false
  const faults = options.faults ?? true
  const dist = distArb(extremes)
  if (options.flat === true) {
    const flatStep: fc.Arbitrary<Step> = fc.oneof(
      { weight: 40, arbitrary: fc.record({ kind: fc.constant("sample" as const), id: ZERO, address: addressArb, dist }) },
      { weight: 20, arbitrary: fc.record({ kind: fc.constant("observe" as const), id: ZERO, address: addressArb, dist, observed: observedArb }) },
      { weight: 12, arbitrary: fc.record({ kind: fc.constant("factor" as const), weight: factorArb }) }
    )
    return fc.array(flatStep, { minLength: options.minSteps ?? 1, maxLength: options.maxSteps ?? 10 }).map((raw) => described(extremes, raw))
  }
  const { step } = fc.letrec<{ steps: Array<Step>; step: Step }>((tie) => ({
    steps: fc.array(tie("step"), { maxLength: 4 }),
    step: fc.oneof(
      { depthSize: "small", maxDepth: 3 },
      { weight: 40, arbitrary: fc.record({ kind: fc.constant("sample" as const), id: ZERO, address: addressArb, dist }) },
      { weight: 20, arbitrary: fc.record({ kind: fc.constant("observe" as const), id: ZERO, address: addressArb, dist, observed: observedArb }) },
      { weight: 12, arbitrary: fc.record({ kind: fc.constant("factor" as const), weight: factorArb }) },
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("scope" as const), id: ZERO, prefix: addressArb, body: tie("steps") }) },
      {
        weight: 5,
        arbitrary: fc.record({ kind: fc.constant("plate" as const), id: ZERO, n: fc.integer({ min: 0, max: 3 }), body: tie("steps") })
      },
      {
        weight: 5,
        arbitrary: fc.record({
          kind: fc.constant("branch" as const),
          back: fc.nat({ max: 4 }),
          threshold: fc.double({ min: -2, max: 2, noNaN: true }),
          then: tie("steps"),
          otherwise: tie("steps")
        })
      },
      { weight: faults ? 1 : 0, arbitrary: fc.record({ kind: fc.constant("junk" as const), value: junkArb }) },
      { weight: faults ? 1 : 0, arbitrary: fc.constant({ kind: "throw" as const }) }
    )
  }))
  return fc.array(step, { minLength: options.minSteps ?? 1, maxLength: options.maxSteps ?? 10 }).map((raw) => described(extremes, raw))
}

const described = (extremes: boolean, raw: ReadonlyArray<Step>): ModelDesc => {
  const desc: ModelDesc = { extremes, steps: numberSteps(raw, { id: 0 }) }
  Object.defineProperty(desc, fc.toStringMethod, { value: () => render(desc), enumerable: false })
  return desc
}

/**
 * Wide flat models: `n` sample sites (1 … 70, often at the trace's B-tree node-size boundaries
 * 31, 32, 33, 63, 64, 65) named `w00`, `w01`, … in ascending, descending or shuffled order of
 * execution (the three paths of `Trace.record`'s duplicate check and of its sort), with a few
 * observations and factors in between.
 */
export const wideModelArb = (options: Pick<ModelArbOptions, "extremes"> = {}): fc.Arbitrary<ModelDesc> => {
  const extremes = options.extremes ?? false
  const dist = distArb(extremes)
  const other: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant("observe" as const), id: ZERO, address: addressArb, dist, observed: observedArb }),
    fc.record({ kind: fc.constant("factor" as const), weight: factorArb })
  )
  const n = fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 1, max: 70 }) }, { weight: 3, arbitrary: fc.constantFrom(31, 32, 33, 63, 64, 65) })
  const order = fc.constantFrom("ascending" as const, "descending" as const, "shuffled" as const)
  return fc.tuple(n.chain((k) => fc.tuple(fc.array(dist, { minLength: k, maxLength: k }), fc.array(fc.double({ noNaN: true }), { minLength: k, maxLength: k }))), order, fc.array(fc.tuple(fc.nat(), other), { maxLength: 4 }))
    .map(([[dists, keys], order, others]) => {
      const k = dists.length
      const rank = Array.from({ length: k }, (_, i) => i)
      if (order === "descending") rank.reverse()
      else if (order === "shuffled") rank.sort((a, b) => keys[a] - keys[b] || a - b)
      const steps: Array<Step> = dists.map((d, i) => ({
        kind: "sample",
        id: 0,
        address: { kind: "named", name: `w${String(rank[i]).padStart(2, "0")}` },
        dist: d
      }))
      for (const [at, step] of others) steps.splice(at % (steps.length + 1), 0, step)
      return described(extremes, steps)
    })
}

const retype = (steps: ReadonlyArray<Step>, replacements: ReadonlyArray<DistDesc | undefined>, next: { i: number }): Array<Step> =>
  steps.map((s): Step => {
    switch (s.kind) {
      case "sample": {
        const r = replacements.length === 0 ? undefined : replacements[next.i++ % replacements.length]
        return r === undefined ? s : { ...s, dist: r }
      }
      case "scope":
      case "plate":
        return { ...s, body: retype(s.body, replacements, next) }
      case "branch":
        return { ...s, then: retype(s.then, replacements, next), otherwise: retype(s.otherwise, replacements, next) }
      default:
        return s
    }
  })

/**
 * Pairs of models over mostly the same addresses: the second is the first with some sample
 * sites given another random family (so its values often have another type), or an unrelated
 * model.
 */
export const modelPairArb = (options: ModelArbOptions = {}): fc.Arbitrary<readonly [ModelDesc, ModelDesc]> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(modelArb(options), fc.array(fc.option(distArb(options.extremes ?? false), { nil: undefined }), { maxLength: 8 }))
      .map(([a, replacements]) => [a, described(a.extremes, retype(a.steps, replacements, { i: 0 }))] as const) },
    { weight: 1, arbitrary: fc.tuple(modelArb(options), modelArb(options)) }
  )

// ---------------------------------------------------------------------------------------------
// Interpretation

/** The exception a `throw` step raises (no `_tag`: the driver wraps it in `ModelCodeError`). */
export class ModelBoom extends Error {
  constructor() {
    super("boom (thrown on purpose by the random model)")
  }
}

/** What a random model returns: its draws, and whether it factored NaN or +∞ itself. */
export interface Outcome {
  readonly values: ReadonlyArray<unknown>
  /** The model called `factor` with NaN or +∞, so a NaN `logFactors` is the model's own doing. */
  readonly badFactor: boolean
}

interface State {
  readonly env: Array<unknown>
  badFactor: boolean
}

const toNumber = (v: unknown): number =>
  typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : v instanceof Float64Array ? (v.length > 0 ? v[0] : 0) : Number.NaN

const earlier = (env: ReadonlyArray<unknown>, back: number): number | undefined =>
  env.length === 0 ? undefined : toNumber(env[env.length - 1 - (back % env.length)])

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v))
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-clamp(v, -30, 30)))

/** Maps an earlier draw into a parameter's domain (NaN stays NaN). */
const intoDomain = (d: Domain, v: number): number => {
  switch (d) {
    case "real":
      return clamp(v, -50, 50)
    case "pos":
      return clamp(Math.abs(v) + 0.1, 0.1, 100)
    case "prob":
    case "probPos":
      return sigmoid(v)
    case "count":
      return Math.min(30, Math.floor(Math.abs(v)))
    case "int":
      return clamp(Math.round(v), -20, 20)
  }
}

const resolve = (s: Scalar, d: Domain, env: ReadonlyArray<unknown>, extremes: boolean): number => {
  if (s.back === undefined) return s.value
  const v = earlier(env, s.back)
  if (v === undefined) return s.value
  if (s.raw === true) return extremes ? v : clamp(v, -100, 100)
  return intoDomain(d, v)
}

/** The distribution a description denotes, given the draws so far (may throw InvalidDistributionError). */
export const buildDist = (desc: DistDesc, env: ReadonlyArray<unknown>, extremes: boolean): Distribution<unknown> => {
  const f = familyOf.get(desc.family)!
  const s = desc.scalars.map((x, i) => resolve(x, f.domains[i], env, extremes))
  return f.build(s, desc.vector, desc.matrix)
}

const addressOf = (a: AddressDesc, fresh: string): string => (a.kind === "fresh" ? fresh : a.name)

function* runSteps(steps: ReadonlyArray<Step>, state: State, extremes: boolean): Program<void> {
  for (const step of steps) {
    switch (step.kind) {
      case "sample": {
        const dist = buildDist(step.dist, state.env, extremes)
        state.env.push(yield* sample(addressOf(step.address, `s${step.id}`), dist))
        break
      }
      case "observe": {
        const dist = buildDist(step.dist, state.env, extremes)
        const value = step.observed.kind === "draw" ? dist.sample(Rng.make(step.observed.seed)) : step.observed.value
        yield* observe(addressOf(step.address, `y${step.id}`), dist, value)
        break
      }
      case "factor": {
        let w: unknown
        if (step.weight.kind === "const") w = step.weight.value
        else {
          const v = earlier(state.env, step.weight.back)
          w = v === undefined ? 0 : -Math.abs(v)
        }
        if (typeof w === "number" && !(w < Infinity)) state.badFactor = true
        yield* factor(w as number)
        break
      }
      case "scope":
        yield* scope(addressOf(step.prefix, `c${step.id}`), () => runSteps(step.body, state, extremes))()
        break
      case "plate":
        yield* plate(`p${step.id}`, step.n, () => () => runSteps(step.body, state, extremes))()
        break
      case "branch": {
        const v = earlier(state.env, step.back)
        yield* runSteps(v !== undefined && v > step.threshold ? step.then : step.otherwise, state, extremes)
        break
      }
      case "junk":
        yield step.value as Instruction
        break
      case "throw":
        throw new ModelBoom()
    }
  }
}

/** The model a description denotes; it returns its draws (and whether it factored NaN / +∞). */
export const toModel = (desc: ModelDesc): Model<Outcome> =>
  function*() {
    const state: State = { env: [], badFactor: false }
    yield* runSteps(desc.steps, state, desc.extremes)
    return { values: state.env, badFactor: state.badFactor }
  }

// ---------------------------------------------------------------------------------------------
// Printing

const num = (x: number): string => (Object.is(x, -0) ? "-0" : String(x))

const renderScalar = (s: Scalar): string =>
  s.back === undefined ? num(s.value) : `${s.raw === true ? "raw" : "map"}(back ${s.back}, else ${num(s.value)})`

const renderDist = (d: DistDesc): string => {
  const parts = d.scalars.map(renderScalar)
  if (d.vector.length > 0 || d.family === "Categorical" || d.family === "Dirichlet") parts.push(`[${d.vector.map(num).join(", ")}]`)
  if (d.matrix.length > 0) parts.push(`[${d.matrix.map((r) => `[${r.map(num).join(", ")}]`).join(", ")}]`)
  return `${d.family}(${parts.join(", ")})`
}

const renderAddress = (a: AddressDesc, fresh: string): string => JSON.stringify(addressOf(a, fresh))

const renderSteps = (steps: ReadonlyArray<Step>, indent: string): Array<string> =>
  steps.flatMap((s): Array<string> => {
    switch (s.kind) {
      case "sample":
        return [`${indent}sample(${renderAddress(s.address, `s${s.id}`)}, ${renderDist(s.dist)})`]
      case "observe":
        return [
          `${indent}observe(${renderAddress(s.address, `y${s.id}`)}, ${renderDist(s.dist)}, ${
            s.observed.kind === "draw" ? `<draw seed ${s.observed.seed}>` : describe(s.observed.value)
          })`
        ]
      case "factor":
        return [`${indent}factor(${s.weight.kind === "const" ? describe(s.weight.value) : `-|back ${s.weight.back}|`})`]
      case "scope":
        return [`${indent}scope(${renderAddress(s.prefix, `c${s.id}`)}) {`, ...renderSteps(s.body, indent + "  "), `${indent}}`]
      case "plate":
        return [`${indent}plate("p${s.id}", ${s.n}) {`, ...renderSteps(s.body, indent + "  "), `${indent}}`]
      case "branch":
        return [
          `${indent}if (back ${s.back} > ${num(s.threshold)}) {`,
          ...renderSteps(s.then, indent + "  "),
          `${indent}} else {`,
          ...renderSteps(s.otherwise, indent + "  "),
          `${indent}}`
        ]
      case "junk":
        return [`${indent}yield ${describe(s.value)}`]
      case "throw":
        return [`${indent}throw new ModelBoom()`]
    }
  })

/** A description as model code (for counterexamples). */
export const render = (desc: ModelDesc): string =>
  `model${desc.extremes ? " (extremes)" : ""} {\n${renderSteps(desc.steps, "  ").join("\n")}\n}`

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * Whether `error` is one of the documented typed model errors, as a random model may raise
 * them: any of `isModelError`'s classes, except a `ModelCodeError` whose cause is not the
 * model's own deliberate `ModelBoom` (that is a library exception, e.g. a TypeError inside a
 * distribution, dressed up as a user error).
 */
export const isDocumentedModelError = (error: unknown): boolean =>
  isModelError(error) && !(error instanceof ModelCodeError && !(error.cause instanceof ModelBoom))

/** A one-line account of a thrown value, for assertion messages. */
export const explain = (error: unknown): string => {
  if (!(error instanceof Error)) return `non-error ${describe(error)}`
  const tag = (error as { _tag?: unknown })._tag
  let message: string
  try {
    message = error.message
  } catch (e) {
    message = `<message getter threw ${describe(e)}>`
  }
  const cause = error instanceof ModelCodeError ? ` cause: ${explain(error.cause)}` : ""
  const stack = error instanceof ModelCodeError ? "" : `\n${(error.stack ?? "").split("\n").slice(1, 5).join("\n")}`
  return `${error.constructor?.name ?? "Error"}${typeof tag === "string" ? ` [${tag}]` : ""}: ${message}${cause}${stack}`
}
