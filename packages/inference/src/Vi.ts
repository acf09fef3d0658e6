/**
 * Variational inference, MAP and the Laplace approximation on a model's unconstrained log density
 * (`LogDensity`): the fast, approximate alternatives to NUTS for models whose latent sites are
 * continuous and fixed. `Vi.run` is ADVI (Kucukelbir, Tran, Ranganath, Gelman & Blei 2017,
 * "Automatic Differentiation Variational Inference", JMLR 18): a Gaussian guide on the
 * unconstrained space, mean-field (diagonal) or full-rank (a Cholesky factor), built from the
 * model's sites with nothing to write, fitted by maximising the ELBO with reparameterised
 * gradients through the exact gradient of the log density (Kingma & Welling 2014; Titsias &
 * Lázaro-Gredilla 2014) and Adam (Kingma & Ba 2015), stopped by a running-average form of Stan's relative-ELBO-change rule;
 * its result is a `Posterior` of draws from the fitted guide pushed through the bijections, with
 * the ELBO history in `Vi.stats`. `Vi.mapUnsafe` finds the posterior mode by L-BFGS (Liu &
 * Nocedal 1989); `Vi.laplaceUnsafe` puts a Gaussian at the mode of the unconstrained density with
 * the covariance of the inverse negative Hessian (finite differences of the exact gradient), as
 * Stan's `laplace` method. Use NUTS when the posterior's shape matters (skew, heavy tails,
 * correlations a mean-field guide cannot represent, funnels); use these for speed, initial values
 * or large models. For discrete latent sites, or a guide family of your own, `Vi.fitGuideUnsafe`
 * fits a user-written guide (`Vi.guide`: a model over the same latent sites, built from named
 * parameters) by the score-function estimator with a leave-one-out baseline (black-box VI,
 * Ranganath, Gerrish & Blei 2014; Kool, van Hoof & Welling 2019); the automatic guides raise
 * `DiscreteLatentError` for discrete sites.
 *
 * @since 0.2.0
 */
import type * as Ad from "@fugue/core/Ad"
import type { Model } from "@fugue/core/Model"
import type * as Effect from "effect/Effect"
import type * as LogDensity from "./LogDensity.ts"
import type { Common } from "./Options.ts"
import type { Posterior } from "./Posterior.ts"
import * as Driver from "./internal/viRun.ts"

export { NonFiniteDensityError, NotPositiveDefiniteError } from "./internal/viCommon.ts"
export { GuideError } from "./internal/viGuide.ts"
export type { InitialValues } from "./internal/viCommon.ts"
import type { InitialValues } from "./internal/viCommon.ts"

/**
 * The typed errors of `run`, `map`, `laplace` and `fitGuide` (in the Effect's error channel;
 * thrown by the synchronous forms): invalid options, the model's own typed errors, the
 * `LogDensity` errors (discrete latent sites, a changing structure, randomness in the density, no
 * finite start, a forced gradient source that is not available), `NonFiniteDensityError`,
 * `NotPositiveDefiniteError` and `GuideError`.
 *
 * @example
 * const error = yield* Effect.flip(Vi.run(model, { iterations: 0 })) // InvalidOptionsError
 *
 * @category errors
 * @since 0.2.0
 */
export type RunError = Driver.RunError

/**
 * Options of `run` / `runUnsafe` (ADVI).
 *
 * **Details**: each of at most `iterations` steps estimates the ELBO's gradient with
 * `gradientSamples` draws from the guide and takes one Adam step (β1 = 0.9, β2 = 0.999). Every
 * `evalEvery` steps (a window) the ELBO is estimated with `evalSamples` fixed draws at the
 * average of the window's iterates; with W = max(2, min(10, ⌊0.1·iterations/evalEvery⌋)), the run
 * stops when the means of the last W estimates and of the W before differ by less than
 * `tolerance` relatively (after Stan's `tol_rel_obj`), and the fitted guide is the average of the
 * last W windows' iterates (Polyak–Ruppert averaging: constant-step Adam never settles, and the
 * average's error shrinks as 1/√(W·evalEvery·gradientSamples)). The guide starts at the user's
 * `initial` values (sites left out: uniform(−initRadius, initRadius) on the unconstrained scale),
 * with scales `initScale` and no correlation.
 *
 * @example
 * const options: Vi.Options = { guide: "fullRank", iterations: 20_000, learningRate: 0.01, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options extends Common {
  /** `"meanField"` (default): independent Gaussians, 2d parameters; `"fullRank"`: a correlated Gaussian, d + d(d+1)/2 parameters. */
  readonly guide?: "meanField" | "fullRank" | undefined
  /** The most Adam steps (default 10 000). */
  readonly iterations?: number | undefined
  /** Draws from the guide per gradient estimate (default 1, as Stan's `grad_samples`). */
  readonly gradientSamples?: number | undefined
  /**
   * Adam's step size (default 0.01). Adam moves each parameter by at most about this much per
   * step, so 0.01 walks a location across a unit of the unconstrained scale (or a scale by a
   * factor e) in 100 steps or more. The fitted guide's random error does not depend on it (it is
   * set by the number of averaged draws), but the constant step's bias grows with it: on the
   * validation regression the fitted scales came out ≈ 3 % narrow at 0.1, ≈ 1 % at 0.05 and
   * within 0.5 % at 0.01 (measured), while 0.03 converged in about half the iterations of 0.01.
   */
  readonly learningRate?: number | undefined
  /**
   * The relative change of the running ELBO average below which the run stops (default 0.001,
   * a tenth of Stan's). Relative, as Stan's: a model with a large |ELBO| (much data) stops at
   * larger absolute changes, so lower it there. Measured on the validation models: 0.01 stops
   * 100–300 iterations earlier with the same accuracy from the default start, but from unit
   * initial scales it left the scales 10–28 % too wide, where 0.001 left 2–15 %.
   */
  readonly tolerance?: number | undefined
  /** Steps between two ELBO estimates, and the window whose iterates are averaged (default 100, Stan's `eval_elbo`). */
  readonly evalEvery?: number | undefined
  /** Draws per ELBO estimate, the same at every estimate (default 100, Stan's `elbo_samples`). */
  readonly evalSamples?: number | undefined
  /** Draws from the fitted guide in the posterior (default 1000, Stan's `output_samples`). */
  readonly draws?: number | undefined
  /** Initial guide means on the sites' own scale, by address (e.g. `{ sigma: 1 }`); sites left out start at random. */
  readonly initial?: InitialValues | undefined
  /** Random initial means are uniform(−initRadius, initRadius) on the unconstrained scale (default 2; 0 starts at 0). */
  readonly initRadius?: number | undefined
  /**
   * The guide's initial standard deviations on the unconstrained scale (default 0.1, as Pyro's
   * `AutoNormal`; Stan starts at 1). A wide start puts draws in the tails of a narrow posterior,
   * where the gradient of a scale's log density is large and heavy-tailed (exponential in log σ);
   * Adam's second-moment estimate remembers those, and every later step is small: on the
   * validation models 1 took 1.4–2.6× the iterations of 0.1 and stopped early more often.
   */
  readonly initScale?: number | undefined
  /** Random starts tried for a finite log density and gradient before `InitializationError` (default 100). */
  readonly initAttempts?: number | undefined
  /** The gradient source (`LogDensity`'s `gradient` option; default "auto"). */
  readonly gradient?: "auto" | LogDensity.GradientSource | undefined
}

/**
 * The statistics of a VI posterior (`Vi.stats(post)`): the ELBO history and the fitted guide.
 *
 * @example
 * const { elbo, converged, mean, sd } = Vi.stats(post)
 * elbo[elbo.length - 1] // the final ELBO estimate, a lower bound on log p(data)
 *
 * @category models
 * @since 0.2.0
 */
export interface Stats {
  /** The guide family. */
  readonly guide: "meanField" | "fullRank"
  /** The ELBO estimates: at the start, then every `evalEvery` iterations (and at the last), each at the window's average guide. */
  readonly elbo: Float64Array
  /** The iteration of each ELBO estimate. */
  readonly elboIterations: Float64Array
  /** The ELBO at the fitted guide (same draws as the history): a lower bound on log p(data), up to its Monte Carlo error. */
  readonly elboFinal: number
  /** Adam steps taken. */
  readonly iterations: number
  /** Whether the relative-ELBO-change rule stopped the run (else the iteration limit did). */
  readonly converged: boolean
  /** The fitted guide's mean on the unconstrained scale, coordinate by coordinate (`coordinates`). */
  readonly mean: Float64Array
  /** The fitted guide's marginal standard deviations on the unconstrained scale. */
  readonly sd: Float64Array
  /** Full rank: the guide's Cholesky factor L (covariance L Lᵀ), row-major d × d; undefined for mean field. */
  readonly scaleTril: Float64Array | undefined
  /** Names of the unconstrained coordinates: the address, or `"address[j]"` for a vector site's j-th. */
  readonly coordinates: ReadonlyArray<string>
  /** Per draw: the model's log density on the unconstrained space, Jacobian included (−∞ where not finite). */
  readonly lp: Float64Array
  /** Per draw: the guide's log density there (`lp − logGuide` is the draw's log importance ratio). */
  readonly logGuide: Float64Array
  /**
   * Draws of the guide (in gradient steps and ELBO estimates) whose log density or gradient was
   * not finite, skipped. Skipping drops their −∞ from the ELBO, so where they are frequent the
   * guide is wider than the ELBO's optimum (a warning says so).
   */
  readonly rejectedDraws: number
  /** Steps with no valid draw (the parameters were left unchanged). */
  readonly failedSteps: number
  /** Gradient evaluations of the log density. */
  readonly gradientEvaluations: number
  /** Adam's step size. */
  readonly learningRate: number
  /** Where the gradient came from, and why (`LogDensity.gradientSource` / `gradientReason`). */
  readonly gradientSource: LogDensity.GradientSource
  readonly gradientReason: string
  /** Unconstrained coordinates. */
  readonly dimension: number
  /** Not converged, possibly diverging, draws skipped. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Options of `mapUnsafe` / `map`.
 *
 * **Details**: L-BFGS (memory 10, strong-Wolfe line search) from the user's `initial` values
 * (others uniform(−initRadius, initRadius) on the unconstrained scale), until ‖∇‖∞ ≤ `tolerance`
 * or the log density changes by less than 2.2e-12 relatively (Stan's `tol_grad`, `tol_rel_obj`).
 * With `jacobian: false` (the default, as Stan's `optimize`) the objective is log p(x, data), the
 * mode of the posterior density of the sites' own values; with `jacobian: true` it is the log
 * density on the unconstrained space, log p(x(q), data) + log |det ∂x/∂q|, whose mode is where
 * the Laplace approximation is centred. The two differ for constrained sites: for a scale σ with
 * the log transform, the Jacobian adds log σ, which moves the mode up (and keeps it away from 0).
 *
 * @example
 * const options: Vi.MapOptions = { jacobian: false, tolerance: 1e-10, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface MapOptions extends Common {
  /** The most L-BFGS iterations (default 2000). */
  readonly iterations?: number | undefined
  /** Converged when the gradient's largest absolute coordinate is at most this (default 1e-8). */
  readonly tolerance?: number | undefined
  /** Include the bijections' log-Jacobian in the objective (default false for MAP, true for Laplace). */
  readonly jacobian?: boolean | undefined
  /** Initial values on the sites' own scale, by address; sites left out start at random. */
  readonly initial?: InitialValues | undefined
  /** Random initial coordinates are uniform(−initRadius, initRadius) on the unconstrained scale (default 2). */
  readonly initRadius?: number | undefined
  /** Random starts tried for a finite log density and gradient (default 100). */
  readonly initAttempts?: number | undefined
  /** The gradient source (default "auto"). */
  readonly gradient?: "auto" | LogDensity.GradientSource | undefined
}

/**
 * The result of `mapUnsafe` / `map`: the mode, on the sites' own scale and unconstrained.
 *
 * @example
 * const { values, logDensity, converged } = Vi.mapUnsafe(model, { seed: 1 })
 * values.slope // number; a vector site is a Float64Array
 *
 * @category models
 * @since 0.2.0
 */
export interface MapResult<A> {
  /** The site values at the mode, by address: numbers, or Float64Arrays for vector sites. */
  readonly values: Readonly<Record<string, number | Float64Array>>
  /** The mode on the unconstrained space (coordinates in `coordinates` order). */
  readonly point: Float64Array
  /** The objective at the mode: log p(x, data) (`jacobian: false`), or with the log-Jacobian added. */
  readonly logDensity: number
  /** Whether the objective included the log-Jacobian. */
  readonly jacobian: boolean
  /** The model's return value at the mode. */
  readonly result: A
  /** L-BFGS iterations. */
  readonly iterations: number
  /** Whether a convergence criterion stopped L-BFGS (`reason` says which, or why it stopped). */
  readonly converged: boolean
  readonly reason: string
  /** Gradient evaluations (line searches included). */
  readonly gradientEvaluations: number
  /** Names of the unconstrained coordinates. */
  readonly coordinates: ReadonlyArray<string>
  /** Where the gradient came from. */
  readonly gradientSource: LogDensity.GradientSource
  /** Not converged; constrained sites along which the objective is flat at the end (a supremum on a boundary). */
  readonly warnings: ReadonlyArray<string>
  /** The seed of the random start. */
  readonly seed: number | undefined
}

/**
 * Options of `laplaceUnsafe` / `laplace`: those of MAP (with `jacobian` defaulting to true) and
 * the number of draws.
 *
 * @example
 * const options: Vi.LaplaceOptions = { draws: 4000, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface LaplaceOptions extends MapOptions {
  /** Draws from the Gaussian approximation in the posterior (default 1000). */
  readonly draws?: number | undefined
}

/**
 * The statistics of a Laplace posterior (`Vi.laplaceStats(post)`): the Gaussian on the
 * unconstrained space.
 *
 * @example
 * const { mean, covariance, sd } = Vi.laplaceStats(post)
 *
 * @category models
 * @since 0.2.0
 */
export interface LaplaceStats {
  /** The mode, on the unconstrained space: the Gaussian's mean. */
  readonly mean: Float64Array
  /** (−H)⁻¹, H the Hessian of the objective at the mode, row-major d × d. */
  readonly covariance: Float64Array
  /** √ of its diagonal. */
  readonly sd: Float64Array
  /** Names of the unconstrained coordinates. */
  readonly coordinates: ReadonlyArray<string>
  /** The objective at the mode. */
  readonly logDensity: number
  /** Whether the objective included the log-Jacobian (default true). */
  readonly jacobian: boolean
  /** L-BFGS iterations, and whether it converged. */
  readonly iterations: number
  readonly converged: boolean
  /** Gradient evaluations: the optimisation's and the Hessian's 2d. */
  readonly gradientEvaluations: number
  /** Per draw: the model's log density on the unconstrained space, Jacobian included. */
  readonly lp: Float64Array
  /** Per draw: the Gaussian's log density there (Stan's `log_g__`). */
  readonly logGuide: Float64Array
  /** Where the gradient came from, and why. */
  readonly gradientSource: LogDensity.GradientSource
  readonly gradientReason: string
  /** Unconstrained coordinates. */
  readonly dimension: number
  /** Not converged. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Fits a Gaussian guide to the posterior of `model` by ADVI, synchronously, and returns draws
 * from it as a `Posterior` (algorithm "VI").
 *
 * **Details**: the guide q(ζ) = N(μ, L Lᵀ) lives on the unconstrained space; its draws are pushed
 * through the sites' bijections, so a positive site's draws are log-normal. The ELBO is
 * E_q[log p(ζ)] + H[q] with log p the unconstrained log density (Jacobian included) and H the
 * Gaussian's entropy Σ log L_ii + (d/2)(1 + log 2π), exact; its gradient is reparameterised
 * (ζ = μ + Lε). Throws `InvalidOptionsError` before any work; the `LogDensity` errors when the
 * model has no fixed continuous density; `InitializationError` when no start has a finite log
 * density and gradient; `NonFiniteDensityError` when 50 steps in a row have no draw with a finite
 * log density and gradient. Draws with a non-finite log density or gradient are otherwise skipped
 * and counted (`stats.rejectedDraws`); an unconverged run warns in `stats.warnings`.
 *
 * @example
 * const post = Vi.runUnsafe(regression, { guide: "fullRank", seed: 1 })
 * Posterior.mean(post, "slope")
 * Vi.stats(post).elbo // the ELBO history
 *
 * @category constructors
 * @since 0.2.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options = {}): Posterior<A, Stats> => Driver.runUnsafe(model, options)

/**
 * ADVI as an Effect: the optimisation in time slices (interruptible within a few milliseconds),
 * progress through `Progress` (phases "optimizing", "drawing"), the model run through the
 * `Interpreter` layers in the context.
 *
 * **Details**: with a `seed`, the result equals `runUnsafe(model, options)` exactly; without one,
 * the stream is split from the `Rng` service, or a fresh seed is drawn (recorded in
 * `posterior.seed`). Errors as in `runUnsafe`, in the error channel (`RunError`).
 *
 * @example
 * const post = yield* Vi.run(model, { seed: 1 }).pipe(
 *   Effect.provide(Interpreter.layerCondition({ y: 2 }).pipe(Layer.provide(Interpreter.layerPrior))),
 *   Effect.provide(Progress.layerTerminal)
 * )
 *
 * @category constructors
 * @since 0.2.0
 */
export const run = <A>(model: Model<A>, options: Options = {}): Effect.Effect<Posterior<A, Stats>, RunError> =>
  Driver.run(model as Model<unknown>, options) as Effect.Effect<Posterior<A, Stats>, RunError>

/**
 * The statistics of a VI posterior, typed.
 *
 * @example
 * const { elbo, iterations, converged, warnings } = Vi.stats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const stats = (posterior: Posterior<unknown, Stats>): Stats => posterior.stats

/**
 * The posterior mode (MAP estimate) of `model` by L-BFGS, synchronously.
 *
 * **Details**: see `MapOptions` for the objective (`jacobian`) and the stopping rules. The mode is
 * searched on the unconstrained space, so a constrained site never leaves its support. Where the
 * supremum is on the boundary of a support (a hierarchical model's group scale at 0 without the
 * Jacobian), L-BFGS stops near it, often on the vanishing change of the objective, so
 * `converged` can be true: `warnings` then names each constrained site along which the objective
 * is flat at the end (curvature below 1e-4 on the unconstrained scale). Errors as in `runUnsafe`
 * (`InitializationError` when no start has a finite log density and gradient).
 *
 * @example
 * const { values, converged } = Vi.mapUnsafe(regression, { seed: 1 })
 * values.slope
 *
 * @category constructors
 * @since 0.2.0
 */
export const mapUnsafe = <A>(model: Model<A>, options: MapOptions = {}): MapResult<A> => Driver.mapUnsafe(model, options)

/**
 * The posterior mode as an Effect (time slices, progress, the context's `Interpreter` layers).
 *
 * @example
 * const { values } = yield* Vi.map(model, { seed: 1 }).pipe(Effect.provide(layers))
 *
 * @category constructors
 * @since 0.2.0
 */
export const map = <A>(model: Model<A>, options: MapOptions = {}): Effect.Effect<MapResult<A>, RunError> =>
  Driver.map(model as Model<unknown>, options) as Effect.Effect<MapResult<A>, RunError>

/**
 * The Laplace approximation of the posterior of `model`, synchronously: a Gaussian on the
 * unconstrained space at the mode, with covariance (−H)⁻¹, returned as draws (algorithm "Laplace").
 *
 * **Details**: the mode is found as by `mapUnsafe` with `jacobian: true` (the default here, as
 * Stan's `laplace`: the Gaussian approximates the density of the unconstrained point, so its
 * centre must be that density's mode). H is the Hessian there by central differences of the exact
 * gradient (2d gradients, step ε^(1/3)·max(1, |q_i|), symmetrised; exact up to rounding for a
 * Gaussian posterior). Draws q = mode + L⁻ᵀz with −H = L Lᵀ and z ~ N(0, I) are pushed through
 * the bijections. A negative Hessian that is not positive definite is `NotPositiveDefiniteError`
 * naming the coordinate's site.
 *
 * @example
 * const post = Vi.laplaceUnsafe(regression, { draws: 4000, seed: 1 })
 * Vi.laplaceStats(post).covariance
 *
 * @category constructors
 * @since 0.2.0
 */
export const laplaceUnsafe = <A>(model: Model<A>, options: LaplaceOptions = {}): Posterior<A, LaplaceStats> =>
  Driver.laplaceUnsafe(model, options)

/**
 * The Laplace approximation as an Effect (time slices, progress, the context's `Interpreter` layers).
 *
 * @example
 * const post = yield* Vi.laplace(model, { seed: 1 }).pipe(Effect.provide(layers))
 *
 * @category constructors
 * @since 0.2.0
 */
export const laplace = <A>(model: Model<A>, options: LaplaceOptions = {}): Effect.Effect<Posterior<A, LaplaceStats>, RunError> =>
  Driver.laplace(model as Model<unknown>, options) as Effect.Effect<Posterior<A, LaplaceStats>, RunError>

/**
 * The statistics of a Laplace posterior, typed.
 *
 * @example
 * const { mean, covariance, logDensity } = Vi.laplaceStats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const laplaceStats = (posterior: Posterior<unknown, LaplaceStats>): LaplaceStats => posterior.stats

/**
 * A user-written guide: named parameters with their initial values, and the guide model built
 * from them (`Vi.guide`).
 *
 * @example
 * const g: Vi.Guide<"loc" | "logScale"> = Vi.guide({ loc: 0, logScale: -1 }, ({ loc, logScale }) => function* () {
 *   yield* sample("mu", Normal(loc, Ad.exp(logScale)))
 * })
 *
 * @category models
 * @since 0.2.0
 */
export interface Guide<P extends string = string> {
  readonly _tag: "Guide"
  readonly names: ReadonlyArray<P>
  readonly initial: ReadonlyArray<number>
  readonly build: (parameters: Readonly<Record<P, Ad.Real>>) => Model<unknown>
}

/**
 * A user-written guide for `fitGuideUnsafe`: `build(parameters)` is a model that samples every
 * latent site of the model (the same addresses and value types) and nothing else, with
 * distributions whose parameters are computed from `parameters` with `Ad` functions.
 *
 * **Details**: the parameters are unconstrained reals, so write a scale as `Ad.exp(logScale)` and
 * a probability through `BernoulliLogit(logit)`. A site whose distribution takes guide parameters
 * must be scalar and of a family with an analytic log density in its parameters (Normal,
 * LogNormal, Gamma, Beta, Bernoulli, BernoulliLogit, Poisson, Binomial, …; not Categorical or the
 * vector families). The guide runs without the handler layers (they apply to the model). An
 * initial value that is not a finite number is `InvalidOptionsError`.
 *
 * @example
 * const g = Vi.guide({ logit: 0, loc: 0, logScale: -1 }, (p) => function* () {
 *   yield* sample("z", BernoulliLogit(p.logit))
 *   yield* sample("mu", Normal(p.loc, Ad.exp(p.logScale)))
 * })
 *
 * @category constructors
 * @since 0.2.0
 */
export const guide = <P extends string>(initial: Readonly<Record<P, number>>, build: (parameters: Readonly<Record<P, Ad.Real>>) => Model<unknown>): Guide<P> =>
  Driver.makeGuide(initial, build) as Guide<P>

/**
 * Options of `fitGuideUnsafe` / `fitGuide`: those of `run` that concern the optimisation.
 *
 * **Details**: as for the automatic guides (Adam, windows of `evalEvery` steps, the running-ELBO
 * convergence rule, the fitted guide the average of the last windows' iterates), with
 * `gradientSamples` defaulting to 10 (at least 2: each draw's baseline is the mean of the others).
 *
 * @example
 * const options: Vi.GuideOptions = { gradientSamples: 20, learningRate: 0.02, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface GuideOptions extends Common {
  /** The most Adam steps (default 10 000). */
  readonly iterations?: number | undefined
  /** Guide draws per gradient estimate (default 10, at least 2). */
  readonly gradientSamples?: number | undefined
  /** Adam's step size (default 0.01). */
  readonly learningRate?: number | undefined
  /** The relative change of the running ELBO average below which the run stops (default 0.001). */
  readonly tolerance?: number | undefined
  /** Steps between two ELBO estimates (default 100). */
  readonly evalEvery?: number | undefined
  /** Guide draws per ELBO estimate (default 100). */
  readonly evalSamples?: number | undefined
  /** Draws from the fitted guide in the posterior (default 1000). */
  readonly draws?: number | undefined
}

/**
 * The statistics of a user-written guide's fit (`Vi.guideStats(post)`).
 *
 * @example
 * const { parameters, elbo, converged } = Vi.guideStats(post)
 * parameters.logit // the fitted parameter
 *
 * @category models
 * @since 0.2.0
 */
export interface GuideStats<P extends string = string> {
  /** The fitted parameters (the average of the last windows' iterates), by name. */
  readonly parameters: Readonly<Record<P, number>>
  /** The ELBO estimates: at the start, then every `evalEvery` iterations (and at the last). */
  readonly elbo: Float64Array
  readonly elboIterations: Float64Array
  /** The ELBO at the fitted guide (the same draws as the history). */
  readonly elboFinal: number
  /** Adam steps taken, and whether the convergence rule stopped the run. */
  readonly iterations: number
  readonly converged: boolean
  /** Per draw: the model's log joint log p(z, data) (as `posterior.logWeights`). */
  readonly lp: Float64Array
  /** Per draw: the guide's log density log q(z). */
  readonly logGuide: Float64Array
  /** Draws whose log p − log q (or whose score) was not finite, skipped. */
  readonly rejectedDraws: number
  /** Steps with fewer than two valid draws (the parameters were left unchanged). */
  readonly failedSteps: number
  /** Runs of the model (one per guide draw). */
  readonly modelEvaluations: number
  /** Adam's step size. */
  readonly learningRate: number
  /** Not converged, possibly diverging, draws skipped. */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Fits a user-written guide to the posterior of `model` by maximising the ELBO with the
 * score-function gradient, synchronously, and returns draws from it as a `Posterior` (algorithm
 * "VI"): the one VI method for discrete latent sites.
 *
 * **Details**: each step draws `gradientSamples` values z_s from the guide, scores the model
 * there (f_s = log p(z_s, data) − log q(z_s)) and estimates ∇ELBO = E[(f − b)∇ log q] with the
 * leave-one-out baseline b_s = mean of the other draws' f (unbiased). Its variance is much larger
 * than the reparameterised gradient's of `runUnsafe`, except near an optimum where the guide
 * family contains the posterior (f is then constant). The model's sites are the guide's values;
 * the handler layers (`transform`) apply to the model. Throws `GuideError` when the guide does
 * not match the model (a site missing or extra, a wrong value type, a guide that observes, a
 * family without an analytic log density, plain arithmetic on the parameters), the model's typed
 * errors, and `NonFiniteDensityError` when 50 steps in a row have fewer than two valid draws.
 *
 * @example
 * const g = Vi.guide({ logit: 0 }, ({ logit }) => function* () {
 *   yield* sample("z", BernoulliLogit(logit))
 * })
 * const post = Vi.fitGuideUnsafe(mixture, g, { seed: 1 })
 * Posterior.mean(post, "z") // P(z | data)
 *
 * @category constructors
 * @since 0.2.0
 */
export const fitGuideUnsafe = <A, P extends string>(model: Model<A>, guide: Guide<P>, options: GuideOptions = {}): Posterior<A, GuideStats<P>> =>
  Driver.fitGuideUnsafe(model, guide as never, options) as Posterior<A, GuideStats<P>>

/**
 * `fitGuideUnsafe` as an Effect (time slices, progress, the context's `Interpreter` layers around
 * the model; with a seed, the same result).
 *
 * @example
 * const post = yield* Vi.fitGuide(model, g, { seed: 1 }).pipe(Effect.provide(layers))
 *
 * @category constructors
 * @since 0.2.0
 */
export const fitGuide = <A, P extends string>(model: Model<A>, guide: Guide<P>, options: GuideOptions = {}): Effect.Effect<Posterior<A, GuideStats<P>>, RunError> =>
  Driver.fitGuide(model as Model<unknown>, guide as never, options) as Effect.Effect<Posterior<A, GuideStats<P>>, RunError>

/**
 * The statistics of a user-written guide's fit, typed.
 *
 * @example
 * const { parameters, elboFinal } = Vi.guideStats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const guideStats = <P extends string>(posterior: Posterior<unknown, GuideStats<P>>): GuideStats<P> => posterior.stats
