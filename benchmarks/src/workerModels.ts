/**
 * The models the workers suite runs on worker threads. A worker imports the module that names its
 * model, so this one imports only what the model needs (`@fugue/core`): every import here is
 * loaded again in each worker before its first chain.
 *
 * @since 0.2.0
 */
import { Ad, addr, Normal, observe, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"

/**
 * An AR(1) Gaussian of dimension d, correlation 0.9 between neighbours.
 *
 * @example
 * Nuts.runUnsafe(ar1(100), { samples: 1000 })
 *
 * @category models
 * @since 0.2.0
 */
export const ar1 = (d: number): Model<Ad.Real> =>
  function*() {
    let x: Ad.Real = yield* sample("x#0", Normal(0, 1))
    for (let i = 1; i < d; i++) x = yield* sample(`x#${i}`, Normal(Ad.mul(0.9, x), Math.sqrt(1 - 0.81)))
    return x
  }

/**
 * A state-space model whose step is expensive: a damped pendulum kicked at random each step and
 * integrated over `substeps` Euler substeps (the deterministic simulation a particle filter of a
 * physical system pays per particle per step), observed with noise after each step.
 *
 * @example
 * Smc.runUnsafe(pendulum(ys, 100), { particles: 500 })
 *
 * @category models
 * @since 0.2.0
 */
export const pendulum = (ys: ReadonlyArray<number>, substeps: number): Model<number> =>
  function*() {
    let x = yield* sample("x0", Normal(1, 0.5))
    let v = 0
    const dt = 0.5 / substeps
    for (let t = 0; t < ys.length; t++) {
      v += yield* sample(addr("kick", t), Normal(0, 0.2))
      for (let k = 0; k < substeps; k++) {
        const a = -Math.sin(x) - 0.2 * v
        x += dt * v
        v += dt * a
      }
      yield* observe(addr("y", t), Normal(x, 0.3), ys[t]!)
    }
    return x
  }

/** Observations for `pendulum`: a swing decaying from 1 rad. */
export const pendulumData = (steps: number): Array<number> => Array.from({ length: steps }, (_, t) => Math.exp(-0.05 * t) * Math.cos(0.5 * t))

/** This module's URL, for `Workers.named`. */
export const url: string = import.meta.url
