// The bootstrap particle filter behind `Smc.filterUnsafe` / `Smc.filter` (Gordon, Salmond &
// Smith 1993). States are plain values, so resampling copies references instead of replaying
// generators. Step 0 draws each particle's state from `initial`; step t ≥ 1 from
// `transition(state, t)`; the particle is then weighted by the observe / factor statements met
// while running those models plus `observation(state, t)`. Sample sites inside them draw from
// their prior and are not recorded (no trace, no address checks): this is the fast path.
// `transition` may return a model or a started generator: calling a generator function
// directly (`function* (x, t) { … }`) skips allocating a model closure per particle per step,
// which costs several microseconds in V8 (each generator-function closure gets a prototype).
// Paths are recovered at the end from the ancestor indices (the genealogy), so each resampling
// costs O(N), not O(N·t). The small models run through the one driver (`Execution`, one object
// reused for every run) under `FilterHandler`, wrapped by the run's handler transformation.
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Model, Program } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { identity, type Transform } from "@fugue/runtime/Combinators"
import { Execution } from "@fugue/runtime/Execution"
import { wrapHandler } from "./shell.ts"
import { ParticleStreams } from "./particleStreams.ts"
import type { Handler } from "@fugue/runtime/Handler"
import { InvalidOptionsError, ZeroWeightError } from "../Options.ts"
import type { Posterior } from "../Posterior.ts"
import type { Resampler } from "../Resampling.ts"
import { effectiveSampleSize, normalise } from "./weights.ts"

const isProgram = (u: unknown): u is Program<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { next?: unknown }).next === "function"

export interface FilterSpec<S> {
  readonly steps: number
  readonly initial: Model<S>
  readonly transition: (state: S, t: number) => Model<S> | Program<S>
  readonly observation: ((state: S, t: number) => number | Model<unknown> | Program<unknown>) | undefined
  readonly name: string
}

export interface FilterConfig {
  readonly particles: number
  readonly threshold: number
  readonly resampler: Resampler
  readonly transform?: Transform | undefined
  readonly maxInstructions?: number | undefined
}

/** Prior draws at sample sites (unrecorded), observe / factor log weights summed into `logWeight`. */
class FilterHandler implements Handler<void> {
  readonly rng: Rng
  logWeight = 0
  constructor(rng: Rng) {
    this.rng = rng
  }
  sample<T>(_address: Address, dist: Distribution<T>): T {
    return dist.sample(this.rng)
  }
  observe<T>(_address: Address, dist: Distribution<T>, value: T): void {
    this.logWeight += dist.logProb(value)
  }
  factor(logWeight: number): void {
    this.logWeight += logWeight
  }
  finish(): void {}
}

export class StateFilter<S> {
  readonly spec: FilterSpec<S>
  readonly config: FilterConfig
  readonly rng: Rng
  /** states[t][i]: particle i's state at step t (before the resampling that may follow step t). */
  readonly states: Array<Array<S>> = []
  /** parents[t][i]: the index at step t − 1 that particle i at step t descends from (undefined: itself). */
  readonly parents: Array<Int32Array | undefined> = []
  readonly logWeights: Float64Array
  readonly weights: Float64Array
  lsePrevious: number
  logEvidence = 0
  t = 0
  resamplings = 0
  invalid = 0
  readonly ess: Array<number> = []
  /** The running log-evidence estimate after each step. */
  readonly logEvidenceHistory: Array<number> = []
  readonly resampledAt: Array<number> = []
  /** Weighted mean / sd of the state at each step, when states are numbers. */
  readonly filteringMeans: Array<number> = []
  readonly filteringSds: Array<number> = []
  private pendingAncestors: Int32Array | undefined = undefined
  private readonly handler: FilterHandler
  private readonly streams: ParticleStreams
  private readonly execution: Execution<unknown, void>
  readonly context = { algorithm: "SMC.filter", chain: undefined as number | undefined, iteration: 0 as number | undefined }

  constructor(spec: FilterSpec<S>, config: FilterConfig, root: Rng) {
    this.spec = spec
    this.config = config
    // particle i draws from stream i, the resampling from the population's stream, as in the
    // general engine (so the two consume randomness alike)
    this.streams = new ParticleStreams(root, config.particles)
    const rng = (this.rng = this.streams.rng)
    this.handler = new FilterHandler(rng)
    const transform = config.transform ?? identity
    this.execution = new Execution<unknown, void>(
      function*() {
        return undefined
      },
      wrapHandler("SMC.filter", transform, this.handler, rng),
      { context: this.context, maxInstructions: config.maxInstructions }
    )
    this.logWeights = new Float64Array(config.particles)
    this.weights = new Float64Array(config.particles).fill(1 / config.particles)
    this.lsePrevious = Math.log(config.particles)
  }

  /** Runs a small model (or its generator) through the driver: prior draws at sample sites, observe / factor into the handler's `logWeight`. */
  private runModel<B>(model: Model<B> | Program<B>): B {
    return (this.execution as Execution<B, void>).runFresh(model)
  }

  private get logWeight(): number {
    return this.handler.logWeight
  }
  private set logWeight(w: number) {
    this.handler.logWeight = w
  }

  get finished(): boolean {
    return this.t >= this.spec.steps
  }

  /** Propagates and reweights every particle for step `t`, then resamples if the ESS is low. */
  stepUnsafe(): void {
    const { initial, observation, transition } = this.spec
    const n = this.config.particles
    const t = this.t
    const lw = this.logWeights
    const previous = t > 0 ? this.states[t - 1] : undefined
    const ancestors = this.pendingAncestors
    const states = new Array<S>(n)
    this.context.iteration = t
    const streams = this.streams
    for (let i = 0; i < n; i++) {
      streams.use(i)
      this.logWeight = 0
      let state: S
      if (previous === undefined) state = this.runModel(initial)
      else state = this.runModel(transition(previous[ancestors === undefined ? i : ancestors[i]], t))
      if (observation !== undefined) {
        const o = observation(state, t)
        if (typeof o === "number") this.logWeight += o
        else if (typeof o === "function" || isProgram(o)) this.runModel(o)
        else {
          throw new InvalidOptionsError({
            algorithm: "SMC.filter",
            option: "observation",
            value: o,
            reason: `must return a log-likelihood number or a model (step ${t}, particle ${i})`
          })
        }
      }
      let increment = this.logWeight
      if (!(increment < Infinity)) {
        this.invalid++
        increment = -Infinity
      }
      lw[i] += increment
      states[i] = state
    }
    this.states.push(states)
    this.parents.push(ancestors)
    this.pendingAncestors = undefined
    this.t = t + 1
    const lse = normalise(lw, this.weights)
    if (lse === -Infinity) {
      throw new ZeroWeightError({
        algorithm: "SMC",
        attempts: n,
        detail: `every particle has weight -Infinity at step ${t} of the state-space filter${
          this.invalid > 0 ? ` (${this.invalid} NaN or +Infinity weights so far)` : ""
        }`
      })
    }
    this.logEvidence += lse - this.lsePrevious
    this.logEvidenceHistory.push(this.logEvidence)
    const w = this.weights
    const ess = effectiveSampleSize(w)
    this.ess.push(ess)
    if (typeof states[0] === "number") {
      let m = 0
      for (let i = 0; i < n; i++) m += w[i] * (states[i] as number)
      let v = 0
      for (let i = 0; i < n; i++) v += w[i] * ((states[i] as number) - m) ** 2
      this.filteringMeans.push(m)
      this.filteringSds.push(Math.sqrt(v))
    }
    const threshold = this.config.threshold
    if (this.t < this.spec.steps && (threshold >= 1 || ess < threshold * n)) {
      streams.use(n)
      this.pendingAncestors = this.config.resampler(w, n, this.rng)
      this.resamplings++
      this.resampledAt.push(this.t)
      lw.fill(0)
      w.fill(1 / n)
      this.lsePrevious = Math.log(n)
    } else {
      this.lsePrevious = lse
    }
  }

  /** The final weighted particles with their genealogical paths. */
  finish<T>(stats: T, seed: number | undefined): Posterior<Array<S>, T> {
    const n = this.config.particles
    const steps = this.states.length
    normalise(this.logWeights, this.weights)
    const paths: Array<Array<S>> = new Array(n)
    for (let i = 0; i < n; i++) paths[i] = new Array<S>(steps)
    const index = new Int32Array(n)
    for (let i = 0; i < n; i++) index[i] = i
    for (let t = steps - 1; t >= 0; t--) {
      const states = this.states[t]
      for (let i = 0; i < n; i++) paths[i][t] = states[index[i]]
      const parents = this.parents[t]
      if (parents !== undefined) for (let i = 0; i < n; i++) index[i] = parents[index[i]]
    }
    const draws = new Map<string, ReadonlyArray<Float64Array>>()
    const sites: Array<string> = []
    if (steps > 0 && typeof this.states[0][0] === "number") {
      for (let t = 0; t < steps; t++) {
        const column = new Float64Array(n)
        for (let i = 0; i < n; i++) column[i] = paths[i][t] as number
        const site = `${this.spec.name}#${t}`
        sites.push(site)
        draws.set(site, [column])
      }
      sites.sort()
    }
    return {
      algorithm: "SMC",
      sites,
      draws,
      returns: [paths],
      logWeights: [Float64Array.from(this.logWeights)],
      weights: [Float64Array.from(this.weights)],
      logEvidence: [this.logEvidence],
      stats,
      seed
    }
  }
}
