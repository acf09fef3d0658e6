// A user-written guide fitted by the score-function estimator (black-box VI: Ranganath, Gerrish &
// Blei 2014; Williams 1992), for models the Gaussian guide cannot cover: discrete latent sites,
// or a guide family chosen by hand.
//
// The guide is a model over the same latent addresses as the model, built from named parameters φ
// (`Vi.guide(initial, (φ) => model)`): its distributions take the parameters, as `Ad` values, and
// its arithmetic on them is written with `Ad`. One draw runs the guide with the parameters as the
// leaves of a tape: each site's value z_a is drawn from its distribution with the parameters'
// values, and log q_φ(z) = Σ_a log q(z_a | φ) is recorded through the families' analytic kernels,
// so one backward sweep gives ∇_φ log q_φ(z). The model is then scored at z (plain numbers, the
// run's handler layers around it): f(z) = log p(z, data) − log q_φ(z). Since E_q[∇_φ log q_φ] = 0,
//   ∇_φ ELBO = E_q[f(z) ∇_φ log q_φ(z)] = E_q[(f(z) − b) ∇_φ log q_φ(z)]
// for any b independent of z. With S draws per step the baseline of draw s is the mean of the
// other draws' f (leave-one-out; Kool, van Hoof & Welling 2019, Mnih & Rezende 2016), which keeps
// the estimate unbiased:
//   ĝ = 1/S Σ_s (f_s − (S f̄ − f_s)/(S − 1)) ∇ log q(z_s) = 1/(S − 1) Σ_s (f_s − f̄) ∇ log q(z_s).
// When the guide family contains the posterior, f is the constant log p(data) at the optimum, so
// the estimate's variance vanishes there. Its variance is otherwise far above the reparameterised
// gradient's (the Gaussian guides'), so use `gradientSamples` ≥ 10 (the default here).
//
// The ELBO estimates (for the convergence check) draw from a copy of one fixed stream each time
// (common random numbers: with the same uniforms, a continuous site's draw moves smoothly with φ).
import * as Ad from "@fugue/core/Ad"
import type { Address } from "@fugue/core/Address"
import { InvalidDistributionError, type Distribution } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import type * as CoreRng from "@fugue/core/Rng"
import { describe } from "@fugue/core/Value"
import { identity, PointMass, type Transform } from "@fugue/runtime/Combinators"
import { ModelCodeError, runToEnd } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import { noRandomness } from "./density.ts"
import type { Estimator } from "./viAdvi.ts"

/** The parameters, the initial values and the builder of a user-written guide (`Vi.guide`). */
export interface GuideSpec {
  readonly _tag: "Guide"
  readonly names: ReadonlyArray<string>
  readonly initial: ReadonlyArray<number>
  readonly build: (parameters: Readonly<Record<string, Ad.Real>>) => Model<unknown>
}

/**
 * A user-written guide does not fit its model: a latent site of the model that the guide does not
 * sample, a guide site that the model does not have, a value of the wrong type, a guide that
 * observes, or a guide site whose family has no analytic log density in its parameters.
 *
 * @example
 * Vi.fitGuideUnsafe(model, Vi.guide({ a: 0 }, ({ a }) => function* () {})) // throws GuideError { address: "mu" }
 *
 * @category errors
 * @since 0.2.0
 */
export class GuideError extends Data.TaggedError("GuideError")<{
  readonly address: string | undefined
  readonly reason: string
}> {
  override get message(): string {
    return `VI: the guide ${this.address === undefined ? "" : `at "${this.address}" `}${this.reason}`
  }
}

const unwrap = (error: unknown): unknown => (error instanceof ModelCodeError ? error.cause : error)

/** Runs the guide: draws each site, and sums log q (on the tape when recording). */
class GuideHandler implements Handler<Ad.Real> {
  tape: Ad.Tape | undefined = undefined
  rng: CoreRng.Rng = noRandomness
  readonly values = new Map<Address, unknown>()
  readonly terms: Array<Ad.Real> = []
  reset(tape: Ad.Tape | undefined, rng: CoreRng.Rng): void {
    this.tape = tape
    this.rng = rng
    this.values.clear()
    this.terms.length = 0
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (this.values.has(address)) throw new DuplicateAddressError({ address })
    const value = Ad.libraryRead(() => dist.sample(this.rng))
    this.values.set(address, value)
    const tape = this.tape
    const operands = tape?.distributions.get(dist)
    if (tape === undefined || operands === undefined) {
      this.terms.push(dist.logProb(value))
      return value
    }
    const kernel = dist.logProbKernel
    if (kernel === undefined) {
      throw new GuideError({ address, reason: `is a ${dist.family}, which has no analytic log density in its parameters: it cannot carry guide parameters` })
    }
    if (typeof value !== "number" && typeof value !== "boolean") {
      throw new GuideError({ address, reason: `draws a vector (${dist.family}): sites with guide parameters must be scalar` })
    }
    this.terms.push(tape.kernel(kernel, typeof value === "boolean" ? (value ? 1 : 0) : value, operands))
    return value
  }
  observe(address: Address): void {
    throw new GuideError({ address, reason: "observes: a guide only samples the model's latent sites" })
  }
  factor(): void {
    throw new GuideError({ address: undefined, reason: "has a factor: a guide only samples the model's latent sites" })
  }
  finish(): Ad.Real {
    return this.tape === undefined ? this.terms.reduce((a: number, b) => a + (b as number), 0) : Ad.sum(this.terms)
  }
}

/** Scores the model at the guide's values: log p(z, data) (and, when asked, the trace). */
class ModelScorer implements Handler<number> {
  values: ReadonlyMap<Address, unknown> = new Map()
  logJoint = 0
  readonly visited = new Set<Address>()
  trace: Trace | undefined = undefined
  /** The first term whose log probability was not finite, in words. */
  culprit = ""
  reset(values: ReadonlyMap<Address, unknown>, record: boolean): void {
    this.values = values
    this.logJoint = 0
    this.visited.clear()
    this.trace = record ? new Trace() : undefined
    this.culprit = ""
  }
  private add(what: () => string, lp: number): void {
    this.logJoint += lp
    if (this.culprit === "" && !(lp > -Infinity && lp < Infinity)) this.culprit = `${what()} has log probability ${lp}`
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (dist instanceof PointMass) {
      const lp = dist.logProb(dist.value)
      this.add(() => `site "${address}"`, lp)
      this.trace?.record({ address, value: dist.value as number, logProb: lp })
      return dist.value as T
    }
    const value = this.values.get(address)
    if (value === undefined) throw new GuideError({ address, reason: `does not sample the model's latent site (${dist.family})` })
    if (!dist.isValue(value)) throw new GuideError({ address, reason: `draws ${describe(value)}, not a value of the model's ${dist.family}` })
    if (this.visited.has(address)) throw new DuplicateAddressError({ address })
    this.visited.add(address)
    const lp = dist.logProb(value)
    this.add(() => `site "${address}" (${dist.family}) at ${describe(value)}`, lp)
    if (this.trace !== undefined) {
      this.trace.record({ address, value: value as number, logProb: lp })
      this.trace.logPrior += lp
    }
    return value
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    const lp = dist.logProb(value)
    this.add(() => `observation "${address}" (${dist.family})`, lp)
    if (this.trace !== undefined) this.trace.logLikelihood += lp
  }
  factor(logWeight: number): void {
    this.add(() => "a factor", logWeight)
    if (this.trace !== undefined) this.trace.logFactors += logWeight
  }
  finish(): number {
    if (this.visited.size !== this.values.size) {
      for (const address of this.values.keys()) {
        if (!this.visited.has(address)) throw new GuideError({ address, reason: "samples a site that is not a latent site of the model" })
      }
    }
    return this.logJoint
  }
}

/** The score-function estimator of a user-written guide's ELBO gradient. */
export class ScoreGuide implements Estimator {
  readonly size: number
  readonly spec: GuideSpec
  readonly model: Model<unknown>
  readonly maxInstructions: number | undefined
  readonly gradientSamples: number
  readonly evalSamples: number
  private readonly tape = new Ad.Tape()
  private readonly guide = new GuideHandler()
  private readonly scorer = new ModelScorer()
  private readonly wrapped: Handler<number>
  private readonly rng: CoreRng.Rng
  private readonly evalRng: CoreRng.Rng
  /** Per draw of a step: f_s and ∇ log q(z_s). */
  private readonly f: Float64Array
  private readonly scores: Float64Array
  private readonly valid: Uint8Array
  private lastInvalid: Array<string> = []
  rejectedDraws = 0
  modelEvaluations = 0

  constructor(model: Model<unknown>, spec: GuideSpec, transform: Transform | undefined, maxInstructions: number | undefined, gradientSamples: number, evalSamples: number, rng: CoreRng.Rng, evalRng: CoreRng.Rng) {
    this.model = model
    this.spec = spec
    this.size = spec.names.length
    this.maxInstructions = maxInstructions
    this.gradientSamples = gradientSamples
    this.evalSamples = evalSamples
    this.rng = rng
    this.evalRng = evalRng
    this.wrapped = (transform ?? identity)(this.scorer, noRandomness)
    this.f = new Float64Array(gradientSamples)
    this.scores = new Float64Array(gradientSamples * this.size)
    this.valid = new Uint8Array(gradientSamples)
  }

  /** The guide's parameters as a record of `values` (numbers or tape leaves). */
  private parameters(values: ArrayLike<Ad.Real>): Record<string, Ad.Real> {
    const out: Record<string, Ad.Real> = {}
    const names = this.spec.names
    for (let k = 0; k < names.length; k++) out[names[k]!] = values[k]!
    return out
  }

  /** One draw z ~ q_φ; returns log q_φ(z), and with `gradient` writes ∇_φ log q_φ(z) there. */
  private drawGuide(params: Float64Array, rng: CoreRng.Rng, gradient: Float64Array | undefined): number {
    const guide = this.guide
    if (gradient === undefined) {
      guide.reset(undefined, rng)
      try {
        const [, lq] = runToEnd(guide, this.spec.build(this.parameters(params)), { maxInstructions: this.maxInstructions })
        return lq as number
      } catch (error) {
        const cause = unwrap(error)
        throw cause instanceof GuideError ? cause : error
      }
    }
    const tape = this.tape
    guide.reset(tape, rng)
    tape.begin(this.size)
    let lq: Ad.Real
    try {
      const leaves: Array<Ad.Real> = []
      for (let k = 0; k < this.size; k++) leaves.push(tape.leaf(k, params[k]!))
      ;[, lq] = runToEnd(guide, this.spec.build(this.parameters(leaves)), { maxInstructions: this.maxInstructions })
      if (tape.escaped >= 0) {
        throw new GuideError({ address: undefined, reason: "does arithmetic on its parameters in plain JavaScript (valueOf): write it with Ad functions (Ad.exp(logScale), not Math.exp)" })
      }
    } catch (error) {
      const cause = unwrap(error)
      throw cause instanceof GuideError ? cause : error
    } finally {
      tape.end()
    }
    tape.gradient(lq, gradient)
    return Ad.primal(lq)
  }

  /** log p(z, data) at the guide's last draw (−∞ where a distribution of the model is invalid there). */
  private scoreModel(record: boolean): { readonly logJoint: number; readonly result: unknown } {
    this.scorer.reset(this.guide.values, record)
    this.modelEvaluations++
    try {
      const [result, lp] = runToEnd(this.wrapped, this.model, { maxInstructions: this.maxInstructions })
      return { logJoint: lp === lp ? lp : -Infinity, result }
    } catch (error) {
      const cause = unwrap(error)
      if (cause instanceof GuideError) throw cause
      if (cause instanceof InvalidDistributionError) {
        this.scorer.culprit = cause.message
        return { logJoint: -Infinity, result: undefined }
      }
      throw error
    }
  }

  private noteInvalid(f: number): void {
    this.rejectedDraws++
    const at = [...this.guide.values].slice(0, 5).map(([a, v]) => `${a} = ${describe(v)}`).join(", ")
    this.lastInvalid = [this.scorer.culprit !== "" ? this.scorer.culprit : `log p − log q is ${f}`, `at the guide's draw ${at}`]
  }

  gradient(theta: Float64Array, grad: Float64Array): number {
    const S = this.gradientSamples, P = this.size, f = this.f, scores = this.scores, valid = this.valid
    let n = 0, mean = 0
    for (let s = 0; s < S; s++) {
      const lq = this.drawGuide(theta, this.rng, scores.subarray(s * P, (s + 1) * P))
      const fs = this.scoreModel(false).logJoint - lq
      let ok = fs > -Infinity && fs < Infinity
      for (let k = 0; ok && k < P; k++) ok = scores[s * P + k]! - scores[s * P + k]! === 0
      valid[s] = ok ? 1 : 0
      if (!ok) {
        this.noteInvalid(fs)
        continue
      }
      f[s] = fs
      mean += fs
      n++
    }
    // the leave-one-out baseline needs two valid draws
    if (n < 2) return 0
    mean /= n
    grad.fill(0)
    for (let s = 0; s < S; s++) {
      if (valid[s] === 0) continue
      const w = (f[s]! - mean) / (n - 1)
      for (let k = 0; k < P; k++) grad[k] += w * scores[s * P + k]!
    }
    return n
  }

  elbo(params: Float64Array): number {
    const rng = this.evalRng.clone()
    let sum = 0, n = 0
    for (let k = 0; k < this.evalSamples; k++) {
      const lq = this.drawGuide(params, rng, undefined)
      const fk = this.scoreModel(false).logJoint - lq
      if (fk > -Infinity && fk < Infinity) {
        sum += fk
        n++
      } else this.noteInvalid(fk)
    }
    return n === 0 ? -Infinity : sum / n
  }

  explainInvalid(): Array<string> {
    return this.lastInvalid
  }

  /** A draw from the guide with `params`, scored by the model: its trace, return value, log joint and log q. */
  draw(params: Float64Array, rng: CoreRng.Rng): { readonly trace: Trace; readonly result: unknown; readonly logJoint: number; readonly logGuide: number } {
    const logGuide = this.drawGuide(params, rng, undefined)
    const { logJoint, result } = this.scoreModel(true)
    return { trace: this.scorer.trace!, result, logJoint, logGuide }
  }
}
