/**
 * Exact enumeration, side by side: `Enumerate.runUnsafe` on a model of 10⁴ paths against a
 * hand-written enumeration of the same sum (nested loops, the same weights, the same merging of
 * equal return values), and WebPPL's `Infer({method: 'enumerate'})` on the same model; then the
 * rational-speech-acts reference game (Frank & Goodman 2012; three levels of nested enumeration
 * with memoised inner inferences) against WebPPL's version with `mem`. Every timed call starts
 * with fresh caches, so the nested rows time the whole computation. Writes
 * `benchmarks/results/enumerate.md`.
 *
 * @since 0.2.0
 */
import { Categorical, DiscreteUniform, factor, memoize, observe, sample } from "@fugue/core"
import type { MarginalDistribution } from "@fugue/core/distributions/Marginal"
import type { Model } from "@fugue/core/Model"
import * as Enumerate from "@fugue/inference/Enumerate"
import { environment, markdownTable, ratio, timeRuns, writeResult } from "./report.ts"
import * as Webppl from "./webppl.ts"

// ---- 10⁴ paths: four digits d_k ∈ {0..9}, a soft constraint on their sum, return the sum ----
const DIGITS = 4
const TARGET = 18
/** log factor of the constraint: −(Σd − 18)² / 8. */
const soft = (s: number): number => -((s - TARGET) ** 2) / 8

export const digits: Model<number> = function*() {
  let s = 0
  for (let k = 0; k < DIGITS; k++) s += yield* sample(`d${k}`, DiscreteUniform(0, 9))
  yield* factor(soft(s))
  return s
}

/** The same sum by hand: the unnormalised mass of each sum value, and the evidence. */
export const digitsHand = (): { mass: Map<number, number>; logEvidence: number } => {
  const mass = new Map<number, number>()
  const w0 = Math.log(0.1) * DIGITS
  let z = 0
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 10; b++) {
      for (let c = 0; c < 10; c++) {
        for (let d = 0; d < 10; d++) {
          const s = a + b + c + d
          const w = Math.exp(w0 + soft(s))
          mass.set(s, (mass.get(s) ?? 0) + w)
          z += w
        }
      }
    }
  }
  return { mass, logEvidence: Math.log(z) }
}

const digitsWebppl = `
var digits = function() {
  var s = randomInteger(10) + randomInteger(10) + randomInteger(10) + randomInteger(10)
  factor(-(s - 18) * (s - 18) / 8)
  return s
}
Infer({method: 'enumerate'}, digits)
`

// ---- the reference game ----
const objects = ["blue square", "blue circle", "green square"] as const
const utterances = ["blue", "green", "square", "circle"] as const
type Obj = (typeof objects)[number]
type Utt = (typeof utterances)[number]

/** A fresh pragmatic listener (new caches): P(object | utterance). */
export const rsa = (u: Utt): MarginalDistribution<Obj> => {
  const literal = memoize((w: Utt): MarginalDistribution<Obj> =>
    Enumerate.runUnsafe(function*() {
      const o = objects[yield* sample("o", Categorical([1, 1, 1]))]!
      yield* factor(o.includes(w) ? 0 : -Infinity)
      return o
    }).distribution
  )
  const speaker = memoize((o: Obj): MarginalDistribution<Utt> =>
    Enumerate.runUnsafe(function*() {
      const w = utterances[yield* sample("u", DiscreteUniform(0, 3))]!
      yield* factor(literal(w).logProb(o))
      return w
    }).distribution
  )
  return Enumerate.runUnsafe(function*() {
    const o = objects[yield* sample("o", Categorical([1, 1, 1]))]!
    yield* observe("u", speaker(o), u)
    return o
  }).distribution
}

const rsaWebppl = `
var objects = ['blue square', 'blue circle', 'green square']
var utterances = ['blue', 'green', 'square', 'circle']
var run = function() {
  var literal = mem(function(u) {
    return Infer({method: 'enumerate'}, function() {
      var o = uniformDraw(objects)
      condition(o.indexOf(u) > -1)
      return o
    })
  })
  var speaker = mem(function(o) {
    return Infer({method: 'enumerate'}, function() {
      var u = uniformDraw(utterances)
      factor(literal(u).score(o))
      return u
    })
  })
  return Infer({method: 'enumerate'}, function() {
    var o = uniformDraw(objects)
    observe(speaker(o), 'blue')
    return o
  })
}
run()
`

const main = (): void => {
  const lines: Array<string> = []
  const log = (s: string) => {
    console.log(s)
    lines.push(s)
  }
  log("# Enumeration\n")
  log(environment())

  // correctness before timing
  const ours = Enumerate.runUnsafe(digits)
  const hand = digitsHand()
  if (ours.paths !== 10_000 || Math.abs(ours.logEvidence - hand.logEvidence) > 1e-10) throw new Error("enumeration disagrees with the hand-written sum")
  const paths = 10_000
  const tOurs = timeRuns(() => Enumerate.runUnsafe(digits), { warmup: 3, runs: 15 })
  const tHand = timeRuns(() => digitsHand(), { warmup: 3, runs: 15 })
  const wDigits = Webppl.compile(digitsWebppl)
  const wd = Webppl.runCompiled<{ score(x: number): number }>(wDigits.program)
  const wp = Math.exp(wd.score(18)), op = ours.distribution.probability(18)
  if (Math.abs(wp - op) > 1e-9) throw new Error(`WebPPL's enumeration disagrees: P(18) ${wp} vs ${op}`)
  const tWebppl = timeRuns(() => Webppl.runCompiled(wDigits.program), { warmup: 1, runs: 5 })
  const pps = (ms: number) => (paths / ms) * 1000

  const blue = rsa("blue")
  if (Math.abs(blue.probability("blue square") - 0.6) > 1e-12) throw new Error("RSA: expected 3/5")
  const tRsa = timeRuns(() => rsa("blue"), { warmup: 20, runs: 50 })
  const wRsa = Webppl.compile(rsaWebppl)
  const wr = Webppl.runCompiled<{ score(x: string): number }>(wRsa.program)
  if (Math.abs(Math.exp(wr.score("blue square")) - 0.6) > 1e-9) throw new Error("WebPPL RSA: expected 3/5")
  const tRsaW = timeRuns(() => Webppl.runCompiled(wRsa.program), { warmup: 3, runs: 15 })

  log("\n## 10⁴ paths (four digits with a soft sum constraint), and the nested reference game\n")
  log(markdownTable(
    ["work", "Fugue", "hand-written", "hand ÷ Fugue (time)", "WebPPL", "Fugue ÷ WebPPL (speed)"],
    [
      [
        "enumerate 10 000 paths",
        `${tOurs.medianMs.toFixed(2)} ms (${(pps(tOurs.medianMs) / 1e6).toFixed(2)} M paths/s)`,
        `${tHand.medianMs.toFixed(3)} ms`,
        `${(tOurs.medianMs / tHand.medianMs).toFixed(1)}× slower`,
        `${tWebppl.medianMs.toFixed(1)} ms (${(pps(tWebppl.medianMs) / 1e3).toFixed(0)} k paths/s)`,
        ratio(tWebppl.medianMs, tOurs.medianMs)
      ],
      [
        "RSA listener('blue'), 3 levels, memoised, fresh caches",
        `${(tRsa.medianMs * 1000).toFixed(0)} µs`,
        "–",
        "–",
        `${tRsaW.medianMs.toFixed(2)} ms`,
        ratio(tRsaW.medianMs, tRsa.medianMs)
      ]
    ]
  ))
  log(`\n- Fugue: \`Enumerate.runUnsafe\` depth-first (one execution per path, each replaying its prefix through the driver); median of ${tOurs.runs} runs.`)
  log("- Hand-written: four nested loops computing the same weights and merging by sum value into a Map (no generators, no replay).")
  log(`- WebPPL 0.9.15: \`Infer({method: 'enumerate'})\` (compile ${wDigits.compileMs.toFixed(0)} ms and ${wRsa.compileMs.toFixed(0)} ms once, not timed); its answers are checked against ours first (P(sum = 18), P(blue square | 'blue') = 3/5).`)
  writeResult("enumerate", lines.join("\n"))
}

if (import.meta.url === `file://${process.argv[1]}`) main()
