import { describe, expect, it } from "@effect/vitest"
import { addr, Bernoulli, Dirichlet, factor, InvalidDistributionError, MultivariateNormal, Normal, observe, plate, sample, scope } from "@fugue/core"
import { InvalidFactorError, type Model } from "@fugue/core/Model"
import * as Rng from "@fugue/core/Rng"
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import * as Combinators from "../src/Combinators.ts"
import {
  Execution,
  InstructionLimitError,
  InvalidModelError,
  ModelCodeError,
  NotAnInstructionError,
  ObservationTypeError,
  whereOf
} from "../src/Execution.ts"
import { run, type Handler } from "../src/Handler.ts"
import { PriorHandler } from "../src/handlers/Prior.ts"

/** A handler that stops its execution at every observe / factor (a barrier) and logs what it saw. */
class Barriers implements Handler<Array<string>> {
  readonly seen: Array<string> = []
  execution!: Execution<unknown, Array<string>>
  readonly rng = Rng.make(1)
  sample<T>(address: Address, dist: Distribution<T>): T {
    this.seen.push(`sample ${address}`)
    return dist.sample(this.rng)
  }
  observe(address: Address): void {
    this.seen.push(`observe ${address}`)
    this.execution.stop()
  }
  factor(logWeight: number): void {
    this.seen.push(`factor ${logWeight}`)
    this.execution.stop()
  }
  finish() {
    return this.seen
  }
}

const model: Model<number> = function*() {
  const x = yield* sample("x", Normal(0, 1))
  yield* observe("y#0", Normal(x, 1), 0.5)
  yield* factor(-1)
  yield* observe("y#1", Normal(x, 1), 0.7)
  return x
}

describe("the one driver", () => {
  it("resume stops right after each barrier a handler asks for, then runs to the end", () => {
    const h = new Barriers()
    const e = new Execution(model, h)
    h.execution = e as Execution<unknown, Array<string>>
    expect(e.resume()).toBe("stopped")
    expect(h.seen).toEqual(["sample x", "observe y#0"])
    expect(e.resume()).toBe("stopped")
    expect(e.resume()).toBe("stopped")
    expect(e.barriers).toBe(3)
    expect(e.atEnd).toBe(true)
    expect(e.resume()).toBe("done")
    expect(e.result).toBeTypeOf("number")
    expect(e.instructions).toBe(4)
  })

  it("runToEnd ignores stop requests; run(handler, model) is runToEnd and gives the same trace", () => {
    const h = new Barriers()
    const e = new Execution(model, h)
    h.execution = e as Execution<unknown, Array<string>>
    e.runToEnd()
    expect(h.seen.length).toBe(4)
    const [a, ta] = run(new PriorHandler(Rng.make(3)), model)
    const [b, tb] = run(new PriorHandler(Rng.make(3)), model)
    expect(a).toBe(b)
    expect(ta.totalLogWeight).toBe(tb.totalLogWeight)
  })

  it("a paused execution (deadline passed) resumes where it stopped, with the same result", () => {
    const long: Model<number> = function*() {
      let s = 0
      for (let i = 0; i < 20_000; i++) s += yield* sample(addr("z", i), Normal(0, 1))
      return s
    }
    const whole = run(new PriorHandler(Rng.make(5)), long)
    const e = new Execution(long, new PriorHandler(Rng.make(5)))
    let pauses = 0
    while (e.resume(-1) === "paused") pauses++ // a deadline in the past: pause at every clock check
    expect(pauses).toBeGreaterThan(10)
    expect(e.result).toBe(whole[0])
    // restart reuses the object (with a handler that keeps no trace)
    const h = new Barriers()
    const again = new Execution(model, h)
    h.execution = again as Execution<unknown, Array<string>>
    again.runToEnd()
    again.restart(model)
    expect(again.done).toBe(false)
    expect(again.resume()).toBe("stopped")
    expect(h.seen).toEqual(["sample x", "observe y#0", "factor -1", "observe y#1", "sample x", "observe y#0"])
  })

  it("scope, plate and unfold prefixes are kept by the driver, nested scopes stack", () => {
    const inner: Model<number> = function*() {
      return yield* sample("v", Normal(0, 1))
    }
    const nested: Model<Array<number>> = function*() {
      const a = yield* scope("outer", scope("inner", inner))()
      const b = yield* plate("p", 2, () => inner)()
      const c = yield* sample("top", Normal(0, 1))
      return [a, ...b, c]
    }
    const [, trace] = run(new PriorHandler(Rng.make(1)), nested)
    expect([...trace.choices.keys()]).toEqual(["outer/inner/v", "p#0/v", "p#1/v", "top"])
  })

  it("the instruction limit is a typed error naming the limit and the last address", () => {
    const forever: Model<never> = function*() {
      for (let i = 0;; i++) yield* sample(addr("x", i), Normal(0, 1))
    }
    expect(() => run(new PriorHandler(Rng.make(1)), forever, { maxInstructions: 100 }))
      .toThrow(new InstructionLimitError({ limit: 100, address: "x#99" }))
  })

  it("a yielded non-instruction is a typed error naming it (no hang)", () => {
    const cases: Array<[unknown, RegExp]> = [[1, /yielded 1/], [undefined, /yielded undefined/], [{ _tag: "Sample" }, /./], ["s", /yielded "s"/]]
    for (const [value] of cases.slice(0, 2)) {
      const bad = function*() {
        yield value
      } as unknown as Model<void>
      expect(() => run(new PriorHandler(Rng.make(1)), bad)).toThrow(NotAnInstructionError)
    }
    const str = function*() {
      yield "s"
    } as unknown as Model<void>
    expect(() => run(new PriorHandler(Rng.make(1)), str)).toThrow(/yielded "s", which is not an instruction/)
  })

  it("observed values of the wrong type are typed errors naming address, family and value", () => {
    const cases: Array<Model<void>> = [
      function*() { yield* observe("a", Normal(0, 1), "2" as unknown as number) },
      function*() { yield* observe("b", Normal(0, 1), undefined as unknown as number) },
      function*() { yield* observe("c", Bernoulli(0.3), 0 as unknown as boolean) },
      function*() { yield* observe("d", Normal(0, 1), Number.NaN) },
      function*() { yield* observe("e", Dirichlet([1, 1]), [0.5, 0.5] as unknown as Float64Array) },
      function*() { yield* observe("f", MultivariateNormal(new Float64Array([0, 0]), [[1, 0], [0, 1]]), [0, 0] as unknown as Float64Array) }
    ]
    const addresses = ["a", "b", "c", "d", "e", "f"]
    cases.forEach((m, i) => {
      let caught: unknown
      try {
        run(new PriorHandler(Rng.make(1)), m)
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(ObservationTypeError)
      expect((caught as ObservationTypeError).address).toBe(addresses[i])
      expect((caught as Error).message).toMatch(new RegExp(`observe "${addresses[i]}"`))
    })
  })

  it("errors inside a model say where: typed errors keep their class, user exceptions become ModelCodeError", () => {
    const invalid: Model<void> = function*() {
      const x = yield* sample("x", Normal(0, 1))
      yield* sample("y", Normal(x, -1))
    }
    let caught: unknown
    try {
      run(new PriorHandler(Rng.make(1)), invalid)
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(InvalidDistributionError)
    expect(whereOf(caught)).toMatchObject({ address: "x", instructions: 1 })
    expect((caught as Error).message).toMatch(/at address "x"/)
    const throwing: Model<void> = function*() {
      yield* sample("x", Normal(0, 1))
      throw new SyntaxError("user bug")
    }
    expect(() => run(new PriorHandler(Rng.make(1)), throwing)).toThrow(ModelCodeError)
    expect(() => run(new PriorHandler(Rng.make(1)), throwing)).toThrow(/the model threw SyntaxError\(user bug\) \(at address "x"\)/)
  })

  it("factor rejects a non-number log-weight with a typed error (no string concatenation)", () => {
    expect(() => factor("1" as unknown as number)).toThrow(InvalidFactorError)
    expect(() => factor(Object.create(null))).toThrow(/must be a number, got Object\(null prototype\)/)
    expect(() => factor(Symbol("s") as unknown as number)).toThrow(/Symbol\(s\)/)
  })
})

describe("malformed models and combinator arguments", () => {
  it("a function that is not a generator function is an InvalidModelError; a look-alike instruction a NotAnInstructionError", () => {
    expect(() => run(new PriorHandler(Rng.make(1)), (() => 1) as unknown as Model<number>)).toThrow(InvalidModelError)
    const lookAlike = function*() {
      yield { _tag: "Sample", address: "x" }
    } as unknown as Model<void>
    expect(() => run(new PriorHandler(Rng.make(1)), lookAlike)).toThrow(NotAnInstructionError)
  })
  it("scale rejects a negative, NaN or infinite factor; condition and substitute check their values' types", () => {
    for (const by of [-1, Number.NaN, Infinity, -Infinity, "2" as unknown as number]) {
      expect(() => Combinators.scale(new PriorHandler(Rng.make(1)), by)).toThrow(Combinators.InvalidCombinatorError)
    }
    const m: Model<number> = function*() {
      return yield* sample("x", Normal(0, 1))
    }
    expect(() => run(Combinators.condition(new PriorHandler(Rng.make(1)), { x: "abc" }), m)).toThrow(ObservationTypeError)
    expect(() => run(Combinators.substitute(new PriorHandler(Rng.make(1)), { x: Number.NaN }), m)).toThrow(Combinators.InvalidCombinatorError)
    expect(() => Combinators.mask(new PriorHandler(Rng.make(1)), 3 as never)).toThrow(/mask: invalid selector = 3/)
  })
})

describe("seeds", () => {
  it("use every bit of a safe integer; 32-bit seeds keep their streams", () => {
    const first = (seed: number) => Rng.make(seed).uniform()
    expect(first(2 ** 32)).not.toBe(first(0))
    expect(first(5 + 2 ** 40)).not.toBe(first(5))
    expect(first(-1)).not.toBe(first(2 ** 32 - 1))
    expect(() => Rng.make(0.5)).toThrow(RangeError)
    expect(() => Rng.make(2 ** 53)).toThrow(RangeError)
    const fresh = Rng.freshSeed()
    expect(Number.isSafeInteger(fresh) && fresh >= 0).toBe(true)
    expect(Rng.freshSeed()).not.toBe(fresh)
  })
})
