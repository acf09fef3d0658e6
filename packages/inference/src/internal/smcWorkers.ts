// SMC's particles in contiguous batches across worker threads, resampled in the parent. Worker w
// holds particles [from_w, to_w) of the population as a general engine of its own (`Batch`, the
// in-thread engine's particles, handlers and replay), and the parent holds the population's
// weights (`Parent`, the in-thread engine's `weighUnsafe`). A step is one barrier:
//
//   parent → every worker   advance (with the last resampling's plan, if any)
//   worker                  applies the plan, advances its particles to their next barrier
//                           (`advanceUnsafe`, in time slices), answers its log weights
//                           (a transferred Float64Array), its barrier count, first barrier
//                           address and counters
//   parent                  evidence, ESS and, below the threshold, the ancestors (`weighUnsafe`)
//   parent ↔ sources        only when some ancestor is in another batch: the source workers
//                           export those particles' tapes (one compact buffer per destination)
//   next step's advance     carries each destination its plan: per particle, a local ancestor
//                           or an imported tape
//
// A particle's state is its tape (choices in visit order, and its running weights), so a
// particle that moves to another batch crosses as typed arrays (values, log probabilities,
// address ids into a table of the batch's addresses) and is rebuilt there by the engine's own
// replay, exactly as a duplicate is rebuilt in-thread. The numbers are the in-thread run's,
// whatever the number of workers: particle i draws from stream i wherever it is advanced
// (particleStreams.ts), the parent resamples on the population's stream from the same weights,
// a log weight is the same sum of the same increments, and the engine's replay draws nothing.
// What differs is the work, and so the work counters (`kept`, `rebuilds`,
// `replayedInstructions` count what the workers did: a copy of an ancestor in another batch is
// always rebuilt).
//
// Cost: one round trip per barrier (two on a resampling step with moves across batches), plus
// the moved tapes; see the workers benchmark for where that pays.
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import type { Execution } from "@fugue/runtime/Execution"
import { type ChoiceValue, Trace } from "@fugue/runtime/Trace"
import * as Effect from "effect/Effect"
import { Progress } from "../Progress.ts"
import type { Resampler } from "../Resampling.ts"
import type { ModelRef } from "../Workers.ts"
import { attemptInference, type InferenceError } from "./attempt.ts"
import type { Session } from "./chainWorkers.ts"
import { MhChoice } from "./mhHandler.ts"
import { drive } from "./shell.ts"
import { type EngineConfig, Particle, ParticleHandler, SmcEngine } from "./smcEngine.ts"

/** Particles' tapes as typed arrays (and the few values that are not numbers or booleans). */
export interface Tapes {
  readonly count: number
  /** The addresses met, each once; `sites` indexes them. */
  readonly addresses: Array<string>
  readonly sites: Int32Array
  /** Per choice: the value (a boolean as 0 / 1), its kind (0 number, 1 boolean, 2 in `others`), its log probability. */
  readonly values: Float64Array
  readonly kinds: Uint8Array
  readonly others: Array<unknown>
  readonly logProbs: Float64Array
  /** Particle p's choices are offsets[p] … offsets[p + 1] − 1. */
  readonly offsets: Int32Array
  /** Per particle: logPrior, logLikelihood, logFactors. */
  readonly sums: Float64Array
  readonly barriers: Int32Array
  /** Per particle: 1 done, 2 broken. */
  readonly flags: Uint8Array
  /** Per particle: its model's return value once done. */
  readonly results: Array<unknown>
}

/** The tapes of `particles`, encoded. */
const encode = (particles: ReadonlyArray<Particle<unknown>>): Tapes => {
  const count = particles.length
  let total = 0
  for (let p = 0; p < count; p++) total += particles[p]!.handler.tape.length
  const ids = new Map<string, number>()
  const addresses: Array<string> = []
  const sites = new Int32Array(total)
  const values = new Float64Array(total)
  const kinds = new Uint8Array(total)
  const others: Array<unknown> = []
  const logProbs = new Float64Array(total)
  const offsets = new Int32Array(count + 1)
  const sums = new Float64Array(3 * count)
  const barriers = new Int32Array(count)
  const flags = new Uint8Array(count)
  const results = new Array<unknown>(count)
  let c = 0
  for (let p = 0; p < count; p++) {
    const particle = particles[p]!
    const h = particle.handler
    const tape = h.tape
    for (let k = 0; k < tape.length; k++, c++) {
      const choice = tape[k]!
      let id = ids.get(choice.address)
      if (id === undefined) {
        ids.set(choice.address, (id = addresses.length))
        addresses.push(choice.address)
      }
      sites[c] = id
      const v = choice.value
      if (typeof v === "number") values[c] = v
      else if (typeof v === "boolean") {
        values[c] = v ? 1 : 0
        kinds[c] = 1
      } else {
        kinds[c] = 2
        others.push(v)
      }
      logProbs[c] = choice.logProb
    }
    offsets[p + 1] = c
    sums[3 * p] = h.logPrior
    sums[3 * p + 1] = h.logLikelihood
    sums[3 * p + 2] = h.logFactors
    barriers[p] = h.barriers
    flags[p] = (particle.done ? 1 : 0) | (particle.broken ? 2 : 0)
    results[p] = particle.done ? particle.result : undefined
  }
  return { count, addresses, sites, values, kinds, others, logProbs, offsets, sums, barriers, flags, results }
}

/** The buffers of `tapes`, transferred rather than copied. */
const transfersOfTapes = (t: Tapes): Array<ArrayBuffer> =>
  [t.sites, t.values, t.kinds, t.logProbs, t.offsets, t.sums, t.barriers, t.flags].map((a) => a.buffer as ArrayBuffer)

/** Particle p of `tapes`, decoded into a particle with no execution (one is rebuilt from its tape where needed). */
const decode = <A>(t: Tapes, handlers: () => ParticleHandler): Array<Particle<A>> => {
  const out: Array<Particle<A>> = []
  let other = 0
  for (let p = 0; p < t.count; p++) {
    const h = handlers()
    const from = t.offsets[p]!, to = t.offsets[p + 1]!
    for (let c = from; c < to; c++) {
      const kind = t.kinds[c]!
      const value = (kind === 0 ? t.values[c]! : kind === 1 ? t.values[c] === 1 : t.others[other++]) as ChoiceValue
      h.trace.append(new MhChoice(t.addresses[t.sites[c]!]!, value, t.logProbs[c]!))
    }
    h.logPrior = t.sums[3 * p]!
    h.logLikelihood = t.sums[3 * p + 1]!
    h.logFactors = t.sums[3 * p + 2]!
    h.barriers = t.barriers[p]!
    // no execution: a copy of it is given a fresh one and replayed (`bound` false)
    const particle = new Particle<A>(h, undefined as unknown as Execution<A, void>)
    particle.bound = false
    particle.done = (t.flags[p]! & 1) !== 0
    particle.broken = (t.flags[p]! & 2) !== 0
    particle.result = t.results[p] as A | undefined
    out.push(particle)
  }
  return out
}

/** How a batch is refilled after a resampling: per particle, a local ancestor (≥ 0) or imported particle e (−1 − e). */
interface Plan {
  readonly sources: Int32Array
  /** The imported particles, in order (one block per source batch). */
  readonly imports: ReadonlyArray<Tapes>
}

/** The worker's requests. */
export type Op =
  | { readonly _tag: "open"; readonly ref: ModelRef; readonly seed: number; readonly maxInstructions: number | undefined; readonly from: number; readonly to: number }
  | { readonly _tag: "advance"; readonly step: number; readonly plan: Plan | undefined }
  | { readonly _tag: "export"; readonly lists: ReadonlyArray<Int32Array> }
  | { readonly _tag: "finish" }

/** A batch's answer to `advance`. */
interface Advanced {
  readonly logWeights: Float64Array
  readonly hits: number
  readonly stepAddress: string | undefined
  readonly invalid: number
  readonly rejectedInvalid: number
  readonly live: boolean
}

/** A batch's answer to `finish`. */
interface Finished {
  readonly tapes: Tapes
  readonly kept: number
  readonly rebuilds: number
  readonly replayedInstructions: number
}

/**
 * A worker's batch: particles from … to − 1 of the population, as a general engine of its own
 * (their streams those of their indices in the whole population). Resampling applies the
 * parent's plan through the engine's own `resample` (its resampler answers the plan's ancestors):
 * imported particles are put in front, each with a throwaway first copy (so every real copy of
 * one is rebuilt by replaying its tape), and dropped after.
 */
class Batch<A> extends SmcEngine<A> {
  private readonly planned: { ancestors: Int32Array }
  constructor(model: Model<A>, rng: CoreRng.Rng, config: EngineConfig, planned: { ancestors: Int32Array }) {
    super(model, rng, config)
    this.planned = planned
  }
  /** Refills the batch from `plan`; the log weights restart at 0 (the parent resampled). */
  applyUnsafe(plan: Plan): void {
    const imported: Array<Particle<A>> = []
    for (const t of plan.imports) for (const p of decode<A>(t, () => new ParticleHandler(this.rng, this.supports, new Trace()))) imported.push(p)
    const r = imported.length
    const m = this.logWeights.length
    const ancestors = new Int32Array(r + m)
    for (let e = 0; e < r; e++) ancestors[e] = e
    for (let k = 0; k < m; k++) {
      const s = plan.sources[k]!
      ancestors[r + k] = s >= 0 ? r + s : -1 - s
    }
    this.particles = r === 0 ? this.particles : [...imported, ...this.particles]
    this.planned.ancestors = ancestors
    this.resample()
    if (r > 0) this.particles = this.particles.slice(r)
    this.kept -= r
    this.logWeights.fill(0)
  }
  /** Whether some particle of the batch can still move. */
  live(): boolean {
    return this.anyLive()
  }
}

/** A worker's SMC batches, by run id. */
export type Batches = Map<number, Batch<unknown>>

/**
 * A worker's answer to one SMC request of run `run` (its output and the buffers to transfer).
 *
 * @internal
 */
export const callForWorker = (
  batches: Batches,
  run: number,
  op: Op,
  load: (ref: ModelRef) => Effect.Effect<Model<unknown>, unknown>
): Effect.Effect<{ readonly output: unknown; readonly transfers: ReadonlyArray<ArrayBuffer> }, unknown> =>
  Effect.gen(function*() {
    if (op._tag === "open") {
      const model = yield* load(op.ref)
      const planned = { ancestors: new Int32Array(0) }
      const resampler: Resampler = () => planned.ancestors
      const config: EngineConfig = {
        particles: op.to - op.from,
        threshold: 0,
        resampler,
        rejuvenation: 0,
        maxInstructions: op.maxInstructions,
        streamBase: op.from,
        rebuild: "duplicates"
      }
      const batch = yield* attemptInference(() => new Batch(model, CoreRng.streams(op.seed, 1)[0]!, config, planned))
      batches.set(run, batch)
      return { output: undefined, transfers: [] }
    }
    const batch = batches.get(run)
    if (batch === undefined) return yield* Effect.die(new Error(`SMC on workers: run ${run} has no batch on this worker`))
    if (op._tag === "advance") {
      batch.steps = op.step
      if (op.plan !== undefined) {
        const plan = op.plan
        yield* attemptInference(() => batch.applyUnsafe(plan))
      }
      yield* drive((deadline) => batch.advanceUnsafe(deadline), () => undefined)
      const output: Advanced = {
        logWeights: batch.logWeights.slice(),
        hits: batch.hits,
        stepAddress: batch.stepAddress,
        invalid: batch.invalid,
        rejectedInvalid: batch.rejectedInvalid,
        live: batch.live()
      }
      return { output, transfers: [output.logWeights.buffer as ArrayBuffer] }
    }
    if (op._tag === "export") {
      const tapes = op.lists.map((list) => encode(Array.from(list, (i) => batch.particles[i]! as Particle<unknown>)))
      return { output: tapes, transfers: tapes.flatMap(transfersOfTapes) }
    }
    const tapes = encode(batch.particles as Array<Particle<unknown>>)
    batches.delete(run)
    const output: Finished = { tapes, kept: batch.kept, rebuilds: batch.rebuilds, replayedInstructions: batch.replayedInstructions }
    return { output, transfers: transfersOfTapes(tapes) }
  })

/**
 * The parent's population: the weights, the evidence and the resampling decision of the
 * in-thread engine (`weighUnsafe`), fed by the batches' answers; its particles exist only at the
 * end (decoded from the batches' tapes, for `finish`).
 */
class Parent<A> extends SmcEngine<A> {
  live = false
  /** The last resampling's ancestors, until they are dealt out. */
  ancestors: Int32Array | undefined = undefined
  protected override anyLive(): boolean {
    return this.live
  }
  protected override resample(): void {
    this.ancestors = this.config.resampler(this.weights, this.logWeights.length, this.rng)
    this.resamplings++
    this.resampledAt.push(this.steps)
  }
  /** The particles, from the batches' final tapes in batch order. */
  adopt(tapes: ReadonlyArray<Tapes>): void {
    const particles: Array<Particle<A>> = []
    for (const t of tapes) for (const p of decode<A>(t, () => new ParticleHandler(this.rng, undefined, new Trace()))) particles.push(p)
    this.particles = particles
  }
}

/** The configuration an SMC run on workers needs (Smc.ts validates it). */
export interface BatchesConfig extends EngineConfig {
  readonly workers: number
}

/**
 * Each batch's answer; when some batch failed, the failure of the first such batch (every batch
 * finishes its request first), so the error is the in-thread run's: that of the first particle in
 * index order, whichever worker failed first.
 */
const inOrder = <A, E>(batches: ReadonlyArray<number>, call: (b: number) => Effect.Effect<A, E>): Effect.Effect<Array<A>, E> =>
  Effect.flatMap(Effect.forEach(batches, (b) => Effect.exit(call(b)), { concurrency: "unbounded" }), (exits) => {
    const out: Array<A> = []
    for (const exit of exits) {
      if (exit._tag === "Failure") return Effect.failCause(exit.cause)
      out.push(exit.value)
    }
    return Effect.succeed(out)
  })

/**
 * Runs SMC on `session`'s workers, the particles split into contiguous batches; the parent
 * engine at the end (its particles adopted, its counters the batches'), for `Smc` to finish.
 *
 * @internal
 */
export const runBatches = <A>(
  model: Model<A>,
  ref: ModelRef,
  seed: number,
  config: BatchesConfig,
  session: Session
): Effect.Effect<SmcEngine<A>, InferenceError | import("effect/workers/WorkerError").WorkerError> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const n = config.particles
    const w = session.size
    const bounds = Array.from({ length: w + 1 }, (_, b) => Math.floor((b * n) / w))
    const batchOf = (i: number): number => {
      let b = Math.min(w - 1, Math.floor((i * w) / n))
      while (bounds[b]! > i) b--
      while (bounds[b + 1]! <= i) b++
      return b
    }
    const parent = new Parent(model, CoreRng.streams(seed, 1)[0]!, config)
    const workers = Array.from({ length: w }, (_, b) => b)
    yield* inOrder(workers, (b) => session.call(b, { _tag: "open", ref, seed, maxInstructions: config.maxInstructions, from: bounds[b]!, to: bounds[b + 1]! } satisfies Op))
    let plans: Array<Plan | undefined> = workers.map(() => undefined)
    while (true) {
      const step = parent.steps
      const answers = yield* inOrder(workers, (b) => {
        const plan = plans[b]
        const transfers = plan === undefined ? [] : [plan.sources.buffer as ArrayBuffer, ...plan.imports.flatMap(transfersOfTapes)]
        return session.call<Advanced>(b, { _tag: "advance", step, plan } satisfies Op, transfers)
      })
      let hits = 0, invalid = 0, rejectedInvalid = 0, live = false
      let stepAddress: string | undefined = undefined
      for (let b = 0; b < w; b++) {
        const a = answers[b]!
        parent.logWeights.set(a.logWeights, bounds[b]!)
        hits += a.hits
        invalid += a.invalid
        rejectedInvalid += a.rejectedInvalid
        live ||= a.live
        if (stepAddress === undefined) stepAddress = a.stepAddress
      }
      parent.hits = hits
      parent.stepAddress = stepAddress
      parent.invalid = invalid
      parent.rejectedInvalid = rejectedInvalid
      parent.live = live
      const going = yield* attemptInference(() => parent.weighUnsafe())
      progress.report({ algorithm: "SMC", chain: 0, done: parent.steps, total: going ? parent.steps + 1 : parent.steps, phase: "filtering" })
      if (!going) break
      plans = workers.map(() => undefined)
      const ancestors = parent.ancestors
      if (ancestors === undefined) continue
      parent.ancestors = undefined
      plans = yield* dealOut(ancestors, bounds, batchOf, session)
    }
    const finished = yield* inOrder(workers, (b) => session.call<Finished>(b, { _tag: "finish" } satisfies Op))
    parent.adopt(finished.map((f) => f.tapes))
    for (const f of finished) {
      parent.kept += f.kept
      parent.rebuilds += f.rebuilds
      parent.replayedInstructions += f.replayedInstructions
    }
    return parent as SmcEngine<A>
  })

/**
 * Each batch's plan for the ancestors of a resampling: local ancestors by their local index,
 * the others fetched (once per destination) from their batches' workers as tapes.
 */
const dealOut = (
  ancestors: Int32Array,
  bounds: ReadonlyArray<number>,
  batchOf: (i: number) => number,
  session: Session
): Effect.Effect<Array<Plan>, InferenceError | import("effect/workers/WorkerError").WorkerError> =>
  Effect.gen(function*() {
    const w = session.size
    // wanted[s][d]: the local indices (in batch s) of the particles batch d imports from s
    const wanted = Array.from({ length: w }, () => Array.from({ length: w }, () => [] as Array<number>))
    const sources = Array.from({ length: w }, (_, d) => new Int32Array(bounds[d + 1]! - bounds[d]!))
    const slots = Array.from({ length: w }, () => new Map<number, number>()) // per destination: ancestor → (source, position) key
    for (let d = 0; d < w; d++) {
      for (let k = bounds[d]!; k < bounds[d + 1]!; k++) {
        const j = ancestors[k]!
        const s = batchOf(j)
        if (s === d) {
          sources[d]![k - bounds[d]!] = j - bounds[s]!
          continue
        }
        let slot = slots[d]!.get(j)
        if (slot === undefined) {
          slot = s * (bounds[w]! + 1) + wanted[s]![d]!.length
          wanted[s]![d]!.push(j - bounds[s]!)
          slots[d]!.set(j, slot)
        }
        // provisional: (source batch, position); made an import index below
        sources[d]![k - bounds[d]!] = -1 - slot
      }
    }
    const exported = yield* inOrder(Array.from({ length: w }, (_, s) => s), (s) =>
      wanted[s]!.some((list) => list.length > 0)
        ? session.call<Array<Tapes>>(s, { _tag: "export", lists: wanted[s]!.map((list) => Int32Array.from(list)) } satisfies Op)
        : Effect.succeed(undefined))
    return sources.map((src, d) => {
      // imports in source order; the first import from source s is at offset[s]
      const imports: Array<Tapes> = []
      const offset = new Array<number>(w).fill(0)
      let e = 0
      for (let s = 0; s < w; s++) {
        offset[s] = e
        const t = exported[s]?.[d]
        if (t !== undefined && t.count > 0) {
          imports.push(t)
          e += t.count
        }
      }
      for (let k = 0; k < src.length; k++) {
        const v = src[k]!
        if (v >= 0) continue
        const slot = -1 - v
        const s = Math.floor(slot / (bounds[w]! + 1))
        src[k] = -1 - (offset[s]! + (slot % (bounds[w]! + 1)))
      }
      return { sources: src, imports }
    })
  })
