import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Choices from "../src/Choices.ts"
import { DuplicateAddressError } from "../src/Handler.ts"
import * as Trace from "../src/Trace.ts"

describe("Trace.record and the choice buffer", () => {
  it("behaves like a sorted map with insert-if-absent, whatever the interleaving of writes and reads", () => {
    // Model: a plain Map. Operations: record(address) or read (forces the buffer into the tree).
    const op = fc.oneof(
      fc.record({ kind: fc.constant("record" as const), key: fc.integer({ min: 0, max: 150 }) }),
      fc.record({ kind: fc.constant("read" as const) })
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const trace = Trace.make()
        const model = new Map<string, number>()
        ops.forEach((o, i) => {
          if (o.kind === "record") {
            const address = `k${o.key}`
            const added = trace.record({ address, value: i, logProb: -i })
            expect(added).toBe(!model.has(address))
            if (added) model.set(address, i)
            expect(trace.size).toBe(model.size)
          } else {
            expect(trace.choices.size).toBe(model.size)
          }
        })
        const expected = [...model.keys()].sort()
        expect(Trace.addresses(trace)).toEqual(expected)
        for (const [k, v] of model) expect(Trace.getNumberOrThrow(trace, k)).toBe(v)
        trace.choices.checkValid()
      }),
      { numRuns: 200 }
    )
  })

  it("clear empties choices and weights; a cleared trace records afresh", () => {
    const t = Trace.make()
    t.record({ address: "a", value: 1, logProb: -1 })
    t.logPrior = -1
    t.clear()
    expect(t.size).toBe(0)
    expect(t.totalLogWeight).toBe(0)
    expect(t.record({ address: "a", value: 2, logProb: -2 })).toBe(true)
    expect(Trace.getNumberOrThrow(t, "a")).toBe(2)
  })

  it("toJSON lists choices in address order with the weights", () => {
    const t = Trace.make()
    t.record({ address: "b", value: true, logProb: -0.5 })
    t.record({ address: "a", value: new Float64Array([1, 2]), logProb: -1 })
    t.logPrior = -1.5
    const json = Trace.toJSON(t)
    expect(Object.keys(json.choices)).toEqual(["a", "b"])
    expect(json.choices.a.value).toEqual([1, 2])
    expect(json.totalLogWeight).toBe(-1.5)
  })
})

describe("Trace.record: the buffer's ascending fast path and its bulk load", () => {
  const key = (k: number) => `x#${String(k).padStart(5, "0")}`
  it("property: any mix of ascending runs, disorder and repeats, into an empty or a filled tree, acts as a Map", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 1500 }),
        fc.nat(),
        (initial, later, cut) => {
          // half the runs: a sorted prefix (the fast path, and a bulk load past 32 entries)
          const sortedPrefix = cut % 2 === 0
          const at = cut % (later.length + 1)
          const keys = sortedPrefix ? [...later.slice(0, at).sort((a, b) => a - b), ...later.slice(at)] : later
          const trace = Trace.make()
          const model = new Map<string, number>()
          const record = (k: number, i: number) => {
            const address = key(k)
            const added = trace.record({ address, value: i, logProb: -1 })
            expect(added).toBe(!model.has(address))
            if (added) model.set(address, i)
          }
          initial.forEach(record)
          if (initial.length > 0) trace.choices.checkValid(true) // flush: the tree is now non-empty
          keys.forEach((k, i) => record(k, i + initial.length))
          expect(trace.size).toBe(model.size)
          trace.choices.checkValid(true)
          expect(Trace.addresses(trace)).toEqual([...model.keys()].sort())
          for (const [k, v] of model) expect(Trace.getNumberOrThrow(trace, k)).toBe(v)
        }
      ),
      { numRuns: 150, seed: 7 }
    )
  })

  it("ascending input is bulk-loaded into full nodes: no taller and no more nodes than one-by-one insertion", () => {
    const trace = Trace.make()
    const reference = Trace.emptyChoices()
    for (let i = 0; i < 10_000; i++) {
      const c = { address: key(i), value: i, logProb: -1 }
      expect(trace.record(c)).toBe(true)
      reference.set(c.address, c)
    }
    const { height, leafSizes, nodes } = Choices.shape(trace.choices)
    trace.choices.checkValid(true)
    expect(Math.max(...leafSizes)).toBe(32) // sorted-btree's node size
    expect(nodes).toBeLessThanOrEqual(Choices.shape(reference).nodes)
    expect(leafSizes.reduce((a, b) => a + b, 0)).toBe(10_000)
    expect(height).toBeLessThanOrEqual(reference.height)
    expect(trace.choices.toArray()).toEqual(reference.toArray())
  })

  it("finds a reused address at the 32-entry boundary, in ascending and in unordered buffers", () => {
    for (const order of ["ascending", "descending"] as const) {
      for (const size of [31, 32, 33, 64]) {
        const trace = Trace.make()
        const ks = Array.from({ length: size }, (_, i) => key(order === "ascending" ? i : size - i))
        for (const k of ks) expect(trace.record({ address: k, value: 0, logProb: 0 })).toBe(true)
        for (const k of [ks[0], ks[size >> 1], ks[size - 1]]) expect(trace.record({ address: k, value: 1, logProb: 0 })).toBe(false)
        expect(trace.record({ address: key(9999), value: 2, logProb: 0 })).toBe(true)
        expect(trace.record({ address: key(9999), value: 3, logProb: 0 })).toBe(false)
        expect(trace.size).toBe(size + 1)
        trace.choices.checkValid(true)
        expect(Trace.addresses(trace)).toEqual([...ks, key(9999)].sort())
        expect(Trace.getNumberOrThrow(trace, ks[0])).toBe(0)
      }
    }
  })

  it("a short buffer becomes one leaf that keeps the recorded choice objects", () => {
    const trace = Trace.make()
    const cs = ["c", "a", "b"].map((address, i) => ({ address, value: i, logProb: -i }))
    for (const c of cs) trace.record(c)
    expect(Choices.shape(trace.choices)).toEqual({ height: 0, nodes: 1, leafSizes: [3] })
    expect(trace.choices.get("c")).toBe(cs[0])
    // 33 choices (one more than a node holds) still give a valid tree
    const big = Trace.make()
    for (let i = 32; i >= 0; i--) big.record({ address: key(i), value: i, logProb: 0 })
    big.choices.checkValid(true)
    expect(big.size).toBe(33)
  })
})

describe("Trace.clone is copy-on-write", () => {
  const key = (k: number) => `z#${String(k).padStart(5, "0")}`
  const filled = (n: number): Trace.Trace => {
    const t = Trace.make()
    for (let i = 0; i < n; i++) t.record({ address: key(i), value: i, logProb: -1 })
    return t
  }
  for (const n of [100, 1000, 10_000]) {
    it(`changing one site of a clone of ${n} choices copies height + 1 nodes and leaves the original as it was`, () => {
      const original = filled(n)
      const height = original.choices.height
      // B-tree nodes hold 16 to 32 entries, so the height grows as log₁₆ n
      expect(height).toBeLessThanOrEqual(Math.ceil(Math.log(n) / Math.log(16)))
      const { nodes } = Choices.sharing(original, original)
      const copy = original.clone()
      expect(Choices.sharing(original, copy)).toEqual({ nodes, shared: nodes })
      for (const i of [0, Math.floor(n / 3), n - 1]) {
        const c = original.clone()
        c.choices.set(key(i), { address: key(i), value: -1, logProb: -5 })
        const s = Choices.sharing(original, c)
        expect(s.nodes - s.shared).toBe(height + 1) // the root-to-leaf path, O(log n)
        expect(Trace.getNumberOrThrow(original, key(i))).toBe(i)
        expect(Trace.getNumberOrThrow(c, key(i))).toBe(-1)
        // a write to the original after the clone copies its own path and leaves the clone alone
        original.choices.set(key(i), { address: key(i), value: i, logProb: -1 })
        expect(Trace.getNumberOrThrow(c, key(i))).toBe(-1)
        const back = Choices.sharing(c, original)
        expect(back.nodes - back.shared).toBe(height + 1)
      }
      // recording a new site in a clone copies O(log n) nodes too (a split adds at most one per level)
      const r = original.clone()
      expect(r.record({ address: key(n) + "b", value: 0, logProb: 0 })).toBe(true)
      const s = Choices.sharing(original, r)
      expect(s.nodes - s.shared).toBeLessThanOrEqual(2 * (height + 1) + 1)
      expect(original.size).toBe(n)
      expect(r.size).toBe(n + 1)
      original.choices.checkValid(true)
      r.choices.checkValid(true)
    })
  }
})

describe("Trace error messages", () => {
  it("work for any offending value (exotic addresses included) and never throw", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const exotic = [Object.create(null), Symbol("s"), 10n, cyclic, undefined, null, () => 1, new Float64Array(3), "x".repeat(500)]
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.constantFrom(...exotic)), (value) => {
        const missing = new Trace.MissingAddressError({ address: value as string }).message
        const typed = new Trace.ChoiceTypeError({ address: value as string, expected: value as string, actual: "number" }).message
        expect(typeof missing).toBe("string")
        expect(typeof typed).toBe("string")
      }),
      { numRuns: 300, seed: 3 }
    )
    expect(new Trace.MissingAddressError({ address: "mu" }).message).toBe(`no choice at address "mu"`)
    expect(new Trace.ChoiceTypeError({ address: "mu", expected: "boolean", actual: "number" }).message).toBe(
      `choice at address "mu" is a number, expected a boolean`
    )
  })
})

describe("Trace buffer order (regression: exactly 32 choices out of order)", () => {
  it("every recorded choice is found after loading, whatever the count and order", () => {
    for (const n of [16, 17, 31, 32, 33, 63, 64, 65]) {
      for (const order of ["ascending", "descending", "shuffled"] as const) {
        const addresses = Array.from({ length: n }, (_, i) => `x${String(i).padStart(2, "0")}`)
        if (order === "descending") addresses.reverse()
        if (order === "shuffled") for (let i = n - 1; i > 0; i--) {
          const j = (i * 7919) % (i + 1)
          ;[addresses[i], addresses[j]] = [addresses[j], addresses[i]]
        }
        const trace = new Trace.Trace()
        for (const address of addresses) expect(trace.record({ address, value: 1, logProb: 0 })).toBe(true)
        for (const address of addresses) expect(trace.choices.get(address)?.address).toBe(address)
        expect(trace.choices.keysArray()).toEqual([...addresses].sort())
      }
    }
  })
})

describe("Trace.append, assign and adopt: a visit order, checked later", () => {
  const choice = (address: string, value = 0): Trace.Choice => ({ address, value, logProb: -1 })

  it("property: appends keep the visit order in `recorded`; a later read or record acts as record would have, or names the repeated address", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 5 }),
        fc.boolean(),
        (appended, recorded, preloaded, readFirst) => {
          const trace = Trace.make()
          // a filled tree under the buffer, or none
          for (const k of new Set(preloaded)) trace.record(choice(`p${k}`))
          if (preloaded.length > 0) void trace.choices
          const addresses = appended.map((k) => (k % 7 === 0 && preloaded.includes(k) ? `p${k}` : `k${k}`))
          for (const a of addresses) trace.append(choice(a))
          expect(trace.recorded.map((c) => c.address)).toEqual(addresses)
          const all = [...new Set(preloaded)].map((k) => `p${k}`).concat(addresses)
          const repeated = all.find((a, i) => all.indexOf(a) !== i)
          const act = (): void => {
            // (the model: the addresses so far; the trace itself is not read before the records)
            const model = new Set(all)
            if (readFirst) void trace.choices
            for (const k of recorded) {
              const a = `r${k}`
              expect(trace.record(choice(a))).toBe(!model.has(a))
              model.add(a)
            }
            void trace.choices
          }
          if (repeated !== undefined) {
            expect(act).toThrow(DuplicateAddressError)
            // again (a trace that failed its check stays unchecked): the first check to run names
            // a repeated address (not necessarily the first one)
            let thrown: unknown = undefined
            try {
              act()
            } catch (error) {
              thrown = error
            }
            expect(thrown).toBeInstanceOf(DuplicateAddressError)
            expect(all.filter((a) => a === (thrown as DuplicateAddressError).address).length).toBeGreaterThan(1)
            return
          }
          act()
          const expected = [...new Set(all.concat(recorded.map((k) => `r${k}`)))].sort()
          expect(Trace.addresses(trace)).toEqual(expected)
        }
      ),
      { numRuns: 300, seed: 11 }
    )
  })

  it("assign copies another trace's visit order and weights into its own buffer; adopt takes the array itself", () => {
    const source = Trace.make()
    for (let k = 40; k >= 0; k--) source.append(choice(`x${k}`, k))
    const copy = Trace.make()
    copy.record(choice("old"))
    copy.assign(source.recorded, -1, -2, -3)
    expect(copy.recorded).not.toBe(source.recorded)
    expect(copy.recorded).toEqual(source.recorded)
    expect([copy.logPrior, copy.logLikelihood, copy.logFactors]).toEqual([-1, -2, -3])
    copy.append(choice("y"))
    expect(source.recorded.length).toBe(41) // the source is untouched by the copy's appends
    expect(copy.size).toBe(42)
    expect(Trace.getNumberOrThrow(copy, "x7")).toBe(7)
    expect(Trace.get(copy, "old")).toBeUndefined()
    // a copy is checked as appends are: a repeated address is found when the tree is loaded
    const twice = Trace.make()
    twice.assign([choice("a"), choice("b"), choice("a")], 0, 0, 0)
    expect(() => twice.choices).toThrow(new DuplicateAddressError({ address: "a" }))
    const visits = [choice("b", 1), choice("a", 2)]
    const adopted = Trace.make()
    adopted.adopt(visits, 0, 0, 0)
    expect(adopted.recorded).toBe(visits)
    expect(Trace.addresses(adopted)).toEqual(["a", "b"])
    // clear forgets the unchecked state: records are checked one by one again
    adopted.clear()
    expect(adopted.record(choice("a"))).toBe(true)
    expect(adopted.record(choice("a"))).toBe(false)
  })
})
