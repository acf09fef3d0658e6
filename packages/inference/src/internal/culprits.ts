// Names the sites that make every execution impossible, for ZeroWeightError messages: a few
// prior executions of the (transformed) model through the driver, with a wrapper that notes
// every sample, observe or factor whose log probability is −∞ (or NaN). Only run after a
// failure, so it costs nothing on the normal path.
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Model } from "@fugue/core/Model"
import type { Rng } from "@fugue/core/Rng"
import type { Transform } from "@fugue/runtime/Combinators"
import { Execution } from "@fugue/runtime/Execution"
import type { Handler } from "@fugue/runtime/Handler"
import { PriorHandler } from "@fugue/runtime/handlers/Prior"

class Notes {
  readonly counts = new Map<string, number>()
  note(what: string, logProb: number): void {
    if (logProb === -Infinity || logProb !== logProb) this.counts.set(what, (this.counts.get(what) ?? 0) + 1)
  }
}

/** Wraps a handler so that what reaches it is also noted. */
const noting = <Out>(notes: Notes, inner: Handler<Out>): Handler<Out> => ({
  sample<T>(address: Address, dist: Distribution<T>): T {
    const value = inner.sample(address, dist)
    notes.note(`sample "${address}"`, dist.logProb(value))
    return value
  },
  observe<T>(address: Address, dist: Distribution<T>, value: T): void {
    notes.note(`observe "${address}" (${dist.family})`, dist.logProb(value))
    inner.observe(address, dist, value)
  },
  factor(logWeight: number): void {
    notes.note("a factor", logWeight)
    inner.factor(logWeight)
  },
  finish: () => inner.finish()
})

/**
 * "−∞ from observe "y#3" (Normal) in 20 of 20 prior runs, …", or "" when the runs found none
 * (or the model threw).
 */
export const culprits = (model: Model<unknown>, transform: Transform, rng: Rng, runs = 20): string => {
  const notes = new Notes()
  let done = 0
  for (let r = 0; r < runs; r++) {
    try {
      const base = noting(notes, new PriorHandler(rng))
      new Execution(model, transform(base, rng), { maxInstructions: 1_000_000 }).runToEnd()
      done++
    } catch {
      // a diagnostic only
    }
  }
  if (notes.counts.size === 0 || done === 0) return ""
  const parts = [...notes.counts].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([what, n]) => `${what} in ${n} of ${done} prior runs`)
  return `; -Infinity came from ${parts.join(", ")}${notes.counts.size > 5 ? ", …" : ""}`
}
