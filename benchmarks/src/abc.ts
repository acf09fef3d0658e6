/**
 * ABC's CPU time on two simulators, for before/after comparisons of the ABC samplers (run the
 * same file in two checkouts under `farm-bench --vs`, or read the printed CPU ms): rejection
 * ABC (a tolerance and a quantile run) and ABC-SMC, each on a Normal simulator with 20 noise
 * sites (22 choices per trace), most simulations rejected. `node src/abc.ts [rejection|quantile|smc]`
 * runs one of them; without an argument, all three. `ROUNDS=k` runs each k times (the first
 * includes the JIT's warm-up).
 *
 * @since 0.2.0
 */
import { addr, Gamma, Normal, sample, type Model } from "@fugue/core"
import * as Abc from "@fugue/inference/Abc"
import { cpuMs } from "./ab.ts"

const N = 20
const simulator: Model.Model<Float64Array> = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  const sigma = yield* sample("sigma", Gamma(2, 2))
  const ys = new Float64Array(N)
  for (let i = 0; i < N; i++) ys[i] = yield* sample(addr("y", i), Normal(mu, sigma))
  return ys
}
const summary = (ys: Float64Array): Array<number> => {
  let m = 0
  for (let i = 0; i < ys.length; i++) m += ys[i]!
  m /= ys.length
  let v = 0
  for (let i = 0; i < ys.length; i++) v += (ys[i]! - m) ** 2
  return [m, Math.sqrt(v / (ys.length - 1))]
}
const observed = Float64Array.from({ length: N }, (_, i) => 0.5 + Math.sin(i))
const comparison = { observed, summary, parameters: ["mu", "sigma"] }

const runs: Record<string, () => string> = {
  rejection: () => {
    const post = Abc.rejectionUnsafe(simulator, { observed, summary, simulations: 200_000, tolerance: 0.15, seed: 1 })
    return `accepted ${Abc.rejectionStats(post).accepted}`
  },
  quantile: () => {
    const post = Abc.rejectionUnsafe(simulator, { observed, summary, simulations: 200_000, quantile: 0.01, seed: 2 })
    return `accepted ${Abc.rejectionStats(post).accepted}`
  },
  smc: () => {
    const post = Abc.smcUnsafe(simulator, { ...comparison, particles: 1000, generations: 6, seed: 3 })
    return `simulations ${Abc.smcStats(post).simulations}`
  }
}

const chosen = process.argv.slice(2)
const rounds = Number(process.env.ROUNDS ?? 1)
for (const name of chosen.length > 0 ? chosen : Object.keys(runs)) {
  const run = runs[name]
  if (run === undefined) throw new Error(`unknown run ${name}; known: ${Object.keys(runs).join(", ")}`)
  const times: Array<string> = []
  let what = ""
  for (let r = 0; r < rounds; r++) {
    const t = cpuMs()
    what = run()
    times.push((cpuMs() - t).toFixed(0))
  }
  console.log(`${name}: ${times.join(" ")} ms CPU (${what})`)
}
