// The families' analytic log densities with partials (`Ad.Kernel`), checked four ways per family.
//
// 1. Value: the kernel reuses `logProb`'s formulas (direct or saddle-point), so at interior points
//    it must agree with `logProb` to rounding: within 1e-12 relative + 1e-12 absolute, over wide
//    parameter ranges (saddle-point branches included).
// 2. Partials: each against the central difference (f(θ + h) − f(θ − h))/(2h) with
//    h = 1e-5·max(1, |θ|). Its truncation error is about h²/6·|f'''|, its rounding error about
//    ε·|f|/h ≤ 2.2e-11·|f| (somewhat more where f's own terms cancel). The terms of these log
//    densities are log-like in each argument (c·log d, c/d, d², with d the distance to an edge of
//    the support or of the parameter space), for which h²/6·|f'''| ≈ (h/d)²·|the term's partial|;
//    so the sample points stay at least 5 % of a typical scale inside the support (away from 0 on
//    the scale of the distribution, ≥ 0.1·scale from Laplace's kink), positive parameters ≥ 0.1
//    and probabilities in [0.1, 0.9]. There h²/6·|f'''| < 1e-6·(1 + |partial|) (checked over
//    30 000 samples per family and ten seeds), and 1e-8·(1 + |f|) covers the rounding:
//    tolerance 1e-6·(1 + |partial|) + 1e-8·(1 + |f|). A wrong sign or factor in any partial that
//    is not identically 0, down to a 0.1 % error, fails it.
// 3. Domain: invalid parameters (≤ 0 scales, NaN, ±∞, probabilities outside [0, 1]) and values
//    outside the support give −∞; the factory refuses the same invalid parameters.
// 4. Factories: given `Ad` nodes they build the same distribution as given the numbers, record the
//    operands while a tape records (and only then), and the tape's kernel node has the kernel's
//    partials as its gradient.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import * as Ad from "../src/Ad.ts"
import { InvalidDistributionError, type Distribution } from "../src/Distribution.ts"
import { bernoulliKernel } from "../src/distributions/Bernoulli.ts"
import { betaKernel } from "../src/distributions/Beta.ts"
import { binomialKernel } from "../src/distributions/Binomial.ts"
import { cauchyKernel } from "../src/distributions/Cauchy.ts"
import { chiSquaredKernel } from "../src/distributions/ChiSquared.ts"
import { exponentialKernel } from "../src/distributions/Exponential.ts"
import { gammaKernel } from "../src/distributions/Gamma.ts"
import { geometricKernel } from "../src/distributions/Geometric.ts"
import { halfCauchyKernel } from "../src/distributions/HalfCauchy.ts"
import { halfNormalKernel } from "../src/distributions/HalfNormal.ts"
import {
  Bernoulli,
  Beta,
  Binomial,
  Cauchy,
  ChiSquared,
  Exponential,
  Gamma,
  Geometric,
  HalfCauchy,
  HalfNormal,
  InverseGamma,
  Laplace,
  LogNormal,
  NegativeBinomial,
  Poisson,
  StudentT,
  Uniform,
  Weibull
} from "../src/distributions/index.ts"
import { inverseGammaKernel } from "../src/distributions/InverseGamma.ts"
import { laplaceKernel } from "../src/distributions/Laplace.ts"
import { logNormalKernel } from "../src/distributions/LogNormal.ts"
import { negativeBinomialKernel } from "../src/distributions/NegativeBinomial.ts"
import { poissonKernel } from "../src/distributions/Poisson.ts"
import { studentTKernel } from "../src/distributions/StudentT.ts"
import { uniformKernel } from "../src/distributions/Uniform.ts"
import { weibullKernel } from "../src/distributions/Weibull.ts"

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })

type Params = ReadonlyArray<number>

interface Case {
  readonly name: string
  readonly kernel: Ad.Kernel
  /** The factory, given numbers or Ad values in the kernel's parameter order. */
  readonly make: (...params: Array<Ad.Real>) => Distribution<any>
  /** Parameters for the finite-difference checks (moderate: see the header). */
  readonly params: fc.Arbitrary<Params>
  /** Parameters for the value check (wide, saddle-point ranges included). */
  readonly wide: fc.Arbitrary<Params>
  /** An interior point of the support, from u ∈ [0.05, 0.95]. */
  readonly point: (p: Params, u: number) => number
  /** One valid parameter setting (domain and factory checks). */
  readonly valid: Params
  readonly invalid: ReadonlyArray<Params>
  /** Values outside the support (or, where stated, outside the kernel's open support). */
  readonly outside: ReadonlyArray<number>
  /** Which parameters may be Ad values (and are differentiated); default all. */
  readonly continuous?: ReadonlyArray<boolean>
  /** Discrete values: the partial in x is 0 and not differenced. */
  readonly discrete?: boolean
  /** The family's value for kernel input x (Bernoulli: x = 1 is true). */
  readonly toValue?: (x: number) => unknown
}

const uniform = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true })
const logUniform = (min: number, max: number): fc.Arbitrary<number> =>
  fc.double({ min: Math.log(min), max: Math.log(max), noNaN: true }).map(Math.exp)
const interior = uniform(0.05, 0.95)
const tuple = (...arbs: Array<fc.Arbitrary<number>>): fc.Arbitrary<Params> => fc.tuple(...arbs).map((xs) => xs as Params)

/** A point within about ±3 standard deviations of a location for a shape-like parameter `a`. */
const spread = (a: number, u: number): number => Math.exp((2 * u - 1) * Math.min(1, 3 / Math.sqrt(a)))

const NON_FINITE = [Number.NaN, Infinity, -Infinity]

const CASES: ReadonlyArray<Case> = [
  {
    name: "HalfNormal",
    kernel: halfNormalKernel,
    make: (sigma) => HalfNormal(sigma!),
    params: tuple(logUniform(0.1, 10)),
    wide: tuple(logUniform(1e-3, 1e3)),
    point: ([s], u) => s! * (0.1 + 2.9 * u),
    valid: [2],
    invalid: [[0], [-1], [Number.NaN], [Infinity]],
    outside: [-0.5, ...NON_FINITE]
  },
  {
    name: "LogNormal",
    kernel: logNormalKernel,
    make: (mu, sigma) => LogNormal(mu!, sigma!),
    params: tuple(uniform(0, 2), logUniform(0.1, 1)),
    wide: tuple(uniform(-10, 10), logUniform(1e-2, 10)),
    point: ([mu, s], u) => Math.exp(mu! + s! * (4 * u - 2)),
    valid: [0.5, 0.8],
    invalid: [[0, 0], [0, -1], [Number.NaN, 1], [0, Number.NaN], [Infinity, 1], [0, Infinity]],
    outside: [0, -1, ...NON_FINITE]
  },
  {
    name: "Exponential",
    kernel: exponentialKernel,
    make: (rate) => Exponential(rate!),
    params: tuple(logUniform(0.1, 10)),
    wide: tuple(logUniform(1e-3, 1e3)),
    point: ([rate], u) => (0.05 + 3 * u) / rate!,
    valid: [1.5],
    invalid: [[0], [-2], [Number.NaN], [Infinity]],
    outside: [-0.5, ...NON_FINITE]
  },
  {
    name: "Gamma",
    kernel: gammaKernel,
    make: (shape, rate) => Gamma(shape!, rate!),
    params: tuple(logUniform(0.5, 50), logUniform(0.2, 5)),
    wide: tuple(logUniform(1e-2, 1e6), logUniform(1e-3, 1e3)),
    point: ([a, b], u) => (a! / b!) * spread(a!, u),
    valid: [2.5, 1.5],
    invalid: [[0, 1], [1, 0], [-1, 1], [1, -1], [Number.NaN, 1], [1, Number.NaN], [Infinity, 1], [1, Infinity]],
    // x = 0 is outside the kernel's open support (the partial in shape is −∞ there).
    outside: [0, -1, ...NON_FINITE]
  },
  {
    name: "InverseGamma",
    kernel: inverseGammaKernel,
    make: (shape, scale) => InverseGamma(shape!, scale!),
    // scale = shape·m, m ∈ [1, 10]: the typical x ≈ m stays ≥ 0.5, well away from 0, where the
    // −scale/x term's third derivative would swamp the central difference.
    params: fc.tuple(logUniform(0.5, 20), logUniform(1, 10)).map(([a, m]) => [a, a * m] as Params),
    wide: tuple(logUniform(1e-2, 1e6), logUniform(1e-3, 1e3)),
    point: ([a, b], u) => (b! / a!) * spread(a!, u),
    valid: [3, 2],
    invalid: [[0, 1], [1, 0], [-1, 1], [1, -1], [Number.NaN, 1], [1, Number.NaN], [Infinity, 1], [1, Infinity]],
    outside: [0, -1, ...NON_FINITE]
  },
  {
    name: "Beta",
    kernel: betaKernel,
    make: (alpha, beta) => Beta(alpha!, beta!),
    params: tuple(logUniform(0.5, 20), logUniform(0.5, 20)),
    wide: tuple(logUniform(1e-2, 1e4), logUniform(1e-2, 1e4)),
    point: (_, u) => u,
    valid: [2, 3],
    invalid: [[0, 1], [1, 0], [-1, 1], [1, -1], [Number.NaN, 1], [1, Number.NaN], [Infinity, 1], [1, Infinity]],
    // 0 and 1 are outside the kernel's open support (a partial in a shape is −∞ there).
    outside: [0, 1, -0.5, 1.5, ...NON_FINITE]
  },
  {
    name: "Uniform",
    kernel: uniformKernel,
    make: (low, high) => Uniform(low!, high!),
    params: fc.tuple(uniform(-10, 10), logUniform(0.1, 20)).map(([lo, w]) => [lo, lo + w] as Params),
    wide: fc.tuple(uniform(-1e6, 1e6), logUniform(1e-6, 1e6)).map(([lo, w]) => [lo, lo + w] as Params),
    point: ([lo, hi], u) => lo! + (hi! - lo!) * u,
    valid: [-1, 3],
    invalid: [[1, 1], [2, 1], [Number.NaN, 1], [0, Number.NaN], [-Infinity, 0], [0, Infinity], [-1e308, 1e308]],
    outside: [-1.5, 3.5, ...NON_FINITE]
  },
  {
    name: "Cauchy",
    kernel: cauchyKernel,
    make: (loc, scale) => Cauchy(loc!, scale!),
    params: tuple(uniform(-5, 5), logUniform(0.1, 10)),
    wide: tuple(uniform(-1e3, 1e3), logUniform(1e-3, 1e3)),
    point: ([loc, s], u) => loc! + s! * Math.tan(Math.PI * (u - 0.5)),
    valid: [1, 2],
    invalid: [[0, 0], [0, -1], [Number.NaN, 1], [0, Number.NaN], [Infinity, 1], [0, Infinity]],
    outside: NON_FINITE
  },
  {
    name: "HalfCauchy",
    kernel: halfCauchyKernel,
    make: (scale) => HalfCauchy(scale!),
    params: tuple(logUniform(0.1, 10)),
    wide: tuple(logUniform(1e-3, 1e3)),
    point: ([s], u) => s! * Math.tan(0.5 * Math.PI * u),
    valid: [1.5],
    invalid: [[0], [-1], [Number.NaN], [Infinity]],
    outside: [-0.5, ...NON_FINITE]
  },
  {
    name: "StudentT",
    kernel: studentTKernel,
    make: (df, loc, scale) => StudentT(df!, loc, scale),
    params: tuple(logUniform(0.5, 50), uniform(-5, 5), logUniform(0.1, 10)),
    wide: tuple(logUniform(1e-2, 1e6), uniform(-1e3, 1e3), logUniform(1e-3, 1e3)),
    point: ([, loc, s], u) => loc! + s! * (8 * u - 4),
    valid: [4.5, 1, 2],
    invalid: [[0, 0, 1], [-1, 0, 1], [1, 0, 0], [1, 0, -1], [Number.NaN, 0, 1], [1, Number.NaN, 1], [1, 0, Number.NaN], [Infinity, 0, 1], [1, Infinity, 1], [1, 0, Infinity]],
    outside: NON_FINITE
  },
  {
    name: "Laplace",
    kernel: laplaceKernel,
    make: (loc, scale) => Laplace(loc!, scale!),
    params: tuple(uniform(-5, 5), logUniform(0.1, 10)),
    wide: tuple(uniform(-1e3, 1e3), logUniform(1e-3, 1e3)),
    // At least 0.1·scale from the kink at loc (finite differences straddling it would be wrong).
    point: ([loc, s], u) => {
      const t = 2 * u - 1
      return loc! + s! * (t < 0 ? -(0.1 + 3 * -t) : 0.1 + 3 * t)
    },
    valid: [1, 0.5],
    invalid: [[0, 0], [0, -1], [Number.NaN, 1], [0, Number.NaN], [Infinity, 1], [0, Infinity]],
    outside: NON_FINITE
  },
  {
    name: "Weibull",
    kernel: weibullKernel,
    make: (shape, scale) => Weibull(shape!, scale!),
    params: tuple(logUniform(0.5, 5), logUniform(0.5, 5)),
    wide: tuple(logUniform(5e-2, 50), logUniform(1e-3, 1e3)),
    point: ([k, s], u) => s! * Math.exp((2 * u - 1) * Math.min(1, 1 / k!)),
    valid: [2, 1.5],
    invalid: [[0, 1], [1, 0], [-1, 1], [1, -1], [Number.NaN, 1], [1, Number.NaN], [Infinity, 1], [1, Infinity]],
    // x = 0 is outside the kernel's open support (the partial in shape is infinite there).
    outside: [0, -1, ...NON_FINITE]
  },
  {
    name: "ChiSquared",
    kernel: chiSquaredKernel,
    make: (df) => ChiSquared(df!),
    params: tuple(logUniform(0.5, 50)),
    wide: tuple(logUniform(1e-2, 1e6)),
    point: ([df], u) => df! * spread(0.5 * df!, u),
    valid: [3],
    invalid: [[0], [-1], [Number.NaN], [Infinity]],
    // x = 0 is outside the kernel's open support (the partial in df is −∞ there).
    outside: [0, -1, ...NON_FINITE]
  },
  {
    name: "Bernoulli",
    kernel: bernoulliKernel,
    make: (p) => Bernoulli(p!),
    params: tuple(uniform(0.1, 0.9)),
    wide: tuple(uniform(1e-6, 1 - 1e-6)),
    point: (_, u) => (u < 0.5 ? 0 : 1),
    valid: [0.3],
    invalid: [[-0.1], [1.1], [Number.NaN], [Infinity]],
    outside: [0.5, 2, -1, ...NON_FINITE],
    discrete: true,
    toValue: (x) => x === 1
  },
  {
    name: "Binomial",
    kernel: binomialKernel,
    make: (n, p) => Binomial(n as number, p!),
    params: tuple(fc.integer({ min: 1, max: 200 }), uniform(0.1, 0.9)),
    wide: tuple(fc.integer({ min: 1, max: 1e6 }), uniform(1e-4, 1 - 1e-4)),
    point: ([n], u) => Math.min(n!, Math.floor(u * (n! + 1))),
    valid: [10, 0.3],
    invalid: [[-1, 0.5], [2.5, 0.5], [Number.NaN, 0.5], [Infinity, 0.5], [10, -0.1], [10, 1.1], [10, Number.NaN]],
    outside: [11, -1, 2.5, ...NON_FINITE],
    continuous: [false, true],
    discrete: true
  },
  {
    name: "Poisson",
    kernel: poissonKernel,
    make: (rate) => Poisson(rate!),
    params: tuple(logUniform(0.1, 100)),
    wide: tuple(logUniform(1e-3, 1e8)),
    point: ([rate], u) => Math.floor(rate! * spread(rate!, u)),
    valid: [3.5],
    invalid: [[-1], [Number.NaN], [Infinity]],
    outside: [-1, 2.5, ...NON_FINITE],
    discrete: true
  },
  {
    name: "Geometric",
    kernel: geometricKernel,
    make: (p) => Geometric(p!),
    params: tuple(uniform(0.1, 0.9)),
    wide: tuple(uniform(1e-6, 1 - 1e-6)),
    point: ([p], u) => Math.floor((u * 3) / p!),
    valid: [0.25],
    invalid: [[0], [-0.1], [1.1], [Number.NaN], [Infinity]],
    outside: [-1, 2.5, ...NON_FINITE],
    discrete: true
  },
  {
    name: "NegativeBinomial",
    kernel: negativeBinomialKernel,
    make: (r, p) => NegativeBinomial(r!, p!),
    params: tuple(logUniform(0.2, 50), uniform(0.1, 0.9)),
    wide: tuple(logUniform(1e-3, 1e6), uniform(1e-4, 1 - 1e-4)),
    point: ([r, p], u) => Math.floor(((r! * (1 - p!)) / p!) * spread(r!, u) + 2 * u),
    valid: [3, 0.4],
    invalid: [[0, 0.5], [-1, 0.5], [Number.NaN, 0.5], [Infinity, 0.5], [2, 0], [2, -0.1], [2, 1.1], [2, Number.NaN]],
    outside: [-1, 2.5, ...NON_FINITE],
    discrete: true
  }
]

const out = new Float64Array(4)
const call = (c: Case, x: number, p: Params, into: Float64Array = out): number => c.kernel(into, x, p[0] ?? 0, p[1] ?? 0, p[2] ?? 0)
const isContinuous = (c: Case, i: number): boolean => c.continuous?.[i] ?? true

/** The central difference of g at t, h = 1e-5·max(1, |t|). */
const centralDifference = (g: (t: number) => number, t: number): number => {
  const h = 1e-5 * Math.max(1, Math.abs(t))
  return (g(t + h) - g(t - h)) / (2 * h)
}

for (const c of CASES) {
  describe(`${c.name} kernel`, () => {
    it("its value equals logProb at interior points, to 1e-12 relative", () => {
      fc.assert(
        fc.property(fc.oneof(c.params, c.wide), interior, (p, u) => {
          const x = c.point(p, u)
          const lp = c.make(...p).logProb(c.toValue ? c.toValue(x) : x)
          const k = call(c, x, p)
          expect(Number.isFinite(lp)).toBe(true)
          expect(Math.abs(k - lp)).toBeLessThanOrEqual(1e-12 * Math.abs(lp) + 1e-12)
        })
      )
    })

    it("each partial matches a central finite difference", () => {
      fc.assert(
        fc.property(c.params, interior, (p, u) => {
          const x = c.point(p, u)
          const f = call(c, x, p)
          const partials = Float64Array.from(out)
          const scratch = new Float64Array(4)
          const tolerance = (d: number): number => 1e-6 * (1 + Math.abs(d)) + 1e-8 * (1 + Math.abs(f))
          if (c.discrete) {
            expect(partials[0]).toBe(0)
          } else {
            const fd = centralDifference((t) => call(c, t, p, scratch), x)
            expect(Math.abs(partials[0]! - fd), `∂x at x = ${x}, params ${p}`).toBeLessThanOrEqual(tolerance(fd))
          }
          for (let i = 0; i < p.length; i++) {
            if (!isContinuous(c, i)) {
              expect(partials[1 + i]).toBe(0)
              continue
            }
            const fd = centralDifference((t) => call(c, x, p.map((v, j) => (j === i ? t : v)), scratch), p[i]!)
            expect(Math.abs(partials[1 + i]! - fd), `∂p${i} at x = ${x}, params ${p}`).toBeLessThanOrEqual(tolerance(fd))
          }
        })
      )
    })

    it("invalid parameters and values outside the support give −∞, and the factory refuses the same parameters", () => {
      const x = c.point(c.valid, 0.5)
      expect(Number.isFinite(call(c, x, c.valid))).toBe(true)
      for (const p of c.invalid) {
        expect(call(c, x, p), `params ${p}`).toBe(-Infinity)
        expect(() => c.make(...p), `params ${p}`).toThrow(InvalidDistributionError)
      }
      for (const y of c.outside) expect(call(c, y, c.valid), `x = ${y}`).toBe(-Infinity)
    })

    it("the factory given Ad values builds the same distribution and records its operands while a tape records", () => {
      const plain = c.make(...c.valid)
      expect(plain.logProbKernel).toBe(c.kernel)
      expect(plain.kernelParameters!()).toEqual(c.valid)
      // The kernel lives on the prototype: instances stay small.
      expect(Object.keys(plain)).not.toContain("logProbKernel")

      const tape = new Ad.Tape()
      tape.begin(c.valid.length)
      const operands = c.valid.map((v, i) => (isContinuous(c, i) ? tape.leaf(i, v) : v))
      const d = c.make(...operands)
      const recorded = tape.distributions.get(d)
      const x = c.point(c.valid, 0.3)
      const lp = tape.kernel(d.logProbKernel!, x, recorded!)
      tape.end()

      expect(Object.getPrototypeOf(d)).toBe(Object.getPrototypeOf(plain))
      expect(d).toEqual(plain)
      expect(recorded).toHaveLength(operands.length)
      operands.forEach((o, i) => expect(recorded![i]).toBe(o))
      // Through the tape: the kernel node's gradient is the kernel's partials in the parameters.
      const expected = new Float64Array(4)
      expect(Ad.primal(lp)).toBe(call(c, x, c.valid, expected))
      const grad = new Float64Array(c.valid.length)
      tape.gradient(lp, grad)
      c.valid.forEach((_, i) => expect(grad[i]).toBe(isContinuous(c, i) ? expected[1 + i] : 0))
      // An invalid Ad value is refused like the number.
      tape.begin(c.valid.length)
      const bad = c.invalid.find((p) => p.every((v, i) => isContinuous(c, i) || v === c.valid[i]))!
      expect(() => c.make(...bad.map((v, i) => (isContinuous(c, i) ? tape.leaf(i, v) : v)))).toThrow(InvalidDistributionError)
      tape.end()

      // Outside a recording, nodes (here, of the finished recording) give the same distribution
      // and nothing is recorded.
      const after = c.make(...operands)
      expect(after).toEqual(plain)
      expect(tape.distributions.has(after)).toBe(false)
    })
  })
}
