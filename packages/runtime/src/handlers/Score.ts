/**
 * The scoring interpreter: evaluates a complete trace under the model without drawing.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { ChoiceTypeError, MissingAddressError, Trace, typeOf } from "../Trace.ts"

/**
 * Scores `base`: every latent choice must be there.
 *
 * **Details**: sample at address a returns base[a] and adds log p(base[a]) to `logPrior`;
 * observe adds log p(y) to `logLikelihood`; factor adds to `logFactors`. A missing address
 * throws `MissingAddressError`, a wrongly typed one `ChoiceTypeError`. On a trace recorded
 * by the prior handler, the result's weights equal the recorded ones exactly.
 *
 * @example
 * const [, scored] = run(new ScoreGivenTrace(trace), model)
 * scored.totalLogWeight === trace.totalLogWeight
 *
 * @category handlers
 * @since 0.1.0
 */
export class ScoreGivenTrace implements Handler<Trace> {
  readonly base: Trace
  readonly trace: Trace
  constructor(base: Trace, trace: Trace = new Trace()) {
    this.base = base
    this.trace = trace
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const old = this.base.choices.get(address)
    if (old === undefined) throw new MissingAddressError({ address })
    const value = old.value
    if (!dist.isValue(value)) throw new ChoiceTypeError({ address, expected: dist.kind, actual: typeOf(value) })
    const logProb = dist.logProb(value)
    if (!this.trace.record({ address, value: old.value, logProb })) {
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
