// The values of a discrete distribution with finite support, in order: what enumeration branches
// on and what `LogDensity` sums out. Boolean supports are [false, true]; integer intervals are
// listed when they have at most `max` values; a `Marginal`'s (or `Delta`'s) are its values.
// Anything else (continuous, vector, infinite integer supports) is undefined.
import type { Distribution } from "@fugue/core/Distribution"

export const finiteSupportValues = (dist: Distribution<unknown>, max: number): Array<unknown> | undefined => {
  const s = dist.support
  switch (s._tag) {
    case "Boolean":
      return [false, true]
    case "Integers": {
      if (!Number.isFinite(s.upper) || !Number.isFinite(s.lower) || s.upper - s.lower >= max) return undefined
      const out: Array<unknown> = []
      for (let k = s.lower; k <= s.upper; k++) out.push(k)
      return out
    }
    case "Finite": {
      const values = (dist as unknown as { values?: ReadonlyArray<unknown> }).values
      return Array.isArray(values) ? [...values] : undefined
    }
    default:
      return undefined
  }
}
