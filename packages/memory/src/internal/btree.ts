// sorted-btree internals this package relies on, in one place. The library is CommonJS; its
// `extended/bulkLoad` entry builds a balanced tree from sorted keys in O(n). The node walk
// reads the (private) `_root` / `children` fields, as sorted-btree's own extended modules do,
// to count how many nodes two copy-on-write trees share.
import type { Address } from "@fugue/core/Address"
import type { Choice, Choices } from "@fugue/runtime/Trace"
import { compareAddresses } from "@fugue/runtime/Trace"
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js"

export interface Node {
  readonly keys: ReadonlyArray<unknown>
  readonly children?: ReadonlyArray<Node>
}

const rootOf = (tree: Choices): Node => (tree as unknown as { _root: Node })._root

/** Every node of `tree` (leaves and internal nodes), each once. */
export const nodesOf = (tree: Choices): Set<Node> => {
  const seen = new Set<Node>()
  const stack: Array<Node> = [rootOf(tree)]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    if (node.children !== undefined) for (const child of node.children) stack.push(child)
  }
  return seen
}

/** A balanced tree from strictly ascending addresses and their choices, O(n). */
export const bulkLoadChoices = (keys: Array<Address>, values: Array<Choice>, maxNodeSize: number): Choices =>
  bulkLoad(keys, values, maxNodeSize, compareAddresses) as unknown as Choices

/** The branching factor of a tree. */
export const maxNodeSizeOf = (tree: Choices): number => tree.maxNodeSize
