/**
 * Progress reporting for long inference runs. Algorithms report through the `Progress`
 * reference, which is a no-op unless you provide one: `Progress.layerTerminal` draws a bar
 * on stderr, `Progress.layerCallback(f)` hands each report to your function. Reports are
 * made once per time slice of work (a few milliseconds, never per iteration), so they cost nothing measurable.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"

/**
 * One progress report.
 *
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly algorithm: string
  /** Chain (MCMC) or 0. */
  readonly chain: number
  /** Work done so far (iterations, particles × steps, …). */
  readonly done: number
  /** Total work. */
  readonly total: number
  /** The phase, e.g. "warmup" or "sampling". */
  readonly phase: string
}

/**
 * The reporter's interface.
 *
 * @category services
 * @since 0.1.0
 */
export interface ProgressShape {
  report(report: Report): void
}

/**
 * The progress reporter; a no-op by default.
 *
 * @example
 * Mh.run(model, opts).pipe(Effect.provide(Progress.layerTerminal))
 *
 * @category services
 * @since 0.1.0
 */
export const Progress = Context.Reference<ProgressShape>("@fugue/inference/Progress", {
  defaultValue: () => ({ report: () => {} })
})

/**
 * A reporter that calls `f` with each report.
 *
 * @example
 * const reports: Array<Report> = []
 * Effect.provide(layerCallback((r) => reports.push(r)))
 *
 * @category layers
 * @since 0.1.0
 */
export const layerCallback = (f: (report: Report) => void): Layer.Layer<never> =>
  Layer.succeed(Progress, { report: f })

/**
 * A reporter that draws one line per chain on stderr: `MH chain 0 sampling [#####-----] 50%`.
 *
 * @example
 * Mh.run(model, opts).pipe(Effect.provide(Progress.layerTerminal))
 *
 * @category layers
 * @since 0.1.0
 */
export const layerTerminal: Layer.Layer<never> = Layer.sync(Progress, () => {
  let last = ""
  return {
    report: (r: Report) => {
      const width = 30
      const frac = r.total > 0 ? Math.min(1, r.done / r.total) : 1
      const filled = Math.round(frac * width)
      const line = `${r.algorithm} chain ${r.chain} ${r.phase.padEnd(9)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`
      if (line === last) return
      last = line
      process.stderr.write(`\r${line}${frac === 1 ? "\n" : ""}`)
    }
  }
})
