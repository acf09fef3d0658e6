/**
 * Posterior containers. A `Posterior` holds draws per chain per site (as Float64Arrays), the
 * model's return values, and a log weight per draw. MCMC draws are equally weighted
 * (`logWeights` holds each draw's log joint, for diagnostics); importance sampling and SMC
 * fill `weights` with normalised importance weights and `logEvidence`. Sites are the
 * trace's addresses: numbers as they are, booleans as 0/1, vectors flattened to
 * `"name[i]"`. A site absent from some draw (a model whose structure changes) is NaN there,
 * and every statistic of a site (`mean`, `sd`, `quantile`) is taken over the draws where it is
 * present (`presentDraws`). Converts to plain JSON and to columns for plotting or export.
 *
 * @since 0.1.0
 */
import { Marginal, type MarginalDistribution } from "@fugue/core/distributions/Marginal"
import { describe } from "@fugue/core/Value"
import type { Trace } from "@fugue/runtime/Trace"
import * as Data from "effect/Data"
import { sampleQuantile } from "./internal/quantile.ts"

/**
 * Draws from a posterior, chain by chain.
 *
 * @example
 * const post = Mh.runUnsafe(model, { samples: 1000, chains: 4, seed: 1 })
 * Posterior.mean(post, "slope")
 *
 * @category models
 * @since 0.1.0
 */
export interface Posterior<A = unknown, S = unknown> {
  /** The algorithm that produced it ("MH", "IS", "SMC", …). */
  readonly algorithm: string
  /** Site names, sorted. */
  readonly sites: ReadonlyArray<string>
  /** `draws.get(site)[chain][i]`: the i-th draw of `site` in `chain`. */
  readonly draws: ReadonlyMap<string, ReadonlyArray<Float64Array>>
  /** The model's return value per chain per draw. */
  readonly returns: ReadonlyArray<ReadonlyArray<A>>
  /** Per chain per draw: the trace's total log weight (MCMC) or the particle's log importance weight (IS, SMC). */
  readonly logWeights: ReadonlyArray<Float64Array>
  /** Normalised importance weights per chain (sum to 1 within a chain); undefined for equally weighted draws. */
  readonly weights: ReadonlyArray<Float64Array> | undefined
  /** The log marginal likelihood estimate (IS, SMC), per chain. */
  readonly logEvidence: ReadonlyArray<number> | undefined
  /** Algorithm-specific statistics, typed per algorithm (`Mh.Stats`, `Is.Stats`, `Smc.Stats`, …). */
  readonly stats: S
  /** The seed that reproduces the run (`seed` option, or the fresh seed an unseeded run drew); undefined when the streams came from an `Rng` service. */
  readonly seed?: number | undefined
}

/**
 * Collects draws into a `Posterior`; used by the algorithms.
 *
 * @example
 * const b = new Builder<R>("MH", chains, draws)
 * b.record(chain, i, trace, result)
 * const post = b.build({ acceptance })
 *
 * @category constructors
 * @since 0.1.0
 */
export class Builder<A> {
  readonly algorithm: string
  readonly chains: number
  readonly size: number
  readonly columns = new Map<string, Array<Float64Array>>()
  readonly returns: Array<Array<A>>
  readonly logWeights: Array<Float64Array>
  constructor(algorithm: string, chains: number, size: number) {
    this.algorithm = algorithm
    this.chains = chains
    this.size = size
    this.returns = Array.from({ length: chains }, () => new Array<A>(size))
    this.logWeights = Array.from({ length: chains }, () => new Float64Array(size))
  }
  private column(site: string): Array<Float64Array> {
    let col = this.columns.get(site)
    if (col === undefined) {
      col = Array.from({ length: this.chains }, () => new Float64Array(this.size).fill(Number.NaN))
      this.columns.set(site, col)
    }
    return col
  }
  /** Records the `index`-th draw of `chain`; `logWeight` defaults to the trace's total log weight. */
  record(chain: number, index: number, trace: Trace, result: A, logWeight: number = trace.totalLogWeight): void {
    trace.choices.forEachPair((address, choice) => {
      const v = choice.value
      if (typeof v === "number") this.column(address)[chain][index] = v
      else if (typeof v === "boolean") this.column(address)[chain][index] = v ? 1 : 0
      else if (v instanceof Float64Array) for (let k = 0; k < v.length; k++) this.column(`${address}[${k}]`)[chain][index] = v[k]
      // other values (a string or an object drawn from a `Marginal`) have no numeric column; the
      // model's return value carries them
    })
    this.returns[chain][index] = result
    this.logWeights[chain][index] = logWeight
  }
  /**
   * Defers chain `chain`'s return values: `result(index)` computes the index-th one when the
   * posterior's `returns` are first read (samplers that never run the model per draw use it).
   */
  deferReturns(chain: number, result: (index: number) => A): void {
    this.deferred.set(chain, result)
  }
  private readonly deferred = new Map<number, (index: number) => A>()
  private materialize(): Array<Array<A>> {
    for (const [chain, result] of this.deferred) {
      const out = this.returns[chain]
      for (let i = 0; i < this.size; i++) out[i] = result(i)
    }
    this.deferred.clear()
    return this.returns
  }
  /** The finished posterior. */
  build<S = Readonly<Record<string, unknown>>>(options: {
    readonly weights?: ReadonlyArray<Float64Array> | undefined
    readonly logEvidence?: ReadonlyArray<number> | undefined
    readonly stats?: S
    readonly seed?: number | undefined
  } = {}): Posterior<A, S> {
    const sites = Array.from(this.columns.keys()).sort()
    const posterior: Posterior<A, S> = {
      algorithm: this.algorithm,
      sites,
      draws: new Map(sites.map((s) => [s, this.columns.get(s)!])),
      returns: this.returns,
      logWeights: this.logWeights,
      weights: options.weights,
      logEvidence: options.logEvidence,
      stats: (options.stats ?? {}) as S,
      seed: options.seed
    }
    if (this.deferred.size > 0) {
      let returns: ReadonlyArray<ReadonlyArray<A>> | undefined
      Object.defineProperty(posterior, "returns", { enumerable: true, get: () => (returns ??= this.materialize()) })
    }
    return posterior
  }
}

/** A string field as it is, anything else (a field set by hand to any value) described. */
const text = (v: unknown): string => (typeof v === "string" ? v : describe(v))

/**
 * The site asked for is not in the posterior (or is not a string). `sites` lists those it has.
 *
 * @example
 * Posterior.mean(post, "slop") // throws UnknownSiteError { site: "slop", sites: ["intercept", "slope"] }
 *
 * @category errors
 * @since 0.1.0
 */
export class UnknownSiteError extends Data.TaggedError("UnknownSiteError")<{
  readonly site: unknown
  readonly sites: ReadonlyArray<string>
}> {
  override get message(): string {
    const sites = Array.isArray(this.sites) ? this.sites : []
    const shown = sites.slice(0, 20).map((s) => describe(s)).join(", ")
    return `posterior has no site ${describe(this.site)} (sites: ${shown}${sites.length > 20 ? ", …" : ""})`
  }
}

/**
 * A statistic of a site was asked for but no draw has the site (a model whose structure
 * changes can leave a site out of every kept draw), or, in a weighted posterior, every draw
 * that has it carries weight 0. `present` counts the draws that have it, of `draws`.
 *
 * @example
 * Posterior.mean(post, "extra") // throws NoDrawsError { site: "extra", draws: 4000, present: 0 }
 *
 * @category errors
 * @since 0.1.0
 */
export class NoDrawsError extends Data.TaggedError("NoDrawsError")<{
  readonly site: string
  readonly draws: number
  readonly present: number
}> {
  override get message(): string {
    return this.present === 0
      ? `site ${describe(this.site)} is absent from all ${describe(this.draws)} draws`
      : `site ${describe(this.site)} is present in ${describe(this.present)} of ${describe(this.draws)} draws, all of weight 0`
  }
}

/**
 * An argument of a posterior getter was unusable: a quantile level that is not a number in
 * [0, 1], something other than a `Posterior`, a malformed weight, or an infinite draw where a
 * moment is asked for. `input` names the argument, `value` is what was given.
 *
 * @example
 * Posterior.quantile(post, "slope", 2) // throws PosteriorInputError { getter: "quantile", input: "q", value: 2 }
 *
 * @category errors
 * @since 0.1.0
 */
export class PosteriorInputError extends Data.TaggedError("PosteriorInputError")<{
  readonly getter: string
  readonly input: string
  readonly value: unknown
  readonly problem: string
}> {
  override get message(): string {
    return `Posterior.${text(this.getter)}: ${text(this.input)} = ${describe(this.value)} ${text(this.problem)}`
  }
}

const checkPosterior = (getter: string, posterior: unknown): Posterior<unknown> => {
  const p = posterior as Partial<Posterior<unknown>> | null
  if (typeof p !== "object" || p === null || !(p.draws instanceof Map) || !Array.isArray(p.sites)) {
    throw new PosteriorInputError({ getter, input: "posterior", value: posterior, problem: "is not a Posterior" })
  }
  return p as Posterior<unknown>
}

const siteChains = (getter: string, posterior: Posterior<unknown>, site: string): ReadonlyArray<Float64Array> => {
  const d = checkPosterior(getter, posterior).draws.get(site)
  if (d === undefined) throw new UnknownSiteError({ site, sites: posterior.sites })
  return d
}

/**
 * A site's draws per chain (NaN where the draw lacks the site); throws `UnknownSiteError`
 * naming the site when the posterior has no such site.
 *
 * @example
 * Posterior.chainsOf(post, "slope")[0] // Float64Array, chain 0
 *
 * @category getters
 * @since 0.1.0
 */
export const chainsOf = (posterior: Posterior<unknown>, site: string): ReadonlyArray<Float64Array> =>
  siteChains("chainsOf", posterior, site)

/**
 * The draws of a site where it is present, pooled over chains, with the weight each carries in
 * every statistic of this module (`mean`, `sd`, `quantile`) and of `Diagnostics.summary`.
 *
 * @example
 * const { values, weights, missing } = Posterior.presentDraws(post, "slope")
 *
 * @category models
 * @since 0.1.0
 */
export interface PresentDraws {
  /** The draws that have the site, chain 0's first, in draw order. */
  readonly values: Float64Array
  /** Each value's weight (they sum to 1); `undefined` when the draws are equally weighted. */
  readonly weights: Float64Array | undefined
  /** How many draws lack the site. */
  readonly missing: number
  /** Kish's effective sample size Σ_chains (Σw)²/Σw² of the weighted draws; `undefined` when equally weighted. */
  readonly ess: number | undefined
}

const presentDrawsOf = (getter: string, posterior: Posterior<unknown>, site: string): PresentDraws => {
  const chains = siteChains(getter, posterior, site)
  let total = 0
  let n = 0
  for (const c of chains) {
    total += c.length
    for (let i = 0; i < c.length; i++) if (c[i] === c[i]) n++
  }
  if (n === 0) throw new NoDrawsError({ site, draws: total, present: 0 })
  const values = new Float64Array(n)
  const weights = posterior.weights
  if (weights === undefined) {
    let k = 0
    for (const c of chains) for (let i = 0; i < c.length; i++) if (c[i] === c[i]) values[k++] = c[i]
    return { values, weights: undefined, missing: total - n, ess: undefined }
  }
  // Each chain's weights renormalised over the draws that have the site; chains whose present
  // draws all have weight 0 drop out, the others count equally (as IS/SMC chains are independent
  // estimates of one posterior).
  const totals = new Float64Array(chains.length)
  let used = 0
  let ess = 0
  for (let c = 0; c < chains.length; c++) {
    const w = weights[c]
    if (w === undefined || w.length !== chains[c].length) {
      throw new PosteriorInputError({
        getter,
        input: `posterior.weights[${c}]`,
        value: w,
        problem: `must hold one weight per draw (chain ${c} of ${describe(site)} has ${chains[c].length} draws)`
      })
    }
    let squares = 0
    for (let i = 0; i < w.length; i++) {
      const wi = w[i]
      if (!(wi >= 0) || wi === Infinity) {
        throw new PosteriorInputError({ getter, input: `posterior.weights[${c}][${i}]`, value: wi, problem: "must be finite and >= 0" })
      }
      if (chains[c][i] !== chains[c][i]) continue
      totals[c] += wi
      squares += wi * wi
    }
    if (totals[c] > 0) {
      used++
      ess += (totals[c] * totals[c]) / squares
    }
  }
  if (used === 0) throw new NoDrawsError({ site, draws: total, present: n })
  const pooled = new Float64Array(n)
  let k = 0
  for (let c = 0; c < chains.length; c++) {
    const chain = chains[c]
    for (let i = 0; i < chain.length; i++) {
      if (chain[i] !== chain[i]) continue
      values[k] = chain[i]
      pooled[k++] = totals[c] > 0 ? weights[c][i] / totals[c] / used : 0
    }
  }
  return { values, weights: pooled, missing: total - n, ess }
}

/**
 * The draws of a site where it is present and their weights: the sample every statistic of a
 * site is computed from. A draw lacks a site when the model's structure changed (the site is
 * NaN in `draws`); such draws are left out, never counted as NaN.
 *
 * **Details** Equally weighted posteriors (MCMC): every present draw counts equally. Weighted
 * posteriors (IS, SMC): within each chain the weights are renormalised over the draws that
 * have the site, and every chain with positive total weight counts equally. Throws
 * `UnknownSiteError` for an unknown site, `NoDrawsError` when no draw has it (or all that have it
 * weigh 0), `PosteriorInputError` for a malformed weight.
 *
 * @example
 * const { values, missing } = Posterior.presentDraws(post, "extra")
 * missing // draws where "extra" was not sampled
 *
 * @category getters
 * @since 0.1.0
 */
export const presentDraws = (posterior: Posterior<unknown>, site: string): PresentDraws =>
  presentDrawsOf("presentDraws", posterior, site)

const checkFinite = (getter: string, site: string, values: Float64Array): void => {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new PosteriorInputError({ getter, input: `a draw of ${describe(site)}`, value: values[i], problem: `makes the ${getter} undefined` })
    }
  }
}

const meanOf = (values: Float64Array, weights: Float64Array | undefined): number => {
  let m = 0
  if (weights === undefined) {
    for (let i = 0; i < values.length; i++) m += values[i]
    return m / values.length
  }
  for (let i = 0; i < values.length; i++) m += weights[i] * values[i]
  return m
}

/**
 * The posterior mean of a site (weighted where the posterior is), pooling chains, over the
 * draws where the site is present.
 *
 * **Details** Σ_i w_i θ_i over the draws of `presentDraws` (w_i = 1/n for equally weighted
 * draws). Draws that lack the site are left out; a site present in no draw throws
 * `NoDrawsError` naming it, an unknown site `UnknownSiteError`, an infinite draw
 * `PosteriorInputError`.
 *
 * @example
 * Posterior.mean(post, "slope")
 *
 * @category getters
 * @since 0.1.0
 */
export const mean = (posterior: Posterior<unknown>, site: string): number => {
  const { values, weights } = presentDrawsOf("mean", posterior, site)
  checkFinite("mean", site, values)
  return meanOf(values, weights)
}

/**
 * The posterior standard deviation of a site (weighted where the posterior is), pooling
 * chains, over the draws where the site is present.
 *
 * **Details** sqrt(Σ_i w_i (θ_i − θ̄)²) over the draws of `presentDraws` (w_i = 1/n for
 * equally weighted draws: the divisor is n, not n − 1). Draws that lack the site are left out;
 * errors as for `mean`.
 *
 * @example
 * Posterior.sd(post, "slope")
 *
 * @category getters
 * @since 0.1.0
 */
export const sd = (posterior: Posterior<unknown>, site: string): number => {
  const { values, weights } = presentDrawsOf("sd", posterior, site)
  checkFinite("sd", site, values)
  const m = meanOf(values, weights)
  let v = 0
  for (let i = 0; i < values.length; i++) v += (weights === undefined ? 1 / values.length : weights[i]) * (values[i] - m) ** 2
  return Math.sqrt(v)
}

/**
 * A posterior q-quantile of a site, pooling chains, over the draws where the site is present.
 *
 * **Details** The library's one sample-quantile rule (`Diagnostics.quantile`): for equally
 * weighted draws, linear interpolation between order statistics (R type 7, NumPy's default);
 * for weighted draws, the smallest draw whose cumulative weight reaches q (NumPy's weighted
 * `inverted_cdf`). `q` must be a number in [0, 1], else `PosteriorInputError` naming the
 * level; other errors as for `mean` (infinite draws are allowed).
 *
 * @example
 * Posterior.quantile(post, "slope", 0.95)
 *
 * @category getters
 * @since 0.1.0
 */
export const quantile = (posterior: Posterior<unknown>, site: string, q: number): number => {
  if (typeof q !== "number" || !(q >= 0 && q <= 1)) {
    throw new PosteriorInputError({ getter: "quantile", input: "q", value: q, problem: "must be a quantile level in [0, 1]" })
  }
  const { values, weights } = presentDrawsOf("quantile", posterior, site)
  return sampleQuantile(values, q, weights)
}

/**
 * All draws of a site, chains concatenated (unweighted, NaN where a draw lacks the site; see
 * `presentDraws` for the draws that have it).
 *
 * @example
 * Posterior.pooled(post, "slope").length // chains × draws
 *
 * @category getters
 * @since 0.1.0
 */
export const pooled = (posterior: Posterior<unknown>, site: string): Float64Array => {
  const chains = siteChains("pooled", posterior, site)
  let n = 0
  for (const c of chains) n += c.length
  const out = new Float64Array(n)
  let k = 0
  for (const c of chains) {
    out.set(c, k)
    k += c.length
  }
  return out
}

/**
 * Columns for plotting or export: `chain`, `draw`, `logWeight`, optional `weight`, then one
 * column per site.
 *
 * @example
 * const cols = Posterior.toColumns(post); cols.slope.length
 *
 * @category getters
 * @since 0.1.0
 */
export const toColumns = (posterior: Posterior<unknown>): Record<string, Array<number>> => {
  checkPosterior("toColumns", posterior)
  const out: Record<string, Array<number>> = { chain: [], draw: [], logWeight: [] }
  if (posterior.weights) out.weight = []
  for (const s of posterior.sites) out[s] = []
  posterior.logWeights.forEach((lw, c) => {
    for (let i = 0; i < lw.length; i++) {
      out.chain.push(c)
      out.draw.push(i)
      out.logWeight.push(lw[i])
      if (posterior.weights) out.weight.push(posterior.weights[c][i])
      for (const s of posterior.sites) out[s].push(posterior.draws.get(s)![c][i])
    }
  })
  return out
}

/**
 * A plain JSON-ready object (arrays, no typed arrays or maps; −∞ becomes null as JSON does).
 *
 * @example
 * fs.writeFileSync("post.json", JSON.stringify(Posterior.toJSON(post)))
 *
 * @category getters
 * @since 0.1.0
 */
export const toJSON = <A>(posterior: Posterior<A>): {
  algorithm: string
  sites: Array<string>
  draws: Record<string, Array<Array<number>>>
  returns: Array<Array<A>>
  logWeights: Array<Array<number>>
  weights: Array<Array<number>> | null
  logEvidence: Array<number> | null
  stats: Record<string, unknown>
} => {
  checkPosterior("toJSON", posterior)
  return {
    algorithm: posterior.algorithm,
    sites: [...posterior.sites],
    draws: Object.fromEntries(posterior.sites.map((s) => [s, posterior.draws.get(s)!.map((c) => Array.from(c))])),
    returns: posterior.returns.map((r) => [...r]),
    logWeights: posterior.logWeights.map((c) => Array.from(c)),
    weights: posterior.weights ? posterior.weights.map((c) => Array.from(c)) : null,
    logEvidence: posterior.logEvidence ? [...posterior.logEvidence] : null,
    stats: { ...(posterior.stats as object) } as Record<string, unknown>
  }
}

/**
 * The distribution of the model's return value that a posterior's draws represent, as a
 * `Marginal` (equal values merged): equally weighted draws for MCMC, the importance weights for
 * IS and SMC. It can be sampled and scored inside another model: nested inference.
 *
 * @example
 * const speaker = Posterior.marginal(Mh.runUnsafe(speakerModel, { samples: 2000, seed: 1 }))
 * // in an outer model: yield* observe("utterance", speaker, "blue")
 *
 * @category getters
 * @since 0.2.0
 */
export const marginal = <A>(posterior: Posterior<A>): MarginalDistribution<A> => {
  checkPosterior("marginal", posterior)
  const values: Array<A> = []
  const logWeights: Array<number> = []
  posterior.returns.forEach((chain, c) => {
    const w = posterior.weights?.[c]
    for (let i = 0; i < chain.length; i++) {
      values.push(chain[i]!)
      // chains weigh equally; within a weighted chain, its normalised weights
      logWeights.push(w === undefined ? 0 : Math.log(w[i]!))
    }
  })
  return Marginal(values, logWeights)
}
