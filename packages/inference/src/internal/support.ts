// The values of a discrete distribution with finite support, in order: what enumeration branches
// on and what `LogDensity` sums out. Boolean supports are [false, true]; integer intervals are
// listed when they have at most `max` values; a `Marginal`'s (or `Delta`'s) are its values; a
// broadcast family's discrete coordinates, every combination when there are at most `max`.
// Anything else (continuous, other vectors, infinite integer supports) is undefined.
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
    case "Product": {
      // a broadcast family's vector of discrete coordinates: every combination (as Float64Arrays,
      // booleans as 0/1), the last coordinate varying fastest, when there are at most `max`
      const element = elementValues(s.element, max)
      if (element === undefined) return undefined
      const n = s.length, k = element.length
      if (n > 0 && (k === 0 || n * Math.log(k) > Math.log(max))) return undefined
      const count = n === 0 ? 1 : k ** n
      const out: Array<unknown> = []
      const digits = new Array<number>(n).fill(0)
      for (let c = 0; c < count; c++) {
        out.push(Float64Array.from(digits, (d) => element[d]!))
        for (let j = n - 1; j >= 0; j--) {
          if (++digits[j]! < k) break
          digits[j] = 0
        }
      }
      return out
    }
    default:
      return undefined
  }
}

/** The values of one coordinate of a discrete product support, as numbers (booleans 0/1). */
const elementValues = (s: Distribution<unknown>["support"], max: number): Array<number> | undefined => {
  if (s._tag === "Boolean") return [0, 1]
  if (s._tag === "Integers" && Number.isFinite(s.lower) && Number.isFinite(s.upper) && s.upper - s.lower < max) {
    const out: Array<number> = []
    for (let k = s.lower; k <= s.upper; k++) out.push(k)
    return out
  }
  return undefined
}
