// LogDensity: exact identities against hand-derived log densities and gradients, agreement of
// the three gradient sources, and the errors and fallbacks. Tolerances:
// - compiled vs taped vs hand-written analytic: the same floating-point operations up to
//   reassociation, so 1e-12 relative (|a − b| ≤ 1e-12 · (1 + |a| + |b|));
// - central finite differences with h = ε^(1/3)·max(1, |q|) ≈ 6e-6: truncation h²/6·|f'''| plus
//   rounding ε·|f|/h; for the smooth densities here |f'''| ≲ 10 and |f| ≲ 100, so the error is
//   below 1e-9 + 4e-9; we allow 1e-6 · (1 + |∂f|), three orders of margin, still far below any
//   wrong factor or sign.
import { describe, expect, it, vi } from "@effect/vitest"
import { Ad, addr, BernoulliLogit, Beta, Dirichlet, factor, Gamma, Normal, observe, Poisson, sample, Uniform } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as Combinators from "@fugue/runtime/Combinators"
import fc from "fast-check"
import * as Diagnostics from "../src/Diagnostics.ts"
import { compile } from "../src/internal/compileTape.ts"
import * as LogDensity from "../src/LogDensity.ts"
import * as Mh from "../src/Mh.ts"
import * as Posterior from "../src/Posterior.ts"
import { InvalidOptionsError } from "../src/Options.ts"

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261201) })

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * (1 + Math.abs(a) + Math.abs(b))
const expectClose = (a: ArrayLike<number>, b: ArrayLike<number>, rel: number) => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) {
    if (!close(a[i]!, b[i]!, rel)) expect.fail(`coordinate ${i}: ${a[i]} vs ${b[i]} (rel ${rel})`)
  }
}

const HL = 0.5 * Math.log(2 * Math.PI)
const ys = [28, 8, -3, 7, -1, 1, 18, 12]
const ss = [15, 10, 16, 11, 9, 11, 10, 18]

// Eight schools, non-centred: mu ~ N(0, 5), tau ~ Gamma(2, 0.2) (positive: q = log tau),
// eta_j ~ N(0, 1), y_j ~ N(mu + tau·eta_j, s_j).
const eightSchools: Model<void> = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", Gamma(2, 0.2))
  for (let j = 0; j < 8; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), ss[j]!), ys[j]!)
  }
}

// The same density and gradient written by hand. log p(q) = log N(mu; 0, 5) + log Gamma(tau; 2, 0.2)
// + log tau (Jacobian of tau = e^q1) + Σ_j [log N(eta_j; 0, 1) + log N(y_j; mu + tau eta_j, s_j)].
const handEight = (q: Float64Array, g: Float64Array): number => {
  const mu = q[0]!, lt = q[1]!, tau = Math.exp(lt)
  let lp = -Math.log(5) - HL - 0.5 * (mu / 5) ** 2
  lp += 2 * Math.log(0.2) - 0 + (2 - 1) * lt - 0.2 * tau + lt // log Γ(2) = 0
  let gmu = -mu / 25
  let glt = 1 - 0.2 * tau + 1
  for (let j = 0; j < 8; j++) {
    const eta = q[2 + j]!
    const r = (ys[j]! - mu - tau * eta) / ss[j]!
    lp += -HL - 0.5 * eta * eta - Math.log(ss[j]!) - HL - 0.5 * r * r
    const d = r / ss[j]!
    gmu += d
    glt += d * eta * tau
    g[2 + j] = -eta + d * tau
  }
  g[0] = gmu
  g[1] = glt
  return lp
}

const points = (d: number, n: number, seed: number): Array<Float64Array> => {
  let s = seed
  const u = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2
  return Array.from({ length: n }, () => Float64Array.from({ length: d }, u))
}

describe("LogDensity.make", () => {
  it("finds the sites, their shapes and coordinates", () => {
    const ld = LogDensity.make(eightSchools)
    expect(ld.dimension).toBe(10)
    expect(ld.sites.map((s) => s.address)).toEqual(["mu", "tau", ...Array.from({ length: 8 }, (_, j) => `eta#${j}`)])
    expect(ld.sites[1]).toMatchObject({ family: "Gamma", shape: [], offset: 1, dimension: 1 })
    expect(ld.gradientSource).toBe("compiled")
  })

  it("the eight-schools log density and gradient equal the hand-written ones, in every source", () => {
    const hand = new Float64Array(10)
    for (const gradient of ["compiled", "taped", "finite-differences"] as const) {
      const ld = LogDensity.make(eightSchools, { gradient })
      expect(ld.gradientSource).toBe(gradient)
      const out = new Float64Array(10)
      for (const q of points(10, 20, 7)) {
        const lp = ld.logDensityGradient(q, out)
        const expected = handEight(q, hand)
        expect(close(lp, expected, 1e-12)).toBe(true)
        expect(close(ld.logDensity(q), expected, 1e-12)).toBe(true)
        expectClose(out, hand, gradient === "finite-differences" ? 1e-6 : 1e-12)
      }
    }
  })

  it("random models: compiled and taped agree to 1e-12 and match central finite differences", () => {
    // a random expression over three latent values of different supports, observed under a
    // Normal and added as a factor
    type Expr = (v: ReadonlyArray<Ad.Real>) => Ad.Real
    const leaf = fc.integer({ min: 0, max: 2 }).map((i): Expr => (v) => v[i]!)
    const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
      e: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.add(a(v), b(v))),
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.mul(a(v), b(v))),
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.sub(a(v), b(v))),
        tie("e").map((a): Expr => (v) => Ad.tanh(a(v))),
        tie("e").map((a): Expr => (v) => Ad.logistic(a(v))),
        tie("e").map((a): Expr => (v) => Ad.softplus(a(v))),
        tie("e").map((a): Expr => (v) => Ad.logSigmoid(a(v))),
        tie("e").map((a): Expr => (v) => Ad.sin(a(v))),
        tie("e").map((a): Expr => (v) => Ad.sqrt(Ad.add(1, Ad.square(a(v))))),
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.logSumExp([a(v), b(v), 0])),
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.dot([a(v), 2], [0.5, b(v)])),
        // the taped evaluator's plan covers every op: these reach the rest
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.div(a(v), Ad.add(1.5, Ad.square(b(v))))),
        fc.tuple(tie("e"), tie("e")).map(([a, b]): Expr => (v) => Ad.pow(Ad.add(1, Ad.square(a(v))), Ad.logistic(b(v)))),
        tie("e").map((a): Expr => (v) => Ad.pow(Ad.add(1, Ad.square(a(v))), 1.5)),
        tie("e").map((a): Expr => (v) => Ad.neg(a(v))),
        tie("e").map((a): Expr => (v) => Ad.exp(Ad.tanh(a(v)))),
        tie("e").map((a): Expr => (v) => Ad.log(Ad.add(1, Ad.square(a(v))))),
        tie("e").map((a): Expr => (v) => Ad.log1p(Ad.square(a(v)))),
        tie("e").map((a): Expr => (v) => Ad.expm1(Ad.tanh(a(v)))),
        tie("e").map((a): Expr => (v) => Ad.abs(Ad.add(a(v), 0.37))),
        tie("e").map((a): Expr => (v) => Ad.cos(a(v))),
        // a product used once by a sum, on either side (the evaluator fuses them)
        fc.tuple(tie("e"), tie("e"), tie("e")).map(([a, b, c]): Expr => (v) => Ad.add(a(v), Ad.mul(b(v), c(v)))),
        fc.tuple(tie("e"), tie("e"), tie("e")).map(([a, b, c]): Expr => (v) => Ad.add(Ad.mul(b(v), c(v)), a(v)))
      )
    })).e
    fc.assert(
      fc.property(expr, expr, fc.integer({ min: 1, max: 1000 }), (mean, extra, seed) => {
        const model: Model<void> = function*() {
          const a = yield* sample("a", Normal(0, 1))
          const b = yield* sample("b", Gamma(3, 2))
          const c = yield* sample("c", Beta(2, 3))
          const v = [a, b, c]
          yield* observe("y", Normal(Ad.tanh(mean(v)), Ad.add(0.5, b)), 0.3)
          yield* factor(Ad.mul(-0.1, Ad.square(extra(v))))
          // a constant σ with an affine mean (the evaluator folds σ and fuses the mean)
          yield* observe("z", Normal(Ad.add(a, Ad.mul(c, Ad.tanh(extra(v)))), 1.3), 0.2)
          // an unknown σ shared by two observations, one with an affine mean
          const s = Ad.add(0.4, Ad.mul(0.5, b))
          yield* observe("u", Normal(Ad.add(Ad.mul(c, Ad.tanh(mean(v))), a), s), -0.4)
          yield* observe("w", Normal(Ad.tanh(extra(v)), s), 0.7)
        }
        const compiled = LogDensity.make(model, { gradient: "compiled" })
        const taped = LogDensity.make(model, { gradient: "taped" })
        const fd = LogDensity.make(model, { gradient: "finite-differences" })
        const g1 = new Float64Array(3), g2 = new Float64Array(3), g3 = new Float64Array(3)
        for (const q of points(3, 3, seed)) {
          const l1 = compiled.logDensityGradient(q, g1)
          const l2 = taped.logDensityGradient(q, g2)
          const l3 = fd.logDensityGradient(q, g3)
          if (!close(l1, l2, 1e-12) || !close(l1, l3, 1e-12)) return false
          for (let i = 0; i < 3; i++) {
            if (!close(g1[i]!, g2[i]!, 1e-12)) return false
            if (Math.abs(g1[i]! - g3[i]!) > 1e-6 * (1 + Math.abs(g1[i]!))) return false
          }
        }
        return true
      }),
      { numRuns: 60 }
    )
  }, 60_000)

  it("a latent value in plain arithmetic falls back to finite differences and names the site", () => {
    const model: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      const tau = yield* sample("tau", Gamma(2, 2))
      yield* observe("y", Normal(Ad.add(mu, 1), Math.exp(tau as number)), 0.5)
    }
    const ld = LogDensity.make(model)
    expect(ld.gradientSource).toBe("finite-differences")
    expect(ld.gradientReason).toContain('"tau"')
    // still the right gradient: d/dmu of log N(0.5; mu + 1, e^tau) + prior terms
    const q = new Float64Array([0.3, -0.2])
    const g = new Float64Array(2)
    ld.logDensityGradient(q, g)
    const sigma = Math.exp(Math.exp(q[1]!))
    expect(Math.abs(g[0]! - (-(0.3) + (0.5 - 1.3) / sigma ** 2))).toBeLessThan(1e-6)
    expect(() => LogDensity.make(model, { gradient: "compiled" })).toThrow(LogDensity.GradientUnavailableError)
  })

  it("plain arithmetic on latent values is found from plain-number runs, without recording the model with nodes", () => {
    const xs = [2, 3, 4]
    const plain: Model<void> = function*() {
      const slope = yield* sample("slope", Normal(0, 2))
      const noise = yield* sample("noise", Gamma(2, 1))
      for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(slope * xs[i]!, 1 + noise), i)
    }
    const ld = LogDensity.make(plain)
    expect(ld.gradientSource).toBe("finite-differences")
    expect(ld.gradientReason).toContain('"slope"')
    expect(ld.gradientReason).toContain("found without recording")
    // the first number found: the mean of the first observation
    expect(ld.gradientReason).toContain('it reaches parameter 1 of Normal at observation "y#0"')
    expect(() => LogDensity.make(plain, { gradient: "taped" })).toThrow(LogDensity.GradientUnavailableError)
    // the density is still exact: log N(0; 2s, 1 + n) … at s = 0.5, n = e^0 = 1 (log-Jacobian 0)
    const q = new Float64Array([0.5, 0])
    let lp = Normal(0, 2).logProb(0.5) + Gamma(2, 1).logProb(1)
    for (let i = 0; i < xs.length; i++) lp += Normal(0.5 * xs[i]!, 2).logProb(i)
    expect(Math.abs(ld.logDensity(q) - lp)).toBeLessThan(1e-12)
    // the same model with its arithmetic in Ad, or the latent values passed through unchanged, is recorded and compiled
    const withAd: Model<void> = function*() {
      const slope = yield* sample("slope", Normal(0, 2))
      const noise = yield* sample("noise", Gamma(2, 1))
      for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.mul(slope, xs[i]!), Ad.add(1, noise)), i)
    }
    expect(LogDensity.make(withAd).gradientSource).toBe("compiled")
    const direct: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      const tau = yield* sample("tau", Gamma(2, 2))
      yield* observe("y", Normal(mu, tau), 0.3)
    }
    expect(LogDensity.make(direct).gradientSource).toBe("compiled")
    // a parameter that changes from run to run by state, not by the latent values, proves nothing: recorded as before
    let runs = 0
    const stateful: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      yield* observe("y", Normal(mu, 1 + (runs++ % 2)), 0.3)
    }
    expect(LogDensity.make(stateful).gradientReason).not.toContain("found without recording")
    let calls = 0
    const changesOnce: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      yield* observe("y", Normal(mu, calls++ < 4 ? 1 : 2), 0.3)
    }
    expect(LogDensity.make(changesOnce).gradientReason).not.toContain("found without recording")
  })

  it("random models: the plain-arithmetic check refuses exactly the models whose recording would escape, and MH records exactly those it cannot prove plain", () => {
    // each observation's mean is a constant, a latent value as it is, an Ad expression of latent
    // values, or plain arithmetic on one; compiled ⇔ no plain term; found without recording ⇔
    // plain terms and no Ad call at all (with an Ad call the recording runs and finds the escape)
    type Term = "constant" | "latent" | "ad" | "plain"
    const term = fc.constantFrom<Term>("constant", "latent", "ad", "plain")
    fc.assert(
      fc.property(fc.array(fc.tuple(term, fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 5 }), (terms) => {
        const model: Model<void> = function*() {
          const v = [yield* sample("a", Normal(0, 1)), yield* sample("b", Gamma(2, 2)), yield* sample("c", Normal(1, 2))]
          for (let i = 0; i < terms.length; i++) {
            const [kind, j] = terms[i]!
            const mean = kind === "constant" ? 0.5 : kind === "latent" ? v[j]! : kind === "ad" ? Ad.add(Ad.mul(2, v[j]!), 1) : 2 * (v[j]! as number) + 1
            yield* observe(addr("y", i), Normal(mean, 1), i / 2)
          }
        }
        const plain = terms.some(([k]) => k === "plain"), ad = terms.some(([k]) => k === "ad")
        const ld = LogDensity.make(model)
        expect(ld.gradientSource).toBe(plain ? "finite-differences" : "compiled")
        if (plain) expect(ld.gradientReason.includes("found without recording")).toBe(!ad)
        const stats = Mh.stats(Mh.runUnsafe(model, { samples: 5, warmup: 0, seed: 1 }))
        expect(stats.onDensity[0]).toBe(!plain)
        expect(stats.densityRecorded[0]).toBe(!plain || ad)
        return true
      }),
      { numRuns: 80 }
    )
  }, 30_000)

  it("a distribution built from differentiable values and read as a number (logProb in a factor) is an escape, not a constant", () => {
    // factor(½ log N(3; mu, 1)) tempers the likelihood: the gradient must see mu through it.
    // Recorded as a constant it would be the prior's alone (a silent wrong answer, found by a
    // user of the examples); as an escape the density falls back to finite differences.
    const model: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 10))
      yield* factor(0.5 * Normal(mu, 1).logProb(3))
    }
    const ld = LogDensity.make(model)
    expect(ld.gradientSource).toBe("finite-differences")
    expect(ld.gradientReason).toContain('"mu"')
    // d/dmu [log N(mu; 0, 10) + ½ log N(3; mu, 1)] = −mu/100 + (3 − mu)/2
    const g = new Float64Array(1)
    ld.logDensityGradient(new Float64Array([1]), g)
    expect(Math.abs(g[0]! - (-1 / 100 + 1))).toBeLessThan(1e-6)
    // a broadcast family read as a number escapes the same way
    const vectorised: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 10))
      yield* factor(0.5 * Normal([mu, mu], 1).logProb([3, 3]))
    }
    expect(LogDensity.make(vectorised).gradientSource).toBe("finite-differences")
    // and MH, which steps on the compiled density where it can, samples the tempered posterior:
    // N(mu; 0, 10²)·N(mu; 3, 2) has mean 3·100/102 (within 4 MCSE)
    const post = Mh.runUnsafe(model, { samples: 20_000, seed: 1 })
    const mcse = Diagnostics.mcse(Posterior.chainsOf(post, "mu"))!
    expect(Math.abs(Posterior.mean(post, "mu") - 300 / 102)).toBeLessThan(4 * mcse)
  }, 30_000)

  it("control flow on Ad.primal (invisible to the tape) is caught by checking the recording against fresh runs", () => {
    // b's term is there only when a > 0: a recording at a > 0 kept it at a < 0 too (a silent
    // wrong density before this check); a fresh run at other points disagrees, so the density
    // falls back to running the model
    const model: Model<void> = function*() {
      const a = yield* sample("a", Normal(0, 1))
      if (Ad.primal(a) > 0) yield* factor(Ad.mul(-3, Ad.square(a)))
    }
    const ld = LogDensity.make(model)
    expect(ld.gradientSource).toBe("finite-differences")
    expect(ld.gradientReason).toContain("differs from a fresh run")
    const HL = 0.5 * Math.log(2 * Math.PI)
    expect(Math.abs(ld.logDensity(new Float64Array([-1])) - (-HL - 0.5))).toBeLessThan(1e-12)
    expect(Math.abs(ld.logDensity(new Float64Array([1])) - (-HL - 0.5 - 3))).toBeLessThan(1e-12)
    expect(() => LogDensity.make(model, { gradient: "taped" })).toThrow(LogDensity.GradientUnavailableError)
  })

  it("a discrete latent site is a DiscreteLatentError naming it", () => {
    const model: Model<void> = function*() {
      yield* sample("rate", Gamma(2, 1))
      yield* sample("k", Poisson(3))
    }
    expect(() => LogDensity.make(model)).toThrow(LogDensity.DiscreteLatentError)
    expect(() => LogDensity.make(model)).toThrow(/"k"/)
  })

  it("a structure that changes with the values is a StructureChangedError naming the site", () => {
    const model: Model<void> = function*() {
      const a = yield* sample("a", Normal(0, 1))
      if ((a as number) > 0) yield* sample("b", Normal(0, 1))
    }
    const ld = LogDensity.make(model, { seed: 3 })
    const other = ld.dimension === 1 ? new Float64Array([1]) : new Float64Array([-1, 0])
    if (ld.dimension === 2) expect(() => ld.logDensity(new Float64Array([-1, 0]))).toThrow(/"b"|"a"/)
    else expect(() => ld.logDensity(other)).toThrow(LogDensity.StructureChangedError)
  })

  it("handler transforms change the density: condition, substitute, scale; block is refused", () => {
    const model: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 1))
      yield* sample("x", Normal(mu, 1))
    }
    // condition x = 2: log N(mu; 0, 1) + log N(2; mu, 1), d/dmu = −mu + (2 − mu)
    const conditioned = LogDensity.make(model, { transform: (h) => Combinators.condition(h, { x: 2 }) })
    expect(conditioned.dimension).toBe(1)
    const g = new Float64Array(1)
    const lp = conditioned.logDensityGradient(new Float64Array([0.5]), g)
    expect(close(lp, -2 * HL - 0.125 - 1.125, 1e-12)).toBe(true)
    expect(close(g[0]!, -0.5 + 1.5, 1e-12)).toBe(true)
    // substitute x = 2: the same density (scored under the prior), gradient through its parameters
    const substituted = LogDensity.make(model, { transform: (h) => Combinators.substitute(h, { x: 2 }) })
    expect(substituted.gradientSource).toBe("compiled")
    expect(close(substituted.logDensityGradient(new Float64Array([0.5]), g), lp, 1e-12)).toBe(true)
    expect(close(g[0]!, 1, 1e-12)).toBe(true)
    // scale 3 on x: log N(mu; 0, 1) + 3 log N(2; mu, 1)
    const scaled = LogDensity.make(model, {
      transform: (h) => Combinators.scale(Combinators.condition(h, { x: 2 }), 3, ["x"])
    })
    expect(close(scaled.logDensityGradient(new Float64Array([0.5]), g), -HL - 0.125 + 3 * (-HL - 1.125), 1e-12)).toBe(true)
    expect(close(g[0]!, -0.5 + 3 * 1.5, 1e-12)).toBe(true)
    expect(() => LogDensity.make(model, { transform: (h, rng) => Combinators.block(h, ["x"], rng) })).toThrow(
      LogDensity.RandomnessInDensityError
    )
  })

  it("bounded and positive sites carry their Jacobians; constrain and unconstrain are inverse", () => {
    const model: Model<void> = function*() {
      const p = yield* sample("p", Beta(2, 3))
      const u = yield* sample("u", Uniform(-1, 4))
      yield* observe("y", Normal(Ad.mul(p, u), 1), 0.7)
    }
    const ld = LogDensity.make(model)
    expect(ld.gradientSource).toBe("compiled")
    const q = new Float64Array([0.4, -1.3])
    const s = 1 / (1 + Math.exp(-0.4)), v = -1 + 5 / (1 + Math.exp(1.3))
    const logBeta23 = Math.log(12) // 1/B(2, 3) = 12
    const expected = logBeta23 + Math.log(s) + 2 * Math.log(1 - s) + Math.log(s * (1 - s)) +
      -Math.log(5) + Math.log(5 * (v + 1) / 5 * (4 - v) / 5) +
      -HL - 0.5 * (0.7 - s * v) ** 2
    expect(close(ld.logDensity(q), expected, 1e-12)).toBe(true)
    const trace = ld.constrain(q)
    expect(close(trace.choices.get("p")!.value as number, s, 1e-15)).toBe(true)
    expectClose(ld.unconstrain(trace), q, 1e-12)
  })

  it("addresses never reach the generated code (hostile names compile and score correctly)", () => {
    const hostile = ["a\"b", "c'd", "e`f", "*/ g", "h\ni", "${process.exit(1)}", "</script><script>alert(1)</script>", "\\u0041"]
    const model: Model<void> = function*() {
      let total: Ad.Real = 0
      for (const name of hostile) {
        const x = yield* sample(name, Normal(0, 1))
        total = Ad.add(total, x)
      }
      yield* observe(hostile.join(""), Normal(total, 1), 1)
    }
    const ld = LogDensity.make(model)
    expect(ld.gradientSource).toBe("compiled")
    const source = String((ld as unknown as { compiled: unknown }).compiled)
    for (const name of hostile) expect(source.includes(name)).toBe(false)
    expect(/^[\s\w.,;:=+\-*/()[\]{}<>!?&|]*$/.test(source)).toBe(true)
    const q = new Float64Array(hostile.length).fill(0.1)
    const g = new Float64Array(hostile.length)
    const lp = ld.logDensityGradient(q, g)
    const n = hostile.length
    expect(close(lp, n * (-HL - 0.005) - HL - 0.5 * (1 - 0.1 * n) ** 2, 1e-12)).toBe(true)
    for (let i = 0; i < n; i++) expect(close(g[i]!, -0.1 + (1 - 0.1 * n), 1e-12)).toBe(true)
  })

  it("where code generation is blocked (CSP without unsafe-eval) the tape is used, and says so", () => {
    vi.stubGlobal("Function", function() {
      throw new EvalError("Code generation from strings disallowed for this context")
    })
    try {
      const ld = LogDensity.make(eightSchools)
      expect(ld.gradientSource).toBe("taped")
      expect(ld.gradientReason).toMatch(/code generation is not allowed/)
      const g = new Float64Array(10), hand = new Float64Array(10)
      const q = points(10, 1, 3)[0]!
      expect(close(ld.logDensityGradient(q, g), handEight(q, hand), 1e-12)).toBe(true)
      expectClose(g, hand, 1e-12)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it("the taped gradient's terms of adjoint 1, done as they are evaluated, agree with the edge sweep and the compiled gradient", () => {
    // Tape.valueAndGradient: normal priors (a constant σ) with an affine mean, the product on
    // either side, by a constant or a node, a node twice; a kernel prior; an observation with a
    // constant x; and terms still swept backwards (a shared-σ normal, a factor)
    const model: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 3))
      const tau = yield* sample("tau", Gamma(2, 1))
      const a = yield* sample("a", Normal(Ad.add(mu, Ad.mul(tau, 2)), 1.5))
      const b = yield* sample("b", Normal(Ad.add(Ad.mul(a, tau), mu), 0.7))
      const c = yield* sample("c", Normal(Ad.add(Ad.mul(a, a), 0.5), 2))
      yield* observe("y", Normal(Ad.add(b, Ad.mul(c, tau)), 1.1), 0.4)
      yield* observe("z", Normal(Ad.add(mu, Ad.mul(tau, b)), Ad.add(0.5, tau)), 0.3)
      yield* factor(Ad.mul(-0.1, Ad.square(c)))
    }
    const compiled = LogDensity.make(model, { gradient: "compiled" })
    const taped = LogDensity.make(model, { gradient: "taped" })
    const fd = LogDensity.make(model, { gradient: "finite-differences" })
    const { tape, output } = taped as unknown as { tape: Ad.Tape; output: number }
    const g1 = new Float64Array(5), g2 = new Float64Array(5), g3 = new Float64Array(5), g4 = new Float64Array(5)
    for (const q of points(5, 20, 11)) {
      const l1 = compiled.logDensityGradient(q, g1)
      const l2 = taped.logDensityGradient(q, g2)
      const l3 = fd.logDensityGradient(q, g3)
      // the same tape by evaluate and the edge sweep
      const l4 = tape.evaluate(q, output)
      tape.gradientOf(output, g4)
      expect(close(l1, l2, 1e-12) && close(l2, l4, 1e-12) && close(l1, l3, 1e-12)).toBe(true)
      expectClose(g2, g1, 1e-12)
      expectClose(g2, g4, 1e-12)
      for (let i = 0; i < 5; i++) expect(Math.abs(g2[i]! - g3[i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(g2[i]!)))
    }
    // not finite: the value as the model's, a zero gradient
    const bad = Float64Array.from([Number.NaN, 0, 0, 0, 0])
    g2.fill(1)
    expect(taped.logDensityGradient(bad, g2)).toBe(-Infinity)
    expect(Array.from(g2)).toEqual([0, 0, 0, 0, 0])
  })

  it("a large tape compiles in chunks (values in arrays) and agrees with the tape to 1e-12", () => {
    // a logistic regression on 600 synthetic rows: ~6 000 tape nodes, above the one-function form,
    // written two ways in no regular order (so no run of repeated rows to roll into a loop)
    const n = 600
    const xs = Array.from({ length: n }, (_, i) => Math.sin(i) * 2)
    const ys = xs.map((x, i) => (Math.cos(3 * i) + 0.5 * x > 0))
    const irregular = xs.map((_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1 > 0)
    const model: Model<void> = function*() {
      const a = yield* sample("a", Normal(0, 2))
      const b = yield* sample("b", Normal(0, 2))
      for (let i = 0; i < n; i++) {
        const eta = irregular[i] ? Ad.add(a, Ad.mul(b, xs[i]!)) : Ad.sub(Ad.mul(xs[i]!, b), Ad.neg(a))
        yield* observe(addr("y", i), BernoulliLogit(eta), ys[i]!)
      }
    }
    const compiled = LogDensity.make(model, { gradient: "compiled", maxCompiledNodes: 1_000_000 })
    const taped = LogDensity.make(model, { gradient: "taped" })
    const source = String((compiled as unknown as { compiled: unknown }).compiled)
    expect(source).toContain("forward1(q)")
    const g1 = new Float64Array(2), g2 = new Float64Array(2)
    for (const q of points(2, 10, 5)) {
      expect(close(compiled.logDensityGradient(q, g1), taped.logDensityGradient(q, g2), 1e-12)).toBe(true)
      expectClose(g1, g2, 1e-12)
    }
  }, 30_000)

  it("rows that repeat are rolled into a loop: the straight-line code's numbers bit for bit, compiled by auto whatever the rows", () => {
    // a per-row logistic likelihood (constants per row, a kernel's partial), and a hierarchical
    // normal with a latent per group (a leaf in each row, a known σ per row, shared μ and τ)
    const n = 400
    const xs = Array.from({ length: n }, (_, i) => Math.sin(i) * 2)
    const ys = xs.map((x, i) => (Math.cos(3 * i) + 0.5 * x > 0))
    const sigmas = xs.map((_, i) => 0.5 + (i % 7) / 4)
    const logistic: Model<void> = function*() {
      const a = yield* sample("a", Normal(0, 2))
      const b = yield* sample("b", Normal(0, 2))
      for (let i = 0; i < n; i++) yield* observe(addr("y", i), BernoulliLogit(Ad.add(a, Ad.mul(b, xs[i]!))), ys[i]!)
    }
    const groups: Model<void> = function*() {
      const mu = yield* sample("mu", Normal(0, 5))
      const tau = yield* sample("tau", Gamma(2, 1))
      for (let i = 0; i < n; i++) {
        const eta = yield* sample(addr("eta", i), Normal(0, 1))
        yield* observe(addr("y", i), Normal(Ad.add(mu, Ad.mul(tau, eta)), sigmas[i]!), xs[i]!)
      }
    }
    for (const [model, dimension] of [[logistic, 2], [groups, 2 + n]] as const) {
      const ld = LogDensity.make(model, { seed: 1 })
      expect(ld.gradientSource).toBe("compiled")
      expect(ld.gradientReason).toMatch(/400 repeated rows rolled into 1 loop/)
      const taped = LogDensity.make(model, { gradient: "taped", seed: 1 })
      const internal = ld as unknown as { tape: Ad.Tape; output: number }
      const straight = compile(internal.tape, { index: internal.output } as Ad.Node, dimension, 4000, false)
      const g1 = new Float64Array(dimension), g2 = new Float64Array(dimension), g3 = new Float64Array(dimension)
      for (const q of points(dimension, 5, 7)) {
        const l1 = ld.logDensityGradient(q, g1)
        straight(q, g2)
        expect(Object.is(l1, straight.value[0])).toBe(true)
        for (let i = 0; i < dimension; i++) expect(Object.is(g1[i], g2[i])).toBe(true)
        expect(close(l1, taped.logDensityGradient(q, g3), 1e-12)).toBe(true)
        expectClose(g1, g3, 1e-12)
      }
    }
  }, 30_000)

  it("random row models: the rolled loop computes the straight-line code's numbers bit for bit, and the tape's to 1e-12", () => {
    // rows of a random expression over shared sites (a, s), a per-row constant and, optionally,
    // a per-row latent; observed under a normal (constant or shared σ) or a logistic likelihood
    type Row = (a: Ad.Real, s: Ad.Real, c: number, e: Ad.Real) => Ad.Real
    let rolled = 0, compiledCount = 0
    const leaf = fc.constantFrom<Row>((a) => a, (_, s) => s, (_, __, c) => c, (_, __, ___, e) => e)
    const row: fc.Arbitrary<Row> = fc.letrec<{ r: Row }>((tie) => ({
      r: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.tuple(tie("r"), tie("r")).map(([f, g]): Row => (...v) => Ad.add(f(...v), g(...v))),
        fc.tuple(tie("r"), tie("r")).map(([f, g]): Row => (...v) => Ad.mul(f(...v), g(...v))),
        fc.tuple(tie("r"), tie("r")).map(([f, g]): Row => (...v) => Ad.sub(f(...v), g(...v))),
        tie("r").map((f): Row => (...v) => Ad.tanh(f(...v))),
        fc.tuple(tie("r"), tie("r")).map(([f, g]): Row => (...v) => Ad.dot([f(...v), 0.5], [g(...v), 2]))
      )
    })).r
    fc.assert(
      fc.property(row, fc.constantFrom("normal", "shared", "logistic"), fc.boolean(), fc.integer({ min: 1, max: 1000 }), (mean, likelihood, latent, seed) => {
        // enough rows that straight-line code would need arrays (above 4 000 statements), where rows roll
        const n = 400
        const model: Model<void> = function*() {
          const a = yield* sample("a", Normal(0, 1))
          const s = yield* sample("s", Gamma(3, 2))
          for (let i = 0; i < n; i++) {
            const e = latent ? yield* sample(addr("e", i), Normal(0, 1)) : 0
            const m = mean(a, s, Math.sin(i), e)
            if (likelihood === "logistic") yield* observe(addr("y", i), BernoulliLogit(m), i % 3 === 0)
            else yield* observe(addr("y", i), Normal(m, likelihood === "shared" ? s : 0.5 + (i % 4) / 4), Math.cos(i))
          }
        }
        const ld = LogDensity.make(model, { seed })
        if (ld.gradientSource !== "compiled") return true // a mean that ignores every latent, say
        if (/rolled into/.test(ld.gradientReason)) rolled++
        compiledCount++
        const taped = LogDensity.make(model, { gradient: "taped", seed })
        const internal = ld as unknown as { tape: Ad.Tape; output: number }
        const d = ld.dimension
        const straight = compile(internal.tape, { index: internal.output } as Ad.Node, d, 4000, false)
        const g1 = new Float64Array(d), g2 = new Float64Array(d), g3 = new Float64Array(d)
        for (const q of points(d, 3, seed)) {
          const l1 = ld.logDensityGradient(q, g1)
          straight(q, g2)
          const l2 = straight.value[0]!
          if (l1 !== l1 ? l2 === l2 : !Object.is(l1, l2 === l2 ? l2 : -Infinity)) return false
          if (!(l1 > -Infinity)) continue
          for (let i = 0; i < d; i++) if (!Object.is(g1[i], g2[i])) return false
          if (!close(l1, taped.logDensityGradient(q, g3), 1e-12)) return false
          for (let i = 0; i < d; i++) if (!close(g1[i]!, g3[i]!, 1e-12)) return false
        }
        return true
      }),
      { numRuns: 30 }
    )
    // the property is about the loops: nearly every case must have rolled its rows
    expect(rolled).toBeGreaterThanOrEqual(0.8 * compiledCount)
    expect(compiledCount).toBeGreaterThan(15)
  }, 120_000)

  it("a tape above maxCompiledNodes stays taped, with the reason", () => {
    const ld = LogDensity.make(eightSchools, { maxCompiledNodes: 10 })
    expect(ld.gradientSource).toBe("taped")
    expect(ld.gradientReason).toMatch(/maxCompiledNodes/)
  })

  it("an invalid parameter gives −∞ and a zero gradient, never NaN, in every source", () => {
    const model: Model<void> = function*() {
      const s = yield* sample("s", Normal(1, 1))
      yield* observe("y", Normal(0, s), 0.5)
    }
    for (const gradient of ["compiled", "taped", "finite-differences"] as const) {
      const ld = LogDensity.make(model, { gradient, seed: 11 })
      const g = new Float64Array(1).fill(7)
      expect(ld.logDensityGradient(new Float64Array([-0.5]), g)).toBe(-Infinity)
      expect(g[0]).toBe(0)
      expect(ld.logDensity(new Float64Array([-0.5]))).toBe(-Infinity)
    }
  })

  it("vector sites use finite differences, with the reason", () => {
    const model: Model<void> = function*() {
      const w = yield* sample("w", Dirichlet(new Float64Array([2, 3, 4])))
      yield* observe("y", Normal(w[0]!, 1), 0.2)
    }
    const ld = LogDensity.make(model)
    expect(ld.dimension).toBe(2)
    expect(ld.sites[0]!.shape).toEqual([3])
    expect(ld.gradientSource).toBe("finite-differences")
    expect(ld.gradientReason).toMatch(/"w"/)
  })

  it("options are checked; points of the wrong length are refused", () => {
    expect(() => LogDensity.make(eightSchools, { gradiant: "taped" } as never)).toThrow(InvalidOptionsError)
    expect(() => LogDensity.make(eightSchools, { gradient: "symbolic" } as never)).toThrow(InvalidOptionsError)
    const ld = LogDensity.make(eightSchools)
    expect(() => ld.logDensity(new Float64Array(3))).toThrow(LogDensity.DimensionError)
    expect(() => LogDensity.make(function*() {
      yield* sample("x", Normal(0, 1))
      yield* factor(-Infinity)
    }, { initAttempts: 3 })).toThrow(LogDensity.InitializationError)
  })
})
