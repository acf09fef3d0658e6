/**
 * Chains on worker threads: four NUTS chains of a 100-dimensional AR(1) Gaussian, and four MH
 * chains of a 20-dimensional one, in-thread (`run`, chains interleaved on one thread), on two
 * fresh workers per run (`workers: 2`, cold: each run starts its workers, loads the modules and
 * warms its JIT), and on a persistent `Workers.Pool` of two (warmed by one run of the same
 * configuration, then timed), in rounds that run the variants in turn (medians of the rounds; a
 * round is repeated while other processes were busy, and the busiest kept round is reported).
 * Also: the fixed costs (starting a pool of two; a tiny run cold, pooled and in-thread) and a
 * sweep of small runs for the crossover below which in-thread is faster on a warm pool. And SMC
 * with its particles in two batches on the pool (a barrier per step: every worker advances its
 * batch to the next observation, the parent resamples), on a state-space model whose step cost
 * is swept (Euler substeps of a pendulum) to find where that protocol pays. The draws are
 * bit-identical in every case (checked). Writes `benchmarks/results/workers.md`.
 *
 * @since 0.2.0
 */
import * as Is from "@fugue/inference/Is"
import * as Mh from "@fugue/inference/Mh"
import * as Nuts from "@fugue/inference/Nuts"
import * as Smc from "@fugue/inference/Smc"
import type * as Posterior from "@fugue/inference/Posterior"
import * as Workers from "@fugue/inference/Workers"
import { Effect, ManagedRuntime } from "effect"
import { readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { aim, environment, markdownTable, writeResult } from "./report.ts"
import { ar1, pendulum, pendulumData, url } from "./workerModels.ts"

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const sameDraws = (a: Posterior.Posterior<unknown, unknown>, b: Posterior.Posterior<unknown, unknown>): boolean =>
  a.sites.every((site) => a.draws.get(site)!.every((c, k) => c.every((v, i) => Object.is(v, b.draws.get(site)![k]![i]))))

// Other engineers share this 2-core machine: two workers need both cores, so another process's
// work slows the pooled runs far more than the in-thread ones. Each round of timed runs measures
// the CPU time the rest of the machine used meanwhile (/proc/stat's busy time, steal included,
// less this process's own) and is repeated (up to 6 times) while that exceeds 10 % of the
// machine; the share the kept rounds saw at most is reported.
const machineBusyMs = (): number | undefined => {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number) // user … steal (guest time is inside user)
    const idle = f[3]! + (f[4] ?? 0)
    return (f.reduce((a, b) => a + b, 0) - idle) * 10 // jiffies of 10 ms
  } catch {
    return undefined
  }
}
const ownMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
let othersMax = 0
const OTHERS_LIMIT = 0.1

/** Times `run` `n` times (the batch repeated while other processes were busy); the median, and the last result. */
const timed = async <A>(n: number, run: () => Promise<A>): Promise<{ ms: number; result: A }> => {
  const r = await rounds(n, [run])
  return { ms: r.ms[0]!, result: r.results[0] as A }
}

/**
 * Rounds of `runs`, one after another in each round, so that a slow spell of the machine
 * touches every variant alike; a round is repeated (up to 5 times) while other processes used
 * more than OTHERS_LIMIT of the machine. The median time of each variant, the median over the
 * rounds of the first variant's time over each one's (the speed-ups), and the last results.
 */
const rounds = async (n: number, runs: ReadonlyArray<() => Promise<unknown>>): Promise<{ ms: Array<number>; speedUps: Array<number>; results: Array<unknown> }> => {
  const times = runs.map(() => [] as Array<number>), ratios = runs.map(() => [] as Array<number>)
  const results = new Array<unknown>(runs.length)
  for (let i = 0; i < n; i++) {
    for (let attempt = 0; ; attempt++) {
      const b0 = machineBusyMs(), o0 = ownMs(), t0 = performance.now()
      const round: Array<number> = []
      for (let k = 0; k < runs.length; k++) {
        const t = performance.now()
        results[k] = await runs[k]!()
        round.push(performance.now() - t)
      }
      const wall = performance.now() - t0, b1 = machineBusyMs()
      const others = b0 === undefined || b1 === undefined ? 0 : Math.max(0, (b1 - b0 - (ownMs() - o0)) / (wall * availableParallelism()))
      // a round shorter than 100 ms is judged by its jiffies (10 ms) too coarsely: kept as it is
      if (others <= OTHERS_LIMIT || attempt === 5 || wall < 100) {
        if (wall >= 100) othersMax = Math.max(othersMax, others)
        round.forEach((t, k) => {
          times[k]!.push(t)
          ratios[k]!.push(round[0]! / t)
        })
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 3000))
    }
  }
  return { ms: times.map(median), speedUps: ratios.map(median), results }
}

const ms = (x: number): string => `${x.toFixed(0)} ms`

/**
 * SMC in-thread against one batch and two batches on the warm pool, the pendulum's step cost
 * swept; the table's rows. One worker does the in-thread work plus the protocol, so its excess
 * over in-thread, per round trip, is the protocol's cost whatever the machine's load.
 *
 * @internal
 */
export const smcSweep = async (pool: ManagedRuntime.ManagedRuntime<Workers.Pool, unknown>): Promise<Array<Array<string>>> => {
  const rows: Array<Array<string>> = []
  const steps = 30
  for (const substeps of [1, 30, 300, 3000]) {
    const model = Workers.named(url, "pendulum", pendulum, pendulumData(steps), substeps)
    const options = { particles: 500, seed: 1 }
    const inThread = () => Effect.runPromise(Smc.run(model, options))
    const one = () => pool.runPromise(Smc.run(model, { ...options, workers: 1 }))
    const two = () => pool.runPromise(Smc.run(model, { ...options, workers: 2 }))
    await inThread()
    await two() // each worker imports this model once
    const r = await rounds(5, [inThread, one, two])
    const [a, b, c] = r.results as [Posterior.Posterior<unknown, Smc.Stats>, Posterior.Posterior<unknown, Smc.Stats>, Posterior.Posterior<unknown, Smc.Stats>]
    for (const other of [b, c]) {
      if (!sameDraws(a, other) || !Object.is(a.logEvidence![0], other.logEvidence![0])) throw new Error(`SMC, ${substeps} substeps: a pooled run differs from the in-thread run`)
    }
    const stats = Smc.stats(a)
    const trips = stats.steps + 2 // open, one per step (a resampling that moves particles across batches adds one on 2 workers), finish
    rows.push([
      `pendulum, ${substeps} Euler substep${substeps === 1 ? "" : "s"} per step (${stats.resamplings} resamplings)`,
      ms(r.ms[0]!),
      ms(r.ms[1]!),
      ms(r.ms[2]!),
      `${r.speedUps[2]!.toFixed(2)}×`,
      `${(((r.ms[1]! - r.ms[0]!) / trips) * 1000).toFixed(0)}`
    ])
  }
  return rows
}

const main = async (): Promise<void> => {
  const lines: Array<string> = []
  const log = (s: string) => {
    console.log(s)
    lines.push(s)
  }
  log("# Chains on worker threads\n")
  log(environment())
  const nutsModel = Workers.named(url, "ar1", ar1, 100)
  const mhModel = Workers.named(url, "ar1", ar1, 20)
  const tinyModel = Workers.named(url, "ar1", ar1, 3)
  const tiny = { samples: 10, warmup: 10, chains: 4, seed: 1 }
  const REPEATS = 5

  // warm the in-thread JIT once (NUTS and MH)
  await Effect.runPromise(Nuts.run(nutsModel, { samples: 200, warmup: 200, chains: 1, seed: 9 }))
  await Effect.runPromise(Mh.run(mhModel, { samples: 5000, warmup: 1000, chains: 1, seed: 9, logDensity: "never" }))

  // fixed costs
  const tinyInThread = await timed(5, () => Effect.runPromise(Nuts.run(tinyModel, tiny)))
  const tinyCold = await timed(REPEATS, () => Effect.runPromise(Nuts.run(tinyModel, { ...tiny, workers: 2 })))
  const poolStart = await timed(REPEATS, async () => {
    const runtime = ManagedRuntime.make(Workers.Pool.layer(2))
    await runtime.runPromise(Effect.void) // builds the pool: both workers started and ready
    await runtime.dispose()
  })
  const pool = ManagedRuntime.make(Workers.Pool.layer(2))
  await pool.runPromise(Effect.void)
  await pool.runPromise(Nuts.run(tinyModel, tiny)) // each worker imports the model once
  const tinyPooled = await timed(5, () => pool.runPromise(Nuts.run(tinyModel, tiny)))

  const rows: Array<Array<string>> = []
  const measure = async <P extends Posterior.Posterior<unknown, unknown>>(
    label: string,
    run: (options: { readonly workers?: number }) => Effect.Effect<P, unknown>,
    aims = true
  ): Promise<void> => {
    await pool.runPromise(run({})) // warm the pool on this configuration
    const r = await rounds(REPEATS, [() => Effect.runPromise(run({})), () => Effect.runPromise(run({ workers: 2 })), () => pool.runPromise(run({}))])
    const [inThread, cold, pooled] = r.results as [P, P, P]
    if (!sameDraws(inThread, cold) || !sameDraws(inThread, pooled)) throw new Error(`${label}: the draws on workers differ from the in-thread draws`)
    const coldUp = r.speedUps[1]!, pooledUp = Number(r.speedUps[2]!.toFixed(2))
    rows.push([label, ms(r.ms[0]!), ms(r.ms[1]!), `${coldUp.toFixed(2)}×`, ms(r.ms[2]!), `${pooledUp.toFixed(2)}×`, aims ? `${aim(pooledUp, ">=", 1.7)} · ${aim(pooledUp, ">=", 1.9)}` : "measured"])
  }
  for (const samples of [1000, 6000]) {
    const options = { samples, warmup: 1000, chains: 4, seed: 1 }
    await measure(`NUTS, 100-D AR(1), 4 chains × (1000 + ${samples})`, (w) => Nuts.run(nutsModel, { ...options, ...w }))
  }
  {
    const options = { samples: 100_000, warmup: 20_000, chains: 4, seed: 1, logDensity: "never" as const }
    await measure("MH (model-running path), 20-D AR(1), 4 chains × (20 000 + 100 000)", (w) => Mh.run(mhModel, { ...options, ...w }))
  }
  {
    // importance sampling: its particles' blocks (4096 each, one stream each) on the workers
    const options = { particles: 200_000, seed: 1 }
    await measure("IS (prior proposal), 20-D AR(1), 200 000 particles (49 blocks of 4096)", (w) => Is.run(mhModel, { ...options, ...w }), false)
  }

  // the crossover on a warm pool: run sizes around where two workers start to pay (fresh workers
  // pay only from the main table's sizes: their start alone costs more than these whole runs)
  const sweep: Array<Array<string>> = []
  const crossing = async (label: string, sizes: ReadonlyArray<number>, run: (n: number) => Effect.Effect<unknown, unknown>) => {
    // the in-thread time of the smallest run from which every larger one is faster on the pool
    let from: number | undefined
    for (const n of sizes) {
      await pool.runPromise(run(n))
      const r = await rounds(SWEEP_REPEATS, [() => Effect.runPromise(run(n)), () => pool.runPromise(run(n))])
      if (r.speedUps[1]! <= 1) from = undefined
      else from ??= r.ms[0]!
      sweep.push([`${label} ${n}`, ms(r.ms[0]!), ms(r.ms[1]!), `${r.speedUps[1]!.toFixed(2)}×`])
    }
    return from
  }
  const SWEEP_REPEATS = 7
  const nutsFrom = await crossing("NUTS 100-D, 4 chains × (n + n), n =", [10, 25, 50, 100, 200], (n) => Nuts.run(nutsModel, { samples: n, warmup: n, chains: 4, seed: 2 }))
  const mhFrom = await crossing("MH 20-D, 4 chains × (n/5 + n), n =", [500, 1_000, 2_000, 5_000, 10_000], (n) =>
    Mh.run(mhModel, { samples: n, warmup: n / 5, chains: 4, seed: 2, logDensity: "never" }))
  const smcRows = await smcSweep(pool)
  await pool.dispose()
  if (Workers.liveThreads() !== 0) throw new Error(`${Workers.liveThreads()} worker threads still alive after the pools closed`)

  log("\n## 4 chains, 2 workers on this 2-core machine (aim ≥ 1.7×, aim 1.9×; medians of 5 rounds, each running the three variants in turn; a speed-up is the median of the rounds' ratios)\n")
  log(markdownTable(["run", "in-thread", "2 fresh workers (cold)", "cold speed-up", "pool of 2 (warm)", "pooled speed-up", "aim (pooled)"], rows))
  log("\n## Fixed costs\n")
  log(markdownTable(["what", "time"], [
    ["Starting a pool of two workers (`Workers.Pool.layer(2)` built: both threads up, modules loaded)", ms(poolStart.ms)],
    ["Tiny NUTS run (4 chains × (10 + 10), 3-D) on 2 fresh workers (spawn, module loading, cold JIT, then the run)", ms(tinyCold.ms)],
    ["The same tiny run on a warm pool of two (per-run cost of the pool: messages, density set-up in each worker)", ms(tinyPooled.ms)],
    ["The same tiny run in-thread", ms(tinyInThread.ms)]
  ]))
  log("\n## Crossover on a warm pool: small runs (medians of 7 rounds)\n")
  log(markdownTable(["run", "in-thread", "pool of 2", "pooled speed-up"], sweep))
  const from = (x: number | undefined) => (x === undefined ? "beyond the sweep" : `from about ${ms(x)} of in-thread time`)
  const coldFrom = rows.find((r) => Number.parseFloat(r[3]!) > 1)
  log(`\n- On a warm pool two workers pay ${from(nutsFrom)} (NUTS) and ${from(mhFrom)} (MH): below that, the messages and the per-run set-up in each worker (density, chain) cost more than the halved sampling.`)
  log(`- Fresh workers per run pay their start (${ms(tinyCold.ms)} with a tiny run) every time: ${coldFrom === undefined ? "none of the runs above is long enough for them" : `the first run above they win is "${coldFrom[0]}" (${coldFrom[1]} in-thread)`}.`)
  log(`- Other processes on the machine used at most ${(othersMax * 100).toFixed(0)} % of its CPU during the kept rounds (a round of 100 ms or more is repeated, up to 6 times, while they use more than ${OTHERS_LIMIT * 100} %).`)
  log("- Without `workers` and without a pool in the context, runs stay in-thread whatever their size; with a pool in the context, every run of a named model goes to it.")
  log("- Each worker runs whole chains, dealt to whichever worker is free; chain i uses stream i of the seed wherever it runs, so the draws are bit-identical (checked here for every row).")
  log("\n## SMC: particles in 2 batches on a warm pool, a barrier per observation (500 particles, 30 observations; medians of 5 rounds)\n")
  log(markdownTable(["model (work per particle per step)", "in-thread", "1 pooled worker", "2 pooled workers", "speed-up (2 workers)", "protocol µs per round trip (1 worker − in-thread)"], smcRows))
  log("\n- Each step costs a round trip to both workers (their log weights back as transferred `Float64Array`s), and a resampling that moves particles across batches one more (their tapes out of one worker and into the other, where they are rebuilt by replay): SMC on workers pays only where a step's work per batch is well above that; below it the default (in-thread) is faster. `Smc.run` goes to workers only with `workers`, never by itself with a pool in the context.")
  writeResult("workers", lines.join("\n"))
  process.exit(0)
}

if (import.meta.url === `file://${process.argv[1]}`) void main()
