import fc from "fast-check"
import * as Rng from "@fugue/core/Rng"
import { run } from "../../src/Handler.ts"
import { PriorHandler } from "../../src/handlers/Prior.ts"
import { SafeReplayHandler } from "../../src/handlers/SafeReplay.ts"
import { SafeScoreGivenTrace } from "../../src/handlers/SafeScore.ts"
import { modelArb, toModel } from "./randomModels.ts"
const arb = fc.oneof(modelArb(), modelArb({ extremes: true }))
const pairs = fc.sample(fc.tuple(arb, arb), { numRuns: 2000, seed: 5 })
const c = { priorOk: 0, bOk: 0, repaired: 0, fresh: 0, mism: 0, missing: 0, zeroRepairs: 0 }
pairs.forEach(([a, b], i) => {
  let t
  try { t = run(new PriorHandler(Rng.make(i)), toModel(a))[1]; c.priorOk++ } catch { return }
  const h = new SafeReplayHandler(Rng.make(i + 1), t)
  try { run(h, toModel(b)); c.bOk++; if (h.repaired) c.repaired++; if (h.fresh) c.fresh++; if (!h.repaired && !h.fresh) c.zeroRepairs++ } catch {}
  const s = new SafeScoreGivenTrace(t)
  try { run(s, toModel(b)); if (s.mismatched) c.mism++; if (s.missing) c.missing++ } catch {}
})
console.log(c)
