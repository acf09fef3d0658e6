/**
 * The vectorised-observation suite: a Bayesian linear regression with N observations (intercept,
 * slope, noise ~ Gamma(2, 1)) written three ways — one `observe` per value (the loop model), one
 * vectorised `observe("y", Normal(means, s), ys)` with `means` built by `Ad` arithmetic (what a
 * gradient-based model writes), the same with `means` a `Float64Array` of plain numbers, and over
 * `Ad.linear` —
 * against a hand-written loop of the same arithmetic. Measured per N (10², 10³, 10⁴): the prior run
 * (`run(new PriorHandler(rng), model)`), and `LogDensity`'s log density and gradient, with the
 * means also as `Ad.linear(X, [b], a)` (one fused tape node). Aim (issue 9):
 * prior run and log density ≤ 3× hand-written at N = 10 000. Also `plate` against the same loop
 * (issue 9: a plate should cost what a loop costs). Run alone: `node src/vectorised.ts`.
 *
 * @since 0.2.0
 */
import { Ad, addr, Gamma, Normal, observe, plate, Rng, sample } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import * as LogDensity from "@fugue/inference/LogDensity"
import { PriorHandler, run } from "@fugue/runtime"
import { aim, environment, markdownTable, ratio, timeRuns, writeResult } from "./report.ts"

const HALF_LOG_2PI = 0.9189385332046728

interface Data {
  readonly xs: Float64Array
  readonly ys: Float64Array
}

const dataOf = (n: number): Data => {
  const r = Rng.make(3)
  const xs = Float64Array.from({ length: n }, () => r.normal())
  return { xs, ys: Float64Array.from(xs, (x) => 1 + 2 * x + 0.5 * r.normal()) }
}

/** One observe per value. */
const loopModel = ({ xs, ys }: Data): Model<void> =>
  function*() {
    const a = yield* sample("a", Normal(0, 5))
    const b = yield* sample("b", Normal(0, 5))
    const s = yield* sample("s", Gamma(2, 1))
    for (let i = 0; i < xs.length; i++) yield* observe(addr("y", i), Normal(Ad.add(a, Ad.mul(b, xs[i]!)), s), ys[i]!)
  }

/** One vectorised observe, the means built with Ad (differentiable). */
const adModel = ({ xs, ys }: Data): Model<void> =>
  function*() {
    const a = yield* sample("a", Normal(0, 5))
    const b = yield* sample("b", Normal(0, 5))
    const s = yield* sample("s", Gamma(2, 1))
    const means = new Array<Ad.Real>(xs.length)
    for (let i = 0; i < xs.length; i++) means[i] = Ad.add(a, Ad.mul(b, xs[i]!))
    yield* observe("y", Normal(means, s), ys)
  }

/** One vectorised observe, the means a Float64Array of plain numbers (prior runs, MH, SMC). */
const plainModel = ({ xs, ys }: Data): Model<void> =>
  function*() {
    const a = yield* sample("a", Normal(0, 5))
    const b = yield* sample("b", Normal(0, 5))
    const s = yield* sample("s", Gamma(2, 1))
    const means = new Float64Array(xs.length)
    for (let i = 0; i < xs.length; i++) means[i] = a + b * xs[i]!
    yield* observe("y", Normal(means, s), ys)
  }

/** One vectorised observe over a linear predictor: one fused tape node under the gradient handler. */
const linearModel = ({ xs, ys }: Data): Model<void> => {
  const X = Ad.design(Array.from(xs, (x) => [x]))
  return function*() {
    const a = yield* sample("a", Normal(0, 5))
    const b = yield* sample("b", Normal(0, 5))
    const s = yield* sample("s", Gamma(2, 1))
    yield* observe("y", Normal(Ad.linear(X, [b], a), s), ys)
  }
}

/** The same prior run by hand: draws (the Gamma by its own sampler) and the log-likelihood loop. */
const handPrior = ({ xs, ys }: Data, rng: Rng.Rng, gamma = Gamma(2, 1)): number => {
  const a = 5 * rng.normal(), b = 5 * rng.normal(), s = gamma.sample(rng)
  const logS = Math.log(s)
  let lp = 0
  for (let i = 0; i < xs.length; i++) {
    const z = (ys[i]! - a - b * xs[i]!) / s
    lp += -0.5 * z * z - logS - HALF_LOG_2PI
  }
  return lp
}

/** The log density at q = (a, b, log s), by hand, with its gradient when `g` is given. */
const handDensity = ({ xs, ys }: Data, q: Float64Array, g?: Float64Array): number => {
  const a = q[0]!, b = q[1]!, u = q[2]!, s = Math.exp(u)
  let lp = -0.5 * (a / 5) ** 2 - 0.5 * (b / 5) ** 2 + Math.log(s) - s + u - 2 * Math.log(5) - 2 * HALF_LOG_2PI
  const inv = 1 / s
  let ga = 0, gb = 0, gz = 0
  for (let i = 0; i < xs.length; i++) {
    const z = (ys[i]! - a - b * xs[i]!) * inv
    lp += -0.5 * z * z
    if (g !== undefined) {
      ga += z * inv
      gb += z * inv * xs[i]!
      gz += z * z
    }
  }
  lp -= xs.length * (u + HALF_LOG_2PI)
  if (g !== undefined) {
    g[0] = ga - a / 25
    g[1] = gb - b / 25
    g[2] = gz - xs.length + 2 - s
  }
  return lp
}

/** N independent groups, a latent and an observation each: as a loop of sites, and as a `plate`. */
const groupsLoop = (ys: Float64Array): Model<void> =>
  function*() {
    for (let i = 0; i < ys.length; i++) {
      const z = yield* sample(addr("z", i), Normal(0, 1))
      yield* observe(addr("y", i), Normal(z, 1), ys[i]!)
    }
  }
function* group(ys: Float64Array, i: number) {
  const z = yield* sample("v", Normal(0, 1))
  yield* observe("y", Normal(z, 1), ys[i]!)
  return z
}
const groupsPlate = (ys: Float64Array): Model<Array<number>> => plate("z", ys.length, (i) => () => group(ys, i))
const groupsPlateInline = (ys: Float64Array): Model<Array<number>> =>
  plate("z", ys.length, (i) =>
    function*() {
      const z = yield* sample("v", Normal(0, 1))
      yield* observe("y", Normal(z, 1), ys[i]!)
      return z
    })

const us = (ms: number): string => `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`

const main = (): void => {
  const lines: Array<string> = []
  const log = (s: string) => {
    console.log(s)
    lines.push(s)
  }
  log("# Vectorised observations\n")
  log(environment())
  const rows: Array<Array<string>> = []
  const densityRows: Array<Array<string>> = []
  let prior10k = Number.NaN, priorPlain10k = Number.NaN, density10k = Number.NaN
  for (const n of [100, 1000, 10_000]) {
    const data = dataOf(n)
    // each timed run is a batch of calls (about 2·10⁵ observations' worth), after a warm-up long
    // enough for V8 to optimise the compiled density's chunks; the median batch ÷ its size
    const batch = Math.max(1, Math.round(200_000 / n))
    const rng = Rng.make(1)
    const time = (f: () => unknown) =>
      timeRuns(() => {
        for (let k = 0; k < batch; k++) f()
      }, { warmup: Math.max(3, Math.ceil(20_000 / batch)), runs: 15 }).medianMs / batch
    const tHand = time(() => handPrior(data, rng))
    const models = { loop: loopModel(data), ad: adModel(data), plain: plainModel(data), linear: linearModel(data) }
    const tLoop = time(() => run(new PriorHandler(rng), models.loop))
    const tAd = time(() => run(new PriorHandler(rng), models.ad))
    const tPlain = time(() => run(new PriorHandler(rng), models.plain))
    const tLinear = time(() => run(new PriorHandler(rng), models.linear))
    if (n === 10_000) {
      prior10k = tLinear / tHand
      priorPlain10k = tPlain / tHand
    }
    rows.push([
      String(n),
      us(tHand),
      `${us(tLoop)} (${ratio(tLoop, tHand)})`,
      `${us(tAd)} (${ratio(tAd, tHand)})`,
      `${us(tPlain)} (${ratio(tPlain, tHand)})`,
      `${us(tLinear)} (${ratio(tLinear, tHand)})`,
      ratio(tLoop, tLinear)
    ])

    // log density and gradient: check the library against the hand-written one first
    const ldAd = LogDensity.make(models.ad)
    const ld = LogDensity.make(models.linear)
    const ldLoop = LogDensity.make(models.loop)
    const q = new Float64Array([1.1, 1.9, -0.6]), g = new Float64Array(3), gh = new Float64Array(3)
    const lp = ld.logDensityGradient(q, g), lh = handDensity(data, q, gh)
    if (Math.abs(lp - lh) > 1e-9 * Math.abs(lh) || g.some((v, i) => Math.abs(v - gh[i]!) > 1e-8 * Math.max(1, Math.abs(gh[i]!)))) {
      throw new Error(`vectorised density disagrees with the hand-written one at N = ${n}: ${lp} vs ${lh}`)
    }
    const tHd = time(() => handDensity(data, q))
    const tHg = time(() => handDensity(data, q, gh))
    const tLd = time(() => ld.logDensity(q))
    const tLg = time(() => ld.logDensityGradient(q, g))
    const tLoopD = time(() => ldLoop.logDensity(q))
    const tLoopG = time(() => ldLoop.logDensityGradient(q, g))
    const tAdD = time(() => ldAd.logDensity(q))
    const tAdG = time(() => ldAd.logDensityGradient(q, g))
    if (n === 10_000) density10k = tLd / tHd
    densityRows.push([
      String(n),
      ld.gradientSource,
      `${us(tLd)} (${ratio(tLd, tHd)})`,
      `${us(tLg)} (${ratio(tLg, tHg)})`,
      `${ldAd.gradientSource}: ${us(tAdD)} (${ratio(tAdD, tHd)}) / ${us(tAdG)} (${ratio(tAdG, tHg)})`,
      `${ldLoop.gradientSource}: ${us(tLoopD)} (${ratio(tLoopD, tHd)}) / ${us(tLoopG)} (${ratio(tLoopG, tHg)})`,
      `${us(tHd)} / ${us(tHg)}`
    ])
  }
  log("\n## Prior run (draws and the log-likelihood), median time per run, ÷ hand-written\n")
  log(markdownTable(["N", "hand-written", "loop model (N observes)", "vectorised, Ad means", "vectorised, Float64Array means", "vectorised, Ad.linear", "loop ÷ Ad.linear"], rows))
  log(`\nAt N = 10 000, vectorised ÷ hand: Float64Array means ${priorPlain10k.toFixed(2)}× ${aim(priorPlain10k, "<=", 3)}, Ad.linear ${prior10k.toFixed(2)}× ${aim(prior10k, "<=", 3)}.`)
  log("\n## LogDensity of the vectorised model over `Ad.linear` (one fused node), ÷ hand-written (density / density with gradient)\n")
  log(markdownTable(["N", "source", "log density", "gradient", "Ad means (per-coordinate nodes): density / gradient", "loop model: density / gradient", "hand: density / gradient"], densityRows))
  log(`\nAt N = 10 000, log density ÷ hand: ${density10k.toFixed(2)}× ${aim(density10k, "<=", 3)}.`)
  // plate against the loop it stands for
  const plateRows: Array<Array<string>> = []
  let plateRatio = Number.NaN
  for (const n of [100, 1000, 10_000]) {
    const ys = dataOf(n).ys
    const rng = Rng.make(1)
    const batch = Math.max(1, Math.round(100_000 / n))
    const time = (f: () => unknown) =>
      timeRuns(() => {
        for (let k = 0; k < batch; k++) f()
      }, { warmup: Math.max(3, Math.ceil(10_000 / batch)), runs: 15 }).medianMs / batch
    const loop = groupsLoop(ys), plated = groupsPlate(ys), inline = groupsPlateInline(ys)
    const tLoop = time(() => run(new PriorHandler(rng), loop))
    const tPlate = time(() => run(new PriorHandler(rng), plated))
    const tInline = time(() => run(new PriorHandler(rng), inline))
    if (n === 1000) plateRatio = tPlate / tLoop
    plateRows.push([String(n), us(tLoop), `${us(tPlate)} (${ratio(tPlate, tLoop)})`, `${us(tInline)} (${ratio(tInline, tLoop)})`])
  }
  log("\n## `plate` against the same loop (prior run of N groups: a latent and an observation each), ÷ the loop\n")
  log(markdownTable(["N", "loop of sites", "plate, body a closure over a module-level function*", "plate, a function* per element"], plateRows))
  log(`\nAt N = 1000, plate ÷ loop: ${plateRatio.toFixed(2)}× (the extra cost per element: one generator, a scope enter and exit through the driver, the prefixed addresses). A \`function*\` written inside the body is a new generator function per element, whose first call V8 pays for (its prototype and map).`)
  log("\n- The vectorised observe is one instruction and one loop over the family's log density (the normal's log σ computed once when σ is shared); each coordinate's parameters are validated at construction.")
  log("- `Ad.linear(X, beta, a)` in a broadcast family is one fused tape node: an O(n·d) loop (the normal's with log σ once and the partials in locals for d ≤ 4) instead of n·(d + 2) scalar nodes. Means built with `Ad` per coordinate are one kernel node per observation plus the means' nodes: taped above the compile limit, at what the tape costs per node.")
  writeResult("vectorised", lines.join("\n"))
}

main()
