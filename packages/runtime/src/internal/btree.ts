// sorted-btree is CommonJS with `exports.default = BTree`: Node's ESM loader hands back the
// exports object as the default import, bundlers hand back BTree itself. Normalise once.
import * as SortedBTree from "sorted-btree"

type BTreeModule = typeof import("sorted-btree")
type BTreeConstructor = BTreeModule["default"]
const candidate: any = (SortedBTree as any).default
export const BTree: BTreeConstructor = typeof candidate === "function" ? candidate : candidate.default
export type BTree<K, V> = import("sorted-btree").default<K, V>

const BNode: new(keys: Array<unknown>, values: Array<unknown>) => unknown = (SortedBTree as any).BNode ??
  (typeof candidate === "function" ? undefined : candidate.BNode)

/** The largest node sorted-btree builds by default (its leaves hold at most this many keys). */
export const MAX_LEAF = 64

/**
 * Loads sorted, distinct keys into an EMPTY tree as a single leaf, without sorted-btree's
 * per-insert array splices (its constructor has no bulk load). Only for n ≤ MAX_LEAF; the
 * tree's invariants are those of a tree built by inserting the keys one by one.
 */
export const loadLeafUnsafe = <K, V>(tree: BTree<K, V>, keys: Array<K>, values: Array<V>): void => {
  ;(tree as any)._root = new BNode(keys, values)
}
