// The core's model combinators, exercised through the run loop (core cannot depend on runtime).
import { addr, factor, flatMap, guard, map, Normal, plate, pure, Rng, sample, scope, sequence, traverse, unfold, zip } from "@fugue/core"
import type { Model } from "@fugue/core/Model"
import { describe, expect, it } from "@effect/vitest"
import { DuplicateAddressError, run } from "../src/Handler.ts"
import { PriorHandler } from "../src/handlers/Prior.ts"
import * as Trace from "../src/Trace.ts"

const prior = <A>(model: Model<A>, seed = 1) => run(new PriorHandler(Rng.make(seed)), model)
const x = (name: string, mu = 0): Model<number> =>
  function*() {
    return yield* sample(name, Normal(mu, 1))
  }

describe("model combinators", () => {
  it("addr joins a name and indices with #", () => {
    expect(addr("y", 3)).toBe("y#3")
    expect(addr("w", 1, 2)).toBe("w#1#2")
    expect(addr("plain")).toBe("plain")
  })

  it("pure makes no choice; map and flatMap transform results", () => {
    const [a, t] = prior(pure(3))
    expect(a).toBe(3)
    expect(t.size).toBe(0)
    const [b, tb] = prior(map(x("v"), (v) => v * 2))
    expect(b).toBe(2 * Trace.getNumberOrThrow(tb, "v"))
    const [c, tc] = prior(flatMap(x("v"), (v) => x("w", v)))
    expect(c).toBe(Trace.getNumberOrThrow(tc, "w"))
  })

  it("scope prefixes every address inside, and scopes nest", () => {
    const inner = scope("inner", x("v"))
    const [, t] = prior(scope("outer", zip(inner, x("u"))))
    expect(Trace.addresses(t)).toEqual(["outer/inner/v", "outer/u"])
  })

  it("plate scopes the i-th copy under name#i and collects the results", () => {
    const [vs, t] = prior(plate("z", 3, (i) => x("v", i * 10)))
    expect(Trace.addresses(t)).toEqual(["z#0/v", "z#1/v", "z#2/v"])
    expect(vs).toEqual([0, 1, 2].map((i) => Trace.getNumberOrThrow(t, `z#${i}/v`)))
  })

  it("sequence, traverse and zip run models in order", () => {
    const [s, ts] = prior(sequence([x("a"), x("b")]))
    expect(s).toEqual([Trace.getNumberOrThrow(ts, "a"), Trace.getNumberOrThrow(ts, "b")])
    const [tr, tt] = prior(traverse([1, 2], (mu, i) => x(addr("t", i), mu)))
    expect(tr).toEqual([Trace.getNumberOrThrow(tt, "t#0"), Trace.getNumberOrThrow(tt, "t#1")])
    const [z] = prior(zip(pure(1), pure("b")))
    expect(z).toEqual([1, "b"])
  })

  it("guard adds −∞ when its condition fails and nothing otherwise; factor adds its weight", () => {
    expect(prior(function*() {
      yield* guard(false)
    })[1].logFactors).toBe(-Infinity)
    expect(prior(function*() {
      yield* guard(true)
      yield* factor(-2)
    })[1].logFactors).toBe(-2)
  })

  it("unfold threads explicit state through scoped steps", () => {
    const [states, t] = prior(unfold("x", 4, 0, (prev) => x("v", prev)))
    expect(states.length).toBe(4)
    expect(Trace.addresses(t)).toEqual(["x#0/v", "x#1/v", "x#2/v", "x#3/v"])
    expect(states[3]).toBe(Trace.getNumberOrThrow(t, "x#3/v"))
    // each step's prior is centred on the previous state
    expect(Trace.getOrThrow(t, "x#2/v").logProb).toBe(Normal(states[1], 1).logProb(states[2]))
  })

  it("reusing an address inside composed models is still rejected", () => {
    expect(() => prior(zip(x("a"), x("a")))).toThrow(DuplicateAddressError)
  })
})
