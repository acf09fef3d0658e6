// Every public entry point of @fugue/memory fed arbitrary input (NaN, ±∞, negatives, wrong
// types, exotic objects, unknown option keys) either works or throws one of its documented
// typed errors, whose message renders for any offending value; never NaN in a trace, never a
// TypeError, never a hang. Property-based (fast-check), seed pinned for CI (FC_SEED explores).
import { describe, expect, it } from "@effect/vitest"
import { Normal, sample } from "@fugue/core"
import * as Rng from "@fugue/core/Rng"
import { Trace } from "@fugue/runtime/Trace"
import fc from "fast-check"
import * as CowTrace from "../../src/CowTrace.ts"
import * as PooledPrior from "../../src/PooledPrior.ts"
import * as TraceBuilder from "../../src/TraceBuilder.ts"
import * as TracePool from "../../src/TracePool.ts"

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })

const TYPED = new Set([
  "InvalidChoiceError",
  "InvalidLogWeightError",
  "BuilderConsumedError",
  "DuplicateAddressError",
  "InvalidPoolOptionsError",
  "PoolReleaseError",
  "PoolClosedError"
])

/** Runs `f`; a throw must be one of the documented typed errors with a working message. */
const typedOrOk = (f: () => unknown): void => {
  try {
    f()
  } catch (error) {
    const tag = (error as { _tag?: unknown })._tag
    if (typeof tag !== "string" || !TYPED.has(tag)) throw new Error(`undocumented error ${String(tag)}: ${String(error)}`)
    expect(typeof (error as Error).message).toBe("string")
    expect((error as Error).message.length).toBeGreaterThan(0)
  }
}

const exotic = fc.oneof(
  fc.anything(),
  fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, -1, -0, 0, 1e308, 2 ** 53, "1", "", null, undefined, Symbol("s"), 10n, Object.create(null), [], [1, 2], new Float64Array(2), () => 1)
)

const noNaN = (t: Trace): void => {
  for (const w of [t.logPrior, t.logLikelihood, t.logFactors]) expect(Number.isNaN(w)).toBe(false)
}

describe("memory entry points under arbitrary input", () => {
  it("TraceBuilder.add / addChoice / addLogLikelihood / addLogFactor: typed errors or a NaN-free trace", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("add", "addChoice", "lik", "factor"), exotic, exotic, exotic), { maxLength: 8 }), (ops) => {
        const b = TraceBuilder.make()
        for (const [op, a, v, w] of ops) {
          typedOrOk(() => {
            if (op === "add") b.add(a as string, v as number, w as number)
            else if (op === "addChoice") b.addChoice({ address: a, value: v, logProb: w } as never)
            else if (op === "lik") b.addLogLikelihood(v as number)
            else b.addLogFactor(w as number)
          })
        }
        typedOrOk(() => noNaN(b.build()))
      }),
      { numRuns: 300 }
    )
  }, 20_000)

  it("TracePool: options, acquire/release of foreign or repeated traces, closing", () => {
    fc.assert(
      fc.property(exotic, fc.array(fc.constantFrom("acquire", "release", "releaseForeign", "releaseJunk", "close"), { maxLength: 10 }), (options, ops) => {
        let pool: TracePool.TracePoolShape | undefined
        typedOrOk(() => {
          pool = TracePool.makeUnsafe(options === undefined ? undefined : { capacity: options } as never)
        })
        typedOrOk(() => TracePool.makeUnsafe(options as never))
        if (pool === undefined) return
        const held: Array<Trace> = []
        for (const op of ops) {
          typedOrOk(() => {
            if (op === "acquire") held.push(pool!.acquireUnsafe())
            else if (op === "release") pool!.releaseUnsafe(held.pop() ?? held[0] ?? new Trace())
            else if (op === "releaseForeign") pool!.releaseUnsafe(new Trace())
            else if (op === "releaseJunk") pool!.releaseUnsafe({} as never)
            else pool!.closeUnsafe()
          })
        }
        const s = pool.statsUnsafe()
        expect(s.hits + s.misses).toBeGreaterThanOrEqual(s.returns)
      }),
      { numRuns: 300 }
    )
  }, 20_000)

  it("CowTrace.set / remove / fork with arbitrary choices: typed errors or consistent traces", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(exotic, exotic, exotic), { maxLength: 6 }), (ops) => {
        const base = new Trace()
        for (const [a, v, w] of ops) {
          typedOrOk(() => CowTrace.set(base, a as string, { address: a, value: v, logProb: w } as never))
          typedOrOk(() => CowTrace.remove(base, a as string))
        }
        const fork = CowTrace.fork(base)
        expect(fork.size).toBe(base.size)
        expect(Number.isNaN(CowTrace.sumLogProbs(fork))).toBe(false)
      }),
      { numRuns: 300 }
    )
  }, 20_000)

  it("PooledPrior.runUnsafe on random small models returns its trace to the pool or throws a typed model error", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b", "c"), fc.double({ noNaN: true, min: -10, max: 10 }), fc.double({ min: -1, max: 3, noNaN: true })), { maxLength: 5 }), fc.integer(), (sites, seed) => {
        const pool = TracePool.makeUnsafe({ capacity: 4 })
        const model = function*() {
          for (const [a, mu, sd] of sites) yield* sample(a, Normal(mu, sd))
        }
        try {
          const [, trace] = PooledPrior.runUnsafe(pool, Rng.make(seed), model)
          noNaN(trace)
          pool.releaseUnsafe(trace)
        } catch (error) {
          const tag = (error as { _tag?: unknown })._tag
          expect(["DuplicateAddressError", "InvalidDistributionError"]).toContain(tag)
        }
        const s = pool.statsUnsafe()
        // a failed run returns its trace too: nothing stays borrowed
        expect(s.outstanding).toBe(0)
      }),
      { numRuns: 300 }
    )
  }, 20_000)
})
