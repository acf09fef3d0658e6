/**
 * Posteriors out of Fugue and back: ArviZ-compatible JSON (the dictionary `arviz.from_dict` /
 * `arviz.from_json` read: groups `posterior`, `sample_stats`, `log_likelihood`, `observed_data`,
 * with `chain` × `draw` first and indexed sites such as `theta#0 … theta#7` or `p[0] … p[2]`
 * gathered into one variable with a real dimension), Stan-style CSV, and a lossless JSON format
 * of our own that round-trips a `Posterior`'s draws exactly (±∞ and NaN included, a version field,
 * every field checked on the way back in: corrupt, wrong-version or hostile input is an
 * `ExportFormatError` naming the problem, and keys such as `__proto__` can pollute nothing).
 * `writeFileUnsafe` / `writeFile` write atomically (a temporary file, then a rename), so an
 * interrupted export never leaves a truncated file where a good one was.
 *
 * @since 0.2.0
 */
import { randomBytes } from "node:crypto"
import { renameSync, rmSync, writeFileSync } from "node:fs"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { checkKeys } from "./Options.ts"
import type { Posterior } from "./Posterior.ts"

/** The lossless format's name, written as `format` in every file `toJSON` produces. */
export const FORMAT = "fugue-posterior"
/** The lossless format's version: `fromJSON` reads this version only. */
export const VERSION = 1

/**
 * An export could not be read back: not our format, another version, or a field with the wrong
 * type or shape. `path` says where (e.g. `columns.mu[1]`).
 *
 * @example
 * Export.fromJSON('{"format":"fugue-posterior","version":99}') // throws ExportFormatError { path: "version" }
 *
 * @category errors
 * @since 0.2.0
 */
export class ExportFormatError extends Data.TaggedError("ExportFormatError")<{
  readonly path: string
  readonly problem: string
}> {
  override get message(): string {
    return `Export: ${this.path}: ${this.problem}`
  }
}

/** A variable of the ArviZ export: its sites, in index order, and its length (0 for a scalar). */
interface Variable {
  readonly name: string
  readonly sites: ReadonlyArray<string>
  readonly length: number
}

const INDEXED = /^(.*?)(?:#(\d+)|\[(\d+)\])$/

/** Sites grouped into variables: `name#i` / `name[i]` for i = 0 … n−1 (all present) become one vector variable. */
const variablesOf = (sites: ReadonlyArray<string>): Array<Variable> => {
  const groups = new Map<string, Map<number, string>>()
  const plain = new Set<string>()
  for (const site of sites) {
    const m = INDEXED.exec(site)
    if (m === null || m[1] === "") {
      plain.add(site)
      continue
    }
    const index = Number(m[2] ?? m[3])
    let g = groups.get(m[1]!)
    if (g === undefined) groups.set(m[1]!, (g = new Map()))
    g.set(index, site)
  }
  const out: Array<Variable> = []
  for (const site of plain) out.push({ name: site, sites: [site], length: 0 })
  for (const [name, g] of groups) {
    const n = g.size
    let complete = !plain.has(name)
    for (let i = 0; complete && i < n; i++) complete = g.has(i)
    if (complete) out.push({ name, sites: Array.from({ length: n }, (_, i) => g.get(i)!), length: n })
    else for (const site of g.values()) out.push({ name: site, sites: [site], length: 0 })
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Options of `toArviz`: the observed data and pointwise log-likelihoods, which a `Posterior` does
 * not hold (names are free; arrays of numbers per observation variable).
 *
 * @example
 * const options: Export.ArvizOptions = { observedData: { y: [28, 8, -3] } }
 *
 * @category models
 * @since 0.2.0
 */
export interface ArvizOptions {
  /** `observed_data`: each variable's observed values. */
  readonly observedData?: Readonly<Record<string, number | ReadonlyArray<number>>> | undefined
  /** `log_likelihood`: per variable, per chain, per draw, the pointwise log-likelihood of each observation. */
  readonly logLikelihood?: Readonly<Record<string, ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>>> | undefined
}

/**
 * The dictionary `arviz.from_dict(**d)` takes (and `arviz.from_json` reads from a file holding
 * it): groups of variables with dims `chain`, `draw`, then the variable's own.
 *
 * @example
 * const d: Export.Arviz = Export.toArviz(post)
 * d.posterior.theta // chains × draws × 8
 *
 * @category models
 * @since 0.2.0
 */
export interface Arviz {
  readonly posterior: Record<string, unknown>
  readonly sample_stats: Record<string, unknown>
  readonly log_likelihood?: Record<string, unknown>
  readonly observed_data?: Record<string, unknown>
  readonly coords: Record<string, ReadonlyArray<number>>
  readonly dims: Record<string, ReadonlyArray<string>>
  readonly attrs: Record<string, string | number>
}

/** Stan's sample statistics from NUTS / HMC stats, under ArviZ's names. */
const SAMPLE_STATS: ReadonlyArray<readonly [string, string]> = [
  ["lp", "lp"],
  ["acceptance_rate", "acceptStat"],
  ["step_size", "stepSize"],
  ["tree_depth", "treeDepth"],
  ["n_steps", "leapfrogSteps"],
  ["diverging", "diverging"],
  ["energy", "energy"]
]

const chainsOf = (posterior: Posterior<unknown>, site: string): ReadonlyArray<Float64Array> => posterior.draws.get(site)!

const ARVIZ_KEYS: ReadonlyArray<string> = ["observedData", "logLikelihood"]

/**
 * The posterior as ArviZ's dictionary: every site, indexed sites gathered into vector variables
 * (dims `<name>_dim_0`), NUTS / HMC sample statistics under ArviZ's names (else `lp` from the log
 * weights, and `weight` for weighted posteriors), plus the optional observed data and
 * log-likelihoods. Non-finite numbers stay numbers (`JSON.stringify` would turn them into null;
 * write the dictionary with `toArvizJSON`).
 *
 * @example
 * const d = Export.toArviz(Nuts.runUnsafe(model, { samples: 1000, chains: 4 }))
 * // Python: az.from_dict(**json.load(open("post.json")))
 *
 * @category getters
 * @since 0.2.0
 */
export const toArviz = (posterior: Posterior<unknown>, options: ArvizOptions = {}): Arviz => {
  checkKeys("Export.toArviz", options, ARVIZ_KEYS)
  const chains = posterior.logWeights.length
  const draws = chains > 0 ? posterior.logWeights[0]!.length : 0
  const coords: Record<string, Array<number>> = {
    chain: Array.from({ length: chains }, (_, c) => c),
    draw: Array.from({ length: draws }, (_, i) => i)
  }
  const dims: Record<string, Array<string>> = {}
  const group = (values: (c: number, i: number) => number | Array<number>): Array<Array<number | Array<number>>> =>
    Array.from({ length: chains }, (_, c) => Array.from({ length: draws }, (_, i) => values(c, i)))
  const post: Record<string, unknown> = Object.create(null)
  for (const v of variablesOf(posterior.sites)) {
    const cols = v.sites.map((s) => chainsOf(posterior, s))
    if (v.length === 0) post[v.name] = group((c, i) => cols[0]![c]![i]!)
    else {
      const dim = `${v.name}_dim_0`
      coords[dim] = Array.from({ length: v.length }, (_, k) => k)
      dims[v.name] = [dim]
      post[v.name] = group((c, i) => cols.map((col) => col[c]![i]!))
    }
  }
  const stats: Record<string, unknown> = Object.create(null)
  const s = posterior.stats as Record<string, unknown> | null | undefined
  const perDraw = (name: string): ReadonlyArray<Float64Array> | undefined => {
    const x = s?.[name]
    return Array.isArray(x) && x.length === chains && x.every((c) => c instanceof Float64Array && c.length === draws) ? x : undefined
  }
  let any = false
  for (const [arviz, ours] of SAMPLE_STATS) {
    const x = perDraw(ours)
    if (x === undefined) continue
    any = true
    stats[arviz] = ours === "diverging" ? group((c, i) => (x[c]![i]! !== 0 ? 1 : 0)) : group((c, i) => x[c]![i]!)
  }
  if (!any) stats.lp = group((c, i) => posterior.logWeights[c]![i]!)
  if (posterior.weights !== undefined) stats.weight = group((c, i) => posterior.weights![c]![i]!)
  const out: { -readonly [K in keyof Arviz]: Arviz[K] } = {
    posterior: post,
    sample_stats: stats,
    coords,
    dims,
    attrs: { created_by: "fugue", algorithm: posterior.algorithm, format: "arviz.from_dict", ...(posterior.seed === undefined ? {} : { seed: posterior.seed }) }
  }
  if (options.observedData !== undefined) {
    const obs: Record<string, unknown> = Object.create(null)
    for (const [name, value] of Object.entries(options.observedData)) {
      obs[name] = typeof value === "number" ? value : [...value]
      if (typeof value !== "number") {
        const dim = `${name}_dim_0`
        coords[dim] = Array.from({ length: value.length }, (_, k) => k)
        dims[name] = [dim]
      }
    }
    out.observed_data = obs
  }
  if (options.logLikelihood !== undefined) {
    const ll: Record<string, unknown> = Object.create(null)
    for (const [name, value] of Object.entries(options.logLikelihood)) ll[name] = value.map((c) => c.map((d) => [...d]))
    out.log_likelihood = ll
  }
  return out
}

/** JSON with ±∞ and NaN as the literal tokens Python's `json` reads (`Infinity`, `-Infinity`, `NaN`). */
const pythonJSON = (value: unknown): string =>
  JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? `\u0000${v}\u0000` : v))
    .replace(/"\\u0000(NaN|Infinity|-Infinity)\\u0000"/g, (_m, x: string) => x)

/**
 * `toArviz` as text for `arviz.from_json` (Python's `json` reads the `NaN` / `Infinity` tokens it
 * may contain).
 *
 * @example
 * Export.writeFileUnsafe("post.json", Export.toArvizJSON(post))
 *
 * @category getters
 * @since 0.2.0
 */
export const toArvizJSON = (posterior: Posterior<unknown>, options: ArvizOptions = {}): string => pythonJSON(toArviz(posterior, options))

const STAN_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["lp__", "lp"],
  ["accept_stat__", "acceptStat"],
  ["stepsize__", "stepSize"],
  ["treedepth__", "treeDepth"],
  ["n_leapfrog__", "leapfrogSteps"],
  ["divergent__", "diverging"],
  ["energy__", "energy"]
]

const csvNumber = (x: number): string => (Number.isNaN(x) ? "NaN" : x === Infinity ? "Inf" : x === -Infinity ? "-Inf" : String(x))
const csvField = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)

/**
 * The draws as CSV, one row per draw: `chain`, `draw`, Stan's sampler columns for NUTS / HMC
 * (`lp__`, `accept_stat__`, `stepsize__`, `treedepth__`, `n_leapfrog__`, `divergent__`,
 * `energy__`; else `log_weight`), `weight` for weighted posteriors, then one column per site.
 * Numbers at full precision; NaN, Inf, -Inf as R and pandas read them.
 *
 * @example
 * Export.writeFileUnsafe("draws.csv", Export.toCSV(post))
 *
 * @category getters
 * @since 0.2.0
 */
export const toCSV = (posterior: Posterior<unknown>): string => {
  const chains = posterior.logWeights.length
  const s = posterior.stats as Record<string, unknown> | null | undefined
  const stat = STAN_NAMES.filter(([, ours]) => Array.isArray(s?.[ours]) && (s![ours] as Array<unknown>).length === chains)
  const header = ["chain", "draw", ...(stat.length > 0 ? stat.map(([n]) => n) : ["log_weight"]), ...(posterior.weights ? ["weight"] : []), ...posterior.sites]
  const lines = [header.map(csvField).join(",")]
  for (let c = 0; c < chains; c++) {
    const n = posterior.logWeights[c]!.length
    for (let i = 0; i < n; i++) {
      const row: Array<string> = [String(c), String(i)]
      if (stat.length > 0) for (const [, ours] of stat) row.push(csvNumber((s![ours] as ReadonlyArray<Float64Array>)[c]![i]!))
      else row.push(csvNumber(posterior.logWeights[c]![i]!))
      if (posterior.weights) row.push(csvNumber(posterior.weights[c]![i]!))
      for (const site of posterior.sites) row.push(csvNumber(chainsOf(posterior, site)[c]![i]!))
      lines.push(row.join(","))
    }
  }
  return lines.join("\n") + "\n"
}

// ---- the lossless format ----

const encode = (x: number): number | string => (Number.isFinite(x) ? (Object.is(x, -0) ? "-0" : x) : Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity")
const encodeArray = (a: Float64Array): Array<number | string> => Array.from(a, encode)

/**
 * A posterior's draws as lossless JSON: `format`, `version`, the algorithm, sites, draws per
 * chain per site, log weights, normalised weights and log evidence where present, and the seed.
 * Non-finite numbers (and −0) are written as strings, so the round trip through `fromJSON` is
 * exact. Return values and algorithm statistics are not included (they are the model's and the
 * algorithm's own objects).
 *
 * @example
 * const text = Export.toJSON(post)
 * Export.fromJSON(text).draws.get("mu") // the same Float64Arrays' values
 *
 * @category getters
 * @since 0.2.0
 */
export const toJSON = (posterior: Posterior<unknown>): string =>
  JSON.stringify({
    format: FORMAT,
    version: VERSION,
    algorithm: posterior.algorithm,
    sites: posterior.sites,
    draws: Object.fromEntries(posterior.sites.map((s) => [s, chainsOf(posterior, s).map(encodeArray)])),
    logWeights: posterior.logWeights.map(encodeArray),
    weights: posterior.weights === undefined ? null : posterior.weights.map(encodeArray),
    logEvidence: posterior.logEvidence === undefined ? null : posterior.logEvidence.map(encode),
    seed: posterior.seed ?? null
  })

/** The largest number of values `fromJSON` accepts (10⁸ doubles: 800 MB). */
const MAX_VALUES = 100_000_000

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"])

/**
 * Reads `toJSON`'s text back into a `Posterior` (returns empty, stats `{}`). Throws
 * `ExportFormatError` naming the first problem: not JSON, not our format or version, a missing
 * or mistyped field, ragged chains, a value that is not a number (or one of "NaN", "Infinity",
 * "-Infinity", "-0"), a forbidden key (`__proto__`, `constructor`, `prototype`), more than 10⁸
 * values.
 *
 * @example
 * const post = Export.fromJSON(readFileSync("post.fugue.json", "utf8"))
 *
 * @category constructors
 * @since 0.2.0
 */
export const fromJSON = (text: string): Posterior<unknown, Record<string, never>> => {
  const fail = (path: string, problem: string): never => {
    throw new ExportFormatError({ path, problem })
  }
  if (typeof text !== "string") fail("input", "must be a string")
  let raw: unknown
  try {
    raw = JSON.parse(text, (key, value) => {
      if (FORBIDDEN.has(key)) fail(key, "is a forbidden key")
      return value
    })
  } catch (error) {
    if (error instanceof ExportFormatError) throw error
    fail("input", `is not JSON (${(error as Error).message})`)
  }
  const o = raw as Record<string, unknown>
  if (typeof o !== "object" || o === null || Array.isArray(o)) fail("input", "must be a JSON object")
  if (o.format !== FORMAT) fail("format", `must be "${FORMAT}"`)
  if (o.version !== VERSION) fail("version", `is ${JSON.stringify(o.version)}; this reader reads version ${VERSION}`)
  if (typeof o.algorithm !== "string") fail("algorithm", "must be a string")
  if (!Array.isArray(o.sites) || o.sites.some((s) => typeof s !== "string")) fail("sites", "must be an array of strings")
  const sites = o.sites as Array<string>
  if (new Set(sites).size !== sites.length) fail("sites", "has a repeated site")
  let count = 0
  const decode = (v: unknown, path: string): number => {
    if (typeof v === "number") return v
    if (v === "NaN") return Number.NaN
    if (v === "Infinity") return Infinity
    if (v === "-Infinity") return -Infinity
    if (v === "-0") return -0
    return fail(path, `must be a number (or "NaN", "Infinity", "-Infinity", "-0"), got ${JSON.stringify(v)?.slice(0, 40)}`)
  }
  const chainsOfRaw = (v: unknown, path: string, shape?: { chains: number; draws: number }): Array<Float64Array> => {
    if (!Array.isArray(v)) return fail(path, "must be an array of chains")
    if (shape !== undefined && v.length !== shape.chains) fail(path, `has ${v.length} chains; the log weights have ${shape.chains}`)
    return v.map((chain, c) => {
      if (!Array.isArray(chain)) return fail(`${path}[${c}]`, "must be an array of numbers")
      if (shape !== undefined && chain.length !== shape.draws) fail(`${path}[${c}]`, `has ${chain.length} draws; the log weights have ${shape.draws}`)
      count += chain.length
      if (count > MAX_VALUES) fail(path, `more than ${MAX_VALUES} values`)
      const out = new Float64Array(chain.length)
      for (let i = 0; i < chain.length; i++) out[i] = decode(chain[i], `${path}[${c}][${i}]`)
      return out
    })
  }
  const logWeights = chainsOfRaw(o.logWeights, "logWeights")
  const draws = logWeights.length > 0 ? logWeights[0]!.length : 0
  if (logWeights.some((c) => c.length !== draws)) fail("logWeights", "chains of different lengths")
  const shape = { chains: logWeights.length, draws }
  const d = o.draws as Record<string, unknown>
  if (typeof d !== "object" || d === null || Array.isArray(d)) fail("draws", "must be an object of sites")
  const map = new Map<string, ReadonlyArray<Float64Array>>()
  for (const site of sites) {
    if (!Object.hasOwn(d, site)) fail(`draws.${site}`, "is missing")
    map.set(site, chainsOfRaw(d[site], `draws.${site}`, shape))
  }
  for (const key of Object.keys(d)) if (!sites.includes(key)) fail(`draws.${key}`, "is not in sites")
  const weights = o.weights === null || o.weights === undefined ? undefined : chainsOfRaw(o.weights, "weights", shape)
  let logEvidence: Array<number> | undefined
  if (o.logEvidence !== null && o.logEvidence !== undefined) {
    if (!Array.isArray(o.logEvidence)) fail("logEvidence", "must be an array")
    logEvidence = (o.logEvidence as Array<unknown>).map((v, c) => decode(v, `logEvidence[${c}]`))
  }
  if (o.seed !== null && o.seed !== undefined && !(typeof o.seed === "number" && Number.isSafeInteger(o.seed))) fail("seed", "must be a safe integer or null")
  return {
    algorithm: o.algorithm as string,
    sites,
    draws: map,
    returns: logWeights.map((c) => new Array(c.length).fill(undefined)),
    logWeights,
    weights,
    logEvidence,
    stats: {},
    seed: (o.seed as number | null | undefined) ?? undefined
  }
}

/**
 * Writes `contents` to `path` atomically: into a temporary file beside it, then renamed over it,
 * so a reader sees the old file or the new one, never a part of the new one.
 *
 * @example
 * Export.writeFileUnsafe("draws.csv", Export.toCSV(post))
 *
 * @category constructors
 * @since 0.2.0
 */
export const writeFileUnsafe = (path: string, contents: string): void => {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
  try {
    writeFileSync(temporary, contents)
    renameSync(temporary, path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw error
  }
}

/**
 * `writeFileUnsafe` as an Effect (a failure to write is a defect-free `Error` in the error channel).
 *
 * @example
 * yield* Export.writeFile("post.json", Export.toArvizJSON(post))
 *
 * @category constructors
 * @since 0.2.0
 */
export const writeFile = Effect.fn("Export.writeFile")(function*(path: string, contents: string) {
  return yield* Effect.try({ try: () => writeFileUnsafe(path, contents), catch: (error) => error as Error })
})
