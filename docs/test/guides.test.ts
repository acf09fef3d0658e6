// Every guide in docs/, and the README, is a literate program: its ```ts blocks, concatenated in
// order, must type-check (strict, the repository's compiler options) and run under Node (type
// stripping) and exit 0. Blocks fenced as ```ts no-run are illustrations and are skipped. Guides
// use node:assert to check what they claim.
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const docsDir = join(dirname(fileURLToPath(import.meta.url)), "..")
const outDir = join(docsDir, ".guides")

/** The runnable code of a guide: every ```ts block except those marked no-run. */
export const extract = (markdown: string): string => {
  const blocks: Array<string> = []
  const fence = /^```ts( no-run)?\n([\s\S]*?)^```/gm
  for (const m of markdown.matchAll(fence)) if (m[1] === undefined) blocks.push(m[2])
  return blocks.join("\n")
}

const guides = [...readdirSync(docsDir).filter((f) => f.endsWith(".md")).sort(), "../README.md"]

describe("guides type-check", () => {
  it("every guide's runnable code type-checks with the repository's strict options", () => {
    // each guide a module of its own in a fresh folder under docs/ (so @fugue/* resolve as for
    // the guides themselves), checked by the workspace's tsc
    const dir = join(outDir, `typecheck-${process.pid}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    try {
      for (const guide of guides) {
        writeFileSync(join(dir, guide.replace(/^\.\.\//, "").replace(/\.md$/, ".ts")), extract(readFileSync(join(docsDir, guide), "utf8")))
      }
      // the repository's options, except the unused-name checks: a guide names what it shows
      // (`const [fit, trace] = run(…)`) whether or not its next lines read it
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({ extends: "../../../tsconfig.base.json", compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }, include: ["*.ts"] })
      )
      const tsc = join(docsDir, "..", "node_modules", ".bin", "tsc")
      let output = ""
      try {
        execFileSync(tsc, ["-p", join(dir, "tsconfig.json")], { cwd: docsDir, stdio: "pipe", timeout: 120_000, encoding: "utf8" })
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error)
      }
      expect(output).toBe("")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

describe("guides run", () => {
  it("there are guides", () => {
    expect(guides.length).toBeGreaterThan(0)
  })
  for (const guide of guides) {
    it(`${guide} runs to completion`, () => {
      const code = extract(readFileSync(join(docsDir, guide), "utf8"))
      expect(code.length).toBeGreaterThan(0)
      mkdirSync(outDir, { recursive: true })
      const file = join(outDir, guide.replace(/^\.\.\//, "").replace(/\.md$/, ".ts"))
      writeFileSync(file, code)
      // process.execPath is the Node running vitest (Node 22 from node_modules/.bin).
      execFileSync(process.execPath, [file], { cwd: docsDir, stdio: "pipe", timeout: 120_000 })
    }, 180_000)
  }
})
