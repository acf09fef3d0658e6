/**
 * The replay interpreter (the MH proposal step): reuses the base trace's value wherever the
 * address exists, draws fresh elsewhere, and records a new trace.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { PointMass } from "../Combinators.ts"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { ChoiceTypeError, Trace, typeOf, type ChoiceValue } from "../Trace.ts"

/**
 * Replays `base`; fresh draws where it has no choice.
 *
 * **Details**: a replayed value x is rescored under the site's current distribution: log p(x)
 * goes to `logPrior` (so replaying a complete trace reproduces its weights exactly); observe
 * and factor as in the prior handler. A base value of the wrong type throws
 * `ChoiceTypeError` (use `SafeReplayHandler` to redraw instead). `fresh` counts new draws.
 *
 * @example
 * const [, proposed] = run(new ReplayHandler(rng, current), model)
 *
 * @category handlers
 * @since 0.1.0
 */
export class ReplayHandler implements Handler<Trace> {
  readonly rng: Rng
  readonly base: Trace
  readonly trace: Trace
  /** How many sites had no base choice and were drawn fresh. */
  fresh = 0
  constructor(rng: Rng, base: Trace, trace: Trace = new Trace()) {
    this.rng = rng
    this.base = base
    this.trace = trace
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const old = this.base.choices.get(address)
    let value: T
    if (dist instanceof PointMass) {
      value = dist.value // a substituted site keeps its value
    } else if (old === undefined) {
      value = dist.sample(this.rng)
      this.fresh++
    } else if (dist.isValue(old.value)) {
      value = old.value
    } else {
      throw new ChoiceTypeError({ address, expected: dist.kind, actual: typeOf(old.value) })
    }
    const logProb = dist.logProb(value)
    if (!this.trace.record({ address, value: value as ChoiceValue, logProb })) {
      throw new DuplicateAddressError({ address })
    }
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
}
