// The service examples' claims. handlersAndLayers: a model conditioned (or intervened on, masked,
// constrained) by a layer around Mh.run / Nuts.run draws exactly what the model rewritten by hand
// draws with the same seed. pooling: pooled and unpooled loops draw the same numbers. httpService:
// the server answers with a NUTS summary whose means lie within 4 MCSE of the exact posterior
// (4 × the Monte Carlo standard error the summary itself reports: a two-sided tolerance that a
// correct sampler exceeds with probability about 6e-5 per site), rejects bad input with a 400,
// stops a run whose client went away, and closes with its scope.
import { describe, expect, it } from "@effect/vitest"
import type { Model } from "@fugue/core"
import { Context, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { request } from "node:http"
import { linearRegression, linearRegressionExact, seedData } from "../src/models.ts"
import { comparisons, identical, largestGap } from "../src/examples/handlersAndLayers.ts"
import { layer as serviceLayer, type Counters, type RegressionResponse } from "../src/examples/httpService.ts"
import { estimates, groupMeans, loop, sameDraws, variants } from "../src/examples/pooling.ts"

describe("handlersAndLayers", () => {
  it.live("layers around Mh.run and Nuts.run draw exactly what the hand-rewritten models draw", () =>
    Effect.gen(function*() {
      const rows = yield* comparisons({ samples: 500, warmup: 300, chains: 2, seed: 5 })
      const byName = new Map(rows.map((row) => [row.name, row]))
      for (const name of ["MH, responses observed", "NUTS, responses observed", "NUTS, noise known (do)", "MH, last point left out", "MH, intercept ≥ 0"]) {
        const row = byName.get(name)!
        expect(identical(row.viaLayer, row.byHand), name).toBe(true)
      }
      // the layers changed what was inferred: y is no latent site, noise is gone under do(noise)
      expect(byName.get("MH, responses observed")!.viaLayer.sites).toEqual(["intercept", "noise", "slope"])
      expect(byName.get("NUTS, noise known (do)")!.viaLayer.sites).toEqual(["intercept", "slope"])
      const constrained = byName.get("MH, intercept ≥ 0")!.viaLayer.draws.get("intercept")!
      for (const chain of constrained) for (const x of chain) expect(x).toBeGreaterThanOrEqual(0)
      // the tempered likelihood by hand is different arithmetic: agreement within Monte Carlo error
      // (|Δ mean| ≤ 4 × √(MCSE₁² + MCSE₂²))
      expect(largestGap(byName.get("NUTS, likelihood ^ 1/2")!)).toBeLessThan(4)
    }), 10_000)
})

describe("pooling", () => {
  it.effect("pooled and unpooled loops draw identical values and weights, and the pool reuses one trace", () =>
    Effect.gen(function*() {
      const workloads: ReadonlyArray<[Model.Model<unknown>, string]> = [[linearRegression(seedData.xs, seedData.ys), "slope"], [groupMeans(50), "mu"]]
      for (const [model, site] of workloads) {
        const results = []
        for (const variant of variants) results.push(yield* loop(variant, model, { executions: 5000, seed: 3, site }))
        const [fresh, ...pooled] = results
        for (const r of pooled) {
          expect(sameDraws(fresh!, r), r.variant).toBe(true)
          expect(estimates(r)).toEqual(estimates(fresh!))
          expect(r.pool!.misses).toBe(1)
          expect(r.pool!.outstanding).toBe(0)
        }
      }
    }), 10_000)
})

const regressionBody = { xs: seedData.xs, ys: seedData.ys, samples: 1000, warmup: 1000, chains: 4, seed: 3, targetAcceptance: 0.99 }

const post = (url: string, body: unknown) =>
  Effect.promise(async () => {
    const response = await fetch(`${url}/regression`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return { status: response.status, json: (await response.json()) as unknown }
  })

const counters = (url: string) => Effect.promise(async () => (await (await fetch(`${url}/stats`)).json()) as Counters)

describe("httpService", () => {
  it.live("answers a posterior summary within 4 MCSE of the exact posterior, rejects bad input with 400, stops abandoned runs, and closes with its scope", () =>
    Effect.gen(function*() {
      const url = yield* Effect.scoped(
        Effect.gen(function*() {
          const context = yield* Layer.build(serviceLayer(0))
          const url = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)

          const ok = yield* post(url, regressionBody)
          expect(ok.status).toBe(200)
          const summary = ok.json as RegressionResponse
          const exact = linearRegressionExact(seedData.xs, seedData.ys)
          for (const site of ["slope", "intercept", "noise"] as const) {
            const row = summary.sites[site]
            expect(row.mcse).toBeGreaterThan(0)
            expect(Math.abs(row.mean - exact[site].mean)).toBeLessThan(4 * row.mcse!)
            expect(row.q5).toBeLessThan(row.q50)
            expect(row.q50).toBeLessThan(row.q95)
            expect(row.rhat).toBeLessThan(1.05)
            expect(row.essBulk).toBeGreaterThan(400)
          }
          expect(summary.seed).toBe(3)
          expect(Array.isArray(summary.warnings)).toBe(true)

          const bad: ReadonlyArray<[unknown, RegExp]> = [
            ["{not json", /not valid JSON/],
            [[1, 2], /JSON object/],
            [{ xs: [1, 2, 3], ys: [1, 2] }, /same length \(xs has 3, ys has 2\)/],
            [{ xs: [1, "2", 3], ys: [1, 2, 3] }, /`xs\[1\]` must be a finite number, got "2"/],
            [{ xs: [1, 2], ys: [1, null] }, /`ys\[1\]` must be a finite number, got null/],
            [{ ys: [1, 2] }, /missing field `xs`/],
            [{ xs: [1, 2], ys: [1, 2], sample: 10 }, /unknown field `sample`/],
            [{ xs: [1, 2], ys: [1, 2], chains: 100 }, /`chains` must be an integer from 1 to 8, got 100/]
          ]
          for (const [body, message] of bad) {
            const response = yield* post(url, body)
            expect(response.status, JSON.stringify(body)).toBe(400)
            expect((response.json as { error: string }).error).toMatch(message)
          }

          // a run far too long to finish: the client disconnects once it runs, and its fiber is
          // interrupted (node:http, to close the socket at once: an aborted fetch leaves it open a few seconds)
          const client = request(`${url}/regression`, { method: "POST", agent: false, headers: { "content-type": "application/json" } })
          client.on("error", () => {})
          client.end(JSON.stringify({ ...regressionBody, samples: 50_000, warmup: 50_000, chains: 8 }))
          let before = yield* counters(url)
          for (let i = 0; i < 100 && before.running === 0; i++) before = yield* Effect.andThen(Effect.sleep("20 millis"), counters(url))
          expect(before.running).toBe(1) // the server answers /stats while the run is in progress
          client.destroy() // the client goes away: its socket closes
          let after = yield* counters(url)
          for (let i = 0; i < 100 && after.interrupted === 0; i++) after = yield* Effect.andThen(Effect.sleep("20 millis"), counters(url))
          expect(after).toMatchObject({ interrupted: 1, running: 0, completed: 1, rejected: bad.length })
          return url
        })
      )
      // the scope has closed: nothing listens there any more
      const closed = yield* Effect.promise(() => fetch(`${url}/stats`).then(() => "open", () => "closed"))
      expect(closed).toBe("closed")
    }), 30_000)
})
