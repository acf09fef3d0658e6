/**
 * Selections of addresses, Gen's `Selection` algebra: which choices of a trace a move
 * regenerates (`Regenerate`), or which sites a combinator applies to. A selection is a small
 * immutable value; `has(selection, address)` asks whether it contains an address. Build them
 * from single addresses, address prefixes (a whole `scope`), `all` and `none`, and combine them
 * with `union`, `intersection` and `complement`.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { SCOPE_SEPARATOR } from "@fugue/core/Address"

/**
 * A set of addresses, possibly infinite.
 *
 * @example
 * const s: Selection.Selection = Selection.union(Selection.address("mu"), Selection.prefix("theta"))
 *
 * @category models
 * @since 0.1.0
 */
export type Selection =
  | { readonly _tag: "All" }
  | { readonly _tag: "None" }
  | { readonly _tag: "Addresses"; readonly addresses: ReadonlySet<Address> }
  | { readonly _tag: "Prefix"; readonly prefix: string }
  | { readonly _tag: "Complement"; readonly of: Selection }
  | { readonly _tag: "Union"; readonly of: ReadonlyArray<Selection> }
  | { readonly _tag: "Intersection"; readonly of: ReadonlyArray<Selection> }

/**
 * Every address.
 *
 * @example
 * Selection.has(Selection.all, "anything") // true
 *
 * @category constructors
 * @since 0.1.0
 */
export const all: Selection = { _tag: "All" }

/**
 * No address.
 *
 * @example
 * Selection.has(Selection.none, "mu") // false
 *
 * @category constructors
 * @since 0.1.0
 */
export const none: Selection = { _tag: "None" }

/**
 * Exactly the given addresses.
 *
 * @example
 * const s = Selection.address("mu", "tau")
 *
 * @category constructors
 * @since 0.1.0
 */
export const address = (...addresses: ReadonlyArray<Address>): Selection => ({ _tag: "Addresses", addresses: new Set(addresses) })

/**
 * Every address under a scope: `prefix("theta")` holds `"theta"`, `"theta/x"` and `"theta#3"`
 * (an `addr("theta", i)` family), but not `"thetas"`.
 *
 * @example
 * Selection.has(Selection.prefix("layer1"), "layer1/w#0") // true
 *
 * @category constructors
 * @since 0.1.0
 */
export const prefix = (prefix: string): Selection => ({ _tag: "Prefix", prefix })

/**
 * Every address not in `selection`.
 *
 * @example
 * const rest = Selection.complement(Selection.address("mu"))
 *
 * @category combinators
 * @since 0.1.0
 */
export const complement = (selection: Selection): Selection =>
  selection._tag === "All" ? none : selection._tag === "None" ? all : selection._tag === "Complement" ? selection.of : { _tag: "Complement", of: selection }

/**
 * Addresses in any of the selections.
 *
 * @example
 * const s = Selection.union(Selection.address("mu"), Selection.prefix("theta"))
 *
 * @category combinators
 * @since 0.1.0
 */
export const union = (...selections: ReadonlyArray<Selection>): Selection => ({ _tag: "Union", of: selections })

/**
 * Addresses in every one of the selections.
 *
 * @example
 * const s = Selection.intersection(Selection.prefix("theta"), Selection.complement(Selection.address("theta#0")))
 *
 * @category combinators
 * @since 0.1.0
 */
export const intersection = (...selections: ReadonlyArray<Selection>): Selection => ({ _tag: "Intersection", of: selections })

/**
 * Whether `selection` holds `address`.
 *
 * @example
 * Selection.has(Selection.address("mu"), "mu") // true
 *
 * @category getters
 * @since 0.1.0
 */
export const has = (selection: Selection, address: Address): boolean => {
  switch (selection._tag) {
    case "All":
      return true
    case "None":
      return false
    case "Addresses":
      return selection.addresses.has(address)
    case "Prefix": {
      const p = selection.prefix
      if (!address.startsWith(p)) return false
      if (address.length === p.length) return true
      const next = address[p.length]
      return next === SCOPE_SEPARATOR || next === "#"
    }
    case "Complement":
      return !has(selection.of, address)
    case "Union":
      return selection.of.some((s) => has(s, address))
    case "Intersection":
      return selection.of.every((s) => has(s, address))
  }
}
