// Runs a synchronous loop as an interruptible Effect: `step(i)` for i in [0, total), in chunks
// of `chunk` iterations per `Effect.sync`, yielding to the scheduler between chunks (so the
// fiber can be interrupted) and reporting progress once per chunk.
import { Effect } from "effect"
import { Progress, type Report } from "../Progress.ts"

export const chunked = (
  total: number,
  chunk: number,
  step: (from: number, to: number) => void,
  report: (done: number) => Omit<Report, "done"> | undefined
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    for (let from = 0; from < total; from += chunk) {
      const to = Math.min(total, from + chunk)
      yield* Effect.sync(() => step(from, to))
      const r = report(to)
      if (r !== undefined) progress.report({ ...r, done: to })
      yield* Effect.yieldNow
    }
  })
