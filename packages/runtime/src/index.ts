/**
 * @fugue/runtime: the handler contract and run loop, traces, the interpreters, handler
 * combinators and the Effect services (`Interpreter`, `Rng`).
 *
 * @since 0.1.0
 */
export * as Choices from "./Choices.ts"
export * as Combinators from "./Combinators.ts"
export * as Execution from "./Execution.ts"
export * as Handler from "./Handler.ts"
export { DuplicateAddressError, run } from "./Handler.ts"
export { PriorHandler } from "./handlers/Prior.ts"
export { RegenerateHandler } from "./handlers/Regenerate.ts"
export { ReplayHandler } from "./handlers/Replay.ts"
export { SafeReplayHandler } from "./handlers/SafeReplay.ts"
export { SafeScoreGivenTrace } from "./handlers/SafeScore.ts"
export { ScoreGivenTrace } from "./handlers/Score.ts"
export * as Interpreter from "./Interpreter.ts"
export * as Rng from "./Rng.ts"
export * as Selection from "./Selection.ts"
export * as Trace from "./Trace.ts"
