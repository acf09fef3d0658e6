import fc from "fast-check"
import * as Rng from "@fugue/core/Rng"
import { run } from "../../src/Handler.ts"
import { PriorHandler } from "../../src/handlers/Prior.ts"
import { explain, isDocumentedModelError, modelArb, render, toModel } from "./randomModels.ts"

const extremes = process.argv[2] === "x"
const N = Number(process.argv[3] ?? 2000)
const descs = fc.sample(modelArb({ extremes }), { numRuns: N, seed: Number(process.argv[4] ?? 1) })
const counts = new Map<string, number>()
const bad: Array<string> = []
let nan = 0
const t0 = performance.now()
for (const [i, d] of descs.entries()) {
  let key: string
  try {
    const [out, t] = run(new PriorHandler(Rng.make(i)), toModel(d))
    key = "ok"
    const nanHere = [t.logPrior, t.logLikelihood, out.badFactor ? 0 : t.logFactors].some(Number.isNaN)
    if (nanHere) { nan++; if (nan <= 5) bad.push(`NaN weights ${t.logPrior} ${t.logLikelihood} ${t.logFactors}\n${render(d)}`) }
  } catch (e) {
    key = (e as any)?._tag ?? (e as any)?.constructor?.name
    if (!isDocumentedModelError(e)) { key = "UNDOC " + key; if (bad.length < 12) bad.push(explain(e) + "\n" + render(d)) }
  }
  counts.set(key, (counts.get(key) ?? 0) + 1)
}
console.log("ms", (performance.now() - t0).toFixed(0), "nan", nan, Object.fromEntries(counts))
for (const b of bad) console.log("----\n" + b)
