// The simulation handler of ABC (Abc.ts): runs a simulator model once, either drawing every
// choice from the prior or at a proposed parameter point of ABC-SMC, and records a trace.
//
//   sample   a parameter site (selected by `parameters`; a PointMass from a `substitute`
//            layer never is) takes, in this order: the prior draw (no plan), the proposal's
//            continuous point x = T(u) with T the site's own support bijection
//            (@fugue/core/Bijection) evaluated at the proposed unconstrained coordinates u, or
//            the proposal's discrete value (kept from the ancestor) unless the plan says
//            REDRAW, when it is drawn fresh from its conditional prior. Other sites are drawn
//            from the prior. Every value is recorded with log p(x | past) (logPrior += it);
//            parameter sites also add it to `logPriorParameters`, and a proposed continuous
//            site adds log |dx/du| to `logJacobian` (the change of variables of the kernel).
//   observe  data "return": logLikelihood += log p(y) (a weight, as in importance sampling);
//            data "observe": y_sim ~ p is drawn and appended to `simulated` (flattened), the
//            model's y to `observed` when asked; nothing is scored.
//   factor   logFactors += w.
// A −∞ at a parameter's prior, an observation or a factor makes the simulation impossible:
// the handler ends it at once (`Execution.abort`), before more simulator code runs.
// The three sums are kept on the handler and written to the trace once, by `finish`: the trace
// is borrowed from a pool, and adding to a field of a reused (old-generation) trace at every
// site made rejection ABC 5 % slower than fresh traces (CPU ratio 1.05, quartiles 1.01 – 1.06,
// 12 paired runs of benchmarks/src/abc.ts); with the sums here, medians 1.00, 1.02, 1.05 and
// 1.05 in four series of 12–20 on a shared machine.
//
// Mapping u to x inside the execution, at the site's distribution, rather than substituting
// precomputed values (`Combinators.substitute`), keeps the kernel correct when a support
// depends on earlier parameters (x ~ Uniform(0, θ)): the bijection is the one of this
// execution, and the log-Jacobian of u ↦ x is triangular, the sum of the sites' own.
import type { Address } from "@fugue/core/Address"
import * as Bijection from "@fugue/core/Bijection"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { PointMass } from "@fugue/runtime/Combinators"
import { abort } from "@fugue/runtime/Execution"
import { DuplicateAddressError, type Handler } from "@fugue/runtime/Handler"
import { Trace, type ChoiceValue } from "@fugue/runtime/Trace"
import { structureError } from "./abcSimulator.ts"

/** A parameter site of ABC-SMC's fixed layout: its place in the unconstrained point or in the discrete values. */
export interface Slot {
  readonly address: Address
  readonly kind: "scalar" | "vector" | "discrete"
  /** Offset into u (continuous) or index into the discrete values. */
  readonly offset: number
  /** Unconstrained coordinates (continuous), 0 for discrete. */
  readonly dimension: number
}

/** The parameter sites of ABC-SMC, fixed by the first simulation of generation 0. */
export interface Layout {
  readonly slots: ReadonlyArray<Slot>
  readonly byAddress: ReadonlyMap<Address, Slot>
  /** Continuous coordinates in all. */
  readonly dimension: number
  /** Discrete parameter sites. */
  readonly discrete: number
}

/** A plan's marker: redraw this discrete site from its conditional prior. */
export const REDRAW: unique symbol = Symbol("redraw")

/** A proposal: the unconstrained point of the continuous sites and a value (or REDRAW) per discrete site. */
export interface Plan {
  readonly u: Float64Array
  readonly discrete: Array<ChoiceValue | typeof REDRAW>
}

export class SimulationHandler implements Handler<Trace> {
  readonly rng: Rng
  readonly isParameter: (address: Address) => boolean
  readonly observeMode: boolean
  trace: Trace = new Trace()
  /** The index of the simulation being run (for error messages). */
  simulation = 0
  /** With `plan`: the layout it refers to. */
  layout: Layout | undefined = undefined
  plan: Plan | undefined = undefined
  /** Whether to collect the parameter sites met (ABC-SMC's generation 0). */
  track = false
  /** Whether to collect the model's observed values (data "observe", first simulation). */
  collectObserved = false
  logPriorParameters = 0
  logJacobian = 0
  /** The execution's log prior, log likelihood and log factors (written to `trace` by `finish`). */
  logPrior = 0
  logLikelihood = 0
  logFactors = 0
  /** Parameter sites met, in visit order (with `track` or a plan). */
  readonly addresses: Array<Address> = []
  readonly bijections: Array<Bijection.Bijection | undefined> = []
  readonly values: Array<ChoiceValue> = []
  /** With a plan: each discrete slot's value and log p(value | past) in this execution. */
  discreteValues: Array<ChoiceValue> = []
  discreteLogProbs: Float64Array = new Float64Array(0)
  simulated: Array<number> = []
  observed: Array<number> = []
  constructor(rng: Rng, isParameter: (address: Address) => boolean, observeMode: boolean) {
    this.rng = rng
    this.isParameter = isParameter
    this.observeMode = observeMode
  }
  /** Clears the per-execution state; the next execution records into `trace`. */
  reset(trace: Trace): void {
    this.trace = trace
    this.logPriorParameters = 0
    this.logJacobian = 0
    this.logPrior = 0
    this.logLikelihood = 0
    this.logFactors = 0
    this.addresses.length = 0
    this.bijections.length = 0
    this.values.length = 0
    if (this.observeMode) this.simulated = []
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    let value: T
    let logProb: number
    if (dist instanceof PointMass || !this.isParameter(address)) {
      value = dist.sample(this.rng) // a PointMass gives its fixed value
      logProb = dist.logProb(value)
    } else {
      value = this.plan === undefined ? dist.sample(this.rng) : this.propose(address, dist)
      logProb = dist.logProb(value)
      if (this.track || this.plan !== undefined) {
        this.addresses.push(address)
        this.bijections.push(Bijection.of(dist.support))
        this.values.push(value as ChoiceValue)
      }
      this.logPriorParameters += logProb
    }
    if (!this.trace.record({ address, value: value as ChoiceValue, logProb })) throw new DuplicateAddressError({ address })
    this.logPrior += logProb
    if (logProb === -Infinity) throw abort
    return value
  }
  private propose<T>(address: Address, dist: Distribution<T>): T {
    const slot = this.layout!.byAddress.get(address)
    if (slot === undefined) throw structureError(this.simulation, address, "generation 0 did not have")
    const b = Bijection.of(dist.support)
    const plan = this.plan!
    if (slot.kind === "discrete") {
      if (b !== undefined) throw structureError(this.simulation, address, "was discrete in generation 0 and is continuous here")
      const kept = plan.discrete[slot.offset]
      const value = kept === REDRAW ? dist.sample(this.rng) : (kept as T)
      if (!dist.isValue(value)) throw structureError(this.simulation, address, `now has a ${dist.family} distribution, which does not take the kept value`)
      this.discreteValues[slot.offset] = value as ChoiceValue
      this.discreteLogProbs[slot.offset] = dist.logProb(value)
      return value
    }
    if (b === undefined || (b._tag === "Scalar") !== (slot.kind === "scalar") || (b._tag === "Vector" && b.dimension !== slot.dimension)) {
      throw structureError(this.simulation, address, `changed its support (now ${dist.support._tag}) since generation 0`)
    }
    if (b._tag === "Scalar") {
      const u = plan.u[slot.offset]
      this.logJacobian += b.logJacobian(u)
      return b.forward(u) as T
    }
    const x = new Float64Array(b.length)
    this.logJacobian += b.forward(plan.u, slot.offset, x)
    return x as T
  }
  observe<T>(_address: Address, dist: Distribution<T>, value: T): void {
    if (this.observeMode) {
      flattenInto(this.simulated, dist.sample(this.rng))
      if (this.collectObserved) flattenInto(this.observed, value)
      return
    }
    const logProb = dist.logProb(value)
    this.logLikelihood += logProb
    if (logProb === -Infinity) throw abort
  }
  factor(logWeight: number): void {
    this.logFactors += logWeight
    if (logWeight === -Infinity) throw abort
  }
  /** The trace, its weights set from the execution's sums. */
  finish(): Trace {
    const trace = this.trace
    trace.logPrior = this.logPrior
    trace.logLikelihood = this.logLikelihood
    trace.logFactors = this.logFactors
    return trace
  }
}

/** Appends an observation's value as numbers: a number as it is, a boolean as 0/1, a vector entry by entry. */
const flattenInto = (out: Array<number>, value: unknown): void => {
  if (typeof value === "number") out.push(value)
  else if (typeof value === "boolean") out.push(value ? 1 : 0)
  else if (value instanceof Float64Array) for (let k = 0; k < value.length; k++) out.push(value[k])
  else out.push(Number.NaN)
}
