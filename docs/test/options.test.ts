// docs/options.md stays complete: for every algorithm, the option keys its table names are exactly
// the keys the library accepts, and its stats table names exactly the fields a run returns.
//
// The valid keys come from the library itself: every algorithm rejects an unknown key with an
// InvalidOptionsError whose reason lists the keys it checks against ("(valid: samples, warmup, …)"),
// the same list the check uses, so we call each one with a probe key and read that list. For Report
// and Export the option interface in the source file must name the same keys as well.
// The stats fields come from tiny real runs (Object.keys of `posterior.stats` or of the result).
import { describe, expect, it } from "@effect/vitest"
import { Ad, Bernoulli, Normal, observe, Rng, sample } from "@fugue/core"
import {
  Abc,
  Diagnostics,
  Enumerate,
  Export,
  Hmc,
  InvalidOptionsError,
  Is,
  LogDensity,
  Loo,
  Mh,
  Nuts,
  Predictive,
  Report,
  Smc,
  Tempered,
  Vi
} from "@fugue/inference"
import { PriorHandler, run } from "@fugue/runtime"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const docsDir = join(dirname(fileURLToPath(import.meta.url)), "..")
const markdown = readFileSync(join(docsDir, "options.md"), "utf8")
const sourceOf = (module: string): string => readFileSync(join(docsDir, "..", "packages", "inference", "src", `${module}.ts`), "utf8")

// ─── reading the guide ──────────────────────────────────────────────────────────────────────────

/** The guide's sections by their `## ` heading; the text before the first one under "". */
export const sectionsOf = (md: string): Map<string, string> => {
  const out = new Map<string, string>()
  let heading = ""
  let lines: Array<string> = []
  for (const line of md.split("\n")) {
    if (line.startsWith("## ")) {
      out.set(heading, lines.join("\n"))
      heading = line.slice(3).trim()
      lines = []
    } else lines.push(line)
  }
  out.set(heading, lines.join("\n"))
  return out
}

/**
 * The names in the first column of the tables of `section` whose header's first cell is one of
 * `headers`: every backticked name in that cell (a row may name several, as Hmc's shared row).
 */
export const tableNames = (section: string, headers: ReadonlyArray<string>): Set<string> => {
  const names = new Set<string>()
  let inTable = false
  for (const line of section.split("\n")) {
    if (!line.startsWith("|")) {
      inTable = false
      continue
    }
    const first = line.split("|")[1]!.trim()
    if (!inTable) {
      inTable = headers.includes(first)
      continue
    }
    if (/^-+$/.test(first)) continue
    for (const m of first.matchAll(/`([A-Za-z_$][\w$]*)`/g)) names.add(m[1]!)
  }
  return names
}

/** What differs between the documented names and the library's. */
export const compare = (documented: ReadonlySet<string>, actual: ReadonlyArray<string>) => ({
  undocumented: actual.filter((k) => !documented.has(k)),
  unknown: [...documented].filter((k) => !actual.includes(k))
})

// ─── reading the library ────────────────────────────────────────────────────────────────────────

const PROBE = "__docsProbe__"
const probe = { [PROBE]: 1 } as never
/** The required options plus the probe key. */
const withProbe = (required: Record<string, unknown>): never => ({ ...required, [PROBE]: 1 }) as never

/** The keys an algorithm accepts: its unknown-option error lists them. */
const validKeys = (call: () => unknown): Array<string> => {
  try {
    call()
  } catch (error) {
    if (!(error instanceof InvalidOptionsError) || error.option !== PROBE) throw error
    const m = /\(valid: ([^)]*)\)/.exec(error.reason)
    if (m === null) throw new Error(`the unknown-option error no longer lists the valid keys: ${error.message}`)
    return m[1]!.split(",").map((k) => k.trim())
  }
  throw new Error("an unknown option was accepted")
}

/** `checked`, after asserting that the option interface names the same keys. */
const sameKeys = (checked: Array<string>, declared: ReadonlyArray<string>): Array<string> => {
  expect([...checked].sort()).toEqual([...declared].sort())
  return checked
}

/** The fields of `interface <name> { … }` in a source file. */
const interfaceKeys = (source: string, name: string): Array<string> => {
  const start = source.indexOf(`export interface ${name} {`)
  if (start < 0) throw new Error(`interface ${name} not found`)
  const body = source.slice(start, source.indexOf("\n}", start))
  return [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]!)
}

const model = function*() {
  const x = yield* sample("x", Normal(0, 1))
  yield* observe("y", Normal(x, 1), 0.5)
  return x
}
const simulator = function*() {
  const mu = yield* sample("mu", Normal(0, 1))
  return mu + 0.1
}
const initial = function*() {
  return yield* sample("x", Normal(0, 1))
}
const transition = function*(x: number) {
  return yield* sample("x", Normal(x, 1))
}
const guide = Vi.guide({ loc: 0, logScale: -1 }, (p) =>
  function*() {
    yield* sample("x", Normal(p.loc, Ad.exp(p.logScale)))
  })

interface Entry {
  readonly keys: () => Array<string>
  /** The stats (or result) fields of a tiny run, checked against the section's stats table. */
  readonly fields?: () => Array<string>
}

const nutsPost = () => Nuts.runUnsafe(model, { samples: 20, warmup: 20, seed: 1 })
const keysOf = (o: object): Array<string> => Object.keys(o)

const entries: Record<string, Entry> = {
  Nuts: { keys: () => validKeys(() => Nuts.runUnsafe(model, withProbe({ samples: 1 }))), fields: () => keysOf(nutsPost().stats) },
  Hmc: { keys: () => validKeys(() => Hmc.runUnsafe(model, withProbe({ samples: 1 }))) },
  Mh: { keys: () => validKeys(() => Mh.runUnsafe(model, withProbe({ samples: 1 }))), fields: () => keysOf(Mh.runUnsafe(model, { samples: 20, seed: 1 }).stats) },
  "Mh.kernelUnsafe": {
    keys: () => validKeys(() => Mh.kernelUnsafe(model, { trace: undefined as never, result: 0 }, Rng.make(1), probe)),
    fields: () => {
      const [result, trace] = run(new PriorHandler(Rng.make(1)), model)
      return keysOf(Mh.kernelUnsafe(model, { trace, result }, Rng.make(2)))
    }
  },
  Enumerate: {
    keys: () => validKeys(() => Enumerate.runUnsafe(model, probe)),
    fields: () => keysOf(Enumerate.runUnsafe(function*() { return yield* sample("b", Bernoulli(0.3)) }))
  },
  "Vi.run": { keys: () => validKeys(() => Vi.runUnsafe(model, probe)), fields: () => keysOf(Vi.runUnsafe(model, { iterations: 200, draws: 10, seed: 1 }).stats) },
  "Vi.map": { keys: () => validKeys(() => Vi.mapUnsafe(model, probe)), fields: () => keysOf(Vi.mapUnsafe(model, { seed: 1 })) },
  "Vi.laplace": { keys: () => validKeys(() => Vi.laplaceUnsafe(model, probe)), fields: () => keysOf(Vi.laplaceUnsafe(model, { draws: 10, seed: 1 }).stats) },
  "Vi.fitGuide": {
    keys: () => validKeys(() => Vi.fitGuideUnsafe(model, guide, probe)),
    fields: () => keysOf(Vi.fitGuideUnsafe(model, guide, { iterations: 100, draws: 10, seed: 1 }).stats)
  },
  Is: { keys: () => validKeys(() => Is.runUnsafe(model, withProbe({ particles: 1 }))), fields: () => keysOf(Is.runUnsafe(model, { particles: 20, seed: 1 }).stats) },
  "Smc.run": { keys: () => validKeys(() => Smc.runUnsafe(model, withProbe({ particles: 1 }))), fields: () => keysOf(Smc.runUnsafe(model, { particles: 20, seed: 1 }).stats) },
  "Smc.filter": {
    keys: () => validKeys(() => Smc.filterUnsafe(probe)),
    fields: () => keysOf(Smc.filterUnsafe({ particles: 20, steps: 2, seed: 1, initial, transition }).stats)
  },
  Tempered: {
    keys: () => validKeys(() => Tempered.runUnsafe(model, withProbe({ particles: 2 }))),
    fields: () => keysOf(Tempered.runUnsafe(model, { particles: 20, moveSteps: 2, seed: 1 }).stats)
  },
  "Abc.rejection": {
    keys: () => validKeys(() => Abc.rejectionUnsafe(model, probe)),
    fields: () => keysOf(Abc.rejectionUnsafe(simulator, { observed: 0.5, simulations: 100, quantile: 0.1, seed: 1 }).stats)
  },
  "Abc.smc": {
    keys: () => validKeys(() => Abc.smcUnsafe(model, probe)),
    fields: () => keysOf(Abc.smcUnsafe(simulator, { observed: 0.5, particles: 20, generations: 2, seed: 1 }).stats)
  },
  Predictive: { keys: () => validKeys(() => Predictive.priorUnsafe(model, probe)) },
  "LogDensity.make": { keys: () => validKeys(() => LogDensity.make(model, probe)) },
  Diagnostics: {
    keys: () => [
      ...new Set([
        ...validKeys(() => Diagnostics.report(undefined as never, probe)),
        ...validKeys(() => Diagnostics.summary(undefined as never, probe)),
        ...validKeys(() => Diagnostics.formatSummary([], probe)),
        ...validKeys(() => Diagnostics.summaryToMarkdown([], probe)),
        ...validKeys(() => Diagnostics.geweke([1, 2, 3], probe))
      ])
    ],
    fields: () => keysOf(Diagnostics.summary(nutsPost())[0]!)
  },
  "Report.html": { keys: () => sameKeys(validKeys(() => Report.html(nutsPost(), probe)), interfaceKeys(sourceOf("Report"), "Options")) },
  "Export.toArviz": { keys: () => sameKeys(validKeys(() => Export.toArviz(nutsPost(), probe)), interfaceKeys(sourceOf("Export"), "ArvizOptions")) },
  Loo: {
    keys: () => [],
    fields: () => {
      const ll = Predictive.logLikelihoodUnsafe(model, nutsPost())
      return [...new Set([...keysOf(Loo.psisLoo(ll)), ...keysOf(Loo.waic(ll))])]
    }
  }
}

// Each check runs in well under a second (the whole file in about 1 s); 10 s is more than 5× that.
const TIMEOUT = 10_000

const OPTION_HEADERS = ["option"]
const FIELD_HEADERS = ["stats field", "result field", "row field"]

describe("docs/options.md", () => {
  const sections = sectionsOf(markdown)

  it("has a section for every algorithm, and no section the test does not check", () => {
    const headings = [...sections.keys()].filter((h) => h !== "")
    expect(headings.sort()).toEqual(Object.keys(entries).sort())
  }, TIMEOUT)

  for (const [heading, entry] of Object.entries(entries)) {
    it(`${heading}: the options table names exactly the keys the library accepts`, () => {
      const section = sections.get(heading) ?? ""
      const actual = entry.keys()
      expect(compare(tableNames(section, OPTION_HEADERS), actual)).toEqual({ undocumented: [], unknown: [] })
    }, TIMEOUT)
    if (entry.fields !== undefined) {
      const fields = entry.fields
      it(`${heading}: the stats table names exactly the fields a run returns`, () => {
        const section = sections.get(heading) ?? ""
        expect(compare(tableNames(section, FIELD_HEADERS), fields())).toEqual({ undocumented: [], unknown: [] })
      }, TIMEOUT)
    }
  }

  it("Hmc's stats are the fields of Nuts's stats table", () => {
    const fields = keysOf(Hmc.runUnsafe(model, { samples: 20, warmup: 20, seed: 1 }).stats)
    expect(compare(tableNames(sections.get("Nuts")!, FIELD_HEADERS), fields)).toEqual({ undocumented: [], unknown: [] })
  }, TIMEOUT)

  it("the opening table names exactly the fields of a Posterior", () => {
    expect(compare(tableNames(sections.get("")!, ["field"]), keysOf(nutsPost()))).toEqual({ undocumented: [], unknown: [] })
  }, TIMEOUT)

  it("the check fails when a key is left out or a key is invented", () => {
    const nuts = sections.get("Nuts")!
    const actual = entries.Nuts!.keys()
    const without = nuts.split("\n").filter((l) => !l.startsWith("| `targetAcceptance` |")).join("\n")
    expect(compare(tableNames(without, OPTION_HEADERS), actual).undocumented).toEqual(["targetAcceptance"])
    const invented = nuts.replace("| option | type | default | meaning |\n|---|---|---|---|", "| option | type | default | meaning |\n|---|---|---|---|\n| `warmUp` | integer | 0 | a typo |")
    expect(compare(tableNames(invented, OPTION_HEADERS), actual).unknown).toEqual(["warmUp"])
    expect(() => validKeys(() => undefined)).toThrow(/accepted/)
  }, TIMEOUT)
})
