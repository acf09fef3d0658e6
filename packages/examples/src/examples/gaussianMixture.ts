/**
 * A two-component Gaussian mixture on posteriordb's `low_dim_gauss_mix` data (copied into
 * `data/low_dim_gauss_mix.json`; its first 200 of 1 000 points by default, since the cost of a
 * gradient is linear in the points: 4 chains of each form take about 3 s on 200 points, 15 s on
 * all of them) under its posteriordb model: ordered means
 * mu ~ N(0, 2), sds sigma_k ~ HalfNormal(2), weight theta ~ Beta(5, 5), y_i ~ theta·N(mu_0,
 * sigma_0) + (1 − theta)·N(mu_1, sigma_1). It is written twice: with a discrete assignment z_i ~
 * Bernoulli(theta) per point, which NUTS sums out of the density it moves on (and then draws from
 * its exact conditional), and with the assignment summed out by hand, one `Ad.logSumExp` factor
 * per point. The two must give the same posterior; `main` prints both summaries, the recovered
 * means beside the split-sample means of the data, and a few assignment probabilities. Run it
 * with `pnpm example gaussianMixture`.
 *
 * @since 0.2.0
 */
import { Ad, addr, Bernoulli, Beta, factor, FlatPositive, HalfNormal, Normal, observe, sample, type Model } from "@fugue/core"
import { Diagnostics, Nuts, Posterior } from "@fugue/inference"
import data from "../../data/low_dim_gauss_mix.json" with { type: "json" }

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)

/** log N(x; mu, sd) in `Ad` arithmetic. */
const logNormal = (x: Ad.Real, mu: Ad.Real, sd: Ad.Real): Ad.Real =>
  Ad.sub(Ad.neg(Ad.add(Ad.log(sd), HALF_LOG_2PI)), Ad.mul(0.5, Ad.square(Ad.div(Ad.sub(x, mu), sd))))

/**
 * The ordered means: mu_0 ~ N(0, 2) and mu_1 = mu_0 + gap with gap > 0 under a flat prior and a
 * factor log N(mu_1; 0, 2). The map (mu_0, gap) → (mu_0, mu_1) has Jacobian 1, so this is
 * exactly Stan's `ordered[2] mu ~ normal(0, 2)`: N(mu_0) N(mu_1) on mu_0 < mu_1.
 */
function* orderedMeans() {
  const mu0 = yield* sample("mu0", Normal(0, 2))
  const gap = yield* sample("gap", FlatPositive())
  const mu1 = Ad.add(mu0, gap)
  yield* factor(logNormal(mu1, 0, 2) as number)
  return [mu0, mu1] as const
}

/**
 * The mixture with a discrete assignment per point (z_i true: component 0), for `Nuts` to sum out.
 *
 * @category models
 * @since 0.2.0
 */
export const mixture = (ys: ReadonlyArray<number> = data.y): Model.Model<void> =>
  function*() {
    const [mu0, mu1] = yield* orderedMeans()
    const sigma0 = yield* sample("sigma0", HalfNormal(2))
    const sigma1 = yield* sample("sigma1", HalfNormal(2))
    const theta = yield* sample("theta", Beta(5, 5))
    for (let i = 0; i < ys.length; i++) {
      const z = yield* sample(addr("z", i), Bernoulli(theta))
      yield* observe(addr("y", i), z ? Normal(mu0, sigma0) : Normal(mu1, sigma1), ys[i]!)
    }
  }

/**
 * The same mixture with the assignment summed out by hand: one factor per point,
 * log(theta·N(y_i; mu_0, sigma_0) + (1 − theta)·N(y_i; mu_1, sigma_1)) by `Ad.logSumExp`.
 *
 * @category models
 * @since 0.2.0
 */
export const marginalised = (ys: ReadonlyArray<number> = data.y): Model.Model<void> =>
  function*() {
    const [mu0, mu1] = yield* orderedMeans()
    const sigma0 = yield* sample("sigma0", HalfNormal(2))
    const sigma1 = yield* sample("sigma1", HalfNormal(2))
    const theta = yield* sample("theta", Beta(5, 5))
    const logTheta = Ad.log(theta), log1mTheta = Ad.log1p(Ad.neg(theta))
    for (let i = 0; i < ys.length; i++) {
      yield* factor(Ad.logSumExp([Ad.add(logTheta, logNormal(ys[i]!, mu0, sigma0)), Ad.add(log1mTheta, logNormal(ys[i]!, mu1, sigma1))]) as number)
    }
  }

/**
 * The continuous parameters compared between the two forms.
 *
 * @category models
 * @since 0.2.0
 */
export const parameters = ["mu0", "gap", "sigma0", "sigma1", "theta"] as const

/**
 * The split-sample means: the mean of the points below 0 and of those above (the components
 * are about 5.6 sds apart, so the split misassigns a fraction of about Φ(−2.8) ≈ 0.003).
 *
 * @category constructors
 * @since 0.2.0
 */
export const splitMeans = (ys: ReadonlyArray<number> = data.y): readonly [number, number] => {
  const lo = ys.filter((y) => y < 0), hi = ys.filter((y) => y >= 0)
  return [lo.reduce((a, b) => a + b, 0) / lo.length, hi.reduce((a, b) => a + b, 0) / hi.length]
}

/**
 * Both forms with NUTS from `seed`, `chains` × (300 warm-up + `samples` draws), on the first
 * `n` points (default 200).
 *
 * @example
 * const { summed, marginal } = fit(1) // Posterior.mean(summed, "mu0") ≈ −2.75
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number, options: { readonly n?: number; readonly samples?: number; readonly chains?: number } = {}) => {
  const ys = data.y.slice(0, options.n ?? 200)
  // Started from the prior's usual uniform(−2, 2) box, a chain can settle in the mixture's
  // degenerate mode (one wide component covering both clusters, the other idle); starting the
  // means apart (mu_0 = −1, mu_1 = 1) avoids it. The sds and weight start as usual.
  const settings = { samples: options.samples ?? 300, warmup: 300, chains: options.chains ?? 4, seed, initial: { mu0: -1, gap: 2 } }
  return { ys, summed: Nuts.runUnsafe(mixture(ys), settings), marginal: Nuts.runUnsafe(marginalised(ys), settings) }
}

/**
 * Prints both forms' summaries, the recovered means and some assignment probabilities.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  console.log("Two-component Gaussian mixture (posteriordb low_dim_gauss_mix, its first 200 points):")
  console.log("ordered mu ~ N(0, 2), sigma_k ~ HalfNormal(2), theta ~ Beta(5, 5), y_i ~ theta·N(mu_0, sigma_0) + (1 − theta)·N(mu_1, sigma_1)\n")
  const { ys, summed, marginal } = fit(1)
  console.log("NUTS, assignments z_i summed out by the sampler (4 chains × 300 draws); z sites not shown:")
  console.log(Diagnostics.report({ ...summed, sites: parameters }))
  console.log("\nNUTS, assignments summed out by hand (logSumExp factors):")
  console.log(Diagnostics.report(marginal))
  const [m0, m1] = splitMeans(ys)
  const mu1 = (post: Posterior.Posterior<unknown>) => Posterior.mean(post, "mu0") + Posterior.mean(post, "gap")
  console.log(`\nrecovered means: mu_0 ${Posterior.mean(summed, "mu0").toFixed(3)} / ${Posterior.mean(marginal, "mu0").toFixed(3)}, mu_1 ${mu1(summed).toFixed(3)} / ${mu1(marginal).toFixed(3)} (summed out by NUTS / by hand); split-sample means ${m0.toFixed(3)}, ${m1.toFixed(3)}`)
  for (const i of [0, 1, 10]) console.log(`P(z_${i} = component 0 | y) = ${Posterior.mean(summed, addr("z", i)).toFixed(4)} (y_${i} = ${ys[i]!.toFixed(3)})`)
}
