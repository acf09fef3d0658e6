// The driver of `Vi`: options, the fits (ADVI's optimisation, then the draws from the fitted
// guide; the same optimiser on a user-written guide's score-function estimator), the mode (L-BFGS
// for MAP, then the Hessian and draws for Laplace), and their synchronous and Effect runs. With
// the automatic guides the model runs only to build its `LogDensity` (and, lazily, for return
// values): the optimisers move on the density's point. A user-written guide runs the guide and
// the model once per draw.
import type { Model } from "@fugue/core/Model"
import type * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { attemptWith } from "@fugue/runtime/Interpreter"
import * as Effect from "effect/Effect"
import * as LogDensity from "../LogDensity.ts"
import {
  checkKeys,
  COMMON_KEYS,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  oneOf,
  positiveInteger,
  seedOption,
  transformOption
} from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import type { Report } from "../Progress.ts"
import type { GuideOptions, GuideStats, LaplaceOptions, LaplaceStats, MapOptions, MapResult, Options, Stats } from "../Vi.ts"
import { isInferenceError, type InferenceError } from "./attempt.ts"
import { Recorder } from "./mhRecorder.ts"
import { drive, now, sideStream, streams, streamsUnsafe, transformFor } from "./shell.ts"
import { type Family, GaussianGuide, Optimizer } from "./viAdvi.ts"
import {
  coordinateNames,
  type InitialValues,
  NotPositiveDefiniteError,
  siteOf,
  startPoint,
  type Target,
  valuesAt,
  WithoutJacobian
} from "./viCommon.ts"
import { type GuideSpec, ScoreGuide } from "./viGuide.ts"
import { cholesky, hessian, inverseFromCholesky, Lbfgs, solveUpper } from "./viOptimize.ts"

/** The typed errors of `Vi`'s runs (in the Effect's error channel): those of every algorithm. */
export type RunError = InferenceError

export const isRunError = isInferenceError

const attempt: <A>(thunk: () => A) => Effect.Effect<A, RunError> = attemptWith(isRunError)

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** Adam's default step: see `Options.learningRate`. */
export const DEFAULT_LEARNING_RATE = 0.01
/** See `Options.tolerance`. */
export const DEFAULT_TOLERANCE = 0.001

const COMMON_START_KEYS = ["initial", "initRadius", "initAttempts", "gradient", ...COMMON_KEYS]
const VI_KEYS = ["guide", "iterations", "gradientSamples", "learningRate", "tolerance", "evalEvery", "evalSamples", "draws", "initScale", ...COMMON_START_KEYS]
const MAP_KEYS = ["iterations", "tolerance", "jacobian", ...COMMON_START_KEYS]
const LAPLACE_KEYS = [...MAP_KEYS, "draws"]

interface StartConfig {
  readonly seed: number | undefined
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly gradient: "auto" | LogDensity.GradientSource
  readonly initial: InitialValues | undefined
  readonly initRadius: number
  readonly initAttempts: number
}

interface ViConfig extends StartConfig {
  readonly guide: Family
  readonly iterations: number
  readonly gradientSamples: number
  readonly learningRate: number
  readonly tolerance: number
  readonly evalEvery: number
  readonly evalSamples: number
  readonly draws: number
  readonly initScale: number
}

interface ModeConfig extends StartConfig {
  readonly iterations: number
  readonly tolerance: number
  readonly jacobian: boolean
  readonly draws: number
}

const positiveNumber = (algorithm: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !(value > 0 && value < Infinity)) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: "must be a finite number > 0" })
  }
  return value
}

const validateStart = (algorithm: string, model: unknown, options: Record<string, unknown>, keys: ReadonlyArray<string>): StartConfig => {
  checkKeys(algorithm, options, keys)
  modelOption(algorithm, model)
  const initial = options.initial
  if (initial !== undefined && (typeof initial !== "object" || initial === null || Array.isArray(initial))) {
    throw new InvalidOptionsError({ algorithm, option: "initial", value: initial, reason: "must be an object of site values, e.g. { sigma: 1 }" })
  }
  const initRadius = options.initRadius === undefined ? 2 : options.initRadius
  if (typeof initRadius !== "number" || !(initRadius >= 0 && initRadius < Infinity)) {
    throw new InvalidOptionsError({ algorithm, option: "initRadius", value: initRadius, reason: "must be a finite number >= 0" })
  }
  return {
    seed: seedOption(algorithm, options.seed),
    transform: transformOption(algorithm, options.transform),
    maxInstructions: maxInstructionsOption(algorithm, options.maxInstructions),
    gradient: options.gradient === undefined ? "auto" : oneOf(algorithm, "gradient", options.gradient, ["auto", "compiled", "taped", "finite-differences"] as const),
    initial: initial as InitialValues | undefined,
    initRadius,
    initAttempts: options.initAttempts === undefined ? 100 : positiveInteger(algorithm, "initAttempts", options.initAttempts)
  }
}

const validateVi = (model: unknown, options: Options): ViConfig => {
  const A = "VI"
  const o = options as unknown as Record<string, unknown>
  const start = validateStart(A, model, o, VI_KEYS)
  const iterations = options.iterations === undefined ? 10_000 : positiveInteger(A, "iterations", options.iterations)
  return {
    ...start,
    guide: options.guide === undefined ? "meanField" : oneOf(A, "guide", options.guide, ["meanField", "fullRank"] as const),
    iterations,
    gradientSamples: options.gradientSamples === undefined ? 1 : positiveInteger(A, "gradientSamples", options.gradientSamples),
    learningRate: options.learningRate === undefined ? DEFAULT_LEARNING_RATE : positiveNumber(A, "learningRate", options.learningRate),
    tolerance: options.tolerance === undefined ? DEFAULT_TOLERANCE : positiveNumber(A, "tolerance", options.tolerance),
    evalEvery: options.evalEvery === undefined ? 100 : positiveInteger(A, "evalEvery", options.evalEvery),
    evalSamples: options.evalSamples === undefined ? 100 : positiveInteger(A, "evalSamples", options.evalSamples),
    draws: options.draws === undefined ? 1000 : positiveInteger(A, "draws", options.draws),
    initScale: options.initScale === undefined ? 0.1 : positiveNumber(A, "initScale", options.initScale)
  }
}

const validateMode = (algorithm: "MAP" | "Laplace", model: unknown, options: MapOptions | LaplaceOptions): ModeConfig => {
  const o = options as unknown as Record<string, unknown>
  const start = validateStart(algorithm, model, o, algorithm === "MAP" ? MAP_KEYS : LAPLACE_KEYS)
  const jacobian = o.jacobian === undefined ? algorithm === "Laplace" : o.jacobian
  if (typeof jacobian !== "boolean") throw new InvalidOptionsError({ algorithm, option: "jacobian", value: jacobian, reason: "must be a boolean" })
  const iterations = o.iterations === undefined ? 2_000 : o.iterations
  if (typeof iterations !== "number" || !Number.isSafeInteger(iterations) || iterations < 0) {
    throw new InvalidOptionsError({ algorithm, option: "iterations", value: iterations, reason: "must be an integer >= 0" })
  }
  return {
    ...start,
    iterations,
    tolerance: o.tolerance === undefined ? 1e-8 : positiveNumber(algorithm, "tolerance", o.tolerance),
    jacobian,
    draws: o.draws === undefined ? 1000 : positiveInteger(algorithm, "draws", o.draws)
  }
}

const densityOf = (model: Model<unknown>, config: StartConfig, transform: Transform | undefined): LogDensity.LogDensity =>
  LogDensity.make(model, { transform, maxInstructions: config.maxInstructions, gradient: config.gradient, discrete: "sumOut" })

export const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(3) : String(x))

// ---------------------------------------------------------------------------------------------
// ADVI
// ---------------------------------------------------------------------------------------------

/** A fit: the optimisation, then `draws` draws from the fitted guide recorded into the posterior. */
class Fit<A> {
  readonly config: ViConfig
  readonly density: LogDensity.LogDensity
  readonly guide: GaussianGuide
  readonly optimizer: Optimizer
  readonly rng: CoreRng.Rng
  readonly builder: Builder<A>
  readonly recorder: Recorder<A>
  readonly lp: Float64Array
  readonly logGuide: Float64Array
  private readonly point: Float64Array
  drawn = 0
  /** The stream summed-out discrete sites are drawn from (apart from the guide's, so the continuous draws do not depend on them). */
  private discreteRng: CoreRng.Rng | undefined = undefined
  constructor(model: Model<A>, config: ViConfig, transform: Transform | undefined, rng: CoreRng.Rng) {
    this.config = config
    this.rng = rng
    const density = (this.density = densityOf(model as Model<unknown>, config, transform))
    const start = startPoint("VI", density, density, config.initial, config.initRadius, config.initAttempts, rng)
    const evalRng = rng.split()
    this.guide = new GaussianGuide(density, config.guide, config.gradientSamples, config.evalSamples, rng, evalRng)
    this.optimizer = new Optimizer(this.guide, config, this.guide.initial(start, config.initScale))
    this.builder = new Builder<A>("VI", 1, config.draws)
    this.recorder = new Recorder(this.builder, 0)
    this.lp = new Float64Array(config.draws)
    this.logGuide = new Float64Array(config.draws)
    this.point = new Float64Array(density.dimension)
  }

  /** Works until the end or the deadline; returns whether the fit is finished. */
  advance(deadline: number): boolean {
    if (!this.optimizer.advance(deadline)) return false
    const n = this.config.draws, point = this.point, fitted = this.optimizer.fitted
    while (this.drawn < n) {
      const i = this.drawn++
      this.logGuide[i] = this.guide.draw(fitted, this.rng, point)
      const lp = this.density.logDensity(point)
      this.lp[i] = lp
      this.recorder.recordPoint(i, this.density, point, lp)
      if (this.density.discreteSites.length > 0) this.recorder.recordDiscrete(i, this.density, point, (this.discreteRng ??= sideStream(this.rng)))
      if (deadline < Infinity && (i & 63) === 63 && now() > deadline) break
    }
    return this.drawn >= n
  }

  report(): Report {
    return fitReport(this.optimizer, this.config, this.drawn)
  }

  finish(seed: number | undefined): Posterior<A, Stats> {
    const opt = this.optimizer, guide = this.guide, config = this.config, density = this.density, fitted = opt.fitted
    const elboFinal = opt.fittedElbo()
    const stats: Stats = {
      guide: config.guide,
      elbo: Float64Array.from(opt.elbo),
      elboIterations: Float64Array.from(opt.elboIterations),
      elboFinal,
      iterations: opt.iteration,
      converged: opt.converged,
      mean: guide.mean(fitted),
      sd: guide.sd(fitted),
      scaleTril: config.guide === "fullRank" ? guide.scaleTril(fitted) : undefined,
      coordinates: coordinateNames(density),
      lp: this.lp,
      logGuide: this.logGuide,
      rejectedDraws: guide.rejectedDraws,
      failedSteps: opt.failedSteps,
      gradientEvaluations: guide.gradientEvaluations,
      learningRate: config.learningRate,
      gradientSource: density.gradientSource,
      gradientReason: density.gradientReason,
      dimension: density.dimension,
      warnings: fitWarnings(opt, config, guide.rejectedDraws, "log density or gradient")
    }
    return this.builder.build({ stats, seed })
  }
}

/** Progress of a fit: the optimisation's steps, then the draws. */
export const fitReport = (opt: Optimizer, config: { readonly iterations: number; readonly draws: number }, drawn: number): Report => {
  const optimizing = !opt.done
  return {
    algorithm: "VI",
    chain: 0,
    done: optimizing ? opt.iteration : config.iterations + drawn,
    total: config.iterations + config.draws,
    phase: optimizing ? "optimizing" : "drawing"
  }
}

/** A fit's warnings: not converged, possibly diverging, draws skipped. */
export const fitWarnings = (opt: Optimizer, config: { readonly tolerance: number; readonly learningRate: number }, rejected: number, what: string): Array<string> => {
  const warnings: Array<string> = []
  if (!opt.converged) {
    warnings.push(
      `the ELBO did not converge in ${opt.iteration} iterations (relative change of the block means ${fmt(opt.relativeChange)}, tolerance ${config.tolerance}): raise iterations, or lower learningRate (now ${config.learningRate}) if the ELBO history oscillates`
    )
  }
  if (opt.diverging) {
    warnings.push(`the relative ELBO change is above 0.5 after ${opt.iteration} iterations: the optimisation may be diverging; lower learningRate (now ${config.learningRate})`)
  }
  if (rejected > 0) {
    warnings.push(
      `${rejected} draws of the guide had a non-finite ${what} and were skipped (${opt.failedSteps} steps had no valid draw): the guide puts mass where the model's density is not finite`
    )
  }
  return warnings
}

export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Stats> => {
  const config = validateVi(model, options)
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const fit = new Fit(model, config, config.transform, rngs[0]!)
  fit.advance(Infinity)
  return fit.finish(seed)
}

export const run = Effect.fn("Vi.run")(function*(model: Model<unknown>, options: Options) {
  const config = yield* attempt(() => validateVi(model, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  const fit = yield* attempt(() => new Fit(model, config, transform, rngs[0]!))
  yield* drive((deadline) => fit.advance(deadline), () => fit.report())
  return yield* attempt(() => fit.finish(seed))
})

// ---------------------------------------------------------------------------------------------
// User-written guides
// ---------------------------------------------------------------------------------------------

const GUIDE_KEYS = ["iterations", "gradientSamples", "learningRate", "tolerance", "evalEvery", "evalSamples", "draws", ...COMMON_KEYS]

interface GuideConfig {
  readonly seed: number | undefined
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly iterations: number
  readonly gradientSamples: number
  readonly learningRate: number
  readonly tolerance: number
  readonly evalEvery: number
  readonly evalSamples: number
  readonly draws: number
}

/** The checked parts of `Vi.guide(initial, build)`. */
export const makeGuide = (initial: unknown, build: unknown): GuideSpec => {
  const bad = (option: string, value: unknown, reason: string): never => {
    throw new InvalidOptionsError({ algorithm: "VI", option, value, reason })
  }
  if (typeof initial !== "object" || initial === null || Array.isArray(initial)) bad("guide", initial, "the initial parameters must be an object of numbers, e.g. { loc: 0, logScale: -1 }")
  const names = Object.keys(initial as object)
  if (names.length === 0) bad("guide", initial, "a guide needs at least one parameter")
  const values = names.map((name) => {
    const v = (initial as Record<string, unknown>)[name]
    if (typeof v !== "number" || !Number.isFinite(v)) bad(`guide.${name}`, v, "must be a finite number")
    return v as number
  })
  if (typeof build !== "function") bad("guide", build, "the guide must be a function from the parameters to a model")
  return { _tag: "Guide", names, initial: values, build: build as GuideSpec["build"] }
}

const validateGuide = (model: unknown, guide: unknown, options: GuideOptions): GuideConfig => {
  const A = "VI"
  checkKeys(A, options, GUIDE_KEYS)
  modelOption(A, model)
  const g = guide as Partial<GuideSpec> | null
  if (typeof g !== "object" || g === null || g._tag !== "Guide") {
    throw new InvalidOptionsError({ algorithm: A, option: "guide", value: guide, reason: "must be made by Vi.guide(initial, build)" })
  }
  const gradientSamples = options.gradientSamples === undefined ? 10 : positiveInteger(A, "gradientSamples", options.gradientSamples)
  if (gradientSamples < 2) {
    throw new InvalidOptionsError({ algorithm: A, option: "gradientSamples", value: gradientSamples, reason: "must be at least 2 (the leave-one-out baseline needs two draws)" })
  }
  return {
    seed: seedOption(A, options.seed),
    transform: transformOption(A, options.transform),
    maxInstructions: maxInstructionsOption(A, options.maxInstructions),
    iterations: options.iterations === undefined ? 10_000 : positiveInteger(A, "iterations", options.iterations),
    gradientSamples,
    learningRate: options.learningRate === undefined ? DEFAULT_LEARNING_RATE : positiveNumber(A, "learningRate", options.learningRate),
    tolerance: options.tolerance === undefined ? DEFAULT_TOLERANCE : positiveNumber(A, "tolerance", options.tolerance),
    evalEvery: options.evalEvery === undefined ? 100 : positiveInteger(A, "evalEvery", options.evalEvery),
    evalSamples: options.evalSamples === undefined ? 100 : positiveInteger(A, "evalSamples", options.evalSamples),
    draws: options.draws === undefined ? 1000 : positiveInteger(A, "draws", options.draws)
  }
}

/** A user-written guide's fit: the optimisation on the score-function estimator, then the draws. */
class GuideFit<A> {
  readonly config: GuideConfig
  readonly spec: GuideSpec
  readonly estimator: ScoreGuide
  readonly optimizer: Optimizer
  readonly rng: CoreRng.Rng
  readonly builder: Builder<A>
  readonly lp: Float64Array
  readonly logGuide: Float64Array
  drawn = 0
  constructor(model: Model<A>, spec: GuideSpec, config: GuideConfig, transform: Transform | undefined, rng: CoreRng.Rng) {
    this.config = config
    this.spec = spec
    this.rng = rng
    const evalRng = rng.split()
    this.estimator = new ScoreGuide(model as Model<unknown>, spec, transform, config.maxInstructions, config.gradientSamples, config.evalSamples, rng, evalRng)
    this.optimizer = new Optimizer(this.estimator, config, Float64Array.from(spec.initial))
    this.builder = new Builder<A>("VI", 1, config.draws)
    this.lp = new Float64Array(config.draws)
    this.logGuide = new Float64Array(config.draws)
  }

  advance(deadline: number): boolean {
    if (!this.optimizer.advance(deadline, 1)) return false
    const n = this.config.draws, fitted = this.optimizer.fitted
    while (this.drawn < n) {
      const i = this.drawn++
      const { trace, result, logJoint, logGuide } = this.estimator.draw(fitted, this.rng)
      this.lp[i] = logJoint
      this.logGuide[i] = logGuide
      this.builder.record(0, i, trace, result as A, logJoint)
      if (deadline < Infinity && now() > deadline) break
    }
    return this.drawn >= n
  }

  report(): Report {
    return fitReport(this.optimizer, this.config, this.drawn)
  }

  finish(seed: number | undefined): Posterior<A, GuideStats> {
    const opt = this.optimizer, est = this.estimator, config = this.config
    const elboFinal = opt.fittedElbo()
    const parameters: Record<string, number> = {}
    this.spec.names.forEach((name, k) => (parameters[name] = opt.fitted[k]!))
    const stats: GuideStats = {
      parameters,
      elbo: Float64Array.from(opt.elbo),
      elboIterations: Float64Array.from(opt.elboIterations),
      elboFinal,
      iterations: opt.iteration,
      converged: opt.converged,
      lp: this.lp,
      logGuide: this.logGuide,
      rejectedDraws: est.rejectedDraws,
      failedSteps: opt.failedSteps,
      modelEvaluations: est.modelEvaluations,
      learningRate: config.learningRate,
      warnings: fitWarnings(opt, config, est.rejectedDraws, "log p − log q")
    }
    return this.builder.build({ stats, seed })
  }
}

export const fitGuideUnsafe = <A>(model: Model<A>, guide: GuideSpec, options: GuideOptions): Posterior<A, GuideStats> => {
  const config = validateGuide(model, guide, options)
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const fit = new GuideFit(model, guide, config, config.transform, rngs[0]!)
  fit.advance(Infinity)
  return fit.finish(seed)
}

export const fitGuide = Effect.fn("Vi.fitGuide")(function*(model: Model<unknown>, guide: GuideSpec, options: GuideOptions) {
  const config = yield* attempt(() => validateGuide(model, guide, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  const fit = yield* attempt(() => new GuideFit(model, guide, config, transform, rngs[0]!))
  yield* drive((deadline) => fit.advance(deadline), () => fit.report())
  return yield* attempt(() => fit.finish(seed))
})

// ---------------------------------------------------------------------------------------------
// MAP and Laplace
// ---------------------------------------------------------------------------------------------

/** −∂²f/∂q² below this at the mode: a flat direction (see `Mode.flatSites`). */
const FLAT_CURVATURE = 1e-4

/** The mode search, then (Laplace) the Hessian and the draws. */
class Mode<A> {
  readonly algorithm: "MAP" | "Laplace"
  readonly config: ModeConfig
  readonly density: LogDensity.LogDensity
  readonly target: Target
  readonly rng: CoreRng.Rng
  readonly lbfgs: Lbfgs
  // Laplace
  private builder: Builder<A> | undefined
  private recorder: Recorder<A> | undefined
  private chol: Float64Array | undefined
  private covariance: Float64Array | undefined
  private logDetChol = 0
  private lp: Float64Array | undefined
  private logGuide: Float64Array | undefined
  private hessianEvaluations = 0
  drawn = 0
  /** The stream summed-out discrete sites are drawn from (apart from the draws' own). */
  private discreteRng: CoreRng.Rng | undefined = undefined
  constructor(algorithm: "MAP" | "Laplace", model: Model<A>, config: ModeConfig, transform: Transform | undefined, rng: CoreRng.Rng) {
    this.algorithm = algorithm
    this.config = config
    this.rng = rng
    const density = (this.density = densityOf(model as Model<unknown>, config, transform))
    this.target = config.jacobian ? density : new WithoutJacobian(density)
    const start = startPoint(algorithm, density, this.target, config.initial, config.initRadius, config.initAttempts, rng)
    this.lbfgs = new Lbfgs(this.target, { iterations: config.iterations, tolerance: config.tolerance }, start)
  }

  /** The optimisation until done or the deadline. */
  private optimize(deadline: number): boolean {
    const lbfgs = this.lbfgs
    while (!lbfgs.done) {
      lbfgs.step()
      if (deadline < Infinity && now() > deadline) break
    }
    return lbfgs.done
  }

  advanceMap(deadline: number): boolean {
    return this.optimize(deadline)
  }

  /** Laplace: the mode, the Hessian there, then the draws. */
  advanceLaplace(deadline: number): boolean {
    if (!this.optimize(deadline)) return false
    const d = this.density.dimension
    if (this.chol === undefined) {
      const h = new Float64Array(d * d)
      const used = hessian(this.target, this.lbfgs.x, h)
      if (used < 0) {
        const j = -1 - used
        throw new NotPositiveDefiniteError({ algorithm: this.algorithm, site: siteOf(this.density, j), coordinate: j, pivot: Number.NaN })
      }
      this.hessianEvaluations = used
      for (let k = 0; k < h.length; k++) h[k] = -h[k]!
      const l = new Float64Array(d * d), pivot = new Float64Array(1)
      const bad = cholesky(h, d, l, pivot)
      if (bad >= 0) throw new NotPositiveDefiniteError({ algorithm: this.algorithm, site: siteOf(this.density, bad), coordinate: bad, pivot: pivot[0]! })
      this.chol = l
      for (let i = 0; i < d; i++) this.logDetChol += Math.log(l[i * d + i]!)
      this.covariance = inverseFromCholesky(l, d)
      this.builder = new Builder<A>("Laplace", 1, this.config.draws)
      this.recorder = new Recorder(this.builder, 0)
      this.lp = new Float64Array(this.config.draws)
      this.logGuide = new Float64Array(this.config.draws)
    }
    const n = this.config.draws, l = this.chol, mode = this.lbfgs.x
    const z = new Float64Array(d), q = new Float64Array(d)
    const logNorm = -this.logDetChol + 0.5 * d * Math.log(2 * Math.PI)
    while (this.drawn < n) {
      const i = this.drawn++
      // q = mode + L⁻ᵀ z has covariance L⁻ᵀ L⁻¹ = (L Lᵀ)⁻¹ = (−H)⁻¹
      let ss = 0
      for (let k = 0; k < d; k++) {
        z[k] = this.rng.normal()
        ss += z[k]! * z[k]!
      }
      solveUpper(l, d, z)
      for (let k = 0; k < d; k++) q[k] = mode[k]! + z[k]!
      // log N(q; mode, (L Lᵀ)⁻¹) = −‖Lᵀ(q − mode)‖²/2 + log det L − (d/2) log 2π
      this.logGuide![i] = -0.5 * ss - logNorm
      const lp = this.density.logDensity(q)
      this.lp![i] = lp
      this.recorder!.recordPoint(i, this.density, q, lp)
      if (this.density.discreteSites.length > 0) this.recorder!.recordDiscrete(i, this.density, q, (this.discreteRng ??= sideStream(this.rng)))
      if (deadline < Infinity && (i & 63) === 63 && now() > deadline) break
    }
    return this.drawn >= n
  }

  report(): Report {
    const { iterations, draws } = this.config
    const laplace = this.algorithm === "Laplace"
    const optimizing = !this.lbfgs.done
    return {
      algorithm: this.algorithm,
      chain: 0,
      done: optimizing ? this.lbfgs.iteration : iterations + this.drawn,
      total: iterations + (laplace ? draws : 0),
      phase: optimizing ? "optimizing" : "drawing"
    }
  }

  private warnings(): Array<string> {
    const lbfgs = this.lbfgs
    const warnings = lbfgs.converged ? [] : [
      `${this.algorithm}: L-BFGS did not converge (${lbfgs.reason}; ‖gradient‖∞ ${fmt(Math.max(0, ...Array.from(lbfgs.g, Math.abs)))}): the density may have no mode (an improper posterior, or a scale whose mode is at 0 with jacobian: false), or raise iterations`
    ]
    warnings.push(...this.flatSites())
    return warnings
  }

  /**
   * Constrained sites along which the objective is nearly flat at the mode: −∂²f/∂q_i² below
   * FLAT_CURVATURE (an sd above 100 on the unconstrained scale), by central differences of the
   * gradient (2 gradients per constrained coordinate). That is the signature of a supremum on the
   * boundary of a support, e.g. a hierarchical scale driven to 0 without the Jacobian, where
   * L-BFGS stops on a vanishing change of the objective.
   */
  private flatSites(): Array<string> {
    const x = this.lbfgs.x, d = this.density.dimension, out: Array<string> = []
    const p = Float64Array.from(x), up = new Float64Array(d), down = new Float64Array(d)
    for (const site of this.density.sites) {
      if (site.support._tag === "Real" || site.support._tag === "RealVector") continue
      for (let i = site.offset; i < site.offset + site.dimension; i++) {
        const h = 6.055454452393343e-6 * Math.max(1, Math.abs(x[i]!))
        p[i] = x[i]! + h
        const a = this.target.logDensityGradient(p, up)
        p[i] = x[i]! - h
        const b = this.target.logDensityGradient(p, down)
        p[i] = x[i]!
        const curvature = -(up[i]! - down[i]!) / (2 * h)
        if (a > -Infinity && b > -Infinity && curvature < FLAT_CURVATURE) {
          out.push(
            `${this.algorithm}: the objective is nearly flat along site "${site.address}" at the mode (curvature ${fmt(curvature)} on the unconstrained scale, value ${fmt(valuesAt(this.density, x)[site.address] as number)}): its supremum may be on the boundary of the support (e.g. a scale at 0 with jacobian: false), not a mode`
          )
          break
        }
      }
    }
    return out
  }

  finishMap(seed: number | undefined): MapResult<A> {
    const lbfgs = this.lbfgs, density = this.density
    return {
      seed,
      values: valuesAt(density, lbfgs.x),
      point: Float64Array.from(lbfgs.x),
      logDensity: lbfgs.f,
      jacobian: this.config.jacobian,
      result: density.resultAt(lbfgs.x) as A,
      iterations: lbfgs.iteration,
      converged: lbfgs.converged,
      reason: lbfgs.reason,
      gradientEvaluations: lbfgs.gradientEvaluations,
      coordinates: coordinateNames(density),
      gradientSource: density.gradientSource,
      warnings: this.warnings()
    }
  }

  finishLaplace(seed: number | undefined): Posterior<A, LaplaceStats> {
    const lbfgs = this.lbfgs, density = this.density, d = density.dimension
    const covariance = this.covariance!
    const sd = new Float64Array(d)
    for (let i = 0; i < d; i++) sd[i] = Math.sqrt(covariance[i * d + i]!)
    const stats: LaplaceStats = {
      mean: Float64Array.from(lbfgs.x),
      covariance,
      sd,
      coordinates: coordinateNames(density),
      logDensity: lbfgs.f,
      jacobian: this.config.jacobian,
      iterations: lbfgs.iteration,
      converged: lbfgs.converged,
      gradientEvaluations: lbfgs.gradientEvaluations + this.hessianEvaluations,
      lp: this.lp!,
      logGuide: this.logGuide!,
      gradientSource: density.gradientSource,
      gradientReason: density.gradientReason,
      dimension: d,
      warnings: this.warnings()
    }
    return this.builder!.build({ stats, seed })
  }
}

export const mapUnsafe = <A>(model: Model<A>, options: MapOptions): MapResult<A> => {
  const config = validateMode("MAP", model, options)
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const mode = new Mode("MAP", model, config, config.transform, rngs[0]!)
  mode.advanceMap(Infinity)
  return mode.finishMap(seed)
}

export const map = Effect.fn("Vi.map")(function*(model: Model<unknown>, options: MapOptions) {
  const config = yield* attempt(() => validateMode("MAP", model, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  const mode = yield* attempt(() => new Mode("MAP", model, config, transform, rngs[0]!))
  yield* drive((deadline) => mode.advanceMap(deadline), () => mode.report())
  return yield* attempt(() => mode.finishMap(seed))
})

export const laplaceUnsafe = <A>(model: Model<A>, options: LaplaceOptions): Posterior<A, LaplaceStats> => {
  const config = validateMode("Laplace", model, options)
  const { rngs, seed } = streamsUnsafe(config.seed, 1)
  const mode = new Mode("Laplace", model, config, config.transform, rngs[0]!)
  mode.advanceLaplace(Infinity)
  return mode.finishLaplace(seed)
}

export const laplace = Effect.fn("Vi.laplace")(function*(model: Model<unknown>, options: LaplaceOptions) {
  const config = yield* attempt(() => validateMode("Laplace", model, options))
  const { rngs, seed } = yield* streams(config.seed, 1)
  const transform = yield* transformFor(config.transform)
  const mode = yield* attempt(() => new Mode("Laplace", model, config, transform, rngs[0]!))
  yield* drive((deadline) => mode.advanceLaplace(deadline), () => mode.report())
  return yield* attempt(() => mode.finishLaplace(seed))
})
