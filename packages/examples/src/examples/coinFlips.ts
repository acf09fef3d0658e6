/**
 * A coin of unknown bias p ~ Beta(2, 2), flipped 20 times (14 heads): the Beta-Bernoulli model,
 * whose posterior is exactly Beta(2 + heads, 2 + tails). NUTS (on the logit of p) and
 * single-site MH both sample it; `main` prints their summaries beside the exact posterior mean
 * and sd. Run it with `pnpm example coinFlips`.
 *
 * @since 0.2.0
 */
import { addr, Bernoulli, Beta, observe, sample, type Model } from "@fugue/core"
import { Diagnostics, Mh, Nuts, Posterior } from "@fugue/inference"

/**
 * The flips: 1 is heads (14 of 20).
 *
 * @category models
 * @since 0.2.0
 */
export const flips: ReadonlyArray<0 | 1> = [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1]

/** The prior's parameters, Beta(a, b). */
const a = 2, b = 2

/**
 * The model: p ~ Beta(2, 2), flip_i ~ Bernoulli(p).
 *
 * @category models
 * @since 0.2.0
 */
export const coin = (data: ReadonlyArray<0 | 1>): Model.Model<number> =>
  function*() {
    const p = yield* sample("p", Beta(a, b))
    for (let i = 0; i < data.length; i++) yield* observe(addr("flip", i), Bernoulli(p), data[i] === 1)
    return p as number
  }

/**
 * The exact posterior Beta(a + heads, b + tails): its parameters, mean and sd.
 *
 * @category constructors
 * @since 0.2.0
 */
export const exact = (data: ReadonlyArray<0 | 1>): { readonly alpha: number; readonly beta: number; readonly mean: number; readonly sd: number } => {
  const heads = data.reduce<number>((s, x) => s + x, 0)
  const alpha = a + heads, beta = b + data.length - heads
  const n = alpha + beta
  return { alpha, beta, mean: alpha / n, sd: Math.sqrt((alpha * beta) / (n * n * (n + 1))) }
}

/**
 * One sampler's estimate of E[p | flips]: the mean, its MCSE and the posterior sd.
 *
 * @category models
 * @since 0.2.0
 */
export interface Estimate {
  readonly mean: number
  readonly mcse: number
  readonly sd: number
}

const estimate = (post: Posterior.Posterior<unknown>): Estimate => ({
  mean: Posterior.mean(post, "p"),
  mcse: Diagnostics.mcse(Posterior.chainsOf(post, "p"))!,
  sd: Posterior.sd(post, "p")
})

/**
 * Samples the posterior with NUTS (4 × 1000 draws) and MH (4 × 2000 draws) from `seed`.
 *
 * @example
 * const { nuts, mh } = fit(1) // nuts.mean ≈ 0.667
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number) => {
  const model = coin(flips)
  const nuts = Nuts.runUnsafe(model, { samples: 1000, warmup: 500, chains: 4, seed })
  const mh = Mh.runUnsafe(model, { samples: 2000, warmup: 500, chains: 4, seed })
  return { nuts, mh, nutsEstimate: estimate(nuts), mhEstimate: estimate(mh) }
}

/**
 * Prints both samplers' summaries beside the exact Beta posterior.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const truth = exact(flips)
  const { nuts, mh, nutsEstimate, mhEstimate } = fit(1)
  console.log(`Beta-Bernoulli coin: p ~ Beta(${a}, ${b}), ${flips.length} flips, ${flips.filter((x) => x === 1).length} heads`)
  console.log(`exact posterior Beta(${truth.alpha}, ${truth.beta}): mean ${truth.mean.toFixed(4)}, sd ${truth.sd.toFixed(4)}\n`)
  console.log("NUTS, 4 chains × 1000 draws:")
  console.log(Diagnostics.report(nuts))
  console.log("\nMH, 4 chains × 2000 draws:")
  console.log(Diagnostics.report(mh))
  console.log("")
  for (const [name, e] of [["NUTS", nutsEstimate], ["MH", mhEstimate]] as const) {
    console.log(`${name.padEnd(5)} E[p] = ${e.mean.toFixed(4)} ± ${e.mcse.toFixed(4)} (MCSE), sd ${e.sd.toFixed(4)}; exact ${truth.mean.toFixed(4)}, |error| / MCSE = ${(Math.abs(e.mean - truth.mean) / e.mcse).toFixed(2)}`)
  }
}
