import { Normal, Bernoulli, Dirichlet, sample, observe } from "@fugue/core"
import * as Rng from "@fugue/core/Rng"
import * as C from "../../src/Combinators.ts"
import { run } from "../../src/Handler.ts"
import { PriorHandler } from "../../src/handlers/Prior.ts"
import { ReplayHandler } from "../../src/handlers/Replay.ts"
const m = function*() { const x = yield* sample("x", Normal(0, 1)); const b = yield* sample("b", Bernoulli(0.5)); const v = yield* sample("v", Dirichlet([1, 1])); return [x, b, v] }
const tryRun = (label: string, h: any) => { try { const [r, t] = run(h, m); console.log(label, "ok", JSON.stringify(r), "logPrior", t.logPrior, "logLik", t.logLikelihood, "x:", typeof t.choices.get("x")?.value, t.choices.get("x")?.value) ; return t } catch (e: any) { console.log(label, "threw", e?._tag ?? e?.constructor?.name, e?.message) } }
for (const v of ["abc", undefined, Number.NaN, [1], true]) {
  tryRun(`substitute x=${String(v)}`, C.substitute(new PriorHandler(Rng.make(1)), { x: v }))
  tryRun(`condition x=${String(v)}`, C.condition(new PriorHandler(Rng.make(1)), { x: v }))
}
tryRun("condition v=Float64Array(3)", C.condition(new PriorHandler(Rng.make(1)), { v: new Float64Array([0.2, 0.3, 0.5]) }))
tryRun("condition b=1", C.condition(new PriorHandler(Rng.make(1)), { b: 1 }))
const t = tryRun("substitute x='abc'", C.substitute(new PriorHandler(Rng.make(1)), { x: "abc" }))!
try { const [, t2] = run(new ReplayHandler(Rng.make(2), t), m); console.log("replay of that trace: x =", t2.choices.get("x")?.value) } catch (e: any) { console.log("replay threw", e._tag, e.message) }
tryRun("scale NaN", C.scale(new PriorHandler(Rng.make(1)), Number.NaN))
tryRun("scale -1", C.scale(new PriorHandler(Rng.make(1)), -1))
