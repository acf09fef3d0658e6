// docs/errors.md stays complete: every error class the packages export (found by walking their
// barrels and every public module, namespaces included) is named in the guide's tables, and every
// error the tables name is one the packages export.
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const docsDir = join(dirname(fileURLToPath(import.meta.url)), "..")
const packagesDir = join(docsDir, "..", "packages")
const PACKAGES = ["core", "runtime", "memory", "inference"]

/** Every module specifier a user can import: the barrel and each public module (src/*.ts). */
const specifiers = (): Array<string> =>
  PACKAGES.flatMap((p) => [
    `@fugue/${p}`,
    ...readdirSync(join(packagesDir, p, "src"))
      .filter((f) => f.endsWith(".ts") && f !== "index.ts")
      .map((f) => `@fugue/${p}/${f.slice(0, -3)}`)
  ])

const isErrorClass = (v: unknown): v is Function =>
  typeof v === "function" && (v.prototype instanceof Error || /^[A-Z]\w*Error$/.test(v.name))

/** The names of the exported error classes, walking namespace objects (`export * as X`) one level down. */
export const exportedErrors = async (): Promise<Map<string, Set<string>>> => {
  const found = new Map<string, Set<string>>()
  const add = (name: string, where: string) => {
    if (!found.has(name)) found.set(name, new Set())
    found.get(name)!.add(where)
  }
  for (const spec of specifiers()) {
    const module = (await import(spec)) as Record<string, unknown>
    for (const [key, value] of Object.entries(module)) {
      if (isErrorClass(value)) add(value.name, `${spec}:${key}`)
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const [inner, v] of Object.entries(value as Record<string, unknown>)) {
          if (isErrorClass(v)) add(v.name, `${spec}:${key}.${inner}`)
        }
      }
    }
  }
  return found
}

/** The error names in the first column of the guide's tables (`` `XxxError` ``). */
export const documentedErrors = (markdown: string): Set<string> => {
  const names = new Set<string>()
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) continue
    const first = line.split("|")[1]!
    for (const m of first.matchAll(/`(\w+(?:Error|Abort))`/g)) names.add(m[1]!)
  }
  return names
}

// Importing every module takes about 1–2 s (Distributed loads Effect's cluster modules); 30 s is far more than 5×.
const TIMEOUT = 30_000

describe("docs/errors.md", () => {
  const markdown = readFileSync(join(docsDir, "errors.md"), "utf8")

  it("names every exported error class, and only exported ones", async () => {
    const exported = await exportedErrors()
    // the walk must find the well-known ones, or it is broken
    for (const known of ["InvalidOptionsError", "InvalidDistributionError", "ModelCodeError", "PoolClosedError", "SimulationError"]) {
      expect(exported.has(known), known).toBe(true)
    }
    const documented = documentedErrors(markdown)
    const undocumented = [...exported.keys()].filter((n) => !documented.has(n)).map((n) => `${n} (${[...exported.get(n)!].join(", ")})`)
    expect(undocumented).toEqual([])
    const unknown = [...documented].filter((n) => !exported.has(n) && n !== "ExecutionAbort")
    expect(unknown).toEqual([])
  }, TIMEOUT)

  it("the check fails for an error the guide leaves out", () => {
    const without = markdown.split("\n").filter((l) => !l.startsWith("| `ZeroWeightError`")).join("\n")
    expect(documentedErrors(markdown).has("ZeroWeightError")).toBe(true)
    expect(documentedErrors(without).has("ZeroWeightError")).toBe(false)
  }, TIMEOUT)
})
