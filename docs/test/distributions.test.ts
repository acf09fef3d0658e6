// docs/distributions.md has a row for every family `@fugue/core` exports.
import { describe, expect, it } from "@effect/vitest"
import * as Core from "@fugue/core"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const table = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "distributions.md"), "utf8")

describe("the distributions table", () => {
  it("lists every exported family constructor", () => {
    // the constructors are the capitalised functions exported beside their *Distribution classes
    const families = Object.keys(Core).filter((k) => /^[A-Z]/.test(k) && typeof (Core as Record<string, unknown>)[k] === "function" && `${k}Distribution` in Core)
    expect(families.length).toBeGreaterThan(25)
    const missing = families.filter((f) => !table.includes(`| \`${f}(`))
    expect(missing).toEqual([])
  })
})
