/**
 * Resampling schemes for particle methods. Each scheme takes normalised weights w (length m),
 * a number of offspring n and a random source, and returns n ancestor indices in ascending
 * order. All four are unbiased: the expected number of copies of particle i is n·wᵢ. They
 * differ in the variance of those counts: multinomial is the baseline (Var = n·wᵢ(1 − wᵢ));
 * stratified, systematic and residual never exceed it, and systematic — one uniform for all
 * n points — gives each particle ⌊n·wᵢ⌋ or ⌈n·wᵢ⌉ copies. SMC uses systematic by default.
 *
 * @since 0.1.0
 */
import type { Rng } from "@fugue/core/Rng"
import { InvalidOptionsError, nonNegativeInteger } from "./Options.ts"

/**
 * A resampling function: weights (normalised), number of offspring, random source →
 * ancestor indices.
 *
 * @example
 * const resample: Resampler = Resampling.systematic
 * resample(new Float64Array([0.5, 0.5]), 4, Rng.make(1)) // Int32Array [0, 0, 1, 1]
 *
 * @category models
 * @since 0.1.0
 */
export type Resampler = (weights: Float64Array, n: number, rng: Rng) => Int32Array

/**
 * The names of the schemes.
 *
 * @example
 * const scheme: Scheme = "residual"
 *
 * @category models
 * @since 0.1.0
 */
export type Scheme = "multinomial" | "systematic" | "stratified" | "residual"

/**
 * Every scheme's name, for option checking.
 *
 * @example
 * Resampling.schemeNames.includes("systematic") // true
 *
 * @category constructors
 * @since 0.1.0
 */
export const schemeNames: ReadonlyArray<Scheme> = ["multinomial", "systematic", "stratified", "residual"]

// Checks the weights (finite, ≥ 0, positive total) and n; returns the total and the index of
// the last positive weight (the walk never lands on a zero-weight particle, even when
// rounding puts a point at the very end of the CDF).
const check = (scheme: string, weights: Float64Array, n: number): { total: number; last: number } => {
  nonNegativeInteger(`Resampling.${scheme}`, "n", n)
  let total = 0
  let last = -1
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]
    if (!(w >= 0 && w < Infinity)) {
      throw new InvalidOptionsError({
        algorithm: `Resampling.${scheme}`,
        option: `weights[${i}]`,
        value: w,
        reason: "weights must be finite and >= 0"
      })
    }
    if (w > 0) last = i
    total += w
  }
  if (!(total > 0) && n > 0) {
    throw new InvalidOptionsError({
      algorithm: `Resampling.${scheme}`,
      option: "weights",
      value: `[${weights.length} weights summing to ${total}]`,
      reason: "the weights must have a positive total"
    })
  }
  return { total, last }
}

// Assigns sorted points (already scaled to [0, total)) to CDF intervals: point p goes to the
// first i with w₀ + … + wᵢ ≥ p, capped at the last positive weight.
const walk = (weights: Float64Array, last: number, points: Float64Array, out: Int32Array): Int32Array => {
  let i = 0
  let cum = weights[0]
  for (let k = 0; k < points.length; k++) {
    const p = points[k]
    while (cum < p && i < last) cum += weights[++i]
    out[k] = i
  }
  return out
}

/**
 * Multinomial resampling: n independent draws from the categorical distribution w.
 *
 * **Details**: n uniforms are drawn, sorted, and mapped through the CDF in one pass
 * (O(n log n)). The offspring counts are Multinomial(n, w): Var = n·wᵢ(1 − wᵢ).
 *
 * @example
 * Resampling.multinomial(new Float64Array([0.2, 0.8]), 5, Rng.make(1))
 *
 * @category constructors
 * @since 0.1.0
 */
export const multinomial: Resampler = (weights, n, rng) => {
  const { last, total } = check("multinomial", weights, n)
  const points = new Float64Array(n)
  for (let k = 0; k < n; k++) points[k] = rng.uniform() * total
  points.sort()
  return walk(weights, last, points, new Int32Array(n))
}

/**
 * Systematic resampling (Kitagawa 1996): one uniform u, points (k + u)/n for k = 0 … n−1.
 *
 * **Details**: particle i gets ⌊n·wᵢ⌋ or ⌈n·wᵢ⌉ copies, so Var(countᵢ) = fᵢ(1 − fᵢ) with fᵢ the
 * fractional part of n·wᵢ, at most n·wᵢ(1 − wᵢ) (multinomial's). Uses exactly one uniform.
 *
 * @example
 * Resampling.systematic(new Float64Array([0.25, 0.75]), 4, Rng.make(1)) // [0, 1, 1, 1]
 *
 * @category constructors
 * @since 0.1.0
 */
export const systematic: Resampler = (weights, n, rng) => {
  const { last, total } = check("systematic", weights, n)
  const points = new Float64Array(n)
  if (n === 0) return new Int32Array(0)
  const u = rng.uniform()
  const step = total / n
  for (let k = 0; k < n; k++) points[k] = (k + u) * step
  return walk(weights, last, points, new Int32Array(n))
}

/**
 * Stratified resampling (Kitagawa 1996): one uniform per stratum, points (k + Uₖ)/n.
 *
 * **Details**: unbiased, with Var(countᵢ) ≤ n·wᵢ(1 − wᵢ); uses n uniforms.
 *
 * @example
 * Resampling.stratified(new Float64Array([0.25, 0.75]), 4, Rng.make(1))
 *
 * @category constructors
 * @since 0.1.0
 */
export const stratified: Resampler = (weights, n, rng) => {
  const { last, total } = check("stratified", weights, n)
  const points = new Float64Array(n)
  const step = total / n
  for (let k = 0; k < n; k++) points[k] = (k + rng.uniform()) * step
  return walk(weights, last, points, new Int32Array(n))
}

/**
 * Residual resampling (Liu & Chen 1998): ⌊n·wᵢ⌋ copies of each particle deterministically, the
 * remaining R = n − Σ⌊n·wᵢ⌋ drawn multinomially from the residual weights n·wᵢ − ⌊n·wᵢ⌋.
 *
 * **Details**: unbiased; Var(countᵢ) = R·rᵢ(1 − rᵢ) with rᵢ the normalised residual weight,
 * at most multinomial's n·wᵢ(1 − wᵢ). Uses R uniforms.
 *
 * @example
 * Resampling.residual(new Float64Array([0.3, 0.7]), 10, Rng.make(1)) // [0, 0, 0, 1, …, 1]
 *
 * @category constructors
 * @since 0.1.0
 */
export const residual: Resampler = (weights, n, rng) => {
  const { total } = check("residual", weights, n)
  const m = weights.length
  const counts = new Int32Array(m)
  const rest = new Float64Array(m)
  let assigned = 0
  let lastRest = -1
  let restTotal = 0
  for (let i = 0; i < m; i++) {
    const expected = (n * weights[i]) / total
    const whole = Math.floor(expected)
    counts[i] = whole
    assigned += whole
    rest[i] = expected - whole
    if (rest[i] > 0) lastRest = i
    restTotal += rest[i]
  }
  const remaining = n - assigned
  if (remaining > 0) {
    if (lastRest < 0) {
      // Only rounding can leave copies unassigned with no residual mass: give them to the heaviest.
      let j = 0
      for (let i = 1; i < m; i++) if (weights[i] > weights[j]) j = i
      counts[j] += remaining
    } else {
      const points = new Float64Array(remaining)
      for (let k = 0; k < remaining; k++) points[k] = rng.uniform() * restTotal
      points.sort()
      const drawn = walk(rest, lastRest, points, new Int32Array(remaining))
      for (let k = 0; k < remaining; k++) counts[drawn[k]]++
    }
  }
  const out = new Int32Array(n)
  for (let i = 0, k = 0; i < m; i++) for (let c = 0; c < counts[i]; c++) out[k++] = i
  return out
}

/**
 * The resampler for a scheme name.
 *
 * @example
 * Resampling.get("stratified")(weights, n, rng)
 *
 * @category getters
 * @since 0.1.0
 */
export const get = (scheme: Scheme): Resampler => {
  switch (scheme) {
    case "multinomial":
      return multinomial
    case "systematic":
      return systematic
    case "stratified":
      return stratified
    case "residual":
      return residual
  }
}

/**
 * The offspring counts of ancestor indices: counts[i] = how many times i appears.
 *
 * @example
 * Resampling.offspring(new Int32Array([0, 0, 2]), 3) // Int32Array [2, 0, 1]
 *
 * @category getters
 * @since 0.1.0
 */
export const offspring = (ancestors: Int32Array, m: number): Int32Array => {
  const counts = new Int32Array(m)
  for (let k = 0; k < ancestors.length; k++) counts[ancestors[k]]++
  return counts
}
