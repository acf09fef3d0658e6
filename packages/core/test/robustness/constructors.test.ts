/**
 * Every constructor fed what it must refuse: NaN, ±∞, negatives, zeros where a parameter must be
 * positive, wrong types (strings, booleans, null, undefined, objects, Object.create(null), Symbol,
 * BigInt, functions), empty, ragged, sparse, cyclic and hostile arrays. Each gives an
 * InvalidDistributionError naming the family and the parameter, carrying the value, whose
 * `message` (and String(error)) works for any value. A property test feeds random garbage into
 * every parameter slot: the result is either a distribution (the values were valid) or that
 * typed error, never another exception, never a hang.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { InvalidDistributionError } from "../../src/Distribution.ts"
import * as F from "../../src/distributions/index.ts"

type Ctor = (...args: Array<any>) => unknown

/** Each constructor with a valid argument list and the names of its parameters. */
const CONSTRUCTORS: ReadonlyArray<[string, Ctor, ReadonlyArray<unknown>, ReadonlyArray<string>]> = [
  ["Normal", F.Normal, [0, 1], ["mu", "sigma"]],
  ["LogNormal", F.LogNormal, [0, 1], ["mu", "sigma"]],
  ["Uniform", F.Uniform, [0, 1], ["low", "high"]],
  ["Exponential", F.Exponential, [1], ["rate"]],
  ["Gamma", F.Gamma, [2, 1], ["shape", "rate"]],
  ["Beta", F.Beta, [2, 2], ["alpha", "beta"]],
  ["Bernoulli", F.Bernoulli, [0.5], ["p"]],
  ["Binomial", F.Binomial, [10, 0.5], ["n", "p"]],
  ["Categorical", F.Categorical, [[1, 2]], ["probs"]],
  ["Poisson", F.Poisson, [3], ["rate"]],
  ["Cauchy", F.Cauchy, [0, 1], ["loc", "scale"]],
  ["HalfCauchy", F.HalfCauchy, [1], ["scale"]],
  ["HalfNormal", F.HalfNormal, [1], ["sigma"]],
  ["StudentT", F.StudentT, [3, 0, 1], ["df", "loc", "scale"]],
  ["Laplace", F.Laplace, [0, 1], ["loc", "scale"]],
  ["Weibull", F.Weibull, [2, 1], ["shape", "scale"]],
  ["ChiSquared", F.ChiSquared, [3], ["df"]],
  ["InverseGamma", F.InverseGamma, [3, 2], ["shape", "scale"]],
  ["DiscreteUniform", F.DiscreteUniform, [1, 6], ["low", "high"]],
  ["Geometric", F.Geometric, [0.5], ["p"]],
  ["NegativeBinomial", F.NegativeBinomial, [2, 0.5], ["r", "p"]],
  ["Dirichlet", F.Dirichlet, [[1, 2]], ["alpha"]],
  ["Multinomial", F.Multinomial, [5, [1, 2]], ["n", "probs"]],
  ["MultivariateNormal", F.MultivariateNormal, [[0, 0], [[1, 0], [0, 1]]], ["mean", "covariance"]]
]

const cyclic: Array<unknown> = [1]
cyclic.push(cyclic)
const hostile = new Proxy([1, 2], {
  get() {
    throw new Error("hostile getter")
  }
})

/** Values no numeric or array parameter accepts. */
const EXOTIC: ReadonlyArray<unknown> = [
  Number.NaN, Infinity, -Infinity, "1", "", true, null, undefined, {}, Object.create(null), Symbol("s"), 10n, () => 1,
  new Date(0), cyclic, hostile, { length: 1e9 }, { length: -1 }, { length: 2.5 }
]

/** Calls `make`, returning the InvalidDistributionError it throws (failing on anything else). */
const invalid = (make: () => unknown): InvalidDistributionError => {
  let error: unknown
  try {
    make()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(InvalidDistributionError)
  return error as InvalidDistributionError
}

/** The error's message and String form work, name the family and the parameter. */
const checkError = (e: InvalidDistributionError, family: string, parameter: string): void => {
  expect(e._tag).toBe("InvalidDistributionError")
  expect(e.family).toBe(family)
  expect(e.parameter).toBe(parameter)
  expect(e.message).toContain(`${family}: invalid parameter ${parameter} = `)
  expect(String(e)).toContain(family)
}

describe("constructors reject every bad parameter with a typed error naming it", () => {
  for (const [family, make, valid, names] of CONSTRUCTORS) {
    it(`${family}: NaN, ±∞ and exotic values in each parameter`, () => {
      for (let slot = 0; slot < names.length; slot++) {
        for (const bad of EXOTIC) {
          const args = valid.slice()
          args[slot] = bad
          // StudentT's loc and scale default when undefined: that is a valid call.
          if (bad === undefined && family === "StudentT" && slot > 0) continue
          const e = invalid(() => make(...args))
          // an array where a scalar family takes a number broadcasts it, and a bad entry is
          // named with its index (cyclic = [1, cyclic]: entry 1)
          const broadcasts = Array.isArray(bad) && e.parameter === `${names[slot]}[1]` && bad === cyclic
          checkError(e, family, broadcasts ? `${names[slot]}[1]` : names[slot])
          expect(e.value === bad || Number.isNaN(bad as number)).toBe(true)
        }
      }
    })
  }

  const NUMERIC_CASES: ReadonlyArray<[string, () => unknown, string]> = [
    ["Normal", () => F.Normal(0, 0), "sigma"],
    ["Normal", () => F.Normal(0, -1), "sigma"],
    ["Normal", () => F.Normal(0, -0), "sigma"],
    ["LogNormal", () => F.LogNormal(0, -Number.MIN_VALUE), "sigma"],
    ["Uniform", () => F.Uniform(1, 1), "high"],
    ["Uniform", () => F.Uniform(1, 0), "high"],
    ["Uniform", () => F.Uniform(-Number.MAX_VALUE, Number.MAX_VALUE), "high"],
    ["Exponential", () => F.Exponential(0), "rate"],
    ["Gamma", () => F.Gamma(-1, 1), "shape"],
    ["Gamma", () => F.Gamma(1, 0), "rate"],
    ["Beta", () => F.Beta(0, 1), "alpha"],
    ["Bernoulli", () => F.Bernoulli(1 + 2 ** -52), "p"],
    ["Bernoulli", () => F.Bernoulli(-Number.MIN_VALUE), "p"],
    ["Binomial", () => F.Binomial(2 ** 53, 0.5), "n"],
    ["Binomial", () => F.Binomial(-1, 0.5), "n"],
    ["Binomial", () => F.Binomial(1.5, 0.5), "n"],
    ["Binomial", () => F.Binomial(3, 2), "p"],
    ["Categorical", () => F.Categorical([]), "probs"],
    ["Categorical", () => F.Categorical([0, 0]), "probs"],
    ["Categorical", () => F.Categorical([1, -1]), "probs"],
    ["Categorical", () => F.Categorical([1, , 2] as Array<number>), "probs"],
    ["Poisson", () => F.Poisson(-1), "rate"],
    ["Cauchy", () => F.Cauchy(0, 0), "scale"],
    ["HalfCauchy", () => F.HalfCauchy(0), "scale"],
    ["HalfNormal", () => F.HalfNormal(-1), "sigma"],
    ["StudentT", () => F.StudentT(0), "df"],
    ["StudentT", () => F.StudentT(1, 0, 0), "scale"],
    ["Laplace", () => F.Laplace(0, 0), "scale"],
    ["Weibull", () => F.Weibull(0, 1), "shape"],
    ["Weibull", () => F.Weibull(1, -1), "scale"],
    ["ChiSquared", () => F.ChiSquared(0), "df"],
    ["InverseGamma", () => F.InverseGamma(1, 0), "scale"],
    ["DiscreteUniform", () => F.DiscreteUniform(2, 1), "high"],
    ["DiscreteUniform", () => F.DiscreteUniform(0.5, 1), "low"],
    ["DiscreteUniform", () => F.DiscreteUniform(0, 2 ** 53), "high"],
    ["Geometric", () => F.Geometric(0), "p"],
    ["NegativeBinomial", () => F.NegativeBinomial(0, 0.5), "r"],
    ["NegativeBinomial", () => F.NegativeBinomial(1, 0), "p"],
    ["Dirichlet", () => F.Dirichlet([]), "alpha"],
    ["Dirichlet", () => F.Dirichlet([1]), "alpha"],
    ["Dirichlet", () => F.Dirichlet([1, 0]), "alpha"],
    ["Dirichlet", () => F.Dirichlet([1, , 2] as Array<number>), "alpha"],
    ["Dirichlet", () => F.Dirichlet([Number.MAX_VALUE, Number.MAX_VALUE]), "alpha"],
    ["Multinomial", () => F.Multinomial(3, []), "probs"],
    ["Multinomial", () => F.Multinomial(2 ** 53, [1]), "n"],
    ["MultivariateNormal", () => F.MultivariateNormal([], []), "mean"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1, 0]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1, 0], [0]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1, 0, 0], [0, 1, 0]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1, 0], [1, 1]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1, 2], [2, 1]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0, 0], [[1e308, 0], [1e300, 1e308]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0], [[Infinity]]), "covariance"],
    ["MultivariateNormal", () => F.MultivariateNormal([0], [null as never]), "covariance"]
  ]
  for (const [family, make, parameter] of NUMERIC_CASES) {
    it(`${family}: ${make.toString().slice(6)} names ${parameter}`, () => {
      checkError(invalid(make), family, parameter)
    })
  }

  // About 100 ms on a quiet machine.
  it("every error's message works for any offending value (fast-check: fc.anything in each slot)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...CONSTRUCTORS), fc.nat(), fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }), ([family, make, valid, names], slotSeed, bad) => {
        const slot = slotSeed % names.length
        const args = valid.slice()
        args[slot] = bad
        let result: unknown
        try {
          result = make(...args)
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidDistributionError)
          const error = e as InvalidDistributionError
          expect(error.family).toBe(family)
          expect(typeof error.message).toBe("string")
          expect(typeof String(error)).toBe("string")
          return
        }
        // Accepted: then it is a working distribution.
        const d = result as { logProb: (x: unknown) => number; sample: (rng: unknown) => unknown }
        expect(typeof d.logProb).toBe("function")
      }),
      { numRuns: 2000, seed: 20251103 }
    )
  }, 5_000)
})
