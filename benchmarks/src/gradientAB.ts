/**
 * A paired A/B of the taped gradient, in one process: the working `Ad.ts` (A) against another
 * version of it (B), on eight schools non-centred (or the wells regression), alternating blocks of
 * gradients at the same points, each timed by this thread's CPU time (user + system), which
 * other processes on a shared machine barely move. Prints the mean ns per gradient of each, the
 * median and quartiles of the blocks' A/B ratios, and the largest relative difference between
 * the two versions' values and gradients.
 *
 * The recording is made once, by `LogDensity` with A's tape, and copied into a B tape (a tape's
 * recording is plain arrays), so both evaluate the same recording; each version's own plan and
 * sweeps run on it. B is a copy of `Ad.ts` at some commit, put beside it (it imports
 * `effect/Data`, so it must live inside the workspace):
 *
 *     git show BASE:packages/core/src/Ad.ts > packages/core/src/AdBase.ts
 *     node src/gradientAB.ts ../packages/core/src/AdBase.ts [schools | wells] [rounds = 40] [gradients per block = 20000] [gradient | value]
 *
 * (`value` times `evaluate` alone: the value-only path of `LogDensity.logDensity`.)
 *
 * @since 0.2.0
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as A from "@fugue/core/Ad"
import { normalKernel } from "@fugue/core/distributions/Normal"
import * as LogDensity from "@fugue/inference/LogDensity"
import { eightSchoolsNonCentred, eightSchoolsPoints, wellsData, wellsLogistic, wellsPoints } from "./gradientModels.ts"
import { alternate, cpuMs, summary } from "./ab.ts"
import { eightSchoolsData } from "./models.ts"

type Module = typeof A

const basePath = process.argv[2]
if (basePath === undefined) throw new Error("usage: node src/gradientAB.ts <base Ad.ts> [schools | wells] [rounds] [gradients per block]")
const B = (await import(pathToFileURL(resolve(basePath)).href)) as Module
B.registerNormalKernel(normalKernel)
const which = process.argv[3] ?? "schools"
const ROUNDS = Number(process.argv[4] ?? 40)
const BLOCK = Number(process.argv[5] ?? (which === "wells" ? 20 : 20_000))
const valueOnly = process.argv[6] === "value"
/** Rounds run before the timed ones, so that V8 has optimised both versions. */
const WARM = 5

const [model, points] = which === "wells"
  ? [wellsLogistic(wellsData()), wellsPoints(16)]
  : [eightSchoolsNonCentred(eightSchoolsData()), eightSchoolsPoints(eightSchoolsData(), 16)]
const density = LogDensity.make(model, { gradient: "taped" }) as unknown as { tape: A.Tape; output: number; dimension: number }
const output = density.output, d = density.dimension

/** The recording's fields: what a tape's plan and sweeps read. */
const FIELDS = ["generation", "size", "op", "x", "y", "aux", "value", "edgeStart", "edgeTo", "edgeWeight", "edges", "args", "argCount", "constants", "constantCount", "kernels", "fused", "leafOf", "escaped", "folded"] as const

/** A copy of A's recording in a tape of module M. */
const transplant = (M: Module): A.Tape => {
  const from = density.tape as unknown as Record<string, unknown>
  const to = new M.Tape() as unknown as Record<string, unknown>
  for (const f of FIELDS) {
    const v = from[f]
    to[f] = ArrayBuffer.isView(v) ? (v as Float64Array).slice() : Array.isArray(v) ? v.slice() : v
  }
  return to as unknown as A.Tape
}

/** One taped gradient with a version's API: value and gradient in one call where it has one. */
const gradientFn = (tape: A.Tape): (q: Float64Array, g: Float64Array) => number => {
  const t = tape as unknown as { valueAndGradient?: (q: Float64Array, output: number, g: Float64Array) => number }
  if (valueOnly) return (q) => tape.evaluate(q, output)
  if (typeof t.valueAndGradient === "function") return (q, g) => t.valueAndGradient!(q, output, g)
  return (q, g) => {
    const lp = tape.evaluate(q, output)
    tape.gradientOf(output, g)
    return lp
  }
}

const gradA = gradientFn(transplant(A)), gradB = gradientFn(transplant(B))

/** One block: ns per gradient; the sum of values and gradients added to `acc[0]`. */
const block = (grad: (q: Float64Array, g: Float64Array) => number, acc: Float64Array): number => {
  const g = new Float64Array(d)
  let s = 0
  const t = cpuMs()
  for (let i = 0; i < BLOCK; i++) {
    s += grad(points[i & 15]!, g) + g[0]!
  }
  const ns = ((cpuMs() - t) * 1e6) / BLOCK
  acc[0] += s
  return ns
}

// the two versions' results at every point
let worst = 0
const ga = new Float64Array(d), gb = new Float64Array(d)
const rel = (a: number, b: number) => Math.abs(a - b) / (1 + Math.abs(a) + Math.abs(b))
for (const q of points) {
  worst = Math.max(worst, rel(gradA(q, ga), gradB(q, gb)))
  for (let i = 0; i < d; i++) worst = Math.max(worst, rel(ga[i]!, gb[i]!))
}

const accA = new Float64Array(1), accB = new Float64Array(1)
const paired = alternate(ROUNDS, WARM, () => block(gradA, accA), () => block(gradB, accB))
console.log(
  `${which}${valueOnly ? " (value only)" : ""}: A ${paired.meanA.toFixed(1)} ns/gradient, B ${paired.meanB.toFixed(1)} ns/gradient (CPU time); ` +
    `${summary(paired, BLOCK)}; largest relative difference A vs B ${worst.toExponential(2)}`
)
