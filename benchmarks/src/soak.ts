/**
 * The soak benchmark (not a timed test): does memory stay flat over a long run? It runs the
 * seed's linear regression 10⁷ times from the prior with a new `PriorHandler` and trace per
 * execution, 10⁷ times through a `TracePool` (`PooledPrior.runUnsafe`, each trace returned),
 * and 10⁶ MH iterations (`Mh.runUnsafe`, one chain, no warm-up, in 10 runs of 10⁵ so the heap
 * can be read between them). Each phase warms up, then prints the used heap after a forced
 * collection (`globalThis.gc()`, so run it with `node --expose-gc`) at its start, middle and
 * end, and whether the end is within 10 % or 2 MiB of the start (whichever is larger). A leak
 * shows as growth from start to middle repeated from middle to end. The exit code is 1 when a
 * phase is not flat. Run: `pnpm soak` (or `node --expose-gc src/soak.ts [prior] [mh]` with
 * other counts).
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { Rng } from "@fugue/core"
import * as Mh from "@fugue/inference/Mh"
import * as Posterior from "@fugue/inference/Posterior"
import { PooledPrior, TracePool } from "@fugue/memory"
import { PriorHandler, run } from "@fugue/runtime"
import { linearRegression } from "./models.ts"
import { environment, sink } from "./report.ts"

/**
 * One phase's heap readings (bytes used after a forced collection) and its verdict.
 *
 * @example
 * const flat = phase.end - phase.start <= phase.tolerance
 *
 * @category models
 * @since 0.1.0
 */
export interface SoakPhase {
  readonly name: string
  readonly count: number
  readonly start: number
  readonly middle: number
  readonly end: number
  readonly tolerance: number
  readonly flat: boolean
  readonly seconds: number
}

const MIB = 1024 * 1024
const TOLERANCE_SHARE = 0.1
const TOLERANCE_FLOOR = 2 * MIB

/** Used heap after two forced full collections (the second catches what the first freed late). */
const heapAfterGc = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the soak benchmark with node --expose-gc")
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(2)} MiB`

/**
 * Runs `step(chunk)` `chunks` times after a warm-up, reading the heap at the start, after half
 * the chunks and at the end.
 *
 * @example
 * const p = soakPhase("prior", 10, 1000, (n) => { for (let i = 0; i < n; i++) work() })
 *
 * @category constructors
 * @since 0.1.0
 */
export const soakPhase = (
  name: string,
  chunks: number,
  chunk: number,
  step: (n: number) => void,
  warmup = chunk
): SoakPhase => {
  step(warmup) // JIT-compile and allocate the inline caches before the first reading
  const start = heapAfterGc()
  let middle = start
  const t0 = performance.now()
  for (let c = 0; c < chunks; c++) {
    step(chunk)
    if (c + 1 === Math.floor(chunks / 2)) middle = heapAfterGc()
  }
  const seconds = (performance.now() - t0) / 1000
  const end = heapAfterGc()
  const tolerance = Math.max(TOLERANCE_SHARE * start, TOLERANCE_FLOOR)
  return { name, count: chunks * chunk, start, middle, end, tolerance, flat: end - start <= tolerance, seconds }
}

/**
 * Runs the three phases and prints each one's readings as it finishes.
 *
 * @example
 * const phases = runSoak(1e7, 1e6)
 *
 * @category constructors
 * @since 0.1.0
 */
export const runSoak = (priorExecutions = 10_000_000, mhIterations = 1_000_000): ReadonlyArray<SoakPhase> => {
  console.log(`# Soak: ${environment()}`)
  const print = (p: SoakPhase): SoakPhase => {
    console.log(
      `${p.name}: ${p.count.toLocaleString("en-US")} in ${p.seconds.toFixed(1)} s; heap after GC: start ${mib(p.start)}, ` +
        `middle ${mib(p.middle)}, end ${mib(p.end)} (end − start ${((p.end - p.start) / 1024).toFixed(0)} KiB, ` +
        `tolerance ${mib(p.tolerance)}): ${p.flat ? "flat" : "NOT FLAT"}`
    )
    return p
  }
  const rng = Rng.make(1)
  const chunks = 10
  const phases: Array<SoakPhase> = []

  const priorChunk = Math.ceil(priorExecutions / chunks)
  const unpooled = (n: number): void => {
    let acc = 0
    for (let i = 0; i < n; i++) acc += run(new PriorHandler(rng), linearRegression)[1].logPrior
    sink.value += acc
  }
  phases.push(print(soakPhase("prior executions, new PriorHandler + Trace each", chunks, priorChunk, unpooled, 100_000)))

  const pool = TracePool.makeUnsafe({ capacity: 16 })
  const pooled = (n: number): void => {
    let acc = 0
    for (let i = 0; i < n; i++) {
      const [, trace] = PooledPrior.runUnsafe(pool, rng, linearRegression)
      acc += trace.logPrior
      pool.releaseUnsafe(trace)
    }
    sink.value += acc
  }
  phases.push(print(soakPhase("prior executions, pooled (PooledPrior.runUnsafe + release)", chunks, priorChunk, pooled, 100_000)))
  const stats = pool.statsUnsafe()
  console.log(`  pool: ${stats.hits} hits, ${stats.misses} misses, high-water mark ${stats.highWaterMark}`)
  pool.closeUnsafe()

  let seed = 1
  const mhChunk = Math.ceil(mhIterations / chunks)
  const mh = (n: number): void => {
    const post = Mh.runUnsafe(linearRegression, { samples: n, warmup: 0, chains: 1, seed: seed++ })
    sink.value += Posterior.mean(post, "slope")
  }
  const mhName = `MH iterations (Mh.runUnsafe, 1 chain, warmup 0, ${chunks} runs of ${mhChunk})`
  phases.push(print(soakPhase(mhName, chunks, mhChunk, mh, 10_000)))

  const allFlat = phases.every((p) => p.flat)
  console.log(allFlat ? "every phase is flat" : "NOT FLAT: the heap grew beyond the tolerance in at least one phase")
  if (!allFlat) process.exitCode = 1
  return phases
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const prior = process.argv[2] === undefined ? 10_000_000 : Number(process.argv[2])
  const mh = process.argv[3] === undefined ? 1_000_000 : Number(process.argv[3])
  runSoak(prior, mh)
}
