// What checkpointed runs share (NUTS/HMC in hmcRun.ts, MH in Mh.ts): the `Checkpoint` record,
// the validation of the `checkpoint` and `resume` options, and the stepping loop that stops a
// chain at every `checkpoint.every` iterations to save it. The chains' states are the
// algorithm's own (plain, structured-clonable data).
import { InvalidOptionsError, positiveInteger } from "../Options.ts"

/**
 * A run's checkpoint: what resumes it (`resume` option) to the same draws as a run that never
 * stopped. `states[i]` is chain i's latest saved state (undefined: not started).
 */
export interface Checkpoint<S = unknown> {
  readonly format: "fugue-checkpoint"
  readonly version: 1
  readonly algorithm: string
  readonly seed: number
  readonly chains: number
  readonly samples: number
  readonly warmup: number
  readonly thin: number
  readonly states: ReadonlyArray<S | undefined>
}

/** The `checkpoint` option: every `every` iterations, the run's checkpoint handed to `onCheckpoint`. */
export interface CheckpointOption<S> {
  readonly every: number
  readonly onCheckpoint: (checkpoint: Checkpoint<S>) => void
}

/**
 * Checks `checkpoint` and `resume` against the run's shape; returns the seed the run uses (the
 * checkpoint's, when resuming).
 */
export const checkpointOptions = <S>(
  algorithm: string,
  options: { readonly checkpoint?: CheckpointOption<S> | undefined; readonly resume?: Checkpoint<S> | undefined; readonly workers?: unknown },
  run: { readonly seed: number | undefined; readonly chains: number; readonly samples: number; readonly warmup: number; readonly thin: number }
): number | undefined => {
  const { checkpoint, resume } = options
  const { seed, chains, samples, warmup, thin } = run
  if (checkpoint !== undefined) {
    if (typeof checkpoint !== "object" || checkpoint === null || typeof checkpoint.onCheckpoint !== "function") {
      throw new InvalidOptionsError({ algorithm, option: "checkpoint", value: checkpoint, reason: "must be { every, onCheckpoint }" })
    }
    positiveInteger(algorithm, "checkpoint.every", checkpoint.every)
  }
  let resumeSeed = seed
  if (resume !== undefined) {
    const r = resume as Partial<Checkpoint> | null
    const why = typeof r !== "object" || r === null || r.format !== "fugue-checkpoint" ? "is not a checkpoint"
      : r.version !== 1 ? `has version ${String(r.version)}; this version reads 1`
      : r.algorithm !== algorithm ? `was made by ${String(r.algorithm)}`
      : r.chains !== chains || r.samples !== samples || r.warmup !== warmup || r.thin !== thin ? `was made with chains ${r.chains}, samples ${r.samples}, warmup ${r.warmup}, thin ${r.thin}: give the same`
      : seed !== undefined && seed !== r.seed ? `was made with seed ${r.seed}, not ${seed}`
      : !Array.isArray(r.states) || r.states.length !== chains ? "has no state per chain"
      : ""
    if (why !== "") throw new InvalidOptionsError({ algorithm, option: "resume", value: "(checkpoint)", reason: why })
    resumeSeed = r!.seed
  }
  if (checkpoint !== undefined && seed === undefined && resume === undefined) {
    throw new InvalidOptionsError({ algorithm, option: "checkpoint", value: checkpoint, reason: "checkpoints need a seed, so that a resumed run's chains that had not started use the same streams" })
  }
  if ((checkpoint !== undefined || resume !== undefined) && options.workers !== undefined) {
    throw new InvalidOptionsError({ algorithm, option: "workers", value: options.workers, reason: "checkpoints are taken in-thread: leave workers out with checkpoint or resume" })
  }
  return resumeSeed
}

/**
 * Advances a chain (`advance(deadline, stop)` runs it to iteration `stop` at most and returns
 * whether it finished) until the deadline, stopping at every multiple of `checkpoint.every` to
 * save its state into `states[chain]` and hand the run's checkpoint to `onCheckpoint`. Returns
 * whether the chain is finished.
 */
export const advanceWithCheckpoints = <S>(
  checkpoint: CheckpointOption<S>,
  record: Omit<Checkpoint<S>, "format" | "version" | "states">,
  states: Array<S | undefined>,
  chain: { readonly index: number; readonly iteration: number; readonly save: () => S },
  advance: (deadline: number, stop: number) => boolean,
  deadline: number
): boolean => {
  for (;;) {
    const stop = (Math.floor(chain.iteration / checkpoint.every) + 1) * checkpoint.every
    const done = advance(deadline, stop)
    if (done) return true
    if (chain.iteration !== stop) return false
    states[chain.index] = chain.save()
    checkpoint.onCheckpoint({ format: "fugue-checkpoint", version: 1, ...record, states: [...states] })
  }
}
