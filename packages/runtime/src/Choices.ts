/**
 * The choice map inside every `Trace`: a `sorted-btree` map from address to `Choice`, ordered
 * by plain string comparison. Use this module for what `Trace` does not say about the map
 * itself: an empty map with the trace's comparator, and how much B-tree structure two maps
 * share (the copy-on-write diagnostic behind `Trace.clone` and `CowTrace`). It is the public
 * face of the one sorted-btree wrapper in the repository (`internal/btree.ts`): packages above
 * the runtime reach the library's internals only through it.
 *
 * @since 0.1.0
 */
import type { Address } from "@fugue/core/Address"
import { BTree, nodesOf } from "./internal/btree.ts"
import type { Choice, Trace } from "./Trace.ts"

/**
 * The choices of a trace, sorted by address.
 *
 * @example
 * const choices: Choices.Choices = trace.choices
 *
 * @category models
 * @since 0.1.0
 */
export type Choices = BTree<Address, Choice>

/**
 * Plain string order (faster than sorted-btree's default mixed-type comparator).
 *
 * @example
 * ["b", "a"].sort(Choices.compareAddresses) // ["a", "b"]
 *
 * @category getters
 * @since 0.1.0
 */
export const compareAddresses = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * An empty choice map with the trace's comparator and sorted-btree's default node size (32).
 *
 * @example
 * const cs = Choices.empty()
 *
 * @category constructors
 * @since 0.1.0
 */
export const empty = (): Choices => new BTree<Address, Choice>(undefined, compareAddresses)

/**
 * The shape of a choice map's B-tree: its height (0 for a single leaf), node count and the
 * number of choices in each leaf, left to right. O(nodes); a diagnostic, not for inner loops.
 *
 * @example
 * Choices.shape(trace.choices)
 * // 10 000 sorted choices built by TraceBuilder: { height: 2, nodes: 324, leafSizes: [32, 32, …] }
 *
 * @category getters
 * @since 0.1.0
 */
export const shape = (choices: Choices): {
  readonly height: number
  readonly nodes: number
  readonly leafSizes: ReadonlyArray<number>
} => {
  const nodes = nodesOf(choices)
  const leafSizes: Array<number> = []
  for (const node of nodes) if (node.children === undefined) leafSizes.push(node.keys.length)
  return { height: choices.height, nodes: nodes.size, leafSizes }
}

/**
 * How much B-tree structure `b` shares with `a`: the number of `b`'s nodes (`nodes`) and how
 * many of them are also nodes of `a` (`shared`). `nodes - shared` is what a copy-on-write
 * write copied. Takes choice maps or traces. O(nodes); a diagnostic, not for inner loops.
 *
 * **Details**: after `const b = a.clone()` every node is shared; a write to one existing
 * address of `b` copies the root-to-leaf path, `height + 1` nodes, whatever the size.
 *
 * @example
 * const b = a.clone()
 * b.choices.set("mu", { address: "mu", value: 0.3, logProb: -1.2 })
 * Choices.sharing(a, b) // 10 000 choices: { nodes: 347, shared: 344 }
 *
 * @category getters
 * @since 0.1.0
 */
export const sharing = (a: Choices | Trace, b: Choices | Trace): { readonly nodes: number; readonly shared: number } => {
  const inA = nodesOf(a instanceof BTree ? a : a.choices)
  const inB = nodesOf(b instanceof BTree ? b : b.choices)
  let shared = 0
  for (const node of inB) if (inA.has(node)) shared++
  return { nodes: inB.size, shared }
}
