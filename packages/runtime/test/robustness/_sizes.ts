import fc from "fast-check"
import { modelArb, render, type Step } from "./randomModels.ts"
const count = (s: ReadonlyArray<Step>): number => s.reduce((n, x) => n + 1 + ("body" in x ? count(x.body) : x.kind === "branch" ? count(x.then) + count(x.otherwise) : 0), 0)
const ds = fc.sample(modelArb({ extremes: true }), { numRuns: 500, seed: 3 })
const sizes = ds.map((d) => count(d.steps)).sort((a, b) => a - b)
console.log("median", sizes[250], "p90", sizes[450], "max", sizes[499])
for (const d of ds.slice(0, 4)) console.log(render(d))
