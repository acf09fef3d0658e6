// Centered eight schools with Mh over 4 chains, for runs longer than the test suite's: prints
// split R-hat (plain and rank-normalised), means, ESS, acceptance and scales. A script, not a test:
//   node test/bench/mhEightSchools.ts [samples per chain = 20000] [thin = 10]   (warm-up = samples × thin / 2)
import { addr, HalfCauchy, Normal, observe, sample } from "@fugue/core"
import * as Mh from "../../src/Mh.ts"
import * as Posterior from "../../src/Posterior.ts"
import { checkMean, essChains, rankRhat, splitRhat } from "../utils/mcmc.ts"
import data from "../data/eight_schools.json" with { type: "json" }
const model = function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < data.J; j++) {
    const theta = yield* sample(addr("theta", j), Normal(mu, tau))
    yield* observe(addr("y", j), Normal(theta, data.sigma[j]), data.y[j])
  }
  return mu
}
const samples = Number(process.argv[2] ?? 20000), thin = Number(process.argv[3] ?? 10)
const t = performance.now()
const post = Mh.runUnsafe(model, { samples, thin, warmup: samples * thin / 2, chains: 4, seed: 1 })
console.log("time", (performance.now() - t) / 1000, "s; it/s", 4 * samples * thin * 1.5 / ((performance.now() - t) / 1000))
for (const s of ["mu", "tau", "theta#0"]) {
  const ch = Posterior.chainsOf(post, s)
  console.log(s, "mean", Posterior.mean(post, s).toFixed(3), "sd", Posterior.sd(post, s).toFixed(3), "rhat", splitRhat(ch).toFixed(4), "rank", rankRhat(ch).toFixed(4), "ess", essChains(ch).toFixed(0))
}
const logtau = Posterior.chainsOf(post, "tau").map((c) => c.map(Math.log))
console.log("log tau rhat", splitRhat(logtau).toFixed(4), rankRhat(logtau).toFixed(4), essChains(logtau).toFixed(0), "mean", checkMean(logtau, 0).estimate)
console.log(Mh.stats(post).acceptance[0], Mh.stats(post).scales[0])
