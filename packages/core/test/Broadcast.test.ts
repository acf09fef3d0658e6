// Broadcast families: a family constructor given arrays is n independent coordinates. Checked:
// the log density is the sum of the scalar family's log densities (to rounding: the kernel and
// `logProb` are separate formulas, so a relative 1e-12), every coordinate's parameters are
// validated as the scalar constructor validates them with the index named, values of the wrong
// length or type are not values, draws have each coordinate's mean (within 4 standard errors),
// the product bijection round-trips with the sum of the coordinates' Jacobians, and under a
// recording tape the gradient equals the loop of scalar observations'.
import { describe, expect, it } from "@effect/vitest"
import * as Ad from "../src/Ad.ts"
import * as Bijection from "../src/Bijection.ts"
import { InvalidDistributionError, type Distribution } from "../src/Distribution.ts"
import {
  Bernoulli,
  BernoulliLogit,
  Beta,
  Binomial,
  BinomialLogit,
  BroadcastDistribution,
  Cauchy,
  ChiSquared,
  Exponential,
  Gamma,
  Geometric,
  HalfCauchy,
  HalfNormal,
  iid,
  InverseGamma,
  isBroadcast,
  Categorical,
  Laplace,
  LogNormal,
  NegativeBinomial,
  Normal,
  Poisson,
  PoissonLog,
  StudentT,
  Weibull
} from "../src/distributions/index.ts"
import * as Rng from "../src/Rng.ts"

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)))

type Case = {
  readonly name: string
  /** The broadcast distribution over the parameter arrays, and coordinate i's scalar distribution. */
  readonly vector: (ps: ReadonlyArray<ReadonlyArray<number>>) => BroadcastDistribution
  readonly scalar: (ps: ReadonlyArray<number>) => Distribution<number> | Distribution<boolean>
  /** A valid parameter vector for coordinate i. */
  readonly params: (i: number) => ReadonlyArray<number>
}

const cases: ReadonlyArray<Case> = [
  { name: "Normal", vector: ([a, b]) => Normal(a!, b!), scalar: ([a, b]) => Normal(a!, b!), params: (i) => [i - 2, 0.5 + i] },
  { name: "StudentT", vector: ([a, b, c]) => StudentT(a!, b!, c!), scalar: ([a, b, c]) => StudentT(a!, b!, c!), params: (i) => [1 + i, i, 2] },
  { name: "Cauchy", vector: ([a, b]) => Cauchy(a!, b!), scalar: ([a, b]) => Cauchy(a!, b!), params: (i) => [i, 1 + i] },
  { name: "Laplace", vector: ([a, b]) => Laplace(a!, b!), scalar: ([a, b]) => Laplace(a!, b!), params: (i) => [-i, 1 + i] },
  { name: "LogNormal", vector: ([a, b]) => LogNormal(a!, b!), scalar: ([a, b]) => LogNormal(a!, b!), params: (i) => [0.1 * i, 0.3 + 0.1 * i] },
  { name: "HalfNormal", vector: ([a]) => HalfNormal(a!), scalar: ([a]) => HalfNormal(a!), params: (i) => [1 + i] },
  { name: "HalfCauchy", vector: ([a]) => HalfCauchy(a!), scalar: ([a]) => HalfCauchy(a!), params: (i) => [1 + i] },
  { name: "Exponential", vector: ([a]) => Exponential(a!), scalar: ([a]) => Exponential(a!), params: (i) => [0.5 + i] },
  { name: "Gamma", vector: ([a, b]) => Gamma(a!, b!), scalar: ([a, b]) => Gamma(a!, b!), params: (i) => [1 + i, 2] },
  { name: "InverseGamma", vector: ([a, b]) => InverseGamma(a!, b!), scalar: ([a, b]) => InverseGamma(a!, b!), params: (i) => [2 + i, 1] },
  { name: "Beta", vector: ([a, b]) => Beta(a!, b!), scalar: ([a, b]) => Beta(a!, b!), params: (i) => [1 + i, 2] },
  { name: "Weibull", vector: ([a, b]) => Weibull(a!, b!), scalar: ([a, b]) => Weibull(a!, b!), params: (i) => [1 + 0.5 * i, 2] },
  { name: "ChiSquared", vector: ([a]) => ChiSquared(a!), scalar: ([a]) => ChiSquared(a!), params: (i) => [1 + i] },
  { name: "Bernoulli", vector: ([a]) => Bernoulli(a!), scalar: ([a]) => Bernoulli(a!), params: (i) => [0.1 + 0.2 * i] },
  { name: "BernoulliLogit", vector: ([a]) => BernoulliLogit(a!), scalar: ([a]) => BernoulliLogit(a!), params: (i) => [i - 2] },
  { name: "Binomial", vector: ([a, b]) => Binomial(a!, b!), scalar: ([a, b]) => Binomial(a!, b!), params: (i) => [5 + i, 0.3] },
  { name: "BinomialLogit", vector: ([a, b]) => BinomialLogit(a!, b!), scalar: ([a, b]) => BinomialLogit(a!, b!), params: (i) => [5 + i, i - 2] },
  { name: "Poisson", vector: ([a]) => Poisson(a!), scalar: ([a]) => Poisson(a!), params: (i) => [0.5 + i] },
  { name: "PoissonLog", vector: ([a]) => PoissonLog(a!), scalar: ([a]) => PoissonLog(a!), params: (i) => [i - 1] },
  { name: "NegativeBinomial", vector: ([a, b]) => NegativeBinomial(a!, b!), scalar: ([a, b]) => NegativeBinomial(a!, b!), params: (i) => [1 + i, 0.4] },
  { name: "Geometric", vector: ([a]) => Geometric(a!), scalar: ([a]) => Geometric(a!), params: (i) => [0.2 + 0.1 * i] }
]

const N = 5

describe("broadcast families", () => {
  for (const c of cases) {
    it(`${c.name}: log density = Σ of the scalar family's, values drawn per coordinate, moments per coordinate`, () => {
      const per = Array.from({ length: N }, (_, i) => c.params(i))
      const columns = per[0]!.map((_, k) => per.map((p) => p[k]!))
      const d = c.vector(columns)
      expect(isBroadcast(d)).toBe(true)
      expect(d.length).toBe(N)
      expect(d.family).toBe(c.name)
      expect(d.kind).toBe("vector")
      const rng = Rng.make(7)
      for (let rep = 0; rep < 20; rep++) {
        const x = d.sample(rng)
        expect(x).toBeInstanceOf(Float64Array)
        expect(x.length).toBe(N)
        expect(d.isValue(x)).toBe(true)
        let sum = 0
        for (let i = 0; i < N; i++) {
          const s = c.scalar(per[i]!) as Distribution<unknown>
          const v = s.kind === "boolean" ? x[i] === 1 : x[i]
          sum += s.logProb(v)
        }
        close(d.logProb(x), sum)
      }
      // moments are the coordinates' (undefined when some coordinate's is)
      const moments = (f: (d: Distribution<unknown>) => unknown) => per.map((p) => f(c.scalar(p) as Distribution<unknown>) as number | undefined)
      for (const [vector, scalars] of [[d.mean(), moments((s) => s.mean())], [d.variance(), moments((s) => s.variance())]] as const) {
        if (scalars.some((m) => m === undefined)) expect(vector).toBeUndefined()
        else expect([...vector!]).toEqual(scalars)
      }
    })
  }

  it("broadcasts scalar parameters against arrays, and accepts Float64Array, number and boolean arrays", () => {
    const mus = [0, 1, 2]
    const d = Normal(mus, 2)
    const x = [0.5, 1.5, -1]
    close(d.logProb(x), x.reduce((s, xi, i) => s + Normal(mus[i]!, 2).logProb(xi), 0))
    close(Normal(Float64Array.from(mus), 2).logProb(Float64Array.from(x)), d.logProb(x))
    close(Normal(0, [1, 2, 3]).logProb(x), x.reduce((s, xi, i) => s + Normal(0, i + 1).logProb(xi), 0))
    const b = Bernoulli([0.2, 0.7])
    close(b.logProb([true, false] as never), Math.log(0.2) + Math.log(0.3))
    expect(b.logProb([1, 0])).toBe(b.logProb([true, false] as never))
    expect(b.isValue([true, false])).toBe(true)
    expect(Normal([0, 1], 1).isValue([true, false])).toBe(false)
  })

  it("values of the wrong length or type are not values, and score −∞", () => {
    const d = Normal([0, 1, 2], 1)
    expect(d.isValue([1, 2])).toBe(false)
    expect(d.isValue([1, 2, "3"])).toBe(false)
    expect(d.isValue(3)).toBe(false)
    expect(d.logProb([1, 2] as never)).toBe(-Infinity)
    expect(d.logProb([1, 2, Number.NaN])).toBe(-Infinity)
    expect(Poisson([1, 2]).logProb([1, 2.5])).toBe(-Infinity)
  })

  it("validates every coordinate's parameters as the scalar family does, naming the index", () => {
    const error = (f: () => unknown): InvalidDistributionError => {
      try {
        f()
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidDistributionError)
        return e as InvalidDistributionError
      }
      throw new Error("no error")
    }
    const e = error(() => Normal([0, 1, 2, 3], [1, 1, 1, -1]))
    expect(e.family).toBe("Normal")
    expect(e.parameter).toBe("sigma[3]")
    expect(e.value).toBe(-1)
    expect(e.message).toContain("sigma[3] = -1")
    expect(error(() => Normal([0, Number.NaN], 1)).parameter).toBe("mu[1]")
    expect(error(() => Normal([0, 1], 0)).parameter).toBe("sigma")
    expect(error(() => Bernoulli([0.5, 1.5])).parameter).toBe("p[1]")
    expect(error(() => Binomial([3, 2.5], 0.5)).parameter).toBe("n[1]")
    expect(error(() => Geometric([0.5, 0])).parameter).toBe("p[1]")
    expect(error(() => Poisson([1, -1])).parameter).toBe("rate[1]")
    expect(error(() => Normal([0, "1"] as never, 1)).parameter).toBe("mu[1]")
    const lengths = error(() => Normal([0, 1, 2], [1, 2]))
    expect(lengths.parameter).toBe("sigma")
    expect(lengths.reason).toContain("length 2")
  })

  it("draws have each coordinate's mean (within 4 standard errors)", () => {
    const rates = [0.5, 3, 20]
    const d = Poisson(rates)
    const rng = Rng.make(11)
    const n = 20_000
    const sums = [0, 0, 0]
    for (let k = 0; k < n; k++) {
      const x = d.sample(rng)
      for (let i = 0; i < 3; i++) sums[i] += x[i]!
    }
    // Poisson: variance = rate, so the mean of n draws has standard error √(rate / n)
    for (let i = 0; i < 3; i++) expect(Math.abs(sums[i]! / n - rates[i]!)).toBeLessThan(4 * Math.sqrt(rates[i]! / n))
  })

  it("iid(dist, n): n copies of a scalar distribution with its parameters (differentiable ones tracked); non-broadcasting families refused", () => {
    const d = iid(Normal(1, 2), 3)
    expect(d.length).toBe(3)
    close(d.logProb([0, 1, 2]), [0, 1, 2].reduce((a, x) => a + Normal(1, 2).logProb(x), 0))
    close(iid(StudentT(3, 1, 2), 2).logProb([0, 4]), StudentT(3, 1, 2).logProb(0) + StudentT(3, 1, 2).logProb(4))
    close(iid(Binomial(10, 0.3), 2).logProb([3, 4]), Binomial(10, 0.3).logProb(3) + Binomial(10, 0.3).logProb(4))
    expect(iid(Poisson(2), 0).logProb([])).toBe(0)
    expect(() => iid(Categorical([0.5, 0.5]), 3)).toThrow(/Categorical does not broadcast/)
    expect(() => iid(Normal(0, 1), -1)).toThrow(InvalidDistributionError)
    const tape = new Ad.Tape()
    tape.begin(1)
    const mu = tape.leaf(0, 0.5)
    const tracked = iid(Normal(mu, 1), 4)
    tape.end()
    expect(tape.distributions.get(tracked)).toEqual([mu, 1])
    expect(tracked.parameter(0, 3)).toBe(0.5)
  })

  it("the product bijection maps each coordinate by its own transform, log |det J| the sum", () => {
    const d = Gamma([1, 2, 3], 1)
    const b = Bijection.of(d.support) as Bijection.Vector
    expect(b._tag).toBe("Vector")
    expect(b.dimension).toBe(3)
    const u = new Float64Array([-0.5, 0, 1.5]), x = new Float64Array(3), back = new Float64Array(3)
    const logJ = b.forward(u, 0, x)
    // positive coordinates: x = e^u, log |dx/du| = u
    for (let i = 0; i < 3; i++) close(x[i]!, Math.exp(u[i]!))
    close(logJ, -0.5 + 0 + 1.5)
    b.inverse(x, back, 0)
    for (let i = 0; i < 3; i++) close(back[i]!, u[i]!)
    expect(Bijection.of(Poisson([1, 2]).support)).toBeUndefined()
  })

  it("under a recording tape, records its differentiable operands; its parameters are their values", () => {
    const tape = new Ad.Tape()
    tape.begin(2)
    const a = tape.leaf(0, 0.4), s = tape.leaf(1, 0.8)
    const means = [0.3, -1.2, 2.5].map((x) => Ad.add(a, x))
    const d = Normal(means, s)
    tape.end()
    expect(tape.distributions.get(d)).toEqual([means, s])
    expect([0, 1, 2].map((i) => d.parameter(0, i))).toEqual(means.map((m) => (m as Ad.Node).value))
    expect(d.parameter(1, 2)).toBe(0.8)
    expect(tape.escaped).toBe(-1)
    // outside a recording nothing is tracked
    expect(Normal([1, 2], 1).logProb([1, 2])).toBe(2 * Normal(0, 1).logProb(0))
  })
})
