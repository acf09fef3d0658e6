// sorted-btree is CommonJS with `exports.default = BTree`: Node's ESM loader hands back the
// exports object as the default import, bundlers hand back BTree itself. Normalise once.
import * as SortedBTree from "sorted-btree"

type BTreeModule = typeof import("sorted-btree")
type BTreeConstructor = BTreeModule["default"]
const candidate: any = (SortedBTree as any).default
export const BTree: BTreeConstructor = typeof candidate === "function" ? candidate : candidate.default
export type BTree<K, V> = import("sorted-btree").default<K, V>
