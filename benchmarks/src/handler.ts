/**
 * The handler suite: what one execution of the seed's linear regression costs under each
 * interpreter, against a hand-written JavaScript version of the same work and against
 * WebPPL's forward sampler. Rows: prior execution with a full trace (`PriorHandler`) versus a
 * hand-written forward sampler (3 draws, 8 log-density terms); replay and scoring of a fixed
 * trace (`ReplayHandler`, `ScoreGivenTrace`) versus the hand-written log joint; and two floors
 * that isolate the generator mechanism: a bare generator loop (the same 8 instructions yielded
 * to a driver that answers a constant), and the same generator with the draws and scores done
 * inline by the driver (no handler object, no trace). Run alone: `node src/handler.ts`.
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"
import { addr, Normal, observe, Rng, sample, type Model } from "@fugue/core"
import { PriorHandler, ReplayHandler, run, ScoreGivenTrace } from "@fugue/runtime"
import { linearRegression, regressionData, regressionForward, regressionLogJoint } from "./models.ts"
import { aim, environment, formatThroughput, markdownTable, measureOps, ratio, sink, writeResult, type Throughput } from "./report.ts"
import * as Webppl from "./webppl.ts"

const BATCH = 1000

// A generator that yields the regression's 8 instructions, for the floor rows. It is the
// model itself: the floors differ from the real rows only in what drives it.
const model: Model.Model<number> = linearRegression

/** Steps `model` answering every sample with a constant: the generator + instruction floor. */
const bareLoop = (m: Model.Model<number>): number => {
  const program = m()
  let step = program.next()
  while (step.done !== true) {
    const instruction = step.value
    step = program.next(instruction._tag === "Sample" ? 1 : undefined)
  }
  return step.value
}

/** Steps `model`, drawing and scoring inline in the driver: no handler object, no trace. */
const inlineLoop = (m: Model.Model<number>, rng: Rng.Rng): number => {
  const program = m()
  let logWeight = 0
  let step = program.next()
  while (step.done !== true) {
    const instruction = step.value
    if (instruction._tag === "Sample") {
      const value = instruction.dist.sample(rng)
      logWeight += instruction.dist.logProb(value)
      step = program.next(value)
    } else if (instruction._tag === "Observe") {
      logWeight += instruction.dist.logProb(instruction.observed)
      step = program.next()
    } else {
      // Factor adds its log weight; the regression has no scopes (ScopeEnter/ScopeExit add nothing).
      if (instruction._tag === "Factor") logWeight += instruction.logWeight
      step = program.next()
    }
  }
  return logWeight
}

// The cost ladder: synthetic generators with the regression's shape (3 samples, 5 observes),
// each adding one ingredient of a real execution, so the differences say what each costs.
const ladderDist = Normal(0, 1)
const prebuilt = [
  ...["slope", "intercept", "noise"].map((a) => sample(a, ladderDist)),
  ...[0, 1, 2, 3, 4].map((i) => observe(addr("y", i), ladderDist, regressionData.ys[i]))
]
/** Plain `yield` of 8 prebuilt instruction objects: the generator floor. */
const plainYield = function*(): Generator<unknown, number, unknown> {
  let s = 0
  for (let i = 0; i < 8; i++) s += ((yield prebuilt[i]) as number | undefined) ?? 0
  return s
}
/** Typed `yield*` over 8 fresh instructions, prebuilt distributions, constant addresses. */
const typedYield: Model.Model<number> = function*() {
  let s = 0
  s += yield* sample("slope", ladderDist)
  s += yield* sample("intercept", ladderDist)
  s += yield* sample("noise", ladderDist)
  for (let i = 0; i < 5; i++) yield* observe("y", ladderDist, regressionData.ys[i])
  return s
}
/** As `typedYield`, plus the `addr("y", i)` strings the model builds. */
const typedYieldAddr: Model.Model<number> = function*() {
  let s = 0
  s += yield* sample("slope", ladderDist)
  s += yield* sample("intercept", ladderDist)
  s += yield* sample("noise", ladderDist)
  for (let i = 0; i < 5; i++) yield* observe(addr("y", i), ladderDist, regressionData.ys[i])
  return s
}
const driveConstant = (program: Generator<unknown, number, unknown>): number => {
  let step = program.next()
  while (step.done !== true) step = program.next((step.value as { _tag: string })._tag === "Sample" ? 1 : undefined)
  return step.value
}

/**
 * One row of the handler table.
 *
 * @example
 * const row: HandlerRow = { name: "prior", ours: { opsPerSec: 5e5, rme: 1 } }
 *
 * @category models
 * @since 0.1.0
 */
export interface HandlerRow {
  readonly name: string
  readonly ours: Throughput
  readonly hand?: Throughput
  readonly webppl?: Throughput
  readonly handAim?: number
  readonly webpplAim?: number
}

/**
 * Runs the handler suite and returns its markdown.
 *
 * @example
 * const markdown = runHandlerSuite()
 *
 * @category constructors
 * @since 0.1.0
 */
export const runHandlerSuite = (options: { readonly timeMs?: number } = {}): string => {
  const timeMs = options.timeMs ?? 800
  const rng = Rng.make(1)
  const out = new Float64Array(5)

  // Sanity: all three agree on the numbers before we time them.
  const [, base] = run(new PriorHandler(Rng.make(7)), model)
  const slope = base.choices.get("slope")!.value as number
  const intercept = base.choices.get("intercept")!.value as number
  const noise = base.choices.get("noise")!.value as number
  const handLogJoint = regressionLogJoint(slope, intercept, noise)
  const [, scored] = run(new ScoreGivenTrace(base), model)
  if (Math.abs(handLogJoint - base.totalLogWeight) > 1e-9 * Math.abs(handLogJoint) + 1e-12 ||
    scored.totalLogWeight !== base.totalLogWeight) {
    throw new Error(`log joints disagree: hand ${handLogJoint}, prior ${base.totalLogWeight}, score ${scored.totalLogWeight}`)
  }

  const handForward = measureOps(() => {
    for (let i = 0; i < BATCH; i++) regressionForward(rng, out)
    sink.value += out[3]
  }, BATCH, timeMs)
  const handLogJointOps = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += regressionLogJoint(slope + i * 1e-9, intercept, noise)
    sink.value += acc
  }, BATCH, timeMs)

  const prior = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += run(new PriorHandler(rng), model)[1].logPrior
    sink.value += acc
  }, BATCH, timeMs)
  const replay = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += run(new ReplayHandler(rng, base), model)[1].logPrior
    sink.value += acc
  }, BATCH, timeMs)
  const score = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += run(new ScoreGivenTrace(base), model)[1].logPrior
    sink.value += acc
  }, BATCH, timeMs)
  const bare = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += bareLoop(model)
    sink.value += acc
  }, BATCH, timeMs)
  const inline = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += inlineLoop(model, rng)
    sink.value += acc
  }, BATCH, timeMs)

  const ladderTime = Math.max(200, timeMs / 2)
  const ladderPlain = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += driveConstant(plainYield())
    sink.value += acc
  }, BATCH, ladderTime)
  const ladderTyped = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += driveConstant(typedYield())
    sink.value += acc
  }, BATCH, ladderTime)
  const ladderAddr = measureOps(() => {
    let acc = 0
    for (let i = 0; i < BATCH; i++) acc += driveConstant(typedYieldAddr())
    sink.value += acc
  }, BATCH, ladderTime)

  // WebPPL: Infer({method: 'forward'}) runs the model from the prior N times, drawing the 3
  // latents and scoring all 8 terms (its forward coroutine adds observe's log density to
  // logWeight); rate = N / time of one Infer call.
  const compiled = Webppl.compile(`${Webppl.linearRegressionModel}
Infer({method: 'forward', samples: fugueN, model: linearRegression})`)
  const WEBPPL_N = 5000
  const webpplGlobals = { fugueN: WEBPPL_N, fugueXs: [...regressionData.xs], fugueYs: [...regressionData.ys] }
  const webppl = measureOps(() => Webppl.runCompiled(compiled.program, webpplGlobals), WEBPPL_N, timeMs)

  const rows: Array<HandlerRow> = [
    { name: "prior execution, full trace (PriorHandler)", ours: prior, hand: handForward, webppl, handAim: 4.5, webpplAim: 10 },
    { name: "replay a fixed trace (ReplayHandler)", ours: replay, hand: handLogJointOps },
    { name: "score a fixed trace (ScoreGivenTrace)", ours: score, hand: handLogJointOps },
    { name: "floor: generator + inline draw/score, no handler, no trace", ours: inline, hand: handForward },
    { name: "floor: bare generator loop (8 yields, constant answers)", ours: bare, hand: handForward }
  ]
  const table = markdownTable(
    ["execution of the regression", "Fugue exec/s", "hand-written exec/s", "hand ÷ Fugue", "WebPPL exec/s", "Fugue ÷ WebPPL", "aims"],
    rows.map((r) => [
      r.name,
      formatThroughput(r.ours),
      r.hand === undefined ? "–" : formatThroughput(r.hand),
      ratio(r.hand?.opsPerSec, r.ours.opsPerSec),
      r.webppl === undefined ? "–" : formatThroughput(r.webppl),
      ratio(r.ours.opsPerSec, r.webppl?.opsPerSec),
      [
        r.handAim === undefined || r.hand === undefined ? "" : `hand÷Fugue ${aim(r.hand.opsPerSec / r.ours.opsPerSec, "<=", r.handAim)}`,
        r.webpplAim === undefined || r.webppl === undefined ? "" : `Fugue÷WebPPL ${aim(r.ours.opsPerSec / r.webppl.opsPerSec, ">=", r.webpplAim)}`
      ].filter((s) => s !== "").join("; ")
    ])
  )
  const nsPerExec = (t: Throughput) => (1e9 / t.opsPerSec).toFixed(0)
  const ladder: Array<[string, Throughput]> = [
    ["plain `yield` of 8 prebuilt objects to a constant driver", ladderPlain],
    ["typed `yield*` of 8 fresh instructions (prebuilt distributions, constant addresses)", ladderTyped],
    ["+ `addr(\"y\", i)` address strings", ladderAddr],
    ["+ the real model body: distribution constructors, arithmetic (= bare generator loop over the model)", bare],
    ["+ draws and log densities done inline by the driver (no handler, no trace)", inline],
    ["+ `PriorHandler` and its trace (= prior execution)", prior]
  ]
  const ladderTable = markdownTable(
    ["cost ladder (each row adds one ingredient)", "ns/execution", "added ns", "ns/instruction"],
    ladder.map(([name, t], i) => [
      name,
      nsPerExec(t),
      i === 0 ? "–" : (1e9 / t.opsPerSec - 1e9 / ladder[i - 1][1].opsPerSec).toFixed(0),
      (1e9 / t.opsPerSec / 8).toFixed(0)
    ])
  )
  return [
    "# Handler suite: one execution of the seed's linear regression",
    "",
    environment(),
    "",
    table,
    "",
    "Where a prior execution's time goes (synthetic generators of the same shape: 3 samples, 5 observes; a noisy",
    "difference can come out slightly negative):",
    "",
    ladderTable,
    "",
    "- One execution = 3 latent draws (slope ~ N(0,2), intercept ~ N(0,1), noise ~ Gamma(2,1)) and 8 log-density terms",
    "  (3 prior + 5 likelihood). Every Fugue row builds a new handler and a new trace per execution.",
    "- Hand-written rows use the same `Rng` (`rng.normal()`) and the same Gamma sampler object as the model, with the",
    "  log densities inlined; \"log joint\" (for replay/score) is the 8 terms alone, no draws.",
    `- Per execution: prior ${nsPerExec(prior)} ns, replay ${nsPerExec(replay)} ns, score ${nsPerExec(score)} ns, inline floor ${nsPerExec(inline)} ns,`,
    `  bare generator floor ${nsPerExec(bare)} ns, hand-written forward ${nsPerExec(handForward)} ns, hand-written log joint ${nsPerExec(handLogJointOps)} ns.`,
    `- WebPPL 0.9.15 in process: \`Infer({method: 'forward', samples: ${WEBPPL_N}})\` per timed call, rate = samples / time;`,
    `  \`require("webppl")\` took ${Webppl.loadTimeMs().toFixed(0)} ms and compiling the program ${compiled.compileMs.toFixed(0)} ms (once, not in the timings).`,
    "  WebPPL draws from unseeded `Math.random` (its fastest generator), so the ratio against it is conservative.",
    `- Rates from the median time of batches of ${BATCH} executions (tinybench); ± is the relative margin of error (95%) of the mean batch time, a noise indicator.`
  ].join("\n")
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) writeResult("handler", runHandlerSuite())
