import { Normal, sample } from "@fugue/core"
import * as Rng from "@fugue/core/Rng"
import { run } from "../../src/Handler.ts"
import { PriorHandler } from "../../src/handlers/Prior.ts"
import { ScoreGivenTrace } from "../../src/handlers/Score.ts"
import { ReplayHandler } from "../../src/handlers/Replay.ts"
for (const n of [31, 32, 33, 40]) {
  const model = function*() { for (let i = n - 1; i >= 0; i--) yield* sample(`x${String(i).padStart(2, "0")}`, Normal(0, 1)) }
  const [, t] = run(new PriorHandler(Rng.make(1)), model)
  let score: string
  try { const [, s] = run(new ScoreGivenTrace(t), model); score = `ok ${s.logPrior === t.logPrior}` } catch (e) { score = String((e as Error).message) }
  const [, r] = run(new ReplayHandler(Rng.make(2), t), model)
  console.log(n, "size", t.size, "get(x00)", t.choices.get("x00") !== undefined, "score:", score, "replay same logPrior:", r.logPrior === t.logPrior)
}
