/**
 * A two-state hidden Markov model with Gaussian emissions on posteriordb's `hmm_example` data
 * (100 observations, copied into `data/hmm_example.json`), with its parameters fixed so the
 * answer is exact: z_0 ~ Categorical(½, ½), z_t | z_{t−1} stays with probability 0.9,
 * y_t | z_t ~ N(mu_{z_t}, 2.5) with mu = (3, 9) (the data's two levels: the points below 6 average
 * 3.02, those above 8.81, with 11 switches in 99 steps). The emission sd is deliberately wider
 * than the data's (about 0.9): at sd 1 every filtering probability is within 0.01 of 0 or 1, and
 * a check of them would check nothing; at 2.5 the state is in doubt at dozens of steps. Written
 * with `unfold`, so `Smc` runs it on its linear-cost engine; the forward algorithm, written here,
 * gives the exact log evidence and the filtering marginals P(z_t | y_0…y_t), which `main` prints
 * beside SMC's. Run it with `pnpm example hmm`.
 *
 * @since 0.2.0
 */
import { Categorical, Normal, observe, sample, unfold, type Model } from "@fugue/core"
import { Posterior, Smc } from "@fugue/inference"
import data from "../../data/hmm_example.json" with { type: "json" }

/**
 * The fixed parameters: initial distribution, transition matrix (rows: from), emission means and sd.
 *
 * @category models
 * @since 0.2.0
 */
export const parameters = {
  initial: [0.5, 0.5],
  transition: [[0.9, 0.1], [0.1, 0.9]],
  means: [3, 9],
  sd: 2.5
} as const

/** The state before step 0 (none yet): step 0 draws from the initial distribution. */
const NONE = -1

/** One step: the hidden state given the previous one, then its observation. */
function* step(prev: number, t: number, ys: ReadonlyArray<number>) {
  const z = yield* sample("z", Categorical(prev === NONE ? parameters.initial : parameters.transition[prev]!))
  yield* observe("y", Normal(parameters.means[z]!, parameters.sd), ys[t]!)
  return z
}

/**
 * The HMM over `ys` as an `unfold` state-space model: step t's state is at "h#t/z".
 *
 * @category models
 * @since 0.2.0
 */
export const hmm = (ys: ReadonlyArray<number> = data.y): Model.Model<Array<number>> =>
  unfold("h", ys.length, NONE, (prev, t) => () => step(prev, t, ys))

/**
 * The forward algorithm: the exact log evidence log p(y_0…y_{T−1}) and the filtering
 * probabilities P(z_t = 1 | y_0…y_t) per step (normalised at each step, so nothing underflows).
 *
 * @example
 * forward().logEvidence // ≈ −171
 *
 * @category constructors
 * @since 0.2.0
 */
export const forward = (ys: ReadonlyArray<number> = data.y): { readonly logEvidence: number; readonly filtering: ReadonlyArray<number> } => {
  const emission = (k: number, y: number) => Math.exp(Normal(parameters.means[k]!, parameters.sd).logProb(y))
  let alpha: Array<number> = [...parameters.initial]
  let logEvidence = 0
  const filtering: Array<number> = []
  for (let t = 0; t < ys.length; t++) {
    const predicted = t === 0 ? alpha : [0, 1].map((k) => alpha[0]! * parameters.transition[0]![k]! + alpha[1]! * parameters.transition[1]![k]!)
    const joint = predicted.map((p, k) => p * emission(k, ys[t]!))
    const c = joint[0]! + joint[1]!
    logEvidence += Math.log(c)
    alpha = joint.map((j) => j / c)
    filtering.push(alpha[1]!)
  }
  return { logEvidence, filtering }
}

/**
 * SMC (bootstrap proposals from the transition, systematic resampling when ESS < N/2) with
 * `particles` particles from `seed` on the first `steps` observations: its log evidence, its
 * estimate of P(z_{steps−1} = 1 | y_0…y_{steps−1}) (the weighted final particles: the filtering
 * marginal of the last step) and the run's stats.
 *
 * @example
 * const { logEvidence, finalState } = filter(1) // near forward()'s
 *
 * @category constructors
 * @since 0.2.0
 */
export const filter = (seed: number, options: { readonly steps?: number; readonly particles?: number } = {}) => {
  const steps = options.steps ?? data.y.length
  const post = Smc.runUnsafe(hmm(data.y.slice(0, steps)), { particles: options.particles ?? 1000, seed })
  return { logEvidence: post.logEvidence![0]!, finalState: Posterior.mean(post, `h#${steps - 1}/z`), stats: Smc.stats(post) }
}

/**
 * The step whose filtering marginal is most in doubt (nearest ½).
 *
 * @category constructors
 * @since 0.2.0
 */
export const mostUncertainStep = (): number => {
  const { filtering } = forward()
  let best = 0
  filtering.forEach((p, t) => {
    if (Math.abs(p - 0.5) < Math.abs(filtering[best]! - 0.5)) best = t
  })
  return best
}

/**
 * Prints SMC's log evidence and final-state marginal over a few seeds beside the forward
 * algorithm's.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  console.log(`Two-state Gaussian HMM (posteriordb hmm_example, T = ${data.y.length}): stay 0.9, means ${parameters.means.join(", ")}, sd ${parameters.sd}`)
  const exact = forward()
  console.log(`forward algorithm: log p(y) = ${exact.logEvidence.toFixed(4)}, P(z_T = 1 | y) = ${exact.filtering[exact.filtering.length - 1]!.toFixed(4)}`)
  const path = exact.filtering.map((p) => (p > 0.5 ? "1" : "0")).join("")
  console.log(`filtered states (P > ½): ${path}\n`)
  console.log("SMC (unfold engine), 1000 particles, all 100 steps:")
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = filter(seed)
    console.log(`  seed ${seed}: log p(y) ≈ ${r.logEvidence.toFixed(4)} (error ${(r.logEvidence - exact.logEvidence).toFixed(4)}), P(z_T = 1 | y) ≈ ${r.finalState.toFixed(4)}; ${r.stats.resamplings} resamplings, engine ${r.stats.engine}`)
  }
  const t = mostUncertainStep(), prefix = forward(data.y.slice(0, t + 1))
  console.log(`\nthe most uncertain step is t = ${t} (y_t = ${data.y[t]!.toFixed(3)}): on y_0…y_${t}, forward log p = ${prefix.logEvidence.toFixed(4)}, P(z_${t} = 1 | y_0…y_${t}) = ${prefix.filtering[t]!.toFixed(4)}`)
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = filter(seed, { steps: t + 1 })
    console.log(`  seed ${seed}: log p ≈ ${r.logEvidence.toFixed(4)}, P(z_${t} = 1 | y_0…y_${t}) ≈ ${r.finalState.toFixed(4)}`)
  }
}
