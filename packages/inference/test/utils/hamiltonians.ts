// Hamiltonians set up for the sampler's unit tests (test/Nuts.test.ts, test/Hamiltonian.test.ts).
import * as CoreRng from "@fugue/core/Rng"
import { Hamiltonian, Metric, type Target } from "../../src/internal/hamiltonian.ts"

/**
 * A stress of the leaf weights' bookkeeping, not a sampler of anything (the force is not −∇U):
 * a force 10× weaker than the density's, from q = 100. The potential falls by up to 5000 while
 * the weak force adds a tenth of that in kinetic energy, so leaves have δ = H0 − H far beyond
 * 600 and the subtrees' weights are shifted. The start is 100 sd out, not 60, so that the path
 * runs whatever the momentum stream: measured over seeds 0–9999, every one rescales at least one
 * leaf and merges at least one subtree in logs (from 60, 15 % of seeds never do). `wasm`: the
 * kernels to use (`Hamiltonian`'s own flag).
 */
export const rescalingStress = (wasm = true): Hamiltonian => {
  const weak: Target = {
    dimension: 1,
    logDensityGradient(q, g) {
      g[0] = -q[0]! / 10
      return -0.5 * q[0]! * q[0]!
    }
  }
  const h = new Hamiltonian(weak, new Metric("diag", 1), CoreRng.make(12), wasm)
  h.setPosition(new Float64Array([100]))
  h.stepSize = 0.9
  return h
}
