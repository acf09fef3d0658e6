/**
 * The forgiving scoring interpreter: like `ScoreGivenTrace`, but a missing or mistyped choice
 * makes the trace impossible (−∞) instead of throwing.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import * as CoreRng from "@fugue/core/Rng"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { Trace, type ChoiceValue } from "../Trace.ts"

/**
 * Scores `base`; a missing or wrongly typed site contributes −∞ to `logPrior`.
 *
 * **Details**: valid sites as in `ScoreGivenTrace`. For an invalid site the model still needs
 * a value to go on, so one is drawn from `rng` (default: a fixed seed), recorded with
 * logProb −∞, and counted in `missing` or `mismatched`. Never throws on a mismatch.
 *
 * @example
 * const h = new SafeScoreGivenTrace(partialTrace)
 * const [, t] = run(h, model) // t.totalLogWeight === -Infinity, h.missing > 0
 *
 * @category handlers
 * @since 0.1.0
 */
export class SafeScoreGivenTrace implements Handler<Trace> {
  readonly base: Trace
  readonly trace: Trace
  readonly rng: CoreRng.Rng
  /** Sites absent from the base trace. */
  missing = 0
  /** Sites whose base value had the wrong type. */
  mismatched = 0
  constructor(base: Trace, rng: CoreRng.Rng = CoreRng.make(0), trace: Trace = new Trace()) {
    this.base = base
    this.rng = rng
    this.trace = trace
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const old = this.base.choices.get(address)
    let value: T
    let logProb: number
    if (old !== undefined && dist.isValue(old.value)) {
      value = old.value
      logProb = dist.logProb(value)
    } else {
      if (old === undefined) this.missing++
      else this.mismatched++
      value = dist.sample(this.rng)
      logProb = -Infinity
    }
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
