// The two Hamiltonian samplers as `Kind`s of the one driver (hmcRun.ts): their names, their own
// option keys, and the transition each runs. Here, apart from the public modules, so that a worker
// thread can rebuild a run from its algorithm's name.
import { InvalidOptionsError, positiveInteger } from "../Options.ts"
import type { Hamiltonian } from "./hamiltonian.ts"
import * as Driver from "./hmcRun.ts"

/** Trajectories longer than this are cut (an integration time over a tiny step size). */
export const MAX_STEPS = 1024

export const NUTS: Driver.Kind = {
  algorithm: "NUTS",
  keys: [...Driver.COMMON_HMC_KEYS, "maxTreeDepth"],
  transition: () => (h: Hamiltonian) => h.nutsTransition()
}

export const HMC: Driver.Kind = {
  algorithm: "HMC",
  keys: [...Driver.COMMON_HMC_KEYS, "steps", "integrationTime"],
  transition: (options) => {
    const bad = (option: string, value: unknown, reason: string): never => {
      throw new InvalidOptionsError({ algorithm: "HMC", option, value, reason })
    }
    if (options.steps !== undefined && options.integrationTime !== undefined) bad("integrationTime", options.integrationTime, "give steps or integrationTime, not both")
    if (options.steps !== undefined) {
      const steps = positiveInteger("HMC", "steps", options.steps)
      if (steps > MAX_STEPS) bad("steps", steps, `must be at most ${MAX_STEPS}`)
      return (h: Hamiltonian) => h.staticTransition(steps)
    }
    const time = options.integrationTime === undefined ? 2 * Math.PI : options.integrationTime
    if (typeof time !== "number" || !(time > 0 && time < Infinity)) bad("integrationTime", time, "must be a finite number > 0")
    return (h: Hamiltonian) => h.staticTransition(Math.min(MAX_STEPS, Math.max(1, Math.floor((time as number) / h.stepSize))))
  }
}

/** The kind of a run by its algorithm's name. */
export const kindOf = (algorithm: string): Driver.Kind | undefined => (algorithm === "NUTS" ? NUTS : algorithm === "HMC" ? HMC : undefined)
