/**
 * Improper flat priors: `Flat()`, the uniform "density" 1 on the whole real line, and
 * `FlatPositive()`, 1 on (0, ∞). Neither integrates to a finite number, so neither is a
 * probability distribution: they express "no prior information" in a model whose posterior is
 * proper anyway (a location with at least one observation, a regression with full-rank data).
 * Algorithms that only need the unnormalised posterior density (MH, and `LogDensity` in
 * `@fugue/inference` for gradients and optimisation) accept them; anything that must draw from
 * the prior (prior sampling, importance sampling, SMC) cannot, and fails with
 * `ImproperPriorError` at the site. A posterior is not guaranteed to be proper under a flat
 * prior: that is the modeller's responsibility.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"
import type { Kernel } from "../Ad.ts"
import { isNumber, type Distribution, type Support } from "../Distribution.ts"
import type { Rng } from "../Rng.ts"

/**
 * A draw was asked of an improper prior (`Flat`, `FlatPositive`): it has no normalised density,
 * so there is nothing to sample. Raised by `sample`, so prior sampling, importance sampling and
 * SMC fail with it at the site (the runtime adds the address: `Execution.whereOf(error)`).
 *
 * @example
 * Flat().sample(Rng.make(1)) // throws ImproperPriorError { family: "Flat" }
 *
 * @category errors
 * @since 0.2.0
 */
export class ImproperPriorError extends Data.TaggedError("ImproperPriorError")<{ readonly family: string }> {
  override get message(): string {
    return `${this.family} is an improper prior (its density does not integrate to 1), so it cannot be sampled: ` +
      `prior sampling, importance sampling and SMC need a proper prior. Use MH, which starts the site at its ` +
      `initial value (or at the value in an \`initial\` trace), or give the site a proper prior such as Normal(0, 10)`
  }
}

const REAL: Support = { _tag: "Real" }
const POSITIVE: Support = { _tag: "Positive" }

/**
 * Flat(): the improper uniform prior on ℝ, log density 0 at every finite number.
 *
 * **Details** `logProb(x)` = 0 for finite x, −∞ for ±∞, NaN and non-numbers; `sample` throws
 * `ImproperPriorError`; `mean` and `variance` are undefined; `initialValue()` is 0, where MH
 * starts the site. Under MH the site is walked on ℝ like any real site, and since the prior
 * contributes 0 to the log weight the chain targets the normalised likelihood.
 *
 * @example
 * const d = new FlatDistribution()
 * d.logProb(1e300) // 0
 *
 * @category constructors
 * @since 0.2.0
 */
export class FlatDistribution implements Distribution<number> {
  get family(): "Flat" {
    return "Flat"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return REAL
  }
  sample(_rng: Rng): number {
    throw new ImproperPriorError({ family: "Flat" })
  }
  logProb(x: number): number {
    return typeof x === "number" && x - x === 0 ? 0 : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  /** Where MH starts a Flat site when no `initial` trace gives it a value. */
  initialValue(): number {
    return 0
  }
  get logProbKernel(): Kernel {
    return flatKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return []
  }
  mean(): undefined {
    return undefined
  }
  variance(): undefined {
    return undefined
  }
}

/**
 * FlatPositive(): the improper uniform prior on (0, ∞), log density 0 at every finite x > 0.
 *
 * **Details** `logProb(x)` = 0 for 0 < x < ∞, −∞ elsewhere; `sample` throws
 * `ImproperPriorError`; `mean` and `variance` are undefined; `initialValue()` is 1, where MH
 * starts the site. Under MH the site is walked on the log scale (u = log x, with its Jacobian),
 * so the chain targets the likelihood in x, flat in x — not in log x.
 *
 * @example
 * const d = new FlatPositiveDistribution()
 * d.logProb(-1) // −∞
 *
 * @category constructors
 * @since 0.2.0
 */
export class FlatPositiveDistribution implements Distribution<number> {
  get family(): "FlatPositive" {
    return "FlatPositive"
  }
  get kind(): "real" {
    return "real"
  }
  get support(): Support {
    return POSITIVE
  }
  sample(_rng: Rng): number {
    throw new ImproperPriorError({ family: "FlatPositive" })
  }
  logProb(x: number): number {
    return typeof x === "number" && x > 0 && x < Infinity ? 0 : -Infinity
  }
  isValue(x: unknown): x is number {
    return isNumber(x)
  }
  /** Where MH starts a FlatPositive site when no `initial` trace gives it a value. */
  initialValue(): number {
    return 1
  }
  get logProbKernel(): Kernel {
    return flatPositiveKernel
  }
  kernelParameters(): ReadonlyArray<number> {
    return []
  }
  mean(): undefined {
    return undefined
  }
  variance(): undefined {
    return undefined
  }
}

/**
 * The Flat log density with its partial: 0 and ∂x = 0 at every finite x, −∞ elsewhere (no
 * parameters).
 *
 * @example
 * flatKernel(out, 3, 0, 0, 0) // 0, out[0] = 0
 *
 * @category numerics
 * @since 0.2.0
 */
export const flatKernel: Kernel = (out, x) => {
  if (x - x !== 0) return -Infinity
  out[0] = 0
  return 0
}

/**
 * The FlatPositive log density with its partial: 0 and ∂x = 0 at every finite x > 0, −∞
 * elsewhere (no parameters).
 *
 * @example
 * flatPositiveKernel(out, 3, 0, 0, 0) // 0, out[0] = 0
 *
 * @category numerics
 * @since 0.2.0
 */
export const flatPositiveKernel: Kernel = (out, x) => {
  if (!(x > 0 && x < Infinity)) return -Infinity
  out[0] = 0
  return 0
}

/** One instance each: the families have no parameters. */
const FLAT = new FlatDistribution()
const FLAT_POSITIVE = new FlatPositiveDistribution()

/**
 * The improper flat prior on ℝ (log density 0 everywhere). Only MH and `LogDensity`
 * (gradients, optimisation) accept it; prior sampling, IS and SMC fail with `ImproperPriorError`.
 *
 * @example
 * const mu = yield* sample("mu", Flat())
 * for (const y of ys) yield* observe(addr("y", i), Normal(mu, 1), y) // posterior N(ȳ, 1/n)
 *
 * @category constructors
 * @since 0.2.0
 */
export const Flat = (): FlatDistribution => FLAT

/**
 * The improper flat prior on (0, ∞) (log density 0 for every x > 0). Only MH and `LogDensity`
 * (gradients, optimisation) accept it; prior sampling, IS and SMC fail with `ImproperPriorError`.
 *
 * @example
 * const sigma = yield* sample("sigma", FlatPositive())
 *
 * @category constructors
 * @since 0.2.0
 */
export const FlatPositive = (): FlatPositiveDistribution => FLAT_POSITIVE
