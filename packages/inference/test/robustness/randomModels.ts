// The random-model arbitrary and interpreter of the runtime robustness suite, shared (one
// definition, so both suites exercise the same models): see
// packages/runtime/test/robustness/randomModels.ts.
export * from "../../../runtime/test/robustness/randomModels.ts"
