/**
 * Runs every benchmark suite (`pnpm bench`) and writes `benchmarks/results/<suite>.md`. Each
 * suite runs in its own Node process, so one suite's JIT state (a call site that has seen many
 * handler classes) and heap never colour another's numbers. Pass suite names to run a subset:
 * `node src/main.ts handler inference`. Suites: handler, memory, inference, gradient, vectorised, nuts, enumerate, vi, workers, profile.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { packageRoot } from "./report.ts"

const SUITES = ["handler", "memory", "inference", "gradient", "vectorised", "nuts", "enumerate", "vi", "workers", "profile"] as const

const requested = process.argv.slice(2)
const unknown = requested.filter((s) => !(SUITES as ReadonlyArray<string>).includes(s))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(", ")}; known: ${SUITES.join(", ")}`)
  process.exit(2)
}
const suites = requested.length > 0 ? requested : SUITES

const started = performance.now()
let failed = 0
for (const suite of suites) {
  const t0 = performance.now()
  console.log(`\n=== ${suite} ===\n`)
  const result = spawnSync(process.execPath, [join(packageRoot, "src", `${suite}.ts`)], { stdio: "inherit", cwd: packageRoot })
  const seconds = ((performance.now() - t0) / 1000).toFixed(1)
  if (result.status !== 0) {
    failed++
    console.error(`suite ${suite} failed (exit ${result.status ?? result.signal}) after ${seconds} s`)
  } else {
    console.log(`suite ${suite}: ${seconds} s`)
  }
}
console.log(`\nall suites: ${((performance.now() - started) / 1000).toFixed(1)} s${failed > 0 ? `, ${failed} failed` : ""}`)
process.exit(failed > 0 ? 1 : 0)
