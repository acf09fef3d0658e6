/**
 * The prior interpreter: draws every latent choice from its distribution and records it.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import type { Distribution } from "@fugue/core/Distribution"
import type { Rng } from "@fugue/core/Rng"
import { DuplicateAddressError, type Handler } from "../Handler.ts"
import { Trace, type ChoiceValue } from "../Trace.ts"

/**
 * Draws from the prior and records a full trace.
 *
 * **Details**: sample adds log p(x) to `logPrior`; observe adds log p(y) to `logLikelihood`;
 * factor adds its weight to `logFactors`. A repeated sample address throws
 * `DuplicateAddressError`.
 *
 * @example
 * const [result, trace] = run(new PriorHandler(Rng.make(1)), model)
 *
 * @category handlers
 * @since 0.1.0
 */
export class PriorHandler implements Handler<Trace> {
  readonly rng: Rng
  /** Where the choices go; a loop that runs many executions may point it at a fresh (pooled) trace between runs. */
  trace: Trace
  constructor(rng: Rng, trace: Trace = new Trace()) {
    this.rng = rng
    this.trace = trace
  }
  sample<T>(address: Address, dist: Distribution<T>): T {
    const value = dist.sample(this.rng)
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
