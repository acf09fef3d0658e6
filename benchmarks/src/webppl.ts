/**
 * WebPPL, in process: the JavaScript peer the suites compare against. `compile` turns WebPPL
 * source into JavaScript once (its CPS/trampoline transforms take most of a second, so compile
 * time is reported apart and never inside a timed run); `runCompiled` evaluates the compiled
 * program with the synchronous CLI trampoline and returns what the program's last expression
 * evaluated to. Inputs reach the program as globals (WebPPL resolves free variables against
 * `globalThis`), so one compiled program runs many times with different sizes.
 *
 * WebPPL draws from `Math.random` unless seeded; we leave it unseeded: V8's xorshift128+ is
 * the cheapest generator available to it, so every ratio against WebPPL is on the conservative
 * side (a seeded `seedrandom` ARC4 stream would make WebPPL slower, not faster).
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"

interface WebpplModule {
  compile(code: string, options?: { filename?: string }): CompiledProgram
  prepare(compiled: CompiledProgram, k: (store: unknown, value: unknown) => void, options?: object): { run(): void }
}

/**
 * A compiled WebPPL program (code plus source map), ready to run many times.
 *
 * @example
 * const { program } = compile(source)
 *
 * @category models
 * @since 0.1.0
 */
export interface CompiledProgram {
  readonly code: string
}

/**
 * A compiled program and the milliseconds its compilation took.
 *
 * @example
 * const { program, compileMs } = compile(source)
 *
 * @category models
 * @since 0.1.0
 */
export interface Compiled {
  readonly program: CompiledProgram
  readonly compileMs: number
}

let cached: WebpplModule | undefined
let loadMs = 0

/**
 * The WebPPL module (loaded on first use; loading installs its header functions as globals).
 *
 * @example
 * const webppl = load()
 *
 * @category constructors
 * @since 0.1.0
 */
export const load = (): WebpplModule => {
  if (cached === undefined) {
    const t0 = performance.now()
    const require = createRequire(import.meta.url)
    cached = require("webppl") as WebpplModule
    loadMs = performance.now() - t0
    // The forward sampler warns once per run that observe statements are "ignored"; it still
    // scores them (RunForward.factor adds them to logWeight), so the warning is noise here.
    ;(globalThis as Record<string, unknown>).suppressWarnings = true
  }
  return cached
}

/**
 * Milliseconds spent in `require("webppl")` (0 before the first `load`).
 *
 * @example
 * load(); loadTimeMs()
 *
 * @category getters
 * @since 0.1.0
 */
export const loadTimeMs = (): number => loadMs

/**
 * Compiles WebPPL source once.
 *
 * @example
 * const { program, compileMs } = compile("Infer({method: 'forward', samples: 10, model: m})")
 *
 * @category constructors
 * @since 0.1.0
 */
export const compile = (code: string): Compiled => {
  const webppl = load()
  const t0 = performance.now()
  const program = webppl.compile(code, { filename: "benchmark.wppl" })
  return { program, compileMs: performance.now() - t0 }
}

/**
 * Runs a compiled program synchronously with the given globals; returns its final value.
 *
 * @example
 * const dist = runCompiled(program, { fugueN: 1000 })
 *
 * @category models
 * @since 0.1.0
 */
export const runCompiled = <A = unknown>(program: CompiledProgram, globals: Record<string, unknown> = {}): A => {
  const webppl = load()
  const g = globalThis as Record<string, unknown>
  for (const key of Object.keys(globals)) g[key] = globals[key]
  let done = false
  let result: unknown
  webppl.prepare(program, (_store, value) => {
    done = true
    result = value
  }).run()
  // The CLI trampoline is synchronous: the continuation has run by the time `run` returns.
  if (!done) throw new Error("WebPPL program did not finish synchronously")
  return result as A
}

/**
 * The WebPPL linear regression of the seed (same priors and likelihood as ours; WebPPL's
 * Gamma takes a scale, and rate 1 is scale 1). Globals: `fugueXs`, `fugueYs`.
 *
 * @example
 * compile(`${linearRegressionModel}\nInfer({method: 'forward', samples: 10, model: linearRegression})`)
 *
 * @category models
 * @since 0.1.0
 */
export const linearRegressionModel = `
var linearRegression = function() {
  var slope = sample(Gaussian({mu: 0, sigma: 2}))
  var intercept = sample(Gaussian({mu: 0, sigma: 1}))
  var noise = sample(Gamma({shape: 2, scale: 1}))
  var sd = Math.sqrt(noise)
  var go = function(i) {
    if (i < fugueXs.length) {
      observe(Gaussian({mu: slope * fugueXs[i] + intercept, sigma: sd}), fugueYs[i])
      go(i + 1)
    }
  }
  go(0)
  return slope
}
`

/**
 * The WebPPL random walk for the particle filter: observe after every step, so SMC resamples
 * at every time step. Globals: `fugueYs` (the observations).
 *
 * @example
 * compile(`${randomWalkModel}\nInfer({method: 'SMC', particles: 1000, model: randomWalk})`)
 *
 * @category models
 * @since 0.1.0
 */
export const randomWalkModel = `
var randomWalk = function() {
  var step = function(t, prev) {
    if (t == fugueYs.length) return prev
    var x = t == 0 ? sample(Gaussian({mu: 0, sigma: 1})) : sample(Gaussian({mu: prev, sigma: 0.5}))
    observe(Gaussian({mu: x, sigma: 1}), fugueYs[t])
    return step(t + 1, x)
  }
  return step(0, 0)
}
`

/**
 * Eight schools, centered. WebPPL has no HalfCauchy, so tau is |Cauchy(0, 5)|: the same
 * distribution (the folded density is twice the Cauchy's on the positive half line), and its
 * prior-proposal MH moves the underlying Cauchy draw. Globals: `fugueY`, `fugueSigma`.
 *
 * @example
 * compile(`${eightSchoolsModel}\nInfer({method: 'MCMC', kernel: 'MH', samples: 1000, model: eightSchools})`)
 *
 * @category models
 * @since 0.1.0
 */
export const eightSchoolsModel = `
var eightSchools = function() {
  var mu = sample(Gaussian({mu: 0, sigma: 5}))
  var tau = Math.abs(sample(Cauchy({location: 0, scale: 5})))
  var go = function(j) {
    if (j < fugueY.length) {
      var theta = sample(Gaussian({mu: mu, sigma: tau}))
      observe(Gaussian({mu: theta, sigma: fugueSigma[j]}), fugueY[j])
      go(j + 1)
    }
  }
  go(0)
  return mu
}
`
