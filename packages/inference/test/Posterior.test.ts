import { describe, expect, it } from "@effect/vitest"
import * as Trace from "@fugue/runtime/Trace"
import * as Posterior from "../src/Posterior.ts"

const traceOf = (values: Record<string, number | boolean | Float64Array>, logWeight = 0): Trace.Trace => {
  const t = Trace.make()
  for (const [address, value] of Object.entries(values)) t.record({ address, value, logProb: 0 })
  t.logLikelihood = logWeight
  return t
}

describe("Posterior", () => {
  const b = new Posterior.Builder<string>("TEST", 2, 3)
  const rows: Array<Array<Record<string, number | boolean | Float64Array>>> = [
    [{ a: 1, flag: true, v: new Float64Array([1, 2]) }, { a: 2, flag: false, v: new Float64Array([3, 4]) }, { a: 3, flag: true, v: new Float64Array([5, 6]) }],
    [{ a: 4, flag: false, v: new Float64Array([7, 8]) }, { a: 5, flag: true, v: new Float64Array([9, 10]) }, { a: 6 }]
  ]
  rows.forEach((chain, c) => chain.forEach((values, i) => b.record(c, i, traceOf(values, -i), `r${c}${i}`)))
  const post = b.build({ stats: { note: 1 } })

  it("stores draws per site per chain, booleans as 0/1, vectors flattened, absent sites as NaN", () => {
    expect(post.sites).toEqual(["a", "flag", "v[0]", "v[1]"])
    expect(Array.from(Posterior.chainsOf(post, "a")[1])).toEqual([4, 5, 6])
    expect(Array.from(Posterior.chainsOf(post, "flag")[0])).toEqual([1, 0, 1])
    expect(Array.from(Posterior.chainsOf(post, "v[1]")[0])).toEqual([2, 4, 6])
    expect(Number.isNaN(Posterior.chainsOf(post, "v[0]")[1][2])).toBe(true)
    expect(post.returns[1][2]).toBe("r12")
    expect(Array.from(post.logWeights[0])).toEqual([0, -1, -2])
    expect(() => Posterior.chainsOf(post, "nope")).toThrow(/nope/)
  })

  it("computes pooled mean, sd and quantiles of equally weighted draws", () => {
    expect(Posterior.mean(post, "a")).toBeCloseTo(3.5, 12)
    expect(Posterior.sd(post, "a")).toBeCloseTo(Math.sqrt(17.5 / 6), 12)
    expect(Posterior.quantile(post, "a", 0.5)).toBe(3)
    expect(Posterior.quantile(post, "a", 1)).toBe(6)
    expect(Array.from(Posterior.pooled(post, "a"))).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("uses normalised weights where the posterior has them", () => {
    const wb = new Posterior.Builder("IS", 1, 3)
    ;[0, 10, 20].forEach((x, i) => wb.record(0, i, traceOf({ x }), null))
    const weighted = wb.build({ weights: [new Float64Array([0.5, 0.25, 0.25])], logEvidence: [-1] })
    expect(Posterior.mean(weighted, "x")).toBeCloseTo(7.5, 12)
    expect(Posterior.sd(weighted, "x")).toBeCloseTo(Math.sqrt(0.5 * 56.25 + 0.25 * 6.25 + 0.25 * 156.25), 12)
    expect(Posterior.quantile(weighted, "x", 0.5)).toBe(0)
    expect(Posterior.quantile(weighted, "x", 0.6)).toBe(10)
  })

  it("converts to columns and to plain JSON that round-trips through JSON.stringify", () => {
    const cols = Posterior.toColumns(post)
    expect(cols.chain).toEqual([0, 0, 0, 1, 1, 1])
    expect(cols.a).toEqual([1, 2, 3, 4, 5, 6])
    const json = JSON.parse(JSON.stringify(Posterior.toJSON(post)))
    expect(json.draws.a).toEqual([[1, 2, 3], [4, 5, 6]])
    expect(json.weights).toBeNull()
    expect(json.stats).toEqual({ note: 1 })
  })
})
