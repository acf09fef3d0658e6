/**
 * @fugue/memory: trace pooling and sharing for inference inner loops — `TracePool` (a scoped
 * pool of reusable traces with stats), `CowTrace` (copy-on-write forks, O(log n) per write),
 * `TraceBuilder` (a trace from choices without intermediate copies) and `PooledPriorHandler`
 * (the prior interpreter drawing into pooled traces).
 *
 * @since 0.1.0
 */
export * as CowTrace from "./CowTrace.ts"
export { InvalidChoiceError } from "./CowTrace.ts"
export * as PooledPrior from "./PooledPrior.ts"
export { PooledPriorHandler } from "./PooledPrior.ts"
export * as TraceBuilder from "./TraceBuilder.ts"
export { BuilderConsumedError, InvalidLogWeightError } from "./TraceBuilder.ts"
export * as TracePool from "./TracePool.ts"
export { InvalidPoolOptionsError, PoolClosedError, PoolReleaseError } from "./TracePool.ts"
