/**
 * A paired A/B of the NUTS transition, in one process: the working `hamiltonian.ts` (A) against
 * another version of it (B), on eight schools non-centred with the step size and metric of a
 * warm-up, alternating blocks of transitions from the same seed, each timed by this thread's CPU
 * time (user + system), which other processes on a shared machine barely move (wall time there
 * swings by 2× from block to block). Prints the mean ns per leapfrog step of each, the median and
 * quartiles of the blocks' A/B ratios, and whether the two made the same draws; then the gradient
 * alone (a block of `gradientInto` calls cycling through 16 of the chain's points after each
 * round) and each side's own overhead per step in gradients, (step − gradient) ÷ gradient, median
 * and quartiles over the rounds.
 *
 * B is a copy of `hamiltonian.ts` at some commit, put beside it (it imports `./normals.ts`):
 *
 *     git show BASE:packages/inference/src/internal/hamiltonian.ts > packages/inference/src/internal/hamiltonianBase.ts
 *     node src/nutsAB.ts ../packages/inference/src/internal/hamiltonianBase.ts [rounds = 60] [transitions per block = 2000]
 *
 * To compare kernels (leapfrog.wat), give B the base's assembled module as well:
 *
 *     git show BASE:packages/inference/src/internal/leapfrogWasm.ts > packages/inference/src/internal/leapfrogWasmBase.ts
 *     sed -i 's#"./leapfrogWasm.ts"#"./leapfrogWasmBase.ts"#' packages/inference/src/internal/hamiltonianBase.ts
 *
 * @since 0.2.0
 */
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as CoreRng from "@fugue/core/Rng"
import * as LogDensity from "@fugue/inference/LogDensity"
import * as Nuts from "@fugue/inference/Nuts"
import * as A from "../../packages/inference/src/internal/hamiltonian.ts"
import { eightSchoolsNonCentred } from "./gradientModels.ts"
import { alternate, cpuMs, summary } from "./ab.ts"
import { gradientBlock } from "./nutsOverhead.ts"
import { eightSchoolsData } from "./models.ts"

type Module = typeof A

const basePath = process.argv[2]
if (basePath === undefined) throw new Error("usage: node src/nutsAB.ts <base hamiltonian.ts> [rounds] [transitions per block]")
const B = (await import(pathToFileURL(resolve(basePath)).href)) as Module
const ROUNDS = Number(process.argv[3] ?? 60)
const BLOCK = Number(process.argv[4] ?? 2000)
/** Rounds run before the timed ones, so that V8 has optimised both versions. */
const WARM = 5

const model = eightSchoolsNonCentred(eightSchoolsData())
const density = LogDensity.make(model)
const warm = Nuts.runUnsafe(model, { samples: 1000, warmup: 1000, chains: 1, seed: 7 })
const stepSize = warm.stats.stepSizeFinal[0]!, inverse = warm.stats.inverseMetric[0]!
const start = new Float64Array(density.dimension).fill(0.1)

const make = (M: Module) => {
  const metric = new M.Metric("diag", density.dimension)
  metric.set(inverse)
  const h = new M.Hamiltonian(density, metric, CoreRng.make(1))
  h.stepSize = stepSize
  h.setPosition(start)
  return h
}

/** One block of transitions: ns per leapfrog step, and the steps and a checksum of the draws added to `acc`. */
const block = (h: ReturnType<typeof make>, acc: { steps: number; sum: number }): number => {
  let steps = 0
  const t = cpuMs()
  for (let i = 0; i < BLOCK; i++) {
    h.nutsTransition()
    steps += h.stats.leapfrogSteps
    acc.sum += h.current.q[0]! + h.stats.acceptStat
  }
  const ns = ((cpuMs() - t) * 1e6) / steps
  acc.steps += steps
  return ns
}

/** The gradient alone over 16 points of a chain (`gradientBlock`: as the sampler calls it). */
const points: Array<Float64Array> = []
const target: A.Target = density

const ha = make(A), hb = make(B)
// (the points from a chain of their own, so that A and B start alike and their draws compare)
const hp = make(A)
for (let k = 0; k < 16; k++) {
  for (let j = 0; j < 10; j++) hp.nutsTransition()
  points.push(hp.current.q.slice())
}
const accA = { steps: 0, sum: 0 }, accB = { steps: 0, sum: 0 }
// each round's A and B blocks, then its gradient block: the overheads pair a round's figures
const stepsA: Array<number> = [], stepsB: Array<number> = [], gradient: Array<number> = []
let round = 0
const paired = alternate(
  ROUNDS,
  WARM,
  () => {
    const ns = block(ha, accA)
    stepsA.push(ns)
    return ns
  },
  () => {
    const ns = block(hb, accB)
    stepsB.push(ns)
    if (++round > WARM) gradient.push(gradientBlock(target, points, 8 * BLOCK))
    return ns
  }
)
const overhead = (steps: ReadonlyArray<number>): string => {
  const r = gradient.map((g, i) => (steps[WARM + i]! - g) / g).sort((p, q) => p - q)
  const at = (p: number) => r[Math.floor(p * (r.length - 1))]!.toFixed(2)
  return `${at(0.5)} (quartiles ${at(0.25)} – ${at(0.75)})`
}
const gradientSorted = [...gradient].sort((p, q) => p - q)
console.log(
  `A ${paired.meanA.toFixed(1)} ns/step, B ${paired.meanB.toFixed(1)} ns/step (CPU time, ${(accA.steps / ((WARM + ROUNDS) * BLOCK)).toFixed(2)} steps a transition); ` +
    `${summary(paired, BLOCK)}; same draws: ${accA.steps === accB.steps && accA.sum === accB.sum}`
)
console.log(
  `gradient alone ${gradientSorted[gradientSorted.length >> 1]!.toFixed(1)} ns (median of ${gradient.length} blocks); ` +
    `the sampler's own overhead per step, in gradients: A ${overhead(stepsA)}, B ${overhead(stepsB)}`
)
