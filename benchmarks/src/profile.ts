/**
 * Where the time goes: profiles Fugue's prior execution of the seed's regression (`run(new
 * PriorHandler(rng), model)`), and, for comparison, MH on the same model and the state-space
 * particle filter, each for a fixed time under `node --cpu-prof` in a child process, and
 * summarises each profile as the top functions by self time in `results/profile.md`. Run with
 * `node src/profile.ts [prior|mh|filter]...` (the parent spawns the profiled children).
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Normal, Rng, sample } from "@fugue/core"
import * as Mh from "@fugue/inference/Mh"
import * as Smc from "@fugue/inference/Smc"
import { PriorHandler, run } from "@fugue/runtime"
import { linearRegression, randomWalkData } from "./models.ts"
import { environment, markdownTable, packageRoot, sink, writeResult } from "./report.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/**
 * Self time per function (ms and share), largest first, counting only samples taken inside
 * `within` (a function name: its call subtree) plus garbage-collector samples, so module
 * loading at start-up does not count.
 *
 * @example
 * summarise(JSON.parse(readFileSync("x.cpuprofile", "utf8")), 20, "child")
 *
 * @category getters
 * @since 0.1.0
 */
export const summarise = (
  profile: CpuProfile,
  top: number,
  within: string
): Array<{ name: string; where: string; selfMs: number; share: number }> => {
  const byId = new Map<number, ProfileNode>()
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const c of node.children ?? []) parentOf.set(c, node.id)
  }
  const inside = new Map<number, boolean>()
  const isInside = (id: number): boolean => {
    const known = inside.get(id)
    if (known !== undefined) return known
    const node = byId.get(id)!
    const name = node.callFrame.functionName
    const parent = parentOf.get(id)
    const answer = name === within || name === "(garbage collector)" || (parent !== undefined && isInside(parent))
    inside.set(id, answer)
    return answer
  }
  const selfUs = new Map<string, { name: string; where: string; us: number }>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    if (!isInside(id)) continue
    const node = byId.get(id)!
    const dt = profile.timeDeltas[i] ?? 0
    total += dt
    const f = node.callFrame
    const file = f.url.replace(/^file:\/\//, "").replace(/^.*\/(packages|benchmarks|node_modules)\//, "$1/")
    const where = file === "" ? "(native)" : `${file}:${f.lineNumber + 1}`
    const name = f.functionName === "" ? "(anonymous)" : f.functionName
    const key = `${name}@${where}`
    const entry = selfUs.get(key) ?? { name, where, us: 0 }
    entry.us += dt
    selfUs.set(key, entry)
  }
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: e.us / total }))
}

const PROFILE_MS = 2500

const TARGETS = {
  prior: {
    title: "prior execution of the seed's regression (`run(new PriorHandler(rng), model)`)",
    unit: "executions",
    batch: (rng: Rng.Rng): number => {
      for (let i = 0; i < 1000; i++) sink.value += run(new PriorHandler(rng), linearRegression)[1].logPrior
      return 1000
    }
  },
  mh: {
    title: "single-site MH on the regression (`Mh.runUnsafe`, 10 000 iterations per call)",
    unit: "iterations",
    batch: (_rng: Rng.Rng): number => {
      Mh.runUnsafe(linearRegression, { samples: 10_000, warmup: 0, seed: 1 })
      return 10_000
    }
  },
  filter: {
    title: "state-space particle filter on the random walk (`Smc.filterUnsafe`, 1000 particles × 50 steps per call)",
    unit: "particle-steps",
    batch: (_rng: Rng.Rng): number => {
      const ys = randomWalkData().ys
      Smc.filterUnsafe({
        particles: 1000,
        steps: ys.length,
        threshold: 1,
        seed: 1,
        initial: function*() {
          return yield* sample("x", Normal(0, 1))
        },
        transition: (x: number) =>
          function*() {
            return yield* sample("x", Normal(x, 0.5))
          },
        observation: (x: number, t: number) => Normal(x, 1).logProb(ys[t])
      })
      return 1000 * ys.length
    }
  }
} as const
type Target = keyof typeof TARGETS

const child = (target: Target) => {
  const rng = Rng.make(1)
  const t0 = performance.now()
  let n = 0
  while (performance.now() - t0 < PROFILE_MS) n += TARGETS[target].batch(rng)
  console.log(JSON.stringify({ work: n, ms: performance.now() - t0 }))
}

const profileOne = (target: Target): string => {
  const dir = mkdtempSync(join(tmpdir(), "fugue-prof-"))
  const result = spawnSync(
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, fileURLToPath(import.meta.url), "--child", target],
    { encoding: "utf8", cwd: packageRoot }
  )
  if (result.status !== 0) throw new Error(`profiled child failed: ${result.stderr}`)
  const { work, ms } = JSON.parse(result.stdout.trim().split("\n").pop()!) as { work: number; ms: number }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile
  rmSync(dir, { recursive: true, force: true })
  const rows = summarise(profile, 20, "child")
  return [
    `## ${TARGETS[target].title}`,
    "",
    `${work} ${TARGETS[target].unit} in ${ms.toFixed(0)} ms (${((ms * 1e6) / work).toFixed(0)} ns each, under the profiler).`,
    "Shares are of the samples inside the measured loop plus GC (module loading at start-up excluded).",
    "",
    markdownTable(
      ["function", "where", "self ms", "self %"],
      rows.map((r) => [r.name, r.where, r.selfMs.toFixed(0), (100 * r.share).toFixed(1)])
    )
  ].join("\n")
}

const parent = (targets: ReadonlyArray<Target>) => {
  const sections = targets.map(profileOne)
  writeResult("profile", ["# Profiles (`node --cpu-prof`, top functions by self time)", environment(), ...sections].join("\n\n"))
}

const i = process.argv.indexOf("--child")
if (i >= 0) child(process.argv[i + 1] as Target)
else {
  const asked = process.argv.slice(2).filter((a): a is Target => a in TARGETS)
  parent(asked.length > 0 ? asked : (Object.keys(TARGETS) as Array<Target>))
}
