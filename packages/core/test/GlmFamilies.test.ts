// The GLM families (BernoulliLogit, BinomialLogit, PoissonLog) and the improper priors (Flat,
// FlatPositive). Reference values are the naive textbook formulas in doubles, which are accurate
// to a few ulps at the moderate parameters used (small n and k, |η| ≤ 5: no overflow, no large
// cancelling terms), hence the 1e-12 relative tolerance; at extreme η the references are
// asymptotic forms that are exact in doubles there, or mpmath values (80 digits) quoted with
// their inputs. Kernel partials are checked against central differences
// (f(η + h) − f(η − h)) / 2h with h = 1e-5·max(1, |η|): truncation error O(h²·f‴) and rounding
// O(ε·|f|/h) are both below 1e-7 here, so 1e-6 (relative to max(1, |∂|)) is a safe bound.
import gammaln from "@stdlib/math-base-special-gammaln"
import { describe, expect, it } from "@effect/vitest"
import * as Ad from "../src/Ad.ts"
import { InvalidDistributionError, type Distribution } from "../src/Distribution.ts"
import {
  BernoulliLogit,
  BinomialLogit,
  Flat,
  FlatPositive,
  ImproperPriorError,
  PoissonLog
} from "../src/distributions/index.ts"
import * as Rng from "../src/Rng.ts"

const MAX = Number.MAX_VALUE

/** |actual − expected| ≤ tol·max(1, |expected|). */
const close = (actual: number, expected: number, tol = 1e-12): void => {
  expect(Number.isFinite(actual), `${actual} finite`).toBe(true)
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected)))
}

// naive references, in doubles: fine at moderate arguments
const naiveLogSigmoid = (t: number): number => -Math.log(1 + Math.exp(-t))
const logChoose = (n: number, k: number): number => gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)

const MODERATE_ETA = [-5, -1.3, -0.2, 0, 0.7, 2, 4.5]
const EXTREME_ETA = [-1e300, -1e3, 1e3, 1e300]

describe("BernoulliLogit", () => {
  it("log p(true) = log σ(η) and log p(false) = log σ(−η), to 1e-12 at moderate η", () => {
    for (const eta of MODERATE_ETA) {
      const d = BernoulliLogit(eta)
      close(d.logProb(true), naiveLogSigmoid(eta))
      close(d.logProb(false), naiveLogSigmoid(-eta))
      close(d.mean(), 1 / (1 + Math.exp(-eta)))
      close(d.variance(), Math.exp(-eta) / (1 + Math.exp(-eta)) ** 2)
    }
  })
  it("is finite at extreme η: log p = −|η| on the unlikely side, 0 on the likely one", () => {
    for (const eta of EXTREME_ETA) {
      const d = BernoulliLogit(eta)
      // −softplus(−|η|) = −log1p(e^−|η|) = −0 in doubles at |η| ≥ 1e3; softplus(|η|) = |η| exactly
      expect(d.logProb(eta > 0)).toBe(0)
      expect(d.logProb(eta < 0)).toBe(-Math.abs(eta))
    }
  })
  it("scores a wrong-typed value −∞ and draws booleans with frequency σ(η)", () => {
    const d = BernoulliLogit(0.8)
    expect(d.logProb(1 as unknown as boolean)).toBe(-Infinity)
    expect(d.isValue(true) && !d.isValue(1)).toBe(true)
    const rng = Rng.make(5)
    const n = 20_000
    let hits = 0
    for (let i = 0; i < n; i++) if (d.sample(rng)) hits++
    const p = d.mean()
    // 4 binomial standard errors
    expect(Math.abs(hits / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n))
    expect(BernoulliLogit(1e300).sample(rng)).toBe(true)
    expect(BernoulliLogit(-1e300).sample(rng)).toBe(false)
  })
})

describe("BinomialLogit", () => {
  it("equals log C(n, k) + k log σ(η) + (n − k) log σ(−η), to 1e-12 at moderate η", () => {
    for (const n of [0, 1, 7, 30]) {
      for (const eta of MODERATE_ETA) {
        const d = BinomialLogit(n, eta)
        for (let k = 0; k <= n; k++) close(d.logProb(k), logChoose(n, k) + k * naiveLogSigmoid(eta) + (n - k) * naiveLogSigmoid(-eta))
        expect(d.logProb(n + 1)).toBe(-Infinity)
        expect(d.logProb(-1)).toBe(-Infinity)
        expect(d.logProb(0.5)).toBe(-Infinity)
        expect(d.support).toEqual({ _tag: "Integers", lower: 0, upper: n })
      }
    }
  })
  it("sums to 1 over 0 … n", () => {
    for (const eta of [-3, 0.4, 6]) {
      const d = BinomialLogit(40, eta)
      let s = 0
      for (let k = 0; k <= 40; k++) s += Math.exp(d.logProb(k))
      expect(Math.abs(s - 1)).toBeLessThan(1e-13)
    }
  })
  it("is finite at extreme η, equal to log C(n, k) − (unlikely count)·|η|", () => {
    // |η| ≥ 1e3: log σ(|η|) rounds to 0 and log σ(−|η|) = −|η| exactly, so the truth is
    // log C(n, k) − m|η| with m the count on the unlikely side (in doubles: −m|η| at 1e300).
    const n = 10
    for (const eta of EXTREME_ETA) {
      const d = BinomialLogit(n, eta)
      for (let k = 0; k <= n; k++) {
        const m = eta > 0 ? n - k : k
        close(d.logProb(k), logChoose(n, k) - m * Math.abs(eta))
      }
    }
  })
  it("stays accurate for a large number of trials (against mpmath)", () => {
    // mpmath, 80 digits: log C(1e9, 574442516) + k log σ(0.3) + (n − k) log σ(−0.3)
    close(BinomialLogit(1e9, 0.3).logProb(574442516), -10.576216209061523, 1e-14)
  })
  it("draws counts in 0 … n with mean n·σ(η)", () => {
    const rng = Rng.make(9)
    for (const [n, eta] of [[25, -1.1], [1000, 2.2]] as const) {
      const d = BinomialLogit(n, eta)
      const draws = 4000
      let s = 0
      for (let i = 0; i < draws; i++) {
        const k = d.sample(rng)
        expect(Number.isInteger(k) && k >= 0 && k <= n).toBe(true)
        s += k
      }
      expect(Math.abs(s / draws - d.mean())).toBeLessThan(4 * Math.sqrt(d.variance() / draws))
    }
    expect(BinomialLogit(7, 1e300).sample(rng)).toBe(7)
    expect(BinomialLogit(7, -1e300).sample(rng)).toBe(0)
  })
})

describe("PoissonLog", () => {
  it("equals kη − e^η − log k!, to 1e-12 at moderate η", () => {
    for (const eta of MODERATE_ETA) {
      const d = PoissonLog(eta)
      for (let k = 0; k <= 40; k++) close(d.logProb(k), k * eta - Math.exp(eta) - gammaln(k + 1))
      expect(d.logProb(-1)).toBe(-Infinity)
      expect(d.logProb(1.5)).toBe(-Infinity)
      close(d.mean(), Math.exp(eta))
    }
  })
  it("sums to 1 over the counts", () => {
    const d = PoissonLog(2)
    let s = 0
    for (let k = 0; k < 200; k++) s += Math.exp(d.logProb(k))
    expect(Math.abs(s - 1)).toBeLessThan(1e-13)
  })
  it("is finite at very negative η (e^η underflows): kη − log k!", () => {
    for (const eta of [-1e3, -1e300]) {
      const d = PoissonLog(eta)
      expect(d.logProb(0)).toBe(0)
      for (const k of [1, 2, 17, 1e6]) close(d.logProb(k), k * eta - gammaln(k + 1))
    }
  })
  it("gives −∞ at η = 1e3 and 1e300, where every true log mass is below −MAX_VALUE", () => {
    // e^η ≥ e^1000 > 1e434: for k ≤ MAX_VALUE the deviance bd0(k, e^η) ≥ e^η − k − k·log(e^η / k) ≫ MAX_VALUE
    for (const eta of [1e3, 1e300]) {
      const d = PoissonLog(eta)
      for (const k of [0, 1, 1e100, MAX]) expect(d.logProb(k)).toBe(-Infinity)
    }
  })
  it("is finite where e^η overflows but the log mass does not (η just above log MAX_VALUE, k near MAX_VALUE)", () => {
    // mpmath, 80 digits: k·η − e^η − log Γ(k + 1)
    close(PoissonLog(709.9).logProb(MAX), -1.286269488583552e306, 1e-13)
    close(PoissonLog(710.4).logProb(1e308), -1.1289372087273926e308, 1e-13)
    // below the overflow, a count 1e21 at η = 50 (against mpmath)
    close(PoissonLog(50).logProb(1e21), -2.5389924814620318e21, 1e-14)
  })
  it("draws counts with mean e^η, and MAX_VALUE where e^η overflows", () => {
    const rng = Rng.make(3)
    const d = PoissonLog(1.7)
    const draws = 4000
    let s = 0
    for (let i = 0; i < draws; i++) s += d.sample(rng)
    expect(Math.abs(s / draws - d.mean())).toBeLessThan(4 * Math.sqrt(d.variance() / draws))
    expect(PoissonLog(1e3).sample(rng)).toBe(MAX)
    expect(PoissonLog(-1e3).sample(rng)).toBe(0)
  })
})

describe("GLM family kernels", () => {
  /** Central difference of η ↦ logProb(x) under `make(η)`. */
  const centralDifference = <T>(make: (eta: number) => Distribution<T>, x: T, eta: number): number => {
    const h = 1e-5 * Math.max(1, Math.abs(eta))
    return (make(eta + h).logProb(x) - make(eta - h).logProb(x)) / (2 * h)
  }
  const out = new Float64Array(4)
  const checkPartial = (analytic: number, numeric: number): void => {
    expect(Math.abs(analytic - numeric), `${analytic} vs ${numeric}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(analytic)))
  }

  it("BernoulliLogit: the kernel is logProb (x = 1 for true, 0 for false), ∂η = x − σ(η), ∂x = 0", () => {
    for (const eta of [...MODERATE_ETA, -30, 30]) {
      const d = BernoulliLogit(eta)
      for (const x of [true, false]) {
        out.fill(Number.NaN)
        const v = d.logProbKernel(out, x ? 1 : 0, ...(d.kernelParameters() as [number]), 0, 0)
        expect(v).toBe(d.logProb(x))
        expect(out[0]).toBe(0)
        checkPartial(out[1], centralDifference(BernoulliLogit, x, eta))
      }
      expect(d.logProbKernel(out, 0.5, eta, 0, 0)).toBe(-Infinity)
    }
    // extreme η: the partials are finite and exact (σ(−|η|) underflows to 0)
    bernoulliCheckExtreme(out)
  })
  it("BinomialLogit: ∂η = k − n·σ(η), ∂k = ∂n = 0", () => {
    for (const [n, k] of [[1, 0], [1, 1], [12, 5], [40, 39]]) {
      for (const eta of MODERATE_ETA) {
        const d = BinomialLogit(n, eta)
        out.fill(Number.NaN)
        const [p0, p1] = d.kernelParameters()
        const v = d.logProbKernel(out, k, p0, p1, 0)
        expect(v).toBe(d.logProb(k))
        expect(out[0]).toBe(0)
        expect(out[1]).toBe(0)
        checkPartial(out[2], centralDifference((e) => BinomialLogit(n, e), k, eta))
      }
    }
    expect(BinomialLogit(3, 0).logProbKernel(out, 4, 3, 0, 0)).toBe(-Infinity)
    expect(BinomialLogit(3, 0).logProbKernel(out, 1, 2.5, 0, 0)).toBe(-Infinity)
  })
  it("PoissonLog: ∂η = k − e^η, ∂k = 0", () => {
    for (const k of [0, 1, 4, 30]) {
      for (const eta of MODERATE_ETA) {
        const d = PoissonLog(eta)
        out.fill(Number.NaN)
        const v = d.logProbKernel(out, k, ...(d.kernelParameters() as [number]), 0, 0)
        expect(v).toBe(d.logProb(k))
        expect(out[0]).toBe(0)
        checkPartial(out[1], centralDifference(PoissonLog, k, eta))
      }
    }
    expect(PoissonLog(0).logProbKernel(out, -1, 0, 0, 0)).toBe(-Infinity)
    expect(PoissonLog(0).logProbKernel(out, 1, Number.NaN, 0, 0)).toBe(-Infinity)
    // at very negative η the mass and partial stay finite: ∂η = k exactly
    expect(PoissonLog(-1e300).logProbKernel(out, 3, -1e300, 0, 0)).toBe(3 * -1e300 - gammaln(4))
    expect(out[1]).toBe(3)
  })
  it("Flat and FlatPositive: the kernel is 0 with ∂x = 0 inside the support, −∞ outside", () => {
    out.fill(Number.NaN)
    expect(Flat().logProbKernel(out, -3, 0, 0, 0)).toBe(0)
    expect(out[0]).toBe(0)
    expect(Flat().logProbKernel(out, Infinity, 0, 0, 0)).toBe(-Infinity)
    expect(FlatPositive().logProbKernel(out, 2, 0, 0, 0)).toBe(0)
    expect(FlatPositive().logProbKernel(out, 0, 0, 0, 0)).toBe(-Infinity)
    expect(Flat().kernelParameters()).toEqual([])
  })
  it("a differentiable η is tracked, and the tape's kernel entry carries ∂η", () => {
    const tape = new Ad.Tape()
    const grad = new Float64Array(1)
    for (const [make, x] of [
      [(e: Ad.Real) => BernoulliLogit(e), 1],
      [(e: Ad.Real) => BinomialLogit(9, e), 4],
      [(e: Ad.Real) => PoissonLog(e), 4]
    ] as const) {
      tape.begin(1)
      const eta = tape.leaf(0, 0.6)
      const d = make(eta)
      const operands = tape.distributions.get(d)!
      expect(operands[operands.length - 1]).toBe(eta)
      const lp = tape.kernel(d.logProbKernel, x, operands)
      tape.end()
      tape.gradient(lp, grad)
      const numbers = operands.map(Ad.primal)
      const direct = new Float64Array(4)
      d.logProbKernel(direct, x, numbers[0]!, numbers[1] ?? 0, 0)
      expect(grad[0]).toBe(direct[numbers.length])
    }
  })
})

const bernoulliCheckExtreme = (out: Float64Array): void => {
  for (const eta of EXTREME_ETA) {
    const d = BernoulliLogit(eta)
    expect(d.logProbKernel(out, 1, eta, 0, 0)).toBe(d.logProb(true))
    expect(out[1]).toBe(eta > 0 ? 0 : 1)
    expect(d.logProbKernel(out, 0, eta, 0, 0)).toBe(d.logProb(false))
    expect(out[1]).toBe(eta > 0 ? -1 : -0)
  }
}

describe("Flat and FlatPositive", () => {
  it("Flat scores every finite number 0 and everything else −∞", () => {
    const d = Flat()
    for (const x of [0, -0, 1, -1e300, MAX, -MAX, Number.MIN_VALUE]) expect(d.logProb(x)).toBe(0)
    for (const x of [Infinity, -Infinity, Number.NaN, "1", null, undefined, true]) expect(d.logProb(x as number)).toBe(-Infinity)
    expect(d.support).toEqual({ _tag: "Real" })
    expect(d.kind).toBe("real")
    expect(d.isValue(1) && !d.isValue("1")).toBe(true)
    expect(d.mean()).toBeUndefined()
    expect(d.variance()).toBeUndefined()
    expect(d.initialValue()).toBe(0)
  })
  it("FlatPositive scores every finite x > 0 as 0 and everything else −∞", () => {
    const d = FlatPositive()
    for (const x of [Number.MIN_VALUE, 1e-300, 1, MAX]) expect(d.logProb(x)).toBe(0)
    for (const x of [0, -0, -1, Infinity, Number.NaN, "1"]) expect(d.logProb(x as number)).toBe(-Infinity)
    expect(d.support).toEqual({ _tag: "Positive" })
    expect(d.mean()).toBeUndefined()
    expect(d.variance()).toBeUndefined()
    expect(d.logProb(d.initialValue())).toBe(0)
  })
  it("sampling either throws ImproperPriorError naming the family, suggesting MH or a proper prior", () => {
    for (const d of [Flat(), FlatPositive()]) {
      let error: unknown
      try {
        d.sample(Rng.make(1))
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ImproperPriorError)
      const e = error as ImproperPriorError
      expect(e._tag).toBe("ImproperPriorError")
      expect(e.family).toBe(d.family)
      expect(e.message).toContain(`${d.family} is an improper prior`)
      expect(e.message).toContain("cannot be sampled")
      expect(e.message).toContain("MH")
      expect(e.message).toContain("proper prior")
    }
  })
})

describe("GLM family constructors", () => {
  const cases: Array<[() => unknown, string, string]> = [
    [() => BernoulliLogit(Number.NaN), "BernoulliLogit", "eta"],
    [() => BernoulliLogit(Infinity), "BernoulliLogit", "eta"],
    [() => BernoulliLogit("1" as unknown as number), "BernoulliLogit", "eta"],
    [() => BinomialLogit(-1, 0), "BinomialLogit", "n"],
    [() => BinomialLogit(2.5, 0), "BinomialLogit", "n"],
    [() => BinomialLogit(Number.NaN, 0), "BinomialLogit", "n"],
    [() => BinomialLogit(3, -Infinity), "BinomialLogit", "eta"],
    [() => BinomialLogit(3, Number.NaN), "BinomialLogit", "eta"],
    [() => PoissonLog(Infinity), "PoissonLog", "eta"],
    [() => PoissonLog(Number.NaN), "PoissonLog", "eta"],
    [() => PoissonLog(undefined as unknown as number), "PoissonLog", "eta"]
  ]
  for (const [make, family, parameter] of cases) {
    it(`${family}: bad ${parameter} (${make.toString().slice(6)})`, () => {
      let error: unknown
      try {
        make()
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidDistributionError)
      const e = error as InvalidDistributionError
      expect(e.family).toBe(family)
      expect(e.parameter).toBe(parameter)
    })
  }
  it("accepts every finite η and n = 0", () => {
    expect(() => [BernoulliLogit(-MAX), BinomialLogit(0, MAX), PoissonLog(-MAX), PoissonLog(MAX)]).not.toThrow()
    expect(BinomialLogit(0, 3).logProb(0)).toBe(0)
  })
})
