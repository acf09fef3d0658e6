/**
 * Gen's `regenerate(trace, selection)` as a handler: re-executes the model from a trace,
 * drawing the selected choices (and any choice the trace lacks) afresh from their prior and
 * reusing every other recorded value. Its `logWeight` is the Metropolis–Hastings log ratio of
 * the move, so `regenerate` is a complete block-MH proposal: accept with probability
 * min(1, exp(logWeight)). Single-site MH is the special case of one selected address with a
 * prior proposal; `selection = none` changes nothing and has weight 0.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { PointMass } from "../Combinators.ts"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { has, type Selection } from "../Selection.ts"
import { ChoiceTypeError, Trace, typeOf, type ChoiceValue } from "../Trace.ts"

/**
 * Regenerates the `selection` of `base`; everything else is replayed.
 *
 * **Details**: with t the base trace and t′ the new one, R the regenerated choices of t′
 * (selected, or absent from t: drawn from their prior) and D the choices of t not reused in t′
 * (selected in t, or no longer visited), the proposal density is q(t′ | t) = Π_{a∈R} p′(x′_a)
 * and the reverse move's is q(t | t′) = Π_{a∈D} p(x_a). So
 *   logWeight = [log p(t′) − Σ_R log p′(x′_a)] − [log p(t) − Σ_D log p(x_a)],
 * the log MH ratio (Gen's `regenerate` weight). Replayed values are rescored under their site's
 * current distribution. A base value of the wrong type throws `ChoiceTypeError`; a replayed value
 * outside its new support makes the weight −∞ (the move is rejected).
 *
 * @example
 * const h = new RegenerateHandler(rng, trace, Selection.address("mu"))
 * const [result, next] = run(h, model)
 * if (Math.log(rng.uniform()) < h.logWeight) trace = next // an MH step on "mu"
 *
 * @category handlers
 * @since 0.1.0
 */
export class RegenerateHandler implements Handler<Trace> {
  readonly rng: Rng
  readonly base: Trace
  readonly selection: Selection
  readonly trace: Trace
  /** Σ log p′ of the regenerated choices of the new trace. */
  logRegenerated = 0
  /** Base addresses reused (replayed) by this execution. */
  private readonly reused = new Set<Address>()
  constructor(rng: Rng, base: Trace, selection: Selection, trace: Trace = new Trace()) {
    this.rng = rng
    this.base = base
    this.selection = selection
    this.trace = trace
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const old = this.base.choices.get(address)
    let value: T
    let logProb: number
    if (dist instanceof PointMass) {
      value = dist.value
      logProb = dist.scoreAs
      if (old !== undefined) this.reused.add(address)
    } else if (old === undefined || has(this.selection, address)) {
      value = dist.sample(this.rng)
      logProb = dist.logProb(value)
      this.logRegenerated += logProb
    } else if (dist.isValue(old.value)) {
      value = old.value
      logProb = dist.logProb(value)
      this.reused.add(address)
    } else {
      throw new ChoiceTypeError({ address, expected: dist.kind, actual: typeOf(old.value) })
    }
    if (!this.trace.record({ address, value: value as ChoiceValue, logProb })) throw new DuplicateAddressError({ address })
    this.trace.logPrior += logProb
    return value
  }
  observe<T>(_address: Address, dist: Distribution<T>, value: T): void {
    this.trace.logLikelihood += dist.logProb(value)
  }
  factor(logWeight: number): void {
    this.trace.logFactors += logWeight
  }
  finish(): Trace {
    return this.trace
  }
  /** The log MH ratio of the move (see the class docs); read it after the run. */
  get logWeight(): number {
    let logDropped = 0
    const reused = this.reused
    this.base.choices.forEachPair((address, choice) => {
      if (!reused.has(address)) logDropped += choice.logProb
    })
    const forward = this.trace.totalLogWeight - this.logRegenerated
    const backward = this.base.totalLogWeight - logDropped
    return forward === -Infinity ? -Infinity : forward - backward
  }
}
