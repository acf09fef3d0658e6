/**
 * @fugue/core: addresses, distributions, models and random numbers. No Effect in the hot path.
 *
 * @since 0.1.0
 */
export * as Ad from "./Ad.ts"
export * as Address from "./Address.ts"
export * as Bijection from "./Bijection.ts"
export { addr } from "./Address.ts"
export * as Distribution from "./Distribution.ts"
export { InvalidDistributionError } from "./Distribution.ts"
export * as Memo from "./Memo.ts"
export { MemoKeyError, memoize } from "./Memo.ts"
export * as Model from "./Model.ts"
export { factor, flatMap, guard, map, observe, plate, pure, sample, scope, sequence, traverse, unfold, zip } from "./Model.ts"
export * as Rng from "./Rng.ts"
export * as Value from "./Value.ts"
export * from "./distributions/index.ts"
