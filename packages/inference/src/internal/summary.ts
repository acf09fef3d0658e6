/**
 * Posterior summaries and their formatting, behind `Diagnostics` (re-exported there; this
 * module is internal): `summary` computes a row per site from the estimators and from
 * `Posterior.presentDraws` (the draws where a site is present, with their weights);
 * `formatSummary` and `summaryToMarkdown` print rows. Numbers are computed in one place and
 * printed in another, so the printing code has no statistics in it.
 *
 * @internal
 */
import { describe } from "@fugue/core/Value"
import { checkKeys, InvalidOptionsError } from "../Options.ts"
import * as Posterior from "../Posterior.ts"
import { essBulk, essTail, fail, MIN_DRAWS, mcse, meanOf, rhat, varianceOf } from "./estimators.ts"
import { sampleQuantile } from "./quantile.ts"

/**
 * One row of `summary`: a site's posterior mean, sd, MCSE of the mean, quantiles (keys
 * `q5`, `q50`, `q95`, … from the requested probabilities), bulk and tail ESS and R-hat.
 * `missing` counts draws where the site was absent (its diagnostics are then undefined).
 *
 * @example
 * const row = Diagnostics.summary(post)[0]
 * row.q95 // the 95% quantile
 *
 * @category models
 * @since 0.1.0
 */
export interface SummaryRow {
  readonly site: string
  readonly mean: number
  readonly sd: number
  readonly mcse: number | undefined
  readonly essBulk: number | undefined
  readonly essTail: number | undefined
  readonly rhat: number | undefined
  readonly missing: number
  /**
   * What to worry about, in words: a chain whose draws never change (a stuck sampler: its
   * R-hat and ESS are undefined, shown "-"), rank-normalised R-hat above 1.01, bulk or tail ESS
   * below 100 per chain (Vehtari et al. 2021), an importance-weighted ESS below 100.
   */
  readonly warnings?: ReadonlyArray<string> | undefined
  readonly [quantile: `q${string}`]: number
}

/**
 * Options for `summary`: the quantile probabilities to report (default 5%, 50%, 95%).
 *
 * @example
 * Diagnostics.summary(post, { quantiles: [0.025, 0.5, 0.975] }) // rows with q2.5, q50, q97.5
 *
 * @category models
 * @since 0.1.0
 */
export interface SummaryOptions {
  readonly quantiles?: ReadonlyArray<number>
}

const SUMMARY_KEYS: ReadonlyArray<keyof SummaryOptions> = ["quantiles"]
const DEFAULT_QUANTILES: ReadonlyArray<number> = [0.05, 0.5, 0.95]

/**
 * The row key for a quantile probability: 0.05 → "q5", 0.025 → "q2.5". A `p` that is not a
 * number in [0, 1] is a `DiagnosticsInputError`.
 *
 * @example
 * Diagnostics.quantileKey(0.975) // "q97.5"
 *
 * @category getters
 * @since 0.1.0
 */
export const quantileKey = (p: number): `q${string}` => {
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) fail("quantileKey", `p = ${describe(p)} must be a probability in [0, 1]`)
  return `q${Number((p * 100).toPrecision(12))}`
}

/** The statistics of a row other than its quantiles, in the order the row lists them. */
interface RowStats {
  readonly mean: number
  readonly sd: number
  readonly mcse: number | undefined
  readonly essBulk: number | undefined
  readonly essTail: number | undefined
  readonly rhat: number | undefined
}

const rowOf = (
  site: string,
  stats: RowStats,
  quantiles: ReadonlyArray<readonly [`q${string}`, number]>,
  missing: number,
  warnings: ReadonlyArray<string>
): SummaryRow => ({
  site,
  mean: stats.mean,
  sd: stats.sd,
  mcse: stats.mcse,
  ...Object.fromEntries(quantiles),
  essBulk: stats.essBulk,
  essTail: stats.essTail,
  rhat: stats.rhat,
  missing,
  warnings
})

/** Thresholds of the warnings (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, §4). */
const RHAT_LIMIT = 1.01
const ESS_PER_CHAIN = 100

const warningsOf = (chains: ReadonlyArray<Float64Array>, stats: RowStats, weighted: boolean): Array<string> => {
  const out: Array<string> = []
  if (weighted) {
    if (stats.essBulk !== undefined && stats.essBulk < ESS_PER_CHAIN) {
      out.push(`effective sample size ${stats.essBulk.toFixed(1)} < ${ESS_PER_CHAIN}: the weights are dominated by a few draws`)
    }
    return out
  }
  const stuck: Array<number> = []
  chains.forEach((chain, c) => {
    if (chain.length < 2) return
    const first = chain[0]
    for (let i = 1; i < chain.length; i++) if (!Object.is(chain[i], first)) return
    stuck.push(c)
  })
  if (stuck.length > 0) {
    out.push(`chain${stuck.length > 1 ? "s" : ""} ${stuck.join(", ")} never moved (every draw ${chains[stuck[0]][0]}): the sampler is stuck`)
  }
  if (stats.rhat !== undefined && stats.rhat > RHAT_LIMIT) out.push(`R-hat ${stats.rhat.toFixed(3)} > ${RHAT_LIMIT}: the chains disagree`)
  const limit = ESS_PER_CHAIN * chains.length
  if (stats.essBulk !== undefined && stats.essBulk < limit) out.push(`bulk ESS ${stats.essBulk.toFixed(0)} < ${limit}`)
  if (stats.essTail !== undefined && stats.essTail < limit) out.push(`tail ESS ${stats.essTail.toFixed(0)} < ${limit}`)
  return out
}

/**
 * MCMC draws: sample mean and sd (n − 1) of the present draws; the chain diagnostics need every
 * draw (a chain with holes is not a Markov chain sample of the site).
 */
const unweightedStats = (chains: ReadonlyArray<Float64Array>, present: Posterior.PresentDraws): RowStats => {
  const all = present.values
  const diagnosable = present.missing === 0 && chains[0].length >= MIN_DRAWS
  return {
    mean: meanOf(all),
    sd: all.length > 1 ? Math.sqrt(varianceOf(all)) : 0,
    mcse: diagnosable ? mcse(chains) : undefined,
    essBulk: diagnosable ? essBulk(chains) : undefined,
    essTail: diagnosable ? essTail(chains) : undefined,
    rhat: diagnosable ? rhat(chains) : undefined
  }
}

/** Weighted draws (IS, SMC): weighted moments, Kish's ESS, MCSE = sd/√ESS, no R-hat. */
const weightedStats = (present: Posterior.PresentDraws, weights: Float64Array, ess: number): RowStats => {
  const { values } = present
  let mean = 0
  for (let i = 0; i < values.length; i++) mean += weights[i] * values[i]
  let variance = 0
  for (let i = 0; i < values.length; i++) variance += weights[i] * (values[i] - mean) ** 2
  const sd = Math.sqrt(variance)
  return { mean, sd, mcse: sd / Math.sqrt(ess), essBulk: ess, essTail: ess, rhat: undefined }
}

const checkQuantiles = (value: unknown): ReadonlyArray<number> => {
  if (!Array.isArray(value)) {
    throw new InvalidOptionsError({ algorithm: "summary", option: "quantiles", value, reason: "must be an array of probabilities" })
  }
  value.forEach((p: unknown, i) => {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
      throw new InvalidOptionsError({ algorithm: "summary", option: `quantiles[${i}]`, value: p, reason: "must be a probability in [0, 1]" })
    }
  })
  return value
}

const checkSite = (site: string, chains: ReadonlyArray<Float64Array> | undefined): ReadonlyArray<Float64Array> => {
  if (chains === undefined || chains.length === 0) return fail("summary", `site ${describe(site)} has no draws`)
  const n = chains[0].length
  chains.forEach((c, i) => {
    if (c.length !== n) fail("summary", `site ${describe(site)}: chain ${i} has ${c.length} draws but chain 0 has ${n}`)
    for (let k = 0; k < c.length; k++) {
      const v = c[k]
      if (v === Infinity || v === -Infinity) fail("summary", `site ${describe(site)}: chain ${i}, draw ${k} is ${v}`)
    }
  })
  if (n === 0) fail("summary", `site ${describe(site)} has no draws`)
  return chains
}

/**
 * A summary row per site of a posterior: mean, sd, MCSE of the mean, quantiles, bulk and tail
 * ESS, and R-hat — what Stan's `stansummary` and posterior's `summarise_draws` report.
 *
 * **Details** For equally weighted draws (MCMC): sample mean and sd (n − 1 divisor) of the
 * pooled draws, quantiles by the library's rule (`quantile`: linear interpolation, R type 7),
 * `mcse`, `essBulk`, `essTail`, `rhat` as defined in this module. For weighted draws
 * (`posterior.weights`, from IS or SMC): weighted mean and sd, weighted quantiles (the smallest
 * draw whose cumulative weight reaches p), ESS = Kish's (Σw)²/Σw² per chain summed (for both
 * bulk and tail), MCSE = sd/√ESS, and R-hat undefined (weighted particles are not Markov
 * chains). Sites absent from some draws are summarised over the draws that have them
 * (`Posterior.presentDraws`), with `missing` set and the MCMC diagnostics undefined; a site
 * absent from every draw is a `Posterior.NoDrawsError`. Unknown option keys and invalid option
 * values are an `InvalidOptionsError` before any work; unusable draws (infinite, ragged) a
 * `DiagnosticsInputError`.
 *
 * @example
 * const rows = Diagnostics.summary(post)
 * console.log(Diagnostics.formatSummary(rows))
 *
 * @category getters
 * @since 0.1.0
 */
export const summary = (posterior: Posterior.Posterior<unknown>, options: SummaryOptions = {}): Array<SummaryRow> => {
  checkKeys("summary", options, SUMMARY_KEYS)
  const probs = options.quantiles === undefined ? DEFAULT_QUANTILES : checkQuantiles(options.quantiles)
  const p = posterior as Partial<Posterior.Posterior<unknown>> | null
  if (typeof p !== "object" || p === null || !(p.draws instanceof Map) || !Array.isArray(p.sites)) {
    return fail("summary", `expected a Posterior, got ${describe(posterior)}`)
  }
  const keys = probs.map(quantileKey)
  return posterior.sites.map((site) => {
    const chains = checkSite(site, posterior.draws.get(site))
    const present = Posterior.presentDraws(posterior, site)
    const { weights, ess } = present
    const stats = weights === undefined || ess === undefined
      ? unweightedStats(chains, present)
      : weightedStats(present, weights, ess)
    const quantiles = probs.map((q, i) => [keys[i], sampleQuantile(present.values, q, weights)] as const)
    return rowOf(site, stats, quantiles, present.missing, warningsOf(chains, stats, weights !== undefined && ess !== undefined))
  })
}

const formatNumber = (v: number | undefined, digits: number): string => {
  if (v === undefined) return "-"
  if (v === Infinity) return "Inf"
  if (v === -Infinity) return "-Inf"
  if (v === 0) return "0"
  const magnitude = Math.floor(Math.log10(Math.abs(v)))
  if (magnitude < -4 || magnitude >= 15) return v.toExponential(digits - 1)
  return v.toFixed(Math.max(0, digits - 1 - magnitude))
}

interface Column {
  readonly header: string
  readonly cells: ReadonlyArray<string>
  readonly left: boolean
}

const columnsOf = (rows: ReadonlyArray<SummaryRow>, digits: number): Array<Column> => {
  const quantiles = rows.length === 0 ? [] : Object.keys(rows[0]).filter((k) => /^q[0-9.e+-]+$/.test(k))
  const num = (header: string, get: (r: SummaryRow) => string): Column => ({ header, cells: rows.map(get), left: false })
  return [
    { header: "site", cells: rows.map((r) => r.site), left: true },
    num("mean", (r) => formatNumber(r.mean, digits)),
    num("sd", (r) => formatNumber(r.sd, digits)),
    num("mcse", (r) => formatNumber(r.mcse, digits)),
    ...quantiles.map((k) => num(k, (r) => formatNumber(r[k as `q${string}`], digits))),
    num("ess_bulk", (r) => (r.essBulk === undefined ? "-" : Math.round(r.essBulk).toString())),
    num("ess_tail", (r) => (r.essTail === undefined ? "-" : Math.round(r.essTail).toString())),
    num("rhat", (r) => (r.rhat === undefined ? "-" : r.rhat === Infinity ? "Inf" : r.rhat.toFixed(3)))
  ]
}

/**
 * Options for `formatSummary` and `summaryToMarkdown`: significant digits for the
 * statistics (default 4; ESS is printed as an integer, R-hat with 3 decimals).
 *
 * @example
 * Diagnostics.formatSummary(rows, { digits: 3 })
 *
 * @category models
 * @since 0.1.0
 */
export interface FormatOptions {
  readonly digits?: number
}

const FORMAT_KEYS: ReadonlyArray<keyof FormatOptions> = ["digits"]

const checkFormat = (algorithm: string, rows: unknown, options: FormatOptions): number => {
  checkKeys(algorithm, options, FORMAT_KEYS)
  const digits = options.digits ?? 4
  if (typeof digits !== "number" || !Number.isSafeInteger(digits) || digits < 1 || digits > 17) {
    throw new InvalidOptionsError({ algorithm, option: "digits", value: digits, reason: "must be an integer in [1, 17]" })
  }
  if (!Array.isArray(rows)) fail(algorithm, `expected an array of summary rows, got ${describe(rows)}`)
  rows.forEach((row: unknown, i) => {
    if (typeof row !== "object" || row === null || typeof (row as { site?: unknown }).site !== "string") {
      fail(algorithm, `rows[${i}] is ${describe(row)}, not a summary row`)
    }
    for (const [key, value] of Object.entries(row)) {
      const optional = key === "mcse" || key === "essBulk" || key === "essTail" || key === "rhat"
      const numeric = optional || key === "mean" || key === "sd" || /^q[0-9.e+-]+$/.test(key)
      if (numeric && typeof value !== "number" && !(optional && value === undefined)) {
        fail(algorithm, `rows[${i}].${key} is ${describe(value)}; it must be a number${optional ? " or undefined" : ""}`)
      }
    }
  })
  return digits
}

/**
 * A fixed-width text table of summary rows, one line per site under a header, ready for a
 * terminal. Undefined values print as "-". Unknown option keys and a `digits` outside
 * [1, 17] are an `InvalidOptionsError`.
 *
 * @example
 * console.log(Diagnostics.formatSummary(Diagnostics.summary(post)))
 * // site    mean       sd      mcse     q5    q50    q95  ess_bulk  ess_tail   rhat
 * // slope  2.000  0.09875  0.001598  1.838  2.002  2.161      3814      4013  1.001
 *
 * @category getters
 * @since 0.1.0
 */
export const formatSummary = (rows: ReadonlyArray<SummaryRow>, options: FormatOptions = {}): string => {
  const columns = columnsOf(rows, checkFormat("formatSummary", rows, options))
  const widths = columns.map((c) => Math.max(c.header.length, ...c.cells.map((s) => s.length)))
  const line = (cell: (c: Column) => string): string =>
    columns
      .map((c, j) => (c.left ? cell(c).padEnd(widths[j]) : cell(c).padStart(widths[j])))
      .join("  ")
      .trimEnd()
  const warnings = rows.flatMap((r) => (Array.isArray(r.warnings) ? r.warnings.map((w) => `warning: ${r.site}: ${w}`) : []))
  return [line((c) => c.header), ...rows.map((_, i) => line((c) => c.cells[i])), ...warnings].join("\n")
}

/**
 * The summary rows as a GitHub-flavoured Markdown table (numbers right-aligned). Options as
 * for `formatSummary`.
 *
 * @example
 * fs.writeFileSync("summary.md", Diagnostics.summaryToMarkdown(Diagnostics.summary(post)))
 *
 * @category getters
 * @since 0.1.0
 */
export const summaryToMarkdown = (rows: ReadonlyArray<SummaryRow>, options: FormatOptions = {}): string => {
  const columns = columnsOf(rows, checkFormat("summaryToMarkdown", rows, options))
  const escape = (s: string): string => s.replace(/\|/g, "\\|")
  const header = `| ${columns.map((c) => c.header).join(" | ")} |`
  const rule = `| ${columns.map((c) => (c.left ? "---" : "---:")).join(" | ")} |`
  const body = rows.map((_, i) => `| ${columns.map((c) => escape(c.cells[i])).join(" | ")} |`)
  return [header, rule, ...body].join("\n")
}

/**
 * The summary table of a posterior with every warning under it: the per-site ones (R-hat, ESS,
 * stuck chains), then the sampler's own (NUTS and HMC divergences, tree-depth saturation, low
 * E-BFMI, from `posterior.stats.warnings`). Options as for `summary` and `formatSummary`.
 *
 * @example
 * console.log(Diagnostics.report(Nuts.runUnsafe(model, { samples: 1000, chains: 4 })))
 *
 * @category getters
 * @since 0.2.0
 */
export const report = (posterior: Posterior.Posterior<unknown>, options: SummaryOptions & FormatOptions = {}): string => {
  checkKeys("report", options, [...SUMMARY_KEYS, ...FORMAT_KEYS])
  const { digits, ...rest } = options
  const table = formatSummary(summary(posterior, rest), digits === undefined ? {} : { digits })
  const stats = posterior.stats as { readonly warnings?: unknown } | null | undefined
  const own = typeof stats === "object" && stats !== null && Array.isArray(stats.warnings)
    ? stats.warnings.filter((w): w is string => typeof w === "string").map((w) => `warning: ${w}`)
    : []
  return own.length === 0 ? table : [table, ...own].join("\n")
}
