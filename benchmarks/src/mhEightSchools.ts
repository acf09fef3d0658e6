/**
 * Centered eight schools with `Mh` over 4 chains, for runs longer than the test suite's: prints
 * the time, the posterior summary (mean, sd, MCSE, quantiles, bulk/tail ESS, rank-normalised
 * R-hat) of mu, tau, theta[0] and log tau, the classic split R-hat beside it, and chain 0's
 * acceptance rates and adapted scales. Warm-up is samples × thin / 2 iterations. A script, not a
 * suite (prints, writes nothing):
 *
 *   pnpm --filter @fugue/benchmarks mh-eight-schools [samples per chain = 20000] [thin = 10]
 *   node src/mhEightSchools.ts                        (from benchmarks/)
 *
 * @since 0.1.0
 */
import * as Diagnostics from "@fugue/inference/Diagnostics"
import * as Mh from "@fugue/inference/Mh"
import * as Posterior from "@fugue/inference/Posterior"
import { eightSchools, eightSchoolsData, eightSchoolsPosteriorMeanMu } from "./models.ts"

const samples = Number(process.argv[2] ?? 20_000)
const thin = Number(process.argv[3] ?? 10)
const data = eightSchoolsData()
const t0 = performance.now()
const post = Mh.runUnsafe(eightSchools(data), { samples, thin, warmup: (samples * thin) / 2, chains: 4, seed: 1 })
const seconds = (performance.now() - t0) / 1000
console.log(`time ${seconds.toFixed(1)} s; ${((4 * samples * thin * 1.5) / seconds).toFixed(0)} it/s`)

const sites = ["mu", "tau", "theta#0"]
const logTau = Posterior.chainsOf(post, "tau").map((c) => c.map(Math.log))
const rows = [
  ...Diagnostics.summary(post).filter((r) => sites.includes(r.site)),
  ...Diagnostics.summary({ ...post, sites: ["log tau"], draws: new Map([["log tau", logTau]]) })
]
console.log(Diagnostics.formatSummary(rows))
for (const site of sites) console.log(`split R-hat (BDA3) ${site}: ${Diagnostics.rhatBasic(Posterior.chainsOf(post, site))?.toFixed(4)}`)
console.log(`split R-hat (BDA3) log tau: ${Diagnostics.rhatBasic(logTau)?.toFixed(4)}`)
console.log(`exact E[mu | y] = ${eightSchoolsPosteriorMeanMu(data).toFixed(3)}`)
const stats = Mh.stats(post)
console.log("chain 0 acceptance", stats.acceptance[0], "scales", stats.scales[0])
