/**
 * The forgiving replay interpreter: like `ReplayHandler`, but a base choice of the wrong type
 * is redrawn instead of throwing, and counted.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { PointMass } from "../Combinators.ts"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { Trace, type ChoiceValue } from "../Trace.ts"

/**
 * Replays `base`, drawing fresh where the address is missing or its value has the wrong type.
 *
 * **Details**: weights as in `ReplayHandler`. `fresh` counts missing sites drawn fresh and
 * `repaired` counts mismatched values replaced by a fresh draw. Never throws on a mismatch.
 *
 * @example
 * const h = new SafeReplayHandler(rng, oldTrace)
 * run(h, changedModel); h.repaired // sites whose type changed
 *
 * @category handlers
 * @since 0.1.0
 */
export class SafeReplayHandler implements Handler<Trace> {
  readonly rng: Rng
  readonly base: Trace
  readonly trace: Trace
  /** Sites with no base choice, drawn fresh. */
  fresh = 0
  /** Sites whose base value had the wrong type, redrawn. */
  repaired = 0
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
    } else if (old !== undefined && dist.isValue(old.value)) {
      value = old.value
    } else {
      if (old === undefined) this.fresh++
      else this.repaired++
      value = dist.sample(this.rng)
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
