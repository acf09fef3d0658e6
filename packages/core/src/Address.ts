/**
 * Addresses name the random choices of a model. They are plain strings: `addr("y", 3)` is
 * `"y#3"`, `addr("w", 1, 2)` is `"w#1#2"`, and `scope("layer1", model)` prefixes every address
 * inside `model` with `"layer1/"`. A trace is keyed by address, so a model must not use the
 * same address twice in one execution.
 *
 * @since 0.1.0
 */

/**
 * An address: the name of one random choice.
 *
 * @category models
 * @since 0.1.0
 */
export type Address = string

/**
 * Builds an address from a name and indices.
 *
 * @example
 * addr("y", 3)    // "y#3"
 * addr("w", 1, 2) // "w#1#2"
 *
 * @category constructors
 * @since 0.1.0
 */
export const addr = (name: string, ...indices: ReadonlyArray<number | string>): Address => {
  let out = name
  for (let i = 0; i < indices.length; i++) out += "#" + indices[i]
  return out
}

/**
 * The separator between a scope prefix and the address inside it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const SCOPE_SEPARATOR = "/"

/**
 * Prefixes an address with a scope.
 *
 * @example
 * scoped("layer1", "w#0") // "layer1/w#0"
 *
 * @category constructors
 * @since 0.1.0
 */
export const scoped = (prefix: string, address: Address): Address => prefix + SCOPE_SEPARATOR + address
