import { describe, expect, it } from "@effect/vitest"
import * as Trace from "@fugue/runtime/Trace"
import * as Diagnostics from "../src/Diagnostics.ts"
import * as Posterior from "../src/Posterior.ts"

const traceOf = (values: Record<string, number | boolean | Float64Array>, logWeight = 0): Trace.Trace => {
  const t = Trace.make()
  for (const [address, value] of Object.entries(values)) t.record({ address, value, logProb: 0 })
  t.logLikelihood = logWeight
  return t
}

/** A posterior from per-site chains of draws (NaN = absent) and optional per-chain weights. */
const manual = (
  draws: Record<string, ReadonlyArray<ReadonlyArray<number>>>,
  weights?: ReadonlyArray<ReadonlyArray<number>>
): Posterior.Posterior<unknown> => {
  const sites = Object.keys(draws).sort()
  const first = draws[sites[0]]
  return {
    algorithm: weights ? "IS" : "MH",
    sites,
    draws: new Map(sites.map((s) => [s, draws[s].map((c) => Float64Array.from(c))])),
    returns: first.map((c) => c.map(() => undefined)),
    logWeights: first.map((c) => new Float64Array(c.length)),
    weights: weights?.map((w) => Float64Array.from(w)),
    logEvidence: undefined,
    stats: {}
  }
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
    expect(() => Posterior.chainsOf(post, "nope")).toThrow(Posterior.UnknownSiteError)
  })

  it("computes pooled mean, sd and quantiles of equally weighted draws", () => {
    expect(Posterior.mean(post, "a")).toBeCloseTo(3.5, 12)
    expect(Posterior.sd(post, "a")).toBeCloseTo(Math.sqrt(17.5 / 6), 12)
    // The library's quantile rule (R type 7): h = 5q between the order statistics 1..6.
    expect(Posterior.quantile(post, "a", 0.5)).toBe(3.5)
    expect(Posterior.quantile(post, "a", 0.25)).toBe(2.25)
    expect(Posterior.quantile(post, "a", 0)).toBe(1)
    expect(Posterior.quantile(post, "a", 1)).toBe(6)
    for (const q of [0, 0.1, 0.25, 0.5, 0.77, 1]) {
      expect(Posterior.quantile(post, "a", q)).toBe(Diagnostics.quantile(Posterior.pooled(post, "a"), q))
    }
    expect(Array.from(Posterior.pooled(post, "a"))).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("a site present in only some draws: every statistic is over the draws that have it", () => {
    // "v[0]" is 1, 3, 5 in chain 0 and 7, 9, (absent) in chain 1.
    const present = [1, 3, 5, 7, 9]
    expect(Posterior.presentDraws(post, "v[0]")).toEqual({ values: Float64Array.from(present), weights: undefined, missing: 1, ess: undefined })
    expect(Posterior.mean(post, "v[0]")).toBe(5)
    expect(Posterior.sd(post, "v[0]")).toBeCloseTo(Math.sqrt(40 / 5), 12)
    expect(Posterior.quantile(post, "v[0]", 0.5)).toBe(5)
    expect(Posterior.quantile(post, "v[0]", 0.9)).toBeCloseTo(8.2, 12)
    for (const f of [Posterior.mean, Posterior.sd]) expect(Number.isNaN(f(post, "v[0]"))).toBe(false)
    expect(Diagnostics.summary(post)[2]).toMatchObject({ site: "v[0]", mean: 5, q50: 5, missing: 1 })
  })

  it("a site present in only some draws of a weighted posterior: each chain's weights are renormalised over them", () => {
    // chain 0: x = 1 (w .5), absent (w .5); chain 1: x = 10 (w .2), 20 (w .8).
    const weighted = manual({ x: [[1, Number.NaN], [10, 20]] }, [[0.5, 0.5], [0.2, 0.8]])
    const pd = Posterior.presentDraws(weighted, "x")
    expect(Array.from(pd.values)).toEqual([1, 10, 20])
    expect(Array.from(pd.weights!)).toEqual([0.5, 0.1, 0.4])
    expect(pd.missing).toBe(1)
    expect(pd.ess).toBeCloseTo(1 + 1 / 0.68, 12)
    expect(Posterior.mean(weighted, "x")).toBeCloseTo(0.5 + 1 + 8, 12)
    expect(Posterior.quantile(weighted, "x", 0.5)).toBe(1)
    expect(Posterior.quantile(weighted, "x", 0.55)).toBe(10)
  })

  it("a site present in no draw is a NoDrawsError naming the site", () => {
    const empty = manual({ a: [[1, 2]], gone: [[Number.NaN, Number.NaN]] })
    for (const f of [
      () => Posterior.mean(empty, "gone"),
      () => Posterior.sd(empty, "gone"),
      () => Posterior.quantile(empty, "gone", 0.5),
      () => Posterior.presentDraws(empty, "gone")
    ]) {
      expect(f).toThrow(Posterior.NoDrawsError)
      expect(f).toThrow('site "gone" is absent from all 2 draws')
    }
    const zero = manual({ x: [[1, Number.NaN]] }, [[0, 1]])
    expect(() => Posterior.mean(zero, "x")).toThrow('site "x" is present in 1 of 2 draws, all of weight 0')
  })

  it("an unknown site is an UnknownSiteError naming it and the sites there are", () => {
    for (const f of [() => Posterior.mean(post, "nope"), () => Posterior.chainsOf(post, "nope"), () => Posterior.pooled(post, "nope")]) {
      expect(f).toThrow(Posterior.UnknownSiteError)
      expect(f).toThrow('posterior has no site "nope" (sites: "a", "flag", "v[0]", "v[1]")')
    }
  })

  it("quantile levels outside [0, 1] or not numbers are a PosteriorInputError naming the level", () => {
    for (const [q, shown] of [[2, "2"], [-0.1, "-0.1"], [Number.NaN, "NaN"], [Infinity, "Infinity"], ["0.5", '"0.5"'], [undefined, "undefined"]] as const) {
      const f = () => Posterior.quantile(post, "a", q as number)
      expect(f).toThrow(Posterior.PosteriorInputError)
      expect(f).toThrow(`Posterior.quantile: q = ${shown} must be a quantile level in [0, 1]`)
    }
  })

  it("moments of a site with an infinite draw are a PosteriorInputError; its quantiles are defined", () => {
    const inf = manual({ x: [[1, Infinity, 3]] })
    expect(() => Posterior.mean(inf, "x")).toThrow(Posterior.PosteriorInputError)
    expect(() => Posterior.sd(inf, "x")).toThrow(/a draw of "x" = Infinity makes the sd undefined/)
    expect(Posterior.quantile(inf, "x", 1)).toBe(Infinity)
  })

  it("error messages work for any offending value: Object.create(null), symbols", () => {
    const odd = [Object.create(null), Symbol("s"), { toString: () => { throw new Error("no") } }]
    for (const value of odd) {
      const errors = [
        new Posterior.UnknownSiteError({ site: value, sites: ["a"] }),
        new Posterior.PosteriorInputError({ getter: "quantile", input: "q", value, problem: "is odd" }),
        new Posterior.NoDrawsError({ site: value as string, draws: 1, present: 0 })
      ]
      for (const e of errors) expect(e.message).toMatch(/Object\(null prototype\) \{\}|Symbol\(s\)|\{toString: \[function toString\]\}/)
      // and the getters raise them with such values
      expect(() => Posterior.quantile(post, "a", value)).toThrow(Posterior.PosteriorInputError)
      expect(() => Posterior.mean(post, value)).toThrow(Posterior.UnknownSiteError)
      expect(() => Posterior.mean(value, "a")).toThrow(/Posterior.mean: posterior = .* is not a Posterior/)
    }
  })

  it("weights that do not fit the draws are a PosteriorInputError", () => {
    expect(() => Posterior.mean(manual({ x: [[1, 2]] }, [[0.5]]), "x")).toThrow(/posterior.weights\[0\] = Float64Array\(1\) \[0.5\] must hold one weight per draw/)
    expect(() => Posterior.mean(manual({ x: [[1, 2]] }, [[0.5, Number.NaN]]), "x")).toThrow(/weights\[0\]\[1\] = NaN/)
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
