/**
 * Example models named for worker threads (`Workers.named`): a worker imports this module by its
 * URL and takes the export, so these models can run with `workers` set.
 *
 * @since 0.2.0
 */
import { Ad, addr, HalfCauchy, Normal, observe, sample, type Model } from "@fugue/core"
import { Workers } from "@fugue/inference"

const ys = [28, 8, -3, 7, -1, 1, 18, 12]
const sigmas = [15, 10, 16, 11, 9, 11, 10, 18]

/**
 * Eight schools, non-centred, named for workers.
 *
 * @example
 * yield* Nuts.run(eightSchools, { samples: 1000, chains: 4, workers: 2, seed: 1 })
 *
 * @category models
 * @since 0.2.0
 */
export const eightSchools: Model.Model<Ad.Real> = Workers.named(import.meta.url, "eightSchools", function*() {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  for (let j = 0; j < 8; j++) {
    const eta = yield* sample(addr("eta", j), Normal(0, 1))
    yield* observe(addr("y", j), Normal(Ad.add(mu, Ad.mul(tau, eta)), sigmas[j]!), ys[j]!)
  }
  return mu
})
