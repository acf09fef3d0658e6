// The one driver of `Nuts` and `Hmc`: options, the per-chain state (initialisation, warm-up
// adaptation, transitions, recording) and the synchronous and Effect runs. The two samplers
// differ only in their transition (`Hamiltonian.nutsTransition` / `staticTransition`) and a few
// options. The model runs only to build its `LogDensity` (and, lazily, for return values): the
// chains move on the density's point, so a transition costs its gradient evaluations and the
// integrator's vector arithmetic.
import type { Model } from "@fugue/core/Model"
import { advanceWithCheckpoints, type Checkpoint as GenericCheckpoint, checkpointOptions } from "./checkpoint.ts"
import { transfersOfDraws, workerSetup } from "./workerRun.ts"
import { availableParallelism } from "node:os"
import * as CoreRng from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import * as Effect from "effect/Effect"
import * as LogDensity from "../LogDensity.ts"
import {
  checkKeys,
  COMMON_KEYS,
  type Common,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  nonNegativeInteger,
  oneOf,
  positiveInteger,
  seedOption,
  transformOption
} from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import { DualAveraging, Welford, Windows } from "./adaptation.ts"
import { attemptInference, type InferenceError } from "./attempt.ts"
import { Hamiltonian, Metric } from "./hamiltonian.ts"
import { fillInitial, type InitialValues } from "./initial.ts"
import { Recorder } from "./mhRecorder.ts"
import { drive, now, sideStream, streams, streamsUnsafe, transformFor } from "./shell.ts"
import * as Workers from "../Workers.ts"

export type { InitialValues } from "./initial.ts"

/** The options both samplers take. */
export interface CommonOptions extends Common {
  readonly samples: number
  readonly warmup?: number | undefined
  readonly chains?: number | undefined
  readonly thin?: number | undefined
  readonly targetAcceptance?: number | undefined
  readonly metric?: "diag" | "dense" | "unit" | undefined
  readonly stepSize?: number | undefined
  readonly adaptation?: boolean | undefined
  readonly initBuffer?: number | undefined
  readonly termBuffer?: number | undefined
  readonly baseWindow?: number | undefined
  readonly initial?: InitialValues | ReadonlyArray<InitialValues> | undefined
  readonly initRadius?: number | undefined
  readonly initAttempts?: number | undefined
  readonly concurrency?: number | "unbounded" | undefined
  readonly gradient?: "auto" | LogDensity.GradientSource | undefined
  readonly discrete?: "sumOut" | "error" | undefined
  readonly maxCompiledNodes?: number | undefined
  readonly workers?: number | "auto" | undefined
  readonly checkpoint?: { readonly every: number; readonly onCheckpoint: (checkpoint: Checkpoint) => void } | undefined
  readonly resume?: Checkpoint | undefined
}

/** What is particular to one sampler. */
export interface Kind {
  readonly algorithm: "NUTS" | "HMC"
  readonly keys: ReadonlyArray<string>
  /** From the validated options (unknown keys already rejected): the transition to run. */
  readonly transition: (options: Record<string, unknown>) => (h: Hamiltonian) => void
}

/**
 * Per-chain statistics of `Nuts` and `Hmc` (`posterior.stats`): Stan's sampler parameters per
 * kept draw, and per-chain totals.
 */
export interface Stats {
  /** Per chain per kept draw: the log density on the unconstrained space, Jacobian included (Stan's lp__). */
  readonly lp: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: the mean Metropolis acceptance probability over the trajectory (NUTS), or the acceptance probability (HMC). */
  readonly acceptStat: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: the step size. */
  readonly stepSize: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: the tree depth (NUTS; 0 for HMC). */
  readonly treeDepth: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: leapfrog steps (gradient evaluations) of the transition. */
  readonly leapfrogSteps: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: 1 where the trajectory diverged (energy error above 1000, or not finite), else 0. */
  readonly diverging: ReadonlyArray<Float64Array>
  /** Per chain per kept draw: the Hamiltonian at the draw (Stan's energy__). */
  readonly energy: ReadonlyArray<Float64Array>
  /** Per chain: divergent transitions after warm-up. */
  readonly divergences: ReadonlyArray<number>
  /** Per chain: divergent transitions during warm-up. */
  readonly warmupDivergences: ReadonlyArray<number>
  /** Per chain: kept transitions that stopped at `maxTreeDepth` (NUTS). */
  readonly treeDepthSaturated: ReadonlyArray<number>
  /** Per chain: the energy Bayesian fraction of missing information, Σ(Eₙ − Eₙ₋₁)² / Σ(Eₙ − Ē)² (NaN with fewer than 2 draws). */
  readonly ebfmi: ReadonlyArray<number>
  /** Per chain: the step size after warm-up. */
  readonly stepSizeFinal: ReadonlyArray<number>
  /** Per chain: the inverse metric after warm-up (its diagonal, or row-major d×d for `metric: "dense"`). */
  readonly inverseMetric: ReadonlyArray<Float64Array>
  /** Per chain: gradient evaluations, warm-up and initialisation included. */
  readonly gradientEvaluations: ReadonlyArray<number>
  /** Per chain: gradient evaluations during warm-up and initialisation. */
  readonly warmupGradientEvaluations: ReadonlyArray<number>
  /** The tree-depth limit (NUTS; 0 for HMC). */
  readonly maxTreeDepth: number
  /** The metric's form. */
  readonly metric: "diag" | "dense" | "unit"
  /** Where the gradient came from, and why (`LogDensity.gradientSource` / `gradientReason`). */
  readonly gradientSource: LogDensity.GradientSource
  readonly gradientReason: string
  /** The unconstrained coordinates. */
  readonly dimension: number
  /** The sampler's warnings: divergences, tree-depth saturation, E-BFMI below 0.3 (R-hat and ESS warnings are in `Diagnostics.summary`). */
  readonly warnings: ReadonlyArray<string>
}

interface Config {
  readonly samples: number
  readonly warmup: number
  readonly chains: number
  readonly thin: number
  readonly seed: number | undefined
  readonly targetAcceptance: number
  readonly metric: "diag" | "dense" | "unit"
  readonly stepSize: number
  readonly adaptation: boolean
  readonly initBuffer: number
  readonly termBuffer: number
  readonly baseWindow: number
  readonly initial: ReadonlyArray<InitialValues> | undefined
  readonly initRadius: number
  readonly initAttempts: number
  readonly concurrency: number | "unbounded"
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
  readonly gradient: "auto" | LogDensity.GradientSource
  readonly discrete: "sumOut" | "error"
  readonly maxCompiledNodes: number | undefined
  readonly workers: number | undefined
  readonly checkpoint: { readonly every: number; readonly onCheckpoint: (checkpoint: Checkpoint) => void } | undefined
  readonly resume: Checkpoint | undefined
  readonly transition: (h: Hamiltonian) => void
  readonly maxTreeDepth: number
}

/** Option keys both samplers take. */
export const COMMON_HMC_KEYS: ReadonlyArray<string> = [
  "samples", "warmup", "chains", "thin", "targetAcceptance", "metric", "stepSize", "adaptation", "initBuffer",
  "termBuffer", "baseWindow", "initial", "initRadius", "initAttempts", "concurrency", "gradient", "discrete", "maxCompiledNodes", "workers", "checkpoint", "resume", ...COMMON_KEYS
]

const positiveNumber = (algorithm: string, option: string, value: unknown): number => {
  if (typeof value !== "number" || !(value > 0 && value < Infinity)) {
    throw new InvalidOptionsError({ algorithm, option, value, reason: "must be a finite number > 0" })
  }
  return value
}

const validate = (kind: Kind, model: unknown, options: CommonOptions): Config => {
  const A = kind.algorithm
  checkKeys(A, options, kind.keys)
  modelOption(A, model)
  const samples = positiveInteger(A, "samples", options.samples)
  const warmup = options.warmup === undefined ? samples : nonNegativeInteger(A, "warmup", options.warmup)
  const chains = options.chains === undefined ? 1 : positiveInteger(A, "chains", options.chains)
  const thin = options.thin === undefined ? 1 : positiveInteger(A, "thin", options.thin)
  const seed = seedOption(A, options.seed)
  const targetAcceptance = options.targetAcceptance === undefined ? 0.8 : options.targetAcceptance
  if (typeof targetAcceptance !== "number" || !(targetAcceptance > 0 && targetAcceptance < 1)) {
    throw new InvalidOptionsError({ algorithm: A, option: "targetAcceptance", value: targetAcceptance, reason: "must be a number in (0, 1)" })
  }
  const metric = options.metric === undefined ? "diag" : oneOf(A, "metric", options.metric, ["diag", "dense", "unit"] as const)
  const stepSize = options.stepSize === undefined ? 1 : positiveNumber(A, "stepSize", options.stepSize)
  const adaptation = options.adaptation === undefined ? true : options.adaptation
  if (typeof adaptation !== "boolean") throw new InvalidOptionsError({ algorithm: A, option: "adaptation", value: adaptation, reason: "must be a boolean" })
  const initBuffer = options.initBuffer === undefined ? 75 : nonNegativeInteger(A, "initBuffer", options.initBuffer)
  const termBuffer = options.termBuffer === undefined ? 50 : nonNegativeInteger(A, "termBuffer", options.termBuffer)
  const baseWindow = options.baseWindow === undefined ? 25 : positiveInteger(A, "baseWindow", options.baseWindow)
  let initial: ReadonlyArray<InitialValues> | undefined
  if (options.initial !== undefined) {
    const given = options.initial
    if (Array.isArray(given)) {
      if (given.length !== chains) {
        throw new InvalidOptionsError({ algorithm: A, option: "initial", value: given, reason: `an array of initial values needs one entry per chain (${chains}), got ${given.length}` })
      }
      initial = given as ReadonlyArray<InitialValues>
    } else if (typeof given === "object" && given !== null) initial = Array.from({ length: chains }, () => given as InitialValues)
    else throw new InvalidOptionsError({ algorithm: A, option: "initial", value: given, reason: "must be an object of site values (or one per chain)" })
  }
  const initRadius = options.initRadius === undefined ? 2 : options.initRadius
  if (typeof initRadius !== "number" || !(initRadius >= 0 && initRadius < Infinity)) {
    throw new InvalidOptionsError({ algorithm: A, option: "initRadius", value: initRadius, reason: "must be a finite number >= 0" })
  }
  const initAttempts = options.initAttempts === undefined ? 100 : positiveInteger(A, "initAttempts", options.initAttempts)
  const concurrency = options.concurrency === undefined ? "unbounded" : options.concurrency
  if (concurrency !== "unbounded") positiveInteger(A, "concurrency", concurrency)
  const transform = transformOption(A, options.transform)
  const maxInstructions = maxInstructionsOption(A, options.maxInstructions)
  const gradient = options.gradient === undefined ? "auto" : oneOf(A, "gradient", options.gradient, ["auto", "compiled", "taped", "finite-differences"] as const)
  const discrete = options.discrete === undefined ? "sumOut" : oneOf(A, "discrete", options.discrete, ["sumOut", "error"] as const)
  const maxCompiledNodes = options.maxCompiledNodes === undefined ? undefined : positiveInteger(A, "maxCompiledNodes", options.maxCompiledNodes)
  let workers: number | undefined
  if (options.workers === "auto") workers = Math.max(1, Math.min(chains, availableParallelism()))
  else if (options.workers !== undefined) workers = Math.min(chains, positiveInteger(A, "workers", options.workers))
  const checkpoint = options.checkpoint
  const resume = options.resume
  const resumeSeed = checkpointOptions(A, options, { seed, chains, samples, warmup, thin })
  const rest = options as unknown as Record<string, unknown>
  const maxTreeDepth = rest.maxTreeDepth === undefined ? 10 : positiveInteger(A, "maxTreeDepth", rest.maxTreeDepth)
  if (maxTreeDepth > 30) throw new InvalidOptionsError({ algorithm: A, option: "maxTreeDepth", value: maxTreeDepth, reason: "must be at most 30" })
  return {
    samples, warmup, chains, thin, seed: resumeSeed, targetAcceptance, metric, stepSize, adaptation, initBuffer, termBuffer, baseWindow,
    initial, initRadius, initAttempts, concurrency, transform, maxInstructions, gradient, discrete, maxCompiledNodes, workers, checkpoint, resume,
    transition: kind.transition(rest), maxTreeDepth: A === "NUTS" ? maxTreeDepth : 0
  }
}

/** A chain's state in a checkpoint: plain numbers, arrays and typed arrays (structured-clonable). */
export interface ChainState {
  readonly chain: number
  readonly iteration: number
  readonly initialized: boolean
  readonly rng: CoreRng.State
  readonly discreteRng: CoreRng.State | undefined
  readonly q: Float64Array
  readonly g: Float64Array
  readonly lp: number
  readonly stepSize: number
  readonly gradients: number
  readonly inverseMetric: Float64Array
  readonly metricIsDiagonal: boolean
  readonly dual: ReadonlyArray<number>
  readonly windows: ReadonlyArray<number>
  readonly welford: { readonly n: number; readonly mean: Float64Array; readonly m2: Float64Array }
  readonly draws: ReadonlyArray<Float64Array>
  readonly counts: ReadonlyArray<number>
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly logWeights: Float64Array
  readonly points: Float64Array
}

/**
 * A NUTS/HMC run's checkpoint: what resumes it (`resume` option) to the same draws as a run that
 * never stopped. `states[i]` is chain i's latest saved state (undefined: not started).
 */
export type Checkpoint = GenericCheckpoint<ChainState>

/** One chain: its integrator, adaptation state, statistics and recorder. */
class Chain<A> {
  readonly index: number
  readonly config: Config
  readonly density: LogDensity.LogDensity
  readonly ham: Hamiltonian
  readonly rng: CoreRng.Rng
  readonly recorder: Recorder<A>
  readonly algorithm: string
  iteration = 0
  initialized = false
  private readonly dual: DualAveraging
  private readonly windows: Windows
  private readonly welford: Welford
  private readonly estimate: Float64Array
  readonly lp: Float64Array
  readonly acceptStat: Float64Array
  readonly stepSize: Float64Array
  readonly treeDepth: Float64Array
  readonly leapfrogSteps: Float64Array
  readonly diverging: Float64Array
  readonly energy: Float64Array
  divergences = 0
  warmupDivergences = 0
  saturated = 0
  warmupGradients = 0

  /** `slot`: the builder's chain this chain records into (its index, except on a worker, whose builder holds one chain). */
  constructor(algorithm: string, index: number, config: Config, density: LogDensity.LogDensity, rng: CoreRng.Rng, builder: Builder<A>, slot = index) {
    this.algorithm = algorithm
    this.index = index
    this.config = config
    this.density = density
    this.rng = rng
    const d = density.dimension
    this.ham = new Hamiltonian(density, new Metric(config.metric, d), rng)
    this.ham.stepSize = config.stepSize
    this.ham.maxTreeDepth = config.maxTreeDepth
    this.recorder = new Recorder(builder, slot)
    this.dual = new DualAveraging(config.targetAcceptance)
    this.windows = new Windows(config.warmup, config.initBuffer, config.termBuffer, config.baseWindow)
    this.welford = new Welford(d, config.metric === "dense")
    this.estimate = new Float64Array(config.metric === "dense" ? d * d : d)
    const n = config.samples
    this.lp = new Float64Array(n)
    this.acceptStat = new Float64Array(n)
    this.stepSize = new Float64Array(n)
    this.treeDepth = new Float64Array(n)
    this.leapfrogSteps = new Float64Array(n)
    this.diverging = new Float64Array(n)
    this.energy = new Float64Array(n)
  }

  private fail(attempts: number, reason: string): never {
    throw new LogDensity.InitializationError({ algorithm: this.algorithm, chain: this.index, attempts, reason })
  }

  /** The starting point: the user's values where given, uniform(−r, r) elsewhere; retried. */
  initialize(): void {
    const density = this.density, config = this.config, d = density.dimension
    const q = new Float64Array(d)
    const fixed = new Uint8Array(d)
    const given = config.initial?.[this.index]
    if (given !== undefined) fillInitial(this.algorithm, density, given, q, fixed)
    const free = fixed.indexOf(0) >= 0
    const attempts = free ? config.initAttempts : 1
    let reasons: Array<string> = []
    for (let a = 0; a < attempts; a++) {
      for (let i = 0; i < d; i++) if (fixed[i] === 0) q[i] = config.initRadius * (2 * this.rng.uniform() - 1)
      const lp = this.ham.setPosition(q)
      let finite = lp > -Infinity && lp < Infinity
      const g = this.ham.current.g
      for (let i = 0; finite && i < d; i++) finite = Number.isFinite(g[i]!)
      if (finite) {
        this.initialized = true
        if (config.adaptation && config.warmup > 0) {
          if (!this.ham.initStepSize()) {
            this.fail(a + 1, this.ham.stepSize > 1 ? "no step size works: the step size grew beyond 1e7, so the posterior is probably improper (a Flat prior without enough data?)" : "no step size works: the step size shrank to 0, so the density or its gradient is probably not continuous or not finite near the start")
          }
          this.dual.restart(this.ham.stepSize)
        }
        this.warmupGradients = this.ham.gradients
        return
      }
      reasons = density.explain(q)
    }
    const at = Array.from(q, (x) => Number(x.toPrecision(4)))
    this.fail(attempts, `${reasons.length > 0 ? reasons.slice(0, 5).join("; ") : "the log density or its gradient is not finite"} (last point tried, unconstrained: [${at.join(", ")}])`)
  }

  /** Runs iterations until the end or the deadline; returns whether the chain is finished. */
  advance(deadline: number, stopAt = Infinity): boolean {
    const config = this.config, warmup = config.warmup, thin = config.thin
    const total = Math.min(warmup + config.samples * thin, stopAt)
    const ham = this.ham, transition = config.transition, stats = ham.stats
    const adapt = config.adaptation
    let it = this.iteration
    while (it < total) {
      transition(ham)
      if (it < warmup) {
        if (stats.diverging) this.warmupDivergences++
        if (adapt) this.adapt(it === warmup - 1)
        if (it === warmup - 1) this.warmupGradients = ham.gradients
      } else {
        const k = it - warmup + 1
        if (k % thin === 0) this.record(k / thin - 1)
      }
      it++
      if (deadline < Infinity && now() > deadline) break
    }
    this.iteration = it
    return it >= warmup + config.samples * thin
  }

  /** The chain's whole state, as plain data (typed arrays copied): a checkpoint's entry. */
  save(): ChainState {
    const ham = this.ham, builder = this.recorder.builder
    return {
      chain: this.index,
      iteration: this.iteration,
      initialized: this.initialized,
      rng: CoreRng.stateOf(this.rng),
      discreteRng: this.discreteRng === undefined ? undefined : CoreRng.stateOf(this.discreteRng),
      q: ham.current.q.slice(),
      g: ham.current.g.slice(),
      lp: ham.current.lp,
      stepSize: ham.stepSize,
      gradients: ham.gradients,
      inverseMetric: ham.metric.inverse.slice(),
      metricIsDiagonal: ham.metric.isDiagonal,
      dual: this.dual.save(),
      windows: this.windows.save(),
      welford: this.welford.save(),
      draws: [this.lp, this.acceptStat, this.stepSize, this.treeDepth, this.leapfrogSteps, this.diverging, this.energy].map((a) => a.slice()),
      counts: [this.divergences, this.warmupDivergences, this.saturated, this.warmupGradients],
      columns: [...builder.columns].map(([name, cols]) => [name, cols[this.index]!.slice()] as const),
      logWeights: builder.logWeights[this.index]!.slice(),
      points: (this.recorder.recordedPoints ?? new Float64Array(0)).slice()
    }
  }

  /** Restores `save()`'s state (the chain built with the saved stream, `CoreRng.fromState(state.rng)`). */
  load(state: ChainState): void {
    const ham = this.ham, builder = this.recorder.builder
    this.iteration = state.iteration
    this.initialized = state.initialized
    if (state.discreteRng !== undefined) this.discreteRng = CoreRng.fromState(state.discreteRng)
    ham.current.q.set(state.q)
    ham.current.g.set(state.g)
    ham.current.lp = state.lp
    ham.stepSize = state.stepSize
    ham.gradients = state.gradients
    if (ham.metric.kind !== "dense" || !state.metricIsDiagonal) ham.metric.set(state.inverseMetric)
    this.dual.load(state.dual)
    this.windows.load(state.windows)
    this.welford.load(state.welford)
    const [lp, acceptStat, stepSize, treeDepth, leapfrogSteps, diverging, energy] = state.draws as Array<Float64Array>
    this.lp.set(lp!)
    this.acceptStat.set(acceptStat!)
    this.stepSize.set(stepSize!)
    this.treeDepth.set(treeDepth!)
    this.leapfrogSteps.set(leapfrogSteps!)
    this.diverging.set(diverging!)
    this.energy.set(energy!)
    ;[this.divergences, this.warmupDivergences, this.saturated, this.warmupGradients] = state.counts as [number, number, number, number]
    for (const [name, values] of state.columns) {
      let cols = builder.columns.get(name)
      if (cols === undefined) builder.columns.set(name, (cols = Array.from({ length: builder.chains }, () => new Float64Array(builder.size).fill(Number.NaN))))
      cols[this.index]!.set(values)
    }
    if (state.points.length > 0) {
      const byName = new Map(state.columns)
      this.recorder.loadPoints(this.density, this.density.valueNames.map((n) => byName.get(n)!), state.points, state.logWeights)
    } else builder.logWeights[this.index]!.set(state.logWeights)
  }

  private adapt(last: boolean): void {
    const ham = this.ham
    ham.stepSize = this.dual.learn(ham.stats.acceptStat)
    const windows = this.windows
    if (windows.inWindow()) this.welford.add(ham.current.q)
    const end = windows.endOfWindow()
    windows.advance(end)
    if (end) {
      this.welford.regularised(this.estimate)
      // a dense estimate that is not positive definite (too few draws): keep the last metric
      ham.metric.set(this.estimate)
      this.welford.restart()
      const before = ham.stepSize
      if (!ham.initStepSize()) ham.stepSize = before
      this.dual.restart(ham.stepSize)
    }
    if (last) ham.stepSize = this.dual.final()
  }

  /** This chain's statistics. */
  stats(): ChainStats {
    return {
      lp: this.lp,
      acceptStat: this.acceptStat,
      stepSize: this.stepSize,
      treeDepth: this.treeDepth,
      leapfrogSteps: this.leapfrogSteps,
      diverging: this.diverging,
      energy: this.energy,
      divergences: this.divergences,
      warmupDivergences: this.warmupDivergences,
      saturated: this.saturated,
      stepSizeFinal: this.ham.stepSize,
      inverseMetric: this.ham.metric.inverse.slice(),
      gradients: this.ham.gradients,
      warmupGradients: this.warmupGradients
    }
  }

  /** The stream summed-out discrete sites are drawn from (apart from the chain's, so the continuous draws do not depend on them). */
  discreteRng: CoreRng.Rng | undefined = undefined

  private record(index: number): void {
    const ham = this.ham, s = ham.stats, cur = ham.current
    this.recorder.recordPoint(index, this.density, cur.q, cur.lp)
    // each summed-out site drawn from its exact conditional given the draw's continuous point
    if (this.density.discreteSites.length > 0) this.recorder.recordDiscrete(index, this.density, cur.q, (this.discreteRng ??= sideStream(this.rng)))
    this.lp[index] = cur.lp
    this.acceptStat[index] = s.acceptStat
    this.stepSize[index] = ham.stepSize
    this.treeDepth[index] = s.treeDepth
    this.leapfrogSteps[index] = s.leapfrogSteps
    this.diverging[index] = s.diverging ? 1 : 0
    this.energy[index] = s.energy
    if (s.diverging) this.divergences++
    if (this.config.maxTreeDepth > 0 && s.treeDepth >= this.config.maxTreeDepth) this.saturated++
  }
}

const ebfmi = (energy: Float64Array): number => {
  const n = energy.length
  if (n < 2) return Number.NaN
  let mean = 0
  for (let i = 0; i < n; i++) mean += energy[i]!
  mean /= n
  let num = 0, den = 0
  for (let i = 0; i < n; i++) {
    den += (energy[i]! - mean) ** 2
    if (i > 0) num += (energy[i]! - energy[i - 1]!) ** 2
  }
  return den > 0 ? num / den : Number.NaN
}

/** E-BFMI below this suggests the momentum resampling explores the energy poorly (Betancourt 2016). */
const EBFMI_LIMIT = 0.3

/** One chain's statistics: plain numbers and typed arrays, so they cross worker threads. */
export interface ChainStats {
  readonly lp: Float64Array
  readonly acceptStat: Float64Array
  readonly stepSize: Float64Array
  readonly treeDepth: Float64Array
  readonly leapfrogSteps: Float64Array
  readonly diverging: Float64Array
  readonly energy: Float64Array
  readonly divergences: number
  readonly warmupDivergences: number
  readonly saturated: number
  readonly stepSizeFinal: number
  readonly inverseMetric: Float64Array
  readonly gradients: number
  readonly warmupGradients: number
}

const mergeStats = (chains: ReadonlyArray<ChainStats>, config: Config, density: LogDensity.LogDensity): Stats => {
  const e = chains.map((c) => ebfmi(c.energy))
  const warnings: Array<string> = []
  chains.forEach((c, i) => {
    const kept = config.samples
    if (c.divergences > 0) {
      warnings.push(`chain ${i}: ${c.divergences} of ${kept} transitions after warm-up diverged: the draws may be biased; raise targetAcceptance (now ${config.targetAcceptance}) or reparameterise (e.g. non-centred)`)
    }
    if (c.saturated > 0) {
      warnings.push(`chain ${i}: ${c.saturated} of ${kept} transitions stopped at maxTreeDepth ${config.maxTreeDepth}: the trajectories were cut short; raise maxTreeDepth or reparameterise`)
    }
    if (e[i]! < EBFMI_LIMIT) warnings.push(`chain ${i}: E-BFMI ${e[i]!.toFixed(3)} < ${EBFMI_LIMIT}: the sampler explores the energy distribution poorly (heavy tails?); reparameterise`)
  })
  return {
    lp: chains.map((c) => c.lp),
    acceptStat: chains.map((c) => c.acceptStat),
    stepSize: chains.map((c) => c.stepSize),
    treeDepth: chains.map((c) => c.treeDepth),
    leapfrogSteps: chains.map((c) => c.leapfrogSteps),
    diverging: chains.map((c) => c.diverging),
    energy: chains.map((c) => c.energy),
    divergences: chains.map((c) => c.divergences),
    warmupDivergences: chains.map((c) => c.warmupDivergences),
    treeDepthSaturated: chains.map((c) => c.saturated),
    ebfmi: e,
    stepSizeFinal: chains.map((c) => c.stepSizeFinal),
    inverseMetric: chains.map((c) => c.inverseMetric),
    gradientEvaluations: chains.map((c) => c.gradients),
    warmupGradientEvaluations: chains.map((c) => c.warmupGradients),
    maxTreeDepth: config.maxTreeDepth,
    metric: config.metric,
    gradientSource: density.gradientSource,
    gradientReason: density.gradientReason,
    dimension: density.dimension,
    warnings
  }
}

const densityOf = (model: Model<unknown>, config: Config, transform: Transform | undefined): LogDensity.LogDensity =>
  LogDensity.make(model, { transform, maxInstructions: config.maxInstructions, gradient: config.gradient, discrete: config.discrete, maxCompiledNodes: config.maxCompiledNodes })

const finish = <A>(builder: Builder<A>, chains: ReadonlyArray<ChainStats>, config: Config, density: LogDensity.LogDensity, seed: number | undefined): Posterior<A, Stats> =>
  builder.build({ stats: mergeStats(chains, config, density), seed })

/** The chains of a run: fresh on their streams, or restored from `config.resume`. */
const makeChains = <A>(kind: Kind, config: Config, density: LogDensity.LogDensity, rngs: ReadonlyArray<CoreRng.Rng>, builder: Builder<A>): Array<Chain<A>> =>
  rngs.map((rng, i) => {
    const state = config.resume?.states[i]
    const chain = new Chain(kind.algorithm, i, config, density, state === undefined ? rng : CoreRng.fromState(state.rng), builder)
    if (state !== undefined) chain.load(state)
    return chain
  })

/**
 * A chain's work until the deadline: initialisation, then transitions, stopping at every
 * `checkpoint.every` iterations to save the chain's state into `states` and hand the run's
 * checkpoint to `onCheckpoint`. Returns whether the chain is finished.
 */
const stepChain = <A>(kind: Kind, config: Config, chain: Chain<A>, states: Array<ChainState | undefined>, seed: number | undefined) =>
  (deadline: number): boolean => {
    if (!chain.initialized) chain.initialize()
    const checkpoint = config.checkpoint
    if (checkpoint === undefined) return chain.advance(deadline)
    const record = { algorithm: kind.algorithm, seed: seed!, chains: config.chains, samples: config.samples, warmup: config.warmup, thin: config.thin }
    return advanceWithCheckpoints(checkpoint, record, states, chain, (d, stop) => chain.advance(d, stop), deadline)
  }

/** The synchronous run: chains one after another on their own streams. */
export const runUnsafe = <A>(kind: Kind, model: Model<A>, options: CommonOptions): Posterior<A, Stats> => {
  const config = validate(kind, model, options)
  if (config.workers !== undefined) {
    throw new InvalidOptionsError({ algorithm: kind.algorithm, option: "workers", value: options.workers, reason: "worker threads need the Effect form (run): runUnsafe runs in-thread" })
  }
  const { rngs, seed } = streamsUnsafe(config.seed, config.chains)
  const density = densityOf(model as Model<unknown>, config, config.transform)
  const builder = new Builder<A>(kind.algorithm, config.chains, config.samples)
  const chains = makeChains(kind, config, density, rngs, builder)
  const states = [...(config.resume?.states ?? new Array<ChainState | undefined>(config.chains).fill(undefined))]
  for (const chain of chains) stepChain(kind, config, chain, states, seed)(Infinity)
  return finish(builder, chains.map((c) => c.stats()), config, density, seed)
}

/** The Effect run: chains stepped in time slices, concurrently, with progress; the context's handler layers apply. */
export const run = <A>(kind: Kind, model: Model<A>, options: CommonOptions): Effect.Effect<Posterior<A, Stats>, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(kind, model, options))
    const transform = yield* transformFor(config.transform)
    const pool = yield* Workers.poolFor(model, config.workers, config.seed, transform === identity && config.checkpoint === undefined && config.resume === undefined)
    if (config.workers !== undefined || pool !== undefined) return yield* runOnWorkers(kind, model, options, config, transform, pool)
    const { rngs, seed } = yield* streams(config.seed, config.chains)
    const density = yield* attemptInference(() => densityOf(model as Model<unknown>, config, transform))
    const builder = new Builder<A>(kind.algorithm, config.chains, config.samples)
    const total = config.warmup + config.samples * config.thin
    const made = makeChains(kind, config, density, rngs, builder)
    const states = [...(config.resume?.states ?? new Array<ChainState | undefined>(config.chains).fill(undefined))]
    const chains = yield* Effect.forEach(
      made,
      (chain, i) => {
        return drive(
          stepChain(kind, config, chain, states, seed),
          () => ({
            algorithm: kind.algorithm,
            chain: i,
            done: chain.iteration,
            total,
            phase: chain.iteration < config.warmup ? "warmup" : "sampling"
          })
        ).pipe(Effect.as(chain))
      },
      { concurrency: config.chains > 1 ? config.concurrency : 1 }
    )
    return finish(builder, chains.map((c) => c.stats()), config, density, seed)
  })

// ---- chains on worker threads ----

/** One chain's result as it crosses from a worker: its columns, points, log weights and statistics. */
export interface ChainOutput {
  readonly index: number
  readonly columns: ReadonlyArray<readonly [string, Float64Array]>
  readonly logWeights: Float64Array
  readonly points: Float64Array
  readonly stats: ChainStats
}

/** The transferable buffers of a chain's output (moved, not copied, across threads). */
export const transfersOf = (o: ChainOutput): Array<ArrayBuffer> => {
  const s = o.stats
  return transfersOfDraws(o, [o.points, s.lp, s.acceptStat, s.stepSize, s.treeDepth, s.leapfrogSteps, s.diverging, s.energy, s.inverseMetric])
}

/**
 * Runs chain `index` of a run (what a worker does): the same configuration, stream
 * `Rng.streams(seed, chains)[index]`, density and chain as in-thread, stepped in time slices
 * (so the worker can be interrupted), with its progress reported through `Progress`.
 */
export const runChain = (kind: Kind, model: Model<unknown>, options: CommonOptions, index: number): Effect.Effect<ChainOutput, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(kind, model, { ...options, workers: undefined }))
    const seed = config.seed!
    const rng = CoreRng.streams(seed, config.chains)[index]!
    const density = yield* attemptInference(() => densityOf(model, config, config.transform))
    // a builder of one chain: the worker records only its own columns (not every chain's, NaN-filled)
    const builder = new Builder<unknown>(kind.algorithm, 1, config.samples)
    const chain = new Chain(kind.algorithm, index, config, density, rng, builder, 0)
    const total = config.warmup + config.samples * config.thin
    yield* drive(
      (deadline) => {
        if (!chain.initialized) chain.initialize()
        return chain.advance(deadline)
      },
      () => ({ algorithm: kind.algorithm, chain: index, done: chain.iteration, total, phase: chain.iteration < config.warmup ? "warmup" : "sampling" })
    )
    return {
      index,
      columns: [...builder.columns].map(([site, cols]) => [site, cols[0]!] as const),
      logWeights: builder.logWeights[0]!,
      points: chain.recorder.recordedPoints ?? new Float64Array(0),
      stats: chain.stats()
    }
  })

/**
 * The parent side of a run on workers (a `Workers.Pool`'s, or its own): the model must be named (`Workers.named`); the seed is
 * fixed first (a fresh one if none), so that every worker derives the same streams; chains are
 * dealt to the workers in turn; the posterior is assembled from their outputs, its return values
 * computed from the points in this thread, on demand.
 */
const runOnWorkers = <A>(kind: Kind, model: Model<A>, options: CommonOptions, config: Config, transform: Transform, pool: Workers.PoolShape | undefined) =>
  Effect.gen(function*() {
    const { ref, seed } = yield* workerSetup(kind.algorithm, model, options.workers, config.seed, transform)
    const density = yield* attemptInference(() => densityOf(model as Model<unknown>, config, undefined))
    // loaded only for runs on workers (the worker platform's modules are not needed otherwise)
    const Parallel = yield* Effect.promise(() => import("./chainWorkers.ts"))
    const outputs = yield* Parallel.runChains<ChainOutput>(kind.algorithm, ref, { ...options, seed, workers: undefined }, config.chains, config.workers, pool)
    const builder = new Builder<A>(kind.algorithm, config.chains, config.samples)
    const d = density.dimension
    for (const o of outputs) {
      for (const [site, column] of o.columns) {
        let cols = builder.columns.get(site)
        if (cols === undefined) builder.columns.set(site, (cols = new Array<Float64Array>(config.chains)))
        cols[o.index] = column
      }
      builder.logWeights[o.index] = o.logWeights
      const points = o.points
      builder.deferReturns(o.index, (i) => density.resultAt(points.subarray(i * d, (i + 1) * d)) as A)
    }
    // a site no draw of a chain had stays NaN there, as in-thread
    for (const cols of builder.columns.values()) for (let c = 0; c < config.chains; c++) cols[c] ??= new Float64Array(config.samples).fill(Number.NaN)
    return finish(builder, outputs.map((o) => o.stats), config, density, seed)
  })
