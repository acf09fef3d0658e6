/**
 * Inference inside an Effect HTTP service: `POST /regression` takes `{ xs, ys }` (and optionally
 * `samples`, `warmup`, `chains`, `seed`, `targetAcceptance`), runs NUTS on the Bayesian linear
 * regression `linearRegressionAd(xs, ys)` as an Effect inside the request handler, and answers
 * with the posterior summary as JSON (per site: mean, sd, MCSE, 5/50/95 % quantiles, bulk and
 * tail ESS, R-hat, warnings; the sampler's warnings and divergences). Bad input is a 400 whose
 * message names the problem. Inference runs in time slices, so the server keeps answering other
 * requests meanwhile (`GET /stats`), and a client that disconnects interrupts its request's fiber,
 * which stops the chains. `layer(port)` is the whole service as a layer (the Node server is
 * closed when its scope closes); `main` starts it on `PORT` (default 3000) and prints a `curl`
 * command. Run it with `pnpm example httpService`.
 *
 * @since 0.2.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Diagnostics, Nuts } from "@fugue/inference"
import { Context, Data, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { linearRegressionAd } from "../models.ts"

/**
 * A validated request body.
 *
 * @category models
 * @since 0.2.0
 */
export interface RegressionRequest {
  readonly xs: ReadonlyArray<number>
  readonly ys: ReadonlyArray<number>
  readonly samples: number
  readonly warmup: number
  readonly chains: number
  readonly seed: number | undefined
  readonly targetAcceptance: number
}

/**
 * The request body cannot be used; `problem` says why, naming the field (answered as a 400).
 *
 * @example
 * new InvalidRequestError({ problem: "xs and ys must have the same length (xs has 5, ys has 4)" })
 *
 * @category errors
 * @since 0.2.0
 */
export class InvalidRequestError extends Data.TaggedError("InvalidRequestError")<{ readonly problem: string }> {
  override get message(): string {
    return this.problem
  }
}

/**
 * The bounds the service enforces on a request (the data's length, and the run's size).
 *
 * @category models
 * @since 0.2.0
 */
export const limits = { minPoints: 2, maxPoints: 10_000, maxSamples: 50_000, maxWarmup: 50_000, maxChains: 8 } as const

const FIELDS = ["xs", "ys", "samples", "warmup", "chains", "seed", "targetAcceptance"]

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") return "an object"
  return String(value)
}

const numbers = (body: Record<string, unknown>, field: "xs" | "ys"): ReadonlyArray<number> => {
  const value = body[field]
  if (value === undefined) throw new InvalidRequestError({ problem: `missing field \`${field}\`: an array of numbers` })
  if (!Array.isArray(value)) throw new InvalidRequestError({ problem: `\`${field}\` must be an array of numbers, got ${describe(value)}` })
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i]
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new InvalidRequestError({ problem: `\`${field}[${i}]\` must be a finite number, got ${describe(v)}` })
    }
  }
  return value as ReadonlyArray<number>
}

const integer = (body: Record<string, unknown>, field: string, fallback: number, lo: number, hi: number): number => {
  const value = body[field]
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isInteger(value) || value < lo || value > hi) {
    throw new InvalidRequestError({ problem: `\`${field}\` must be an integer from ${lo} to ${hi}, got ${describe(value)}` })
  }
  return value
}

/**
 * Validates a request body (the raw text): JSON, an object with only known fields, `xs` and `ys`
 * arrays of finite numbers of the same length (`limits.minPoints`…`limits.maxPoints`), and the
 * optional run options in range. Throws `InvalidRequestError` naming the first problem.
 *
 * @example
 * parseRequestUnsafe('{"xs":[1,2,3],"ys":[2,4,6]}').chains // 4
 *
 * @category constructors
 * @since 0.2.0
 */
export const parseRequestUnsafe = (text: string): RegressionRequest => {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (error) {
    throw new InvalidRequestError({ problem: `the body is not valid JSON (${(error as Error).message})` })
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new InvalidRequestError({ problem: `the body must be a JSON object { xs, ys }, got ${describe(body)}` })
  }
  const record = body as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!FIELDS.includes(key)) throw new InvalidRequestError({ problem: `unknown field \`${key}\`; the fields are ${FIELDS.join(", ")}` })
  }
  const xs = numbers(record, "xs")
  const ys = numbers(record, "ys")
  if (xs.length !== ys.length) {
    throw new InvalidRequestError({ problem: `\`xs\` and \`ys\` must have the same length (xs has ${xs.length}, ys has ${ys.length})` })
  }
  if (xs.length < limits.minPoints || xs.length > limits.maxPoints) {
    throw new InvalidRequestError({ problem: `\`xs\` and \`ys\` must hold ${limits.minPoints} to ${limits.maxPoints} points, got ${xs.length}` })
  }
  const samples = integer(record, "samples", 1000, 4, limits.maxSamples)
  const warmup = integer(record, "warmup", 1000, 0, limits.maxWarmup)
  const chains = integer(record, "chains", 4, 1, limits.maxChains)
  const seed = record.seed === undefined ? undefined : integer(record, "seed", 0, 0, Number.MAX_SAFE_INTEGER)
  const targetAcceptance = record.targetAcceptance === undefined ? 0.99 : record.targetAcceptance
  if (typeof targetAcceptance !== "number" || !(targetAcceptance > 0 && targetAcceptance < 1)) {
    throw new InvalidRequestError({ problem: `\`targetAcceptance\` must be a number strictly between 0 and 1, got ${describe(targetAcceptance)}` })
  }
  return { xs, ys, samples, warmup, chains, seed, targetAcceptance }
}

/**
 * One site's posterior summary as the service answers it (undefined fields are left out of the
 * JSON).
 *
 * @category models
 * @since 0.2.0
 */
export interface SiteSummary {
  readonly mean: number
  readonly sd: number
  readonly mcse: number | undefined
  readonly q5: number
  readonly q50: number
  readonly q95: number
  readonly essBulk: number | undefined
  readonly essTail: number | undefined
  readonly rhat: number | undefined
  readonly warnings: ReadonlyArray<string>
}

/**
 * The JSON body of a successful `POST /regression`.
 *
 * @category models
 * @since 0.2.0
 */
export interface RegressionResponse {
  readonly algorithm: "NUTS"
  readonly points: number
  readonly chains: number
  readonly samples: number
  readonly warmup: number
  readonly seed: number | undefined
  readonly sites: Readonly<Record<"slope" | "intercept" | "noise", SiteSummary>>
  readonly divergences: number
  /** The sampler's warnings and every site's, prefixed with the site. */
  readonly warnings: ReadonlyArray<string>
  readonly seconds: number
}

/**
 * Runs NUTS for one validated request and summarises the posterior: an Effect, interruptible
 * between time slices.
 *
 * @example
 * const body = await Effect.runPromise(regression(parseRequestUnsafe('{"xs":[1,2,3],"ys":[2,4,6]}')))
 *
 * @category combinators
 * @since 0.2.0
 */
export const regression = (request: RegressionRequest) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    const { xs, ys, samples, warmup, chains, seed, targetAcceptance } = request
    const post = yield* Nuts.run(linearRegressionAd(xs, ys), { samples, warmup, chains, seed, targetAcceptance })
    const rows = Diagnostics.summary(post)
    const stats = Nuts.stats(post)
    const sites = {} as Record<string, SiteSummary>
    const warnings: Array<string> = [...stats.warnings]
    for (const row of rows) {
      sites[row.site] = {
        mean: row.mean,
        sd: row.sd,
        mcse: row.mcse,
        q5: row.q5,
        q50: row.q50,
        q95: row.q95,
        essBulk: row.essBulk,
        essTail: row.essTail,
        rhat: row.rhat,
        warnings: row.warnings ?? []
      }
      for (const w of row.warnings ?? []) warnings.push(`${row.site}: ${w}`)
    }
    const response: RegressionResponse = {
      algorithm: "NUTS",
      points: xs.length,
      chains,
      samples,
      warmup,
      seed: post.seed,
      sites: sites as RegressionResponse["sites"],
      divergences: stats.divergences.reduce((a, b) => a + b, 0),
      warnings,
      seconds: (performance.now() - t0) / 1000
    }
    return response
  })

/**
 * The service's counters: requests answered, rejected (400), failed (inference error) and
 * interrupted (the client went away), and how many inference runs are in progress.
 *
 * @category models
 * @since 0.2.0
 */
export interface Counters {
  completed: number
  rejected: number
  failed: number
  interrupted: number
  running: number
}

/**
 * The counters of one running service (`GET /stats` answers them).
 *
 * @category services
 * @since 0.2.0
 */
export class Stats extends Context.Service<Stats, Counters>()("@fugue/examples/httpService/Stats") {
  /** Fresh counters, all 0. */
  static readonly layer: Layer.Layer<Stats> = Layer.sync(Stats, () => ({ completed: 0, rejected: 0, failed: 0, interrupted: 0, running: 0 }))
}

const describeError = (error: unknown): string => {
  const tag = typeof error === "object" && error !== null ? (error as { _tag?: unknown })._tag : undefined
  const message = error instanceof Error ? error.message : String(error)
  return typeof tag === "string" ? `${tag}: ${message}` : message
}

/** `POST /regression`: validate (400), infer (422 if inference fails), summarise (200). */
const regressionRoute = HttpRouter.add(
  "POST",
  "/regression",
  Effect.gen(function*() {
    const counters = yield* Stats
    const request = yield* HttpServerRequest.HttpServerRequest
    const answer = Effect.gen(function*() {
      const text = yield* Effect.mapError(request.text, (error) => new InvalidRequestError({ problem: `the body could not be read (${error.message})` }))
      const input = yield* Effect.try({
        try: () => parseRequestUnsafe(text),
        catch: (error) => (error instanceof InvalidRequestError ? error : new InvalidRequestError({ problem: String(error) }))
      })
      counters.running++
      const body = yield* regression(input).pipe(
        Effect.onInterrupt(() => Effect.sync(() => counters.interrupted++)),
        Effect.ensuring(Effect.sync(() => counters.running--))
      )
      counters.completed++
      return HttpServerResponse.jsonUnsafe(body)
    })
    return yield* answer.pipe(
      Effect.catchTag("InvalidRequestError", (error) =>
        Effect.sync(() => {
          counters.rejected++
          return HttpServerResponse.jsonUnsafe({ error: error.problem }, { status: 400 })
        })),
      Effect.catch((error) =>
        Effect.sync(() => {
          counters.failed++
          return HttpServerResponse.jsonUnsafe({ error: `inference failed: ${describeError(error)}` }, { status: 422 })
        })
      )
    )
  })
)

/** `GET /stats`: the counters. */
const statsRoute = HttpRouter.add("GET", "/stats", Stats.use((counters) => Effect.succeed(HttpServerResponse.jsonUnsafe(counters))))

/**
 * The service on `port` at `host` (default 127.0.0.1; port 0 picks a free one): the routes, the
 * counters and the Node HTTP server, which listens while the layer's scope is open and is closed
 * with it. The layer also provides `HttpServer.HttpServer`, whose `address` is the bound one.
 *
 * @example
 * const url = await Effect.runPromise(Effect.scoped(Effect.map(Layer.build(layer(0)), (ctx) => HttpServer.formatAddress(Context.get(ctx, HttpServer.HttpServer).address))))
 *
 * @category layers
 * @since 0.2.0
 */
export const layer = (port: number, host = "127.0.0.1") =>
  HttpRouter.serve(Layer.mergeAll(regressionRoute, statsRoute), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(Stats.layer),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host }))
  )

/**
 * Starts the service on `PORT` (default 3000), prints how to call it, and serves until Ctrl-C.
 *
 * @category layers
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  const port = Number(process.env.PORT ?? 3000)
  const interrupted = Effect.callback<void>((resume) => {
    const onSignal = () => resume(Effect.void)
    process.once("SIGINT", onSignal)
    process.once("SIGTERM", onSignal)
    return Effect.sync(() => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    })
  })
  await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer.build(layer(port, process.env.HOST ?? "127.0.0.1"))
        const url = HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)
        console.log(`Bayesian linear regression service listening on ${url}\n`)
        console.log("Call it (NUTS, 4 chains; the summary comes back as JSON):")
        console.log(`  curl -s -X POST ${url}/regression -H 'content-type: application/json' -d '{"xs":[1,2,3,4,5],"ys":[2.1,4.2,5.8,8.1,10.3],"seed":1}'`)
        console.log("Bad input is a 400 naming the problem:")
        console.log(`  curl -s -X POST ${url}/regression -d '{"xs":[1,2,3],"ys":[1,2]}'`)
        console.log(`Counters: curl -s ${url}/stats\n\nCtrl-C stops the server.`)
        yield* interrupted
        console.log("\nstopping: the server closes with its scope")
      })
    )
  )
}
