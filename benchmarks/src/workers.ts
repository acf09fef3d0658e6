/**
 * Chains on worker threads: four NUTS chains of a 100-dimensional AR(1) Gaussian, and four MH
 * chains of a 20-dimensional one, in-thread (`run`, chains interleaved on one thread) and on two
 * workers (`workers: 2`), with the fixed cost of starting the workers (a tiny run). The draws are bit-identical
 * (checked). Writes `benchmarks/results/workers.md`.
 *
 * @since 0.2.0
 */
import * as Mh from "@fugue/inference/Mh"
import * as Nuts from "@fugue/inference/Nuts"
import * as Workers from "@fugue/inference/Workers"
import { Effect } from "effect"
import { environment, markdownTable, writeResult } from "./report.ts"
import { ar1, url } from "./workerModels.ts"

const main = async (): Promise<void> => {
  const lines: Array<string> = []
  const log = (s: string) => {
    console.log(s)
    lines.push(s)
  }
  log("# Chains on worker threads\n")
  log(environment())
  const model = Workers.named(url, "ar1", ar1, 100)
  const time = async (run: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now()
    await run()
    return performance.now() - t0
  }
  // warm the in-thread JIT once
  await Effect.runPromise(Nuts.run(model, { samples: 200, warmup: 200, chains: 1, seed: 9 }))
  const start = await time(() => Effect.runPromise(Nuts.run(Workers.named(url, "ar1", ar1, 3), { samples: 10, warmup: 10, chains: 2, seed: 1, workers: 2 })))
  const rows: Array<Array<string>> = []
  for (const samples of [1000, 6000]) {
    const options = { samples, warmup: 1000, chains: 4, seed: 1 }
    let inThread: unknown, onWorkers: unknown
    const a = await time(async () => (inThread = await Effect.runPromise(Nuts.run(model, options))))
    const b = await time(async () => (onWorkers = await Effect.runPromise(Nuts.run(model, { ...options, workers: 2 }))))
    const same = (inThread as { draws: Map<string, Array<Float64Array>> }).draws.get("x#7")![3]!.every((v, i) => Object.is(v, (onWorkers as { draws: Map<string, Array<Float64Array>> }).draws.get("x#7")![3]![i]))
    if (!same) throw new Error("the draws on workers differ from the in-thread draws")
    rows.push([`NUTS, 100-D AR(1), 4 chains × (1000 + ${samples})`, `${a.toFixed(0)} ms`, `${b.toFixed(0)} ms`, `${(a / b).toFixed(2)}×`])
  }
  {
    const mhModel = Workers.named(url, "ar1", ar1, 20)
    const options = { samples: 100_000, warmup: 20_000, chains: 4, seed: 1, logDensity: "never" as const }
    const a = await time(() => Effect.runPromise(Mh.run(mhModel, options)))
    const b = await time(() => Effect.runPromise(Mh.run(mhModel, { ...options, workers: 2 })))
    rows.push(["MH (model-running path), 20-D AR(1), 4 chains × (20 000 + 100 000)", `${a.toFixed(0)} ms`, `${b.toFixed(0)} ms`, `${(a / b).toFixed(2)}×`])
  }
  log("\n## 4 chains, 2 workers on this 2-core machine (aim ≥ 1.7×)\n")
  log(markdownTable(["run", "in-thread", "2 workers", "speed-up"], rows))
  log(`\n- Starting two workers and running a tiny model on them: ${start.toFixed(0)} ms (module loading in each worker, its JIT warm-up): below a run of a few seconds, in-thread is faster.`)
  log("- Each worker runs whole chains (chains dealt in turn); chain i uses stream i of the seed wherever it runs, so the draws are bit-identical (checked here).")
  writeResult("workers", lines.join("\n"))
  process.exit(0)
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
