// The packages work outside this repository: each is built (tsc to dist/, .js with declarations),
// packed with pnpm (workspace versions rewritten, `publishConfig.exports` pointing at dist/), and
// installed from the tarballs into an empty project outside the workspace (--prefer-offline: the
// local pnpm store first, the npm registry only for what it lacks). A model there, in plain .js, runs NUTS in-thread and on two worker
// threads (the worker entry resolved from the built package), under the Node 22 running the tests
// and, where the system has one, under Node 20 (the oldest the packages' `engines` accept). The
// installed export maps point at .js only: no .ts reaches a user's Node.
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const packages = ["core", "runtime", "memory", "inference"] as const
const node20 = "/usr/bin/node"

const sh = (command: string, args: ReadonlyArray<string>, cwd: string, timeout = 240_000) =>
  execFileSync(command, args, { cwd, stdio: "pipe", timeout, encoding: "utf8" })

const model = `import { Ad, HalfCauchy, Normal, observe, sample } from "@fugue/core"
import { Workers } from "@fugue/inference"
export const model = Workers.named(import.meta.url, "model", function* () {
  const mu = yield* sample("mu", Normal(0, 5))
  const tau = yield* sample("tau", HalfCauchy(5))
  yield* observe("y", Normal(mu, Ad.add(1, tau)), 2)
})
`
const main = `import { Effect } from "effect"
import { Diagnostics, Nuts, Posterior } from "@fugue/inference"
import { model } from "./model.js"
const options = { samples: 300, warmup: 300, chains: 2, seed: 1 }
const inThread = Nuts.runUnsafe(model, options)
const onWorkers = await Effect.runPromise(Nuts.run(model, { ...options, workers: 2 }))
const a = Posterior.pooled(inThread, "mu"), b = Posterior.pooled(onWorkers, "mu")
console.log(JSON.stringify({
  node: process.version,
  draws: a.length,
  mean: Posterior.mean(inThread, "mu"),
  rows: Diagnostics.summary(inThread).length,
  gradient: inThread.stats.gradientSource,
  workersIdentical: a.length === b.length && a.every((v, i) => v === b[i])
}))
`

describe("packages outside the repository", () => {
  it("build, pack, install in an empty project, run NUTS in-thread and on workers (Node 22, and Node 20 where present)", () => {
    const work = mkdtempSync(join(tmpdir(), "fugue-packages-"))
    try {
      const packs = join(work, "packs")
      for (const p of packages) {
        const dir = join(root, "packages", p)
        rmSync(join(dir, "dist"), { recursive: true, force: true })
        sh("pnpm", ["run", "--silent", "build"], dir)
        sh("pnpm", ["pack", "--pack-destination", packs], dir)
      }
      const tarballs = Object.fromEntries(readdirSync(packs).map((f) => [f.replace(/^fugue-(\w+)-.*$/, "@fugue/$1"), `file:${join(packs, f)}`]))
      expect(Object.keys(tarballs).sort()).toEqual(packages.map((p) => `@fugue/${p}`).sort())
      const project = join(work, "project")
      sh("mkdir", ["-p", project], work)
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "user-project", private: true, type: "module", dependencies: { ...tarballs, effect: "4.1.0" } }, null, 2)
      )
      // the tarballs depend on each other by version: point those at the tarballs too
      writeFileSync(
        join(project, "pnpm-workspace.yaml"),
        `overrides:\n${Object.entries(tarballs).map(([k, v]) => `  "${k}": "${v}"`).join("\n")}\n`
      )
      writeFileSync(join(project, "model.js"), model)
      writeFileSync(join(project, "main.js"), main)
      sh("pnpm", ["install", "--prefer-offline", "--config.confirmModulesPurge=false"], project)

      // the installed manifests export built .js (and .d.ts), never .ts
      for (const p of packages) {
        const manifest = JSON.parse(readFileSync(join(project, "node_modules", "@fugue", p, "package.json"), "utf8"))
        const targets = JSON.stringify(manifest.exports)
        expect(targets).not.toMatch(/(?<!\.d)\.ts"/)
        expect(targets).toMatch(/\.\/dist\/index\.js/)
        for (const dep of Object.values({ ...manifest.dependencies }) as Array<string>) expect(dep).not.toMatch(/^workspace:/)
      }

      const nodes = [process.execPath, ...(existsSync(node20) ? [node20] : [])]
      if (!existsSync(node20)) console.warn(`packages test: ${node20} is absent, so the packages are checked on ${process.version} only`)
      for (const node of nodes) {
        const out = JSON.parse(sh(node, ["main.js"], project, 120_000).trim().split("\n").at(-1)!)
        expect(out.draws).toBe(600)
        // posterior of mu given one observation y = 2 with noise sd 1 + tau: its mean lies between
        // the prior mean 0 and y; a loose check that inference ran, the statistics are tested in-repo
        expect(out.mean).toBeGreaterThan(0)
        expect(out.mean).toBeLessThan(2)
        expect(out.rows).toBe(2)
        expect(out.gradient).toBe("compiled")
        expect(out.workersIdentical).toBe(true)
      }
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }, 600_000)
})
