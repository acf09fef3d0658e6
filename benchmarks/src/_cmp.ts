import { addr, HalfCauchy, Normal, observe, sample, Gamma } from "@fugue/core"
import { Mh, Smc } from "@fugue/inference"
const ys = Array.from({ length: 50 }, (_, t) => Math.sin(t / 5) * 3)
const filt = (seed: number) => ({ particles: 1000, steps: 50, threshold: 1, resampling: "systematic" as const, seed,
  initial: function*() { return yield* sample("x", Normal(0, 1)) },
  transition: function*(x: number) { return yield* sample("x", Normal(x, 0.5)) },
  observation: (x: number, t: number) => Normal(x, 1).logProb(ys[t]) })
const y = [28, 8, -3, 7, -1, 1, 18, 12], sigma = [15, 10, 16, 11, 9, 11, 10, 18]
const eight = function*() {
  const mu = yield* sample("mu", Normal(0, 5)); const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < 8; j++) { const theta = yield* sample(addr("theta", j), Normal(mu, tau)); yield* observe(addr("y", j), Normal(theta, sigma[j]), y[j]) }
  return mu }
const xs = [1,2,3,4,5], yr=[2.1,4.2,5.8,8.1,10.3]
const reg = function* () { const slope = yield* sample("slope", Normal(0, 2)); const intercept = yield* sample("intercept", Normal(0, 1)); const noise = yield* sample("noise", Gamma(2, 1))
  for (let i = 0; i < 5; i++) yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, Math.sqrt(noise)), yr[i]); return slope }
const which = process.argv[2]
const med = (f: () => void, n: number) => { const t: number[] = []; for (let i = 0; i < n; i++) { const t0 = performance.now(); f(); t.push(performance.now() - t0) } t.sort((a, b) => a - b); return t[n >> 1] }
if (which === "filter") console.log("filter", med(() => Smc.filterUnsafe(filt(1)), 30).toFixed(2))
if (which === "eight") console.log("eight", med(() => Mh.runUnsafe(eight, { samples: 100000, warmup: 0, seed: 1 }), 7).toFixed(1))
if (which === "mh") console.log("mh", med(() => Mh.runUnsafe(reg, { samples: 100000, warmup: 0, seed: 1 }), 7).toFixed(1))
if (which === "smc") console.log("smc", med(() => Smc.runUnsafe(function*() { let x = yield* sample("x#0", Normal(0,1)); for (let t = 0; t < 50; t++) { if (t > 0) x = yield* sample(addr("x", t), Normal(x, 0.5)); yield* observe(addr("y", t), Normal(x, 1), ys[t]) } return x }, { particles: 1000, threshold: 1, seed: 1 }), 7).toFixed(1))
import { PriorHandler, run } from "@fugue/runtime"
import * as CoreRng from "@fugue/core/Rng"
if (which === "prior") { const rng = CoreRng.make(1); console.log("prior", med(() => { for (let i = 0; i < 100000; i++) run(new PriorHandler(rng), eight) }, 7).toFixed(1)) }
import { Is } from "@fugue/inference"
if (which === "is") console.log("is", med(() => Is.runUnsafe(reg, { particles: 100000, seed: 1 }), 7).toFixed(1))
if (which === "priorreg") { const rng = CoreRng.make(1); console.log("prior", med(() => { for (let i = 0; i < 100000; i++) run(new PriorHandler(rng), reg) }, 7).toFixed(1)) }
