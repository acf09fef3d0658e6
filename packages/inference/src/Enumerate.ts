/**
 * Exact inference by enumeration: every execution path of a model whose latent choices are
 * discrete (Bernoulli, Categorical, Binomial, DiscreteUniform, …), each weighted by the product
 * of its choices' probabilities, observations and factors. The result is the exact distribution
 * of the model's return value (a `Marginal`, which can be sampled and scored, so it can be used
 * inside another model), the log evidence and the most probable value. Paths are explored by
 * re-executing recorded prefixes through the one driver (`Execution`), as WebPPL's `Enumerate`
 * does: at a choice not yet in the prefix every value of the support becomes a branch; a branch
 * whose weight is −∞ is pruned at once. Strategies: depth-first (the default: one execution per
 * complete path), breadth-first, and likely-first (a priority queue on the prefix weight, so
 * that a `maxExecutions` cut keeps the heaviest paths). Infinite integer supports (Poisson,
 * Geometric, NegativeBinomial) are truncated where the remaining prior mass falls below
 * `truncation`, and the mass left out is reported, as is the weight of paths a `maxExecutions`
 * cut leaves unexplored.
 *
 * @since 0.2.0
 */
import type { Address } from "@fugue/core/Address"
import { type Distribution, InvalidDistributionError } from "@fugue/core/Distribution"
import { MarginalBuilder, type MarginalDistribution } from "@fugue/core/distributions/Marginal"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import { describe } from "@fugue/core/Value"
import { identity, PointMass, type Transform } from "@fugue/runtime/Combinators"
import { abort, Execution, ExecutionAbort } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import * as Effect from "effect/Effect"
import { NotEnumerableError, RandomnessInEnumerationError } from "./internal/errors.ts"
import { attemptInference, type InferenceError } from "./internal/attempt.ts"
import { drive, now, transformFor, wrapHandler } from "./internal/shell.ts"
import { finiteSupportValues } from "./internal/support.ts"
import {
  checkKeys,
  type Common,
  InvalidOptionsError,
  maxInstructionsOption,
  modelOption,
  oneOf,
  positiveInteger,
  transformOption,
  ZeroWeightError
} from "./Options.ts"

const ALGORITHM = "Enumerate"
const DEFAULT_MAX_EXECUTIONS = 1_000_000
const DEFAULT_TRUNCATION = 1e-9
/** Values enumerated at most at one site of an infinite support. */
const MAX_SUPPORT = 100_000

/**
 * How the execution tree is explored.
 *
 * @category models
 * @since 0.2.0
 */
export type Strategy = "depthFirst" | "breadthFirst" | "likelyFirst"

/**
 * Options for `run` / `runUnsafe`.
 *
 * @example
 * const options: Enumerate.Options = { strategy: "likelyFirst", maxExecutions: 10_000 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options extends Omit<Common, "seed"> {
  /** Exploration order (default "depthFirst"). Results are the same when nothing is cut off. */
  readonly strategy?: Strategy | undefined
  /** Executions at most (default 10⁶); the weight of what is left unexplored is reported. */
  readonly maxExecutions?: number | undefined
  /** At an infinite integer support, stop once the prior mass left is below this (default 1e-9); the mass left out is reported. */
  readonly truncation?: number | undefined
}

/**
 * The exact result: the return value's distribution, the evidence, and what was left out.
 *
 * @example
 * const r = Enumerate.runUnsafe(model)
 * r.distribution.probability(true) // P(return = true | data)
 *
 * @category models
 * @since 0.2.0
 */
export interface Result<A> {
  /** The distribution of the return value given the data (equal values merged). */
  readonly distribution: MarginalDistribution<A>
  /** log Σ over complete paths of their weights: the log marginal likelihood. */
  readonly logEvidence: number
  /** The most probable return value, and its probability. */
  readonly map: A
  readonly mapProbability: number
  /** The single most probable execution: its choices (address → value) and log weight. */
  readonly mapExecution: { readonly choices: Readonly<Record<string, unknown>>; readonly logWeight: number }
  /** Executions run (an execution replays a prefix, then explores until it completes or branches). */
  readonly executions: number
  /** Complete paths of finite weight (each a term of the evidence). */
  readonly paths: number
  /** Branches dropped because their weight became −∞. */
  readonly pruned: number
  /** Whether every path was explored and nothing truncated. */
  readonly complete: boolean
  /** log of the summed prefix weights of paths a `maxExecutions` cut left unexplored (−∞ when none). */
  readonly unexploredLogWeight: number
  /** log of the prefix-weighted prior mass left out by truncating infinite supports (−∞ when none). */
  readonly truncatedLogWeight: number
  /** What was cut off, in words (empty when `complete`). */
  readonly warnings: ReadonlyArray<string>
}

export { NotEnumerableError, RandomnessInEnumerationError } from "./internal/errors.ts"

const noRandomness: Rng = {
  uniform: () => {
    throw new RandomnessInEnumerationError()
  },
  normal: () => {
    throw new RandomnessInEnumerationError()
  },
  split: () => noRandomness,
  clone: () => noRandomness
}

interface Config {
  readonly strategy: Strategy
  readonly maxExecutions: number
  readonly truncation: number
  readonly transform: Transform | undefined
  readonly maxInstructions: number | undefined
}

const KEYS = ["strategy", "maxExecutions", "truncation", "transform", "maxInstructions"]

const validate = (model: unknown, options: Options): Config => {
  checkKeys(ALGORITHM, options, KEYS)
  modelOption(ALGORITHM, model)
  const strategy = options.strategy === undefined ? "depthFirst" : oneOf(ALGORITHM, "strategy", options.strategy, ["depthFirst", "breadthFirst", "likelyFirst"] as const)
  const maxExecutions = options.maxExecutions === undefined ? DEFAULT_MAX_EXECUTIONS : positiveInteger(ALGORITHM, "maxExecutions", options.maxExecutions)
  const truncation = options.truncation === undefined ? DEFAULT_TRUNCATION : options.truncation
  if (typeof truncation !== "number" || !(truncation > 0 && truncation < 1)) {
    throw new InvalidOptionsError({ algorithm: ALGORITHM, option: "truncation", value: truncation, reason: "must be a number in (0, 1)" })
  }
  return { strategy, maxExecutions, truncation, transform: transformOption(ALGORITHM, options.transform), maxInstructions: maxInstructionsOption(ALGORITHM, options.maxInstructions) }
}

/** A branch of the execution tree: a prefix of choice values (a linked list back to the root). */
interface Branch {
  readonly parent: Branch | undefined
  readonly value: unknown
  /** Prefix weight: choices' log probabilities and the observations and factors met before the last choice. */
  readonly logWeight: number
  /** Creation order, for deterministic ties. */
  readonly seq: number
}

/** The frontier of unexplored branches, in the strategy's order. */
class Frontier {
  private readonly strategy: Strategy
  private items: Array<Branch> = []
  private head = 0
  constructor(strategy: Strategy) {
    this.strategy = strategy
  }
  get size(): number {
    return this.items.length - this.head
  }
  /** Adds the children of one expansion, given in support order. */
  pushAll(children: ReadonlyArray<Branch>): void {
    if (this.strategy === "depthFirst") {
      for (let i = children.length - 1; i >= 0; i--) this.items.push(children[i]!)
    } else if (this.strategy === "breadthFirst") {
      for (const c of children) this.items.push(c)
    } else for (const c of children) this.heapPush(c)
  }
  pop(): Branch | undefined {
    if (this.size === 0) return undefined
    if (this.strategy === "depthFirst") return this.items.pop()
    if (this.strategy === "breadthFirst") {
      const b = this.items[this.head++]!
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head)
        this.head = 0
      }
      return b
    }
    return this.heapPop()
  }
  peek(): Branch | undefined {
    if (this.size === 0) return undefined
    if (this.strategy === "depthFirst") return this.items[this.items.length - 1]
    return this.items[this.head]
  }
  /** log Σ exp(logWeight) over the frontier. */
  logWeight(): number {
    let max = -Infinity
    for (let i = this.head; i < this.items.length; i++) max = Math.max(max, this.items[i]!.logWeight)
    if (max === -Infinity) return -Infinity
    let s = 0
    for (let i = this.head; i < this.items.length; i++) s += Math.exp(this.items[i]!.logWeight - max)
    return max + Math.log(s)
  }
  // a binary max-heap on (logWeight, then earlier seq)
  private before(a: Branch, b: Branch): boolean {
    return a.logWeight > b.logWeight || (a.logWeight === b.logWeight && a.seq < b.seq)
  }
  private heapPush(b: Branch): void {
    const h = this.items
    h.push(b)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }
  private heapPop(): Branch {
    const h = this.items
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1, r = l + 1
        let m = i
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

const logAddExp = (a: number, b: number): number => {
  if (a === -Infinity) return b
  if (b === -Infinity) return a
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b))
}

/** The support of a discrete site as values with their log probabilities, and the prior mass left out. */
const supportOf = (address: Address, dist: Distribution<unknown>, truncation: number): { values: Array<unknown>; logProbs: Array<number>; leftOut: number } => {
  if (dist instanceof PointMass) return { values: [dist.value], logProbs: [dist.logProb(dist.value)], leftOut: 0 }
  const s = dist.support
  const values: Array<unknown> = []
  const logProbs: Array<number> = []
  const add = (v: unknown) => {
    values.push(v)
    logProbs.push(dist.logProb(v))
  }
  const finite = finiteSupportValues(dist, MAX_SUPPORT)
  if (finite !== undefined) {
    for (const v of finite) add(v)
    return { values, logProbs, leftOut: 0 }
  }
  if (s._tag === "Integers" && Number.isFinite(s.lower) && s.upper === Infinity) {
    let mass = 0
    for (let k = s.lower; k < s.lower + MAX_SUPPORT; k++) {
      add(k)
      mass += Math.exp(logProbs[logProbs.length - 1]!)
      if (1 - mass < truncation) break
    }
    return { values, logProbs, leftOut: Math.max(0, 1 - mass) }
  }
  throw new NotEnumerableError({ address, family: dist.family, support: describe(s) })
}

/** Replays a prefix, then branches at the first new choice (and, where the strategy allows, goes on down one branch). */
class EnumerationHandler implements Handler<void> {
  readonly config: Config
  readonly frontier: Frontier
  prefix: Array<unknown> = []
  cursor = 0
  logWeight = 0
  addresses: Array<Address> = []
  values: Array<unknown> = []
  seq = 0
  pruned = 0
  truncatedLogWeight = -Infinity
  constructor(config: Config, frontier: Frontier) {
    this.config = config
    this.frontier = frontier
  }
  start(branch: Branch | undefined): void {
    const prefix: Array<unknown> = []
    for (let b = branch; b !== undefined; b = b.parent) prefix.push(b.value)
    prefix.reverse()
    this.prefix = prefix
    this.cursor = 0
    this.logWeight = 0
    this.addresses = []
    this.values = []
    this.tip = branch
  }
  /** The branch the current execution is on (its prefix so far). */
  tip: Branch | undefined = undefined
  private weigh(lp: number): void {
    this.logWeight += lp
    if (!(this.logWeight > -Infinity)) {
      this.pruned++
      throw abort
    }
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    if (this.cursor < this.prefix.length) {
      const v = this.prefix[this.cursor++] as T
      this.addresses.push(address)
      this.values.push(v)
      this.weigh(dist.logProb(v))
      return v
    }
    // a new choice point: every value of the support is a branch
    const { values, logProbs, leftOut } = supportOf(address, dist as Distribution<unknown>, this.config.truncation)
    if (leftOut > 0) this.truncatedLogWeight = logAddExp(this.truncatedLogWeight, this.logWeight + Math.log(leftOut))
    const base = this.logWeight
    const children: Array<Branch> = []
    for (let k = 0; k < values.length; k++) {
      const lw = base + logProbs[k]!
      if (!(lw > -Infinity)) {
        this.pruned++
        continue
      }
      children.push({ parent: this.tip, value: values[k], logWeight: lw, seq: this.seq++ })
    }
    const first = children[0]
    this.frontier.pushAll(children)
    // go on down the branch the frontier would hand out next, if it is one of these children
    const next = this.frontier.peek()
    if (first === undefined || next === undefined || next.seq < first.seq || this.config.strategy === "breadthFirst") throw abort
    this.frontier.pop()
    this.tip = next
    this.prefix.push(next.value)
    this.cursor++
    this.addresses.push(address)
    this.values.push(next.value)
    this.logWeight = next.logWeight
    return next.value as T
  }
  observe<T>(_address: Address, dist: Distribution<T>, value: T): void {
    this.weigh(dist.logProb(value))
  }
  factor(logWeight: number): void {
    this.weigh(logWeight === logWeight ? logWeight : -Infinity)
  }
  finish(): void {}
}

/** The enumeration's state, advanced in slices by `runUnsafe` and `run`. */
class Enumeration<A> {
  readonly config: Config
  readonly frontier: Frontier
  readonly handler: EnumerationHandler
  readonly execution: Execution<A, void>
  readonly model: Model<A>
  executions = 0
  readonly returns = new MarginalBuilder<A>()
  paths = 0
  /** log Σ of the complete paths' weights, as a running log-sum-exp (max, scaled sum). */
  private maxWeight = -Infinity
  private sumWeight = 0
  best: { choices: Record<string, unknown>; logWeight: number } = { choices: {}, logWeight: -Infinity }
  private started = false
  constructor(model: Model<A>, config: Config, transform: Transform) {
    this.model = model
    this.config = config
    this.frontier = new Frontier(config.strategy)
    this.handler = new EnumerationHandler(config, this.frontier)
    const driven = wrapHandler(ALGORITHM, transform, this.handler as Handler<void>, noRandomness)
    this.execution = new Execution<A, void>(model, driven, { context: { algorithm: ALGORITHM }, maxInstructions: config.maxInstructions })
  }
  /** Runs executions until the tree is exhausted, `maxExecutions`, or the deadline; returns whether it is done. */
  advance(deadline: number): boolean {
    const h = this.handler
    while (this.executions < this.config.maxExecutions) {
      let branch: Branch | undefined
      if (!this.started) this.started = true
      else {
        branch = this.frontier.pop()
        if (branch === undefined) return true
      }
      this.executions++
      h.start(branch)
      try {
        if (this.executions > 1) this.execution.restart(this.model)
        const result = this.execution.runToEnd()
        this.record(result, h.logWeight)
        if (h.logWeight > this.best.logWeight) {
          const choices: Record<string, unknown> = {}
          h.addresses.forEach((a, i) => (choices[a] = h.values[i]))
          this.best = { choices, logWeight: h.logWeight }
        }
      } catch (error) {
        if (!(error instanceof ExecutionAbort)) throw error
      }
      if (deadline < Infinity && now() > deadline) return this.frontier.size === 0
    }
    return true
  }
  private record(result: A, w: number): void {
    try {
      this.returns.add(result, w)
    } catch (error) {
      if (error instanceof InvalidDistributionError && error.parameter === "values") {
        throw new InvalidOptionsError({ algorithm: ALGORITHM, option: "model", value: error.value, reason: "returned a value enumeration cannot compare (a function, symbol, class instance or cyclic object): return plain data" })
      }
      throw error
    }
    this.paths++
    if (w > this.maxWeight) {
      this.sumWeight = this.sumWeight * Math.exp(this.maxWeight - w) + 1
      this.maxWeight = w
    } else this.sumWeight += Math.exp(w - this.maxWeight)
  }
  result(): Result<A> {
    if (this.paths === 0) {
      throw new ZeroWeightError({ algorithm: ALGORITHM, attempts: this.executions, detail: `every one of the ${this.handler.pruned} explored branches has weight -Infinity` })
    }
    const distribution = this.returns.build()
    const logEvidence = this.maxWeight + Math.log(this.sumWeight)
    const unexplored = this.frontier.logWeight()
    const truncated = this.handler.truncatedLogWeight
    const warnings: Array<string> = []
    if (unexplored > -Infinity) {
      warnings.push(`maxExecutions ${this.config.maxExecutions} reached with ${this.frontier.size} branches unexplored: their prefix weight is e^${unexplored.toFixed(3)} against an evidence of e^${logEvidence.toFixed(3)}`)
    }
    if (truncated > -Infinity) {
      warnings.push(`infinite supports truncated at prior mass ${this.config.truncation}: the prefix-weighted mass left out is e^${truncated.toFixed(3)} (evidence e^${logEvidence.toFixed(3)})`)
    }
    return {
      distribution,
      logEvidence,
      map: distribution.mode(),
      mapProbability: distribution.probabilities[0]!,
      mapExecution: this.best,
      executions: this.executions,
      paths: this.paths,
      pruned: this.handler.pruned,
      complete: unexplored === -Infinity && truncated === -Infinity,
      unexploredLogWeight: unexplored,
      truncatedLogWeight: truncated,
      warnings
    }
  }
}

/**
 * Enumerates every execution of `model`, synchronously.
 *
 * **Details**: throws `InvalidOptionsError` before any work, `NotEnumerableError` at a
 * continuous or vector latent site, `RandomnessInEnumerationError` when a transformation draws a
 * random number, `ZeroWeightError` when every path has weight −∞, and the model's own errors
 * (annotated with the address).
 *
 * @example
 * const twoCoins = function* () {
 *   const a = yield* sample("a", Bernoulli(0.5))
 *   const b = yield* sample("b", Bernoulli(0.5))
 *   yield* factor(a || b ? 0 : -Infinity)
 *   return a && b
 * }
 * Enumerate.runUnsafe(twoCoins).distribution.probability(true) // 1/3
 *
 * @category constructors
 * @since 0.2.0
 */
export const runUnsafe = <A>(model: Model<A>, options: Options = {}): Result<A> => {
  const config = validate(model, options)
  const e = new Enumeration(model, config, config.transform ?? identity)
  e.advance(Infinity)
  return e.result()
}

/**
 * Enumerates every execution of `model`, as an Effect: in time slices (interruptible), with
 * progress (executions so far, of `maxExecutions`), the `Interpreter` layers in the context
 * applied. The same result as `runUnsafe`.
 *
 * @example
 * const result = yield* Enumerate.run(model, { strategy: "likelyFirst" })
 *
 * @category constructors
 * @since 0.2.0
 */
export const run = <A>(model: Model<A>, options: Options = {}): Effect.Effect<Result<A>, InferenceError> =>
  Effect.gen(function*() {
    const config = yield* attemptInference(() => validate(model, options))
    const transform = yield* transformFor(config.transform)
    const e = new Enumeration(model, config, transform)
    yield* drive(
      (deadline) => e.advance(deadline),
      () => ({ algorithm: ALGORITHM, chain: 0, done: e.executions, total: config.maxExecutions, phase: "enumerating" })
    )
    return yield* attemptInference(() => e.result())
  })
