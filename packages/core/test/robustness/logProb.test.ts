/**
 * `logProb` over random valid parameters, extremes included, and arbitrary values (wrong types,
 * every double, the family's own draws and values near its mass). For every family and input:
 * no exception, a number, never NaN, never +∞; exactly −∞ outside the support; a log mass ≤ 0;
 * and a finite value wherever the independent bound of `families.ts` proves the true log density
 * is a finite double. Fixed fast-check seeds, so a failure reproduces; the counterexample is printed.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { anyValue, families, FINITE_BOUND, wrongTyped } from "./families.ts"

/** Runs per family: 50–250 ms each on a quiet 2-core machine (timeout 10 s). */
const RUNS = 4000

describe("logProb is total over the whole parameter range", () => {
  for (const family of families) {
    it(
      `${family.name}: never throws, never NaN or +∞, −∞ exactly outside the support, finite where provably representable`,
      () => {
        const cases = family.params.chain((p) => {
          const d = family.make(p)
          return fc.tuple(fc.constant(p), anyValue(family, p, d))
        })
        fc.assert(
          fc.property(cases, ([p, x]) => {
            const d = family.make(p)
            const lp = d.logProb(x)
            expect(typeof lp).toBe("number")
            expect(lp).not.toBeNaN()
            expect(lp).not.toBe(Infinity)
            const inSupport = family.inSupport(p, x)
            if (!inSupport) expect(lp).toBe(-Infinity)
            if (family.discrete) expect(lp).toBeLessThanOrEqual(0)
            if (inSupport && family.bound(p, x) < FINITE_BOUND) expect(lp).toBeGreaterThan(-Infinity)
          }),
          { numRuns: RUNS, seed: 20251101 }
        )
      },
      10_000
    )
  }

  it("every family gives −∞ to every wrong-typed value, Object.create(null), Symbol and BigInt included", () => {
    fc.assert(
      fc.property(fc.constantFrom(...families), (family) => {
        const p = fc.sample(family.params, { numRuns: 1, seed: 7 })[0]
        const d = family.make(p)
        for (const x of wrongTyped) {
          if (family.inSupport(p, x)) continue
          expect(d.logProb(x)).toBe(-Infinity)
        }
      }),
      { numRuns: 100, seed: 3 }
    )
  })
})
