import { addr, Normal, observe, Rng, sample } from "@fugue/core"
import { unfold } from "@fugue/core/Model"
import * as Smc from "@fugue/inference/Smc"
import { bootstrapFilter, randomWalk, randomWalkData } from "../src/models.ts"

const data = randomWalkData()
const ys = data.ys
const time = (f: () => void, runs = 5) => { f(); const ts: number[] = []; for (let i = 0; i < runs; i++) { const t0 = performance.now(); f(); ts.push(performance.now() - t0) } ts.sort((a,b)=>a-b); return ts[Math.floor(runs/2)] }
const walkU = (ys: ReadonlyArray<number>) => unfold("x", ys.length, 0, (prev: number, t: number) => function*() {
  const x = yield* sample("v", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
})
let s = 1
console.log("hand", time(() => bootstrapFilter(Rng.make(s++), ys, 1000), 21))
console.log("general loop", time(() => Smc.runUnsafe(randomWalk(ys), { particles: 1000, threshold: 1, seed: s++ })))
console.log("general unfold", time(() => Smc.runUnsafe(walkU(ys), { particles: 1000, threshold: 1, seed: s++ })))
const gen = (T: number) => { const r = Rng.make(7); const out: number[] = []; let x = r.normal(); for (let t = 0; t < T; t++) { if (t > 0) x += 0.5 * r.normal(); out.push(x + r.normal()) } return out }
for (const T of [50, 200, 800]) {
  const y = gen(T)
  console.log("T", T, "unfold 100p", time(() => Smc.runUnsafe(walkU(y), { particles: 100, seed: s++ }), 3))
}
