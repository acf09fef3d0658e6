/**
 * Predictive checks: prior and posterior predictive draws of a model's observations, and the
 * pointwise log-likelihood of the observed data at each posterior draw (what `Loo.psisLoo` and
 * `Loo.waic` take). A predictive draw runs the model with its latent sites drawn from the prior
 * (prior predictive) or set to one posterior draw (posterior predictive), and draws every
 * observation from its distribution there instead of scoring the data. Results are posteriors
 * whose sites are the observation addresses (vector observations flattened to `"y[k]"`), so the
 * summaries, diagnostics and exports apply to them. Factors cannot be simulated and are ignored
 * by predictive draws (they still count in the log-likelihood when asked: `factors: true`).
 *
 * @since 0.2.0
 */
import { addr, type Address } from "@fugue/core/Address"
import { BroadcastDistribution } from "@fugue/core/distributions/Broadcast"
import { type Distribution, InvalidDistributionError } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import * as CoreRng from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { identity } from "@fugue/runtime/Combinators"
import { Execution } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import * as Data from "effect/Data"
import { wrapHandler } from "./internal/shell.ts"
import { checkKeys, maxInstructionsOption, modelOption, positiveInteger, seedOption, transformOption } from "./Options.ts"
import type { Posterior } from "./Posterior.ts"

const ALGORITHM = "Predictive"

/**
 * A posterior draw cannot be replayed: a latent site the model visits has no value in the
 * posterior at that draw (its columns are missing or NaN), as in a model whose structure changes.
 *
 * @example
 * Predictive.posteriorUnsafe(model, postWithoutSiteX) // throws MissingDrawError { address: "x" }
 *
 * @category errors
 * @since 0.2.0
 */
export class MissingDrawError extends Data.TaggedError("MissingDrawError")<{
  readonly address: Address
  readonly chain: number
  readonly draw: number
}> {
  override get message(): string {
    return `Predictive: latent site "${this.address}" has no value in chain ${this.chain}, draw ${this.draw} of the posterior`
  }
}

/** Values of a posterior draw by address, rebuilt from its columns (booleans from 0/1, vectors from `a[k]`). */
class DrawValues {
  private readonly posterior: Posterior<unknown>
  private readonly vectors = new Map<string, number>()
  chain = 0
  draw = 0
  constructor(posterior: Posterior<unknown>) {
    this.posterior = posterior
    for (const site of posterior.sites) {
      const m = /^(.*)\[(\d+)\]$/.exec(site)
      if (m !== null) this.vectors.set(m[1]!, Math.max(this.vectors.get(m[1]!) ?? 0, Number(m[2]) + 1))
    }
  }
  get<T>(address: Address, dist: Distribution<T>): T {
    const column = this.posterior.draws.get(address)
    if (column !== undefined) {
      const v = column[this.chain]![this.draw]!
      if (!(v === v)) throw new MissingDrawError({ address, chain: this.chain, draw: this.draw })
      return (dist.kind === "boolean" ? v !== 0 : v) as T
    }
    const n = this.vectors.get(address)
    if (n === undefined) throw new MissingDrawError({ address, chain: this.chain, draw: this.draw })
    const out = new Float64Array(n)
    for (let k = 0; k < n; k++) {
      const v = this.posterior.draws.get(`${address}[${k}]`)![this.chain]![this.draw]!
      if (!(v === v)) throw new MissingDrawError({ address, chain: this.chain, draw: this.draw })
      out[k] = v
    }
    return out as T
  }
}

/** Latents from the prior or a posterior draw; observations drawn (predictive) or scored (log-likelihood). */
class PredictiveHandler implements Handler<void> {
  readonly rng: CoreRng.Rng
  readonly values: DrawValues | undefined
  readonly score: boolean
  readonly factors: boolean
  /** This run's observations (drawn values, or log-likelihoods), by address, in visit order. */
  readonly out = new Map<Address, number | Float64Array>()
  constructor(rng: CoreRng.Rng, values: DrawValues | undefined, score: boolean, factors: boolean) {
    this.rng = rng
    this.values = values
    this.score = score
    this.factors = factors
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    return this.values === undefined ? dist.sample(this.rng) : this.values.get(address, dist)
  }
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    if (this.score) {
      if (dist instanceof BroadcastDistribution) {
        // a vectorised observation is one observation per coordinate (what PSIS-LOO leaves out)
        const each = new Float64Array(dist.length)
        dist.logProbEach(value as ArrayLike<number>, each)
        for (let i = 0; i < each.length; i++) this.out.set(addr(address, i), each[i]!)
        return
      }
      this.out.set(address, dist.logProb(value))
      return
    }
    const y = dist.sample(this.rng) as unknown
    this.out.set(address, typeof y === "boolean" ? (y ? 1 : 0) : (y as number | Float64Array))
  }
  factor(logWeight: number): void {
    if (this.score && this.factors) this.out.set(`[factor ${this.out.size}]`, logWeight)
  }
  finish(): void {}
  reset(): void {
    this.out.clear()
  }
}

/**
 * Options of the predictive functions.
 *
 * @example
 * const options: Predictive.Options = { draws: 1000, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options {
  /** Prior predictive draws (default 1000; posterior predictive draws follow the posterior's). */
  readonly draws?: number | undefined
  /** Seed of the predictive draws (default 1). */
  readonly seed?: number | undefined
  /** Combinators around the handler (condition, substitute, …). */
  readonly transform?: Transform | undefined
  readonly maxInstructions?: number | undefined
  /** `logLikelihoodUnsafe` only: count each factor as one more term (default false). */
  readonly factors?: boolean | undefined
}

const KEYS = ["draws", "seed", "transform", "maxInstructions", "factors"]

/** Collects runs into columns, one per observation value (vectors flattened to `a[k]`). */
class Columns {
  readonly chains: number
  readonly size: number
  readonly columns = new Map<string, Array<Float64Array>>()
  constructor(chains: number, size: number) {
    this.chains = chains
    this.size = size
  }
  private column(name: string): Array<Float64Array> {
    let c = this.columns.get(name)
    if (c === undefined) this.columns.set(name, (c = Array.from({ length: this.chains }, () => new Float64Array(this.size).fill(Number.NaN))))
    return c
  }
  add(chain: number, index: number, out: ReadonlyMap<Address, number | Float64Array>): void {
    for (const [address, v] of out) {
      if (typeof v === "number") this.column(address)[chain]![index] = v
      else for (let k = 0; k < v.length; k++) this.column(`${address}[${k}]`)[chain]![index] = v[k]!
    }
  }
  posterior(algorithm: string, seed: number): Posterior<undefined, Record<string, never>> {
    const sites = [...this.columns.keys()].sort()
    return {
      algorithm,
      sites,
      draws: new Map(sites.map((s) => [s, this.columns.get(s)!])),
      returns: Array.from({ length: this.chains }, () => new Array(this.size).fill(undefined)),
      logWeights: Array.from({ length: this.chains }, () => new Float64Array(this.size)),
      weights: undefined,
      logEvidence: undefined,
      stats: {},
      seed
    }
  }
}

const runAll = (
  model: Model<unknown>,
  options: Options,
  posterior: Posterior<unknown> | undefined,
  score: boolean,
  algorithm: string
): Posterior<undefined, Record<string, never>> => {
  checkKeys(algorithm, options, KEYS)
  modelOption(algorithm, model)
  const seed = seedOption(algorithm, options.seed) ?? 1
  const transform = transformOption(algorithm, options.transform) ?? identity
  const maxInstructions = maxInstructionsOption(algorithm, options.maxInstructions)
  const factors = options.factors === true
  const rng = CoreRng.make(seed)
  const values = posterior === undefined ? undefined : new DrawValues(posterior)
  const chains = posterior === undefined ? 1 : posterior.logWeights.length
  const size = posterior === undefined ? (options.draws === undefined ? 1000 : positiveInteger(algorithm, "draws", options.draws)) : posterior.logWeights[0]?.length ?? 0
  const handler = new PredictiveHandler(rng, values, score, factors)
  const execution = new Execution(model, wrapHandler(algorithm, transform, handler as Handler<void>, rng), { context: { algorithm }, maxInstructions })
  const columns = new Columns(chains, size)
  let first = true
  for (let c = 0; c < chains; c++) {
    for (let i = 0; i < size; i++) {
      if (values !== undefined) {
        values.chain = c
        values.draw = i
      }
      handler.reset()
      if (!first) execution.restart(model)
      first = false
      try {
        execution.runToEnd()
      } catch (error) {
        // a parameter made invalid by a draw: this run's observations stay NaN, the rest go on
        if (!(error instanceof InvalidDistributionError || (error as { cause?: unknown })?.cause instanceof InvalidDistributionError)) throw error
      }
      columns.add(c, i, handler.out)
    }
  }
  return columns.posterior(algorithm, seed)
}

/**
 * Prior predictive draws: `draws` runs with every latent site drawn from its prior and every
 * observation drawn from its distribution there (one chain).
 *
 * @example
 * const prior = Predictive.priorUnsafe(regression, { draws: 500, seed: 1 })
 * Posterior.mean(prior, "y#0")
 *
 * @category constructors
 * @since 0.2.0
 */
export const priorUnsafe = (model: Model<unknown>, options: Options = {}): Posterior<undefined, Record<string, never>> =>
  runAll(model, options, undefined, false, `${ALGORITHM}.prior`)

/**
 * Posterior predictive draws: for each draw of `posterior` (its chains and draws), the model run
 * with the latent sites at that draw's values and every observation drawn from its distribution.
 *
 * @example
 * const replicated = Predictive.posteriorUnsafe(regression, post, { seed: 2 })
 * Posterior.quantile(replicated, "y#4", 0.95)
 *
 * @category constructors
 * @since 0.2.0
 */
export const posteriorUnsafe = (model: Model<unknown>, posterior: Posterior<unknown>, options: Options = {}): Posterior<undefined, Record<string, never>> =>
  runAll(model, options, posterior, false, `${ALGORITHM}.posterior`)

/**
 * The pointwise log-likelihood: for each draw of `posterior`, log p(yᵢ | θ) of each observe
 * statement i (a column per observation address, chains × draws), the input of `Loo.psisLoo` and
 * `Loo.waic`.
 *
 * @example
 * const ll = Predictive.logLikelihoodUnsafe(regression, post)
 * Loo.psisLoo(ll).elpd
 *
 * @category constructors
 * @since 0.2.0
 */
export const logLikelihoodUnsafe = (model: Model<unknown>, posterior: Posterior<unknown>, options: Options = {}): Posterior<undefined, Record<string, never>> =>
  runAll(model, options, posterior, true, `${ALGORITHM}.logLikelihood`)
