/**
 * The NUTS suite: what `Nuts.runUnsafe` costs and what it buys. (1) Eight schools, non-centred
 * (d = 10), one chain of 1000 warm-up + 1000 draws: wall time (the first, cold run of the
 * process, and the median of warm runs), gradient evaluations, ESS per gradient and per
 * second. (2) The limit: hand-written static HMC and NUTS (`nutsHand.ts`) on the hand-written
 * analytic gradient, with the step size, metric and mean trajectory length our warm-up found:
 * time per leapfrog step, ours ÷ hand. (3) WebPPL 0.9.15's HMC on the same model and
 * coordinates with the same ε and L: time per gradient and ESS per second. (4) ESS per second
 * of our NUTS against our MH on eight schools centred and non-centred and on the kid IQ
 * regression, four chains each. (5) How the cost grows with dimension (iid and AR(1) Gaussians).
 * Run alone: `node src/nuts.ts`.
 *
 * @since 0.2.0
 */
import { fileURLToPath } from "node:url"
import { Ad, addr, Normal, sample, type Model } from "@fugue/core"
import * as Diagnostics from "@fugue/inference/Diagnostics"
import * as Hmc from "@fugue/inference/Hmc"
import * as LogDensity from "@fugue/inference/LogDensity"
import * as Mh from "@fugue/inference/Mh"
import * as Nuts from "@fugue/inference/Nuts"
import * as Posterior from "@fugue/inference/Posterior"
import {
  type DensityGradient,
  eightSchoolsNonCentred,
  eightSchoolsNonCentredHand,
  eightSchoolsPoints,
  kidiqData,
  kidiqRegression
} from "./gradientModels.ts"
import { eightSchools, eightSchoolsData, type EightSchoolsData, HALF_LOG_2PI } from "./models.ts"
import * as Hand from "./nutsHand.ts"
import { integratorOverhead, transitionOverhead } from "./nutsOverhead.ts"
import { aim, environment, markdownTable, measureOps, ratio, sink, timeRuns, writeResult } from "./report.ts"
import * as Webppl from "./webppl.ts"

const SAMPLES = 1000
const WARMUP = 1000
/** Untimed runs after the cold one, so V8 has optimised the sampler and the compiled density. */
const WARM_RUNS = 5
const TIMED_RUNS = 15
const WALL_AIM_MS = 5
const LEAPFROG_AIM = 2
const WEBPPL_AIM = 30
const WEBPPL_BURN = 100
const WEBPPL_SAMPLES = 1000

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/** What one NUTS (or HMC) run cost and bought. */
interface HamiltonianRun {
  readonly ms: number
  /** Gradient evaluations, all chains, warm-up and initialisation included. */
  readonly gradients: number
  readonly warmupGradients: number
  /** Mean leapfrog steps per kept transition (all chains). */
  readonly meanLeapfrog: number
  readonly meanTreeDepth: number
  readonly meanAcceptStat: number
  readonly divergences: number
  /** Chain 0's adapted step size and inverse metric. */
  readonly stepSize: number
  readonly inverseMetric: Float64Array
  readonly ess: Ess
  readonly gradientSource: string
  /** Chain 0's last draw, by site (where a hand-written chain starts). */
  readonly lastDraw: Readonly<Record<string, number>>
}

/** Bulk ESS (min over sites, and named sites), tail ESS (min over sites), max R-hat. */
interface Ess {
  readonly bulkMin: number
  readonly bulkMinSite: string
  readonly tailMin: number
  readonly named: Readonly<Record<string, number>>
  readonly rhatMax: number
}

const orNaN = (x: number | undefined): number => (x === undefined ? Number.NaN : x)

const essOf = (post: Posterior.Posterior<unknown>, named: ReadonlyArray<string>): Ess => {
  let bulkMin = Infinity, tailMin = Infinity, rhatMax = 0
  let bulkMinSite = ""
  for (const site of post.draws.keys()) {
    const chains = Posterior.chainsOf(post, site)
    const bulk = orNaN(Diagnostics.essBulk(chains))
    if (bulk < bulkMin) {
      bulkMin = bulk
      bulkMinSite = site
    }
    tailMin = Math.min(tailMin, orNaN(Diagnostics.essTail(chains)))
    if (chains.length > 1) rhatMax = Math.max(rhatMax, orNaN(Diagnostics.rhat(chains)))
  }
  const out: Record<string, number> = {}
  for (const site of named) out[site] = orNaN(Diagnostics.essBulk(Posterior.chainsOf(post, site)))
  return { bulkMin, bulkMinSite, tailMin, named: out, rhatMax: post.logWeights.length > 1 ? rhatMax : Number.NaN }
}

const meanOf = (xs: ReadonlyArray<Float64Array>): number => {
  let s = 0, n = 0
  for (const x of xs) for (let i = 0; i < x.length; i++, n++) s += x[i]
  return s / n
}

const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)

/** Times one run of a Hamiltonian sampler and reads its statistics and diagnostics. */
const measureHamiltonian = (run: () => Posterior.Posterior<unknown, Nuts.Stats>, named: ReadonlyArray<string> = []): HamiltonianRun => {
  const t0 = performance.now()
  const post = run()
  const ms = performance.now() - t0
  const s = post.stats
  const lastDraw: Record<string, number> = {}
  for (const site of post.draws.keys()) {
    const chain = Posterior.chainsOf(post, site)[0]
    lastDraw[site] = chain[chain.length - 1]
  }
  return {
    ms,
    gradients: sum(s.gradientEvaluations),
    warmupGradients: sum(s.warmupGradientEvaluations),
    meanLeapfrog: meanOf(s.leapfrogSteps),
    meanTreeDepth: meanOf(s.treeDepth),
    meanAcceptStat: meanOf(s.acceptStat),
    divergences: sum(s.divergences),
    stepSize: s.stepSizeFinal[0],
    inverseMetric: s.inverseMetric[0],
    ess: essOf(post, named),
    gradientSource: s.gradientSource,
    lastDraw
  }
}

/** The median of `xs` (the library's quantile rule). */
const median = (xs: ReadonlyArray<number>): number => Diagnostics.quantile(xs, 0.5)

/** The run whose wall time is the median (the lower one of an even count). */
const medianRun = <R extends { readonly ms: number }>(runs: ReadonlyArray<R>): R => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor((runs.length - 1) / 2)]

/**
 * ns per call of a gradient, cycling through `points` (tinybench, median batch).
 */
const gradientNs = (gradient: (q: Float64Array, g: Float64Array) => number, points: ReadonlyArray<Float64Array>, timeMs = 300): number => {
  const g = new Float64Array(points[0].length)
  const perBatch = 2000
  let k = 0
  const batch = () => {
    let acc = 0
    for (let i = 0; i < perBatch; i++) {
      acc += gradient(points[k], g) + g[0]
      k = (k + 1) % points.length
    }
    sink.value += acc
  }
  return 1e9 / measureOps(batch, perBatch, timeMs).opsPerSec
}

/** Whether `density` computes `hand`'s value and gradient at every point (to 1e-9, relative above 1). */
const agrees = (density: LogDensity.LogDensity, hand: DensityGradient, points: ReadonlyArray<Float64Array>): boolean => {
  const d = density.dimension
  const a = new Float64Array(d), b = new Float64Array(d)
  const close = (x: number, y: number) => Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))
  return points.every((q) => {
    let ok = close(density.logDensityGradient(q, a), hand(q, b))
    for (let i = 0; i < d; i++) ok = ok && close(a[i], b[i])
    return ok
  })
}

// ---------------------------------------------------------------------------------------------
// WebPPL
// ---------------------------------------------------------------------------------------------

/**
 * Eight schools, non-centred, in WebPPL, on our coordinates q = [mu, log tau, eta]: WebPPL has
 * no HalfCauchy and its HMC moves every continuous choice on its own scale (reflecting at a
 * support boundary), so log tau is sampled from N(0, 1) and a factor swaps that density for the
 * HalfCauchy(5) prior of tau = e^u with its Jacobian u (up to a constant). Then WebPPL's HMC and
 * ours integrate the same Hamiltonian (with a unit metric: WebPPL has no other). Globals:
 * `fugueY`, `fugueSigma`, `fugueSteps`, `fugueStepSize`, `fugueN`, `fugueBurn`, and
 * `fugueDraws` (a callback object whose `sample` receives each kept draw as `{ value: [mu, tau] }`).
 *
 * @example
 * const { program } = Webppl.compile(eightSchoolsNonCentredWebppl)
 *
 * @category models
 * @since 0.2.0
 */
export const eightSchoolsNonCentredWebppl = `
var eightSchoolsNonCentred = function() {
  var mu = sample(Gaussian({mu: 0, sigma: 5}))
  var u = sample(Gaussian({mu: 0, sigma: 1}))
  var tau = Math.exp(u)
  factor(0.5 * u * u - Math.log(1 + tau * tau / 25) + u)
  var go = function(j) {
    if (j < fugueY.length) {
      var eta = sample(Gaussian({mu: 0, sigma: 1}))
      observe(Gaussian({mu: mu + tau * eta, sigma: fugueSigma[j]}), fugueY[j])
      go(j + 1)
    }
  }
  go(0)
  return [mu, tau]
}
Infer({method: 'MCMC', kernel: {HMC: {steps: fugueSteps, stepSize: fugueStepSize}}, samples: fugueN, burn: fugueBurn,
       callbacks: [fugueDraws], model: eightSchoolsNonCentred})
`

/**
 * One WebPPL HMC run: its wall time and the kept draws of mu and tau, in order.
 *
 * @example
 * const { mu, tau } = runWebpplHmc(program, data, { steps: 7, stepSize: 0.4, samples: 1000, burn: 100 })
 *
 * @category constructors
 * @since 0.2.0
 */
export const runWebpplHmc = (
  program: Webppl.CompiledProgram,
  data: EightSchoolsData,
  options: { readonly steps: number; readonly stepSize: number; readonly samples: number; readonly burn: number }
): { ms: number; mu: Float64Array; tau: Float64Array } => {
  const mu = new Float64Array(options.samples), tau = new Float64Array(options.samples)
  let n = 0
  const fugueDraws = {
    sample: (draw: { readonly value: readonly [number, number] }) => {
      mu[n] = draw.value[0]
      tau[n] = draw.value[1]
      n++
    }
  }
  const t0 = performance.now()
  Webppl.runCompiled(program, {
    fugueY: [...data.y],
    fugueSigma: [...data.sigma],
    fugueSteps: options.steps,
    fugueStepSize: options.stepSize,
    fugueN: options.samples,
    fugueBurn: options.burn,
    fugueDraws
  })
  const ms = performance.now() - t0
  if (n !== options.samples) throw new Error(`WebPPL kept ${n} draws, expected ${options.samples}`)
  return { ms, mu, tau }
}

/** Fraction of kept draws that moved (a rejected HMC proposal repeats the draw). */
const moved = (xs: Float64Array): number => {
  let k = 0
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[i - 1]) k++
  return k / (xs.length - 1)
}

// ---------------------------------------------------------------------------------------------
// Scaling models
// ---------------------------------------------------------------------------------------------

/**
 * d iid standard normals (no data): the posterior is the prior.
 *
 * @example
 * Nuts.runUnsafe(iidGaussian(100), { samples: 1000 })
 *
 * @category models
 * @since 0.2.0
 */
export const iidGaussian = (d: number): Model.Model<Ad.Real> =>
  function*() {
    let first: Ad.Real = 0
    for (let i = 0; i < d; i++) {
      const x = yield* sample(addr("x", i), Normal(0, 1))
      if (i === 0) first = x
    }
    return first
  }

/**
 * An AR(1) prior, x₁ ~ N(0, 1), x_t ~ N(0.9·x_{t−1}, 1), no data: a correlated Gaussian a
 * diagonal metric cannot whiten (marginal sd up to 2.3, lag-one correlation 0.9).
 *
 * @example
 * Nuts.runUnsafe(ar1Gaussian(100), { samples: 1000 })
 *
 * @category models
 * @since 0.2.0
 */
export const ar1Gaussian = (d: number): Model.Model<Ad.Real> =>
  function*() {
    let prev = yield* sample(addr("x", 0), Normal(0, 1))
    const first = prev
    for (let i = 1; i < d; i++) prev = yield* sample(addr("x", i), Normal(Ad.mul(0.9, prev), 1))
    return first
  }

/** The hand-written log density and gradient of `iidGaussian(d)`. */
const iidGaussianHand: DensityGradient = (q, g) => {
  let lp = -q.length * HALF_LOG_2PI
  for (let i = 0; i < q.length; i++) {
    lp -= 0.5 * q[i] * q[i]
    g[i] = -q[i]
  }
  return lp
}

/** The hand-written log density and gradient of `ar1Gaussian(d)`: with r_t = x_t − 0.9·x_{t−1} (r_1 = x_1), ∂x_t = −r_t + 0.9·r_{t+1}. */
const ar1GaussianHand: DensityGradient = (q, g) => {
  const d = q.length
  let lp = -d * HALF_LOG_2PI
  let r = q[0]
  for (let t = 0; t < d; t++) {
    const next = t + 1 < d ? q[t + 1] - 0.9 * q[t] : 0
    lp -= 0.5 * r * r
    g[t] = -r + 0.9 * next
    r = next
  }
  return lp
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

const f = (x: number, digits = 0): string => (Number.isFinite(x) ? x.toFixed(digits) : "–")
const ms = (x: number): string => f(x, x < 10 ? 2 : x < 100 ? 1 : 0)
const ns = (x: number): string => (x >= 1e4 ? `${f(x / 1000, 1)} µs` : `${f(x)} ns`)
const rate = (x: number): string => (x >= 1e4 ? `${f(x / 1000, 1)} k` : f(x))

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

/**
 * Runs the NUTS suite and returns its markdown.
 *
 * @example
 * const markdown = runNutsSuite()
 *
 * @category constructors
 * @since 0.2.0
 */
export const runNutsSuite = (): string => {
  const data = eightSchoolsData()
  const model = eightSchoolsNonCentred(data)
  const density = LogDensity.make(model)
  const named = ["mu", "tau"]
  const nutsOnce = (seed: number) => measureHamiltonian(() => Nuts.runUnsafe(model, { samples: SAMPLES, warmup: WARMUP, chains: 1, seed }), named)

  // (1) Our NUTS: the cold run first, before anything else has warmed V8 up.
  const cold = nutsOnce(1)
  for (let i = 0; i < WARM_RUNS; i++) nutsOnce(100 + i)
  const runs = Array.from({ length: TIMED_RUNS }, (_, i) => nutsOnce(2 + i))
  const typical = medianRun(runs)
  const makeMs = timeRuns(() => LogDensity.make(model), { warmup: 3, runs: 11 }).medianMs
  const medianMs = median(runs.map((r) => r.ms))
  const medianGradients = median(runs.map((r) => r.gradients))
  const perGradient = (r: HamiltonianRun, ess: number) => ess / r.gradients
  const perSecond = (r: HamiltonianRun, ess: number) => (1000 * ess) / r.ms
  const essRow = (label: string, pick: (r: HamiltonianRun) => number): Array<string> => [
    label,
    f(median(runs.map(pick))),
    f(median(runs.map((r) => 1000 * perGradient(r, pick(r)))), 1),
    rate(median(runs.map((r) => perSecond(r, pick(r)))))
  ]
  const nutsTable = markdownTable(
    ["", "value"],
    [
      ["wall time, cold (first run in the process)", `${ms(cold.ms)} ms`],
      [`wall time, median of ${TIMED_RUNS} warm runs (min – max)`, `${ms(medianMs)} ms (${ms(Math.min(...runs.map((r) => r.ms)))} – ${ms(Math.max(...runs.map((r) => r.ms)))})`],
      ["aim", `${medianMs <= WALL_AIM_MS ? "✓" : "✗"} ≤ ${WALL_AIM_MS} ms`],
      ["of which LogDensity.make (median of 11, warm)", `${ms(makeMs)} ms`],
      ["gradient evaluations (warm-up + sampling), median", `${f(medianGradients)} (${f(median(runs.map((r) => r.warmupGradients)))} + ${f(median(runs.map((r) => r.gradients - r.warmupGradients)))})`],
      ["wall time per gradient evaluation, median", ns(median(runs.map((r) => (1e6 * r.ms) / r.gradients)))],
      ["mean leapfrog steps / tree depth per draw, median", `${f(median(runs.map((r) => r.meanLeapfrog)), 2)} / ${f(median(runs.map((r) => r.meanTreeDepth)), 2)}`],
      ["adapted step size, median", f(median(runs.map((r) => r.stepSize)), 3)],
      ["mean acceptance statistic, median", f(median(runs.map((r) => r.meanAcceptStat)), 3)],
      ["divergences (all timed runs)", String(sum(runs.map((r) => r.divergences)))],
      ["gradient source", typical.gradientSource]
    ]
  )
  const essTable = markdownTable(
    ["ESS (bulk)", "per run, median", "per 1000 gradients", "per second"],
    [
      essRow("min over the 10 sites", (r) => r.ess.bulkMin),
      essRow("mu", (r) => r.ess.named.mu),
      essRow("tau", (r) => r.ess.named.tau),
      essRow("tail, min over sites", (r) => r.ess.tailMin)
    ]
  )

  // (2) The limit: hand-written samplers on the analytic gradient, with the median run's ε, metric and L.
  const hand = eightSchoolsNonCentredHand(data)
  const points = eightSchoolsPoints(data, 16)
  const handGradientNs = gradientNs(hand, points)
  const compiledGradientNs = gradientNs((q, g) => density.logDensityGradient(q, g), points)
  const L = Math.max(1, Math.round(typical.meanLeapfrog))
  const handOptions = (iterations: number, seed: number): Hand.HandOptions => ({
    dimension: density.dimension,
    stepSize: typical.stepSize,
    iterations,
    // q = [mu, log tau, eta_1 … eta_J], the hand-written density's coordinates (and LogDensity's)
    initial: Float64Array.from([typical.lastDraw.mu, Math.log(typical.lastDraw.tau), ...Array.from({ length: data.J }, (_, j) => typical.lastDraw[`eta#${j}`])]),
    seed,
    inverseMetric: typical.inverseMetric
  })
  const staticIterations = Math.round(typical.gradients / L)
  let handSeed = 1
  let staticResult: Hand.HandResult | undefined
  const staticTimes = timeRuns(() => {
    staticResult = Hand.staticHmc(hand, handOptions(staticIterations, handSeed++), L)
  }, { warmup: 3, runs: 11 })
  let nutsResult: Hand.HandResult | undefined
  const handNutsTimes = timeRuns(() => {
    nutsResult = Hand.nuts(hand, handOptions(WARMUP + SAMPLES, handSeed++))
  }, { warmup: 3, runs: 11 })
  const staticPerStep = (1e6 * staticTimes.medianMs) / staticResult!.gradientEvaluations
  const handNutsPerStep = (1e6 * handNutsTimes.medianMs) / nutsResult!.gradientEvaluations
  const oursPerStep = (1e6 * medianMs) / medianGradients
  const handNutsMu = Hand.column(nutsResult!.draws, density.dimension, 0)
  const limitTable = markdownTable(
    ["sampler", "gradients per run", "wall time per run", "ns per leapfrog step", "ours ÷ this, per leapfrog step", "aim"],
    [
      [`ours: Nuts.runUnsafe (warm-up + ${SAMPLES} draws, median run)`, f(medianGradients), `${ms(medianMs)} ms`, ns(oursPerStep), "1.00×", "–"],
      [`hand-written static HMC, L = ${L}, ε = ${f(typical.stepSize, 3)}, our metric, ${staticIterations} transitions`, f(staticResult!.gradientEvaluations), `${ms(staticTimes.medianMs)} ms`, ns(staticPerStep), ratio(oursPerStep, staticPerStep), "–"],
      [`hand-written NUTS, same ε and metric, ${WARMUP + SAMPLES} transitions (no adaptation)`, f(nutsResult!.gradientEvaluations), `${ms(handNutsTimes.medianMs)} ms`, ns(handNutsPerStep), ratio(oursPerStep, handNutsPerStep), "–"],
      ["hand-written analytic gradient alone", "–", "–", ns(handGradientNs), ratio(oursPerStep, handGradientNs), aim(oursPerStep / handGradientNs, "<=", LEAPFROG_AIM)],
      ["compiled LogDensity gradient alone (what our leapfrog calls)", "–", "–", ns(compiledGradientNs), ratio(oursPerStep, compiledGradientNs), aim(oursPerStep / compiledGradientNs, "<=", LEAPFROG_AIM)]
    ]
  )
  const overhead = (perStep: number, gradient: number) => f((perStep - gradient) / gradient, 1)
  // the transitions alone (nutsOverhead.ts): no per-run work, CPU time, the same gradient in a loop
  const alone = transitionOverhead(density, typical.stepSize, typical.inverseMetric)
  // beside it the limit's integrator alone (hand-written leapfrog steps, nothing else), L steps a trajectory, on the same two gradients
  const initial = handOptions(1, 0).initial
  const floorCompiled = integratorOverhead(density, typical.stepSize, typical.inverseMetric, initial, points, L)
  const floorHand = integratorOverhead({ dimension: density.dimension, logDensityGradient: hand }, typical.stepSize, typical.inverseMetric, initial, points, L)
  const overheadNote =
    `Sampler overhead per leapfrog step, in gradient evaluations (time per step less one gradient, ÷ one gradient): ours ${overhead(oursPerStep, compiledGradientNs)} (of our compiled gradient), hand-written NUTS ${overhead(handNutsPerStep, handGradientNs)}, hand-written static HMC ${overhead(staticPerStep, handGradientNs)} (of the hand-written gradient); aim for ours ≤ 1. ` +
    `Those are whole runs (building the density, the warm-up's adaptation and recording the draws included); on the transitions alone (\`nutsOverhead.ts\`: the median run's ε and metric, CPU time, against the same gradient in a loop) ours is ${f(alone.overhead, 2)} (quartiles ${f(alone.quartiles[0], 2)} – ${f(alone.quartiles[1], 2)}): ${ns(alone.stepNs)} a step, ${ns(alone.gradientNs)} a gradient (${alone.overhead <= 1 ? "✓" : "✗"} aim ≤ 1); the same gradient in a dependent chain, each point from the last gradient as a leapfrog's are (\`gradientChain\`), takes ${ns(alone.chainNs)}. ` +
    `The limit's integrator alone, hand-written (\`Hand.leapfrogOnly\`: trajectories of L = ${L} steps, no momentum draws, no acceptance, no tree), on the same basis, is ${f(floorCompiled.overhead, 2)} of our compiled gradient (quartiles ${f(floorCompiled.quartiles[0], 2)} – ${f(floorCompiled.quartiles[1], 2)}; ${ns(floorCompiled.stepNs)} a step), ${f(floorHand.overhead, 2)} of the hand-written one (${f(floorHand.quartiles[0], 2)} – ${f(floorHand.quartiles[1], 2)}).`
  const handNote = `Hand-written NUTS check: mean tree depth ${f(nutsResult!.meanTreeDepth, 2)}, acceptance statistic ${f(nutsResult!.meanAcceptStat, 3)}, E[mu] ${f(handNutsMu.reduce((a, b) => a + b, 0) / handNutsMu.length, 2)}, ESS(mu) ${f(orNaN(Diagnostics.essBulk([handNutsMu])))}; static HMC acceptance ${f(staticResult!.meanAcceptStat, 3)}.`

  // (3) WebPPL's HMC with the same ε and L, unit metric, and ours on exactly that algorithm.
  const compiled = Webppl.compile(eightSchoolsNonCentredWebppl)
  const webpplOptions = { steps: L, stepSize: typical.stepSize, samples: WEBPPL_SAMPLES, burn: WEBPPL_BURN }
  runWebpplHmc(compiled.program, data, webpplOptions)
  const webpplRuns = Array.from({ length: 3 }, () => {
    const r = runWebpplHmc(compiled.program, data, webpplOptions)
    const gradients = (WEBPPL_BURN + WEBPPL_SAMPLES) * L
    return {
      ms: r.ms,
      gradients,
      essMu: orNaN(Diagnostics.essBulk([r.mu])),
      essTau: orNaN(Diagnostics.essBulk([r.tau])),
      moved: moved(r.mu),
      meanTau: r.tau.reduce((a, b) => a + b, 0) / r.tau.length
    }
  })
  const webppl = {
    ms: median(webpplRuns.map((r) => r.ms)),
    nsPerGradient: median(webpplRuns.map((r) => (1e6 * r.ms) / r.gradients)),
    essMin: median(webpplRuns.map((r) => Math.min(r.essMu, r.essTau))),
    essPerGradient: median(webpplRuns.map((r) => Math.min(r.essMu, r.essTau) / r.gradients)),
    essPerSecond: median(webpplRuns.map((r) => (1000 * Math.min(r.essMu, r.essTau)) / r.ms)),
    moved: median(webpplRuns.map((r) => r.moved)),
    meanTau: median(webpplRuns.map((r) => r.meanTau))
  }
  const hmcOnce = (seed: number) =>
    measureHamiltonian(() =>
      Hmc.runUnsafe(model, { samples: WEBPPL_SAMPLES, warmup: WEBPPL_BURN, chains: 1, seed, steps: L, stepSize: typical.stepSize, metric: "unit", adaptation: false }), named)
  for (let i = 0; i < 3; i++) hmcOnce(200 + i)
  const hmcRuns = Array.from({ length: 5 }, (_, i) => hmcOnce(300 + i))
  const ourHmc = {
    ms: median(hmcRuns.map((r) => r.ms)),
    nsPerGradient: median(hmcRuns.map((r) => (1e6 * r.ms) / r.gradients)),
    essMin: median(hmcRuns.map((r) => Math.min(r.ess.named.mu, r.ess.named.tau))),
    essPerGradient: median(hmcRuns.map((r) => Math.min(r.ess.named.mu, r.ess.named.tau) / r.gradients)),
    essPerSecond: median(hmcRuns.map((r) => (1000 * Math.min(r.ess.named.mu, r.ess.named.tau)) / r.ms)),
    accept: median(hmcRuns.map((r) => r.meanAcceptStat))
  }
  const ourNuts = {
    nsPerGradient: oursPerStep,
    essPerGradient: median(runs.map((r) => Math.min(r.ess.named.mu, r.ess.named.tau) / r.gradients)),
    essPerSecond: median(runs.map((r) => (1000 * Math.min(r.ess.named.mu, r.ess.named.tau)) / r.ms))
  }
  const webpplTable = markdownTable(
    ["sampler", "wall time per run", "ns per gradient", "÷ WebPPL time per gradient", "min(ESS mu, ESS tau)", "per 1000 gradients", "per second", "ESS/s ÷ WebPPL", "aim"],
    [
      [`WebPPL HMC, L = ${L}, ε = ${f(typical.stepSize, 3)}, unit metric, ${WEBPPL_BURN} burn + ${WEBPPL_SAMPLES} draws`, `${ms(webppl.ms)} ms`, ns(webppl.nsPerGradient), "1.00×", f(webppl.essMin), f(1000 * webppl.essPerGradient, 1), rate(webppl.essPerSecond), "1.00×", "–"],
      [`ours, Hmc.runUnsafe, same L, ε, unit metric, no adaptation, ${WEBPPL_BURN} + ${WEBPPL_SAMPLES}`, `${ms(ourHmc.ms)} ms`, ns(ourHmc.nsPerGradient), ratio(webppl.nsPerGradient, ourHmc.nsPerGradient), f(ourHmc.essMin), f(1000 * ourHmc.essPerGradient, 1), rate(ourHmc.essPerSecond), ratio(ourHmc.essPerSecond, webppl.essPerSecond), `per gradient ${aim(webppl.nsPerGradient / ourHmc.nsPerGradient, ">=", WEBPPL_AIM)}`],
      [`ours, Nuts.runUnsafe (section 1, ${WARMUP} + ${SAMPLES})`, `${ms(medianMs)} ms`, ns(ourNuts.nsPerGradient), ratio(webppl.nsPerGradient, ourNuts.nsPerGradient), f(median(runs.map((r) => Math.min(r.ess.named.mu, r.ess.named.tau)))), f(1000 * ourNuts.essPerGradient, 1), rate(ourNuts.essPerSecond), ratio(ourNuts.essPerSecond, webppl.essPerSecond), `per effective sample ${aim(ourNuts.essPerSecond / webppl.essPerSecond, ">=", WEBPPL_AIM)}`]
    ]
  )
  const webpplNote = `WebPPL: compile ${f(compiled.compileMs)} ms (once, not timed); ${f(100 * webppl.moved)}% of its draws moved (acceptance), E[tau] ${f(webppl.meanTau, 2)}. Ours with its algorithm: acceptance statistic ${f(ourHmc.accept, 3)}.`

  // (4) ESS per second: NUTS against MH, four chains each.
  const kidiq = kidiqRegression(kidiqData())
  const comparisons: ReadonlyArray<{ readonly name: string; readonly model: Model.Model<unknown>; readonly d: number }> = [
    { name: "eight schools, centred", model: eightSchools(data), d: 10 },
    { name: "eight schools, non-centred", model, d: 10 },
    { name: `kid IQ regression (N = ${kidiqData().N})`, model: kidiq, d: 3 }
  ]
  const CHAINS = 4
  const MH_SAMPLES = 10_000
  const versusRows = comparisons.flatMap(({ d, model: m, name }) => {
    const nutsOf = (seed: number) => measureHamiltonian(() => Nuts.runUnsafe(m, { samples: SAMPLES, warmup: WARMUP, chains: CHAINS, seed }))
    const mhThin = 4 * d
    const mhOf = (seed: number, samples: number) => {
      const t0 = performance.now()
      const post = Mh.runUnsafe(m, { samples, warmup: 5000 * d, thin: mhThin, chains: CHAINS, seed })
      return { ms: performance.now() - t0, ess: essOf(post, []) }
    }
    nutsOf(400)
    mhOf(400, 500)
    const nutsRuns = Array.from({ length: 3 }, (_, i) => nutsOf(401 + i))
    const mhRuns = Array.from({ length: 3 }, (_, i) => mhOf(401 + i, MH_SAMPLES))
    const nutsEssPerSecond = median(nutsRuns.map((r) => (1000 * r.ess.bulkMin) / r.ms))
    const mhEssPerSecond = median(mhRuns.map((r) => (1000 * r.ess.bulkMin) / r.ms))
    const row = (sampler: string, rs: ReadonlyArray<{ ms: number; ess: Ess }>, perSecond: number, extra: string, versus: string) => {
      const t = medianRun(rs)
      return [name, sampler, `${ms(median(rs.map((r) => r.ms)))} ms`, `${f(t.ess.bulkMin)} (${t.ess.bulkMinSite})`, f(t.ess.tailMin), f(t.ess.rhatMax, 3), rate(perSecond), versus, extra]
    }
    return [
      row(`NUTS, ${CHAINS} × (${WARMUP} + ${SAMPLES})`, nutsRuns, nutsEssPerSecond, `${sum(nutsRuns.map((r) => r.divergences))} divergences in 3 runs; ε ${f(median(nutsRuns.map((r) => r.stepSize)), 3)}, ${f(median(nutsRuns.map((r) => r.meanLeapfrog)), 1)} steps/draw`, ratio(nutsEssPerSecond, mhEssPerSecond)),
      row(`MH, ${CHAINS} × (${(5000 * d).toLocaleString("en-US")} + ${MH_SAMPLES.toLocaleString("en-US")} × thin ${mhThin})`, mhRuns, mhEssPerSecond, "", "1.00×")
    ]
  })
  const versusTable = markdownTable(
    ["model", "sampler", "wall time, median of 3", "min bulk ESS (site)", "min tail ESS", "max R-hat", "min bulk ESS/s", "NUTS ÷ MH, ESS/s", "notes"],
    versusRows
  )

  // (5) Cost growth with dimension, with hand-written NUTS on the same ε and metric beside ours.
  const scalingRows = ([["iid N(0, 1)", iidGaussian, iidGaussianHand], ["AR(1), φ = 0.9", ar1Gaussian, ar1GaussianHand]] as const).flatMap(([label, make, handOf]) =>
    [10, 100].map((d) => {
      const m = make(d)
      const dens = LogDensity.make(m)
      const pts = Array.from({ length: 16 }, (_, k) => Float64Array.from({ length: d }, (_, i) => Math.sin(1 + k * 7 + i * 3)))
      if (!agrees(dens, handOf, pts)) throw new Error(`${label}, d = ${d}: the hand-written gradient disagrees with LogDensity's`)
      const gNs = gradientNs((q, g) => dens.logDensityGradient(q, g), pts, 200)
      const once = (seed: number) => measureHamiltonian(() => Nuts.runUnsafe(m, { samples: SAMPLES, warmup: WARMUP, chains: 1, seed }))
      once(500)
      const rs = Array.from({ length: 3 }, (_, i) => once(501 + i))
      const t = medianRun(rs)
      const initial = Float64Array.from({ length: d }, (_, i) => t.lastDraw[`x#${i}`])
      let result: Hand.HandResult | undefined
      let seed = 600
      const handTimes = timeRuns(() => {
        result = Hand.nuts(handOf, { dimension: d, stepSize: t.stepSize, iterations: WARMUP + SAMPLES, initial, seed: seed++, inverseMetric: t.inverseMetric })
      }, { warmup: 1, runs: 3 })
      const oursStep = (1e6 * t.ms) / t.gradients
      const handStep = (1e6 * handTimes.medianMs) / result!.gradientEvaluations
      return [
        label,
        String(d),
        dens.gradientSource,
        ns(gNs),
        `${ms(t.ms)} ms`,
        f(t.gradients),
        ns(oursStep),
        ratio(oursStep, gNs),
        ns(handStep),
        ratio(oursStep, handStep),
        `${f((1000 * t.ms) / SAMPLES, 1)} µs`,
        f(t.meanLeapfrog, 1),
        f(t.ess.bulkMin),
        rate((1000 * t.ess.bulkMin) / t.ms)
      ]
    })
  )
  const scalingTable = markdownTable(
    ["model", "d", "gradient", "ns/gradient alone", "NUTS run (median of 3)", "gradients", "ns per leapfrog step", "÷ gradient alone", "hand-written NUTS, ns per step", "ours ÷ hand", "per kept draw", "steps/draw", "min bulk ESS", "ESS/s"],
    scalingRows
  )

  return [
    "# NUTS suite",
    "",
    environment(),
    "",
    `## 1. Eight schools, non-centred (d = ${density.dimension}): Nuts.runUnsafe, 1 chain, ${WARMUP} warm-up + ${SAMPLES} draws`,
    "",
    nutsTable,
    "",
    essTable,
    "",
    "## 2. The limit: hand-written samplers on the analytic gradient",
    "",
    limitTable,
    "",
    overheadNote,
    "",
    handNote,
    "",
    "## 3. WebPPL 0.9.15's HMC on the same model and coordinates",
    "",
    webpplTable,
    "",
    webpplNote,
    "",
    `## 4. ESS per second: NUTS against MH, ${CHAINS} chains`,
    "",
    versusTable,
    "",
    `## 5. Cost growth with dimension (NUTS, 1 chain, ${WARMUP} + ${SAMPLES})`,
    "",
    scalingTable,
    "",
    `- Section 1: ${WARM_RUNS} untimed runs follow the cold one; the median is over ${TIMED_RUNS} more, seeds 2–${TIMED_RUNS + 1}. Wall time is the`,
    "  whole `Nuts.runUnsafe` call: `LogDensity.make` (discovery, recording, code generation), initialisation, warm-up, sampling,",
    "  building the posterior. ESS per gradient counts every gradient of the run, warm-up included. ESS and R-hat are",
    "  `Diagnostics.essBulk` / `essTail` / `rhat` (rank-normalised, Vehtari et al. 2021); bulk ESS is invariant under tau ↔ log tau.",
    "- Section 2: the hand-written samplers take the median run's adapted ε and diagonal inverse metric and start at its last",
    "  draw; static HMC runs L = round(mean leapfrog steps per draw) steps per transition for as many transitions as make the",
    "  same total of gradients. \"ours ÷ this\" divides our whole-run time per gradient (warm-up adaptation, LogDensity.make and",
    "  all) by theirs. The gradient-alone rows are tinybench medians cycling through 16 points near the posterior bulk.",
    "- Section 3: WebPPL draws from unseeded `Math.random`; its kernel is `{HMC: {steps, stepSize}}` (HMC, then MH on discrete",
    "  choices, of which there are none), each leapfrog step one run of the program with its reverse-mode AD, plus one backward",
    "  pass. Gradients per run are (burn + samples) × L. Its draws are collected in order through the `callbacks` option.",
    "  Our static HMC row runs WebPPL's exact algorithm (unit metric, fixed ε and L, no warm-up adaptation), so its ÷ WebPPL",
    "  columns compare implementations; the NUTS row compares what a user of each gets by default.",
    "- Section 4: MH is `Mh.runUnsafe` (adaptive single-site random walk on the compiled density) with thin = 4 × sites and a",
    "  warm-up of 5000 sweeps; both samplers run one untimed short run first. ESS is the minimum bulk ESS over all sites of the",
    "  four chains. NUTS on the centred eight schools diverges (the funnel); its ESS there is not to be trusted, the",
    "  divergences say so. Kid IQ: kid_score ~ N(beta0 + beta1·mom_iq, sigma) on raw mom_iq, posterior corr(beta0, beta1) ≈ −0.99.",
    "- Section 5: the Gaussians have no data; the AR(1) model draws x_t ~ N(0.9·x_{t−1}, 1) with `Ad.mul`. The hand-written",
    "  NUTS (checked against LogDensity's gradient first) runs 2000 transitions with the median run's ε and metric, from its last draw."
  ].join("\n")
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) writeResult("nuts", runNutsSuite())
