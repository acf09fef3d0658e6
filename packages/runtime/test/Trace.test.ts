import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
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
