/**
 * A visual report of any `Posterior` as one self-contained HTML file (it opens with no network):
 * the summary table with every warning, and per site a trace plot (one line per chain), a rank
 * plot (the ranks of each chain's draws among all, which are uniform when the chains agree) and
 * the marginal histogram; a pair plot of chosen sites (NUTS divergences marked); for NUTS and HMC
 * the tree depths, the step sizes and the energy (its marginal against its transitions, whose
 * mismatch is what E-BFMI measures) and a table per chain of divergences, E-BFMI, step size, tree
 * depth, leapfrog steps and acceptance; for SMC the ESS and the running log evidence over the steps. The plots are Vega-Lite
 * (the vega, vega-lite and vega-embed bundles are inlined). Every user string (site names,
 * labels, the title) is escaped: in HTML as text, in the embedded data as JSON with `<` written
 * `\u003c`, and Vega renders text as text.
 *
 * @since 0.2.0
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as Diagnostics from "./Diagnostics.ts"
import * as Export from "./Export.ts"
import { checkKeys } from "./Options.ts"
import type { Posterior } from "./Posterior.ts"

/**
 * Options of `html` / `writeUnsafe`.
 *
 * @example
 * const options: Report.Options = { title: "Eight schools", pairs: ["mu", "tau"] }
 *
 * @category models
 * @since 0.2.0
 */
export interface Options {
  /** The page's title (default: the algorithm's name). */
  readonly title?: string | undefined
  /** Sites to plot (default: the first 12). */
  readonly sites?: ReadonlyArray<string> | undefined
  /** Sites of the pair plot (default: the first 3 plotted). */
  readonly pairs?: ReadonlyArray<string> | undefined
  /** Draws per chain shown in the plots, thinned evenly (default 1000; the table uses all). */
  readonly maxDraws?: number | undefined
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/** JSON safe inside a <script> element: no `<` (so no `</script>` or `<!--`), and U+2028/2029 escaped. */
const scriptJSON = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

let bundles: string | undefined
/** The three UMD bundles, read once, with any `</script` inside them broken up. */
const libraries = (): string => {
  if (bundles !== undefined) return bundles
  const require = createRequire(import.meta.url)
  const file = (name: string): string => {
    let dir = dirname(require.resolve(name))
    while (!dir.endsWith(`/node_modules/${name}`) && dir !== dirname(dir)) dir = dirname(dir)
    return readFileSync(join(dir, "build", `${name}.min.js`), "utf8").replace(/<\/script/gi, "<\\/script")
  }
  bundles = ["vega", "vega-lite", "vega-embed"].map((name) => `<script>${file(name)}</script>`).join("\n")
  return bundles
}

const fmt = (v: number | undefined, digits = 4): string =>
  v === undefined ? "–" : !Number.isFinite(v) ? String(v) : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toPrecision(digits)

/** A long-format data set: one record per chain per (thinned) draw per site. */
const longData = (posterior: Posterior<unknown>, sites: ReadonlyArray<string>, maxDraws: number) => {
  const records: Array<{ site: string; chain: number; draw: number; value: number; rank: number }> = []
  for (const site of sites) {
    const chains = posterior.draws.get(site)!
    // ranks among all draws (for the rank plot)
    const all: Array<{ v: number; c: number; i: number }> = []
    chains.forEach((chain, c) => chain.forEach((v, i) => all.push({ v, c, i })))
    all.sort((a, b) => a.v - b.v)
    const rank = chains.map((chain) => new Float64Array(chain.length))
    all.forEach((x, r) => (rank[x.c]![x.i] = r))
    chains.forEach((chain, c) => {
      const step = Math.max(1, Math.ceil(chain.length / maxDraws))
      for (let i = 0; i < chain.length; i += step) if (Number.isFinite(chain[i]!)) records.push({ site, chain: c, draw: i, value: chain[i]!, rank: rank[c]![i]! })
    })
  }
  return records
}

const OPTION_KEYS: ReadonlyArray<string> = ["title", "sites", "pairs", "maxDraws"]

/**
 * The report as HTML text.
 *
 * @example
 * const text = Report.html(Nuts.runUnsafe(model, { samples: 1000, chains: 4 }), { title: "My model" })
 *
 * @category getters
 * @since 0.2.0
 */
export const html = (posterior: Posterior<unknown>, options: Options = {}): string => {
  checkKeys("Report", options, OPTION_KEYS)
  const title = options.title ?? `${posterior.algorithm} posterior`
  const sites = (options.sites ?? posterior.sites.slice(0, 12)).filter((s) => posterior.draws.has(s))
  const pairs = (options.pairs ?? sites.slice(0, 3)).filter((s) => posterior.draws.has(s))
  const maxDraws = options.maxDraws ?? 1000
  const chains = posterior.logWeights.length
  const draws = chains > 0 ? posterior.logWeights[0]!.length : 0
  let rows: Array<Diagnostics.SummaryRow> = []
  let summaryError = ""
  try {
    rows = Diagnostics.summary({ ...posterior, sites })
  } catch (error) {
    summaryError = (error as Error).message
  }
  const text = (() => {
    try {
      return Diagnostics.report({ ...posterior, sites })
    } catch {
      return ""
    }
  })()
  const warnings = text.split("\n").filter((l) => l.startsWith("warning: ")).map((l) => l.slice(9))
  const stats = posterior.stats as Record<string, unknown> | null | undefined
  const perDraw = (name: string): ReadonlyArray<Float64Array> | undefined => {
    const x = stats?.[name]
    return Array.isArray(x) && x.length === chains && x.every((c) => c instanceof Float64Array) ? (x as Array<Float64Array>) : undefined
  }
  const long = longData(posterior, sites, maxDraws)
  const specs: Array<{ id: string; spec: Record<string, unknown> }> = []
  const W = 260, H = 140
  sites.forEach((site, k) => {
    const only = [{ filter: { field: "site", equal: site } }]
    specs.push({
      id: `site-${k}`,
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: site,
        data: { name: "draws" },
        hconcat: [
          { width: W, height: H, title: "trace", transform: only, mark: { type: "line", strokeWidth: 0.6 }, encoding: { x: { field: "draw", type: "quantitative" }, y: { field: "value", type: "quantitative", title: site }, color: { field: "chain", type: "nominal" } } },
          { width: W, height: H, title: "ranks", transform: only, mark: "bar", encoding: { x: { field: "rank", type: "quantitative", bin: { maxbins: 20 } }, y: { aggregate: "count", type: "quantitative" }, color: { field: "chain", type: "nominal" } } },
          { width: W, height: H, title: "marginal", transform: only, mark: "bar", encoding: { x: { field: "value", type: "quantitative", bin: { maxbins: 40 }, title: site }, y: { aggregate: "count", type: "quantitative" } } }
        ]
      }
    })
  })
  // pairs: wide records per draw for the chosen sites, with the divergence flag
  const diverging = perDraw("diverging")
  if (pairs.length >= 2) {
    const wide: Array<Record<string, number>> = []
    for (let c = 0; c < chains; c++) {
      const step = Math.max(1, Math.ceil(draws / maxDraws))
      for (let i = 0; i < draws; i += step) {
        const r: Record<string, number> = { chain: c, diverging: diverging?.[c]?.[i] ?? 0 }
        pairs.forEach((s, j) => (r[`p${j}`] = posterior.draws.get(s)![c]![i]!))
        wide.push(r)
      }
    }
    const cells: Array<Record<string, unknown>> = []
    for (let a = 0; a < pairs.length; a++) {
      for (let b = a + 1; b < pairs.length; b++) {
        cells.push({
          width: 220, height: 220, mark: { type: "point", filled: true, size: 8 },
          encoding: {
            x: { field: `p${a}`, type: "quantitative", title: pairs[a], scale: { zero: false } },
            y: { field: `p${b}`, type: "quantitative", title: pairs[b], scale: { zero: false } },
            color: { field: "diverging", type: "nominal", scale: { domain: [0, 1], range: ["#4c78a8", "#e45756"] }, title: "diverging" },
            opacity: { value: 0.5 }
          }
        })
      }
    }
    specs.push({ id: "pairs", spec: { $schema: "https://vega.github.io/schema/vega-lite/v6.json", title: "pairs", data: { values: wide }, hconcat: cells } })
  }
  const treeDepth = perDraw("treeDepth"), energy = perDraw("energy"), stepSize = perDraw("stepSize")
  if (treeDepth !== undefined && energy !== undefined) {
    const recs: Array<Record<string, number | string>> = []
    for (let c = 0; c < chains; c++) {
      const e = energy[c]!
      let mean = 0
      for (let i = 0; i < e.length; i++) mean += e[i]!
      mean /= e.length || 1
      for (let i = 0; i < e.length; i++) {
        recs.push({ chain: c, treeDepth: treeDepth[c]![i]!, kind: "marginal energy (centred)", energy: e[i]! - mean, stepSize: stepSize?.[c]?.[i] ?? Number.NaN })
        if (i > 0) recs.push({ chain: c, treeDepth: Number.NaN, kind: "energy transition", energy: e[i]! - e[i - 1]!, stepSize: Number.NaN })
      }
    }
    specs.push({
      id: "sampler",
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: "sampler",
        data: { values: recs },
        resolve: { scale: { color: "independent" } },
        hconcat: [
          { width: W, height: H, title: "tree depth", transform: [{ filter: "isValid(datum.treeDepth) && datum.treeDepth === datum.treeDepth" }], mark: "bar", encoding: { x: { field: "treeDepth", type: "ordinal" }, y: { aggregate: "count", type: "quantitative" }, color: { field: "chain", type: "nominal" } } },
          { width: W, height: H, title: "energy: marginal vs transitions (E-BFMI)", mark: { type: "bar", opacity: 0.6 }, encoding: { x: { field: "energy", type: "quantitative", bin: { maxbins: 40 } }, y: { aggregate: "count", type: "quantitative", stack: null }, color: { field: "kind", type: "nominal" } } }
        ]
      }
    })
  }
  const ess = stats?.ess
  if (Array.isArray(ess) && ess.length > 1 && ess.every((x) => typeof x === "number")) {
    // the running log evidence: SMC and the filter record it per step; tempered SMC records
    // each step's increment (their running sums)
    const history = numbers(stats?.logEvidenceHistory) ?? runningSum(numbers(stats?.logEvidenceIncrements))
    const records = (ess as Array<number>).map((e, t) => ({ step: t + 1, ess: e, logEvidence: history?.[t] ?? null }))
    const essPlot = { width: W, height: H, title: "effective sample size per step", mark: "line", encoding: { x: { field: "step", type: "quantitative" }, y: { field: "ess", type: "quantitative" } } }
    const evidencePlot = { width: W, height: H, title: "log evidence so far", mark: "line", encoding: { x: { field: "step", type: "quantitative" }, y: { field: "logEvidence", type: "quantitative", scale: { zero: false }, title: "log Ẑ" } } }
    specs.push({
      id: "smc",
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: "particles",
        data: { values: records },
        hconcat: history === undefined || history.length !== ess.length ? [essPlot] : [essPlot, evidencePlot]
      }
    })
  }
  const samplerTable = samplerRows(stats, chains)
  const table = rows.length === 0 ? `<p>${escapeHtml(summaryError || "no sites")}</p>` : [
    "<table><thead><tr><th>site</th><th>mean</th><th>sd</th><th>mcse</th><th>q5</th><th>q50</th><th>q95</th><th>ess bulk</th><th>ess tail</th><th>R-hat</th></tr></thead><tbody>",
    ...rows.map((r) => `<tr><td>${escapeHtml(r.site)}</td><td>${fmt(r.mean)}</td><td>${fmt(r.sd)}</td><td>${fmt(r.mcse)}</td><td>${fmt(r.q5)}</td><td>${fmt(r.q50)}</td><td>${fmt(r.q95)}</td><td>${r.essBulk === undefined ? "–" : Math.round(r.essBulk)}</td><td>${r.essTail === undefined ? "–" : Math.round(r.essTail)}</td><td>${r.rhat === undefined ? "–" : r.rhat.toFixed(3)}</td></tr>`),
    "</tbody></table>"
  ].join("\n")
  const data = { draws: long, specs }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #ddd}td:first-child,th:first-child{text-align:left}.warn{color:#b00}.plot{margin:1.5em 0}</style>
${libraries()}
</head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(posterior.algorithm)}: ${chains} chain${chains === 1 ? "" : "s"} × ${draws} draws${posterior.seed === undefined ? "" : `, seed ${posterior.seed}`}</p>
<h2>Summary</h2>
${table}
${warnings.length === 0 ? "<p>No warnings.</p>" : `<ul class="warn">${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`}
${samplerTable}
<h2>Plots</h2>
${specs.map((s) => `<div class="plot" id="${s.id}"></div>`).join("\n")}
<script type="application/json" id="fugue-data">${scriptJSON(data)}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById("fugue-data").textContent);
  var pending = data.specs.length;
  document.body.setAttribute("data-plots", String(pending));
  data.specs.forEach(function (s) {
    var spec = s.spec;
    var opts = { actions: false, renderer: "svg" };
    if (spec.data && spec.data.name === "draws") spec.datasets = { draws: data.draws };
    vegaEmbed("#" + s.id, spec, opts).then(function () {
      document.getElementById(s.id).setAttribute("data-rendered", "true");
    }).catch(function (error) { console.error("plot " + s.id + " failed: " + error); });
  });
})();
</script>
</body></html>
`
}

/** `x` when it is an array of numbers. */
const numbers = (x: unknown): ReadonlyArray<number> | undefined =>
  Array.isArray(x) && x.every((v) => typeof v === "number") ? (x as Array<number>) : undefined

/** The running sums of `xs` (undefined stays undefined). */
const runningSum = (xs: ReadonlyArray<number> | undefined): ReadonlyArray<number> | undefined => {
  if (xs === undefined) return undefined
  let s = 0
  return xs.map((x) => (s += x))
}

/** The per-chain sampler table of NUTS and HMC: divergences, E-BFMI, step size, tree depth, leapfrog steps. */
const samplerRows = (stats: Record<string, unknown> | null | undefined, chains: number): string => {
  const divergences = numbers(stats?.divergences), ebfmi = numbers(stats?.ebfmi), step = numbers(stats?.stepSizeFinal)
  if (divergences === undefined || ebfmi === undefined || divergences.length !== chains) return ""
  const meanOf = (name: string, c: number): string => {
    const x = stats?.[name]
    const a = Array.isArray(x) && x[c] instanceof Float64Array ? (x[c] as Float64Array) : undefined
    if (a === undefined || a.length === 0) return "–"
    let m = 0
    for (let i = 0; i < a.length; i++) m += a[i]!
    return fmt(m / a.length)
  }
  const rows = Array.from({ length: chains }, (_, c) => {
    const e = ebfmi[c]
    const low = e !== undefined && e < 0.3
    return `<tr><td>${c}</td><td${divergences[c]! > 0 ? ' class="warn"' : ""}>${divergences[c]}</td><td${low ? ' class="warn"' : ""}>${e === undefined ? "–" : e.toFixed(3)}</td><td>${step?.[c] === undefined ? "–" : fmt(step[c]!)}</td><td>${meanOf("treeDepth", c)}</td><td>${meanOf("leapfrogSteps", c)}</td><td>${meanOf("acceptStat", c)}</td></tr>`
  })
  return [
    "<h2>Sampler</h2>",
    '<table id="sampler-table"><thead><tr><th>chain</th><th>divergences</th><th>E-BFMI</th><th>step size</th><th>mean tree depth</th><th>mean leapfrog steps</th><th>mean acceptance</th></tr></thead><tbody>',
    ...rows,
    "</tbody></table>"
  ].join("\n")
}

/**
 * Writes the report to `path`, atomically.
 *
 * @example
 * Report.writeUnsafe("report.html", post, { title: "Eight schools" })
 *
 * @category constructors
 * @since 0.2.0
 */
export const writeUnsafe = (path: string, posterior: Posterior<unknown>, options: Options = {}): void =>
  Export.writeFileUnsafe(path, html(posterior, options))
