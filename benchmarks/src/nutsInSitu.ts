/**
 * What one gradient evaluation costs inside the NUTS transition, against the same gradient timed
 * alone in a loop (`nutsAB.ts`'s "gradient alone"), and so the sampler's own work per leapfrog
 * step in either unit. Eight schools non-centred, the step size and metric of a warm-up: the same
 * chain is run on a target that evaluates the gradient once per leaf and on one that evaluates it
 * k times (the same point, so the same result and the same draws: checked), in alternating blocks
 * timed by this thread's CPU time. The difference per step ÷ (k − 1) is the marginal cost of an
 * evaluation as it runs in the transition; the sampler's own work is the single-evaluation step
 * less that. Both targets are the same thin wrapper, so its call is counted as the sampler's.
 *
 * Measured (2026-12-02, five runs of 40 blocks, k = 2): 80–88 ns an evaluation in the transition
 * against 62–68 alone in `nutsAB.ts`'s loop; the sampler's own work 76–91 ns a step, 0.91–1.13
 * in-transition evaluations (the wrapper's call, some 7 ns, counted as the sampler's), 1.2–1.4
 * of the loop's. With k = 3 an extra evaluation costs 69 ns: the repeats run nearer the loop's
 * speed, so it is the first evaluation after the sampler's code that is slow.
 *
 *     node src/nutsInSitu.ts [rounds = 40] [k = 2]
 *
 * @since 0.2.0
 */
import * as LogDensity from "@fugue/inference/LogDensity"
import * as Nuts from "@fugue/inference/Nuts"
import * as H from "../../packages/inference/src/internal/hamiltonian.ts"
import { alternate, cpuMs } from "./ab.ts"
import { eightSchoolsNonCentred } from "./gradientModels.ts"
import { eightSchoolsData } from "./models.ts"
import { chainAt } from "./nutsOverhead.ts"

const ROUNDS = Number(process.argv[2] ?? 40)
const K = Number(process.argv[3] ?? 2)
const BLOCK = 2000
if (!(Number.isInteger(K) && K >= 2)) throw new Error("usage: node src/nutsInSitu.ts [rounds] [k ≥ 2]")

const model = eightSchoolsNonCentred(eightSchoolsData())
const density = LogDensity.make(model)
const warm = Nuts.runUnsafe(model, { samples: 1000, warmup: 1000, chains: 1, seed: 7 })
const stepSize = warm.stats.stepSizeFinal[0]!, inverse = warm.stats.inverseMetric[0]!

/** The density as a target that evaluates the gradient `times` times per call. */
// (the compiled density's own entry point, which the sampler calls: not on the public type)
const inner = density as unknown as Required<H.Target>
if (typeof inner.gradientInto !== "function") throw new Error("the compiled density offers gradientInto")
const repeated = (times: number): H.Target => ({
  dimension: density.dimension,
  logDensityGradient: (q, g) => {
    for (let k = 1; k < times; k++) density.logDensityGradient(q, g)
    return density.logDensityGradient(q, g)
  },
  gradientInto: (q, g, value) => {
    for (let k = 0; k < times; k++) inner.gradientInto(q, g, value)
  }
})


const sums = [0, 0]
/** One block of transitions: ns per leapfrog step; a checksum of the draws into sums[side]. */
const block = (h: H.Hamiltonian, side: number): number => {
  let steps = 0
  const t = cpuMs()
  for (let i = 0; i < BLOCK; i++) {
    h.nutsTransition()
    steps += h.stats.leapfrogSteps
    sums[side]! += h.current.q[0]!
  }
  return ((cpuMs() - t) * 1e6) / steps
}

const once = chainAt(repeated(1), stepSize, inverse), many = chainAt(repeated(K), stepSize, inverse)
const paired = alternate(ROUNDS, 5, () => block(once, 0), () => block(many, 1))
const gradient = (paired.meanB - paired.meanA) / (K - 1)
const own = paired.meanA - gradient
console.log(
  `one evaluation a leaf ${paired.meanA.toFixed(1)} ns/step, ${K} ${paired.meanB.toFixed(1)} ns/step: an evaluation in the transition ` +
    `${gradient.toFixed(1)} ns; the sampler's own work ${own.toFixed(1)} ns a step = ${(own / gradient).toFixed(2)} of those; same draws: ${sums[0] === sums[1]}`
)
