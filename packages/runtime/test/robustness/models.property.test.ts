// Random models under every handler and every handler combinator (issue 11): a model built from
// random families, parameters and addresses either completes or throws one of the documented
// typed errors (never a TypeError, never a library exception dressed as ModelCodeError), its
// weights are never NaN, and the replay / score identities hold for every completed execution.
// The models come from `randomModels.ts` (shared with the inference suite).
import type { Distribution } from "@fugue/core/Distribution"
import * as Rng from "@fugue/core/Rng"
import { describe as show } from "@fugue/core/Value"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Combinators from "../../src/Combinators.ts"
import { ChoiceTypeError, MissingAddressError, type Trace } from "../../src/Trace.ts"
import { run, type Handler } from "../../src/Handler.ts"
import { PriorHandler } from "../../src/handlers/Prior.ts"
import { ReplayHandler } from "../../src/handlers/Replay.ts"
import { SafeReplayHandler } from "../../src/handlers/SafeReplay.ts"
import { SafeScoreGivenTrace } from "../../src/handlers/SafeScore.ts"
import { ScoreGivenTrace } from "../../src/handlers/Score.ts"
import {
  anyValueArb,
  explain,
  isDocumentedModelError,
  type ModelDesc,
  modelArb,
  modelPairArb,
  type Outcome,
  toModel,
  wideModelArb
} from "./randomModels.ts"

// FC_RUNS raises the number of random models per property (e.g. FC_RUNS=20000 for a soak run).
// A fixed seed keeps CI deterministic; FC_SEED explores others (a failure prints its seed and path).
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })
const RUNS = Number(process.env.FC_RUNS ?? 200)
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const moderate = modelArb()
const extreme = modelArb({ extremes: true })
const either = fc.oneof(moderate, extreme)
// For the identities: nested models, and wide flat ones (traces around the B-tree node size).
const identityArb = fc.oneof({ weight: 1, arbitrary: either }, { weight: 1, arbitrary: fc.oneof(wideModelArb(), wideModelArb({ extremes: true })) })
const pairArb = fc.oneof(modelPairArb(), modelPairArb({ extremes: true }))

type Result<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: unknown }

const attempt = <A>(thunk: () => A): Result<A> => {
  try {
    return { ok: true, value: thunk() }
  } catch (error) {
    return { ok: false, error }
  }
}

/** Fails with an account of `error` unless it is a documented typed model error. */
const expectDocumented = (error: unknown, what: string): void => {
  if (!isDocumentedModelError(error)) throw new Error(`${what} threw an undocumented error: ${explain(error)}`)
}

/** The three weights are numbers and never NaN (logFactors may be NaN only if the model factored NaN / +∞ itself). */
const expectNoNaN = (trace: Trace, outcome: Outcome, what: string): void => {
  const bad = Number.isNaN(trace.logPrior) || Number.isNaN(trace.logLikelihood) || (!outcome.badFactor && Number.isNaN(trace.logFactors))
  if (bad || typeof trace.logPrior !== "number" || typeof trace.logLikelihood !== "number" || typeof trace.logFactors !== "number") {
    throw new Error(`${what}: weights logPrior ${show(trace.logPrior)}, logLikelihood ${show(trace.logLikelihood)}, logFactors ${show(trace.logFactors)}`)
  }
}

const sameValue = (a: unknown, b: unknown): boolean => {
  if (a instanceof Float64Array && b instanceof Float64Array) {
    if (a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false
    return true
  }
  return Object.is(a, b)
}

/** Same weights (Object.is) and the same choices: addresses, values and log probabilities. */
const expectSameTrace = (actual: Trace, expected: Trace, what: string): void => {
  for (const w of ["logPrior", "logLikelihood", "logFactors"] as const) {
    if (!Object.is(actual[w], expected[w])) throw new Error(`${what}: ${w} ${show(actual[w])}, expected ${show(expected[w])}`)
  }
  const ka = actual.choices.keysArray()
  const ke = expected.choices.keysArray()
  expect(ka, `${what}: addresses`).toEqual(ke)
  for (const k of ke) {
    const a = actual.choices.get(k)!
    const e = expected.choices.get(k)!
    if (!sameValue(a.value, e.value) || !Object.is(a.logProb, e.logProb)) {
      throw new Error(`${what}: choice ${JSON.stringify(k)} is ${show(a.value)} (logProb ${a.logProb}), expected ${show(e.value)} (logProb ${e.logProb})`)
    }
  }
}

/** A completed prior execution of `desc`, or undefined when it throws (a documented error). */
const priorRun = (desc: ModelDesc, seed: number): [Outcome, Trace] | undefined => {
  const r = attempt(() => run(new PriorHandler(Rng.make(seed)), toModel(desc)))
  if (r.ok) return r.value
  expectDocumented(r.error, "the prior handler")
  return undefined
}

/** Passes everything to `inner`, counting the sample sites that `base` lacks or holds with another type. */
const counting = <Out>(inner: Handler<Out>, base: Trace) => {
  const counts = { missing: 0, mismatched: 0 }
  const handler: Handler<Out> = {
    sample<T>(address: string, dist: Distribution<T>): T {
      const old = base.choices.get(address)
      if (old === undefined) counts.missing++
      else if (!dist.isValue(old.value)) counts.mismatched++
      return inner.sample(address, dist)
    },
    observe: (address, dist, value) => inner.observe(address, dist, value),
    factor: (w) => inner.factor(w),
    finish: () => inner.finish()
  }
  return { handler, counts }
}

// ---------------------------------------------------------------------------------------------
// Combinator stacks

type KeyDesc = { readonly site: number } | { readonly name: string }
type ValueDesc = { readonly siteValue: number } | { readonly value: unknown }
type SelectorDesc =
  | { readonly kind: "list" | "set"; readonly keys: ReadonlyArray<KeyDesc> }
  | { readonly kind: "prefix"; readonly prefix: string }
type CombDesc =
  | { readonly kind: "condition" | "substitute" | "intervene"; readonly entries: ReadonlyArray<readonly [KeyDesc, ValueDesc]>; readonly asMap: boolean }
  | { readonly kind: "block" | "mask"; readonly selector: SelectorDesc; readonly seed: number }
  | { readonly kind: "scale"; readonly by: unknown; readonly selector: SelectorDesc | undefined }
  | { readonly kind: "seed"; readonly seed: number }

const keyArb: fc.Arbitrary<KeyDesc> = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((site): KeyDesc => ({ site })) },
  { weight: 1, arbitrary: fc.constantFrom("s0", "y0", "d", "", "c0/s1", "nope").map((name): KeyDesc => ({ name })) }
)
const valueArb: fc.Arbitrary<ValueDesc> = fc.oneof(
  { weight: 2, arbitrary: fc.nat().map((siteValue): ValueDesc => ({ siteValue })) },
  { weight: 1, arbitrary: anyValueArb.map((value): ValueDesc => ({ value })) }
)
const selectorArb: fc.Arbitrary<SelectorDesc> = fc.oneof(
  fc.record({ kind: fc.constantFrom("list" as const, "set" as const), keys: fc.array(keyArb, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant("prefix" as const), prefix: fc.constantFrom("s", "y", "c", "p", "", "s1") })
)
const combArb = (byArb: fc.Arbitrary<unknown>): fc.Arbitrary<CombDesc> =>
  fc.oneof(
    fc.record({
      kind: fc.constantFrom("condition" as const, "substitute" as const, "intervene" as const),
      entries: fc.array(fc.tuple(keyArb, valueArb), { maxLength: 4 }),
      asMap: fc.boolean()
    }),
    fc.record({ kind: fc.constantFrom("block" as const, "mask" as const), selector: selectorArb, seed: seedArb }),
    fc.record({ kind: fc.constant("scale" as const), by: byArb, selector: fc.option(selectorArb, { nil: undefined }) }),
    fc.record({ kind: fc.constant("seed" as const), seed: seedArb })
  )
const validByArb = fc.oneof(fc.constantFrom(0, 0.5, 1, 2, 10), fc.double({ min: 0, max: 100, noNaN: true }))
const invalidByArb = fc.constantFrom<unknown>(-1, -0.5, Number.NaN, Infinity, -Infinity, "2", undefined, null)

/** Every address a run showed its handler (sample and observe), with the values drawn. */
const sitesOf = (desc: ModelDesc, seed: number): { addresses: Array<string>; values: Array<unknown> } => {
  const addresses: Array<string> = []
  const values: Array<unknown> = []
  const prior = new PriorHandler(Rng.make(seed))
  const recorder: Handler<Trace> = {
    sample(address, dist) {
      const v = prior.sample(address, dist)
      addresses.push(address)
      values.push(v)
      return v
    },
    observe(address, dist, value) {
      addresses.push(address)
      prior.observe(address, dist, value)
    },
    factor: (w) => prior.factor(w),
    finish: () => prior.finish()
  }
  attempt(() => run(recorder, toModel(desc)))
  return { addresses, values }
}

const applyStack = (base: Handler<Trace>, stack: ReadonlyArray<CombDesc>, sites: { addresses: Array<string>; values: Array<unknown> }): Handler<Trace> => {
  const key = (k: KeyDesc): string =>
    "name" in k ? k.name : sites.addresses.length === 0 ? "s0" : sites.addresses[k.site % sites.addresses.length]
  const value = (v: ValueDesc): unknown =>
    "value" in v ? v.value : sites.values.length === 0 ? 0 : sites.values[v.siteValue % sites.values.length]
  const selector = (s: SelectorDesc): Combinators.Selector =>
    s.kind === "prefix" ? (a: string) => a.startsWith(s.prefix) : s.kind === "set" ? new Set(s.keys.map(key)) : s.keys.map(key)
  let h = base
  for (const c of stack) {
    switch (c.kind) {
      case "condition":
      case "substitute":
      case "intervene": {
        const entries = c.entries.map(([k, v]) => [key(k), value(v)] as const)
        const data = c.asMap ? new Map(entries) : Object.fromEntries(entries)
        h = c.kind === "condition" ? Combinators.condition(h, data) : c.kind === "substitute" ? Combinators.substitute(h, data) : Combinators.intervene(h, data)
        break
      }
      case "block":
        h = Combinators.block(h, selector(c.selector), Rng.make(c.seed))
        break
      case "mask":
        h = Combinators.mask(h, selector(c.selector))
        break
      case "scale":
        h = Combinators.scale(h, c.by as number, c.selector === undefined ? undefined : selector(c.selector))
        break
      case "seed":
        h = Combinators.seed(h, Rng.make(c.seed))
        break
    }
  }
  return h
}

// ---------------------------------------------------------------------------------------------

describe("random models under every handler", () => {
  it("(a) under the prior handler a random model completes or throws a documented typed error, and its weights are never NaN", () => {
    fc.assert(
      fc.property(moderate, seedArb, fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }), (desc, seed, maxInstructions) => {
        const r = attempt(() => run(new PriorHandler(Rng.make(seed)), toModel(desc), { maxInstructions }))
        if (!r.ok) return expectDocumented(r.error, "the prior handler")
        expectNoNaN(r.value[1], r.value[0], "prior")
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(a) the same holds with extreme (valid) parameters, 5e-324 to 1.8e308", () => {
    fc.assert(
      fc.property(extreme, seedArb, (desc, seed) => {
        const r = attempt(() => run(new PriorHandler(Rng.make(seed)), toModel(desc)))
        if (!r.ok) return expectDocumented(r.error, "the prior handler")
        expectNoNaN(r.value[1], r.value[0], "prior")
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(b) replaying a completed prior trace reproduces its weights and choices exactly, with no fresh draws", () => {
    fc.assert(
      fc.property(identityArb, seedArb, (desc, seed) => {
        const prior = priorRun(desc, seed)
        if (prior === undefined) return
        const handler = new ReplayHandler(Rng.make(seed + 1), prior[1])
        const r = attempt(() => run(handler, toModel(desc)))
        if (!r.ok) throw new Error(`replaying its own trace threw: ${explain(r.error)}`)
        expectSameTrace(r.value[1], prior[1], "replay")
        expect(handler.fresh).toBe(0)
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(c) scoring a completed prior trace with ScoreGivenTrace gives the same weights and choices", () => {
    fc.assert(
      fc.property(identityArb, seedArb, (desc, seed) => {
        const prior = priorRun(desc, seed)
        if (prior === undefined) return
        const r = attempt(() => run(new ScoreGivenTrace(prior[1]), toModel(desc)))
        if (!r.ok) throw new Error(`scoring its own trace threw: ${explain(r.error)}`)
        expectSameTrace(r.value[1], prior[1], "score")
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(d) SafeReplay and SafeScore of a model's own trace reproduce it with nothing repaired", () => {
    fc.assert(
      fc.property(identityArb, seedArb, (desc, seed) => {
        const prior = priorRun(desc, seed)
        if (prior === undefined) return
        const replay = new SafeReplayHandler(Rng.make(seed + 1), prior[1])
        const r1 = attempt(() => run(replay, toModel(desc)))
        if (!r1.ok) throw new Error(`SafeReplay of its own trace threw: ${explain(r1.error)}`)
        expectSameTrace(r1.value[1], prior[1], "safe replay")
        expect([replay.fresh, replay.repaired]).toEqual([0, 0])
        const score = new SafeScoreGivenTrace(prior[1], Rng.make(seed + 2))
        const r2 = attempt(() => run(score, toModel(desc)))
        if (!r2.ok) throw new Error(`SafeScore of its own trace threw: ${explain(r2.error)}`)
        expectSameTrace(r2.value[1], prior[1], "safe score")
        expect([score.missing, score.mismatched]).toEqual([0, 0])
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(d) SafeReplay and SafeScore of another model's trace never throw a type-mismatch error and count every repair", () => {
    fc.assert(
      fc.property(pairArb, seedArb, ([descA, descB], seed) => {
        const prior = priorRun(descA, seed)
        if (prior === undefined) return
        const base = prior[1]
        const modelB = toModel(descB)

        const replay = counting(new SafeReplayHandler(Rng.make(seed + 1), base), base)
        const r1 = attempt(() => run(replay.handler, modelB))
        if (!r1.ok) {
          if (r1.error instanceof ChoiceTypeError || r1.error instanceof MissingAddressError) {
            throw new Error(`SafeReplay threw a type-mismatch error: ${explain(r1.error)}`)
          }
          expectDocumented(r1.error, "SafeReplay")
        } else {
          expectNoNaN(r1.value[1], r1.value[0], "safe replay of another trace")
        }

        const inner = new SafeScoreGivenTrace(base, Rng.make(seed + 2))
        const score = counting(inner, base)
        const r2 = attempt(() => run(score.handler, modelB))
        if (!r2.ok) {
          if (r2.error instanceof ChoiceTypeError || r2.error instanceof MissingAddressError) {
            throw new Error(`SafeScore threw a type-mismatch error: ${explain(r2.error)}`)
          }
          expectDocumented(r2.error, "SafeScore")
          return
        }
        const scored = r2.value[1]
        expectNoNaN(scored, r2.value[0], "safe score of another trace")
        expect([inner.missing, inner.mismatched], "SafeScore's counts").toEqual([score.counts.missing, score.counts.mismatched])
        if (inner.missing + inner.mismatched > 0) expect(scored.logPrior).toBe(-Infinity)
        else {
          // nothing to repair: the strict scorer agrees exactly
          const strict = attempt(() => run(new ScoreGivenTrace(base), modelB))
          if (!strict.ok) throw new Error(`ScoreGivenTrace threw where SafeScore repaired nothing: ${explain(strict.error)}`)
          expectSameTrace(strict.value[1], scored, "strict vs safe score")
        }
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(d) SafeReplay's fresh and repaired counts are the sites the base trace lacks or holds with another type", () => {
    fc.assert(
      fc.property(pairArb, seedArb, ([descA, descB], seed) => {
        const prior = priorRun(descA, seed)
        if (prior === undefined) return
        const base = prior[1]
        const inner = new SafeReplayHandler(Rng.make(seed + 1), base)
        const replay = counting(inner, base)
        const r = attempt(() => run(replay.handler, toModel(descB)))
        if (!r.ok) return expectDocumented(r.error, "SafeReplay")
        expect([inner.fresh, inner.repaired]).toEqual([replay.counts.missing, replay.counts.mismatched])
        if (inner.fresh + inner.repaired === 0) {
          const strict = attempt(() => run(new ReplayHandler(Rng.make(seed + 1), base), toModel(descB)))
          if (!strict.ok) throw new Error(`ReplayHandler threw where SafeReplay repaired nothing: ${explain(strict.error)}`)
          expectSameTrace(strict.value[1], r.value[1], "strict vs safe replay")
        }
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(b, c) Replay and Score of another model's trace throw only documented typed errors and never give NaN weights", () => {
    fc.assert(
      fc.property(pairArb, seedArb, ([descA, descB], seed) => {
        const prior = priorRun(descA, seed)
        if (prior === undefined) return
        for (const [name, handler] of [
          ["ReplayHandler", new ReplayHandler(Rng.make(seed + 1), prior[1])],
          ["ScoreGivenTrace", new ScoreGivenTrace(prior[1])]
        ] as const) {
          const r = attempt(() => run(handler, toModel(descB)))
          if (!r.ok) expectDocumented(r.error, name)
          else expectNoNaN(r.value[1], r.value[0], name)
        }
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(e) every handler combinator stacked around the prior handler throws only documented typed errors, and weights are never NaN", () => {
    fc.assert(
      fc.property(either, seedArb, fc.array(combArb(validByArb), { minLength: 1, maxLength: 3 }), (desc, seed, stack) => {
        const sites = sitesOf(desc, seed)
        const r = attempt(() => run(applyStack(new PriorHandler(Rng.make(seed)), stack, sites), toModel(desc)))
        if (!r.ok) return expectDocumented(r.error, "a combinator stack")
        expectNoNaN(r.value[1], r.value[0], "combinator stack")
      }),
      { numRuns: RUNS }
    )
  }, 20_000)

  it("(e) scale with a factor that is not a number >= 0 (negative, NaN, ±∞, a string) is refused with a typed error or leaves no NaN weight", () => {
    fc.assert(
      fc.property(either, seedArb, combArb(invalidByArb).filter((c) => c.kind === "scale"), (desc, seed, comb) => {
        const sites = sitesOf(desc, seed)
        const r = attempt(() => run(applyStack(new PriorHandler(Rng.make(seed)), [comb], sites), toModel(desc)))
        if (!r.ok) return expectDocumented(r.error, "scale")
        expectNoNaN(r.value[1], r.value[0], `scale by ${show((comb as { by: unknown }).by)}`)
      }),
      { numRuns: 100 }
    )
  }, 20_000)
})
