/**
 * The models the workers suite runs on worker threads. A worker imports the module that names its
 * model, so this one imports only what the model needs (`@fugue/core`): every import here is
 * loaded again in each worker before its first chain.
 *
 * @since 0.2.0
 */
import { Ad, Normal, sample } from "@fugue/core"
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

/** This module's URL, for `Workers.named`. */
export const url: string = import.meta.url
