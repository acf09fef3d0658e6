/**
 * The example models used by the demo, the docs, the tests and the benchmarks.
 *
 * @since 0.1.0
 */
import { addr, Gamma, Normal, observe, sample, type Model } from "@fugue/core"

/**
 * The seed's data: x = 1..5, y roughly 2x.
 *
 * @category models
 * @since 0.1.0
 */
export const seedData = { xs: [1, 2, 3, 4, 5], ys: [2.1, 4.2, 5.8, 8.1, 10.3] } as const

/**
 * Bayesian linear regression: slope ~ N(0, 2), intercept ~ N(0, 1), noise ~ Gamma(2, 1),
 * y_i ~ N(slope·x_i + intercept, √noise).
 *
 * @example
 * const [fit, trace] = run(new PriorHandler(Rng.make(42)), linearRegression(seedData.xs, seedData.ys))
 *
 * @category models
 * @since 0.1.0
 */
export const linearRegression = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<{ slope: number; intercept: number; noise: number }> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Math.sqrt(noise)
    for (let i = 0; i < xs.length; i++) {
      yield* observe(addr("y", i), Normal(slope * xs[i] + intercept, sd), ys[i])
    }
    return { slope, intercept, noise }
  }
