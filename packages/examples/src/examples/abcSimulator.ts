/**
 * Approximate Bayesian computation on a simulator written as an ordinary generator: a rate
 * λ ~ Gamma(2, 1) and ten Poisson(λ) counts, returned as the simulated data. The likelihood is
 * never used: a simulation is kept when its summary, the total count (sufficient for λ), is
 * within the tolerance of the observed total. At tolerance 0 on a sufficient statistic the ABC
 * posterior is the exact posterior, here Gamma(2 + Σy, 1 + n); rejection ABC and ABC-SMC both
 * reach it, and `main` prints their estimates beside it. Run it with `pnpm example abcSimulator`.
 *
 * @since 0.2.0
 */
import { addr, Gamma, Poisson, sample, type Model } from "@fugue/core"
import { Abc, Posterior } from "@fugue/inference"

/**
 * The observed counts (total 34 over 10 periods).
 *
 * @category models
 * @since 0.2.0
 */
export const observed: ReadonlyArray<number> = [3, 5, 2, 4, 6, 1, 3, 4, 2, 4]

/** The rate's Gamma(shape, rate) prior. */
const SHAPE = 2, RATE = 1

/**
 * The simulator: draws the rate, then `n` counts, and returns the counts.
 *
 * @category models
 * @since 0.2.0
 */
export const simulator = (n = observed.length): Model.Model<Array<number>> =>
  function*() {
    const rate = yield* sample("rate", Gamma(SHAPE, RATE))
    const counts: Array<number> = []
    for (let i = 0; i < n; i++) counts.push(yield* sample(addr("y", i), Poisson(rate)))
    return counts
  }

/** The summary statistic: the total count. */
const total = (counts: ReadonlyArray<number>): number => counts.reduce((a, b) => a + b, 0)

/**
 * The exact posterior Gamma(2 + Σy, 1 + n): its mean and sd.
 *
 * @category constructors
 * @since 0.2.0
 */
export const exact = (ys: ReadonlyArray<number> = observed): { readonly shape: number; readonly rate: number; readonly mean: number; readonly sd: number } => {
  const shape = SHAPE + total(ys), rate = RATE + ys.length
  return { shape, rate, mean: shape / rate, sd: Math.sqrt(shape) / rate }
}

/**
 * Rejection ABC (`simulations` prior simulations, tolerance 0 on the total) and ABC-SMC (1 000
 * particles, tolerances decreasing to 0, only the rate perturbed) from `seed`.
 *
 * @example
 * const { rejection, smc } = fit(1) // Posterior.mean(rejection, "rate") ≈ 3.27
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number, simulations = 40_000) => {
  const rejection = Abc.rejectionUnsafe(simulator(), { observed: [...observed], summary: total, simulations, tolerance: 0, seed })
  const smc = Abc.smcUnsafe(simulator(), { observed: [...observed], summary: total, particles: 1000, tolerance: 0, parameters: ["rate"], seed })
  return { rejection, smc }
}

/**
 * Prints both ABC runs' estimates beside the exact posterior.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const truth = exact()
  console.log(`ABC on a Poisson simulator: rate ~ Gamma(${SHAPE}, ${RATE}), ${observed.length} counts, observed total ${total(observed)}; summary = the total (sufficient), tolerance 0`)
  console.log(`exact posterior Gamma(${truth.shape}, ${truth.rate}): mean ${truth.mean.toFixed(4)}, sd ${truth.sd.toFixed(4)}\n`)
  const { rejection, smc } = fit(1)
  const r = Abc.rejectionStats(rejection), s = Abc.smcStats(smc)
  console.log(`rejection ABC: ${r.accepted} of 40000 simulations accepted (rate ${r.acceptanceRate.toFixed(4)}); E[rate] = ${Posterior.mean(rejection, "rate").toFixed(4)}, sd ${Posterior.sd(rejection, "rate").toFixed(4)}; its standard error sd/√accepted = ${(truth.sd / Math.sqrt(r.accepted)).toFixed(4)}`)
  console.log(`ABC-SMC: tolerances ${s.tolerances.map((e) => e.toFixed(1)).join(" → ")}, ${s.simulations} simulations, final ESS ${s.ess[s.ess.length - 1]!.toFixed(0)} (stopped: ${s.stopped}); E[rate] = ${Posterior.mean(smc, "rate").toFixed(4)}, sd ${Posterior.sd(smc, "rate").toFixed(4)}`)
}
