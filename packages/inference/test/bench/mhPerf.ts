// Iterations per second of `Mh.runUnsafe` on the seed linear-regression model against the
// hand-written single-site MH in mhHandWritten.ts (same site choice, proposals, adaptation and
// recording), and the floor under both: the bare model executed by the runtime's `run` loop
// with a trivial handler (generator, instruction and distribution objects, log densities; no
// trace, no MH). A script, not a test:
//   node test/bench/mhPerf.ts            (from packages/inference, Node 22)
//   node --cpu-prof test/bench/mhPerf.ts (profile)
import { addr, Gamma, Normal, observe, sample, type Distribution } from "@fugue/core"
import { run, type Handler } from "@fugue/runtime/Handler"
import * as Mh from "../../src/Mh.ts"
import * as Posterior from "../../src/Posterior.ts"
import { handWrittenMh } from "./mhHandWritten.ts"

const xs = [1, 2, 3, 4, 5]
const ys = [2.1, 4.2, 5.8, 8.1, 10.3]
const model = function*() {
  const slope = yield* sample("slope", Normal(0, 2))
  const intercept = yield* sample("intercept", Normal(0, 1))
  const noise = yield* sample("noise", Gamma(2, 1))
  const sd = Math.sqrt(noise)
  for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, sd), ys[i])
  return { slope, intercept, noise }
}

const samples = Number(process.argv[2] ?? 200_000)
const rounds = Number(process.argv[3] ?? 5)
const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length

const time = (f: () => void): number => {
  const t = performance.now()
  f()
  return (performance.now() - t) / 1000
}

// warm up the JIT on both
Mh.runUnsafe(model, { samples: 20_000, seed: 9 })
handWrittenMh(xs, ys, 20_000, 20_000, 9)

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
    run(floorHandler, model)
  }
}
floorRun(20_000)

const lib: Array<number> = [], hand: Array<number> = [], floor: Array<number> = []
let post: Posterior.Posterior<unknown> | undefined
let hw: ReturnType<typeof handWrittenMh> | undefined
for (let r = 0; r < rounds; r++) {
  lib.push((2 * samples) / time(() => { post = Mh.runUnsafe(model, { samples, seed: r }) }))
  hand.push((2 * samples) / time(() => { hw = handWrittenMh(xs, ys, samples, samples, r) }))
  floor.push((2 * samples) / time(() => floorRun(2 * samples)))
}
const median = (a: Array<number>) => [...a].sort((x, y) => x - y)[a.length >> 1]
console.log(`Mh.runUnsafe   ${median(lib).toFixed(0)} it/s (median of ${rounds}; runs: ${lib.map((x) => x.toFixed(0)).join(", ")})`)
console.log(`hand-written   ${median(hand).toFixed(0)} it/s (median of ${rounds}; runs: ${hand.map((x) => x.toFixed(0)).join(", ")})`)
console.log(`model floor    ${median(floor).toFixed(0)} runs/s (median of ${rounds}; runs: ${floor.map((x) => x.toFixed(0)).join(", ")})`)
console.log(`ratio          ${(median(hand) / median(lib)).toFixed(2)}× (hand-written / library); floor alone: ${(median(hand) / median(floor)).toFixed(2)}×`)
console.log(`means (lib)    slope ${Posterior.mean(post!, "slope").toFixed(3)} intercept ${Posterior.mean(post!, "intercept").toFixed(3)} noise ${Posterior.mean(post!, "noise").toFixed(3)}`)
console.log(`means (hand)   slope ${mean(hw!.slope).toFixed(3)} intercept ${mean(hw!.intercept).toFixed(3)} noise ${mean(hw!.noise).toFixed(3)}`)
