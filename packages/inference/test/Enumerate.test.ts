// Exact enumeration: every answer here is exact (checked to rounding, 1e-12), derived by hand in
// the comments or by an independent computation (a direct sum, the forward algorithm).
import { describe, expect, it } from "@effect/vitest"
import { Bernoulli, Binomial, Categorical, DiscreteUniform, factor, Geometric, Marginal, Normal, observe, Poisson, sample } from "@fugue/core"
import { keyOf } from "@fugue/core/distributions/Marginal"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import * as Combinators from "@fugue/runtime/Combinators"
import { Interpreter } from "@fugue/runtime/Interpreter"
import * as RuntimeRng from "@fugue/runtime/Rng"
import { Effect, Layer } from "effect"
import * as Enumerate from "../src/Enumerate.ts"
import { InvalidOptionsError, ZeroWeightError } from "../src/Options.ts"

// two fair coins, at least one heads: P(both | at least one) = (1/4)/(3/4) = 1/3, evidence 3/4
const twoCoins: Model<boolean> = function*() {
  const a = yield* sample("a", Bernoulli(0.5))
  const b = yield* sample("b", Bernoulli(0.5))
  yield* factor(a || b ? 0 : -Infinity)
  return a && b
}

describe("Enumerate.runUnsafe", () => {
  it("two coins: P(both | at least one) = 1/3 and the evidence is 3/4, exactly; the −∞ path is pruned", () => {
    const r = Enumerate.runUnsafe(twoCoins)
    expect(r.distribution.probability(true)).toBeCloseTo(1 / 3, 14)
    expect(r.distribution.probability(false)).toBeCloseTo(2 / 3, 14)
    expect(r.logEvidence).toBeCloseTo(Math.log(3 / 4), 14)
    expect(r.map).toBe(false)
    expect([r.paths, r.pruned, r.executions, r.complete]).toEqual([3, 1, 4, true])
    expect(r.warnings).toEqual([])
    expect(r.mapExecution.logWeight).toBeCloseTo(Math.log(1 / 4), 14)
  })

  it("two dice with a factor: sum ≥ 10 leaves 6 of 36 pairs, P(first = 6) = 3/6, evidence 6/36 (exact)", () => {
    const dice: Model<number> = function*() {
      const a = yield* sample("a", DiscreteUniform(1, 6))
      const b = yield* sample("b", DiscreteUniform(1, 6))
      yield* factor(a + b >= 10 ? 0 : -Infinity)
      return a
    }
    const r = Enumerate.runUnsafe(dice)
    expect(r.distribution.probability(6)).toBeCloseTo(3 / 6, 14)
    expect(r.distribution.probability(5)).toBeCloseTo(2 / 6, 14)
    expect(r.distribution.probability(4)).toBeCloseTo(1 / 6, 14)
    expect(r.logEvidence).toBeCloseTo(Math.log(6 / 36), 14)
    expect([r.paths, r.pruned]).toEqual([6, 30])
  })

  it("depth-first runs one execution per leaf; every strategy gives the same distribution and evidence (to 1e-12)", () => {
    // three dependent choices: k ~ DiscreteUniform(0, 3), j ~ Binomial(k, 0.3), c ~ Categorical over 3
    const model: Model<number> = function*() {
      const k = yield* sample("k", DiscreteUniform(0, 3))
      const j = yield* sample("j", Binomial(k, 0.3))
      const c = yield* sample("c", Categorical([1, 2, 3]))
      yield* observe("y", Poisson(1 + j + c), 2)
      return j + c
    }
    const dfs = Enumerate.runUnsafe(model)
    // leaves: Σ_k (k + 1) · 3 = (1 + 2 + 3 + 4) · 3 = 30
    expect(dfs.executions).toBe(30)
    expect(dfs.paths).toBe(30)
    for (const strategy of ["breadthFirst", "likelyFirst"] as const) {
      const other = Enumerate.runUnsafe(model, { strategy })
      expect(other.logEvidence).toBeCloseTo(dfs.logEvidence, 12)
      for (const v of dfs.distribution.values) expect(other.distribution.probability(v)).toBeCloseTo(dfs.distribution.probability(v), 12)
    }
    // the evidence by a direct sum over the same tree
    const pois = (lambda: number, y: number) => Math.exp(-lambda) * lambda ** y / 2
    let z = 0
    for (let k = 0; k <= 3; k++) {
      for (let j = 0; j <= k; j++) {
        const pj = binomial(k, j) * 0.3 ** j * 0.7 ** (k - j)
        for (let c = 0; c < 3; c++) z += 0.25 * pj * ((c + 1) / 6) * pois(1 + j + c, 2)
      }
    }
    expect(dfs.logEvidence).toBeCloseTo(Math.log(z), 12)
  })

  it("an HMM's last-state marginal equals the forward algorithm's (to 1e-12)", () => {
    const T = 6
    const stay = 0.8, emit = [0.9, 0.2] // P(x_t = x_{t−1}), P(y = 1 | x)
    const ys = [1, 1, 0, 1, 0, 0]
    const hmm: Model<number> = function*() {
      let x = (yield* sample("x0", Bernoulli(0.5))) ? 1 : 0
      for (let t = 0; t < T; t++) {
        if (t > 0) x = (yield* sample(`x${t}`, Bernoulli(stay))) ? x : 1 - x
        yield* observe(`y${t}`, Bernoulli(emit[x]!), ys[t] === 1)
      }
      return x
    }
    // forward algorithm: α_t(x) = P(y_t | x) Σ_x' α_{t−1}(x') P(x | x')
    let alpha = [0.5, 0.5].map((p, x) => p * (ys[0] === 1 ? emit[x]! : 1 - emit[x]!))
    for (let t = 1; t < T; t++) {
      alpha = [0, 1].map((x) => (ys[t] === 1 ? emit[x]! : 1 - emit[x]!) * (alpha[x]! * stay + alpha[1 - x]! * (1 - stay)))
    }
    const z = alpha[0]! + alpha[1]!
    const r = Enumerate.runUnsafe(hmm)
    expect(r.logEvidence).toBeCloseTo(Math.log(z), 12)
    expect(r.distribution.probability(1)).toBeCloseTo(alpha[1]! / z, 12)
  })

  it("truncates an infinite support and reports the mass left out; the posterior matches a direct sum (to 1e-9)", () => {
    // k ~ Poisson(3), y | k ~ Poisson(k + 1) observed at 4
    const model: Model<number> = function*() {
      const k = yield* sample("k", Poisson(3))
      yield* observe("y", Poisson(k + 1), 4)
      return k
    }
    const r = Enumerate.runUnsafe(model, { truncation: 1e-12 })
    expect(r.complete).toBe(false)
    expect(r.truncatedLogWeight).toBeLessThan(Math.log(1e-12))
    expect(r.warnings[0]).toMatch(/truncated/)
    const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1))
    const pois = (l: number, k: number) => Math.exp(-l) * l ** k / fact(k)
    let z = 0, m = 0
    for (let k = 0; k < 60; k++) {
      const w = pois(3, k) * pois(k + 1, 4)
      z += w
      m += k * w
    }
    expect(r.logEvidence).toBeCloseTo(Math.log(z), 9)
    expect(r.distribution.mean()!).toBeCloseTo(m / z, 9)
    // Geometric: an infinite support from 0 too
    // Geometric(1/2) from 0: truncated where the mass left, 2^-(k+1), falls below 1e-9 — k = 29,
    // leaving 2^-30 ≈ 9.3e-10, which is the reported mass left out
    const g = Enumerate.runUnsafe(function*() {
      return yield* sample("n", Geometric(0.5))
    })
    expect(g.distribution.values.length).toBe(30)
    expect(Math.exp(g.truncatedLogWeight)).toBeCloseTo(2 ** -30, 20)
    expect(g.distribution.probability(0)).toBeCloseTo(0.5 / (1 - 2 ** -30), 14)
  })

  it("likely-first under maxExecutions keeps the heaviest paths and reports the unexplored weight", () => {
    // 10 coins of bias 0.9: the all-heads path is the most probable
    const coins: Model<number> = function*() {
      let heads = 0
      for (let i = 0; i < 10; i++) if (yield* sample(`c${i}`, Bernoulli(0.9))) heads++
      return heads
    }
    const full = Enumerate.runUnsafe(coins)
    expect(full.executions).toBe(1024)
    const cut = Enumerate.runUnsafe(coins, { strategy: "likelyFirst", maxExecutions: 60 })
    expect(cut.complete).toBe(false)
    expect(cut.warnings[0]).toMatch(/maxExecutions 60 reached/)
    // best-first: an execution only goes on down a branch that is the heaviest in the frontier,
    // so leaves are completed in decreasing order of weight: the p paths found are the p heaviest
    // of the 1024 leaves (weights 0.9^h · 0.1^(10 − h))
    const leaves: Array<number> = []
    for (let mask = 0; mask < 1024; mask++) {
      let h = 0
      for (let i = 0; i < 10; i++) if (mask & (1 << i)) h++
      leaves.push(0.9 ** h * 0.1 ** (10 - h))
    }
    leaves.sort((a, b) => b - a)
    expect(cut.paths).toBeGreaterThan(10)
    expect(Math.exp(cut.logEvidence)).toBeCloseTo(leaves.slice(0, cut.paths).reduce((a, b) => a + b, 0), 12)
    // explored + unexplored weight = 1 (no observations: prefix weights are prior probabilities)
    expect(Math.exp(cut.logEvidence) + Math.exp(cut.unexploredLogWeight)).toBeCloseTo(1, 12)
  })

  it("handler transformations apply: condition by option equals the hand-conditioned model; block is refused", () => {
    const generative: Model<boolean> = function*() {
      const rain = yield* sample("rain", Bernoulli(0.2))
      yield* sample("wet", Bernoulli(rain ? 0.9 : 0.1))
      return rain
    }
    // P(rain | wet) = 0.2·0.9 / (0.2·0.9 + 0.8·0.1) = 0.18/0.26
    const r = Enumerate.runUnsafe(generative, { transform: (h) => Combinators.condition(h, { wet: true }) })
    expect(r.distribution.probability(true)).toBeCloseTo(0.18 / 0.26, 14)
    expect(() => Enumerate.runUnsafe(generative, { transform: (h, rng) => Combinators.block(h, ["wet"], rng) })).toThrow(Enumerate.RandomnessInEnumerationError)
  })

  it("errors: a continuous site names itself; all paths impossible is ZeroWeightError; bad options are InvalidOptionsError", () => {
    expect(() => Enumerate.runUnsafe(function*() {
      yield* sample("x", Normal(0, 1))
    })).toThrow(/latent site "x" \(Normal, support .*Real.*\) cannot be enumerated/)
    expect(() => Enumerate.runUnsafe(function*() {
      yield* sample("a", Bernoulli(0.5))
      yield* factor(-Infinity)
    })).toThrow(ZeroWeightError)
    expect(() => Enumerate.runUnsafe(twoCoins, { strategy: "random" as "depthFirst" })).toThrow(InvalidOptionsError)
    expect(() => Enumerate.runUnsafe(twoCoins, { maxExecution: 3 } as Enumerate.Options)).toThrow(/did you mean `maxExecutions`/)
    expect(() => Enumerate.runUnsafe(twoCoins, { truncation: 0 })).toThrow(InvalidOptionsError)
    expect(() => Enumerate.runUnsafe(function*() {
      yield* sample("a", Bernoulli(0.5))
      return () => 1
    })).toThrow(/cannot compare/)
  })
})

describe("Enumerate.run (Effect)", () => {
  it.effect("equals runUnsafe, with the Interpreter layers applied", () =>
    Effect.gen(function*() {
      const generative: Model<boolean> = function*() {
        const rain = yield* sample("rain", Bernoulli(0.2))
        yield* sample("wet", Bernoulli(rain ? 0.9 : 0.1))
        return rain
      }
      const layer = Interpreter.layerCondition({ wet: true }).pipe(Layer.provide(Interpreter.layerPrior), Layer.provide(RuntimeRng.Rng.layer))
      const r = yield* Enumerate.run(generative).pipe(Effect.provide(layer))
      expect(r.distribution.probability(true)).toBeCloseTo(0.18 / 0.26, 14)
      const plain = yield* Enumerate.run(twoCoins, { strategy: "likelyFirst" })
      expect(plain.distribution.probability(true)).toBeCloseTo(1 / 3, 14)
    }))
})

describe("Marginal", () => {
  it("merges structurally equal values (any key order), drops −∞, ranks by probability, and scores absent values −∞", () => {
    const d = Marginal([{ a: 1, b: [true] }, "x", { b: [true], a: 1 }, 3], [Math.log(0.2), Math.log(0.3), Math.log(0.1), -Infinity])
    expect(d.values.length).toBe(2)
    expect(d.probability({ b: [true], a: 1 })).toBeCloseTo(0.3 / 0.6, 15)
    expect(d.probability("x")).toBeCloseTo(0.5, 15)
    expect(d.logProb(3)).toBe(-Infinity)
    expect(d.logProb({ a: 2 } as never)).toBe(-Infinity)
    expect(d.kind).toBe("value")
    expect(keyOf(-0)).not.toBe(keyOf(0))
    expect(keyOf(new Float64Array([1, 2]))).toBe(keyOf([1, 2]))
    expect(() => Marginal([1], [Number.NaN])).toThrow(/Marginal: invalid parameter logWeights/)
    expect(() => Marginal([1, 2], [0])).toThrow(/one entry per value/)
    expect(() => Marginal([1], [-Infinity])).toThrow(/at least one finite/)
  })

  it("samples each value with its probability (frequencies within 5 binomial standard errors over 40 000 draws)", () => {
    const d = Marginal([0, 1, 2], [Math.log(0.5), Math.log(0.3), Math.log(0.2)])
    expect(d.kind).toBe("integer")
    expect(d.mean()).toBeCloseTo(0.3 + 0.4, 14)
    const rng = CoreRng.make(4)
    const n = 40_000
    const counts = [0, 0, 0]
    for (let i = 0; i < n; i++) counts[d.sample(rng)]!++
    ;[0.5, 0.3, 0.2].forEach((p, k) => expect(Math.abs(counts[k]! / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n)))
  })
})

const binomial = (n: number, k: number): number => {
  let c = 1
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1)
  return c
}
