/**
 * The NUTS sampler's own work per leapfrog step, measured on its transitions alone: a chain of
 * `Hamiltonian.nutsTransition` at a given step size and metric (the warm-up's), in blocks timed
 * by this thread's CPU time, each followed by a block of the same gradient alone (the density's
 * `gradientInto`, as the sampler calls it, cycling through 16 of the chain's points); the
 * overhead of a round is (step − gradient) ÷ gradient. Unlike the NUTS suite's whole-run figure
 * (wall time per gradient of `Nuts.runUnsafe`), nothing per run is counted: not building the
 * density, not the warm-up's adaptation, not recording the draws. The gradient is also timed
 * in a dependent chain (`gradientChain`), as a leapfrog evaluates it, for comparison: the
 * overhead is counted in the independent calls' time, the stricter unit. `nutsAB.ts` times its
 * gradient blocks with `gradientBlock`. `integratorOverhead` measures the same figure for the
 * hand-written leapfrog integrator alone (`nutsHand.ts`'s), the limit the NUTS suite sets it beside.
 *
 * @since 0.2.0
 */
import * as CoreRng from "@fugue/core/Rng"
import type * as LogDensity from "@fugue/inference/LogDensity"
import * as H from "../../packages/inference/src/internal/hamiltonian.ts"
import { cpuMs } from "./ab.ts"
import type { DensityGradient } from "./gradientModels.ts"
import { leapfrogOnly } from "./nutsHand.ts"

/**
 * ns per call of the density's gradient in a loop of `n` calls over `points` (16 of them),
 * through `gradientInto` where the density has it (the sampler's form), else `logDensityGradient`.
 *
 * @example
 * const ns = gradientBlock(density, points, 16_000)
 *
 * @category measurements
 * @since 0.2.0
 */
export const gradientBlock = (target: H.Target, points: ReadonlyArray<Float64Array>, n: number): number => {
  const g = new Float64Array(target.dimension), value = new Float64Array(1)
  const t = cpuMs()
  if (target.gradientInto !== undefined) for (let i = 0; i < n; i++) target.gradientInto(points[i & 15]!, g, value)
  else for (let i = 0; i < n; i++) value[0] = target.logDensityGradient(points[i & 15]!, g)
  return ((cpuMs() - t) * 1e6) / n
}

/** The target's gradient as one function: `gradientInto` where it has one (the sampler's form), else `logDensityGradient`. */
const gradientOf = (target: H.Target): DensityGradient => {
  if (target.gradientInto === undefined) return (q, g) => target.logDensityGradient(q, g)
  const value = new Float64Array(1)
  return (q, g) => {
    target.gradientInto!(q, g, value)
    return value[0]!
  }
}

/**
 * ns per call of the gradient in a dependent chain of `n` calls: each call's point depends on
 * the last call's gradient (through one coordinate, q₀ += 0·g_last, so the rest of the next
 * evaluation may still overlap it), restarted from `points` every 16 calls. A leapfrog's
 * evaluations are such a chain (each position comes from the last gradient), so they cannot
 * overlap one another as `gradientBlock`'s independent calls do.
 *
 * @example
 * const ns = gradientChain(density, points, 16_000)
 *
 * @category measurements
 * @since 0.2.0
 */
export const gradientChain = (target: H.Target, points: ReadonlyArray<Float64Array>, n: number): number => {
  const d = target.dimension, g = new Float64Array(d), q = new Float64Array(d)
  const gradient = gradientOf(target)
  const t = cpuMs()
  for (let i = 0; i < n; i++) {
    if ((i & 15) === 0) q.set(points[(i >> 4) & 15]!)
    gradient(q, g)
    q[0] = q[0]! + 0 * g[d - 1]!
  }
  return ((cpuMs() - t) * 1e6) / n
}

/** What `transitionOverhead` measured: medians over the rounds, and the overhead's quartiles. */
export interface Overhead {
  readonly stepNs: number
  /** The gradient alone, independent calls (`gradientBlock`): what the overhead is counted in. */
  readonly gradientNs: number
  /** The gradient alone in a dependent chain (`gradientChain`). */
  readonly chainNs: number
  readonly overhead: number
  readonly quartiles: readonly [number, number]
}

const at = (sorted: ReadonlyArray<number>, p: number): number => sorted[Math.floor(p * (sorted.length - 1))]!
const median = (xs: Array<number>): number => at(xs.sort((a, b) => a - b), 0.5)
/** The median overhead of the rounds and its quartiles. */
const spread = (overheads: Array<number>): Pick<Overhead, "overhead" | "quartiles"> => {
  const o = overheads.sort((a, b) => a - b)
  return { overhead: at(o, 0.5), quartiles: [at(o, 0.25), at(o, 0.75)] }
}

/**
 * A NUTS chain on `target` at `stepSize` and the diagonal inverse metric `inverse`, from 0.1 in
 * every coordinate, on stream 1: what the transitions-alone measurements run.
 *
 * @example
 * const h = chainAt(density, 0.45, inverse)
 *
 * @category constructors
 * @since 0.2.0
 */
export const chainAt = (target: H.Target, stepSize: number, inverse: Float64Array): H.Hamiltonian => {
  const metric = new H.Metric("diag", target.dimension)
  metric.set(inverse)
  const h = new H.Hamiltonian(target, metric, CoreRng.make(1))
  h.stepSize = stepSize
  h.setPosition(new Float64Array(target.dimension).fill(0.1))
  return h
}

/**
 * The sampler's own work per leapfrog step on `density` at `stepSize` and the diagonal inverse
 * metric `inverse`: `rounds` rounds (after 5 untimed ones) of `block` transitions and 8·`block`
 * gradients alone.
 *
 * @example
 * const { overhead } = transitionOverhead(density, 0.45, inverse)
 *
 * @category measurements
 * @since 0.2.0
 */
export const transitionOverhead = (
  density: LogDensity.LogDensity,
  stepSize: number,
  inverse: Float64Array,
  rounds = 30,
  block = 2000
): Overhead => {
  const target = density as unknown as H.Target
  const h = chainAt(target, stepSize, inverse)
  const points: Array<Float64Array> = []
  for (let k = 0; k < 16; k++) {
    for (let j = 0; j < 10; j++) h.nutsTransition()
    points.push(h.current.q.slice())
  }
  const steps: Array<number> = [], gradients: Array<number> = [], chains: Array<number> = [], overheads: Array<number> = []
  for (let r = 0; r < 5 + rounds; r++) {
    let n = 0
    const t = cpuMs()
    for (let i = 0; i < block; i++) {
      h.nutsTransition()
      n += h.stats.leapfrogSteps
    }
    const step = ((cpuMs() - t) * 1e6) / n
    const gradient = gradientBlock(target, points, 8 * block)
    const chain = gradientChain(target, points, 8 * block)
    if (r < 5) continue
    steps.push(step)
    gradients.push(gradient)
    chains.push(chain)
    overheads.push((step - gradient) / gradient)
  }
  return { stepNs: median(steps), gradientNs: median(gradients), chainNs: median(chains), ...spread(overheads) }
}

/** What `integratorOverhead` measured: `transitionOverhead`'s figures but the chained gradient's. */
export type IntegratorOverhead = Omit<Overhead, "chainNs">

/**
 * The limit's leapfrog integrator alone, what a Hamiltonian sampler's steps cost before any of
 * its other work: `rounds` rounds (after 5 untimed ones) of `block` trajectories of `steps` steps
 * of the hand-written integrator (`leapfrogOnly`: no momentum draws, no acceptance, no tree), from
 * `initial` at `stepSize` and the diagonal inverse metric `inverse`, each followed by 8·`block`
 * calls of the same gradient alone over `points`, both by this thread's CPU time; the overhead
 * of a round is (step − gradient) ÷ gradient, as `transitionOverhead`'s. Both blocks call the
 * gradient through the same function (`gradientOf`: the sampler's form where there is one).
 *
 * @example
 * const { overhead } = integratorOverhead(density, 0.45, inverse, initial, points, 8)
 *
 * @category measurements
 * @since 0.2.0
 */
export const integratorOverhead = (
  target: H.Target,
  stepSize: number,
  inverse: Float64Array,
  initial: Float64Array,
  points: ReadonlyArray<Float64Array>,
  steps: number,
  rounds = 30,
  block = 2000
): IntegratorOverhead => {
  const f = gradientOf(target)
  const g = new Float64Array(target.dimension)
  const options = { dimension: target.dimension, stepSize, iterations: block, initial, seed: 1, inverseMetric: inverse }
  const stepsNs: Array<number> = [], gradients: Array<number> = [], overheads: Array<number> = []
  let sink = 0
  for (let r = 0; r < 5 + rounds; r++) {
    let t = cpuMs()
    const run = leapfrogOnly(f, options, steps)
    const step = ((cpuMs() - t) * 1e6) / run.gradientEvaluations
    sink += run.energyError
    const n = 8 * block
    t = cpuMs()
    for (let i = 0; i < n; i++) sink += f(points[i & 15]!, g)
    const gradient = ((cpuMs() - t) * 1e6) / n
    if (r < 5) continue
    stepsNs.push(step)
    gradients.push(gradient)
    overheads.push((step - gradient) / gradient)
  }
  if (sink !== sink) throw new Error("integratorOverhead: the integrator's energy error is not a number")
  return { stepNs: median(stepsNs), gradientNs: median(gradients), ...spread(overheads) }
}
