// A sampling job on Effect's cluster (in one process: TestRunner's in-memory runner and storage).
// The runner is stopped mid-run (its layer's scope closed while the job runs), a new runner is
// started over the same checkpoint store, the job is asked for again, and it finishes from its
// last checkpoint with the same draws as a job that was never interrupted.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestRunner } from "effect/cluster"
import * as Distributed from "../src/Distributed.ts"
import * as Nuts from "../src/Nuts.ts"
import { eightSchools } from "./fixtures/workerModels.ts"

const options = { samples: 1500, warmup: 500, chains: 2, seed: 21 }

describe("sampling jobs on the cluster", () => {
  it.live("a job resumed on a new runner after its runner stopped finishes with the uninterrupted draws", () =>
    Effect.gen(function*() {
      const expected = Nuts.runUnsafe(eightSchools, options)
      // one store, shared by both runners (in production: files or a database all runners see);
      // it notes what each load found, to show that the second runner resumed
      const saved = new Map<string, Nuts.Checkpoint>()
      const found: Array<number> = []
      const service = {
        load: (job: string) => {
          const c = saved.get(job)
          found.push(c === undefined ? 0 : c.states.reduce((a, s) => a + (s?.iteration ?? 0), 0))
          return c === undefined ? undefined : structuredClone(c)
        },
        save: (job: string, c: Nuts.Checkpoint) => void saved.set(job, structuredClone(c))
      }
      const storeLayer = Layer.succeed(Distributed.CheckpointStore, service)
      const runner = () => Distributed.layerSamplingJob.pipe(Layer.provideMerge(TestRunner.layer), Layer.provide(storeLayer))

      // the first runner: starts the job, and is stopped once a checkpoint exists
      const scope = yield* Scope.make()
      const first = yield* Layer.buildWithScope(runner(), scope)
      const fiber = yield* Effect.forkChild(Distributed.sample("job-1", eightSchools, options, 100).pipe(Effect.provideContext(first)))
      while (!saved.has("job-1")) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      yield* Scope.close(scope, Exit.void)
      expect(saved.get("job-1")!.states.some((s) => s !== undefined)).toBe(true)

      // a new runner over the same store: the job resumes from its checkpoint
      const post = yield* Distributed.sample("job-1", eightSchools, options, 100).pipe(Effect.provide(runner()))
      // the first runner found nothing; the second found the checkpoint (iterations already done)
      expect(found[0]).toBe(0)
      expect(found[1]).toBeGreaterThan(0)
      expect(found.length).toBe(2)
      for (const site of expected.sites) {
        for (let c = 0; c < options.chains; c++) {
          expect(Array.from(post.draws.get(site)![c]!)).toEqual(Array.from(expected.draws.get(site)![c]!))
        }
      }
    }), 120_000)
})
