/**
 * Posterior containers. A `Posterior` holds draws per chain per site (as Float64Arrays), the
 * model's return values, and a log weight per draw. MCMC draws are equally weighted
 * (`logWeights` holds each draw's log joint, for diagnostics); importance sampling and SMC
 * fill `weights` with normalised importance weights and `logEvidence`. Sites are the
 * trace's addresses: numbers as they are, booleans as 0/1, vectors flattened to
 * `"name[i]"`. A site absent from some draw (a model whose structure changes) is NaN there.
 * Converts to plain JSON and to columns for plotting or export.
 *
 * @since 0.1.0
 */
import type { Trace } from "@fugue/runtime/Trace"

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
export interface Posterior<A = unknown> {
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
  /** Algorithm-specific statistics (acceptance rates, ESS, resampling counts, rejected proposals…). */
  readonly stats: Readonly<Record<string, unknown>>
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
      else for (let k = 0; k < v.length; k++) this.column(`${address}[${k}]`)[chain][index] = v[k]
    })
    this.returns[chain][index] = result
    this.logWeights[chain][index] = logWeight
  }
  /** The finished posterior. */
  build(options: {
    readonly weights?: ReadonlyArray<Float64Array> | undefined
    readonly logEvidence?: ReadonlyArray<number> | undefined
    readonly stats?: Readonly<Record<string, unknown>>
  } = {}): Posterior<A> {
    const sites = Array.from(this.columns.keys()).sort()
    return {
      algorithm: this.algorithm,
      sites,
      draws: new Map(sites.map((s) => [s, this.columns.get(s)!])),
      returns: this.returns,
      logWeights: this.logWeights,
      weights: options.weights,
      logEvidence: options.logEvidence,
      stats: options.stats ?? {}
    }
  }
}

/**
 * A site's draws per chain; throws a RangeError naming the site when it is unknown.
 *
 * @example
 * Posterior.chainsOf(post, "slope")[0] // Float64Array, chain 0
 *
 * @category getters
 * @since 0.1.0
 */
export const chainsOf = (posterior: Posterior<unknown>, site: string): ReadonlyArray<Float64Array> => {
  const d = posterior.draws.get(site)
  if (d === undefined) throw new RangeError(`posterior has no site "${site}" (sites: ${posterior.sites.join(", ")})`)
  return d
}

interface Pooled {
  readonly values: Float64Array
  readonly weights: Float64Array
}

const pool = (posterior: Posterior<unknown>, site: string): Pooled => {
  const chains = chainsOf(posterior, site)
  let n = 0
  for (const c of chains) n += c.length
  const values = new Float64Array(n)
  const weights = new Float64Array(n)
  let k = 0
  for (let c = 0; c < chains.length; c++) {
    const w = posterior.weights?.[c]
    for (let i = 0; i < chains[c].length; i++, k++) {
      values[k] = chains[c][i]
      weights[k] = (w === undefined ? 1 / chains[c].length : w[i]) / chains.length
    }
  }
  return { values, weights }
}

/**
 * The posterior mean of a site (weighted where the posterior is), pooling chains.
 *
 * @example
 * Posterior.mean(post, "slope")
 *
 * @category getters
 * @since 0.1.0
 */
export const mean = (posterior: Posterior<unknown>, site: string): number => {
  const { values, weights } = pool(posterior, site)
  let m = 0
  for (let i = 0; i < values.length; i++) if (weights[i] > 0) m += weights[i] * values[i]
  return m
}

/**
 * The posterior standard deviation of a site (weighted where the posterior is), pooling chains.
 *
 * @example
 * Posterior.sd(post, "slope")
 *
 * @category getters
 * @since 0.1.0
 */
export const sd = (posterior: Posterior<unknown>, site: string): number => {
  const { values, weights } = pool(posterior, site)
  const m = mean(posterior, site)
  let v = 0
  for (let i = 0; i < values.length; i++) if (weights[i] > 0) v += weights[i] * (values[i] - m) ** 2
  return Math.sqrt(v)
}

/**
 * A posterior quantile of a site (weighted where the posterior is): the smallest draw whose
 * cumulative weight reaches q.
 *
 * @example
 * Posterior.quantile(post, "slope", 0.95)
 *
 * @category getters
 * @since 0.1.0
 */
export const quantile = (posterior: Posterior<unknown>, site: string, q: number): number => {
  const { values, weights } = pool(posterior, site)
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b])
  let acc = 0
  for (const i of order) {
    acc += weights[i]
    if (acc >= q - 1e-12) return values[i]
  }
  return values[order[order.length - 1]]
}

/**
 * All draws of a site, chains concatenated (unweighted).
 *
 * @example
 * Posterior.pooled(post, "slope").length // chains × draws
 *
 * @category getters
 * @since 0.1.0
 */
export const pooled = (posterior: Posterior<unknown>, site: string): Float64Array => pool(posterior, site).values

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
} => ({
  algorithm: posterior.algorithm,
  sites: [...posterior.sites],
  draws: Object.fromEntries(posterior.sites.map((s) => [s, posterior.draws.get(s)!.map((c) => Array.from(c))])),
  returns: posterior.returns.map((r) => [...r]),
  logWeights: posterior.logWeights.map((c) => Array.from(c)),
  weights: posterior.weights ? posterior.weights.map((c) => Array.from(c)) : null,
  logEvidence: posterior.logEvidence ? [...posterior.logEvidence] : null,
  stats: { ...posterior.stats }
})
