/**
 * Custom handlers and Effect layers: one generative regression (the responses are sample sites,
 * not observations) whose meaning is changed from outside. A handler written here as a small
 * class (`Constrain`, a hard constraint on one site) and a tracing wrapper show how handlers
 * compose by wrapping; the built-in combinators (condition, substitute, intervene, block, scale,
 * mask) are run on one execution; and the `Interpreter` layers (`layerCondition`,
 * `layerIntervene`, `layerMask`, `layerScale`, and `layerConstrain` built here) provided around
 * `Mh.run` and `Nuts.run` change what is inferred, beside the model rewritten by hand with the
 * same seed: the draws are bit-identical. Run it with `pnpm example handlersAndLayers`.
 *
 * @since 0.2.0
 */
import { Ad, addr, factor, Gamma, guard, Normal, observe, Rng, sample, type Model } from "@fugue/core"
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import { Diagnostics, Mh, Nuts, Posterior } from "@fugue/inference"
import { Combinators, Interpreter, PriorHandler, Rng as RngService, run, Trace } from "@fugue/runtime"
import type { Handler } from "@fugue/runtime/Handler"
import { Effect, Layer } from "effect"
import { linearRegressionAd, seedData } from "../models.ts"

type Fit = { slope: Ad.Real; intercept: Ad.Real; noise: Ad.Real }

/**
 * The seed regression written generatively: the responses `y#i` are sample sites, so one run
 * simulates a data set; conditioning (by a combinator or a layer) turns them into observations.
 *
 * @example
 * const [fit, trace] = run(new PriorHandler(Rng.make(1)), generativeRegression(seedData.xs))
 *
 * @category models
 * @since 0.2.0
 */
export const generativeRegression = (xs: ReadonlyArray<number>): Model.Model<Fit> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Ad.sqrt(noise)
    for (let i = 0; i < xs.length; i++) yield* sample(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), sd))
    return { slope, intercept, noise }
  }

/**
 * The seed responses by address (`{ "y#0": 2.1, … }`): what `condition` turns into observations.
 *
 * @category models
 * @since 0.2.0
 */
export const seedObservations: Readonly<Record<Address, number>> = Object.fromEntries(seedData.ys.map((y, i) => [addr("y", i), y]))

/**
 * A hard constraint on one site, as a handler that wraps another: after the wrapped handler
 * chooses the value at `address`, a factor of 0 (the value satisfies `holds`) or −∞ (it does not)
 * follows, so the constrained model's density is the prior's restricted to `holds`.
 *
 * **Details**: adds nothing to `logPrior` or `logLikelihood` of its own; `logFactors` += 0 where
 * `holds(x)`, −∞ elsewhere (the same instruction as `guard(holds(x))` written after the site).
 * Every other instruction goes to the wrapped handler unchanged, which records the choice and
 * checks for address reuse. The value is read with `Number(x)`, so under a density recording
 * (`LogDensity`, what NUTS and MH's fast path compile) the branch is detected, not baked in.
 *
 * @example
 * const [, trace] = run(new Constrain(new PriorHandler(Rng.make(1)), "intercept", (x) => x >= 0), model)
 *
 * @category handlers
 * @since 0.2.0
 */
export class Constrain<Out> implements Handler<Out> {
  readonly inner: Handler<Out>
  readonly address: Address
  readonly holds: (value: number) => boolean
  /** How many executions this handler saw violate the constraint. */
  violations = 0
  constructor(inner: Handler<Out>, address: Address, holds: (value: number) => boolean) {
    this.inner = inner
    this.address = address
    this.holds = holds
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const value = this.inner.sample(address, dist)
    if (address === this.address) {
      // read through valueOf (Number), never Ad.primal: a density recording then sees the branch
      // and falls back to running the model, instead of compiling today's answer as a constant
      const ok = this.holds(Number(value))
      if (!ok) this.violations++
      this.inner.factor(ok ? 0 : -Infinity)
    }
    return value
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.inner.observe(address, dist, value)
  }
  factor(logWeight: number): void {
    this.inner.factor(logWeight)
  }
  finish(): Out {
    return this.inner.finish()
  }
}

/**
 * A wrapper that writes down every instruction it sees (`"sample slope"`, `"observe y#0"`), then
 * passes it on unchanged: wrapped outside a combinator it sees the model's instructions, inside
 * it sees what the combinator made of them.
 *
 * **Details**: changes no weight; `lines` grows by one entry per instruction.
 *
 * @example
 * const tracer = new Tracer(new PriorHandler(Rng.make(1)))
 * run(Combinators.condition(tracer, { y: 2 }), model); tracer.lines // ["sample mu", "observe y"]
 *
 * @category handlers
 * @since 0.2.0
 */
export class Tracer<Out> implements Handler<Out> {
  readonly inner: Handler<Out>
  readonly lines: Array<string> = []
  constructor(inner: Handler<Out>) {
    this.inner = inner
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    this.lines.push(`sample ${address}`)
    return this.inner.sample(address, dist)
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    this.lines.push(`observe ${address}`)
    this.inner.observe(address, dist, value)
  }
  factor(logWeight: number): void {
    this.lines.push(`factor ${logWeight}`)
    this.inner.factor(logWeight)
  }
  finish(): Out {
    return this.inner.finish()
  }
}

/**
 * `Constrain` as a layer over the interpreter below: provided around `Mh.run` it wraps the
 * algorithm's own handlers (through the interpreter's `transform`), as the built-in
 * `Interpreter.layerCondition` and friends do.
 *
 * @example
 * Mh.run(model, options).pipe(Effect.provide(layerConstrain("intercept", (x) => x >= 0).pipe(Layer.provide(base))))
 *
 * @category layers
 * @since 0.2.0
 */
export const layerConstrain = (
  address: Address,
  holds: (value: number) => boolean
): Layer.Layer<Interpreter.Interpreter, never, Interpreter.Interpreter> =>
  Layer.effect(
    Interpreter.Interpreter,
    Effect.gen(function*() {
      const below = yield* Interpreter.Interpreter
      return Interpreter.make(
        () => new Constrain(below.makeHandler(), address, holds),
        (handler, rng) => new Constrain(below.transform(handler, rng), address, holds)
      )
    })
  )

/** The base every combinator layer wraps: the prior interpreter on the default stream. */
const base = Interpreter.Interpreter.layerPrior.pipe(Layer.provide(RngService.Rng.layer))

/** The generative model, conditioned on the seed data by a layer. */
const conditioned = Interpreter.Interpreter.layerCondition(seedObservations).pipe(Layer.provide(base))

/**
 * The seed data conditioned on top of `inner`: condition is the outermost wrapper, so the
 * observations it makes of the `y#i` sites reach `inner` as observations (what `mask` drops).
 */
const conditionedOver = (inner: Layer.Layer<Interpreter.Interpreter, never, Interpreter.Interpreter>) =>
  Interpreter.Interpreter.layerCondition(seedObservations).pipe(Layer.provide(inner.pipe(Layer.provide(base))))

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI)

/** What `Mh.run` and `Nuts.run` can fail with. */
type InferenceError = Effect.Error<ReturnType<typeof Mh.run>> | Effect.Error<ReturnType<typeof Nuts.run>>

/**
 * One row of `one execution` below: which sites a run recorded and its three log weights.
 *
 * @category models
 * @since 0.2.0
 */
export interface ExecutionRow {
  readonly combinator: string
  readonly sites: ReadonlyArray<string>
  readonly logPrior: number
  readonly logLikelihood: number
  readonly logFactors: number
}

/**
 * The generative model run once (seed `seed`) under the prior handler and under each built-in
 * combinator wrapped around it: what each records and how it weighs.
 *
 * @example
 * for (const row of combinatorRuns(1)) console.log(row.combinator, row.sites.join(" "))
 *
 * @category combinators
 * @since 0.2.0
 */
export const combinatorRuns = (seed: number): ReadonlyArray<ExecutionRow> => {
  const model = generativeRegression(seedData.xs)
  const ys = Object.keys(seedObservations)
  const cases: ReadonlyArray<[string, (h: Handler<Trace.Trace>) => Handler<Trace.Trace>]> = [
    ["prior (none)", (h) => h],
    ["condition(y)", (h) => Combinators.condition(h, seedObservations)],
    ["substitute(noise = 0.04)", (h) => Combinators.condition(Combinators.substitute(h, { noise: 0.04 }), seedObservations)],
    ["intervene(noise = 0.04)", (h) => Combinators.condition(Combinators.intervene(h, { noise: 0.04 }), seedObservations)],
    ["block(noise)", (h) => Combinators.condition(Combinators.block(h, ["noise"], Rng.make(seed + 1)), seedObservations)],
    ["scale(y, 1/2)", (h) => Combinators.condition(Combinators.scale(h, 0.5, ys), seedObservations)],
    ["mask(y#4)", (h) => Combinators.condition(Combinators.mask(h, ["y#4"]), seedObservations)],
    ["Constrain(intercept ≥ 0)", (h) => Combinators.condition(new Constrain(h, "intercept", (x) => x >= 0), seedObservations)]
  ]
  return cases.map(([combinator, wrap]) => {
    const [, trace] = run(wrap(new PriorHandler(Rng.make(seed))), model)
    return { combinator, sites: Trace.addresses(trace), logPrior: trace.logPrior, logLikelihood: trace.logLikelihood, logFactors: trace.logFactors }
  })
}

/**
 * One comparison: the generative model run by `Mh.run` or `Nuts.run` under a layer, and the model
 * rewritten by hand run by the same algorithm with the same options.
 *
 * @category models
 * @since 0.2.0
 */
export interface Comparison {
  readonly name: string
  readonly layer: string
  readonly viaLayer: Posterior.Posterior
  readonly byHand: Posterior.Posterior
}

/**
 * Options for `comparisons`: draws and warm-up per chain, chains, seed (shared by both runs).
 *
 * @category models
 * @since 0.2.0
 */
export interface ComparisonOptions {
  readonly samples: number
  readonly warmup: number
  readonly chains: number
  readonly seed: number
}

const knownNoise = 0.25

/** The regression with the noise variance known (`do(noise = 0.25)` written by hand). */
const regressionKnownNoise = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<Fit> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = knownNoise
    const sd = Ad.sqrt(noise)
    for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), sd), ys[i]!)
    return { slope, intercept, noise }
  }

/** The regression with `intercept ≥ 0` written by hand: a `guard` after the site. */
const regressionPositiveIntercept = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<Fit> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    yield* guard(Number(intercept) >= 0)
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Ad.sqrt(noise)
    for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.add(Ad.mul(slope, xs[i]!), intercept), sd), ys[i]!)
    return { slope, intercept, noise }
  }

/**
 * The power posterior by hand: each likelihood term as a factor of half the normal log density,
 * written with `Ad` so that its gradient is compiled (a distribution's `logProb` returns a plain
 * number, which the compiled density would treat as a constant).
 */
const regressionTempered = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>): Model.Model<Fit> =>
  function*() {
    const slope = yield* sample("slope", Normal(0, 2))
    const intercept = yield* sample("intercept", Normal(0, 1))
    const noise = yield* sample("noise", Gamma(2, 1))
    const sd = Ad.sqrt(noise)
    for (let i = 0; i < xs.length; i++) {
      const z = Ad.div(Ad.sub(ys[i]!, Ad.add(Ad.mul(slope, xs[i]!), intercept)), sd)
      const logProb = Ad.sub(Ad.neg(Ad.log(sd)), Ad.add(HALF_LOG_2PI, Ad.mul(0.5, Ad.square(z))))
      yield* factor(Ad.mul(0.5, logProb))
    }
    return { slope, intercept, noise }
  }

/**
 * Runs each layer-driven inference beside its hand-rewritten model: MH and NUTS under
 * `layerCondition` (against `linearRegressionAd`), NUTS under `layerIntervene` (the noise known),
 * MH under `layerMask` (leave the last point out), MH under `layerConstrain` (intercept ≥ 0) and
 * NUTS under `layerScale` (the likelihood tempered by 1/2).
 *
 * @example
 * const rows = await Effect.runPromise(comparisons({ samples: 1000, warmup: 500, chains: 2, seed: 1 }))
 *
 * @category combinators
 * @since 0.2.0
 */
export const comparisons = (options: ComparisonOptions): Effect.Effect<ReadonlyArray<Comparison>, InferenceError> =>
  Effect.gen(function*() {
    const { xs, ys } = seedData
    const generative = generativeRegression(xs)
    const mhOptions = { samples: options.samples, warmup: options.warmup, chains: options.chains, seed: options.seed }
    const nutsOptions = { ...mhOptions, targetAcceptance: 0.95 }
    const out: Array<Comparison> = []
    const compare = Effect.fnUntraced(function*(
      name: string,
      layerName: string,
      viaLayer: Effect.Effect<Posterior.Posterior, InferenceError>,
      byHand: () => Posterior.Posterior
    ) {
      out.push({ name, layer: layerName, viaLayer: yield* viaLayer, byHand: byHand() })
    })
    yield* compare(
      "MH, responses observed",
      "layerCondition(y)",
      Mh.run(generative, mhOptions).pipe(Effect.provide(conditioned)),
      () => Mh.runUnsafe(linearRegressionAd(xs, ys), mhOptions)
    )
    yield* compare(
      "NUTS, responses observed",
      "layerCondition(y)",
      Nuts.run(generative, nutsOptions).pipe(Effect.provide(conditioned)),
      () => Nuts.runUnsafe(linearRegressionAd(xs, ys), nutsOptions)
    )
    yield* compare(
      "NUTS, noise known (do)",
      `layerIntervene(noise = ${knownNoise})`,
      Nuts.run(generative, nutsOptions).pipe(
        Effect.provide(conditionedOver(Interpreter.Interpreter.layerIntervene({ noise: knownNoise })))
      ),
      () => Nuts.runUnsafe(regressionKnownNoise(xs, ys), nutsOptions)
    )
    yield* compare(
      "MH, last point left out",
      "layerMask(y#4)",
      Mh.run(generative, mhOptions).pipe(Effect.provide(conditionedOver(Interpreter.Interpreter.layerMask(["y#4"])))),
      () => Mh.runUnsafe(linearRegressionAd(xs.slice(0, 4), ys.slice(0, 4)), mhOptions)
    )
    yield* compare(
      "MH, intercept ≥ 0",
      "layerConstrain(intercept ≥ 0)",
      Mh.run(generative, mhOptions).pipe(Effect.provide(conditionedOver(layerConstrain("intercept", (x) => x >= 0)))),
      () => Mh.runUnsafe(regressionPositiveIntercept(xs, ys), mhOptions)
    )
    yield* compare(
      "NUTS, likelihood ^ 1/2",
      "layerScale(1/2, y)",
      Nuts.run(generative, nutsOptions).pipe(
        Effect.provide(conditionedOver(Interpreter.Interpreter.layerScale(0.5, Object.keys(seedObservations))))
      ),
      () => Nuts.runUnsafe(regressionTempered(xs, ys), nutsOptions)
    )
    return out
  })

/**
 * Whether two posteriors hold the same sites and exactly the same draws (every chain, every
 * draw, compared as bits with `Object.is`).
 *
 * @example
 * identical(viaLayer, byHand) // true
 *
 * @category getters
 * @since 0.2.0
 */
export const identical = (a: Posterior.Posterior, b: Posterior.Posterior): boolean => {
  if (a.sites.join() !== b.sites.join()) return false
  for (const site of a.sites) {
    const ca = a.draws.get(site)!, cb = b.draws.get(site)!
    if (ca.length !== cb.length) return false
    for (let c = 0; c < ca.length; c++) {
      if (ca[c]!.length !== cb[c]!.length) return false
      for (let i = 0; i < ca[c]!.length; i++) if (!Object.is(ca[c]![i], cb[c]![i])) return false
    }
  }
  return true
}

/**
 * The largest difference in posterior means between the two runs of a comparison, in units of
 * √(MCSE₁² + MCSE₂²): below about 3 the two agree within Monte Carlo error.
 *
 * @example
 * largestGap(row) < 3
 *
 * @category getters
 * @since 0.2.0
 */
export const largestGap = (row: Comparison): number => {
  let worst = 0
  for (const site of row.viaLayer.sites) {
    const a = Diagnostics.mcse(Posterior.chainsOf(row.viaLayer, site))!, b = Diagnostics.mcse(Posterior.chainsOf(row.byHand, site))!
    worst = Math.max(worst, Math.abs(Posterior.mean(row.viaLayer, site) - Posterior.mean(row.byHand, site)) / Math.hypot(a, b))
  }
  return worst
}

/**
 * Prints the tracer's view of composition order, the combinators on one execution, and each
 * layer-driven posterior beside the hand-rewritten model's.
 *
 * @category models
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const two = { "y#0": 2.1, "y#1": 4.2 }
  const model = generativeRegression(seedData.xs.slice(0, 2))
  const inside = new Tracer(new PriorHandler(Rng.make(1)))
  run(Combinators.condition(inside, two), model)
  const outside = new Tracer(Combinators.condition(new PriorHandler(Rng.make(1)), two))
  run(outside, model)
  console.log("Composition order (the outermost wrapper sees each instruction first), two data points:")
  console.log(`  Tracer outside condition(y): ${outside.lines.join(", ")}`)
  console.log(`  Tracer inside condition(y):  ${inside.lines.join(", ")}`)

  console.log("\nThe generative regression run once (seed 7) under each combinator, wrapped in condition(y) where it needs data:")
  console.log(`${"combinator".padEnd(26)} ${"logPrior".padStart(9)} ${"logLik".padStart(9)} ${"logFactors".padStart(10)}  sites`)
  for (const row of combinatorRuns(7)) {
    const f = (x: number) => x.toFixed(3).padStart(9)
    console.log(`${row.combinator.padEnd(26)} ${f(row.logPrior)} ${f(row.logLikelihood)} ${f(row.logFactors).padStart(10)}  ${row.sites.join(" ")}`)
  }

  const options = { samples: 2000, warmup: 1000, chains: 4, seed: 11 }
  console.log(`\nLayers around Mh.run / Nuts.run vs the model rewritten by hand (${options.chains} chains × (${options.warmup} warm-up + ${options.samples}), seed ${options.seed}):`)
  const t0 = performance.now()
  const rows = await Effect.runPromise(comparisons(options))
  const seconds = (performance.now() - t0) / 1000
  for (const row of rows) {
    const same = identical(row.viaLayer, row.byHand)
    const verdict = same
      ? "draws bit-identical to the hand-written model"
      : `different arithmetic, so different draws; largest |Δ mean| = ${largestGap(row).toFixed(2)} × the combined MCSE`
    console.log(`\n${row.name}: ${row.layer}  —  ${verdict}`)
    console.log(`  ${"site".padEnd(10)} ${"layer mean".padStart(10)} ${"hand mean".padStart(10)} ${"layer sd".padStart(9)} ${"hand sd".padStart(9)}`)
    for (const site of row.viaLayer.sites) {
      const f = (x: number, w: number) => x.toFixed(4).padStart(w)
      console.log(
        `  ${site.padEnd(10)} ${f(Posterior.mean(row.viaLayer, site), 10)} ${f(Posterior.mean(row.byHand, site), 10)} ` +
          `${f(Posterior.sd(row.viaLayer, site), 9)} ${f(Posterior.sd(row.byHand, site), 9)}`
      )
    }
  }
  console.log(`\n(${rows.length * 2} inference runs in ${seconds.toFixed(2)} s)`)
}
