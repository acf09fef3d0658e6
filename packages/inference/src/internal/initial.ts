// Initial values given by the user on the sites' own (constrained) scale, by address, written into
// an unconstrained point: shared by the samplers and optimisers that start from a `LogDensity`
// point (NUTS, HMC, VI, MAP, Laplace).
import * as Bijection from "@fugue/core/Bijection"
import { describe } from "@fugue/core/Value"
import type * as LogDensity from "../LogDensity.ts"
import { InvalidOptionsError } from "../Options.ts"

/**
 * Initial values of some sites on their own (constrained) scale, by address: a number, or an
 * array for a vector site.
 *
 * @example
 * const initial: Nuts.InitialValues = { sigma: 1, p: [0.2, 0.3, 0.5] }
 *
 * @category models
 * @since 0.2.0
 */
export type InitialValues = Readonly<Record<string, number | ArrayLike<number>>>

/** Writes the user's initial values into q (unconstrained), marking their coordinates. */
export const fillInitial = (algorithm: string, density: LogDensity.LogDensity, given: InitialValues, q: Float64Array, fixed: Uint8Array): void => {
  const bad = (option: string, value: unknown, reason: string): never => {
    throw new InvalidOptionsError({ algorithm, option, value, reason })
  }
  if (typeof given !== "object" || given === null) bad("initial", given, "must be an object of site values")
  const byAddress = new Map(density.sites.map((s) => [s.address as string, s]))
  for (const [address, value] of Object.entries(given)) {
    const site = byAddress.get(address)
    if (site === undefined) bad(`initial.${address}`, value, `the model has no continuous latent site ${describe(address)} (sites: ${[...byAddress.keys()].join(", ")})`)
    const b = Bijection.of(site!.support)!
    if (b._tag === "Scalar") {
      if (typeof value !== "number") bad(`initial.${address}`, value, "must be a number")
      q[site!.offset] = b.inverse(value as number)
    } else {
      const v = value as ArrayLike<number>
      if (typeof v !== "object" || v === null || v.length !== b.length) bad(`initial.${address}`, value, `must be an array of length ${b.length}`)
      b.inverse(Float64Array.from(v), q, site!.offset)
    }
    for (let i = site!.offset; i < site!.offset + site!.dimension; i++) {
      if (!Number.isFinite(q[i]!)) bad(`initial.${address}`, value, `is outside the support of ${site!.family} (${describe(site!.support)})`)
      fixed[i] = 1
    }
  }
}

