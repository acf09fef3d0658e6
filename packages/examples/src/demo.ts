/**
 * The README's demo: the seed's linear regression run under the prior handler, then a replay
 * and a score of the recorded trace.
 */
import { Rng } from "@fugue/core"
import { PriorHandler, ReplayHandler, run, ScoreGivenTrace, Trace } from "@fugue/runtime"
import { linearRegression, seedData } from "./models.ts"

const model = linearRegression(seedData.xs, seedData.ys)
const fmt = (x: number) => x.toFixed(4).padStart(10)
const weights = (t: Trace.Trace) =>
  `logPrior ${fmt(t.logPrior)}  logLikelihood ${fmt(t.logLikelihood)}  logFactors ${fmt(t.logFactors)}  total ${fmt(t.totalLogWeight)}`

const [fit, trace] = run(new PriorHandler(Rng.make(42)), model)
console.log("Prior run (seed 42)")
console.log("  result:", Object.fromEntries(Object.entries(fit).map(([k, v]) => [k, Number(v.toFixed(4))])))
for (const choice of trace.choices.values()) {
  console.log(`  ${choice.address.padEnd(10)} value ${fmt(choice.value as number)}  logProb ${fmt(choice.logProb)}`)
}
console.log("  " + weights(trace))

const [, replayed] = run(new ReplayHandler(Rng.make(7), trace), model)
console.log("Replay of that trace")
console.log("  " + weights(replayed))

const [, scored] = run(new ScoreGivenTrace(trace), model)
console.log("Score of that trace")
console.log("  " + weights(scored))
console.log(
  scored.totalLogWeight === trace.totalLogWeight && replayed.totalLogWeight === trace.totalLogWeight
    ? "Replay and score reproduce the recorded log weight exactly."
    : "MISMATCH between prior, replay and score weights!"
)
