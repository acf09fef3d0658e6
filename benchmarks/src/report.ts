/**
 * Measuring and printing, shared by every suite. `measureOps` times a batch function with
 * tinybench and reports operations per second (a batch of many operations per call keeps the
 * timer's own cost out of the numbers); `timeRuns` times whole runs (an MCMC chain, a
 * particle filter) after warm-up and reports the median. `markdownTable`, `ratio` and
 * `writeResult` turn the numbers into the markdown tables under `benchmarks/results/`.
 *
 * @since 0.1.0
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Diagnostics from "@fugue/inference/Diagnostics"
import { Bench } from "tinybench"

/**
 * A throughput: operations per second (from the median batch time) with tinybench's relative
 * margin of error of the mean batch time (percent, 95%), as a noise indicator.
 *
 * @example
 * const { opsPerSec, rme } = measureOps(batch, 1000)
 *
 * @category models
 * @since 0.1.0
 */
export interface Throughput {
  readonly opsPerSec: number
  readonly rme: number
}

/**
 * Operations per second of `batch`, which performs `opsPerCall` operations per call.
 *
 * @example
 * const t = measureOps(() => { for (let i = 0; i < 1000; i++) step() }, 1000)
 *
 * @category constructors
 * @since 0.1.0
 */
export const measureOps = (batch: () => unknown, opsPerCall: number, timeMs = 600): Throughput => {
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 3), iterations: 5, throws: true })
  bench.add("task", () => {
    batch()
  })
  const [task] = bench.runSync()
  const result = task.result
  if (result.state !== "completed") throw new Error(`benchmark did not complete: ${result.state}`)
  // Throughput from the median latency of a batch (ms): on a shared 2-core machine other
  // processes steal whole time slices, and the median ignores those outliers where the mean
  // does not. `rme` (of the mean) still says how noisy the run was.
  return { opsPerSec: (opsPerCall * 1000) / result.latency.p50, rme: result.latency.rme }
}

/**
 * Timings of whole runs in milliseconds: `warmup` untimed runs, then `runs` timed ones.
 *
 * @example
 * const { medianMs } = timeRuns(run, { warmup: 1, runs: 3 })
 *
 * @category models
 * @since 0.1.0
 */
export interface RunTimes {
  readonly medianMs: number
  readonly minMs: number
  readonly maxMs: number
  readonly runs: number
}

/**
 * Times whole runs of `fn` (each run is one full inference call).
 *
 * @example
 * const t = timeRuns(() => mh(100_000), { warmup: 1, runs: 3 })
 *
 * @category constructors
 * @since 0.1.0
 */
export const timeRuns = (fn: () => unknown, options: { readonly warmup: number; readonly runs: number }): RunTimes => {
  for (let i = 0; i < options.warmup; i++) fn()
  const times: Array<number> = []
  for (let i = 0; i < options.runs; i++) {
    const t0 = performance.now()
    fn()
    times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  const medianMs = Diagnostics.quantile(times, 0.5)
  return { medianMs, minMs: times[0], maxMs: times[times.length - 1], runs: times.length }
}

/**
 * A number of operations per second in engineering form ("1.23 M", "456 k").
 *
 * @example
 * formatRate(1234567) // "1.23 M"
 *
 * @category getters
 * @since 0.1.0
 */
export const formatRate = (x: number): string => {
  if (!Number.isFinite(x)) return "–"
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`
  return x >= 100 ? x.toFixed(0) : x.toFixed(2)
}

/**
 * A throughput with its margin of error ("1.23 M ±0.8%").
 *
 * @example
 * formatThroughput({ opsPerSec: 1e6, rme: 0.5 }) // "1.00 M ±0.5%"
 *
 * @category getters
 * @since 0.1.0
 */
export const formatThroughput = (t: Throughput): string => `${formatRate(t.opsPerSec)} ±${t.rme.toFixed(1)}%`

/**
 * `a / b`, formatted as a multiplier ("3.21×"), or "–" when either side is missing.
 *
 * @example
 * ratio(10, 4) // "2.50×"
 *
 * @category getters
 * @since 0.1.0
 */
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !(a > 0) || !(b > 0) ? "–" : `${(a / b).toFixed(2)}×`

/**
 * Whether a measured ratio meets an aim, as "✓ (aim ≤ 4.5×)" or "✗ (aim ≤ 4.5×)".
 *
 * @example
 * aim(3.2, "<=", 4.5) // "✓ ≤ 4.5×"
 *
 * @category getters
 * @since 0.1.0
 */
export const aim = (value: number | undefined, direction: "<=" | ">=", target: number): string => {
  const label = `${direction === "<=" ? "≤" : "≥"} ${target}×`
  if (value === undefined || !Number.isFinite(value)) return `? ${label}`
  const met = direction === "<=" ? value <= target : value >= target
  return `${met ? "✓" : "✗"} ${label}`
}

/**
 * A markdown table.
 *
 * @example
 * markdownTable(["a", "b"], [["1", "2"]])
 *
 * @category getters
 * @since 0.1.0
 */
export const markdownTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => (c ?? "").padEnd(widths[i])).join(" | ")} |`
  return [line(headers), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n")
}

/**
 * One line describing the machine and the moment: Node version, CPU, load average.
 *
 * @example
 * environment() // "Node v22.…, 2 × Intel…, load 0.12 0.07 0.01, 2025-…"
 *
 * @category getters
 * @since 0.1.0
 */
export const environment = (): string => {
  const cpu = cpus()
  const load = loadavg().map((x) => x.toFixed(2)).join(" ")
  return `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, load average ${load}, ${new Date().toISOString()}`
}

/**
 * The folder holding this package's `results/` and `data/`.
 *
 * @example
 * join(packageRoot, "data", "eight_schools.json")
 *
 * @category getters
 * @since 0.1.0
 */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Prints a suite's markdown and writes it to `benchmarks/results/<suite>.md`.
 *
 * @example
 * writeResult("handler", "# Handler suite\n…")
 *
 * @category constructors
 * @since 0.1.0
 */
export const writeResult = (suite: string, markdown: string): string => {
  const path = join(packageRoot, "results", `${suite}.md`)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, markdown.endsWith("\n") ? markdown : markdown + "\n")
  console.log(markdown)
  console.log(`(written to ${path})\n`)
  return path
}

/**
 * A value the optimiser cannot prove unused: suites fold results into it, so timed work is never dead code.
 *
 * @example
 * sink.value += trace.logPrior
 *
 * @category getters
 * @since 0.1.0
 */
export const sink = { value: 0 }
