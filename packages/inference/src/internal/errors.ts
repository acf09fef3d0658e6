// Typed errors raised by algorithms whose modules import the shared Effect shell (attempt.ts):
// defined here, apart from those modules, so the shell can recognise them without an import
// cycle. Each is re-exported by its algorithm's public module.
import type { Address } from "@fugue/core/Address"
import * as Data from "effect/Data"

/**
 * A latent site cannot be enumerated: its support is continuous (or a vector).
 *
 * @example
 * Enumerate.runUnsafe(function* () { yield* sample("x", Normal(0, 1)) }) // throws NotEnumerableError { address: "x" }
 *
 * @category errors
 * @since 0.2.0
 */
export class NotEnumerableError extends Data.TaggedError("NotEnumerableError")<{
  readonly address: Address
  readonly family: string
  readonly support: string
}> {
  override get message(): string {
    return `Enumerate: latent site "${this.address}" (${this.family}, support ${this.support}) cannot be enumerated: enumeration needs discrete latent sites; use MH, SMC or NUTS for this model, or condition / substitute the site`
  }
}

/**
 * A random number was drawn during enumeration (by `Combinators.block` or `seed`, which draw
 * hidden sites at random): enumeration is exact and deterministic, so it refuses.
 *
 * @example
 * Enumerate.runUnsafe(model, { transform: (h, rng) => Combinators.block(h, ["x"], rng) }) // throws RandomnessInEnumerationError
 *
 * @category errors
 * @since 0.2.0
 */
export class RandomnessInEnumerationError extends Data.TaggedError("RandomnessInEnumerationError")<{}> {
  override get message(): string {
    return "Enumerate: a random number was drawn (e.g. by Combinators.block or seed); enumeration is exact: remove the transformation or use a sampler"
  }
}

