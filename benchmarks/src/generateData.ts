/**
 * Generates the random walk's fixed data set once (`data/random-walk.json`): x₁ ~ N(0, 1),
 * x_t ~ N(x_{t−1}, 0.5), y_t ~ N(x_t, 1) for 50 steps, from `Rng.make(20240601)`. The JSON is
 * committed; rerunning this script reproduces it byte for byte.
 *
 * @since 0.1.0
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Rng } from "@fugue/core"
import { packageRoot } from "./report.ts"

const seed = 20240601
const steps = 50
const rng = Rng.make(seed)
const xs: Array<number> = []
const ys: Array<number> = []
let x = 0
for (let t = 0; t < steps; t++) {
  x = t === 0 ? rng.normal() : x + 0.5 * rng.normal()
  xs.push(x)
  ys.push(x + rng.normal())
}
const data = { seed, steps, transitionSd: 0.5, observationSd: 1, xs, ys }
const path = join(packageRoot, "data", "random-walk.json")
writeFileSync(path, JSON.stringify(data, null, 2) + "\n")
console.log(`wrote ${path}`)
