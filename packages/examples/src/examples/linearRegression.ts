/**
 * Bayesian linear regression on the seed's five points (`seedData`): slope ~ N(0, 2),
 * intercept ~ N(0, 1), noise variance ~ Gamma(2, 1), y_i ~ N(slope·x_i + intercept, √noise),
 * sampled with NUTS (the model written with `Ad`, so its gradient is compiled) and compared with
 * the exact posterior moments (`linearRegressionExact`: conjugate in the coefficients given the
 * noise, a 1-D quadrature over the noise). Run it with `pnpm example linearRegression`.
 *
 * @since 0.2.0
 */
import { Diagnostics, Nuts, Posterior } from "@fugue/inference"
import { linearRegressionAd, linearRegressionExact, seedData, type Moments } from "../models.ts"

/**
 * The regression's sites.
 *
 * @category models
 * @since 0.2.0
 */
export const sites = ["slope", "intercept", "noise"] as const

/**
 * One site's NUTS estimate beside the exact moments.
 *
 * @category models
 * @since 0.2.0
 */
export interface Comparison {
  readonly site: (typeof sites)[number]
  readonly mean: number
  readonly sd: number
  readonly mcse: number
  readonly exact: Moments
}

/**
 * NUTS (4 chains × 1000 draws after 1000 warm-up, targetAcceptance 0.99: with five points the
 * noise can be near 0, where the coefficients narrow into a funnel) from `seed`, each site
 * beside its exact moments.
 *
 * @example
 * fit(1).comparisons[0].mean // ≈ 2.02, the slope
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number) => {
  const post = Nuts.runUnsafe(linearRegressionAd(seedData.xs, seedData.ys), { samples: 1000, warmup: 1000, chains: 4, seed, targetAcceptance: 0.99 })
  const exact = linearRegressionExact(seedData.xs, seedData.ys)
  const comparisons: Array<Comparison> = sites.map((site) => ({
    site,
    mean: Posterior.mean(post, site),
    sd: Posterior.sd(post, site),
    mcse: Diagnostics.mcse(Posterior.chainsOf(post, site))!,
    exact: exact[site]
  }))
  return { post, comparisons }
}

/**
 * Prints the NUTS summary and the comparison with the exact moments.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  console.log(`Bayesian linear regression on x = ${seedData.xs.join(", ")}, y = ${seedData.ys.join(", ")}`)
  console.log("slope ~ N(0, 2), intercept ~ N(0, 1), noise ~ Gamma(2, 1), y_i ~ N(slope·x_i + intercept, √noise)\n")
  const { post, comparisons } = fit(1)
  console.log("NUTS, 4 chains × (1000 warm-up + 1000 draws), targetAcceptance 0.99:")
  console.log(Diagnostics.report(post))
  console.log(`\n${"site".padEnd(10)} ${"NUTS mean".padStart(10)} ${"exact mean".padStart(10)} ${"NUTS sd".padStart(8)} ${"exact sd".padStart(8)}  |error| / MCSE`)
  for (const c of comparisons) {
    console.log(`${c.site.padEnd(10)} ${c.mean.toFixed(4).padStart(10)} ${c.exact.mean.toFixed(4).padStart(10)} ${c.sd.toFixed(4).padStart(8)} ${c.exact.sd.toFixed(4).padStart(8)}  ${(Math.abs(c.mean - c.exact.mean) / c.mcse).toFixed(2)}`)
  }
}
