// The one place that touches sorted-btree. Everything else in the repository reaches the
// library through `Choices.ts` / `Trace.ts`, which re-export what is safe from here.
//
// - sorted-btree is CommonJS with `exports.default = BTree`: Node's ESM loader hands back the
//   exports object as the default import, bundlers hand back BTree itself. Normalised once.
// - `loadSortedUnsafe` and `nodesOf` read or write the tree's private `_root` (and the nodes'
//   `keys` / `children`), as sorted-btree's own `extended/` modules do. sorted-btree is pinned
//   (2.1.0); the property tests in runtime/test/Trace.test.ts (`checkValid` after every
//   operation) guard these two functions against a change of its internals.
import * as SortedBTree from "sorted-btree"
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js"

type BTreeModule = typeof import("sorted-btree")
type BTreeConstructor = BTreeModule["default"]
const candidate: any = (SortedBTree as any).default
export const BTree: BTreeConstructor = typeof candidate === "function" ? candidate : candidate.default
export type BTree<K, V> = import("sorted-btree").default<K, V>

const BNode: new(keys: Array<unknown>, values: Array<unknown>) => unknown = (SortedBTree as any).BNode ??
  (typeof candidate === "function" ? undefined : candidate.BNode)

interface Internals {
  _root: Node
  readonly _maxNodeSize: number
  readonly _compare: (a: unknown, b: unknown) => number
}

/** A B-tree node as sorted-btree lays it out: a leaf has `keys` (and values), an internal node also `children`. */
export interface Node {
  readonly keys: ReadonlyArray<unknown>
  readonly children?: ReadonlyArray<Node>
}

/**
 * Loads strictly ascending keys and their values into an EMPTY tree. n ≤ maxNodeSize: the root
 * becomes one leaf that takes ownership of both arrays (no copy; the caller must not touch them
 * again). Larger: sorted-btree's O(n) bulk load with full nodes (load factor 1, as inserting
 * the keys in order would give: a trace is rewritten in place far more often than it grows, and
 * full nodes keep it lower), whose root replaces the tree's, so the tree keeps its identity,
 * comparator and node size. The result is a valid tree.
 */
export const loadSortedUnsafe = <K, V>(tree: BTree<K, V>, keys: Array<K>, values: Array<V>): void => {
  const n = keys.length
  if (n === 0) return
  const t = tree as unknown as Internals
  if (n <= t._maxNodeSize) t._root = new BNode(keys, values) as Node
  else t._root = (bulkLoad(keys, values, t._maxNodeSize, t._compare, 1) as unknown as Internals)._root
}

/** Every node of `tree` (leaves and internal nodes), each once, in pre-order, left to right. O(nodes). */
export const nodesOf = <K, V>(tree: BTree<K, V>): Set<Node> => {
  const seen = new Set<Node>()
  const stack: Array<Node> = [(tree as unknown as Internals)._root]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    const children = node.children
    if (children !== undefined) for (let i = children.length - 1; i >= 0; i--) stack.push(children[i])
  }
  return seen
}
