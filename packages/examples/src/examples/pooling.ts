/**
 * Pooling for throughput, measured: an inner loop that runs a model many times from the prior
 * (importance sampling with the prior as proposal: the posterior mean of the slope and the log
 * evidence of the seed regression) run three ways: a fresh `PriorHandler` and `Trace` per
 * execution; a trace borrowed from a `TracePool` per execution (`PooledPrior.runUnsafe`); and one
 * reused handler pointed at a pooled trace. The pool is an Effect service (`TracePool.layer`,
 * built with `Effect.acquireRelease`: closed, and every borrowed trace reclaimed, when the scope
 * ends); the loop inside is plain synchronous code. The draws and the estimates are identical
 * bit for bit; the timings are printed as measured on this machine, whichever way they go (on
 * small models a pool is usually slower than V8's young-generation allocation: what it buys is
 * bounded, observable trace memory). Run it with `pnpm example pooling`.
 *
 * @since 0.2.0
 */
import { addr, Normal, observe, Rng, sample, type Model } from "@fugue/core"
import { Interpreter, PriorHandler, run } from "@fugue/runtime"
import type { ModelError } from "@fugue/runtime/Interpreter"
import { Effect } from "effect"
import { PooledPrior, TracePool } from "@fugue/memory"
import { linearRegression, seedData } from "../models.ts"

/**
 * How the loop gets its traces: `"fresh"` (new handler and trace per execution), `"pooled"` (a
 * pooled trace per execution, `PooledPrior.runUnsafe`), `"pooledHandler"` (one handler, its
 * `trace` pointed at a pooled trace before each execution).
 *
 * @category models
 * @since 0.2.0
 */
export type Variant = "fresh" | "pooled" | "pooledHandler"

/**
 * The variants, in the order they are printed.
 *
 * @category models
 * @since 0.2.0
 */
export const variants: ReadonlyArray<Variant> = ["fresh", "pooled", "pooledHandler"]

/**
 * What one loop produced: per execution the site `site`'s value and the importance log weight
 * (log likelihood plus factors: the prior is the proposal), the wall time, and the pool's
 * counters (pooled variants) read before its scope closed.
 *
 * @category models
 * @since 0.2.0
 */
export interface LoopResult {
  readonly variant: Variant
  readonly values: Float64Array
  readonly logWeights: Float64Array
  readonly seconds: number
  readonly pool: TracePool.PoolStats | undefined
}

/**
 * Options for `loop`: executions, the seed of the one stream they all draw from, the site whose
 * value is kept, and the pool's capacity (pooled variants).
 *
 * @category models
 * @since 0.2.0
 */
export interface LoopOptions {
  readonly executions: number
  readonly seed: number
  readonly site: string
  readonly capacity?: number | undefined
}

const timed = (executions: number, body: (i: number) => void): number => {
  const t0 = performance.now()
  for (let i = 0; i < executions; i++) body(i)
  return (performance.now() - t0) / 1000
}

/**
 * Runs `model` `executions` times from the prior on one stream seeded with `seed`, the traces
 * got as `variant` says; pooled variants borrow from the context's `TracePool` (provided here by
 * `TracePool.layer`, so the pool lives exactly as long as the loop).
 *
 * **Details**: execution i keeps x_i = the value at `site` and log w_i = logLikelihood +
 * logFactors, then returns its trace. Every variant draws the same numbers in the same order,
 * so the arrays agree bit for bit.
 *
 * @example
 * const r = await Effect.runPromise(loop("pooled", model, { executions: 10_000, seed: 1, site: "slope" }))
 *
 * @category combinators
 * @since 0.2.0
 */
export const loop = <A>(
  variant: Variant,
  model: Model.Model<A>,
  options: LoopOptions
): Effect.Effect<LoopResult, ModelError | TracePool.InvalidPoolOptionsError> => {
  const { executions, seed, site } = options
  const values = new Float64Array(executions)
  const logWeights = new Float64Array(executions)
  if (variant === "fresh") {
    return Interpreter.attempt(() => {
      const rng = Rng.make(seed)
      const seconds = timed(executions, (i) => {
        const [, trace] = run(new PriorHandler(rng), model)
        values[i] = trace.choices.get(site)!.value as number
        logWeights[i] = trace.logLikelihood + trace.logFactors
      })
      return { variant, values, logWeights, seconds, pool: undefined }
    })
  }
  return Effect.gen(function*() {
    const pool = yield* TracePool.TracePool
    return yield* Interpreter.attempt(() => {
      const rng = Rng.make(seed)
      let seconds: number
      if (variant === "pooled") {
        seconds = timed(executions, (i) => {
          const [, trace] = PooledPrior.runUnsafe(pool, rng, model)
          values[i] = trace.choices.get(site)!.value as number
          logWeights[i] = trace.logLikelihood + trace.logFactors
          pool.releaseUnsafe(trace)
        })
      } else {
        const handler = new PriorHandler(rng, pool.acquireUnsafe())
        pool.releaseUnsafe(handler.trace)
        seconds = timed(executions, (i) => {
          handler.trace = pool.acquireUnsafe()
          const [, trace] = run(handler, model)
          values[i] = trace.choices.get(site)!.value as number
          logWeights[i] = trace.logLikelihood + trace.logFactors
          pool.releaseUnsafe(trace)
        })
      }
      return { variant, values, logWeights, seconds, pool: pool.statsUnsafe() }
    })
  }).pipe(Effect.provide(TracePool.TracePool.layer({ capacity: options.capacity ?? 16 })))
}

/**
 * The self-normalised importance-sampling estimates from one loop: the posterior mean of the
 * kept site, the effective sample size, and the log evidence.
 *
 * **Details**: with log weights ℓ_i and m = max ℓ_i, w_i = exp(ℓ_i − m);
 * mean = Σ w_i x_i / Σ w_i, ESS = (Σ w_i)² / Σ w_i², log Z = m + log(Σ w_i / n).
 *
 * @example
 * const { mean, logEvidence } = estimates(result)
 *
 * @category getters
 * @since 0.2.0
 */
export const estimates = (result: LoopResult): { readonly mean: number; readonly ess: number; readonly logEvidence: number } => {
  const { values, logWeights } = result
  let m = -Infinity
  for (let i = 0; i < logWeights.length; i++) if (logWeights[i]! > m) m = logWeights[i]!
  let sw = 0, sw2 = 0, swx = 0
  for (let i = 0; i < logWeights.length; i++) {
    const w = Math.exp(logWeights[i]! - m)
    sw += w
    sw2 += w * w
    swx += w * values[i]!
  }
  return { mean: swx / sw, ess: (sw * sw) / sw2, logEvidence: m + Math.log(sw / logWeights.length) }
}

/**
 * Whether two loops drew exactly the same values and log weights (compared as bits).
 *
 * @example
 * sameDraws(fresh, pooled) // true
 *
 * @category getters
 * @since 0.2.0
 */
export const sameDraws = (a: LoopResult, b: LoopResult): boolean => {
  if (a.values.length !== b.values.length) return false
  for (let i = 0; i < a.values.length; i++) {
    if (!Object.is(a.values[i], b.values[i]) || !Object.is(a.logWeights[i], b.logWeights[i])) return false
  }
  return true
}

/**
 * A wider model for the second measurement: `groups` group means θ_g ~ N(μ, 1) under
 * μ ~ N(0, 1), and one observation of their average, ȳ ~ N(mean θ, 1/2) at ȳ = 1/2, so a trace
 * holds `groups + 1` choices while the importance weights stay usable.
 *
 * @example
 * const [, trace] = run(new PriorHandler(Rng.make(1)), groupMeans(100)) // 101 choices
 *
 * @category models
 * @since 0.2.0
 */
export const groupMeans = (groups: number): Model.Model<number> =>
  function*() {
    const mu = yield* sample("mu", Normal(0, 1))
    let sum = 0
    for (let g = 0; g < groups; g++) sum += yield* sample(addr("theta", g), Normal(mu, 1))
    yield* observe("ybar", Normal(sum / groups, 0.5), 0.5)
    return mu
  }

/**
 * Prints, for the seed regression and a 101-site model, each variant's throughput (the best of
 * three interleaved rounds after a warm-up), the pool's counters, and the estimates, which are
 * identical across variants.
 *
 * @category models
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const workloads: ReadonlyArray<{ name: string; model: Model.Model<unknown>; site: string; executions: number }> = [
    { name: "seed regression (3 latent sites, 5 observations)", model: linearRegression(seedData.xs, seedData.ys), site: "slope", executions: 200_000 },
    { name: "group means (101 latent sites, 1 observation)", model: groupMeans(100), site: "mu", executions: 10_000 }
  ]
  for (const { name, model, site, executions } of workloads) {
    const options = { executions, seed: 1, site }
    for (const variant of variants) await Effect.runPromise(loop(variant, model, { ...options, executions: executions / 10 })) // warm-up
    const best = new Map<Variant, LoopResult>()
    for (let round = 0; round < 3; round++) {
      for (const variant of variants) {
        const result = await Effect.runPromise(loop(variant, model, options))
        const previous = best.get(variant)
        if (previous === undefined || result.seconds < previous.seconds) best.set(variant, result)
      }
    }
    const fresh = best.get("fresh")!
    console.log(`\n${name}: ${executions.toLocaleString("en-US")} prior executions, importance sampling of ${site}`)
    console.log(`  ${"variant".padEnd(14)} ${"exec/s".padStart(10)} ${"vs fresh".padStart(9)}  ${"mean".padStart(8)} ${"ESS".padStart(8)} ${"log Z".padStart(9)}  identical  pool (hits / misses / high-water)`)
    for (const variant of variants) {
      const r = best.get(variant)!
      const e = estimates(r)
      const pool = r.pool === undefined ? "-" : `${r.pool.hits} / ${r.pool.misses} / ${r.pool.highWaterMark}`
      console.log(
        `  ${variant.padEnd(14)} ${Math.round(executions / r.seconds).toLocaleString("en-US").padStart(10)} ` +
          `${(fresh.seconds / r.seconds).toFixed(2).padStart(8)}×  ${e.mean.toFixed(4).padStart(8)} ${e.ess.toFixed(1).padStart(8)} ` +
          `${e.logEvidence.toFixed(3).padStart(9)}  ${(sameDraws(r, fresh) ? "yes" : "NO").padEnd(9)}  ${pool}`
      )
    }
  }
  // The pool as a scoped resource: once the layer's scope has closed it refuses to hand out traces.
  const escaped = await Effect.runPromise(
    Effect.gen(function*() {
      return yield* TracePool.TracePool
    }).pipe(Effect.provide(TracePool.TracePool.layer({ capacity: 4 })))
  )
  const closed = escaped.closed
  console.log(`\nAfter its layer's scope closes the pool is closed: ${closed}`)
  console.log("(exec/s: best of three rounds on this machine; > 1× in \"vs fresh\" means faster than a fresh trace per execution)")
}
