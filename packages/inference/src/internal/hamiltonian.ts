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
// Everything here works on preallocated arrays: a transition allocates nothing. The
// potential is −log density; `g` holds ∇ log density (the force), so a momentum half step is
// p += (ε/2)·g.
//
// The NUTS transition computes what Stan's recursion does, in the same order, but as one loop
// over leaves: the tree's momenta and sums are slots of one packed array of doubles, positions
// and forces points of a small pool that are referenced, never copied, and with a diagonal metric
// a leapfrog step is one pass over the coordinates besides the gradient. Measured on eight
// schools (d = 10, 8.6 steps a transition): 213 ns per leapfrog step against 326 for the
// recursive version over Float64Arrays, of which the gradient is 64; the momentum's normals were
// some 17 ns of the rest (polar; the ziggurat's about 12), the passes over the coordinates about
// 9 ns a coordinate.
//
// With a diagonal metric the transition works with the whitened momentum u = M^{−1/2} p
// (u ~ N(0, I); Neal 2011, §4.1, on the equivalence of a mass matrix and a linear change of
// coordinates): the kinetic energy is ½ uᵀu, a half step u += (ε/2)·(√m ⊙ g) and a position
// step q += ε·(√m ⊙ u) with m the diagonal of M⁻¹, and the criterion's p♯·ρ = pᵀM⁻¹ρ is uᵀρᵤ, a
// plain dot product (ρᵤ the summed u). So the criteria read no metric and multiply less, and
// the momentum is the ziggurat's normals as drawn: 191.5 against 199.0 ns per leapfrog step
// (eight schools, paired A/B, CPU time). The same chain in exact arithmetic; the draws differ
// from the unwhitened form's in rounding.
import type { Rng } from "@fugue/core/Rng"
import { normalsOver } from "./normals.ts"

/** The density as the samplers see it: the value at q, the gradient written into g. */
export interface Target {
  readonly dimension: number
  logDensityGradient(q: Float64Array, g: Float64Array): number
  /** The same, with the value written into `value[0]` instead of returned (see `gradientAt`). */
  gradientInto?(q: Float64Array, g: Float64Array, value: Float64Array): void
}

/** Energy error above which a trajectory diverges (Stan's max_deltaH). */
export const MAX_DELTA_H = 1000

// A uniform drawn into U[0] rather than returned: the transitions are past V8's inlining budget,
// so `rng.uniform()` stays a call, and a number returned from a call is boxed (16 bytes a draw,
// one draw a leaf); a number stored into a Float64Array is not. Same stream, same draws.
const U = new Float64Array(1)
const drawUniform = (rng: Rng): void => {
  U[0] = rng.uniform()
}

// The log density and gradient at a leaf, the value through LP[0] for the same reason: a target
// that offers `gradientInto` (LogDensity does) returns nothing, whatever V8 decides to inline.
const LP = new Float64Array(1)
const gradientAt = (target: Target, q: Float64Array, g: Float64Array): void => {
  if (target.gradientInto !== undefined) target.gradientInto(q, g, LP)
  else LP[0] = target.logDensityGradient(q, g)
}

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
  /** √ of the diagonal: a momentum is uᵢ / √(M⁻¹)ᵢᵢ, u ~ N(0, I) its whitened form. */
  readonly sqrtDiagonal: Float64Array
  /** How many times `set` has changed M⁻¹ (a transition caches what it derives from it). */
  version = 0
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
      this.version++
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
    this.version++
    return true
  }

  /** Draws p ~ N(0, M) into `p` (standard normals by the ziggurat from `rng`'s stream: `normals.ts`). */
  sampleMomentum(rng: Rng, p: Float64Array): void {
    const d = this.d
    if (this.isDiagonal) {
      normalsOver(rng, p, this.sqrtDiagonal, d)
      return
    }
    // solve Lᵀ p = u by back substitution
    const L = this.cholesky
    normalsOver(rng, p, undefined, d)
    for (let i = d - 1; i >= 0; i--) {
      let s = p[i]!
      for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * p[k]!
      p[i] = s / L[i * d + i]!
    }
  }

  /**
   * Draws the whitened momentum u ~ N(0, I) into `u` (while `isDiagonal`, p = u / √(M⁻¹)ᵢᵢ is the
   * momentum `sampleMomentum` draws from the same stream; the NUTS transition works with u).
   */
  sampleWhitened(rng: Rng, u: Float64Array): void {
    normalsOver(rng, u, undefined, this.d)
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

/**
 * The NUTS tree's vectors: d-long slots of one flat array. The trajectory's ρ; its two parts' ρ
 * and inner end momenta (the backward part's last, the forward part's first); the outer ends'
 * momenta; each end's half-step momentum for its next leapfrog step (diagonal metric); √ of the
 * diagonal of M⁻¹ (a copy, diagonal metric); a merge's running ρ; a slot for writes that have no place to go;
 * then, per level j of the subtree being built, its pending left sibling of 2^j leaves: ρ, first
 * and last momentum (level 0's sibling is one leaf, whose momentum is all three: one slot). The
 * first seven change roles as the trajectory doubles (`nutsTransition` keeps their offsets).
 *
 * A plain array of doubles, not a Float64Array: V8 (Node 22) reads and writes a packed double
 * array's elements in loops like these about 1.5× as fast as a typed array's (measured at d = 10
 * and d = 100: a leapfrog half-step over four arrays 14.5 against 25.6 ns, a four-array dot
 * product 17.9 against 26.8 ns). Positions and forces stay in Float64Arrays: the density reads
 * and writes them.
 */
const RHO = 0, RHO_FWD = 1, RHO_BCK = 2, P_FWD_BCK = 3, P_BCK_FWD = 4, P_FWD = 5, P_BCK = 6, H_FWD = 7, H_BCK = 8, DIAGONAL = 9, RUN = 10
const DISCARD = 11, LEVELS = 12

/** A packed array of n doubles (never holey, never small integers: its elements stay unboxed doubles). */
const doubles = (n: number): Array<number> => {
  const a: Array<number> = []
  for (let i = 0; i < n; i++) a.push(0.5)
  for (let i = 0; i < n; i++) a[i] = 0
  return a
}

/**
 * The generalised no-U-turn criterion (`Hamiltonian.persistsDense` states it) for a diagonal
 * metric on the tree's store of whitened momenta (p♯·ρ = uᵀρᵤ): part A's ρ, first and last momenta at offsets
 * `aRho`, `pMinus`, `pAEnd`, part B's ρ, first and last at `bRho`, `pBBeg`, `pPlus`; writes
 * ρA + ρB at `out` (which may be `bRho`).
 */
const persistsDiagonal = (
  S: Array<number>,
  d: number,
  pMinus: number,
  pPlus: number,
  aRho: number,
  bRho: number,
  pAEnd: number,
  pBBeg: number,
  out: number
): boolean => {
  let a = 0, b = 0, c = 0, e = 0, f = 0, k = 0
  for (let i = 0; i < d; i++) {
    const ra = S[aRho + i]!, rb = S[bRho + i]!
    const s = ra + rb
    S[out + i] = s
    const pm = S[pMinus + i]!, pp = S[pPlus + i]!, pbb = S[pBBeg + i]!, pae = S[pAEnd + i]!
    a += pm * s
    b += pp * s
    const x = ra + pbb
    c += pm * x
    e += pbb * x
    const y = rb + pae
    f += pae * y
    k += pp * y
  }
  return a > 0 && b > 0 && c > 0 && e > 0 && f > 0 && k > 0
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
  /** The chain's state; a NUTS transition may replace the object (exchanging it with its proposal), so read it afresh. */
  current: Point
  readonly stats = new Transition()
  private readonly scratch: Point
  private readonly v: Float64Array
  /**
   * The NUTS trajectory's points (`current` among them): the ends, the next leaf from each end,
   * the subtree's proposal and the draw hold at most 6; `free` is the stack of the others.
   */
  private readonly pool: Array<Point>
  private readonly free: Array<Point>
  /** The tree's slots (`RHO` …). */
  private store: Array<number> = []
  /** Tree levels the store has room for. */
  private levelCapacity = 0
  /** The metric's `version` whose √ diagonal the store holds (at `DIAGONAL`). */
  private storedMetric = -1
  /** Scratch for the dense metric's criteria: ρ sums and their velocities. */
  private readonly sums: Array<Float64Array>
  /**
   * How often the leaf weights' overflow guard ran, for tests: leaves whose weight e^{δ} would
   * have exceeded e^600 relative to their subtree's shift (which then moved to δ), and merges of
   * a subtree into the trajectory with different shifts (done in logs).
   */
  readonly rescalings = { leaves: 0, merges: 0 }

  constructor(target: Target, metric: Metric, rng: Rng) {
    const d = target.dimension
    this.d = d
    this.target = target
    this.metric = metric
    this.rng = rng
    const vec = (): Float64Array => new Float64Array(d)
    this.current = new Point(d)
    this.scratch = new Point(d)
    this.v = vec()
    this.pool = [this.current]
    for (let k = 1; k < 7; k++) this.pool.push(new Point(d))
    this.free = [...this.pool]
    this.sums = [vec(), vec(), vec(), vec(), vec(), vec()]
    this.allocate(10)
  }

  /** Room in the store for subtrees of up to 2^levels leaves. */
  private allocate(levels: number): void {
    const d = this.d, n = LEVELS + 3 * levels
    this.store = doubles(n * d)
    this.levelCapacity = levels
    this.storedMetric = -1
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
    return h === h ? h : Number.POSITIVE_INFINITY
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
    gradientAt(this.target, q, g)
    const lp = LP[0]!
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
    return finite === 0 && h === h ? h : Number.POSITIVE_INFINITY
  }

  /**
   * One multinomial NUTS transition from `current` (Stan's base_nuts::transition). Updates
   * `current` and `stats`.
   *
   * The tree is built iteratively, leaf by leaf, in the order of Stan's recursion: after leaf n of
   * a subtree, the subtrees of 2, 4, …, 2^t leaves that end at it (t the trailing ones of n) are
   * merged, each with its pending left sibling, and checked; the largest then waits at level t
   * as the left sibling of a later one. Same checks, same order, same arithmetic as the recursion,
   * with no call per node and every momentum a slot of one array (`RHO` …).
   *
   * Positions and forces are never copied: each leaf is a point of `pool`, written out of place.
   * With a diagonal metric, the pass that finishes a leaf's momentum also makes the next leaf's
   * half-step momentum and position from that end (used if the trajectory grows there again), so
   * a leapfrog step is one pass and a gradient. The ends, the subtree's proposal and the draw are
   * references to points; a point none of them holds is free.
   *
   * A subtree's multinomial proposal is drawn as its leaves are made: leaf i replaces the
   * proposal with probability w_i / (w_1 + … + w_i), so the proposal is leaf i with probability
   * w_i / W, the distribution Stan's pairwise selection at each merge gives (Betancourt 2017,
   * §A.3.1).
   */
  nutsTransition(): void {
    const d = this.d, rng = this.rng, metric = this.metric, stats = this.stats, target = this.target
    const maxDepth = this.maxTreeDepth
    if (this.levelCapacity < maxDepth) this.allocate(maxDepth)
    const S = this.store
    const diag = metric.isDiagonal
    const hf = H_FWD * d, hb = H_BCK * d, md = DIAGONAL * d
    const run = RUN * d, discard = DISCARD * d, L0 = LEVELS * d, LEVEL1 = L0 + 3 * d
    // both ends start at the current point with a fresh momentum; `cur` is the selected draw (it
    // starts as the initial point and is replaced as subtrees are accepted); every other point is free
    let cur = this.current, propose = cur, fwdEnd = cur, bckEnd = cur
    let fwdNext: Point | undefined = undefined, bckNext: Point | undefined = undefined
    const pool = this.pool, free = this.free
    let top = 0
    for (let k = 0; k < pool.length; k++) if (pool[k] !== cur) free[top++] = pool[k]!
    const p0 = this.scratch.p
    if (diag) {
      // the whitened momentum u ~ N(0, I); √(M⁻¹)ᵢᵢ into the store when the metric has changed
      metric.sampleWhitened(rng, p0)
      if (this.storedMetric !== metric.version) {
        const sq = metric.sqrtDiagonal
        for (let i = 0; i < d; i++) S[md + i] = sq[i]!
        this.storedMetric = metric.version
      }
    } else {
      metric.sampleMomentum(rng, p0)
      metric.velocity(p0, this.v)
    }
    // (the kinetic energy, ½ uᵀu or ½ pᵀM⁻¹p, in the same pass)
    let kinetic = 0
    {
      const v = this.v
      for (let i = 0; i < d; i++) {
        const p = p0[i]!
        S[i] = p // RHO
        S[P_FWD * d + i] = p
        S[P_BCK * d + i] = p
        kinetic += p * (diag ? p : v[i]!)
      }
    }
    let H0 = -cur.lp + 0.5 * kinetic
    // (`Number.POSITIVE_INFINITY`, not the global `Infinity`: V8 compiles a global load in a branch
    // that has not run as a generic lookup, so H would be boxed, an allocation per leaf)
    if (!(H0 === H0)) H0 = Number.POSITIVE_INFINITY
    // the trajectory's summed leaf weights Σ e^{δᵢ} as weight · e^{shift}: linear scale, so the
    // progressive sampling and the merge need no log or exp unless a weight would overflow
    let sumWeight = 1, sumShift = 0
    let sampleEnergy = H0, proposeEnergy = H0, sumMetroProb = 0, divergent = false
    const stepSize = this.stepSize
    // where the trajectory's ρ, its parts' ρ and its end and inner momenta are: slots change roles
    // instead of being copied
    let rho = RHO * d, rhoF = RHO_FWD * d, rhoB = RHO_BCK * d, pF = P_FWD * d, pB = P_BCK * d, pFB = P_FWD_BCK * d, pBF = P_BCK_FWD * d
    let depth = 0, gradients = 0
    while (depth < maxDepth) {
      // the new subtree integrates from one end of the trajectory, moving that end; the old
      // trajectory becomes the other part (its ρ the trajectory's), its inner end the old end on
      // this side (whose momentum the first leaf starts from, at `inner`)
      drawUniform(rng)
      const forward = U[0]! > 0.5
      const whole = rho
      if (forward) {
        rho = rhoB
        rhoB = whole
        const end = pF
        pF = pBF
        pBF = end
      } else {
        rho = rhoF
        rhoF = whole
        const end = pB
        pB = pFB
        pFB = end
      }
      const po = forward ? pF : pB, ph = forward ? hf : hb, inner = forward ? pBF : pFB
      const rhoOut = forward ? rhoF : rhoB, begOut = forward ? pFB : pBF
      const epsilon = forward ? stepSize : -stepSize, half = 0.5 * epsilon
      const leaves = 1 << depth
      // the subtree's summed leaf weights, Σ e^{δᵢ − subShift}
      let subWeight = 0, subShift = 0
      let valid = true
      for (let n = 0; n < leaves; n++) {
        // where this leaf's momentum goes as it is made. A left leaf (n even) waits at level 0
        // (a one-leaf subtree is the whole: its ρ and first momentum). A right leaf ends the
        // subtrees of 2, …, 2^t leaves that end at it (t the trailing ones of n): the first merge,
        // with the leaf before, sums into RUN when more follow, else into the level-1 sibling (its
        // first momentum the leaf before's, its last this one's) or the subtree's ρ. Writes with
        // no place to go land in DISCARD.
        const even = (n & 1) === 0, complete = n === leaves - 1
        const t = even ? 0 : 31 - Math.clz32(~n & (n + 1))
        const top3 = (LEVELS + 3 * t) * d
        const one = leaves === 1
        const sum0 = even ? (one ? rhoOut : L0) : t > 1 ? run : complete ? rhoOut : LEVEL1
        const beg0 = even ? (one ? begOut : discard) : t > 1 ? discard : complete ? begOut : LEVEL1 + d
        const end0 = even || t > 1 || complete ? discard : LEVEL1 + 2 * d
        // one leapfrog step from the moving end `from` to a new point `z`; H = +∞ where the
        // density or the force is not finite
        const from = forward ? fwdEnd : bckEnd
        let z: Point
        let h: number
        let a = 0, b = 0
        gradients++
        if (diag) {
          // the first half step and the position, unless the last leaf from this end made them
          let next = forward ? fwdNext : bckNext
          if (next === undefined) {
            next = free[--top]!
            const fq = from.q, fg = from.g, q = next.q
            for (let i = 0; i < d; i++) {
              const si = S[md + i]!
              const pi = S[inner + i]! + half * (si * fg[i]!)
              S[ph + i] = pi
              q[i] = fq[i]! + epsilon * si * pi
            }
          }
          z = next
          const q = z.q, g = z.g
          gradientAt(target, q, g)
          const lp = LP[0]!
          z.lp = lp
          // the second half step (p at po), and the next leaf's half step (at ph) and position
          // (in `after`); a force that is not finite makes the kinetic energy NaN or +∞ (it is a
          // sum of uᵢ² ≥ 0), so H = +∞ without a separate check
          const after = free[--top]!, nq = after.q
          let kinetic = 0
          if (even && !one) {
            // a left leaf: its momentum waits at `po`, where the right leaf after it reads it
            // (before overwriting it) as the left sibling's
            for (let i = 0; i < d; i++) {
              const si = S[md + i]!, gi = si * g[i]!
              const pi = S[ph + i]! + half * gi
              S[po + i] = pi
              kinetic += pi * pi
              const pn = pi + half * gi
              S[ph + i] = pn
              nq[i] = q[i]! + epsilon * si * pn
            }
          } else if (even) {
            // the one leaf of a subtree of one: its ρ and first momentum
            for (let i = 0; i < d; i++) {
              const si = S[md + i]!, gi = si * g[i]!
              const pi = S[ph + i]! + half * gi
              S[po + i] = pi
              kinetic += pi * pi
              S[sum0 + i] = pi
              S[beg0 + i] = pi
              const pn = pi + half * gi
              S[ph + i] = pn
              nq[i] = q[i]! + epsilon * si * pn
            }
          } else if (t > 1) {
            // two leaves whose sum goes on into larger merges: the left leaf's momentum becomes
            // the pair's first (at L0, for the merge at level 1); the checks across the junction
            // are the pair's own
            for (let i = 0; i < d; i++) {
              const si = S[md + i]!, gi = si * g[i]!
              const ra = S[po + i]!
              const pi = S[ph + i]! + half * gi
              S[po + i] = pi
              kinetic += pi * pi
              const s = ra + pi
              S[sum0 + i] = s
              a += ra * s
              b += pi * s
              S[L0 + i] = ra
              const pn = pi + half * gi
              S[ph + i] = pn
              nq[i] = q[i]! + epsilon * si * pn
            }
          } else {
            // two leaves, the level-1 sibling or the whole subtree: the checks across the junction
            // are the pair's own
            for (let i = 0; i < d; i++) {
              const si = S[md + i]!, gi = si * g[i]!
              const ra = S[po + i]!
              const pi = S[ph + i]! + half * gi
              S[po + i] = pi
              kinetic += pi * pi
              const s = ra + pi
              S[sum0 + i] = s
              a += ra * s
              b += pi * s
              S[beg0 + i] = ra
              S[end0 + i] = pi
              const pn = pi + half * gi
              S[ph + i] = pn
              nq[i] = q[i]! + epsilon * si * pn
            }
          }
          if (forward) fwdNext = after
          else bckNext = after
          // (a NaN H fails the divergence test below as +∞ does)
          h = -lp + 0.5 * kinetic
        } else {
          // a dense metric: `leapfrog` in place on a copy of the end
          z = free[--top]!
          z.copyFrom(from)
          const p = z.p
          const at = n === 0 ? inner : po
          for (let i = 0; i < d; i++) p[i] = S[at + i]!
          h = this.leapfrog(z, epsilon)
          for (let i = 0; i < d; i++) {
            const pi = p[i]!
            S[po + i] = pi
            S[beg0 + i] = even ? pi : S[L0 + i]!
            S[end0 + i] = pi
          }
          if (even) for (let i = 0; i < d; i++) S[sum0 + i] = p[i]!
          else if (this.persistsDense(L0, po, L0, po, L0, po, sum0)) a = b = 1
        }
        // the end moves to z; the point it leaves is free unless something else holds it
        if (forward) fwdEnd = z
        else bckEnd = z
        if (from !== cur && from !== propose && from !== fwdEnd && from !== bckEnd) free[top++] = from
        const delta = H0 - h
        if (!(-delta <= MAX_DELTA_H)) {
          divergent = true
          valid = false
          break
        }
        // the leaf's weight e^{δ} (δ = H0 − H), summed in linear scale relative to e^{shift} (one exp
        // per leaf instead of a log-sum-exp); the shift moves up when a weight would overflow
        let ratio = delta - subShift
        if (ratio > 600) {
          this.rescalings.leaves++
          subWeight *= Math.exp(-ratio)
          subShift = delta
          ratio = 0
        }
        const w = Math.exp(ratio)
        sumMetroProb += delta > 0 ? 1 : ratio === delta ? w : Math.exp(delta)
        const total = subWeight + w
        subWeight = total
        if (w >= total || (drawUniform(rng), U[0]! * total < w)) {
          const old = propose
          propose = z
          if (old !== cur && old !== fwdEnd && old !== bckEnd) free[top++] = old
          proposeEnergy = h
        }
        if (even) continue
        if (!(a > 0 && b > 0)) {
          valid = false
          break
        }
        // the larger merges, j = 1, …, t − 1, each with its left sibling at level j (ρ sums into
        // RUN, the last into the level-t sibling or the subtree's ρ)
        for (let j = 1; j < t; j++) {
          const last = j === t - 1
          const out = !last ? run : complete ? rhoOut : top3
          // the left sibling's ρ, first and last momenta; the right one's first momentum
          const aRho = (LEVELS + 3 * j) * d, aBeg = aRho + d, aEnd = aRho + 2 * d
          const bBeg = j === 1 ? L0 : aRho - 2 * d
          if (!(diag ? persistsDiagonal(S, d, aBeg, po, aRho, run, aEnd, bBeg, out) : this.persistsDense(aBeg, po, aRho, run, aEnd, bBeg, out))) {
            valid = false
            break
          }
          if (last) {
            // the merged subtree's first momentum is its left sibling's; its last is this leaf's
            const beg = complete ? begOut : top3 + d
            for (let i = 0; i < d; i++) S[beg + i] = S[aBeg + i]!
            if (!complete) for (let i = 0; i < d; i++) S[top3 + 2 * d + i] = S[po + i]!
          }
        }
        if (!valid) break
      }
      if (!valid) break
      depth++
      // biased progressive sampling (Betancourt 2017, §A.3.2): the new subtree's proposal replaces
      // the draw with probability min(1, W_subtree / W_old). Both weights are linear, relative to
      // their shifts, which are 0 unless a leaf's weight would have overflowed: then in logs.
      let replace: boolean
      if (subShift === sumShift) {
        const ratio = subWeight / sumWeight
        replace = ratio > 1 || (drawUniform(rng), U[0]! < ratio)
        sumWeight += subWeight
      } else {
        this.rescalings.merges++
        const logSub = Math.log(subWeight) + subShift
        const logSum = Math.log(sumWeight) + sumShift
        replace = logSub > logSum || (drawUniform(rng), U[0]! < Math.exp(logSub - logSum))
        sumWeight = 1
        sumShift = logAddExp(logSum, logSub)
      }
      if (replace) {
        const old = cur
        cur = propose
        if (old !== fwdEnd && old !== bckEnd) free[top++] = old
        sampleEnergy = proposeEnergy
      }
      // the no-U-turn criterion over the whole trajectory and across the merged halves: the
      // backward part (ρ_bck, ending with p_bck_fwd) then the forward part (starting with p_fwd_bck)
      if (!(diag ? persistsDiagonal(S, d, pB, pF, rhoB, rhoF, pBF, pFB, rho) : this.persistsDense(pB, pF, rhoB, rhoF, pBF, pFB, rho))) break
    }
    this.current = cur
    if (diag) this.gradients += gradients // (`leapfrog` counts its own)
    stats.treeDepth = depth
    stats.leapfrogSteps = gradients
    stats.diverging = divergent
    stats.acceptStat = gradients > 0 ? sumMetroProb / gradients : 0
    stats.energy = sampleEnergy
  }

  /**
   * The generalised no-U-turn criterion of a merge of part A (momenta summed in ρA, last
   * momentum pAEnd) followed by part B (ρB, first momentum pBBeg), with p₋ and p₊ the merged
   * trajectory's end momenta: p♯₋·ρ > 0 and p♯₊·ρ > 0 (p♯ = M⁻¹p) for ρ = ρA + ρB, and the same
   * across the junction for ρA + pBBeg (ends p₋, pBBeg) and pAEnd + ρB (ends pAEnd, p₊) — the
   * checks Stan added in 2.23 (stan-dev/stan#2800). The vectors are at these offsets of the tree's
   * store; writes ρA + ρB at `out` (which may be `rhoB`). For a dense metric: `persistsDiagonal`
   * is the diagonal one.
   */
  private persistsDense(pMinus: number, pPlus: number, rhoA: number, rhoB: number, pAEnd: number, pBBeg: number, out: number): boolean {
    const d = this.d, metric = this.metric, S = this.store
    const [s, x, y, vs, vx, vy] = this.sums as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array]
    let a = 0, b = 0, c = 0, e = 0, f = 0, k = 0
    for (let i = 0; i < d; i++) {
      const ra = S[rhoA + i]!, rb = S[rhoB + i]!
      s[i] = ra + rb
      x[i] = ra + S[pBBeg + i]!
      y[i] = rb + S[pAEnd + i]!
    }
    metric.velocity(s, vs)
    metric.velocity(x, vx)
    metric.velocity(y, vy)
    for (let i = 0; i < d; i++) {
      const pm = S[pMinus + i]!, pp = S[pPlus + i]!
      a += pm * vs[i]!
      b += pp * vs[i]!
      c += pm * vx[i]!
      e += S[pBBeg + i]! * vx[i]!
      f += S[pAEnd + i]! * vy[i]!
      k += pp * vy[i]!
      S[out + i] = s[i]!
    }
    return a > 0 && b > 0 && c > 0 && e > 0 && f > 0 && k > 0
  }

  /**
   * One static HMC transition of `steps` leapfrog steps (Stan's base_static_hmc), accepted with
   * probability min(1, e^(H0 − H)); a divergence ends the trajectory and rejects it.
   */
  staticTransition(steps: number): void {
    const z = this.scratch, stats = this.stats
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
    if (!divergent && (drawUniform(this.rng), U[0]! < accept)) {
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
    const z = this.scratch
    z.copyFrom(this.current)
    this.metric.sampleMomentum(this.rng, z.p)
    this.metric.velocity(z.p, this.v)
    const H0 = this.hamiltonian(z, this.v)
    return H0 - this.leapfrog(z, this.stepSize)
  }
}
