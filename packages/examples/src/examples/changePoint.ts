/**
 * The British coal-mining disasters (explosions killing ten or more, per year, 1851–1962; Jarrett
 * 1979, the yearly counts as tabulated by Carlin, Gelfand & Smith 1992) under a Poisson
 * change-point model: an early rate e ~ Gamma(2, 1) and a late rate l ~ Gamma(2, 1), a change
 * year k ~ uniform on 1…111 (years 0…k−1 at rate e, k…111 at rate l), counts y_t ~ Poisson. The
 * rates are conjugate, so the exact posterior of k is a finite sum (written here). The change
 * point is discrete, so NUTS sums it out (`discrete: "sumOut"`, its default: given the rates,
 * the observations after k depend on k alone) and draws it from its exact conditional per kept
 * draw; single-site MH, which handles discrete sites directly, is the second sampler (k
 * redrawn from its prior: accepted rarely, so the chains are long and thinned; a random walk
 * k ± 3 mixes worse, as a chain started near 1950 stays in the local modes there). Summing out costs 111 runs of the 112 observations per
 * gradient (about 1.3 ms), so the NUTS run is short. `main` prints both summaries beside the
 * exact posterior. `Enumerate` does not apply: the rates are continuous. Run it with `pnpm example changePoint`.
 *
 * @since 0.2.0
 */
import { addr, DiscreteUniform, Gamma, observe, Poisson, sample, type Model } from "@fugue/core"
import { Diagnostics, Mh, Nuts, Posterior } from "@fugue/inference"

/**
 * Disasters per year, 1851 (index 0) to 1962 (index 111); 191 in all.
 *
 * @category models
 * @since 0.2.0
 */
export const disasters: ReadonlyArray<number> = [
  4, 5, 4, 1, 0, 4, 3, 4, 0, 6, 3, 3, 4, 0, 2, 6, 3, 3, 5, 4, 5, 3, 1, 4, 4, 1, 5, 5, 3, 4, 2, 5, 2, 2, 3, 4, 2, 1, 3, 2,
  2, 1, 1, 1, 1, 3, 0, 0, 1, 0, 1, 1, 0, 0, 3, 1, 0, 3, 2, 2, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 2, 1, 0, 0, 0, 1, 1, 0, 2,
  3, 3, 1, 1, 2, 1, 1, 1, 1, 2, 4, 2, 0, 0, 0, 1, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1
]

/** The first year. */
export const FIRST_YEAR = 1851

/** The rates' Gamma(shape, rate) prior. */
const SHAPE = 2, RATE = 1

/**
 * The model. The rates come before the change point, so that given them the observations
 * after it depend on it alone (what summing it out needs).
 *
 * @category models
 * @since 0.2.0
 */
export const changePoint = (ys: ReadonlyArray<number> = disasters): Model.Model<number> =>
  function*() {
    const early = yield* sample("early", Gamma(SHAPE, RATE))
    const late = yield* sample("late", Gamma(SHAPE, RATE))
    const k = yield* sample("k", DiscreteUniform(1, ys.length - 1))
    for (let t = 0; t < ys.length; t++) yield* observe(addr("y", t), Poisson(t < k ? early : late), ys[t]!)
    return k
  }

/**
 * The exact posterior: P(k | y) for k = 1…111 (index k − 1), and the posterior means of k and
 * of both rates.
 *
 * @category models
 * @since 0.2.0
 */
export interface Exact {
  readonly probabilities: ReadonlyArray<number>
  readonly k: number
  readonly early: number
  readonly late: number
}

/**
 * The exact posterior by conjugacy: with S₁ the count before k and S₂ after, integrating each
 * rate out of Gamma(a, b) × Poisson gives p(y | k) ∝ Γ(a + S₁)/(b + k)^(a+S₁) · Γ(a + S₂)/(b + n − k)^(a+S₂)
 * (the factors b^a/Γ(a) and 1/Π y_t! do not depend on k), and given k the rates are
 * Gamma(a + S₁, b + k) and Gamma(a + S₂, b + n − k), with means (a + S)/(b + years). a = 2 and the
 * S are integers, so log Γ(a + S) = log (1 + S)! is a plain sum.
 *
 * @example
 * exact().k // ≈ 39.9: the change around 1890
 *
 * @category constructors
 * @since 0.2.0
 */
export const exact = (ys: ReadonlyArray<number> = disasters): Exact => {
  const n = ys.length, total = ys.reduce((a, b) => a + b, 0)
  const logFactorial = (m: number): number => {
    let s = 0
    for (let i = 2; i <= m; i++) s += Math.log(i)
    return s
  }
  const logW: Array<number> = [], earlyMeans: Array<number> = [], lateMeans: Array<number> = []
  let before = 0
  for (let k = 1; k < n; k++) {
    before += ys[k - 1]!
    const after = total - before
    logW.push(logFactorial(SHAPE - 1 + before) - (SHAPE + before) * Math.log(RATE + k) + logFactorial(SHAPE - 1 + after) - (SHAPE + after) * Math.log(RATE + n - k))
    earlyMeans.push((SHAPE + before) / (RATE + k))
    lateMeans.push((SHAPE + after) / (RATE + n - k))
  }
  const top = Math.max(...logW)
  const w = logW.map((l) => Math.exp(l - top))
  const z = w.reduce((a, b) => a + b, 0)
  const probabilities = w.map((x) => x / z)
  const expect = (f: (i: number) => number) => probabilities.reduce((s, p, i) => s + p * f(i), 0)
  return { probabilities, k: expect((i) => i + 1), early: expect((i) => earlyMeans[i]!), late: expect((i) => lateMeans[i]!) }
}

/**
 * NUTS (k summed out; 2 chains × (300 warm-up + `samples` draws, default 300)) and MH (4 chains
 * × 12 000 iterations thinned by 4 after 2 000 warm-up; about 25 µs an iteration)
 * from `seed`.
 *
 * @example
 * const { nuts, mh } = fit(1) // Posterior.mean(nuts, "k") ≈ 39.9
 *
 * @category constructors
 * @since 0.2.0
 */
export const fit = (seed: number, options: { readonly samples?: number } = {}) => {
  const model = changePoint()
  const nuts = Nuts.runUnsafe(model, { samples: options.samples ?? 300, warmup: 300, chains: 2, seed })
  const mh = Mh.runUnsafe(model, { samples: 3000, warmup: 2000, thin: 4, chains: 4, seed })
  return { nuts, mh }
}

/**
 * Prints both samplers' summaries and the posterior of the change year beside the exact one.
 *
 * @category constructors
 * @since 0.2.0
 */
export const main = async (): Promise<void> => {
  console.log(`British coal-mining disasters ${FIRST_YEAR}–${FIRST_YEAR + disasters.length - 1} (${disasters.reduce((a, b) => a + b, 0)} in all): early, late ~ Gamma(2, 1), change year k ~ U{1…111}, y_t ~ Poisson(t < k ? early : late)\n`)
  const truth = exact()
  const { nuts, mh } = fit(1)
  console.log("NUTS, k summed out (drawn from its exact conditional per draw), 2 chains × 300 draws:")
  console.log(Diagnostics.report(nuts))
  console.log("\nMH (single-site, k redrawn from its prior), 4 chains × 3000 draws, thinned by 4:")
  console.log(Diagnostics.report(mh))
  console.log(`\nexact: E[k] = ${truth.k.toFixed(3)} (year ${(FIRST_YEAR + truth.k).toFixed(1)}), E[early] = ${truth.early.toFixed(4)}, E[late] = ${truth.late.toFixed(4)}`)
  const share = (post: Posterior.Posterior<unknown>, k: number) => {
    const draws = Posterior.pooled(post, "k")
    return draws.filter((x) => x === k).length / draws.length
  }
  console.log(`\n${"year".padEnd(6)} ${"exact".padStart(7)} ${"NUTS".padStart(7)} ${"MH".padStart(7)}   P(change at that year | y)`)
  truth.probabilities.forEach((p, i) => {
    if (p > 0.02) console.log(`${String(FIRST_YEAR + i + 1).padEnd(6)} ${p.toFixed(4).padStart(7)} ${share(nuts, i + 1).toFixed(4).padStart(7)} ${share(mh, i + 1).toFixed(4).padStart(7)}`)
  })
}
