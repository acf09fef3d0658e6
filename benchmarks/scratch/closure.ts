import { Normal, observe, Rng, sample } from "@fugue/core"
import { scope } from "@fugue/core/Model"
import { Execution } from "@fugue/runtime/Execution"
const ys = Array.from({length: 50}, (_, i) => Math.sin(i))
const step = (prev: number, t: number) => function*() {
  const x = yield* sample("v", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
}
const rng = Rng.make(1)
class H { lw = 0; sample(_a: string, d: any) { return d.sample(rng) } observe(_a: string, d: any, v: any) { this.lw += d.logProb(v) } factor(w: number) { this.lw += w } finish() {} }
const h = new H()
const ex = new Execution<number, void>(function*() { return 0 }, h)
const N = 50000
const bench = (name: string, f: () => void) => { for (let k = 0; k < 3; k++) f(); const t0 = performance.now(); for (let k = 0; k < 10; k++) f(); console.log(name, ((performance.now() - t0) / 10 / N * 1e6).toFixed(0), "ns/step") }
const prefixes = ys.map((_, t) => `x#${t}`)
bench("runFresh(step())", () => { let x = 0; for (let i = 0; i < N; i++) x = ex.runFresh(step(x, i % 50)) })
bench("runFresh(scope(step()))", () => { let x = 0; for (let i = 0; i < N; i++) x = ex.runFresh(scope(prefixes[i % 50], step(x, i % 50))) })
bench("closure only", () => { let f: any; for (let i = 0; i < N; i++) f = step(i, i % 50); (globalThis as any).sink = f })
bench("closure+call", () => { let f: any; for (let i = 0; i < N; i++) f = step(i, i % 50)(); (globalThis as any).sink = f })
bench("resume-stop", () => { let x = 0; for (let i = 0; i < N; i++) { ex.restart(scope(prefixes[i % 50], step(x, i % 50))); x = ex.runToEnd() } })
const proto = Object.getPrototypeOf(step(0, 0)())
bench("closure+protoset+call", () => { let f: any; for (let i = 0; i < N; i++) { const m: any = step(i, i % 50); m.prototype = proto; f = m() } (globalThis as any).sink = f })
bench("runFresh protoset", () => { let x = 0; for (let i = 0; i < N; i++) { const m: any = step(x, i % 50); m.prototype = proto; x = ex.runFresh(m) } })
function* stepG(prev: number, t: number) {
  const x = yield* sample("v", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
}
bench("runFresh generator fn", () => { let x = 0; for (let i = 0; i < N; i++) x = ex.runFresh(stepG(x, i % 50)) })
