/**
 * The memory suite: heap allocated per execution, GC count and GC time for 10⁶ prior
 * executions of the seed's regression, pooled (`PooledPriorHandler` drawing into traces
 * borrowed from a `TracePool`, each returned after use) versus unpooled (a new `PriorHandler`
 * and `Trace` per execution), with the hand-written forward sampler and the bare generator loop
 * as floors. Each variant runs in its own child process started with `--expose-gc`, so heaps do
 * not mix: the child warms up, collects twice, then counts GC events with a
 * `PerformanceObserver` (entry type "gc") and the bytes allocated with `v8.GCProfiler` (bytes
 * allocated = growth of the used heap between collections, summed, plus the growth after the
 * last one). Run alone: `node src/memory.ts [executions]`.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as v8 from "node:v8"
import { Rng } from "@fugue/core"
import { PooledPrior, TracePool } from "@fugue/memory"
import { PriorHandler, run } from "@fugue/runtime"
import { linearRegression, regressionForward } from "./models.ts"
import { environment, formatRate, markdownTable, packageRoot, ratio, sink, writeResult } from "./report.ts"

/**
 * What one child reports.
 *
 * @example
 * const perExecution = result.bytesAllocated / result.executions
 *
 * @category models
 * @since 0.1.0
 */
export interface MemoryResult {
  readonly variant: string
  readonly executions: number
  readonly bytesAllocated: number
  readonly gcCount: number
  readonly gcMs: number
  readonly scavenges: number
  readonly markSweeps: number
  readonly wallMs: number
  readonly heapUsedAfter: number
  readonly note: string
}

const VARIANTS = ["unpooled", "pooled", "hand-written", "bare generator"] as const
type Variant = (typeof VARIANTS)[number]

const makeLoop = (variant: Variant): { step: (n: number) => void; note: () => string } => {
  const rng = Rng.make(1)
  switch (variant) {
    case "unpooled":
      return {
        step: (n) => {
          let acc = 0
          for (let i = 0; i < n; i++) acc += run(new PriorHandler(rng), linearRegression)[1].logPrior
          sink.value += acc
        },
        note: () => "new PriorHandler + Trace per execution"
      }
    case "pooled": {
      const pool = TracePool.makeUnsafe({ capacity: 16 })
      return {
        step: (n) => {
          let acc = 0
          for (let i = 0; i < n; i++) {
            const [, trace] = PooledPrior.runUnsafe(pool, rng, linearRegression)
            acc += trace.logPrior
            pool.releaseUnsafe(trace)
          }
          sink.value += acc
        },
        note: () => {
          const s = pool.statsUnsafe()
          return `pool: ${s.hits} hits, ${s.misses} misses, high-water ${s.highWaterMark}`
        }
      }
    }
    case "hand-written": {
      const out = new Float64Array(5)
      return {
        step: (n) => {
          for (let i = 0; i < n; i++) regressionForward(rng, out)
          sink.value += out[3]
        },
        note: () => "3 draws + 8 inline log densities into a Float64Array"
      }
    }
    case "bare generator":
      return {
        step: (n) => {
          let acc = 0
          for (let i = 0; i < n; i++) {
            const program = linearRegression()
            let s = program.next()
            while (s.done !== true) s = program.next(s.value._tag === "Sample" ? 1 : undefined)
            acc += s.value
          }
          sink.value += acc
        },
        note: () => "the model's generator, instructions and distributions; no handler, no trace"
      }
  }
}

const child = async (variant: Variant, executions: number): Promise<void> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("run the memory child with --expose-gc")
  const loop = makeLoop(variant)
  loop.step(Math.min(20_000, executions)) // warm-up: JIT the loop before measuring
  gc()
  gc()
  let gcCount = 0
  let gcMs = 0
  let scavenges = 0
  let markSweeps = 0
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcCount++
      gcMs += entry.duration
      // detail.kind: NODE_PERFORMANCE_GC_MINOR = 1 (scavenge), MAJOR = 4 (mark-sweep-compact).
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind
      if (kind === 1) scavenges++
      else if (kind === 4) markSweeps++
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  const profiler = new v8.GCProfiler()
  const usedBefore = v8.getHeapStatistics().used_heap_size
  profiler.start()
  const t0 = performance.now()
  loop.step(executions)
  const wallMs = performance.now() - t0
  const usedEnd = v8.getHeapStatistics().used_heap_size
  const profile = profiler.stop() as {
    statistics: Array<{ beforeGC: { heapStatistics: { usedHeapSize: number } }; afterGC: { heapStatistics: { usedHeapSize: number } } }>
  }
  // Bytes allocated: between collections the used heap only grows by allocation.
  let bytes = 0
  let last = usedBefore
  for (const s of profile.statistics) {
    bytes += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - last)
    last = s.afterGC.heapStatistics.usedHeapSize
  }
  bytes += Math.max(0, usedEnd - last)
  // GC entries are delivered asynchronously: let the observer drain before reading the counts.
  await new Promise((resolve) => setTimeout(resolve, 50))
  observer.disconnect()
  const result: MemoryResult = {
    variant,
    executions,
    bytesAllocated: bytes,
    gcCount,
    gcMs,
    scavenges,
    markSweeps,
    wallMs,
    heapUsedAfter: process.memoryUsage().heapUsed,
    note: loop.note()
  }
  console.log(JSON.stringify(result))
}

const spawnChild = (variant: Variant, executions: number): MemoryResult => {
  const result = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", variant, String(executions)], {
    encoding: "utf8",
    cwd: packageRoot
  })
  if (result.status !== 0) throw new Error(`memory child "${variant}" failed (${result.status}): ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as MemoryResult
}

/**
 * Runs the memory suite (one child process per variant) and returns its markdown.
 *
 * @example
 * const markdown = runMemorySuite(1_000_000)
 *
 * @category constructors
 * @since 0.1.0
 */
export const runMemorySuite = (executions = 1_000_000): string => {
  const results = VARIANTS.map((v) => spawnChild(v, executions))
  const byName = new Map(results.map((r) => [r.variant, r]))
  const perExec = (r: MemoryResult) => r.bytesAllocated / r.executions
  const table = markdownTable(
    ["variant", "bytes/execution", "GC count (scavenge / mark-sweep)", "GC ms", "wall ms", "exec/s", "GC share of wall"],
    results.map((r) => [
      r.variant,
      perExec(r).toFixed(0),
      `${r.gcCount} (${r.scavenges} / ${r.markSweeps})`,
      r.gcMs.toFixed(1),
      r.wallMs.toFixed(0),
      formatRate((r.executions * 1000) / r.wallMs),
      `${((100 * r.gcMs) / r.wallMs).toFixed(1)}%`
    ])
  )
  const pooled = byName.get("pooled")!
  const unpooled = byName.get("unpooled")!
  const bare = byName.get("bare generator")!
  return [
    `# Memory suite: ${executions.toLocaleString("en-US")} prior executions of the seed's regression`,
    "",
    environment(),
    "",
    table,
    "",
    `- Unpooled allocates ${ratio(perExec(unpooled), perExec(pooled))} the bytes of pooled per execution; of pooled's`,
    `  ${perExec(pooled).toFixed(0)} bytes, ${perExec(bare).toFixed(0)} come from the model itself (generator object,`,
    "  instruction objects, distribution objects, address strings), which no pool can remove.",
    ...results.map((r) => `- ${r.variant}: ${r.note}.`),
    "- Each variant runs in a fresh `node --expose-gc` child: 20 000 warm-up executions, two `gc()` calls, then the timed loop.",
    "  GC count and ms from a `PerformanceObserver` on \"gc\" entries; bytes from `v8.GCProfiler` (used-heap growth",
    "  between collections, summed)."
  ].join("\n")
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const i = process.argv.indexOf("--child")
  if (i >= 0) await child(process.argv[i + 1] as Variant, Number(process.argv[i + 2]))
  else writeResult("memory", runMemorySuite(process.argv[2] === undefined ? 1_000_000 : Number(process.argv[2])))
}
