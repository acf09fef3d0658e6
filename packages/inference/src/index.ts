/**
 * @fugue/inference: MCMC (NUTS, HMC, MH), variational inference, MAP and Laplace, importance
 * sampling, SMC and tempered SMC, ABC, exact enumeration, log densities and gradients,
 * diagnostics, posterior containers and their export (ArviZ, CSV, lossless JSON).
 *
 * @since 0.1.0
 */
export * as Abc from "./Abc.ts"
export * as Diagnostics from "./Diagnostics.ts"
export * as Distributed from "./Distributed.ts"
export * as Enumerate from "./Enumerate.ts"
export * as Export from "./Export.ts"
export * as Hmc from "./Hmc.ts"
export * as Is from "./Is.ts"
export * as LogDensity from "./LogDensity.ts"
export * as Loo from "./Loo.ts"
export * as Mh from "./Mh.ts"
export * as Nuts from "./Nuts.ts"
export * as Options from "./Options.ts"
export { InvalidOptionsError, ZeroWeightError } from "./Options.ts"
export * as Posterior from "./Posterior.ts"
export * as Predictive from "./Predictive.ts"
export * as Progress from "./Progress.ts"
export * as Report from "./Report.ts"
export * as Resampling from "./Resampling.ts"
export * as Smc from "./Smc.ts"
export * as Tempered from "./Tempered.ts"
export * as Vi from "./Vi.ts"
export * as Workers from "./Workers.ts"
