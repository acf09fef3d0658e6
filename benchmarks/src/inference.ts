/**
 * The inference suite: whole inference runs, timed end to end after a warm-up run, as
 * iterations (or filter runs) per second. (b) single-site MH on the seed's regression, 100 000
 * iterations; (c) a bootstrap particle filter, 1000 particles, on the 50-step random walk of
 * `data/random-walk.json`, through the general SMC entry point (the model written as a loop, and
 * written with `unfold`, which SMC runs in time linear in the number of steps, its fixed steps
 * vectorised) and the
 * state-space fast path; (d) eight schools (centered), MH, 100 000 iterations; (e) how SMC's
 * time grows with the number of steps T (100 particles, T = 50, 200, 800, with and without
 * rejuvenation; the general engine's rejuvenation at smaller T, without and with a lag), with
 * the fitted exponent. Each against a hand-written JavaScript
 * version (same `Rng`, same proposals, inlined densities) and WebPPL's own algorithm on the same
 * model. A second table prints what each run estimated, so a fast wrong answer shows. Run
 * alone: `node src/inference.ts`.
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { Normal, observe, Rng, sample, unfold } from "@fugue/core"
import * as Mh from "@fugue/inference/Mh"
import * as Posterior from "@fugue/inference/Posterior"
import * as Smc from "@fugue/inference/Smc"
import {
  bootstrapFilter,
  eightSchools,
  eightSchoolsData,
  eightSchoolsMh,
  eightSchoolsPosteriorMeanMu,
  kalman,
  linearRegression,
  linearRegressionAd,
  randomWalk,
  randomWalkData,
  regressionData,
  regressionMh,
  regressionPosteriorMeans
} from "./models.ts"
import { aim, environment, formatRate, markdownTable, ratio, timeRuns, writeResult, type RunTimes } from "./report.ts"
import * as Webppl from "./webppl.ts"

const MH_ITERATIONS = 100_000
const PARTICLES = 1000

/**
 * A timed inference run: its rate and what it estimated.
 *
 * @example
 * const t: Timed = { times, rate: 1e5, estimate: "2.013" }
 *
 * @category models
 * @since 0.1.0
 */
export interface Timed {
  readonly times: RunTimes
  /** Work units per second (MH iterations, or filter runs). */
  readonly rate: number
  readonly estimate: string
}

const timed = (units: number, fn: () => string, options: { warmup: number; runs: number }): Timed => {
  let estimate = ""
  const times = timeRuns(() => {
    estimate = fn()
  }, options)
  return { times, rate: (units * 1000) / times.medianMs, estimate }
}

interface Row {
  readonly name: string
  readonly unit: string
  readonly ours: Timed
  readonly hand: Timed
  readonly webppl?: Timed
  readonly handAim?: number
  readonly webpplAim?: number
  readonly truth?: string
}

const mean = (xs: Float64Array, stride = 1, offset = 0): number => {
  let s = 0
  let n = 0
  for (let i = offset; i < xs.length; i += stride, n++) s += xs[i]
  return s / n
}

const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x))

// The random walk's state-space form for the filter's fast path: states are plain numbers.
const randomWalkFilter = (ys: ReadonlyArray<number>, seed: number): Smc.FilterOptions<number> => ({
  particles: PARTICLES,
  steps: ys.length,
  threshold: 1,
  resampling: "systematic",
  seed,
  initial: function*() {
    return yield* sample("x", Normal(0, 1))
  },
  // The documented fast form: a generator function of (state, t), called directly. A transition
  // that returns a fresh `function*` per call costs ~1.5 µs more per particle-step in V8 (each new
  // generator-function closure gets its own prototype and generator map).
  transition: function*(x) {
    return yield* sample("x", Normal(x, 0.5))
  },
  observation: (x, t) => Normal(x, 1).logProb(ys[t])
})

// The random walk written with `unfold`, in the fast step form: a closure over a module-level
// generator function (a `function*` made per step costs V8 0.5–1 µs more per step, measured).
function* walkStep(ys: ReadonlyArray<number>, prev: number, t: number) {
  const x = yield* sample("x", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
  yield* observe("y", Normal(x, 1), ys[t])
  return x
}
const randomWalkUnfold = (ys: ReadonlyArray<number>) => unfold("w", ys.length, 0, (prev: number, t: number) => () => walkStep(ys, prev, t))
// The same model with a `function*` made per step (the form `unfold`'s example shows).
const randomWalkUnfoldClosures = (ys: ReadonlyArray<number>) =>
  unfold("w", ys.length, 0, (prev: number, t: number) =>
    function*() {
      const x = yield* sample("x", t === 0 ? Normal(0, 1) : Normal(prev, 0.5))
      yield* observe("y", Normal(x, 1), ys[t])
      return x
    })

/** The random walk's generative process (as in `data/random-walk.json`), `steps` observations. */
const randomWalkObservations = (steps: number, seed: number): Array<number> => {
  const rng = Rng.make(seed)
  const ys: Array<number> = []
  let x = rng.normal()
  for (let t = 0; t < steps; t++) {
    if (t > 0) x += 0.5 * rng.normal()
    ys.push(x + rng.normal())
  }
  return ys
}

/** Least-squares slope of log(time) on log(T): the growth exponent. */
const growthExponent = (points: ReadonlyArray<readonly [number, number]>): number => {
  const xs = points.map(([t]) => Math.log(t)), ys = points.map(([, ms]) => Math.log(ms))
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length
  let sxy = 0, sxx = 0
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my)
    sxx += (xs[i] - mx) ** 2
  }
  return sxy / sxx
}

interface Growth {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly estimate: string
  readonly aim?: number
}

/** (e): SMC time against the number of steps, 100 particles, on the random walk. */
const growthTable = (): string => {
  const all = randomWalkObservations(800, 2025)
  const steps = [50, 200, 800]
  const rows: Array<Growth> = []
  const measure = (
    name: string,
    run: (ys: ReadonlyArray<number>) => Posterior.Posterior<unknown, Smc.Stats>,
    ts: ReadonlyArray<number>,
    aimExponent?: number
  ) => {
    run(all.slice(0, ts[0]))
    let estimate = ""
    const points = ts.map((t) => {
      const ys = all.slice(0, t)
      const times = timeRuns(() => {
        const post = run(ys)
        estimate = `T = ${t}: log Z ${fmt(post.logEvidence![0], 2)} (Kalman ${fmt(kalman(ys).logEvidence, 2)})`
      }, { warmup: t <= 200 ? 1 : 0, runs: t <= 200 ? 5 : 3 })
      return [t, times.medianMs] as const
    })
    rows.push({ name, points, estimate, aim: aimExponent })
  }
  const options = { particles: 100, seed: 1 }
  measure("general engine (the loop model), no rejuvenation", (ys) => Smc.runUnsafe(randomWalk(ys), options), steps)
  measure("unfold engine, no rejuvenation", (ys) => Smc.runUnsafe(randomWalkUnfold(ys), options), steps, 1.2)
  measure(
    "unfold engine, rejuvenation 1 sweep, lag 5",
    (ys) => Smc.runUnsafe(randomWalkUnfold(ys), { ...options, rejuvenation: 1, rejuvenationLag: 5 }),
    steps,
    1.2
  )
  // the general engine's rejuvenation is cubic: T = 200 takes about a minute, so smaller T here
  measure("general engine (the loop model), rejuvenation 1 sweep", (ys) => Smc.runUnsafe(randomWalk(ys), { ...options, rejuvenation: 1 }), [25, 50, 100])
  // with a lag a sweep has O(L) moves, each still a replay from the start: quadratic (aim ≤ 2.2)
  measure(
    "general engine (the loop model), rejuvenation 1 sweep, lag 5",
    (ys) => Smc.runUnsafe(randomWalk(ys), { ...options, rejuvenation: 1, rejuvenationLag: 5 }),
    [50, 100, 200, 400],
    2.2
  )
  return markdownTable(
    ["SMC, 100 particles, random walk", "time at T (ms)", "fitted exponent (log-log slope)", "aim", "estimate at the largest T"],
    rows.map((r) => {
      const exponent = growthExponent(r.points)
      return [
        r.name,
        r.points.map(([t, ms]) => `${t}: ${fmt(ms, 1)}`).join(", "),
        fmt(exponent, 2),
        r.aim === undefined ? "" : `${exponent <= r.aim ? "✓" : "✗"} ≈ ${r.aim < 2 ? 1 : 2} (≤ ${r.aim})`,
        r.estimate
      ]
    })
  )
}

/**
 * Runs the inference suite and returns its markdown.
 *
 * @example
 * const markdown = runInferenceSuite()
 *
 * @category constructors
 * @since 0.1.0
 */
export const runInferenceSuite = (): string => {
  const rows: Array<Row> = []
  const compileMs: Array<string> = []
  const fast = { warmup: 1, runs: 3 }
  const cheap = { warmup: 3, runs: 9 }

  // (b) MH on the regression.
  {
    const ours = timed(MH_ITERATIONS, () => {
      const post = Mh.runUnsafe(linearRegression, { samples: MH_ITERATIONS, warmup: 0, thin: 1, chains: 1, seed: 1 })
      return fmt(Posterior.mean(post, "slope"))
    }, fast)
    let seed = 1
    const hand = timed(MH_ITERATIONS, () => fmt(mean(regressionMh(Rng.make(seed++), MH_ITERATIONS).draws, 3, 0)), cheap)
    const compiled = Webppl.compile(`${Webppl.linearRegressionModel}
expectation(Infer({method: 'MCMC', kernel: 'MH', samples: fugueN, burn: 0, model: linearRegression}))`)
    compileMs.push(`MH regression ${compiled.compileMs.toFixed(0)} ms`)
    const globals = { fugueN: MH_ITERATIONS, fugueXs: [...regressionData.xs], fugueYs: [...regressionData.ys] }
    const webppl = timed(MH_ITERATIONS, () => fmt(Webppl.runCompiled<number>(compiled.program, globals)), fast)
    rows.push({
      name: `(b) regression, single-site MH, ${MH_ITERATIONS.toLocaleString("en-US")} iterations`,
      unit: "iterations/s",
      ours,
      hand,
      webppl,
      handAim: 5,
      webpplAim: 10,
      truth: `E[slope | y], exact ${fmt(regressionPosteriorMeans().slope)}`
    })
  }

  // (b') MH on the regression written with Ad: the chains step on the compiled log density.
  {
    const ours = timed(MH_ITERATIONS, () => {
      const post = Mh.runUnsafe(linearRegressionAd, { samples: MH_ITERATIONS, warmup: 0, thin: 1, chains: 1, seed: 1 })
      return fmt(Posterior.mean(post, "slope"))
    }, cheap)
    let seed = 1
    const hand = timed(MH_ITERATIONS, () => fmt(mean(regressionMh(Rng.make(seed++), MH_ITERATIONS).draws, 3, 0)), cheap)
    rows.push({
      name: `(b') regression with Ad, MH on the compiled density, ${MH_ITERATIONS.toLocaleString("en-US")} iterations`,
      unit: "iterations/s",
      ours,
      hand,
      handAim: 3,
      truth: `E[slope | y], exact ${fmt(regressionPosteriorMeans().slope)}`
    })
  }

  // (c) particle filter on the random walk.
  {
    const data = randomWalkData()
    const exact = kalman(data.ys)
    const model = randomWalk(data.ys)
    const last = `x#${data.steps - 1}`
    let oursSeed = 1
    const general = timed(1, () => {
      const post = Smc.runUnsafe(model, { particles: PARTICLES, threshold: 1, resampling: "systematic", seed: oursSeed++ })
      return `E[x₅₀] ${fmt(Posterior.mean(post, last))}, log Z ${fmt(post.logEvidence![0], 2)}`
    }, { warmup: 2, runs: 7 })
    const unfolded = randomWalkUnfold(data.ys)
    const unfoldLast = `w#${data.steps - 1}/x`
    const viaUnfold = timed(1, () => {
      const post = Smc.runUnsafe(unfolded, { particles: PARTICLES, threshold: 1, resampling: "systematic", seed: oursSeed++ })
      return `E[x₅₀] ${fmt(Posterior.mean(post, unfoldLast))}, log Z ${fmt(post.logEvidence![0], 2)}`
    }, { warmup: 10, runs: 21 })
    const unfoldedClosures = randomWalkUnfoldClosures(data.ys)
    const viaUnfoldClosures = timed(1, () => {
      const post = Smc.runUnsafe(unfoldedClosures, { particles: PARTICLES, threshold: 1, resampling: "systematic", seed: oursSeed++ })
      return `E[x₅₀] ${fmt(Posterior.mean(post, unfoldLast))}, log Z ${fmt(post.logEvidence![0], 2)}`
    }, { warmup: 10, runs: 21 })
    const fastPath = timed(1, () => {
      const post = Smc.filterUnsafe(randomWalkFilter(data.ys, oursSeed++))
      return `E[x₅₀] ${fmt(Smc.filterStats(post).filteringMeans[data.steps - 1])}, log Z ${fmt(post.logEvidence![0], 2)}`
    }, { warmup: 3, runs: 11 })
    let seed = 1
    const hand = timed(1, () => {
      const r = bootstrapFilter(Rng.make(seed++), data.ys, PARTICLES)
      return `E[x₅₀] ${fmt(r.mean)}, log Z ${fmt(r.logEvidence, 2)}`
    }, { warmup: 5, runs: 21 })
    const compiled = Webppl.compile(`${Webppl.randomWalkModel}
var d = Infer({method: 'SMC', particles: fugueN, model: randomWalk}); [expectation(d), d.normalizationConstant]`)
    compileMs.push(`SMC random walk ${compiled.compileMs.toFixed(0)} ms`)
    const globals = { fugueN: PARTICLES, fugueYs: [...data.ys] }
    const webppl = timed(1, () => {
      const [m, logZ] = Webppl.runCompiled<[number, number]>(compiled.program, globals)
      return `E[x₅₀] ${fmt(m)}, log Z ${fmt(logZ, 2)}`
    }, fast)
    const truth = `Kalman: E[x₅₀] ${fmt(exact.mean)}, log Z ${fmt(exact.logEvidence, 2)}`
    const name = `(c) bootstrap PF, ${PARTICLES} particles, ${data.steps} steps`
    rows.push({ name: `${name}: general SMC`, unit: "filter runs/s", ours: general, hand, webppl, webpplAim: 4, truth })
    rows.push({
      name: `${name}: general SMC, written with unfold`,
      unit: "filter runs/s",
      ours: viaUnfold,
      hand,
      webppl,
      handAim: 5,
      webpplAim: 4,
      truth
    })
    rows.push({
      name: `${name}: general SMC, written with unfold, a function* per step`,
      unit: "filter runs/s",
      ours: viaUnfoldClosures,
      hand,
      webppl,
      truth
    })
    rows.push({ name: `${name}: state-space fast path`, unit: "filter runs/s", ours: fastPath, hand, webppl, webpplAim: 4, truth })
  }

  // (d) eight schools.
  {
    const data = eightSchoolsData()
    const model = eightSchools(data)
    const ours = timed(MH_ITERATIONS, () => {
      const post = Mh.runUnsafe(model, { samples: MH_ITERATIONS, warmup: 0, thin: 1, chains: 1, seed: 1 })
      return fmt(Posterior.mean(post, "mu"))
    }, fast)
    let seed = 1
    const hand = timed(MH_ITERATIONS, () => fmt(mean(eightSchoolsMh(Rng.make(seed++), data, MH_ITERATIONS).mu)), cheap)
    const compiled = Webppl.compile(`${Webppl.eightSchoolsModel}
expectation(Infer({method: 'MCMC', kernel: 'MH', samples: fugueN, burn: 0, model: eightSchools}))`)
    compileMs.push(`MH eight schools ${compiled.compileMs.toFixed(0)} ms`)
    const globals = { fugueN: MH_ITERATIONS, fugueY: [...data.y], fugueSigma: [...data.sigma] }
    const webppl = timed(MH_ITERATIONS, () => fmt(Webppl.runCompiled<number>(compiled.program, globals)), fast)
    rows.push({
      name: `(d) eight schools (centered), MH, ${MH_ITERATIONS.toLocaleString("en-US")} iterations`,
      unit: "iterations/s",
      ours,
      hand,
      webppl,
      truth: `E[mu | y], exact ${fmt(eightSchoolsPosteriorMeanMu(data))}`
    })
  }

  const growth = growthTable()

  const show = (t: Timed | undefined): string => (t === undefined ? "–" : `${formatRate(t.rate)} (${fmt(t.times.medianMs, 0)} ms/run)`)
  const speedTable = markdownTable(
    ["benchmark", "unit", "Fugue", "hand-written", "hand ÷ Fugue", "WebPPL", "Fugue ÷ WebPPL", "aims"],
    rows.map((r) => {
      const ours = r.ours.rate
      const aims = [
        r.handAim === undefined ? "" : `hand÷Fugue ${aim(r.hand.rate / ours, "<=", r.handAim)}`,
        r.webpplAim === undefined || r.webppl === undefined
          ? ""
          : `Fugue÷WebPPL ${aim(ours / r.webppl.rate, ">=", r.webpplAim)}`
      ].filter((s) => s !== "")
      return [r.name, r.unit, show(r.ours), show(r.hand), ratio(r.hand.rate, ours), show(r.webppl), ratio(ours, r.webppl?.rate), aims.join("; ")]
    })
  )
  const estimateTable = markdownTable(
    ["benchmark", "quantity", "Fugue", "hand-written", "WebPPL"],
    rows.map((r) => [
      r.name,
      r.truth ?? "",
      r.ours.estimate,
      r.hand.estimate,
      r.webppl?.estimate ?? "–"
    ])
  )
  return [
    "# Inference suite",
    "",
    environment(),
    "",
    speedTable,
    "",
    "What each run estimated (the last timed run; a fast wrong answer would show here):",
    "",
    estimateTable,
    "",
    "(e) How SMC's time grows with the number of steps T (median of 3–5 runs; the exponent is the least-squares slope",
    "of log time on log T):",
    "",
    growth,
    "",
    "- Rates are work units divided by the median wall time of whole runs (Fugue and WebPPL: 1 warm-up + 3 timed runs;",
    "  hand-written and the short SMC rows: more — the unfold rows 10 warm-up + 21 timed, the hand-written filter 5 + 21 —",
    "  so that the JIT has compiled the generated step code before the timed runs). WebPPL draws from unseeded `Math.random`.",
    `- WebPPL compile time, once per program and excluded from the rates: ${compileMs.join(", ")}.`,
    "- MH: Fugue is `Mh.runUnsafe(model, { samples: 100000, warmup: 0, thin: 1, chains: 1, seed: 1 })`: 100 000 single-site",
    "  steps, unit-scale Gaussian random walk on the unconstrained scale (no adaptation without warm-up), every state kept.",
    "  Hand-written: the same proposal family (pick a site uniformly, unit-scale random walk, log scale for positive sites,",
    "  full log-joint recompute, accept/reject), every state stored. WebPPL: `Infer({method: 'MCMC', kernel: 'MH', samples:",
    "  100000, burn: 0})`, whose single-site proposals redraw the site from its prior.",
    "- PF: every filter resamples at every step: Fugue with `threshold: 1, resampling: \"systematic\"`, hand-written\n  systematic; WebPPL's SMC resamples at every observation. Log Z is the",
    "  log evidence estimate, checkable against the Kalman filter's exact value.",
    "- \"written with unfold\": `unfold(\"w\", 50, 0, (prev, t) => () => walkStep(ys, prev, t))` with a module-level",
    "  `function* walkStep`, which `Smc.runUnsafe` runs with its unfold engine; its steps are fixed (a Normal site and a",
    "  Normal observation), so each step t is recorded once and advanced for all particles by generated code, with the",
    "  interpreted steps' numbers bit for bit (`Smc.stats(post).vectorisedSteps` = 50; `vectorise: \"never\"` runs the",
    "  step's model per particle, resampled copies sharing their completed steps); \"a function* per step\" is the same",
    "  model with `(prev, t) => function* () { … }` (a fresh generator function per step, recorded the same way).",
    "- Eight schools: WebPPL has no HalfCauchy, so its tau is |Cauchy(0, 5)| (the same distribution)."
  ].join("\n")
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) writeResult("inference", runInferenceSuite())
