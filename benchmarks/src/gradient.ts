/**
 * The gradient suite: what one ∇ log density on the unconstrained space costs under each of
 * `LogDensity`'s gradient sources (compiled, taped, finite differences) against a hand-written
 * analytic gradient of the same function (`gradientModels.ts`, checked equal to 1e-12 in
 * `test/gradient.test.ts`). Models: eight schools, non-centred (d = 10), and the arsenic-wells
 * logistic regression (N = 3020 rows, d = 3), written with scalar `Ad` operations and with one
 * `Ad.dot` per row; then the wells regression on its first N = 100, 300, 1000, 3020 rows, so the
 * growth with model size shows. Run alone: `node src/gradient.ts`.
 *
 * @since 0.2.0
 */
import { fileURLToPath } from "node:url"
import type { Model } from "@fugue/core"
import * as LogDensity from "@fugue/inference/LogDensity"
import {
  eightSchoolsNonCentred,
  eightSchoolsNonCentredHand,
  eightSchoolsPoints,
  type DensityGradient,
  wellsData,
  wellsHead,
  wellsLogistic,
  wellsLogisticDot,
  wellsLogisticLinear,
  wellsLogisticHand,
  wellsPoints
} from "./gradientModels.ts"
import { eightSchoolsData } from "./models.ts"
import { aim, environment, markdownTable, measureOps, ratio, sink, writeResult } from "./report.ts"

/** Points cycled through by every timed batch (the same for every source of a model). */
const POINTS = 16
const SIZES = [100, 300, 1000, 3020] as const
/** `maxCompiledNodes` that lets the full wells tape compile. */
const NO_LIMIT = 1_000_000
const COMPILED_AIM = 1.5
const TAPED_AIM = 10

/** A gradient to time: a function of (q, grad), the points it cycles through, and how many calls make one batch. */
interface Job {
  readonly gradient: DensityGradient
  readonly points: ReadonlyArray<Float64Array>
  readonly perBatch: number
}

/** A `LogDensity`, the wall time of its `make`, and its gradient as a job. */
interface Built {
  readonly density: LogDensity.LogDensity
  readonly makeMs: number
  readonly job: Job
}

/** What a job measured: nanoseconds per gradient and tinybench's relative margin of error (%). */
interface Timing {
  readonly ns: number
  readonly rme: number
}

const job = (gradient: DensityGradient, points: ReadonlyArray<Float64Array>, perBatch: number): Job => ({
  gradient,
  points,
  perBatch: Math.max(1, Math.round(perBatch))
})

const build = (model: Model.Model<unknown>, options: LogDensity.Options, points: ReadonlyArray<Float64Array>, perBatch: number): Built => {
  const t0 = performance.now()
  const density = LogDensity.make(model, options)
  const makeMs = performance.now() - t0
  // A large compiled density is many generated functions, which V8 optimises one by one over
  // about 10⁴ calls (slower than the tape meanwhile): time its steady state, after 30 000 calls.
  if (density.gradientSource === "compiled" && options.maxCompiledNodes !== undefined) {
    const grad = new Float64Array(density.dimension)
    for (let i = 0; i < 30_000; i++) sink.value += density.logDensityGradient(points[i % points.length]!, grad)
  }
  return { density, makeMs, job: job((q, grad) => density.logDensityGradient(q, grad), points, perBatch) }
}

/** A batch: `perBatch` gradients at the points in turn, folded into the sink. */
const batchOf = (j: Job): () => void => {
  const { gradient, perBatch, points } = j
  const grad = new Float64Array(points[0].length)
  let k = 0
  return () => {
    let acc = 0
    for (let i = 0; i < perBatch; i++) {
      acc += gradient(points[k], grad) + grad[0]
      k = (k + 1) % points.length
    }
    sink.value += acc
  }
}

/**
 * Times every job. Every batch runs before any is timed, so each call site (the batch loop's,
 * LogDensity's dispatch) has already seen every function it will see: no source is timed while
 * its call site is still monomorphic and the others' are not.
 */
const timeAll = (jobs: ReadonlyArray<Job>, timeMs: number): Map<Job, Timing> => {
  const batches = jobs.map(batchOf)
  for (let round = 0; round < 3; round++) for (const batch of batches) batch()
  const timings = new Map<Job, Timing>()
  jobs.forEach((j, i) => {
    const t = measureOps(batches[i], j.perBatch, timeMs)
    timings.set(j, { ns: 1e9 / t.opsPerSec, rme: t.rme })
  })
  return timings
}

/** Throws unless `built` computes the hand-written value and gradient at `q` (to `tolerance`, relative above 1). */
const agree = (label: string, built: Built, hand: DensityGradient, q: Float64Array, tolerance: number): void => {
  const d = built.density.dimension
  const expected = new Float64Array(d)
  const actual = new Float64Array(d)
  const lpHand = hand(q, expected)
  const lp = built.density.logDensityGradient(q, actual)
  const close = (a: number, b: number) => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b))
  let ok = close(lp, lpHand)
  for (let i = 0; i < d; i++) ok = ok && close(actual[i], expected[i])
  if (!ok) throw new Error(`${label}: LogDensity (${lp}, [${actual.join(", ")}]) disagrees with the hand-written gradient (${lpHand}, [${expected.join(", ")}])`)
}

/** The tape size in a `gradientReason` ("the tape (146 nodes) …", "the tape has 30225 nodes, …"). */
const tapeNodes = (reason: string): string => /(\d+) nodes/.exec(reason)?.[1] ?? "–"

const ns = (x: number): string => (!Number.isFinite(x) ? "–" : x >= 1e5 ? `${(x / 1000).toFixed(0)} µs` : x >= 1e4 ? `${(x / 1000).toFixed(1)} µs` : x.toFixed(0))
const ms = (x: number): string => x.toFixed(x < 10 ? 1 : 0)

/** One row count of the scaling table: the hand-written gradient, the compiled and taped sources, and what `auto` picks. */
interface Size {
  readonly n: number
  readonly hand: Job
  readonly compiled: Built
  readonly taped: Built
  readonly auto: LogDensity.LogDensity
}

/**
 * Runs the gradient suite and returns its markdown.
 *
 * @example
 * const markdown = runGradientSuite()
 *
 * @category constructors
 * @since 0.2.0
 */
export const runGradientSuite = (options: { readonly timeMs?: number } = {}): string => {
  const timeMs = options.timeMs ?? 500

  // (1) Eight schools, non-centred.
  const schools = eightSchoolsData()
  const schoolsModel = eightSchoolsNonCentred(schools)
  const schoolsHand = eightSchoolsNonCentredHand(schools)
  const schoolsPoints = eightSchoolsPoints(schools, POINTS)
  const schoolsHandJob = job(schoolsHand, schoolsPoints, 5000)
  const schoolsAuto = build(schoolsModel, {}, schoolsPoints, 5000)
  const schoolsTaped = build(schoolsModel, { gradient: "taped" }, schoolsPoints, 1000)
  const schoolsFd = build(schoolsModel, { gradient: "finite-differences" }, schoolsPoints, 20)

  // (2) and (3) Wells: the first N rows, scalar Ad per row; at N = 3020 also finite differences and Ad.dot.
  const wells = wellsData()
  const rowsPoints = wellsPoints(POINTS)
  // about a millisecond per batch: hand-written ≈ 20 ns/row, the tape ≈ 100–250 ns/row
  const handBatch = (n: number) => 50_000 / n
  const tapeBatch = (n: number) => 5_000 / n
  const sizes: Array<Size> = SIZES.map((n) => {
    const data = n === wells.N ? wells : wellsHead(wells, n)
    const model = wellsLogistic(data)
    return {
      n,
      hand: job(wellsLogisticHand(data), rowsPoints, handBatch(n)),
      compiled: build(model, { gradient: "compiled", maxCompiledNodes: NO_LIMIT }, rowsPoints, tapeBatch(n)),
      taped: build(model, { gradient: "taped" }, rowsPoints, tapeBatch(n)),
      auto: LogDensity.make(model)
    }
  })
  const full = sizes[sizes.length - 1]
  const wellsHand = wellsLogisticHand(wells)
  const wellsDot = wellsLogisticDot(wells)
  const wellsFd = build(wellsLogistic(wells), { gradient: "finite-differences" }, rowsPoints, 1)
  const dotCompiled = build(wellsDot, { gradient: "compiled", maxCompiledNodes: NO_LIMIT }, rowsPoints, tapeBatch(wells.N))
  const dotTaped = build(wellsDot, { gradient: "taped" }, rowsPoints, tapeBatch(wells.N))
  const dotAuto = LogDensity.make(wellsDot)
  const wellsLinear = wellsLogisticLinear(wells)
  const linearAuto = build(wellsLinear, {}, rowsPoints, handBatch(wells.N))

  // Sanity before timing: every source computes the hand-written value and gradient (the test checks 1e-12).
  for (const [label, b, tolerance] of [
    ["eight schools, compiled", schoolsAuto, 1e-9],
    ["eight schools, taped", schoolsTaped, 1e-9],
    ["eight schools, finite differences", schoolsFd, 1e-5],
    ["wells, finite differences", wellsFd, 1e-5],
    ["wells, Ad.dot, compiled", dotCompiled, 1e-9],
    ["wells, Ad.dot, taped", dotTaped, 1e-9],
    ["wells, Ad.linear, fused", linearAuto, 1e-9]
  ] as const) agree(label, b, label.startsWith("eight") ? schoolsHand : wellsHand, b.job.points[0], tolerance)
  for (const s of sizes) {
    const hand = s.n === wells.N ? wellsHand : wellsLogisticHand(wellsHead(wells, s.n))
    agree(`wells N = ${s.n}, compiled`, s.compiled, hand, rowsPoints[0], 1e-9)
    agree(`wells N = ${s.n}, taped`, s.taped, hand, rowsPoints[0], 1e-9)
  }

  const timings = timeAll([
    schoolsHandJob,
    schoolsAuto.job,
    schoolsTaped.job,
    schoolsFd.job,
    ...sizes.flatMap((s) => [s.hand, s.compiled.job, s.taped.job]),
    wellsFd.job,
    dotCompiled.job,
    dotTaped.job,
    linearAuto.job
  ], timeMs)
  const nsOf = (j: Job): number => timings.get(j)!.ns
  const nsWithNoise = (j: Job): string => `${ns(nsOf(j))} ±${timings.get(j)!.rme.toFixed(1)}%`
  const perRow = (j: Job, n: number): string => ns(nsOf(j) / n)

  const versus = (j: Job, hand: Job, target?: number): [string, string] => [
    ratio(nsOf(j), nsOf(hand)),
    target === undefined ? "measured" : aim(nsOf(j) / nsOf(hand), "<=", target)
  ]

  const schoolsTable = markdownTable(
    ["gradient source", "ns/gradient", "÷ hand-written", "aim", "make (ms)", "tape nodes"],
    [
      ["hand-written analytic", nsWithNoise(schoolsHandJob), "1.00×", "–", "–", "–"],
      [`compiled (\`auto\` picks ${schoolsAuto.density.gradientSource})`, nsWithNoise(schoolsAuto.job), ...versus(schoolsAuto.job, schoolsHandJob, COMPILED_AIM), ms(schoolsAuto.makeMs), tapeNodes(schoolsAuto.density.gradientReason)],
      ["taped", nsWithNoise(schoolsTaped.job), ...versus(schoolsTaped.job, schoolsHandJob, TAPED_AIM), ms(schoolsTaped.makeMs), tapeNodes(schoolsAuto.density.gradientReason)],
      ["finite differences (21 model runs)", nsWithNoise(schoolsFd.job), ...versus(schoolsFd.job, schoolsHandJob), ms(schoolsFd.makeMs), "–"]
    ]
  )

  const wellsRow = (name: string, b: Built, target: number | undefined, nodes: string): Array<string> => [
    name,
    nsWithNoise(b.job),
    perRow(b.job, wells.N),
    ...versus(b.job, full.hand, target),
    ms(b.makeMs),
    nodes
  ]
  const compiledLabel = (auto: LogDensity.LogDensity) => `compiled, rows rolled into a loop (\`auto\` picks ${auto.gradientSource})`
  const scalarNodes = tapeNodes(full.compiled.density.gradientReason)
  const dotNodes = tapeNodes(dotCompiled.density.gradientReason)
  const wellsTable = markdownTable(
    ["model code", "gradient source", "ns/gradient", "ns/row", "÷ hand-written", "aim", "make (ms)", "tape nodes"],
    [
      ["one loop", "hand-written analytic", nsWithNoise(full.hand), perRow(full.hand, wells.N), "1.00×", "–", "–", "–"],
      ["scalar `Ad`", ...wellsRow(compiledLabel(full.auto), full.compiled, COMPILED_AIM, scalarNodes)],
      ["scalar `Ad`", ...wellsRow("taped", full.taped, TAPED_AIM, scalarNodes)],
      ["scalar `Ad`", ...wellsRow("finite differences (7 model runs)", wellsFd, undefined, "–")],
      ["`Ad.dot` per row", ...wellsRow(compiledLabel(dotAuto), dotCompiled, COMPILED_AIM, dotNodes)],
      ["`Ad.dot` per row", ...wellsRow("taped", dotTaped, TAPED_AIM, dotNodes)],
      ["one vectorised observe over `Ad.linear`", ...wellsRow(`\`auto\` picks ${linearAuto.density.gradientSource} (one fused node)`, linearAuto, COMPILED_AIM, "1 fused + 4")]
    ]
  )

  const scalingTable = markdownTable(
    ["N rows", "tape nodes", "`auto` picks", "hand ns/gradient (ns/row)", "compiled ns/gradient (ns/row)", "compiled make (ms)", "taped ns/gradient (ns/row)", "taped make (ms)", "compiled ÷ hand", "taped ÷ hand"],
    sizes.map((s) => [
      String(s.n),
      tapeNodes(s.compiled.density.gradientReason),
      s.auto.gradientSource,
      `${ns(nsOf(s.hand))} (${perRow(s.hand, s.n)})`,
      `${ns(nsOf(s.compiled.job))} (${perRow(s.compiled.job, s.n)})`,
      ms(s.compiled.makeMs),
      `${ns(nsOf(s.taped.job))} (${perRow(s.taped.job, s.n)})`,
      ms(s.taped.makeMs),
      ratio(nsOf(s.compiled.job), nsOf(s.hand)),
      ratio(nsOf(s.taped.job), nsOf(s.hand))
    ])
  )

  return [
    "# Gradient suite: ∇ log density on the unconstrained space",
    "",
    environment(),
    "",
    `## Eight schools, non-centred (d = ${schoolsAuto.density.dimension})`,
    "",
    schoolsTable,
    "",
    `## Arsenic wells, logistic regression (N = ${wells.N} rows, d = ${full.taped.density.dimension})`,
    "",
    wellsTable,
    "",
    `\`auto\` on the scalar model: ${full.auto.gradientReason}. On the \`Ad.dot\` model: ${dotAuto.gradientReason}.`,
    "",
    "## How the cost grows with the number of rows (wells, first N rows, scalar `Ad` model)",
    "",
    scalingTable,
    "",
    "- Eight schools: mu ~ N(0, 5), tau ~ HalfCauchy(5), eta_j ~ N(0, 1), y_j ~ N(mu + tau·eta_j, sigma_j), at",
    "  q = [mu, log tau, eta]. Wells: a, b, c ~ N(0, 2.5), switched_i ~ BernoulliLogit(a + b·dist_i/100 + c·arsenic_i);",
    "  \"scalar `Ad`\" is `Ad.add(Ad.add(a, Ad.mul(b, x_i)), Ad.mul(c, z_i))` per row, \"`Ad.dot`\" is `Ad.dot([a, b, c], [1, x_i, z_i])`.",
    "- Hand-written: the analytic log density and gradient on the same coordinates, Jacobian included, constants",
    "  (log sigma_j, 1/sigma_j, x_i = dist_i/100) computed once, one loop, one `exp` (+ one `log1p`) per wells row",
    "  (`src/gradientModels.ts`; `test/gradient.test.ts` checks it equals LogDensity's value and gradient to 1e-12).",
    "- compiled: the recorded tape as one generated function, straight-line code except that 32 or more repeated rows (the",
    "  wells rows, each feeding the log density's sum) become one loop over the rows reading each row's constants from a",
    "  column, in both sweeps (the same arithmetic in the same order as the straight-line code: the same numbers bit for",
    "  bit); taped: the recorded tape re-evaluated at q by a plan made once (no model run), the log density's normal and",
    "  kernel terms passing their partials to their operands as they are evaluated, the rest swept backwards; finite",
    "  differences: central differences, 2d + 1 runs of the model with plain numbers. `auto` compiles tapes up to",
    "  maxCompiledNodes = 1 500 (nodes plus n-ary operands, a rolled loop counting one row) and tapes larger ones.",
    "- make: wall time of `LogDensity.make` (discovery run, scoring, recording; for compiled also code generation,",
    "  `new Function` and the self-check call), measured once, cold. V8's optimising compile of the generated function",
    "  happens later, on a background thread, and is not in it.",
    "- Node 22's TurboFan does not optimise a function whose bytecode exceeds `--max-optimized-bytecode-size` (60 KB);",
    "  straight-line code for the wells model reaches it at about 175 rows (≈ 1 800 tape nodes), which is why the rows",
    "  are rolled into a loop: the generated function's size no longer grows with the rows.",
    `- ns/gradient from the median time of batches of calls (tinybench, ${timeMs} ms per source) cycling through ${POINTS} fixed points`,
    "  near each posterior's bulk, the same points for every source; ± is the relative margin of error (95%) of the mean",
    "  batch time. Every batch runs three times before any is timed, so each call site has seen every function it will see."
  ].join("\n")
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) writeResult("gradient", runGradientSuite())
