// The Hamiltonian samplers behind `Nuts` and `Hmc`: the Euclidean metric (unit, diagonal or
// dense), the leapfrog integrator, the multinomial no-U-turn transition with the generalised
// criterion, the static (fixed-length) transition, and the initial step-size heuristic. Written
// after Stan's `base_nuts`, `base_static_hmc` and `base_hmc::init_stepsize`
// (stan/src/stan/mcmc/hmc), so that the same warm-up schedule gives the same kind of chains:
//
// - Hoffman & Gelman (2014), "The No-U-Turn Sampler", JMLR 15 (the tree doubling, Algorithm 4's
//   step-size heuristic, dual averaging in adaptation.ts);
// - Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo", arXiv:1701.02434,
//   §A.4 (multinomial sampling of the trajectory, biased progressive sampling at the top level,
//   uniform within subtrees) and the generalised no-U-turn criterion p♯₋·ρ > 0 ∧ p♯₊·ρ > 0, with
//   the extra checks across merged subtrees that Stan added in 2.23 (stan-dev/stan#2800).
//
// Everything here works on preallocated Float64Arrays: a transition allocates nothing. The
// potential is −log density; `g` holds ∇ log density (the force), so a momentum half step is
// p += (ε/2)·g.
import type { Rng } from "@fugue/core/Rng"

/** The density as the samplers see it: the value at q, the gradient written into g. */
export interface Target {
  readonly dimension: number
  logDensityGradient(q: Float64Array, g: Float64Array): number
}

/** Energy error above which a trajectory diverges (Stan's max_deltaH). */
export const MAX_DELTA_H = 1000

/** A phase-space point with its density and force. */
export class Point {
  readonly q: Float64Array
  readonly p: Float64Array
  readonly g: Float64Array
  lp = -Infinity
  constructor(d: number) {
    this.q = new Float64Array(d)
    this.p = new Float64Array(d)
    this.g = new Float64Array(d)
  }
  copyFrom(o: Point): void {
    const q = this.q, p = this.p, g = this.g, oq = o.q, op = o.p, og = o.g
    for (let i = 0; i < q.length; i++) {
      q[i] = oq[i]!
      p[i] = op[i]!
      g[i] = og[i]!
    }
    this.lp = o.lp
  }
  /** The position, its force and density (not the momentum): what a proposal or a draw needs. */
  copyState(o: Point): void {
    const q = this.q, g = this.g, oq = o.q, og = o.g
    for (let i = 0; i < q.length; i++) {
      q[i] = oq[i]!
      g[i] = og[i]!
    }
    this.lp = o.lp
  }
}

/**
 * The Euclidean metric: kinetic energy ½ pᵀ M⁻¹ p. `inverse` holds M⁻¹ (its diagonal for
 * "diag" and "unit", row-major d×d for "dense"); for "dense", `cholesky` holds the lower factor L
 * of M⁻¹ = L Lᵀ, so a momentum p = L⁻ᵀ u, u ~ N(0, I), has covariance (L Lᵀ)⁻¹ = M. While M⁻¹ is
 * diagonal (always for "diag" and "unit"; for "dense" until the first estimate replaces the
 * identity) the integrator works with `diagonal`, its diagonal: O(d) per step instead of O(d²).
 */
export class Metric {
  readonly kind: "unit" | "diag" | "dense"
  readonly d: number
  readonly inverse: Float64Array
  readonly cholesky: Float64Array
  /** Whether M⁻¹ is diagonal now. */
  isDiagonal = true
  /** The diagonal of M⁻¹ (while `isDiagonal`). */
  readonly diagonal: Float64Array
  /** √ of the diagonal: a momentum is uᵢ / √(M⁻¹)ᵢᵢ. */
  private readonly sqrtDiagonal: Float64Array
  constructor(kind: "unit" | "diag" | "dense", d: number) {
    this.kind = kind
    this.d = d
    this.diagonal = new Float64Array(d).fill(1)
    this.sqrtDiagonal = new Float64Array(d).fill(1)
    if (kind === "dense") {
      this.inverse = new Float64Array(d * d)
      this.cholesky = new Float64Array(d * d)
      for (let i = 0; i < d; i++) this.inverse[i * d + i] = this.cholesky[i * d + i] = 1
    } else {
      this.inverse = this.diagonal
      this.cholesky = new Float64Array(0)
    }
  }

  /** Sets M⁻¹ (a diagonal of length d, or a row-major d×d matrix for "dense"); false if a dense one is not positive definite. */
  set(inverse: Float64Array): boolean {
    const d = this.d
    if (this.kind !== "dense") {
      for (let i = 0; i < d; i++) {
        this.diagonal[i] = inverse[i]!
        this.sqrtDiagonal[i] = Math.sqrt(inverse[i]!)
      }
      return true
    }
    // Cholesky–Banachiewicz, into a scratch copy first so a failure keeps the old metric
    const L = new Float64Array(d * d)
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = inverse[i * d + j]!
        for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!
        if (i === j) {
          if (!(s > 0)) return false
          L[i * d + i] = Math.sqrt(s)
        } else L[i * d + j] = s / L[j * d + j]!
      }
    }
    this.inverse.set(inverse)
    this.cholesky.set(L)
    this.isDiagonal = false
    return true
  }

  /** Draws p ~ N(0, M) into `p`. */
  sampleMomentum(rng: Rng, p: Float64Array): void {
    const d = this.d
    if (this.isDiagonal) {
      const s = this.sqrtDiagonal
      for (let i = 0; i < d; i++) p[i] = rng.normal() / s[i]!
      return
    }
    // solve Lᵀ p = u by back substitution
    const L = this.cholesky
    for (let i = 0; i < d; i++) p[i] = rng.normal()
    for (let i = d - 1; i >= 0; i--) {
      let s = p[i]!
      for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * p[k]!
      p[i] = s / L[i * d + i]!
    }
  }

  /** v = M⁻¹ p (the velocity, Betancourt's p♯). */
  velocity(p: Float64Array, v: Float64Array): void {
    const d = this.d
    if (this.isDiagonal) {
      const m = this.diagonal
      for (let i = 0; i < d; i++) v[i] = m[i]! * p[i]!
      return
    }
    const m = this.inverse
    for (let i = 0; i < d; i++) {
      let s = 0
      const row = i * d
      for (let j = 0; j < d; j++) s += m[row + j]! * p[j]!
      v[i] = s
    }
  }
}

/**
 * b ← a. A plain loop: `TypedArray.prototype.set` is a runtime call that costs some 50–100 ns on
 * short vectors, several times the copy itself (measured: 7 per leapfrog step were 60 % of the
 * sampler's time on eight schools).
 */
const copy = (a: Float64Array, b: Float64Array, d: number): void => {
  for (let i = 0; i < d; i++) b[i] = a[i]!
}

const zero = (a: Float64Array, d: number): void => {
  for (let i = 0; i < d; i++) a[i] = 0
}

const dot = (a: Float64Array, b: Float64Array, d: number): number => {
  let s = 0
  for (let i = 0; i < d; i++) s += a[i]! * b[i]!
  return s
}

const logAddExp = (a: number, b: number): number => {
  if (a === -Infinity) return b
  if (b === -Infinity) return a
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b))
}

/** Per-depth scratch of the tree recursion (Stan's build_tree locals). */
class Level {
  readonly pInitEnd: Float64Array
  readonly rhoInit: Float64Array
  readonly pFinalBeg: Float64Array
  readonly rhoFinal: Float64Array
  constructor(d: number) {
    this.pInitEnd = new Float64Array(d)
    this.rhoInit = new Float64Array(d)
    this.pFinalBeg = new Float64Array(d)
    this.rhoFinal = new Float64Array(d)
  }
}

/** What one transition did (Stan's sampler parameters). */
export class Transition {
  acceptStat = 0
  treeDepth = 0
  leapfrogSteps = 0
  diverging = false
  /** The Hamiltonian at the selected point. */
  energy = 0
}

/**
 * The integrator and both transitions over one target and metric. `current` is the chain's
 * state (position, its density and force); a transition replaces it with the selected point.
 */
export class Hamiltonian {
  readonly d: number
  readonly target: Target
  readonly metric: Metric
  readonly rng: Rng
  stepSize = 1
  maxTreeDepth = 10
  /** Gradient evaluations so far. */
  gradients = 0
  readonly current: Point
  readonly stats = new Transition()
  /** The moving end of the trajectory (`fwd` or `bck` in NUTS, a scratch point otherwise). */
  private z: Point
  private readonly scratch: Point
  private readonly v: Float64Array
  private readonly fwd: Point
  private readonly bck: Point
  private readonly propose: Point
  private readonly levels: Array<Level> = []
  private readonly rho: Float64Array
  private readonly rhoFwd: Float64Array
  private readonly rhoBck: Float64Array
  /** Scratch for the dense metric's criteria: ρ sums and their velocities. */
  private readonly sums: Array<Float64Array>
  private readonly pFwdFwd: Float64Array
  private readonly pFwdBck: Float64Array
  private readonly pBckFwd: Float64Array
  private readonly pBckBck: Float64Array
  // accumulators of one transition
  private H0 = 0
  private sumMetroProb = 0
  private divergent = false
  private proposeEnergy = 0
  /** The current subtree's summed leaf weights: Σ e^{δᵢ − shift}. */
  private subtreeWeight = 0
  private subtreeShift = 0
  private sampleEnergy = 0

  constructor(target: Target, metric: Metric, rng: Rng) {
    const d = target.dimension
    this.d = d
    this.target = target
    this.metric = metric
    this.rng = rng
    const vec = (): Float64Array => new Float64Array(d)
    this.current = new Point(d)
    this.scratch = new Point(d)
    this.z = this.scratch
    this.v = vec()
    this.fwd = new Point(d)
    this.bck = new Point(d)
    this.propose = new Point(d)
    this.rho = vec()
    this.rhoFwd = vec()
    this.rhoBck = vec()
    this.sums = [vec(), vec(), vec(), vec(), vec(), vec()]
    this.pFwdFwd = vec()
    this.pFwdBck = vec()
    this.pBckFwd = vec()
    this.pBckBck = vec()
  }

  /** Sets the chain's position; returns its log density (the force is written into `current.g`). */
  setPosition(q: Float64Array): number {
    this.current.q.set(q)
    this.gradients++
    this.current.lp = this.target.logDensityGradient(this.current.q, this.current.g)
    return this.current.lp
  }

  /** H at z (its velocity computed into the scratch velocity). */
  energyOf(z: Point): number {
    this.metric.velocity(z.p, this.v)
    return this.hamiltonian(z, this.v)
  }

  /** H = −log p(q) + ½ pᵀ M⁻¹ p, with v = M⁻¹ p already computed; NaN counts as +∞. */
  private hamiltonian(z: Point, v: Float64Array): number {
    const h = -z.lp + 0.5 * dot(z.p, v, this.d)
    return h === h ? h : Infinity
  }

  /**
   * One leapfrog step of z by `epsilon`, leaving the new velocity M⁻¹p in `this.v`; returns the
   * Hamiltonian at the new point (+∞ where the density, or the force, is not finite: the step
   * then counts as divergent). With a diagonal metric the velocity and the kinetic energy are
   * computed inside the momentum updates (one pass per half step).
   */
  leapfrog(z: Point, epsilon: number): number {
    const d = this.d, q = z.q, p = z.p, g = z.g, v = this.v
    const half = 0.5 * epsilon
    const metric = this.metric
    const dense = !metric.isDiagonal
    const m = metric.diagonal
    if (dense) {
      for (let i = 0; i < d; i++) p[i] = p[i]! + half * g[i]!
      metric.velocity(p, v)
      for (let i = 0; i < d; i++) q[i] = q[i]! + epsilon * v[i]!
    } else {
      for (let i = 0; i < d; i++) {
        const pi = p[i]! + half * g[i]!
        p[i] = pi
        q[i] = q[i]! + epsilon * m[i]! * pi
      }
    }
    this.gradients++
    const lp = this.target.logDensityGradient(q, g)
    z.lp = lp
    let finite = 0
    let kinetic = 0
    if (dense) {
      for (let i = 0; i < d; i++) {
        const gi = g[i]!
        finite += gi * 0
        p[i] = p[i]! + half * gi
      }
      metric.velocity(p, v)
      kinetic = dot(p, v, d)
    } else {
      for (let i = 0; i < d; i++) {
        const gi = g[i]!
        finite += gi * 0
        const pi = p[i]! + half * gi
        p[i] = pi
        const vi = m[i]! * pi
        v[i] = vi
        kinetic += pi * vi
      }
    }
    const h = -lp + 0.5 * kinetic
    return finite === 0 && h === h ? h : Infinity
  }

  /**
   * One multinomial NUTS transition from `current` (Stan's base_nuts::transition). Updates
   * `current` and `stats`.
   */
  nutsTransition(): void {
    const d = this.d, rng = this.rng
    const stats = this.stats
    const cur = this.current, fwd = this.fwd, bck = this.bck
    // both ends start at the current point with a fresh momentum; `current` itself holds the
    // selected draw (it starts as the initial point and is replaced as subtrees are accepted)
    this.metric.sampleMomentum(rng, fwd.p)
    this.metric.velocity(fwd.p, this.v)
    {
      const cq = cur.q, cg = cur.g, fq = fwd.q, fg = fwd.g, fp = fwd.p, bq = bck.q, bg = bck.g, bp = bck.p
      const pFF = this.pFwdFwd, pFB = this.pFwdBck, pBF = this.pBckFwd, pBB = this.pBckBck, rho = this.rho
      for (let i = 0; i < d; i++) {
        const q = cq[i]!, g = cg[i]!, p = fp[i]!
        fq[i] = q
        bq[i] = q
        fg[i] = g
        bg[i] = g
        bp[i] = p
        pFF[i] = p
        pFB[i] = p
        pBF[i] = p
        pBB[i] = p
        rho[i] = p
      }
      fwd.lp = bck.lp = cur.lp
    }
    // the trajectory's summed leaf weights Σ e^{δᵢ} as weight · e^{shift}: linear scale, so the
    // progressive sampling and the merge need no log or exp unless a weight would overflow
    let sumWeight = 1, sumShift = 0
    const H0 = this.hamiltonian(fwd, this.v)
    this.H0 = H0
    this.sampleEnergy = H0
    this.sumMetroProb = 0
    this.divergent = false
    let leapfrogs = 0
    let depth = 0
    const before = this.gradients
    while (depth < this.maxTreeDepth) {
      while (this.levels.length <= depth) this.levels.push(new Level(d))
      let valid: boolean
      // the new subtree integrates from one end of the trajectory, moving that end
      if (rng.uniform() > 0.5) {
        this.z = fwd
        // the old trajectory becomes the backward part: its forward end is the old forward end
        const rho = this.rho, rhoBck = this.rhoBck, rhoFwd = this.rhoFwd, pFF = this.pFwdFwd, pBF = this.pBckFwd
        for (let i = 0; i < d; i++) {
          rhoBck[i] = rho[i]!
          rhoFwd[i] = 0
          pBF[i] = pFF[i]!
        }
        this.subtreeWeight = 0
        this.subtreeShift = 0
        valid = this.buildTree(depth, this.rhoFwd, this.pFwdBck, this.pFwdFwd, 1)
      } else {
        this.z = bck
        // the old trajectory becomes the forward part: its backward end is the old backward end
        const rho = this.rho, rhoBck = this.rhoBck, rhoFwd = this.rhoFwd, pFB = this.pFwdBck, pBB = this.pBckBck
        for (let i = 0; i < d; i++) {
          rhoFwd[i] = rho[i]!
          rhoBck[i] = 0
          pFB[i] = pBB[i]!
        }
        this.subtreeWeight = 0
        this.subtreeShift = 0
        valid = this.buildTree(depth, this.rhoBck, this.pBckFwd, this.pBckBck, -1)
      }
      if (!valid) break
      depth++
      // biased progressive sampling (Betancourt 2017, §A.3.2): the new subtree's proposal replaces
      // the draw with probability min(1, W_subtree / W_old). Both weights are linear, relative to
      // their shifts, which are 0 unless a leaf's weight would have overflowed: then in logs.
      if (this.subtreeShift === sumShift) {
        const subWeight = this.subtreeWeight
        const ratio = subWeight / sumWeight
        if (ratio > 1 || rng.uniform() < ratio) {
          cur.copyState(this.propose)
          this.sampleEnergy = this.proposeEnergy
        }
        sumWeight += subWeight
      } else {
        const logSub = Math.log(this.subtreeWeight) + this.subtreeShift
        const logSum = Math.log(sumWeight) + sumShift
        if (logSub > logSum || rng.uniform() < Math.exp(logSub - logSum)) {
          cur.copyState(this.propose)
          this.sampleEnergy = this.proposeEnergy
        }
        sumWeight = 1
        sumShift = logAddExp(logSum, logSub)
      }
      // the no-U-turn criterion over the whole trajectory and across the merged halves: the
      // backward part (ρ_bck, ending with p_bck_fwd) then the forward part (starting with p_fwd_bck)
      if (!this.persists(this.pBckBck, this.pFwdFwd, this.rhoBck, this.rhoFwd, this.pBckFwd, this.pFwdBck, this.rho, false)) break
    }
    leapfrogs = this.gradients - before
    stats.treeDepth = depth
    stats.leapfrogSteps = leapfrogs
    stats.diverging = this.divergent
    stats.acceptStat = leapfrogs > 0 ? this.sumMetroProb / leapfrogs : 0
    stats.energy = this.sampleEnergy
  }

  /**
   * Builds a subtree of 2^depth leapfrog steps from `this.z` in direction `sign`, writing its end
   * momenta and adding its momenta to `rho`. Returns false when the subtree is invalid
   * (a divergence, or a U-turn inside it), in which case nothing of it may be used.
   *
   * The subtree's multinomial proposal is drawn as its leaves are made: leaf i replaces the
   * proposal in `this.propose` with probability w_i / (w_1 + … + w_i), so the proposal is leaf i
   * with probability w_i / W, the distribution Stan's pairwise selection at each merge gives
   * (Betancourt 2017, §A.3.1), with one copy per replacement (about log n) instead of one per leaf.
   * `subtreeWeight` accumulates W (times e^{−subtreeShift}).
   */
  private buildTree(depth: number, rho: Float64Array, pBeg: Float64Array, pEnd: Float64Array, sign: number): boolean {
    const d = this.d
    if (depth === 0) {
      const z = this.z
      const h = this.leapfrog(z, sign * this.stepSize)
      const delta = this.H0 - h
      if (!(-delta <= MAX_DELTA_H)) {
        this.divergent = true
        return false
      }
      // the leaf's weight e^{δ} (δ = H0 − H), summed in linear scale relative to e^{shift} (one exp
      // per leaf instead of a log-sum-exp); the shift moves up when a weight would overflow
      let ratio = delta - this.subtreeShift
      if (ratio > 600) {
        this.subtreeWeight *= Math.exp(-ratio)
        this.subtreeShift = delta
        ratio = 0
      }
      const w = Math.exp(ratio)
      this.sumMetroProb += delta > 0 ? 1 : ratio === delta ? w : Math.exp(delta)
      const total = this.subtreeWeight + w
      this.subtreeWeight = total
      if (w >= total || this.rng.uniform() * total < w) {
        const propose = this.propose, zq = z.q, zg = z.g, pq = propose.q, pg = propose.g
        for (let i = 0; i < d; i++) {
          pq[i] = zq[i]!
          pg[i] = zg[i]!
        }
        propose.lp = z.lp
        this.proposeEnergy = h
      }
      const zp = z.p
      for (let i = 0; i < d; i++) {
        const pi = zp[i]!
        pBeg[i] = pi
        pEnd[i] = pi
        rho[i] = rho[i]! + pi
      }
      return true
    }
    const level = this.levels[depth]!
    const rhoInit = level.rhoInit, rhoFinal = level.rhoFinal
    zero(rhoInit, d)
    if (!this.buildTree(depth - 1, rhoInit, pBeg, level.pInitEnd, sign)) return false
    zero(rhoFinal, d)
    if (!this.buildTree(depth - 1, rhoFinal, level.pFinalBeg, pEnd, sign)) return false
    return this.persists(pBeg, pEnd, rhoInit, rhoFinal, level.pInitEnd, level.pFinalBeg, rho, true)
  }

  /**
   * The generalised no-U-turn criterion of a merge of part A (momenta summed in ρA, last
   * momentum pAEnd) followed by part B (ρB, first momentum pBBeg), with p₋ and p₊ the merged
   * trajectory's end momenta: p♯₋·ρ > 0 and p♯₊·ρ > 0 (p♯ = M⁻¹p) for ρ = ρA + ρB, and the same
   * across the junction for ρA + pBBeg (ends p₋, pBBeg) and pAEnd + ρB (ends pAEnd, p₊) — the
   * checks Stan added in 2.23 (stan-dev/stan#2800). Writes ρA + ρB into `rho` (added to it when
   * `accumulate`). With a diagonal metric p♯·ρ = Σ pᵢ mᵢ ρᵢ, all six products in one pass.
   */
  private persists(
    pMinus: Float64Array,
    pPlus: Float64Array,
    rhoA: Float64Array,
    rhoB: Float64Array,
    pAEnd: Float64Array,
    pBBeg: Float64Array,
    rho: Float64Array,
    accumulate: boolean
  ): boolean {
    const d = this.d, metric = this.metric
    if (metric.isDiagonal) {
      const m = metric.diagonal
      let a = 0, b = 0, c = 0, e = 0, f = 0, k = 0
      for (let i = 0; i < d; i++) {
        const ra = rhoA[i]!, rb = rhoB[i]!, mi = m[i]!
        const s = ra + rb
        rho[i] = accumulate ? rho[i]! + s : s
        const pm = pMinus[i]!, pp = pPlus[i]!, pbb = pBBeg[i]!, pae = pAEnd[i]!
        const ms = mi * s
        a += pm * ms
        b += pp * ms
        const mx = mi * (ra + pbb)
        c += pm * mx
        e += pbb * mx
        const my = mi * (rb + pae)
        f += pae * my
        k += pp * my
      }
      return a > 0 && b > 0 && c > 0 && e > 0 && f > 0 && k > 0
    }
    const [s, x, y, vs, vx, vy] = this.sums as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]
    for (let i = 0; i < d; i++) {
      const ra = rhoA[i]!, rb = rhoB[i]!
      s[i] = ra + rb
      rho[i] = accumulate ? rho[i]! + s[i]! : s[i]!
      x[i] = ra + pBBeg[i]!
      y[i] = rb + pAEnd[i]!
    }
    metric.velocity(s, vs)
    metric.velocity(x, vx)
    metric.velocity(y, vy)
    return dot(pMinus, vs, d) > 0 && dot(pPlus, vs, d) > 0 && dot(pMinus, vx, d) > 0 && dot(pBBeg, vx, d) > 0 &&
      dot(pAEnd, vy, d) > 0 && dot(pPlus, vy, d) > 0
  }

  /**
   * One static HMC transition of `steps` leapfrog steps (Stan's base_static_hmc), accepted with
   * probability min(1, e^(H0 − H)); a divergence ends the trajectory and rejects it.
   */
  staticTransition(steps: number): void {
    const z = (this.z = this.scratch), stats = this.stats
    z.copyFrom(this.current)
    this.metric.sampleMomentum(this.rng, z.p)
    this.metric.velocity(z.p, this.v)
    const H0 = this.hamiltonian(z, this.v)
    let h = H0
    let n = 0
    let divergent = false
    while (n < steps) {
      n++
      h = this.leapfrog(z, this.stepSize)
      if (!(h - H0 <= MAX_DELTA_H)) {
        divergent = true
        break
      }
    }
    const accept = divergent ? 0 : Math.min(1, Math.exp(H0 - h))
    stats.treeDepth = 0
    stats.leapfrogSteps = n
    stats.diverging = divergent
    stats.acceptStat = accept
    if (!divergent && this.rng.uniform() < accept) {
      this.current.copyFrom(z)
      stats.energy = h
    } else stats.energy = H0
  }

  /**
   * Stan's initial step-size heuristic (base_hmc::init_stepsize, after Hoffman & Gelman 2014,
   * Algorithm 4): doubles or halves ε until one leapfrog step's acceptance e^(H0−H) crosses 0.8.
   * Bounded: returns false when ε leaves [1e-300, 1e7] (a density that is improper, or not
   * continuous, or whose gradient is not finite).
   */
  initStepSize(): boolean {
    const threshold = Math.log(0.8)
    const direction = this.oneStepDelta() > threshold ? 1 : -1
    for (let guard = 0; guard < 2200; guard++) {
      const delta = this.oneStepDelta()
      if (direction === 1 ? !(delta > threshold) : !(delta < threshold)) return true
      this.stepSize = direction === 1 ? 2 * this.stepSize : 0.5 * this.stepSize
      if (this.stepSize > 1e7 || this.stepSize < 1e-300) return false
    }
    return false
  }

  /** H0 − H after one leapfrog step of ε from `current` with a fresh momentum (−∞ where not finite). */
  private oneStepDelta(): number {
    const z = (this.z = this.scratch)
    z.copyFrom(this.current)
    this.metric.sampleMomentum(this.rng, z.p)
    this.metric.velocity(z.p, this.v)
    const H0 = this.hamiltonian(z, this.v)
    return H0 - this.leapfrog(z, this.stepSize)
  }
}
