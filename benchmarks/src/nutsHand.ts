/**
 * Hand-written Hamiltonian samplers on a hand-written log density and gradient: the physical
 * limit the NUTS suite (`nuts.ts`) measures `Nuts.runUnsafe` against. No adaptation, no model,
 * no trace, no per-draw bookkeeping beyond storing the position: a fixed step size ε and a fixed
 * diagonal inverse metric M⁻¹ (the ones our warm-up adapted), so what is left is the leapfrog
 * integrator and, for NUTS, the tree. `staticHmc` is Neal's (2011) HMC with L leapfrog steps
 * and a Metropolis accept; `nuts` is the multinomial no-U-turn transition with the generalised
 * criterion and the checks across merged subtrees, written after Stan's `base_nuts`
 * (Betancourt 2017, arXiv:1701.02434, §A.4), so its work per leapfrog step is the work our
 * sampler does.
 *
 * Both use a kinetic energy ½ pᵀ M⁻¹ p with p ~ N(0, M) and one gradient evaluation per
 * leapfrog step (the force at the chain's position is kept from the previous transition).
 *
 * @since 0.2.0
 */
import * as Rng from "@fugue/core/Rng"
import type { DensityGradient } from "./gradientModels.ts"

/**
 * Options of the hand-written samplers.
 *
 * @example
 * const options: HandOptions = { dimension: 10, stepSize: 0.4, iterations: 1000, initial, seed: 1 }
 *
 * @category models
 * @since 0.2.0
 */
export interface HandOptions {
  readonly dimension: number
  readonly stepSize: number
  /** Transitions; every one is kept. */
  readonly iterations: number
  /** The starting position (finite log density). */
  readonly initial: Float64Array
  readonly seed: number
  /** The diagonal of M⁻¹ (default all ones: the unit metric). */
  readonly inverseMetric?: Float64Array | undefined
}

/**
 * What a hand-written run returns: the kept positions (iteration-major, `iterations × dimension`),
 * how many gradients it evaluated, and its mean acceptance statistic.
 *
 * @example
 * const { draws, gradientEvaluations } = staticHmc(target, options, 10)
 *
 * @category models
 * @since 0.2.0
 */
export interface HandResult {
  readonly draws: Float64Array
  readonly gradientEvaluations: number
  readonly meanAcceptStat: number
  /** NUTS only: mean tree depth (0 for static HMC). */
  readonly meanTreeDepth: number
  readonly divergences: number
}

/** Energy error above which a trajectory diverges (Stan's max_deltaH). */
const MAX_DELTA_H = 1000

/** The chain's state: position, momentum, force ∇ log p, log p. */
class Phase {
  readonly q: Float64Array
  readonly p: Float64Array
  readonly g: Float64Array
  lp = -Infinity
  constructor(d: number) {
    this.q = new Float64Array(d)
    this.p = new Float64Array(d)
    this.g = new Float64Array(d)
  }
  copyFrom(o: Phase): void {
    this.q.set(o.q)
    this.p.set(o.p)
    this.g.set(o.g)
    this.lp = o.lp
  }
  /** Position, force and log density, not the momentum (what a selected draw needs). */
  copyPosition(o: Phase): void {
    this.q.set(o.q)
    this.g.set(o.g)
    this.lp = o.lp
  }
}

/** The parts both samplers share: the metric, the integrator, the Hamiltonian. */
class Integrator {
  readonly d: number
  readonly target: DensityGradient
  readonly minv: Float64Array
  readonly sqrtMinv: Float64Array
  readonly rng: Rng.Rng
  readonly epsilon: number
  gradients = 0
  constructor(target: DensityGradient, options: HandOptions) {
    const d = options.dimension
    this.d = d
    this.target = target
    this.minv = options.inverseMetric === undefined ? new Float64Array(d).fill(1) : Float64Array.from(options.inverseMetric)
    this.sqrtMinv = this.minv.map(Math.sqrt)
    this.rng = Rng.streams(options.seed, 1)[0]
    this.epsilon = options.stepSize
  }

  /** p ~ N(0, M): p_i = u_i / √(M⁻¹)_ii. */
  momentum(z: Phase): void {
    const p = z.p, s = this.sqrtMinv, rng = this.rng
    for (let i = 0; i < this.d; i++) p[i] = rng.normal() / s[i]
  }

  /** H = −log p(q) + ½ Σ M⁻¹_ii p_i²; NaN counts as +∞. */
  hamiltonian(z: Phase): number {
    const p = z.p, m = this.minv
    let k = 0
    for (let i = 0; i < this.d; i++) k += m[i] * p[i] * p[i]
    const h = -z.lp + 0.5 * k
    return h === h ? h : Infinity
  }

  /**
   * One leapfrog step of `epsilon` (signed): half kick, drift, one gradient, half kick. Returns
   * the Hamiltonian at the new point (its kinetic energy summed in the last kick's loop).
   */
  leapfrog(z: Phase, epsilon: number): number {
    const d = this.d, q = z.q, p = z.p, g = z.g, m = this.minv
    const half = 0.5 * epsilon
    for (let i = 0; i < d; i++) {
      const pi = p[i] + half * g[i]
      p[i] = pi
      q[i] += epsilon * m[i] * pi
    }
    this.gradients++
    const lp = this.target(q, g)
    z.lp = lp
    let k = 0
    for (let i = 0; i < d; i++) {
      const pi = p[i] + half * g[i]
      p[i] = pi
      k += m[i] * pi * pi
    }
    const h = 0.5 * k - lp
    return h === h ? h : Infinity
  }

  /** p♯₋·ρ > 0 ∧ p♯₊·ρ > 0 with p♯ = M⁻¹ p (the generalised no-U-turn criterion). */
  criterion(pMinus: Float64Array, pPlus: Float64Array, rho: Float64Array): boolean {
    const m = this.minv
    let a = 0, b = 0
    for (let i = 0; i < this.d; i++) {
      const r = m[i] * rho[i]
      a += pMinus[i] * r
      b += pPlus[i] * r
    }
    return a > 0 && b > 0
  }
}

/**
 * Static HMC (Neal 2011, §5.3.2): `iterations` transitions of `steps` leapfrog steps of
 * ε = `stepSize`, each accepted with probability min(1, e^(H₀ − H)); a trajectory whose energy
 * error passes 1000 stops and is rejected, as in Stan's `base_static_hmc`.
 *
 * @example
 * const { draws } = staticHmc(eightSchoolsNonCentredHand(data), { dimension: 10, stepSize: 0.4, iterations: 1000, initial, seed: 1 }, 7)
 *
 * @category constructors
 * @since 0.2.0
 */
export const staticHmc = (target: DensityGradient, options: HandOptions, steps: number): HandResult => {
  const it = new Integrator(target, options)
  const d = it.d, rng = it.rng
  const current = new Phase(d), z = new Phase(d)
  current.q.set(options.initial)
  current.lp = target(current.q, current.g)
  it.gradients++
  const draws = new Float64Array(options.iterations * d)
  let sumAccept = 0, divergences = 0
  for (let n = 0; n < options.iterations; n++) {
    z.copyFrom(current)
    it.momentum(z)
    const h0 = it.hamiltonian(z)
    let h = h0
    let divergent = false
    for (let s = 0; s < steps; s++) {
      h = it.leapfrog(z, it.epsilon)
      if (h - h0 > MAX_DELTA_H) {
        divergent = true
        break
      }
    }
    const accept = divergent ? 0 : h0 - h >= 0 ? 1 : Math.exp(h0 - h)
    if (divergent) divergences++
    sumAccept += accept
    if (!divergent && rng.uniform() < accept) current.copyFrom(z)
    draws.set(current.q, n * d)
  }
  return { draws, gradientEvaluations: it.gradients, meanAcceptStat: sumAccept / options.iterations, meanTreeDepth: 0, divergences }
}

/** Per-depth scratch of the tree recursion (Stan's build_tree locals). */
class Level {
  readonly propose: Phase
  readonly rhoInit: Float64Array
  readonly rhoFinal: Float64Array
  readonly pInitEnd: Float64Array
  readonly pFinalBeg: Float64Array
  constructor(d: number) {
    this.propose = new Phase(d)
    this.rhoInit = new Float64Array(d)
    this.rhoFinal = new Float64Array(d)
    this.pInitEnd = new Float64Array(d)
    this.pFinalBeg = new Float64Array(d)
  }
}

/**
 * The multinomial NUTS transition over one integrator (state between transitions: `current`).
 * Two liberties against Stan's code, both exact: a subtree writes its momentum sum ρ instead of
 * adding to a zeroed one, and the multinomial weights e^(H₀ − H) are kept as plain numbers, not
 * logarithms (the one `exp` per step is the one the acceptance statistic needs anyway; a weight
 * under e^−745 underflows to 0, against the starting point's weight 1, where the log form gives
 * e^−745 — the same draw but for probability below 10^−323).
 */
class Tree {
  readonly it: Integrator
  readonly current: Phase
  private readonly z: Phase
  private readonly fwd: Phase
  private readonly bck: Phase
  private readonly sample: Phase
  private readonly propose: Phase
  private readonly levels: Array<Level> = []
  private readonly rho: Float64Array
  private readonly rhoFwd: Float64Array
  private readonly rhoBck: Float64Array
  private readonly ext: Float64Array
  private readonly pFwdFwd: Float64Array
  private readonly pFwdBck: Float64Array
  private readonly pBckFwd: Float64Array
  private readonly pBckBck: Float64Array
  private h0 = 0
  sumMetroProb = 0
  divergent = false
  constructor(it: Integrator, maxTreeDepth: number) {
    const d = it.d
    this.it = it
    const vec = (): Float64Array => new Float64Array(d)
    this.current = new Phase(d)
    this.z = new Phase(d)
    this.fwd = new Phase(d)
    this.bck = new Phase(d)
    this.sample = new Phase(d)
    this.propose = new Phase(d)
    for (let k = 0; k <= maxTreeDepth; k++) this.levels.push(new Level(d))
    this.rho = vec()
    this.rhoFwd = vec()
    this.rhoBck = vec()
    this.ext = vec()
    this.pFwdFwd = vec()
    this.pFwdBck = vec()
    this.pBckFwd = vec()
    this.pBckBck = vec()
  }

  /** One transition; returns the tree depth. */
  transition(maxTreeDepth: number): number {
    const it = this.it, d = it.d, rng = it.rng, z = this.z
    z.copyFrom(this.current)
    it.momentum(z)
    this.fwd.copyFrom(z)
    this.bck.copyFrom(z)
    this.sample.copyPosition(z)
    this.pFwdFwd.set(z.p)
    this.pFwdBck.set(z.p)
    this.pBckFwd.set(z.p)
    this.pBckBck.set(z.p)
    this.rho.set(z.p)
    this.h0 = it.hamiltonian(z)
    this.sumMetroProb = 0
    this.divergent = false
    let sumWeight = 1
    let depth = 0
    while (depth < maxTreeDepth) {
      let weight: number
      if (rng.uniform() > 0.5) {
        z.copyFrom(this.fwd)
        this.rhoBck.set(this.rho)
        this.pBckFwd.set(this.pFwdBck)
        weight = this.build(depth, this.propose, this.pFwdBck, this.pFwdFwd, this.rhoFwd, 1)
        this.fwd.copyFrom(z)
      } else {
        z.copyFrom(this.bck)
        this.rhoFwd.set(this.rho)
        this.pFwdBck.set(this.pBckFwd)
        weight = this.build(depth, this.propose, this.pBckFwd, this.pBckBck, this.rhoBck, -1)
        this.bck.copyFrom(z)
      }
      if (weight < 0) break
      depth++
      // biased progressive sampling at the top level
      if (weight > sumWeight || rng.uniform() * sumWeight < weight) this.sample.copyPosition(this.propose)
      sumWeight += weight
      const rho = this.rho, ext = this.ext
      for (let i = 0; i < d; i++) rho[i] = this.rhoBck[i] + this.rhoFwd[i]
      let persist = it.criterion(this.pBckBck, this.pFwdFwd, rho)
      for (let i = 0; i < d; i++) ext[i] = this.rhoBck[i] + this.pFwdBck[i]
      persist = persist && it.criterion(this.pBckBck, this.pFwdBck, ext)
      for (let i = 0; i < d; i++) ext[i] = this.rhoFwd[i] + this.pBckFwd[i]
      persist = persist && it.criterion(this.pBckFwd, this.pFwdFwd, ext)
      if (!persist) break
    }
    this.current.copyPosition(this.sample)
    return depth
  }

  /**
   * A subtree of 2^depth steps from `z`: writes its proposal, end momenta and momentum sum `rho`;
   * returns its sum of weights, or −1 if it is invalid (a divergence, or a U-turn inside it).
   */
  private build(depth: number, propose: Phase, pBeg: Float64Array, pEnd: Float64Array, rho: Float64Array, sign: number): number {
    const it = this.it, d = it.d
    if (depth === 0) {
      const z = this.z
      const delta = this.h0 - it.leapfrog(z, sign * it.epsilon)
      if (!(-delta <= MAX_DELTA_H)) {
        this.divergent = true
        return -1
      }
      const weight = Math.exp(delta)
      this.sumMetroProb += weight > 1 ? 1 : weight
      propose.copyPosition(z)
      rho.set(z.p)
      pBeg.set(z.p)
      pEnd.set(z.p)
      return weight
    }
    const level = this.levels[depth]
    const rhoInit = level.rhoInit, rhoFinal = level.rhoFinal, ext = this.ext
    const wInit = this.build(depth - 1, propose, pBeg, level.pInitEnd, rhoInit, sign)
    if (wInit < 0) return -1
    const wFinal = this.build(depth - 1, level.propose, level.pFinalBeg, pEnd, rhoFinal, sign)
    if (wFinal < 0) return -1
    // uniform multinomial sampling within the subtree
    const wSubtree = wInit + wFinal
    if (it.rng.uniform() * wSubtree < wFinal) propose.copyPosition(level.propose)
    for (let i = 0; i < d; i++) rho[i] = rhoInit[i] + rhoFinal[i]
    let persist = it.criterion(pBeg, pEnd, rho)
    for (let i = 0; i < d; i++) ext[i] = rhoInit[i] + level.pFinalBeg[i]
    persist = persist && it.criterion(pBeg, level.pFinalBeg, ext)
    for (let i = 0; i < d; i++) ext[i] = rhoFinal[i] + level.pInitEnd[i]
    persist = persist && it.criterion(level.pInitEnd, pEnd, ext)
    return persist ? wSubtree : -1
  }
}

/**
 * Multinomial NUTS with a fixed step size and diagonal metric: `iterations` transitions, trees
 * of depth at most `maxTreeDepth` (default 10).
 *
 * @example
 * const { draws, gradientEvaluations } = nuts(eightSchoolsNonCentredHand(data), { dimension: 10, stepSize: 0.4, iterations: 1000, initial, seed: 1 })
 *
 * @category constructors
 * @since 0.2.0
 */
export const nuts = (target: DensityGradient, options: HandOptions, maxTreeDepth = 10): HandResult => {
  const it = new Integrator(target, options)
  const d = it.d
  const tree = new Tree(it, maxTreeDepth)
  tree.current.q.set(options.initial)
  tree.current.lp = target(tree.current.q, tree.current.g)
  it.gradients++
  const draws = new Float64Array(options.iterations * d)
  let sumAccept = 0, sumDepth = 0, divergences = 0
  for (let n = 0; n < options.iterations; n++) {
    const before = it.gradients
    sumDepth += tree.transition(maxTreeDepth)
    const steps = it.gradients - before
    sumAccept += steps > 0 ? tree.sumMetroProb / steps : 0
    if (tree.divergent) divergences++
    draws.set(tree.current.q, n * d)
  }
  return { draws, gradientEvaluations: it.gradients, meanAcceptStat: sumAccept / options.iterations, meanTreeDepth: sumDepth / options.iterations, divergences }
}

/**
 * What `leapfrogOnly` returns: the gradient evaluations, and the summed energy error |H − H₀|
 * at the trajectories' ends (the work's result, and what tests check the integrator by).
 *
 * @example
 * const { gradientEvaluations, energyError } = leapfrogOnly(target, options, 8)
 *
 * @category models
 * @since 0.2.0
 */
export interface LeapfrogResult {
  readonly gradientEvaluations: number
  readonly energyError: number
}

/**
 * The leapfrog integrator alone, the floor of any Hamiltonian sampler's work per step beyond the
 * gradient: `options.iterations` trajectories of `steps` steps of ε = `stepSize` (`Integrator`'s
 * `leapfrog`: the two half kicks, the drift, the kinetic energy), each from `options.initial`
 * with one momentum drawn before the first, so no momentum draws, no acceptance, no tree and no
 * recording. A trajectory that diverges stops, as a sampler's would.
 *
 * @example
 * const { gradientEvaluations } = leapfrogOnly(eightSchoolsNonCentredHand(data), { dimension: 10, stepSize: 0.4, iterations: 1000, initial, seed: 1 }, 8)
 *
 * @category constructors
 * @since 0.2.0
 */
export const leapfrogOnly = (target: DensityGradient, options: HandOptions, steps: number): LeapfrogResult => {
  const it = new Integrator(target, options)
  const start = new Phase(it.d), z = new Phase(it.d)
  start.q.set(options.initial)
  start.lp = target(start.q, start.g)
  it.gradients++
  it.momentum(start)
  const h0 = it.hamiltonian(start)
  let energyError = 0
  for (let n = 0; n < options.iterations; n++) {
    z.copyFrom(start)
    let h = h0
    for (let s = 0; s < steps; s++) {
      h = it.leapfrog(z, it.epsilon)
      if (!(h - h0 <= MAX_DELTA_H)) break
    }
    energyError += Math.abs(h - h0)
  }
  return { gradientEvaluations: it.gradients, energyError }
}

/**
 * Column `k` of iteration-major draws (`n × d`), as one chain for `Diagnostics`.
 *
 * @example
 * Diagnostics.essBulk([column(result.draws, 10, 0)])
 *
 * @category getters
 * @since 0.2.0
 */
export const column = (draws: Float64Array, d: number, k: number): Float64Array => {
  const n = draws.length / d
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = draws[i * d + k]
  return out
}
