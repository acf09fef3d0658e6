// The API reference builds from the doc comments, and the doc comments cover the API. TypeDoc
// (docs/api/typedoc.json, the same configuration `pnpm docs:api` uses) converts the four public
// packages from their entry points into a temporary folder; the test then checks that it reported
// no errors and no warnings beyond the two known kinds, that the HTML has a page per package and
// for the central exports, and — documentation coverage, walking TypeDoc's reflections — that every
// public module and namespace opens with a paragraph, that every export has a summary, and that
// every exported function and class has an `@example` (STYLE.md, "Docs"). Exports marked
// `@internal` are left out of the reference (`excludeInternal`) and so out of the check.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Application, type Comment, type DeclarationReflection, Logger, LogLevel, type ProjectReflection, ReflectionKind, TSConfigReader, TypeDocReader } from "typedoc"

const apiDir = join(dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["@fugue/core", "@fugue/runtime", "@fugue/memory", "@fugue/inference"] as const

/**
 * Exports of packages/inference/src/Nuts.ts and Hmc.ts (edited elsewhere at the time this test was
 * written) excused from the summary and example checks, as "Namespace.name" paths such as
 * "@fugue/inference.Nuts.Checkpoint". Empty today: both files document every export. An entry
 * that gets documented must be removed (the last test checks).
 */
const PENDING_IN_NUTS_AND_HMC: ReadonlyArray<string> = []

/** The kinds that must carry an `@example`; types, interfaces and constants are counted only. */
const EXAMPLE_REQUIRED = ReflectionKind.Function | ReflectionKind.Class

// A TypeDoc run takes 20–40 s here (four TypeScript programs, then the HTML); the limit is 5× the slowest.
const TYPEDOC_TIMEOUT = 200_000

/** TypeDoc's messages, kept for the assertions instead of printed. */
class CollectingLogger extends Logger {
  readonly messages: Array<{ readonly level: LogLevel; readonly text: string }> = []
  override log(message: string, level: LogLevel): void {
    super.log(message, level)
    this.messages.push({ level, text: message })
  }
}

/** Warnings that do not fail the build: no git remote here (source links stay unlinked), and
 * public signatures that mention a type the package does not export (listed in the report). */
const knownWarning = (text: string): boolean =>
  /^The provided git remote ".*" was not valid/.test(text) || /is referenced by .* but not included in the documentation$/.test(text)

interface Row {
  readonly pkg: string
  /** "@fugue/runtime.Trace.get": package, namespaces, name. */
  readonly path: string
  readonly kind: ReflectionKind
  readonly summary: boolean
  readonly example: boolean
}

const hasSummary = (c: Comment | undefined): boolean => c !== undefined && c.summary.some((part) => part.text.trim() !== "")

/** A declaration's comments: its own and, for functions and accessors, its signatures'. */
const commentsOf = (r: DeclarationReflection): Array<Comment> =>
  [r.comment, ...(r.signatures ?? []).map((s) => s.comment), r.getSignature?.comment].filter((c): c is Comment => c !== undefined)

/** Every export of the reference, one row each: package modules, their namespaces (`export * as
 * Trace`) and the declarations in them. Re-exports (`export { sample } from "./Model.ts"`) are
 * references to a row already walked and are skipped. */
const exportsOf = (project: ProjectReflection): Array<Row> => {
  const rows: Array<Row> = []
  const walk = (pkg: string, parent: DeclarationReflection, path: string): void => {
    for (const child of parent.children ?? []) {
      if (child.kindOf(ReflectionKind.Reference)) continue
      const childPath = `${path}.${child.name}`
      const comments = commentsOf(child)
      rows.push({ pkg, path: childPath, kind: child.kind, summary: comments.some(hasSummary), example: comments.some((c) => c.getTag("@example") !== undefined) })
      if (child.kindOf(ReflectionKind.SomeModule)) walk(pkg, child, childPath)
    }
  }
  for (const module of project.children ?? []) {
    rows.push({ pkg: module.name, path: module.name, kind: module.kind, summary: hasSummary(module.comment), example: true })
    walk(module.name, module, module.name)
  }
  return rows
}

const isModule = (row: Row): boolean => (row.kind & ReflectionKind.SomeModule) !== 0
const pending = (row: Row): boolean => PENDING_IN_NUTS_AND_HMC.includes(row.path)

let out: string
let logger: CollectingLogger
let project: ProjectReflection | undefined
let rows: Array<Row> = []

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "fugue-api-"))
  const app = await Application.bootstrapWithPlugins({ options: join(apiDir, "typedoc.json"), out }, [new TypeDocReader(), new TSConfigReader()])
  expect(app.logger.errorCount, "errors reading typedoc.json or loading the plugin").toBe(0)
  logger = new CollectingLogger()
  app.logger = logger
  project = await app.convert()
  if (project === undefined) return
  app.validate(project)
  await app.generateOutputs(project)
  rows = exportsOf(project)
}, TYPEDOC_TIMEOUT)

afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true })
})

describe("the API reference", () => {
  it("TypeDoc converts the four packages and writes the HTML without errors", () => {
    const errors = logger.messages.filter((m) => m.level === LogLevel.Error).map((m) => m.text)
    expect(errors).toEqual([])
    expect(project).toBeDefined()
    const unexpected = logger.messages.filter((m) => m.level === LogLevel.Warn && !knownWarning(m.text)).map((m) => m.text)
    expect(unexpected).toEqual([])
    expect(existsSync(join(out, "index.html"))).toBe(true)
  })

  it("has a page for each package, opening with the package's paragraph", () => {
    expect(project?.children?.map((m) => m.name).sort()).toEqual([...packages].sort())
    for (const pkg of packages) {
      const page = join(out, "modules", `${pkg.replace(/[@/]/g, "_")}.html`)
      expect(existsSync(page), page).toBe(true)
      expect(readFileSync(page, "utf8")).toContain(`${pkg}: `)
    }
  })

  it("has pages for the central exports", () => {
    const pages = [
      "modules/_fugue_inference.Nuts.html",
      "modules/_fugue_inference.Mh.html",
      "modules/_fugue_inference.LogDensity.html",
      "modules/_fugue_runtime.Trace.html",
      "functions/_fugue_core.Model.sample.html",
      "functions/_fugue_inference.Nuts.run.html",
      "functions/_fugue_inference.Mh.run.html",
      "functions/_fugue_inference.LogDensity.make.html",
      "classes/_fugue_runtime.Trace.Trace.html"
    ]
    expect(pages.filter((p) => !existsSync(join(out, p)))).toEqual([])
    // the namespace page carries the module's opening paragraph (plugin/moduleComments.ts)
    expect(readFileSync(join(out, "modules/_fugue_runtime.Trace.html"), "utf8")).toContain("A trace records what one execution of a model did")
  })

  it("every public module and namespace opens with a paragraph", () => {
    const modules = rows.filter(isModule)
    expect(modules.length).toBeGreaterThan(40)
    expect(modules.filter((r) => !r.summary && !pending(r)).map((r) => r.path)).toEqual([])
  })

  it("every export has a summary", () => {
    expect(rows.length).toBeGreaterThan(500)
    expect(rows.filter((r) => !r.summary && !pending(r)).map((r) => r.path)).toEqual([])
  })

  it("every exported function and class has an example", () => {
    const missing = rows.filter((r) => (r.kind & EXAMPLE_REQUIRED) !== 0 && !r.example && !pending(r))
    expect(missing.map((r) => r.path)).toEqual([])
    // not required: types, interfaces and constants without one, counted per package
    const counts = packages.map((pkg) => `${pkg} ${rows.filter((r) => r.pkg === pkg && !isModule(r) && !r.example).length}`)
    console.info(`exports without an @example (types, interfaces, constants): ${counts.join(", ")}`)
  })

  it("the allow-list names only undocumented exports of Nuts and Hmc", () => {
    for (const path of PENDING_IN_NUTS_AND_HMC) {
      expect(path).toMatch(/^@fugue\/inference\.(Nuts|Hmc)\./)
      const row = rows.find((r) => r.path === path)
      expect(row, `${path} is not an export`).toBeDefined()
      const excused = !row!.summary || ((row!.kind & EXAMPLE_REQUIRED) !== 0 && !row!.example)
      expect(excused, `${path} is documented now: remove it from PENDING_IN_NUTS_AND_HMC`).toBe(true)
    }
  })
})
