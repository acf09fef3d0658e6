// Random models and random options under every algorithm (issue 11). A random model (from the
// runtime suite's arbitrary) run by MH, IS or SMC either gives a posterior without NaN (weights
// summing to 1 for IS and SMC) or throws one of the documented typed errors: the model errors,
// ZeroWeightError, InvalidOptionsError. A random options object (real keys, typos, unknown
// keys, NaN, negatives, strings, wrong types) is rejected with InvalidOptionsError before the
// model is ever started, or the run succeeds; nothing else.
import { Bernoulli, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe as show } from "@fugue/core/Value"
import { describe, expect, it } from "@effect/vitest"
import { InstructionLimitError } from "@fugue/runtime/Execution"
import { Trace } from "@fugue/runtime/Trace"
import fc from "fast-check"
import * as Is from "../../src/Is.ts"
import * as Mh from "../../src/Mh.ts"
import { InvalidOptionsError, ZeroWeightError } from "../../src/Options.ts"
import type { Posterior } from "../../src/Posterior.ts"
import * as Resampling from "../../src/Resampling.ts"
import * as Smc from "../../src/Smc.ts"
import { explain, isDocumentedModelError, modelArb, type Outcome as ModelOutcome, toModel, type ModelDesc, wideModelArb } from "./randomModels.ts"

// FC_RUNS raises the number of random cases per property (e.g. FC_RUNS=5000 for a soak run).
// A fixed seed keeps CI deterministic; FC_SEED explores others (a failure prints its seed and path).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })
const RUNS = Number(process.env.FC_RUNS ?? 150)
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const models = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(modelArb({ maxSteps: 8 }), modelArb({ extremes: true, maxSteps: 8 })) },
  { weight: 1, arbitrary: wideModelArb() }
)

type Outcome = { readonly ok: true; readonly posterior: Posterior<unknown, unknown> } | { readonly ok: false; readonly error: unknown }

const attempt = (thunk: () => Posterior<unknown, unknown>): Outcome => {
  try {
    return { ok: true, posterior: thunk() }
  } catch (error) {
    return { ok: false, error }
  }
}

const isDocumentedInferenceError = (error: unknown): boolean => error instanceof ZeroWeightError || isDocumentedModelError(error)

const hasNaN = (xs: ArrayLike<number>): boolean => {
  for (let i = 0; i < xs.length; i++) if (Number.isNaN(xs[i])) return true
  return false
}

/** No NaN log weight; with importance weights: none NaN or negative, summing to 1 per chain; a finite log evidence. */
const expectSanePosterior = (post: Posterior<unknown, unknown>, draws: number, weighted: boolean, what: string): void => {
  for (const [c, lw] of post.logWeights.entries()) {
    expect(lw.length, `${what}: draws in chain ${c}`).toBe(draws)
    if (hasNaN(lw)) throw new Error(`${what}: NaN log weight in chain ${c}: ${show(lw)}`)
  }
  if (!weighted) return
  if (post.weights === undefined) throw new Error(`${what}: no importance weights`)
  for (const [c, w] of post.weights.entries()) {
    let sum = 0
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0)) throw new Error(`${what}: weight ${i} of chain ${c} is ${w[i]}`)
      sum += w[i]
    }
    if (!(Math.abs(sum - 1) < 1e-9)) throw new Error(`${what}: weights of chain ${c} sum to ${sum}`)
  }
  for (const z of post.logEvidence ?? []) if (Number.isNaN(z) || z === Infinity) throw new Error(`${what}: log evidence ${z}`)
}

/**
 * Each draw holds one value per latent site its execution sampled: the random model returns
 * its draws, so a draw whose model returned k values must have k sites present (a vector site
 * `a` is the columns `a[0]`, `a[1]`, …). Draws without a return value (IS particles rejected
 * for an invalid distribution) are skipped.
 */
const expectSitesRecorded = (post: Posterior<unknown, unknown>, what: string): void => {
  for (let c = 0; c < post.returns.length; c++) {
    for (let i = 0; i < post.returns[c].length; i++) {
      const r = post.returns[c][i] as ModelOutcome | undefined
      if (r === undefined) continue
      const present = new Set<string>()
      for (const [site, chains] of post.draws) if (!Number.isNaN(chains[c][i])) present.add(site.replace(/\[\d+\]$/, ""))
      if (present.size !== r.values.length) {
        throw new Error(`${what}: draw ${i} of chain ${c} sampled ${r.values.length} sites but the posterior holds ${present.size} (sites: ${show(post.sites)})`)
      }
    }
  }
}

const checkAlgorithm = (name: string, runAlgorithm: (model: Model<unknown>, seed: number) => Posterior<unknown, unknown>, draws: number, weighted: boolean) =>
  fc.property(models, seedArb, (desc: ModelDesc, seed: number) => {
    const r = attempt(() => runAlgorithm(toModel(desc) as Model<unknown>, seed))
    if (!r.ok) {
      if (!isDocumentedInferenceError(r.error)) throw new Error(`${name} threw an undocumented error: ${explain(r.error)}`)
      return
    }
    expectSanePosterior(r.posterior, draws, weighted, name)
    expectSitesRecorded(r.posterior, name)
  })

// ---------------------------------------------------------------------------------------------
// Random options

/** A small fixed model; `starts` counts how often any algorithm started it. */
const counted = () => {
  const counter = { starts: 0 }
  const model: Model<number> = function*() {
    counter.starts++
    const x = yield* sample("x", Normal(0, 1))
    yield* sample("b", Bernoulli(0.3))
    yield* observe("y", Normal(x, 1), 0.5)
    return x
  }
  return { model, counter }
}

const MH_KEYS = ["samples", "warmup", "chains", "thin", "initial", "adaptation", "concurrency", "seed", "transform", "maxInstructions"]
const IS_KEYS = ["particles", "proposal", "seed", "transform", "maxInstructions"]
const SMC_KEYS = ["particles", "threshold", "resampling", "rejuvenation", "seed", "transform", "maxInstructions"]
const TYPOS = ["warmUp", "sample", "Samples", "sampels", "particle", "Particles", "seeds", "thinning", "chain", "rejuvenate", "threshhold", "resample", "max_instructions", "maxinstructions", "initalize", "adapt"]
const ODD_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "", " samples"]

const identityTransform = <H>(h: H): H => h
const proposalModel: Model<number> = function*() {
  return yield* sample("x", Normal(0, 2))
}

/** Option values: valid ones (kept small, so runs stay short) and invalid ones of every kind. */
const optionValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 1, 0.5, 1, "systematic", "multinomial", "residual", "stratified", true, false) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      -1, -0.5, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 1e300, -0, "10", "", "bogus", null, undefined, {}, [], [10], Symbol("opt"), 10n,
      Object.create(null)
    )
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(identityTransform, proposalModel, new Trace(), 5000, 2 ** 31) }
)

const keyArb = (known: ReadonlyArray<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(...TYPOS) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_KEYS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }
  )

/** An options object: usually the required key with a valid value plus random entries; sometimes not an object at all. */
const optionsArb = (required: string, known: ReadonlyArray<string>, maxRequired: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        required: fc.option(fc.integer({ min: 1, max: maxRequired }), { freq: 4, nil: undefined }),
        entries: fc.array(fc.tuple(keyArb(known), optionValueArb), { maxLength: 4 }),
        nullPrototype: fc.boolean()
      }).map(({ required: r, entries, nullPrototype }) => {
        const all: Array<readonly [string, unknown]> = r === undefined ? entries : [[required, r] as const, ...entries]
        const plain = Object.fromEntries(all)
        return nullPrototype ? Object.assign(Object.create(null), plain) : plain
      })
    },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 5, "samples", [], [[required, 10]], new Map([[required, 10]]), true) }
  )

const isObject = (o: unknown): o is Record<string, unknown> => typeof o === "object" && o !== null && !Array.isArray(o)
const isInt = (v: unknown, min: number): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= min
const optional = (o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): boolean => o[key] === undefined || ok(o[key])

/** Whether `o` is a valid options object by the documented rules (the options interfaces' types and ranges). */
const validCommon = (o: Record<string, unknown>, known: ReadonlyArray<string>): boolean =>
  Object.keys(o).every((k) => known.includes(k)) &&
  optional(o, "seed", (v) => isInt(v, Number.MIN_SAFE_INTEGER)) &&
  // a transformation must return a handler (checked when it is applied, before the model runs):
  // of the candidate functions only the identity does; a generator function returns a generator
  optional(o, "transform", (v) => v === identityTransform) &&
  optional(o, "maxInstructions", (v) => isInt(v, 1))

const validMh = (o: unknown): boolean =>
  isObject(o) && validCommon(o, MH_KEYS) && isInt(o.samples, 1) &&
  optional(o, "warmup", (v) => isInt(v, 0)) && optional(o, "chains", (v) => isInt(v, 1)) && optional(o, "thin", (v) => isInt(v, 1)) &&
  optional(o, "initial", (v) => v instanceof Trace || isInt(v, 1)) && optional(o, "adaptation", (v) => typeof v === "boolean") &&
  optional(o, "concurrency", (v) => v === "unbounded" || isInt(v, 1))

const validIs = (o: unknown): boolean =>
  isObject(o) && validCommon(o, IS_KEYS) && isInt(o.particles, 1) && optional(o, "proposal", (v) => v === proposalModel) // a proposal must be a model (a generator function)

const validSmc = (o: unknown): boolean =>
  isObject(o) && validCommon(o, SMC_KEYS) && isInt(o.particles, 1) &&
  optional(o, "threshold", (v) => typeof v === "number" && v >= 0 && v <= 1) &&
  optional(o, "resampling", (v) => Resampling.schemeNames.includes(v as Resampling.Scheme)) &&
  optional(o, "rejuvenation", (v) => isInt(v, 0))

interface Algorithm {
  readonly name: string
  readonly required: string
  readonly known: ReadonlyArray<string>
  readonly maxRequired: number
  readonly valid: (o: unknown) => boolean
  readonly run: (model: Model<number>, options: unknown) => Posterior<unknown, unknown>
  /** Runs whose size the options leave too large for a test (e.g. 20 chains × 20 × 20 thinned draws) are skipped. */
  readonly tooLarge: (o: Record<string, unknown>) => boolean
}

const num = (v: unknown, fallback: number): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback)

const ALGORITHMS: ReadonlyArray<Algorithm> = [
  {
    name: "MH",
    required: "samples",
    known: MH_KEYS,
    maxRequired: 30,
    valid: validMh,
    run: (m, o) => Mh.runUnsafe(m, o as Mh.Options),
    tooLarge: (o) => num(o.chains, 1) * (num(o.warmup, num(o.samples, 1)) + num(o.samples, 1) * num(o.thin, 1)) > 20_000
  },
  {
    name: "IS",
    required: "particles",
    known: IS_KEYS,
    maxRequired: 200,
    valid: validIs,
    run: (m, o) => Is.runUnsafe(m, o as Is.Options),
    tooLarge: (o) => num(o.particles, 1) > 20_000
  },
  {
    name: "SMC",
    required: "particles",
    known: SMC_KEYS,
    maxRequired: 100,
    valid: validSmc,
    run: (m, o) => Smc.runUnsafe(m, o as Smc.Options),
    tooLarge: (o) => num(o.particles, 1) * (1 + num(o.rejuvenation, 0)) > 20_000
  }
]

/** The options given, for messages. */
const showOptions = (o: unknown): string =>
  isObject(o) ? `{ ${Object.keys(o).map((k) => `${JSON.stringify(k)}: ${show(o[k])}`).join(", ")} }` : show(o)

// ---------------------------------------------------------------------------------------------

describe("random models under every algorithm", () => {
  it("MH on a random model gives draws without NaN log weights that record every sampled site, or throws a documented typed error", () => {
    fc.assert(checkAlgorithm("MH", (m, seed) => Mh.runUnsafe(m, { samples: 50, warmup: 20, seed }), 50, false), { numRuns: RUNS })
  }, 30_000)

  it("IS on a random model gives weights without NaN that sum to 1 and draws that record every sampled site, or throws a documented typed error", () => {
    fc.assert(checkAlgorithm("IS", (m, seed) => Is.runUnsafe(m, { particles: 50, seed }), 50, true), { numRuns: RUNS })
  }, 30_000)

  it("SMC on a random model gives weights without NaN that sum to 1 and draws that record every sampled site, or throws a documented typed error", () => {
    fc.assert(checkAlgorithm("SMC", (m, seed) => Smc.runUnsafe(m, { particles: 30, seed }), 30, true), { numRuns: RUNS })
  }, 30_000)

  it("SMC with MH rejuvenation on a random model gives weights without NaN that sum to 1 and draws that record every sampled site, or throws a documented typed error", () => {
    fc.assert(checkAlgorithm("SMC", (m, seed) => Smc.runUnsafe(m, { particles: 30, rejuvenation: 1, seed }), 30, true), { numRuns: RUNS })
  }, 30_000)
})

describe("random options under every algorithm", () => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm.name}: random options throw InvalidOptionsError before the model is started, or the run succeeds`, () => {
      fc.assert(
        fc.property(optionsArb(algorithm.required, algorithm.known, algorithm.maxRequired), (options) => {
          if (isObject(options) && algorithm.tooLarge(options)) return
          const { model, counter } = counted()
          const r = attempt(() => algorithm.run(model, options))
          if (r.ok) return
          const e = r.error
          if (e instanceof InvalidOptionsError) {
            if (counter.starts !== 0) throw new Error(`InvalidOptionsError after the model was started ${counter.starts} times: ${explain(e)}`)
            return
          }
          // a tiny instruction limit is a valid option that the 3-instruction model cannot meet
          if (e instanceof InstructionLimitError && isObject(options) && num(options.maxInstructions, Infinity) < 3) return
          throw new Error(`options ${showOptions(options)} made ${algorithm.name} throw ${explain(e)}`)
        }),
        { numRuns: 2 * RUNS }
      )
    }, 30_000)

    it(`${algorithm.name}: an options object is rejected exactly when the documented option types and ranges say it is invalid`, () => {
      fc.assert(
        fc.property(optionsArb(algorithm.required, algorithm.known, algorithm.maxRequired), (options) => {
          if (isObject(options) && algorithm.tooLarge(options)) return
          const { model } = counted()
          const r = attempt(() => algorithm.run(model, options))
          const rejected = !r.ok && r.error instanceof InvalidOptionsError
          const valid = algorithm.valid(options)
          if (valid && rejected) throw new Error(`valid options ${showOptions(options)} rejected: ${explain((r as { error: unknown }).error)}`)
          if (!valid && !rejected) {
            throw new Error(`invalid options ${showOptions(options)} ${r.ok ? "accepted" : `gave ${explain(r.error)}`}`)
          }
        }),
        { numRuns: 2 * RUNS }
      )
    }, 30_000)
  }
})

