// What the SMC engine identity tests (SmcLinear, SmcVector) compare: a model hidden from the
// unfold engine (the general engine runs it), a posterior without its stats, and the stats every
// engine computes alike (without the engine's own counters).
import type { Model } from "@fugue/core/Model"
import type { Posterior } from "../../src/Posterior.ts"
import type * as Smc from "../../src/Smc.ts"

/** The same model, not recognised as an `unfold` model: `Smc.runUnsafe` runs the general engine. */
export const general = <A>(model: Model<A>): Model<A> => () => model()

/** A posterior without its stats. */
export const withoutStats = <A, S>(p: Posterior<A, S>) => {
  const { stats: _, ...rest } = p
  return rest
}

/** The stats without those that say which engine ran and how (engine, vectorised steps, copies, replays, trace pool). */
export const sharedStats = (s: Smc.Stats) => {
  const { engine: _e, vectorisedSteps: _v, notVectorised: _n, kept: _k, shared: _s, rebuilds: _r, replayedInstructions: _i, tracePool: _t, ...rest } = s
  return rest
}
