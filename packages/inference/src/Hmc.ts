/**
 * Static Hamiltonian Monte Carlo: every transition takes a fixed number of leapfrog steps (or a
 * fixed integration time) on the model's unconstrained log density, and is accepted with the
 * Metropolis probability of its energy error. The same warm-up as `Nuts` (dual-averaged step
 * size, windowed metric), the same options, statistics and errors; a trajectory that diverges
 * (energy error above 1000, or not finite) is rejected and counted. NUTS chooses the trajectory
 * length itself and is the better default; `Hmc` is the classical algorithm (Duane et al. 1987;
 * Neal 2011, "MCMC using Hamiltonian dynamics"), for comparison and teaching, and where a fixed
 * cost per transition matters.
 *
 * @since 0.2.0
 */
import type { Model } from "@fugue/core/Model"
import type * as Effect from "effect/Effect"
import type { InferenceError } from "./internal/attempt.ts"
import { HMC } from "./internal/hmcKinds.ts"
import * as Driver from "./internal/hmcRun.ts"
import type { Posterior } from "./Posterior.ts"

export type { InitialValues, Stats } from "./internal/hmcRun.ts"


/**
 * Options for `run` / `runUnsafe`: those of `Nuts.Options` but `maxTreeDepth`, and the
 * trajectory length.
 *
 * **Details**: with `steps`, every transition takes that many leapfrog steps; otherwise it takes
 * ⌊integrationTime / ε⌋ steps (at least 1, at most 1024) for the current step size ε, as Stan's
 * static HMC does (default integration time 2π).
 *
 * @example
 * const options: Hmc.Options = { samples: 1000, chains: 4, steps: 16, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options extends Driver.CommonOptions {
  /** Leapfrog steps per transition (1–1024); excludes `integrationTime`. */
  readonly steps?: number | undefined
  /** Integration time per transition (default 2π); excludes `steps`. */
  readonly integrationTime?: number | undefined
}


/**
 * Samples the posterior of `model` with static HMC, synchronously. Errors as `Nuts.runUnsafe`.
 *
 * @example
 * const post = Hmc.runUnsafe(model, { samples: 1000, chains: 4, steps: 20, seed: 1 })
 * Hmc.stats(post).acceptStat[0] // per draw
 *
 * @category constructors
 * @since 0.2.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options): Posterior<A, Driver.Stats> => Driver.runUnsafe(HMC, model, options)

/**
 * Samples the posterior of `model` with static HMC, as an Effect (as `Nuts.run`).
 *
 * @example
 * const post = yield* Hmc.run(model, { samples: 1000, chains: 4, steps: 20, seed: 1 })
 *
 * @category constructors
 * @since 0.2.0
 */
export const run = <A>(model: Model<A>, options: Options): Effect.Effect<Posterior<A, Driver.Stats>, InferenceError> =>
  Driver.run(HMC, model, options)

/**
 * The sampler statistics of an HMC posterior, typed.
 *
 * @example
 * const { acceptStat, divergences } = Hmc.stats(post)
 *
 * @category getters
 * @since 0.2.0
 */
export const stats = (posterior: Posterior<unknown, Driver.Stats>): Driver.Stats => posterior.stats
