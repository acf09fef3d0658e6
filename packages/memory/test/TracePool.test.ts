import { describe, expect, it } from "@effect/vitest"
import { Trace } from "@fugue/runtime/Trace"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import {
  InvalidPoolOptionsError,
  makeUnsafe,
  PoolClosedError,
  PoolReleaseError,
  type PoolStats,
  TracePool,
  type TracePoolShape,
  make,
  acquire,
  release,
  stats,
  withTrace
} from "../src/TracePool.ts"

// Fills a borrowed trace so that a later acquire can check it came back cleared.
const dirty = (trace: Trace, i: number): void => {
  trace.choices.set(`x#${i}`, { address: `x#${i}`, value: i, logProb: -1 })
  trace.logPrior = -1
  trace.logLikelihood = -2
  trace.logFactors = -3
}

const expectCleared = (trace: Trace): void => {
  expect(trace.size).toBe(0)
  expect(trace.logPrior).toBe(0)
  expect(trace.logLikelihood).toBe(0)
  expect(trace.logFactors).toBe(0)
}

type Op =
  | { readonly _tag: "acquire" }
  | { readonly _tag: "release"; readonly pick: number }
  | { readonly _tag: "releaseAgain"; readonly pick: number }
  | { readonly _tag: "releaseForeign" }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ _tag: "acquire" as const }) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ _tag: "release" as const, pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ _tag: "releaseAgain" as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ _tag: "releaseForeign" as const }) }
)

interface ModelState {
  outstanding: Array<Trace>
  returned: Array<Trace>
  idle: number
  hits: number
  misses: number
  returns: number
  drops: number
  highWaterMark: number
}

// Runs `ops` against `pool` and a plain model of what the pool should do, checking after
// every step that the stats agree with the model and that the invariants hold.
const exercise = (pool: TracePoolShape, capacity: number, ops: ReadonlyArray<Op>): ModelState => {
  const m: ModelState = { outstanding: [], returned: [], idle: 0, hits: 0, misses: 0, returns: 0, drops: 0, highWaterMark: 0 }
  let counter = 0
  for (const op of ops) {
    switch (op._tag) {
      case "acquire": {
        const trace = pool.acquireUnsafe()
        // never handed out twice at once
        expect(m.outstanding.includes(trace)).toBe(false)
        expectCleared(trace)
        dirty(trace, counter++)
        if (m.idle > 0) {
          m.idle--
          m.hits++
          // a hit is a trace that was returned before
          expect(m.returned.includes(trace)).toBe(true)
        } else {
          m.misses++
          expect(m.returned.includes(trace)).toBe(false)
        }
        m.returned = m.returned.filter((t) => t !== trace)
        m.outstanding.push(trace)
        m.highWaterMark = Math.max(m.highWaterMark, m.outstanding.length)
        break
      }
      case "release": {
        if (m.outstanding.length === 0) break
        const [trace] = m.outstanding.splice(op.pick % m.outstanding.length, 1)
        pool.releaseUnsafe(trace)
        expectCleared(trace)
        m.returns++
        if (m.idle < capacity) {
          m.idle++
          m.returned.push(trace)
        } else {
          m.drops++
        }
        break
      }
      case "releaseAgain": {
        if (m.returned.length === 0) break
        const trace = m.returned[op.pick % m.returned.length]
        expect(() => pool.releaseUnsafe(trace)).toThrow(PoolReleaseError)
        try {
          pool.releaseUnsafe(trace)
        } catch (e) {
          expect((e as PoolReleaseError).reason).toBe("double-release")
        }
        break
      }
      case "releaseForeign": {
        const foreign = new Trace()
        try {
          pool.releaseUnsafe(foreign)
          expect.unreachable("a foreign trace was accepted")
        } catch (e) {
          expect(e).toBeInstanceOf(PoolReleaseError)
          expect((e as PoolReleaseError).reason).toBe("foreign")
        }
        break
      }
    }
    const s = pool.statsUnsafe()
    expect(s).toEqual({
      hits: m.hits,
      misses: m.misses,
      allocations: m.misses,
      returns: m.returns,
      drops: m.drops,
      reclaimed: 0,
      outstanding: m.outstanding.length,
      highWaterMark: m.highWaterMark,
      idle: m.idle,
      capacity
    } satisfies PoolStats)
    // the identities the stats promise
    expect(s.hits + s.misses).toBe(s.returns + s.reclaimed + s.outstanding)
    expect(s.allocations).toBe(s.misses)
    expect(s.returns - s.drops).toBe(s.idle + s.hits)
  }
  return m
}

describe("TracePool", () => {
  it("hands out a cleared trace and reuses a returned one", () => {
    const pool = makeUnsafe({ capacity: 4 })
    const a = pool.acquireUnsafe()
    dirty(a, 0)
    pool.releaseUnsafe(a)
    const b = pool.acquireUnsafe()
    expect(b).toBe(a)
    expectCleared(b)
    expect(pool.statsUnsafe()).toMatchObject({ hits: 1, misses: 1, allocations: 1, returns: 1, outstanding: 1, highWaterMark: 1 })
  })

  it("reuses the trace's B-tree object", () => {
    const pool = makeUnsafe()
    const a = pool.acquireUnsafe()
    const tree = a.choices
    dirty(a, 1)
    pool.releaseUnsafe(a)
    expect(pool.acquireUnsafe().choices).toBe(tree)
  })

  it("drops and counts returns beyond capacity", () => {
    const pool = makeUnsafe({ capacity: 1 })
    const a = pool.acquireUnsafe()
    const b = pool.acquireUnsafe()
    pool.releaseUnsafe(a)
    pool.releaseUnsafe(b)
    expect(pool.statsUnsafe()).toMatchObject({ returns: 2, drops: 1, idle: 1, highWaterMark: 2 })
  })

  it("a capacity of 0 keeps nothing", () => {
    const pool = makeUnsafe({ capacity: 0 })
    const a = pool.acquireUnsafe()
    pool.releaseUnsafe(a)
    expect(pool.acquireUnsafe()).not.toBe(a)
    expect(pool.statsUnsafe()).toMatchObject({ hits: 0, misses: 2, drops: 1 })
  })

  it("returning a trace twice is a double-release, even after it was dropped", () => {
    const pool = makeUnsafe({ capacity: 0 })
    const a = pool.acquireUnsafe()
    pool.releaseUnsafe(a)
    expect(() => pool.releaseUnsafe(a)).toThrow(new PoolReleaseError({ reason: "double-release", traceSize: 0 }))
  })

  it("returning a trace the pool never handed out is foreign", () => {
    const pool = makeUnsafe()
    const other = makeUnsafe().acquireUnsafe()
    expect(() => pool.releaseUnsafe(other)).toThrow(new PoolReleaseError({ reason: "foreign", traceSize: 0 }))
    expect(() => pool.releaseUnsafe(new Trace())).toThrow(/not handed out by this pool/)
    expect(pool.statsUnsafe().returns).toBe(0)
  })

  it("rejects a bad capacity with a typed error naming it", () => {
    for (const capacity of [-1, 1.5, Number.NaN, Infinity]) {
      expect(() => makeUnsafe({ capacity })).toThrow(InvalidPoolOptionsError)
    }
    try {
      makeUnsafe({ capacity: -1 })
    } catch (e) {
      expect(e).toMatchObject({ _tag: "InvalidPoolOptionsError", option: "capacity", value: -1 })
    }
  })

  it("rejects non-number capacities, non-object options and unknown keys, naming the option and the value", () => {
    const bad: Array<[unknown, string, unknown]> = [
      [{ capacity: "8" }, "capacity", "8"],
      [{ capacity: 8n }, "capacity", 8n],
      [{ capacity: null }, "capacity", null],
      [{ capacity: Object.create(null) }, "capacity", Object.create(null)],
      [{ capcity: 8 }, "capcity", 8],
      [5, "options", 5],
      [null, "options", null],
      [[8], "options", [8]]
    ]
    for (const [options, option, value] of bad) {
      let error: unknown
      try {
        makeUnsafe(options as never)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidPoolOptionsError)
      expect((error as InvalidPoolOptionsError).option).toBe(option)
      expect((error as InvalidPoolOptionsError).value).toEqual(value)
      expect(typeof (error as InvalidPoolOptionsError).message).toBe("string")
    }
    expect(() => makeUnsafe({ capacity: "8" as unknown as number })).toThrow(
      `TracePool: invalid option capacity = "8" (must be an integer >= 0)`
    )
    expect(() => makeUnsafe({ capacity: Symbol("c") as unknown as number })).toThrow(/capacity = Symbol\(c\)/)
    expect(makeUnsafe({}).capacity).toBe(1024)
    expect(makeUnsafe({ capacity: undefined }).capacity).toBe(1024)
  })

  it("returning something that is not a trace is a foreign return with a readable message", () => {
    const pool = makeUnsafe()
    for (const v of [undefined, null, 3, "t", Object.create(null), {}]) {
      expect(() => pool.releaseUnsafe(v as unknown as Trace)).toThrow(new PoolReleaseError({ reason: "foreign", traceSize: -1 }))
    }
    expect(() => pool.releaseUnsafe(undefined as unknown as Trace)).toThrow(/not a trace/)
    expect(pool.statsUnsafe().returns).toBe(0)
  })

  it("closing reclaims what is borrowed, empties the pool and refuses further use", () => {
    const pool = makeUnsafe()
    const a = pool.acquireUnsafe()
    pool.acquireUnsafe()
    pool.releaseUnsafe(pool.acquireUnsafe())
    dirty(a, 3)
    pool.closeUnsafe()
    pool.closeUnsafe() // idempotent
    expect(pool.statsUnsafe()).toMatchObject({ outstanding: 0, reclaimed: 2, idle: 0, returns: 1 })
    expect(a.size).toBe(1) // a borrowed trace is not cleared under its holder
    expect(() => pool.acquireUnsafe()).toThrow(new PoolClosedError({ operation: "acquire" }))
    expect(() => pool.releaseUnsafe(a)).toThrow(new PoolClosedError({ operation: "release" }))
  })

  it("property: stats add up and no trace is handed out twice at once, over random acquire/release sequences", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(opArb, { maxLength: 120 }), (capacity, ops) => {
        const pool = makeUnsafe({ capacity })
        exercise(pool, capacity, ops)
      }),
      { numRuns: 300, seed: 20240601 }
    )
  })

  it("property: closing the scope returns everything, whatever was borrowed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(opArb, { maxLength: 80 }), (capacity, ops) => {
        let pool: TracePoolShape | undefined
        let model: ModelState | undefined
        Effect.runSync(Effect.scoped(Effect.gen(function*() {
          pool = yield* make({ capacity })
          model = exercise(pool, capacity, ops)
        })))
        const s = pool!.statsUnsafe()
        expect(pool!.closed).toBe(true)
        expect(s.outstanding).toBe(0)
        expect(s.idle).toBe(0)
        expect(s.reclaimed).toBe(model!.outstanding.length)
        expect(s.hits + s.misses).toBe(s.returns + s.reclaimed)
      }),
      { numRuns: 200, seed: 7 }
    )
  })
})

describe("TracePool service", () => {
  it.effect("acquire, release and stats through the layer", () =>
    Effect.gen(function*() {
      const t1 = yield* acquire
      const t2 = yield* acquire
      yield* release(t1)
      const t3 = yield* acquire
      expect(t3).toBe(t1)
      yield* release(t2)
      yield* release(t3)
      const s = yield* stats
      expect(s).toMatchObject({ hits: 1, misses: 2, allocations: 2, returns: 3, outstanding: 0, highWaterMark: 2, idle: 2 })
    }).pipe(Effect.provide(TracePool.layer({ capacity: 8 }))))

  it.effect("double and foreign releases fail in the error channel", () =>
    Effect.gen(function*() {
      const t = yield* acquire
      yield* release(t)
      const again = yield* Effect.flip(release(t))
      expect(again).toBeInstanceOf(PoolReleaseError)
      expect(again).toMatchObject({ reason: "double-release" })
      const foreign = yield* Effect.flip(release(new Trace()))
      expect(foreign).toMatchObject({ _tag: "PoolReleaseError", reason: "foreign" })
    }).pipe(Effect.provide(TracePool.layerDefault)))

  it.effect("closing the layer's scope reclaims every borrowed trace and closes the pool", () =>
    Effect.gen(function*() {
      let pool: TracePoolShape | undefined
      yield* Effect.scoped(Effect.gen(function*() {
        pool = yield* TracePool
        yield* acquire
        yield* acquire
        const t = yield* acquire
        yield* release(t)
        expect(pool.statsUnsafe().outstanding).toBe(2)
      }).pipe(Effect.provide(TracePool.layer({ capacity: 4 }))))
      expect(pool!.closed).toBe(true)
      expect(pool!.statsUnsafe()).toMatchObject({ outstanding: 0, reclaimed: 2, idle: 0 })
      const late = yield* Effect.flip(pool!.acquire)
      expect(late).toBeInstanceOf(PoolClosedError)
    }))

  it.effect("withTrace returns the trace when its scope closes", () =>
    Effect.gen(function*() {
      const pool = yield* TracePool
      const trace = yield* Effect.scoped(Effect.gen(function*() {
        const t = yield* withTrace
        dirty(t, 9)
        expect(pool.isOutstanding(t)).toBe(true)
        return t
      }))
      expect(pool.isOutstanding(trace)).toBe(false)
      expectCleared(trace)
      expect(pool.statsUnsafe()).toMatchObject({ returns: 1, outstanding: 0, idle: 1 })
      // released by hand inside the scope: the finalizer does not release it again
      yield* Effect.scoped(Effect.gen(function*() {
        const t = yield* withTrace
        yield* pool.release(t)
      }))
      expect(pool.statsUnsafe()).toMatchObject({ returns: 2, outstanding: 0 })
    }).pipe(Effect.provide(TracePool.layer({ capacity: 4 }))))

  it.effect("withTrace returns the trace when the scope fails", () =>
    Effect.gen(function*() {
      const pool = yield* TracePool
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        yield* withTrace
        return yield* Effect.fail("boom")
      })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(pool.statsUnsafe()).toMatchObject({ returns: 1, outstanding: 0 })
    }).pipe(Effect.provide(TracePool.layerDefault)))

  it.effect("a bad capacity fails the layer with InvalidPoolOptionsError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(stats, TracePool.layer({ capacity: -3 })))
      expect(error).toMatchObject({ _tag: "InvalidPoolOptionsError", option: "capacity", value: -3 })
    }))
})
