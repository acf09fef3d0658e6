/**
 * @fugue/inference: MCMC, importance sampling, SMC, diagnostics and posterior containers.
 *
 * @since 0.1.0
 */
export * as Diagnostics from "./Diagnostics.ts"
export * as Options from "./Options.ts"
export { InvalidOptionsError, ZeroWeightError } from "./Options.ts"
export * as Posterior from "./Posterior.ts"
export * as Progress from "./Progress.ts"
