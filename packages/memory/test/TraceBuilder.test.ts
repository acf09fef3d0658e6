import { describe, expect, it } from "@effect/vitest"
import { addr } from "@fugue/core/Address"
import * as Choices from "@fugue/runtime/Choices"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { type Choice, compareAddresses, Trace } from "@fugue/runtime/Trace"
import * as fc from "fast-check"
import { InvalidChoiceError } from "../src/CowTrace.ts"
import { BuilderConsumedError, fromChoices, InvalidLogWeightError, make, TraceBuilder } from "../src/TraceBuilder.ts"
import { InvalidPoolOptionsError, makeUnsafe, PoolClosedError, PoolReleaseError } from "../src/TracePool.ts"

const choice = (address: string, value: number, logProb: number): Choice => ({ address, value, logProb })

// The reference: insert one at a time into a plain trace, summing logProbs in the same order.
const reference = (choices: ReadonlyArray<Choice>): Trace => {
  const t = new Trace()
  for (const c of choices) {
    t.choices.set(c.address, c)
    t.logPrior += c.logProb
  }
  return t
}

const distinctChoices = (maxLength: number): fc.Arbitrary<Array<Choice>> =>
  fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength }).chain((keys) =>
    fc.tuple(fc.constant(keys), fc.array(fc.double({ min: -50, max: 0, noNaN: true }), { minLength: keys.length, maxLength: keys.length }))
  ).map(([keys, logProbs]) => keys.map((k, i) => choice(addr("x", k), k, logProbs[i])))

describe("TraceBuilder", () => {
  it("property: any order of distinct addresses builds the same trace as one-at-a-time insertion", () => {
    fc.assert(
      fc.property(distinctChoices(300), fc.nat(), (choices, cut) => {
        // half the runs: a sorted prefix (bulk-loaded) followed by the rest in random order
        const sortedPrefix = cut % 2 === 0
        const ordered = sortedPrefix
          ? [...choices.slice(0, cut % (choices.length + 1)).sort((a, b) => compareAddresses(a.address, b.address)), ...choices.slice(cut % (choices.length + 1))]
          : choices
        const built = fromChoices(ordered)
        const expected = reference(ordered)
        expect(built.choices.toArray()).toEqual(expected.choices.toArray())
        // same additions in the same order: bitwise equal
        expect(built.logPrior).toBe(expected.logPrior)
        expect(built.size).toBe(ordered.length)
        built.choices.checkValid(true)
      }),
      { numRuns: 300, seed: 99 }
    )
  })

  it("sorted input is bulk-loaded into a balanced tree", () => {
    const choices = Array.from({ length: 10_000 }, (_, i) => choice(addr("y", i), i, -1)).sort((a, b) =>
      compareAddresses(a.address, b.address)
    )
    const built = fromChoices(choices)
    const inserted = reference(choices)
    built.choices.checkValid(true)
    expect(built.choices.toArray()).toEqual(inserted.choices.toArray())
    // full nodes, like sorted-btree's sequential appends (32 keys a leaf), but in one O(n) pass;
    // the bulk load spreads the remainder, so every leaf holds 31 or 32
    const { leafSizes, nodes } = Choices.shape(built.choices)
    expect(Math.max(...leafSizes)).toBe(32)
    expect(Math.min(...leafSizes)).toBeGreaterThanOrEqual(16)
    expect(leafSizes.length).toBe(Math.ceil(10_000 / 32))
    expect(built.choices.height).toBeLessThanOrEqual(inserted.choices.height)
    expect(nodes).toBeLessThanOrEqual(Choices.shape(inserted.choices).nodes)
    // the tree keeps the trace's comparator and node size
    expect(built.choices.maxNodeSize).toBe(new Trace().choices.maxNodeSize)
    expect(built.choices._compare).toBe(compareAddresses)
  })

  it("accumulates weights like the prior handler", () => {
    const t = make()
      .add("b", 1, -1.5)
      .add("a", true, -0.25)
      .addLogLikelihood(-2)
      .addLogLikelihood(-0.5)
      .addLogFactor(-3)
      .build()
    expect(t.logPrior).toBe(-1.75)
    expect(t.logLikelihood).toBe(-2.5)
    expect(t.logFactors).toBe(-3)
    expect(t.totalLogWeight).toBe(-7.25)
    expect(t.choices.keysArray()).toEqual(["a", "b"])
  })

  it("keeps the given choice objects (no copies)", () => {
    const c = choice("mu", 0.5, -1)
    expect(fromChoices([c]).choices.get("mu")).toBe(c)
    const v = new Float64Array([1, 2])
    expect(make().add("v", v, 0).build().choices.get("v")!.value).toBe(v)
  })

  it("a repeated address raises DuplicateAddressError naming it, in sorted and unsorted input", () => {
    const sorted = make().add("a", 1, 0).add("b", 1, 0)
    expect(() => sorted.add("b", 2, 0)).toThrow(new DuplicateAddressError({ address: "b" }))
    const unsorted = make().add("c", 1, 0).add("a", 1, 0)
    expect(() => unsorted.add("c", 2, 0)).toThrow(new DuplicateAddressError({ address: "c" }))
    // the failed add changed nothing
    const t = unsorted.build()
    expect(t.size).toBe(2)
    expect(t.choices.get("c")!.value).toBe(1)
    expect(t.logPrior).toBe(0)
  })

  it("property: the first repeated address is reported, wherever it falls", () => {
    fc.assert(
      fc.property(distinctChoices(100).filter((cs) => cs.length > 0), fc.nat(), fc.nat(), (choices, i, j) => {
        const repeated = choices[i % choices.length]
        const at = j % (choices.length + 1)
        const input = [...choices.slice(0, at), choice(repeated.address, -1, 0), ...choices.slice(at)]
        const firstIndex = input.findIndex((c) => c.address === repeated.address)
        const expectedAt = input.findIndex((c, k) => k > firstIndex && c.address === repeated.address)
        const builder = make()
        let threwAt = -1
        try {
          input.forEach((c, k) => {
            threwAt = k
            builder.addChoice(c)
          })
          threwAt = -1
        } catch (e) {
          expect(e).toBeInstanceOf(DuplicateAddressError)
          expect((e as DuplicateAddressError).address).toBe(repeated.address)
        }
        expect(threwAt).toBe(expectedAt)
      }),
      { numRuns: 200, seed: 5 }
    )
  })

  it("cannot be reused after build", () => {
    const b = make().add("a", 1, 0)
    const t = b.build()
    expect(() => b.build()).toThrow(new BuilderConsumedError({ operation: "build" }))
    expect(() => b.add("z", 1, 0)).toThrow(BuilderConsumedError)
    expect(() => b.addLogLikelihood(0)).toThrow(BuilderConsumedError)
    expect(() => b.addLogFactor(0)).toThrow(BuilderConsumedError)
    expect(t.size).toBe(1)
  })

  it("rejects NaN log quantities with typed errors naming them", () => {
    expect(() => make().add("mu", 1, Number.NaN)).toThrow(InvalidChoiceError)
    expect(() => make().add("mu", 1, Number.NaN)).toThrow(/logProb is NaN/)
    expect(() => make().addLogLikelihood(Number.NaN)).toThrow(InvalidLogWeightError)
    expect(() => make().addLogFactor(Number.NaN)).toThrow(/logFactors/)
    // −∞ is a legitimate log probability
    expect(make().add("mu", 1, -Infinity).build().logPrior).toBe(-Infinity)
  })

  it("fills a pooled trace, and a non-empty target keeps its choices and detects collisions", () => {
    const pool = makeUnsafe()
    const pooled = pool.acquireUnsafe()
    const t = new TraceBuilder(pooled).add("a", 1, -1).add("b", 2, -1).build()
    expect(t).toBe(pooled)
    expect(t.size).toBe(2)
    pool.releaseUnsafe(t)
    expect(t.size).toBe(0)

    const target = fromChoices([choice("m", 0, -1)])
    const b = make(target).add("a", 1, -2).add("z", 1, -3)
    expect(b.size).toBe(3)
    expect(() => b.add("m", 5, 0)).toThrow(DuplicateAddressError)
    expect(b.build().logPrior).toBe(-6)
  })

  it("an empty builder builds an empty trace", () => {
    const t = make().build()
    expect(t.size).toBe(0)
    expect(t.totalLogWeight).toBe(0)
  })
})

describe("TraceBuilder rejects non-numbers", () => {
  it("a string logProb is a typed error naming the field and value, not concatenated into logPrior", () => {
    const b = make().add("a", 1, -1)
    const error = (() => {
      try {
        b.add("x", 1, "1" as unknown as number)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InvalidChoiceError)
    expect(error).toMatchObject({ _tag: "InvalidChoiceError", address: "x", field: "logProb", value: "1" })
    expect((error as InvalidChoiceError).message).toBe(`invalid choice at address "x": logProb is "1" (must be a number, not NaN)`)
    // nothing was added: the builder goes on, logPrior stays a number
    const t = b.add("y", 2, -2).build()
    expect(t.logPrior).toBe(-3)
    expect(t.size).toBe(2)
    expect(t.choices.has("x")).toBe(false)
  })

  it("every malformed field of a choice is named", () => {
    const cases: Array<[() => unknown, string, unknown]> = [
      [() => make().add("v", "1" as unknown as number, 0), "value", "1"],
      [() => make().add("v", Number.NaN, 0), "value", Number.NaN],
      [() => make().add("v", [1, 2] as unknown as Float64Array, 0), "value", [1, 2]],
      [() => make().add("v", 1, undefined as unknown as number), "logProb", undefined],
      [() => make().add("v", 1, 1n as unknown as number), "logProb", 1n],
      [() => make().add(7 as unknown as string, 1, 0), "address", 7],
      [() => make().addChoice(null as unknown as Choice), "choice", null],
      [() => make().addChoice("mu" as unknown as Choice), "choice", "mu"]
    ]
    for (const [f, field, value] of cases) {
      expect(f).toThrow(InvalidChoiceError)
      try {
        f()
      } catch (e) {
        expect((e as InvalidChoiceError).field).toBe(field)
        expect((e as InvalidChoiceError).value).toEqual(value)
        expect(typeof (e as InvalidChoiceError).message).toBe("string")
      }
    }
  })

  it("log weight increments must be numbers: InvalidLogWeightError names the field and the value", () => {
    const b = make().addLogLikelihood(-1).addLogFactor(-2)
    expect(() => b.addLogLikelihood("1" as unknown as number)).toThrow(
      new InvalidLogWeightError({ field: "logLikelihood", value: "1" })
    )
    expect(() => b.addLogFactor(Symbol("w") as unknown as number)).toThrow(/logFactors increment is Symbol\(w\)/)
    expect(() => b.addLogFactor(undefined as unknown as number)).toThrow(InvalidLogWeightError)
    const t = b.addLogFactor(-Infinity).build()
    expect(t.logLikelihood).toBe(-1)
    expect(t.logFactors).toBe(-Infinity)
  })
})

describe("memory error messages", () => {
  it("property: every error's message works for any offending value", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const exotic = [Object.create(null), Symbol("s"), 10n, cyclic, undefined, null, new Float64Array(2), "x".repeat(300)]
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.constantFrom(...exotic)), (v) => {
        const messages = [
          new InvalidChoiceError({ address: v, field: "value", value: v, reason: "r" }).message,
          new InvalidLogWeightError({ field: "logFactors", value: v }).message,
          new BuilderConsumedError({ operation: v as string }).message,
          new InvalidPoolOptionsError({ option: v as string, value: v, reason: v as string }).message,
          new PoolReleaseError({ reason: "foreign", traceSize: v as number }).message,
          new PoolReleaseError({ reason: "double-release", traceSize: v as number }).message,
          new PoolClosedError({ operation: v as "acquire" }).message
        ]
        for (const m of messages) expect(typeof m).toBe("string")
      }),
      { numRuns: 300, seed: 11 }
    )
  })
})
