/**
 * Iterations per second of `Mh.runUnsafe` on the seed's linear regression against the
 * hand-written single-site MH of `mhHandWritten.ts` (same site choice, proposals, adaptation
 * and recording), and the floor under both: the bare model executed by the runtime's `run`
 * loop with a trivial handler (generator, instruction and distribution objects, log densities;
 * no trace, no MH). Medians of `rounds` runs of `samples` kept draws after as many warm-up
 * iterations. A script, not a suite (prints, writes nothing):
 *
 *   pnpm --filter @fugue/benchmarks mh-perf [samples = 200000] [rounds = 5]
 *   node src/mhPerf.ts                      (from benchmarks/)
 *   node --cpu-prof src/mhPerf.ts           (profile)
 *
 * @since 0.1.0
 */
import type { Distribution } from "@fugue/core"
import * as Diagnostics from "@fugue/inference/Diagnostics"
import * as Mh from "@fugue/inference/Mh"
import * as Posterior from "@fugue/inference/Posterior"
import { type Handler, run } from "@fugue/runtime/Handler"
import { handWrittenMh } from "./mhHandWritten.ts"
import { linearRegression } from "./models.ts"

const samples = Number(process.argv[2] ?? 200_000)
const rounds = Number(process.argv[3] ?? 5)
const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length
const median = (a: ReadonlyArray<number>) => Diagnostics.quantile(a, 0.5)

const time = (f: () => void): number => {
  const t = performance.now()
  f()
  return (performance.now() - t) / 1000
}

/** Scores every instruction at the value 1 and keeps nothing: the cost of executing the model. */
class FloorHandler implements Handler<number> {
  logWeight = 0
  sample<T>(_: string, dist: Distribution.Distribution<T>): T {
    const value = 1 as T
    this.logWeight += dist.logProb(value)
    return value
  }
  observe<T>(_: string, dist: Distribution.Distribution<T>, value: T): void {
    this.logWeight += dist.logProb(value)
  }
  factor(): void {}
  finish(): number {
    return this.logWeight
  }
}
const floorHandler = new FloorHandler()
const floorRun = (n: number) => {
  for (let i = 0; i < n; i++) {
    floorHandler.logWeight = 0
    run(floorHandler, linearRegression)
  }
}

// Warm up the JIT on all three.
Mh.runUnsafe(linearRegression, { samples: 20_000, seed: 9 })
handWrittenMh(20_000, 20_000, 9)
floorRun(20_000)

const lib: Array<number> = [], hand: Array<number> = [], floor: Array<number> = []
let post: Posterior.Posterior<unknown> | undefined
let hw: ReturnType<typeof handWrittenMh> | undefined
for (let r = 0; r < rounds; r++) {
  lib.push((2 * samples) / time(() => { post = Mh.runUnsafe(linearRegression, { samples, seed: r }) }))
  hand.push((2 * samples) / time(() => { hw = handWrittenMh(samples, samples, r) }))
  floor.push((2 * samples) / time(() => floorRun(2 * samples)))
}
const runs = (a: Array<number>) => a.map((x) => x.toFixed(0)).join(", ")
console.log(`Mh.runUnsafe   ${median(lib).toFixed(0)} it/s (median of ${rounds}; runs: ${runs(lib)})`)
console.log(`hand-written   ${median(hand).toFixed(0)} it/s (median of ${rounds}; runs: ${runs(hand)})`)
console.log(`model floor    ${median(floor).toFixed(0)} runs/s (median of ${rounds}; runs: ${runs(floor)})`)
console.log(`ratio          ${(median(hand) / median(lib)).toFixed(2)}× (hand-written / library); floor alone: ${(median(hand) / median(floor)).toFixed(2)}×`)
console.log(`means (lib)    slope ${Posterior.mean(post!, "slope").toFixed(3)} intercept ${Posterior.mean(post!, "intercept").toFixed(3)} noise ${Posterior.mean(post!, "noise").toFixed(3)}`)
console.log(`means (hand)   slope ${mean(hw!.slope).toFixed(3)} intercept ${mean(hw!.intercept).toFixed(3)} noise ${mean(hw!.noise).toFixed(3)}`)
