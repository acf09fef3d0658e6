// The general SMC engine behind `Smc.runUnsafe` / `Smc.run`. Particles are paused generators:
// each step advances every live particle to its next barrier (an `observe` or a `factor`),
// drawing latent choices from the prior on the way, and reweights it by the barrier's log
// probability. When the ESS falls below threshold·N the population is resampled.
//
// A particle records its sample sites on a tape — addresses, values and log probabilities in
// execution order — plus its running logPrior / logLikelihood / logFactors. Its `Trace` (a
// B-tree) is built only when needed: for the posterior at the end and for MH rejuvenation.
// Keeping a thousand B-tree traces alive and copy-on-write-diverging during the run cost about
// half of the run time on the random-walk benchmark; appending to arrays costs little. A repeated
// address is therefore detected when the trace is built (DuplicateAddressError, at the end of the
// run or at a rejuvenation), not at the instruction.
//
// Generators cannot be copied, so a resampled particle must be rebuilt. Strategy "duplicates"
// (the default): the first copy of each ancestor takes over the ancestor's live generator and
// tape (no work at all); every further copy gets a copy of the tape with the weights carried
// over, and a fresh generator fast-forwarded to the same barrier by feeding it the tape's
// values: nothing is rescored and nothing is looked up, only the address at each position is
// checked (a model must be deterministic given its choices). Strategy "all" (the naive
// baseline, kept for measurement and as a cross-check) rebuilds every particle by a full replay
// that rescores every site and observation, as a ReplayHandler would. Neither draws random
// numbers, so both give identical results for the same seed.
//
// Log evidence (Del Moral 2004; Doucet & Johansen 2009): with unnormalised log weights lw that
// restart at 0 after each resampling, log Ẑ = Σ_t [lse(lw_t) − lse(lw_{t−1})], lse the
// log-sum-exp; it telescopes to Σ over resampling epochs of lse(lw) − log N, so skipped
// resamplings are accounted for exactly.
import type { Support } from "@fugue/core/Distribution"
import type { Instruction, Model, Program } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { DuplicateAddressError } from "@fugue/runtime/Handler"
import { MissingAddressError, Trace, type ChoiceValue } from "@fugue/runtime/Trace"
import { kernelUnsafe } from "../Mh.ts"
import { ZeroWeightError } from "../Options.ts"
import { Builder, type Posterior } from "../Posterior.ts"
import type { Resampler } from "../Resampling.ts"
import { effectiveSampleSize, logSumExp, normalise } from "./weights.ts"

export type RebuildStrategy = "duplicates" | "all"

export interface EngineConfig {
  readonly particles: number
  readonly threshold: number
  readonly resampler: Resampler
  readonly rejuvenation: number
  readonly rebuild: RebuildStrategy
}

/** Roberts, Gelman & Gilks (1997): the optimal 1-d random-walk scale is about 2.38 target sds. */
const RW_FACTOR = 2.38

export class Particle<A> {
  /** The live generator, positioned at `pending`; undefined once done or while awaiting a rebuild. */
  program: Program<A> | undefined
  /** The instruction the generator is paused at (not yet handled), or its return. */
  pending: IteratorResult<Instruction, A>
  /** The tape: sample sites in execution order. */
  addresses: Array<string>
  values: Array<unknown>
  logProbs: Array<number>
  logPrior: number
  logLikelihood: number
  logFactors: number
  /** Barriers (observe / factor) handled so far. */
  barriers: number
  done: boolean
  result: A | undefined
  constructor(program: Program<A> | undefined, pending: IteratorResult<Instruction, A>) {
    this.program = program
    this.pending = pending
    this.addresses = []
    this.values = []
    this.logProbs = []
    this.logPrior = 0
    this.logLikelihood = 0
    this.logFactors = 0
    this.barriers = 0
    this.done = false
    this.result = undefined
  }
  /** A copy awaiting a rebuild: the tape copied (shared when `share`), weights carried over. */
  copy(share: boolean): Particle<A> {
    const p = new Particle<A>(undefined, this.pending)
    p.addresses = share ? this.addresses : this.addresses.slice()
    p.values = share ? this.values : this.values.slice()
    p.logProbs = share ? this.logProbs : this.logProbs.slice()
    p.logPrior = this.logPrior
    p.logLikelihood = this.logLikelihood
    p.logFactors = this.logFactors
    p.barriers = this.barriers
    p.done = this.done
    p.result = this.result
    return p
  }
  /** The particle's trace, built from the tape; throws DuplicateAddressError on a repeated address. */
  toTrace(): Trace {
    const trace = new Trace(undefined, this.logPrior, this.logLikelihood, this.logFactors)
    const choices = trace.choices
    const addresses = this.addresses, values = this.values, logProbs = this.logProbs
    for (let k = 0; k < addresses.length; k++) {
      const address = addresses[k]
      if (!choices.set(address, { address, value: values[k] as ChoiceValue, logProb: logProbs[k] }, false)) {
        throw new DuplicateAddressError({ address })
      }
    }
    return trace
  }
  /** Takes the weights of a trace. */
  weightsFrom(trace: Trace): void {
    this.logPrior = trace.logPrior
    this.logLikelihood = trace.logLikelihood
    this.logFactors = trace.logFactors
  }
}

/** `model` cut right after its `barriers`-th observe / factor (the whole model when it has fewer). */
export const prefix = <A>(model: Model<A>, barriers: number): Model<A | undefined> =>
  function*() {
    const program = model()
    let step = program.next()
    let seen = 0
    while (step.done !== true) {
      const instruction = step.value
      const answer: unknown = yield instruction
      if (instruction._tag !== "Sample" && ++seen === barriers) return undefined
      step = program.next(answer)
    }
    return step.value
  }

// The unconstrained scale the MH kernel walks on, per support (as in internal/mhHandler.ts).
const unconstrained = (support: Support | undefined, x: number): number => {
  if (support === undefined) return Number.NaN
  switch (support._tag) {
    case "Real":
      return x
    case "Positive":
    case "NonNegative":
      return Math.log(x)
    case "Interval": {
      const p = (x - support.lower) / (support.upper - support.lower)
      return Math.log(p) - Math.log1p(-p)
    }
    default:
      return Number.NaN
  }
}

export class SmcEngine<A> {
  readonly model: Model<A>
  readonly rng: Rng
  readonly config: EngineConfig
  particles: Array<Particle<A>>
  readonly logWeights: Float64Array
  readonly weights: Float64Array
  /** lse of the log weights after the previous step (log N right after a resampling). */
  lsePrevious: number
  logEvidence = 0
  steps = 0
  finished = false
  resamplings = 0
  readonly ess: Array<number> = []
  readonly resampledAt: Array<number> = []
  /** Particles given a new generator by replay. */
  rebuilds = 0
  /** Instructions stepped through by those replays. */
  replayedInstructions = 0
  /** Resampled particles that kept their ancestor's live generator. */
  kept = 0
  /** Barrier log weights that were NaN or +∞ (counted as −∞). */
  invalid = 0
  rejuvenationProposed = 0
  rejuvenationAccepted = 0
  /** The support of each latent site (only when rejuvenating: the kernel's scales need it). */
  readonly supports: Map<string, Support> | undefined
  /** Traces produced by rejuvenation, awaiting `rebuildFromTrace`. */
  private readonly moved = new Map<object, Trace>()
  private hit = false
  private barrierAddress = ""

  constructor(model: Model<A>, rng: Rng, config: EngineConfig) {
    this.model = model
    this.rng = rng
    this.config = config
    const n = config.particles
    this.particles = new Array(n)
    for (let i = 0; i < n; i++) {
      const program = model()
      this.particles[i] = new Particle<A>(program, program.next())
    }
    this.logWeights = new Float64Array(n)
    this.weights = new Float64Array(n).fill(1 / n)
    this.lsePrevious = Math.log(n)
    this.supports = config.rejuvenation > 0 ? new Map() : undefined
  }

  /** Runs `p` up to and including its next barrier (returns its log weight) or to its end (returns 0, `hit` false). */
  private advance(p: Particle<A>): number {
    this.hit = false
    const program = p.program!
    const rng = this.rng
    const supports = this.supports
    const addresses = p.addresses, values = p.values, logProbs = p.logProbs
    let logPrior = p.logPrior
    let step = p.pending
    while (step.done !== true) {
      const instruction = step.value
      switch (instruction._tag) {
        case "Sample": {
          const address = instruction.address
          const dist = instruction.dist
          const value = dist.sample(rng)
          const logProb = dist.logProb(value)
          addresses.push(address)
          values.push(value)
          logProbs.push(logProb)
          logPrior += logProb
          if (supports !== undefined && !supports.has(address)) supports.set(address, dist.support)
          step = program.next(value)
          break
        }
        case "Observe": {
          const logProb = instruction.dist.logProb(instruction.observed)
          p.logPrior = logPrior
          p.logLikelihood += logProb
          p.barriers++
          this.hit = true
          this.barrierAddress = instruction.address
          p.pending = program.next()
          return logProb
        }
        case "Factor": {
          p.logPrior = logPrior
          p.logFactors += instruction.logWeight
          p.barriers++
          this.hit = true
          this.barrierAddress = ""
          p.pending = program.next()
          return instruction.logWeight
        }
      }
    }
    p.logPrior = logPrior
    p.pending = step
    p.done = true
    p.result = step.value
    p.program = undefined
    return 0
  }

  /** One SMC step; false once every particle has finished (nothing was done). */
  stepUnsafe(): boolean {
    if (this.finished) return false
    const particles = this.particles
    const n = particles.length
    const lw = this.logWeights
    let hits = 0
    let address: string | undefined
    for (let i = 0; i < n; i++) {
      const p = particles[i]
      if (p.done) continue
      let increment = this.advance(p)
      if (!this.hit) continue
      hits++
      if (address === undefined) address = this.barrierAddress
      if (!(increment < Infinity)) {
        // NaN (a NaN factor) or +∞: counted and treated as an impossible particle.
        this.invalid++
        increment = -Infinity
      }
      lw[i] += increment
    }
    if (hits === 0) {
      this.finished = true
      return false
    }
    this.steps++
    const lse = logSumExp(lw)
    if (lse === -Infinity) {
      throw new ZeroWeightError({
        algorithm: "SMC",
        attempts: n,
        detail: `every particle has weight -Infinity at step ${this.steps} (${
          address === "" ? "a factor" : `observe "${address}"`
        }${this.invalid > 0 ? `; ${this.invalid} NaN or +Infinity weights so far` : ""})`
      })
    }
    this.logEvidence += lse - this.lsePrevious
    normalise(lw, this.weights)
    const ess = effectiveSampleSize(this.weights)
    this.ess.push(ess)
    const threshold = this.config.threshold
    if ((threshold >= 1 || ess < threshold * n) && this.anyLive()) {
      this.resample()
      lw.fill(0)
      this.weights.fill(1 / n)
      this.lsePrevious = Math.log(n)
    } else {
      this.lsePrevious = lse
    }
    return true
  }

  private anyLive(): boolean {
    const particles = this.particles
    for (let i = 0; i < particles.length; i++) if (particles[i].pending.done !== true) return true
    return false
  }

  private resample(): void {
    const n = this.particles.length
    const ancestors = this.config.resampler(this.weights, n, this.rng)
    const old = this.particles
    const next = new Array<Particle<A>>(n)
    // 1: keeps the ancestor's live generator; 0: replay the tape; 2: replay the (moved) trace.
    const live = new Uint8Array(n)
    const taken = new Uint8Array(n)
    const naive = this.config.rebuild === "all"
    for (let k = 0; k < n; k++) {
      const j = ancestors[k]
      const src = old[j]
      if (!naive && taken[j] === 0) {
        taken[j] = 1
        next[k] = src
        live[k] = 1
        this.kept++
      } else {
        // Done particles never run again (their tape is shared); the naive rebuild writes a new tape.
        next[k] = src.copy(src.done || naive)
      }
    }
    this.resamplings++
    this.resampledAt.push(this.steps)
    if (this.config.rejuvenation > 0) this.rejuvenate(next, live)
    for (let k = 0; k < n; k++) {
      const p = next[k]
      if (live[k] === 2) this.rebuildFromTrace(p)
      else if (p.done || live[k] === 1) continue
      else if (naive) this.rebuildRescoring(p)
      else this.rebuildReplay(p)
    }
    this.particles = next
  }

  /**
   * `config.rejuvenation` MH sweeps per particle: `Mh.kernelUnsafe` on the model cut at the
   * current step's barrier, the target every particle shares at this point (a particle whose
   * execution has fewer barriers runs to its end). A move may change how many barriers an
   * execution has; the replay that follows it finds out whether the particle is now done.
   */
  private rejuvenate(next: Array<Particle<A>>, live: Uint8Array): void {
    const traces = next.map((p) => p.toTrace())
    const scales = this.cloudScales(traces)
    const sweeps = this.config.rejuvenation
    const target = prefix(this.model, this.steps)
    for (let k = 0; k < next.length; k++) {
      const p = next[k]
      const moved = kernelUnsafe(target, { trace: traces[k], result: undefined }, this.rng, {
        steps: sweeps * traces[k].size,
        scales
      })
      this.rejuvenationProposed += moved.proposed
      this.rejuvenationAccepted += moved.accepted
      if (moved.accepted > 0) {
        live[k] = 2 // the tape is stale: rebuild it by replaying the moved trace
        this.moved.set(p, moved.trace)
      }
    }
  }

  /**
   * Random-walk scales from the resampled cloud: per continuous site, 2.38 × the particles'
   * standard deviation on the kernel's unconstrained scale (sites where the cloud has collapsed
   * keep the kernel's default).
   */
  private cloudScales(traces: ReadonlyArray<Trace>): Record<string, number> {
    const sums = new Map<string, Float64Array>()
    const supports = this.supports!
    for (let k = 0; k < traces.length; k++) {
      traces[k].choices.forEachPair((address, choice) => {
        if (typeof choice.value !== "number") return
        const u = unconstrained(supports.get(address), choice.value)
        if (!Number.isFinite(u)) return
        let s = sums.get(address)
        if (s === undefined) {
          s = new Float64Array(3)
          sums.set(address, s)
        }
        s[0]++
        s[1] += u
        s[2] += u * u
      })
    }
    const scales: Record<string, number> = {}
    for (const [address, s] of sums) {
      if (s[0] < 2) continue
      const m = s[1] / s[0]
      const sd = Math.sqrt(Math.max(0, s[2] / s[0] - m * m))
      if (sd > 1e-12 * Math.max(1, Math.abs(m)) && Number.isFinite(sd)) scales[address] = RW_FACTOR * sd
    }
    return scales
  }

  /** A fresh generator fast-forwarded to the particle's barrier, fed its tape: nothing is rescored or looked up. */
  private rebuildReplay(p: Particle<A>): void {
    const program = this.model()
    const addresses = p.addresses
    const values = p.values
    const target = p.barriers
    let step = program.next()
    let seen = 0
    let k = 0
    let replayed = 0
    while (seen < target) {
      if (step.done === true) throw new MissingAddressError({ address: `<barrier ${target}>` })
      const instruction = step.value
      replayed++
      if (instruction._tag === "Sample") {
        if (instruction.address !== addresses[k]) throw new MissingAddressError({ address: instruction.address })
        step = program.next(values[k++])
      } else {
        seen++
        step = program.next()
      }
    }
    p.program = program
    p.pending = step
    this.rebuilds++
    this.replayedInstructions += replayed
  }

  /**
   * After an MH move: replays the moved trace up to the current step's barrier (or the model's
   * end, when the moved execution has fewer barriers), writing a new tape, taking the trace's
   * weights, and leaving the particle live at the barrier or done.
   */
  private rebuildFromTrace(p: Particle<A>): void {
    const trace = this.moved.get(p)!
    this.moved.delete(p)
    const program = this.model()
    const choices = trace.choices
    const addresses: Array<string> = [], values: Array<unknown> = [], logProbs: Array<number> = []
    const target = this.steps
    let step = program.next()
    let seen = 0
    let replayed = 0
    while (seen < target && step.done !== true) {
      const instruction = step.value
      replayed++
      if (instruction._tag === "Sample") {
        const choice = choices.get(instruction.address)
        if (choice === undefined) throw new MissingAddressError({ address: instruction.address })
        addresses.push(instruction.address)
        values.push(choice.value)
        logProbs.push(choice.logProb)
        step = program.next(choice.value)
      } else {
        seen++
        step = program.next()
      }
    }
    p.weightsFrom(trace)
    p.addresses = addresses
    p.values = values
    p.logProbs = logProbs
    p.barriers = seen
    p.pending = step
    if (step.done === true) {
      p.done = true
      p.result = step.value
      p.program = undefined
    } else {
      p.done = false
      p.result = undefined
      p.program = program
    }
    this.rebuilds++
    this.replayedInstructions += replayed
  }

  /** The naive baseline: replay every site, rescoring each site and observation, into a new tape. */
  private rebuildRescoring(p: Particle<A>): void {
    const program = this.model()
    const oldAddresses = p.addresses, oldValues = p.values
    const addresses: Array<string> = [], values: Array<unknown> = [], logProbs: Array<number> = []
    let logPrior = 0, logLikelihood = 0, logFactors = 0
    const target = p.barriers
    let step = program.next()
    let seen = 0
    let k = 0
    let replayed = 0
    while (seen < target) {
      if (step.done === true) throw new MissingAddressError({ address: `<barrier ${target}>` })
      const instruction = step.value
      replayed++
      switch (instruction._tag) {
        case "Sample": {
          const address = instruction.address
          if (address !== oldAddresses[k]) throw new MissingAddressError({ address })
          const value = oldValues[k++]
          const logProb = instruction.dist.logProb(value)
          addresses.push(address)
          values.push(value)
          logProbs.push(logProb)
          logPrior += logProb
          step = program.next(value)
          break
        }
        case "Observe":
          logLikelihood += instruction.dist.logProb(instruction.observed)
          seen++
          step = program.next()
          break
        case "Factor":
          logFactors += instruction.logWeight
          seen++
          step = program.next()
          break
      }
    }
    p.program = program
    p.pending = step
    p.addresses = addresses
    p.values = values
    p.logProbs = logProbs
    p.logPrior = logPrior
    p.logLikelihood = logLikelihood
    p.logFactors = logFactors
    this.rebuilds++
    this.replayedInstructions += replayed
  }

  /** The weighted particle population as a posterior. */
  finish(stats: Record<string, unknown>): Posterior<A> {
    const n = this.particles.length
    const builder = new Builder<A>("SMC", 1, n)
    normalise(this.logWeights, this.weights)
    for (let i = 0; i < n; i++) {
      const p = this.particles[i]
      builder.record(0, i, p.toTrace(), p.result as A, this.logWeights[i])
    }
    return builder.build({
      weights: [Float64Array.from(this.weights)],
      logEvidence: [this.logEvidence],
      stats
    })
  }
}
