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
//
// With a diagonal metric the passes over the coordinates run in WebAssembly SIMD (f64x2;
// leapfrog.wat, `Kernels`): one call per leaf after its gradient does the second half step, the
// kinetic energy and H, the next leaf's half step and position, the criterion of the pair the
// leaf ends, the larger merges and, at a subtree's last leaf, the whole trajectory's criterion;
// one call per transition copies the momentum and makes the first leaf's position each way. The
// points and the tree's slots are Float64Array views of the kernels' memory, so the density reads
// and writes them where the kernels do, with no copy. Measured on eight schools (paired A/B, 40
// blocks of 2000 transitions, CPU time, 7.6 steps a transition): 160.9 against 194.8 ns per
// leapfrog step (median ratio 0.825, quartiles 0.805–0.837), the gradient alone 62: the sampler's
// own overhead 1.56 gradients a step against 2.13. On an AR(1) Gaussian (compiled gradient,
// d = 1 … 100) the overhead per step is about 70 ns plus 1.1 ns a coordinate against 70 plus 5.0
// before: 1.12× the JavaScript version's time per step at d = 1, 1.02× at 2, 0.87× at 5, 0.76×
// at 10, 0.61× at 20, 0.54× at 50, 0.52× at 100 (overhead 0.83 gradients at d = 100, 3.3 at 10,
// where the gradient is 21 ns). What is left at d = 10 is mostly the fixed cost per step: the
// leaf's exp and uniform, the calls, the tree's bookkeeping. The sums add two partials (even and
// odd coordinates), so the draws differ from the scalar loops' in rounding (the same tree depths
// on the fixtures of test/Hamiltonian.test.ts). Where WebAssembly is missing `scalarKernels` does
// the same arithmetic in JavaScript, bit for bit (about 1.2× the time per step of the former
// JavaScript at d = 10: typed arrays and calls). Every Hamiltonian of a thread leases its region
// of one shared memory (`Arena`): with a memory and instance each, 4 chains interleaved on one
// thread ran 193 ns a step against 159 with one, V8's calls to four sets of kernels being generic.
//
// The random draws of a transition from the library's own streams (xoroshiro128+) step the
// generator's state held as int32s in the header instead of pure-rand's fields (four boxed
// fields read and written per 32-bit word): the momentum's normals by the ziggurat's fast path
// in the kernels (`Kernels.normals`; its rare slow path in normals.ts, the state handed back for
// it), the uniforms in JavaScript (`uniformOf`; in `Kernels.tree`, the same steps in
// WebAssembly). The same words, the same arithmetic: the draws are the previous version's bit
// for bit. Eight schools, paired A/B
// (80 blocks of 2000, CPU time, 7.6 steps a transition): median ratio 0.973 (quartiles
// 0.951–0.994), overhead 1.50 gradients a step (quartiles 1.46–1.55) against 1.57; on the AR(1)
// Gaussian 0.97 at d = 10 (overhead 3.5 gradients against 3.6), 0.989 at d = 100 (0.81 against
// 0.83), 1.02 at d = 1 (0.99–1.07; 2.5 steps a transition, where the per-transition handing
// over of the state shows). Where the rest of the overhead goes at eight schools (CPU profile):
// about half is the transition's own JavaScript (the tree's bookkeeping, the leaf weight's
// Math.exp: some 22 ns of latency here, 5 of throughput; a polynomial exp inlined saved about
// 4 ns a step but moves the draws in the last bits), a fifth the kernels' calls, the rest the
// normals and uniforms.
//
// With a diagonal metric and the library's streams the whole transition after the momentum now
// runs in WebAssembly (`Kernels.tree`): the doublings, the leaves, the leaf weights and the
// multinomial and progressive draws, the points as indices of the pool with a stack of free ones
// in the header, the density called back through an import (`Arena.active`). Its exp is
// fdlibm's __ieee754_exp written out in WebAssembly, the operation V8's Math.exp performs, step
// for step (a test compares the two on some 400 000 arguments), and its uniforms come from the
// same words, so the draws are `nutsTree`'s bit for bit; that loop stays as the reference and
// for `scalarKernels`, the dense metric and other generators. The choices that follow the random
// draws (the proposal, which points are free) are made without branches; the import calls one
// method whatever the Hamiltonian (`Arena.active`), so that it stays monomorphic with several on
// an arena. Measured on eight schools (paired A/B against the JavaScript loop, 3 × 80 blocks of
// 2000, CPU time, 7.65 steps a transition, two Hamiltonians on A's arena): median ratio 0.96
// (quartiles 0.94–0.98), 159 against 163–166 ns per leapfrog step, the overhead 1.40 gradients a
// step (quartiles 1.35–1.45) against 1.51; on a standard normal (a trivial gradient, ε = 0.25)
// 0.85–0.87 at d = 1, 0.91–0.94 at d = 10, 0.96–0.97 at d = 100. (Inlining `leaf` and `pair`
// into `tree` as well measured no faster, and is not done.) Not the 1 gradient of issue 10: per
// leaf the work is a dependent chain (gradient, kernel, H, weight, draw) that WebAssembly runs in
// fewer instructions but not much less time, and the overhead measured this way depends on what
// the gradient computes: on a 10-dimensional normal, with the same work for the sampler, a step
// took 62 ns more than a trivial gradient timed alone, 75 more than one of 230 ns in plain
// arithmetic, but 150 more than one of 190 ns making 20 libm calls (exp, log1p; 210 ns with each
// call's input waiting on the last one's output). Interleaved with the sampler such a gradient,
// or the sampler after it, runs slower than either alone (branch history, presumably: the libm
// functions branch on their arguments); eight schools' gradient calls exp and log1p too.
//
// Branches on random outcomes were the larger cost left in `Kernels.tree`: f64.min(1, e^δ)
// (branches on a random comparison that waits on the exp; mispredicted, the next leaf's work
// begun is thrown away), each doubling's direction, its progressive draw and replacement, and ε's
// sign are now selects or bit operations, the direction's uniform inline; with `gradientInto`'s
// length checks gone, paired against the code before (60 blocks of 2000) the step takes 0.918 of
// the time (quartiles 0.898–0.936), an overhead of 1.24 gradients against 1.44, the same draws.
import type { Rng, Xoroshiro } from "@fugue/core/Rng"
import { LEAPFROG_WASM } from "./leapfrogWasm.ts"
import { normalsOver, ZIGGURAT_RATIO, ZIGGURAT_X, zigguratSlowAt, type XoroshiroState, xoroshiroState } from "./normals.ts"

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

const TWO_POW_M52 = 2.220446049250313e-16, TWO_POW_M44 = 5.684341886080802e-14

/**
 * `Xoroshiro.uniform`'s draw into U[0] from xoroshiro128+'s state held as int32s at I[at] …
 * I[at + 3] (s00, s01, s10, s11), stepped as pure-rand's `next()` steps its fields: the same
 * words, the same draw. Where `at` < 0, `rng.uniform()`.
 */
const uniformOf = (rng: Rng, I: Int32Array, at: number): void => {
  if (at < 0) {
    U[0] = rng.uniform()
    return
  }
  let s00 = I[at]!, s01 = I[at + 1]!, s10 = I[at + 2]!, s11 = I[at + 3]!
  let a0 = s10 ^ s00, a1 = s11 ^ s01
  const hi = ((s00 + s10) | 0) >>> 6
  let t00 = s00, t01 = s01
  s00 = (t00 << 24) ^ (t01 >>> 8) ^ a0 ^ (a0 << 16)
  s01 = (t01 << 24) ^ (t00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16))
  s10 = (a1 << 5) ^ (a0 >>> 27)
  s11 = (a0 << 5) ^ (a1 >>> 27)
  a0 = s10 ^ s00
  a1 = s11 ^ s01
  const lo = ((s00 + s10) | 0) >>> 6
  t00 = s00
  t01 = s01
  I[at] = (t00 << 24) ^ (t01 >>> 8) ^ a0 ^ (a0 << 16)
  I[at + 1] = (t01 << 24) ^ (t00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16))
  I[at + 2] = (a1 << 5) ^ (a0 >>> 27)
  I[at + 3] = (a0 << 5) ^ (a1 >>> 27)
  U[0] = (hi * 67108864 + lo + 0.5) * TWO_POW_M52
}

// The log density and gradient at a leaf, the value through `value[0]` (double 0 of the
// Hamiltonian's memory, `LP_AT`) for the same reason: a target that offers `gradientInto`
// (LogDensity does) returns nothing, whatever V8 decides to inline.
const gradientAt = (target: Target, q: Float64Array, g: Float64Array, value: Float64Array): void => {
  if (target.gradientInto !== undefined) target.gradientInto(q, g, value)
  else value[0] = target.logDensityGradient(q, g)
}

/**
 * The memory's first doubles: the log density at the newest point (`gradientAt` writes it), the
 * Hamiltonian a kernel computed, a transition's initial uᵀu, the kernels' ε/2 and ε (a double
 * passed to a call that V8 does not inline is boxed: 16 bytes a call); the header is `HEADER`
 * doubles (what `Kernels.tree` keeps there: leapfrog.wat's opening comment); then the points,
 * then the tree's slots (`RHO` …).
 */
const LP_AT = 0, H_AT = 1, KINETIC_AT = 2, HALF_AT = 3, EPSILON_AT = 4, SLOW_U_AT = 5, HEADER = 48
/**
 * Doubles of the header that `Kernels.tree` reads and writes: ε, the acceptance's sum, the
 * selected point's H; from `LPS_AT`, the log densities of the pool's 7 points.
 */
const STEP_AT = 6, METRO_AT = 7, ENERGY_AT = 16, LPS_AT = 23
/**
 * Int32s from byte 64 of the memory (`Hamiltonian.ints`): the tree's offsets `right` reads. L0
 * and RUN; the subtree's ρ and first momentum (written per doubling); the trajectory's ρ, ρ_fwd,
 * ρ_bck, p_fwd, p_bck, p_fwd_bck and p_bck_fwd (per doubling).
 */
const I_L0 = 0, I_RUN = 1, I_RHO_OUT = 2, I_BEG_OUT = 3, I_RHO = 4, I_RHO_FWD = 5, I_RHO_BCK = 6, I_P_FWD = 7, I_P_BCK = 8
const I_P_FWD_BCK = 9, I_P_BCK_FWD = 10
/**
 * Int32s 11 … 14: the stream's xoroshiro128+ state during a NUTS transition (`uniformOf`,
 * `Kernels.normals`); 15: the layer of a normal left to the ziggurat's slow path (its u at
 * double `SLOW_U_AT`).
 */
const I_GEN = 11, I_SLOW_LAYER = 15
/**
 * Int32s 18 … 22, what `Kernels.tree` did: its leapfrog steps, the leaves and merges whose
 * weights were rescaled, the depth, whether it diverged (then from 23 the free points, its own).
 */
const I_STEPS = 18, I_RESCALED_LEAVES = 19, I_RESCALED_MERGES = 20, I_DEPTH = 21, I_DIVERGENT = 22
/** Doubles of the ziggurat's tables in a Hamiltonian's region: x₀ … x₁₂₈, then the 128 ratios (and one of padding). */
const TABLES = 258
/** The points of a Hamiltonian's memory: the NUTS pool's 7 and the scratch point. */
const POINTS = 8

/**
 * The NUTS transition's passes over the coordinates (diagonal metric): leapfrog.wat has them in
 * WebAssembly SIMD, `scalarKernels` in JavaScript, with the same arithmetic in the same order.
 * Vectors are slots of the Hamiltonian's memory, named by their offsets in doubles; `n` is the
 * number of coordinate pairs (slots are padded with zeros to an even length); sums keep a
 * partial for the even and one for the odd coordinates and add them at the end.
 */
interface Kernels {
  /**
   * A leaf's second half step, p = S[ph] + half·(S[md] ⊙ S[g]), into S[po], S[sum] and S[beg];
   * H = −S[LP_AT] + ½ pᵀp into S[H_AT]; the next leaf's half step p + half·(S[md] ⊙ S[g]) into
   * S[ph] and position S[q] + (ε·S[md]) ⊙ S[ph] into S[nq]. For the subtree of `one` leaf,
   * 4·(the trajectory's criterion, offsets from the int32s at `I_L0` …), else 0.
   */
  leaf(hdr: number, po: number, ph: number, md: number, g: number, q: number, nq: number, sum: number, beg: number, n: number, one: number): number
  /**
   * The same for a right leaf, whose left neighbour's momentum r is read from S[po] first:
   * ρ = r + p into S[sum], r into S[beg], p into S[last]; 1 if r·ρ > 0 and p·ρ > 0, else 0.
   */
  pair(hdr: number, po: number, ph: number, md: number, g: number, q: number, nq: number, sum: number, beg: number, last: number, n: number): number
  /**
   * A right leaf n of a subtree, t the trailing ones of n, `complete` 1 if it is the subtree's
   * last: `pair`, then if the pair persists the merges j = 1 … t − 1 (`mergeUp`), then if it is
   * complete and they persist the trajectory's criterion (offsets from the int32s at `I_L0` …).
   * 0 if the pair turns, 1 if a merge does, else 3 | 4·(the trajectory persists, when complete).
   */
  right(hdr: number, po: number, ph: number, md: number, g: number, q: number, nq: number, sum: number, beg: number, last: number, n: number, t: number, complete: number): number
  /** `persistsDiagonal`'s criterion (1 or 0), ρA + ρB into S[out]. */
  persists(pMinus: number, pPlus: number, aRho: number, bRho: number, pAEnd: number, pBBeg: number, out: number, n: number): number
  /**
   * A transition's start from the point with q at S[q] and g at S[g], momentum S[p0]: S[p0] into
   * S[rho], S[pf] and S[pb], its squared norm into S[KINETIC_AT], and the first leaf's half step
   * and position each way, as `leaf` makes the next leaf's (with ε and −ε): S[hf] and S[fq],
   * S[hb] and S[bq] (S[HALF_AT] and S[EPSILON_AT] hold ε/2 and ε > 0 here).
   */
  start(hdr: number, p0: number, rho: number, pf: number, pb: number, md: number, q: number, g: number, hf: number, fq: number, hb: number, bq: number, n: number): void
  /** S[src] into S[dst]. */
  copy(dst: number, src: number, n: number): void
  /**
   * Standard normals into S[out] … S[out + n − 1] by the ziggurat's fast path (`normalsOver`'s
   * words and arithmetic) from the generator state at `I_GEN`, the tables at S[tab] (`TABLES`).
   * Returns how many it wrote: where one falls outside its layer's rectangle it stops, with that
   * draw's u at `SLOW_U_AT` and its layer at `I_SLOW_LAYER`, for `zigguratSlowAt`.
   */
  normals(hdr: number, out: number, n: number, tab: number): number
  /**
   * The whole transition after the momentum (S[p0]), from point `cur` of the pool (its q at
   * S[pts + 3w·cur]): `nutsTree`'s loop, the density through the arena's `gradient`, the leaf
   * weights by an exp equal to Math.exp bit for bit. Returns the selected point; what it did at
   * `METRO_AT`, `ENERGY_AT` and `I_STEPS` …. leapfrog.wat's only (`scalarKernels` runs `nutsTree`'s
   * loop instead, which is the reference).
   */
  tree?(hdr: number, n: number, base: number, pts: number, p0: number, cur: number, maxDepth: number): number
  /** fdlibm's exp, as Math.exp (for tests). */
  exp?(x: number): number
}

/** The no-U-turn criterion of a merge on the tree's slots, as `Kernels.persists` takes it: 1 if it persists, else 0. */
type Criterion = (pMinus: number, pPlus: number, aRho: number, bRho: number, pAEnd: number, pBBeg: number, out: number, n: number) => number

/**
 * After the pair that a right leaf at `po` ends has persisted: the larger merges, j = 1, …, t − 1,
 * each with its left sibling at level j (ρ sums into RUN, the last into the level-t sibling or the
 * subtree's ρ), then, if the leaf completes the subtree, the whole trajectory's criterion; offsets
 * from `I`. 1 if a merge turns, else 3 | 4·(the trajectory persists, when complete). The same as
 * leapfrog.wat's `right` after its pair.
 */
const mergeUp = (I: Int32Array, ib: number, persists: Criterion, copy: Kernels["copy"], po: number, n: number, t: number, complete: boolean): number => {
  const w = 2 * n, L0 = I[ib + I_L0]!, run = I[ib + I_RUN]!, top3 = L0 + 3 * w * t
  for (let j = 1; j < t; j++) {
    const last = j === t - 1
    const out = !last ? run : complete ? I[ib + I_RHO_OUT]! : top3
    // the left sibling's ρ, first and last momenta; the right one's first momentum
    const aRho = L0 + 3 * w * j, aBeg = aRho + w, aEnd = aRho + 2 * w
    const bBeg = j === 1 ? L0 : aRho - 2 * w
    if (persists(aBeg, po, aRho, run, aEnd, bBeg, out, n) === 0) return 1
    if (last) {
      // the merged subtree's first momentum is its left sibling's; its last is this leaf's
      copy(complete ? I[ib + I_BEG_OUT]! : top3 + w, aBeg, n)
      if (!complete) copy(top3 + 2 * w, po, n)
    }
  }
  return complete ? 3 | (4 * trajectoryPersists(I, ib, persists, n)) : 3
}

/**
 * The whole trajectory's criterion on the tree's slots (offsets from `I`): the backward part
 * (ρ_bck, ending with p_bck_fwd) then the forward part (starting with p_fwd_bck). 1 or 0.
 */
const trajectoryPersists = (I: Int32Array, ib: number, persists: Criterion, n: number): number =>
  persists(I[ib + I_P_BCK]!, I[ib + I_P_FWD]!, I[ib + I_RHO_BCK]!, I[ib + I_RHO_FWD]!, I[ib + I_P_BCK_FWD]!, I[ib + I_P_FWD_BCK]!, I[ib + I_RHO]!, n) === 0 ? 0 : 1

/** The kernels in JavaScript over the memory `S` (where WebAssembly is missing, and as the reference). */
const scalarKernels = (S: Float64Array): Kernels => {
  const I = new Int32Array(S.buffer)
  const K: Kernels = {
  leaf(hdr, po, ph, md, g, q, nq, sum, beg, n, one) {
    const at = hdr >> 3, half = S[at + HALF_AT]!, epsilon = S[at + EPSILON_AT]!
    let k0 = 0, k1 = 0
    for (let i = 0; i < 2 * n; i++) {
      const si = S[md + i]!, gi = si * S[g + i]!
      const pi = S[ph + i]! + half * gi
      S[po + i] = pi
      if ((i & 1) === 0) k0 += pi * pi
      else k1 += pi * pi
      S[sum + i] = pi
      S[beg + i] = pi
      const pn = pi + half * gi
      S[ph + i] = pn
      S[nq + i] = S[q + i]! + epsilon * si * pn
    }
    S[at + H_AT] = -S[at + LP_AT]! + 0.5 * (k0 + k1)
    return one === 0 ? 0 : 4 * trajectoryPersists(I, (hdr + 64) >> 2, K.persists, n)
  },
  pair(hdr, po, ph, md, g, q, nq, sum, beg, last, n) {
    const at = hdr >> 3, half = S[at + HALF_AT]!, epsilon = S[at + EPSILON_AT]!
    let k0 = 0, k1 = 0, a0 = 0, a1 = 0, b0 = 0, b1 = 0
    for (let i = 0; i < 2 * n; i++) {
      const si = S[md + i]!, gi = si * S[g + i]!
      const ra = S[po + i]!
      const pi = S[ph + i]! + half * gi
      S[po + i] = pi
      const s = ra + pi
      S[sum + i] = s
      if ((i & 1) === 0) {
        k0 += pi * pi
        a0 += ra * s
        b0 += pi * s
      } else {
        k1 += pi * pi
        a1 += ra * s
        b1 += pi * s
      }
      S[beg + i] = ra
      S[last + i] = pi
      const pn = pi + half * gi
      S[ph + i] = pn
      S[nq + i] = S[q + i]! + epsilon * si * pn
    }
    S[at + H_AT] = -S[at + LP_AT]! + 0.5 * (k0 + k1)
    return a0 + a1 > 0 && b0 + b1 > 0 ? 1 : 0
  },
  persists(pMinus, pPlus, aRho, bRho, pAEnd, pBBeg, out, n) {
    let a0 = 0, b0 = 0, c0 = 0, e0 = 0, f0 = 0, k0 = 0, a1 = 0, b1 = 0, c1 = 0, e1 = 0, f1 = 0, k1 = 0
    for (let i = 0; i < 2 * n; i++) {
      const ra = S[aRho + i]!, rb = S[bRho + i]!
      const s = ra + rb
      S[out + i] = s
      const pm = S[pMinus + i]!, pp = S[pPlus + i]!, pbb = S[pBBeg + i]!, pae = S[pAEnd + i]!
      const x = ra + pbb, y = rb + pae
      if ((i & 1) === 0) {
        a0 += pm * s
        b0 += pp * s
        c0 += pm * x
        e0 += pbb * x
        f0 += pae * y
        k0 += pp * y
      } else {
        a1 += pm * s
        b1 += pp * s
        c1 += pm * x
        e1 += pbb * x
        f1 += pae * y
        k1 += pp * y
      }
    }
    return a0 + a1 > 0 && b0 + b1 > 0 && c0 + c1 > 0 && e0 + e1 > 0 && f0 + f1 > 0 && k0 + k1 > 0 ? 1 : 0
  },
  start(hdr, p0, rho, pf, pb, md, q, g, hf, fq, hb, bq, n) {
    const at = hdr >> 3, half = S[at + HALF_AT]!, epsilon = S[at + EPSILON_AT]!
    let k0 = 0, k1 = 0
    for (let i = 0; i < 2 * n; i++) {
      const p = S[p0 + i]!
      S[rho + i] = p
      S[pf + i] = p
      S[pb + i] = p
      if ((i & 1) === 0) k0 += p * p
      else k1 += p * p
      const si = S[md + i]!, gi = si * S[g + i]!, qi = S[q + i]!
      const pForward = p + half * gi
      S[hf + i] = pForward
      S[fq + i] = qi + epsilon * si * pForward
      const pBackward = p + -half * gi
      S[hb + i] = pBackward
      S[bq + i] = qi + -epsilon * si * pBackward
    }
    S[at + KINETIC_AT] = k0 + k1
  },
  copy(dst, src, n) {
    for (let i = 0; i < 2 * n; i++) S[dst + i] = S[src + i]!
  },
  normals(hdr, out, n, tab) {
    const at = (hdr + 64) >> 2
    let s00 = I[at + I_GEN]!, s01 = I[at + I_GEN + 1]!, s10 = I[at + I_GEN + 2]!, s11 = I[at + I_GEN + 3]!
    let k = 0
    for (; k < n; k++) {
      let a0 = s10 ^ s00, a1 = s11 ^ s01
      const hi = ((s00 + s10) | 0) >>> 6
      let t00 = s00, t01 = s01
      s00 = (t00 << 24) ^ (t01 >>> 8) ^ a0 ^ (a0 << 16)
      s01 = (t01 << 24) ^ (t00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16))
      s10 = (a1 << 5) ^ (a0 >>> 27)
      s11 = (a0 << 5) ^ (a1 >>> 27)
      a0 = s10 ^ s00
      a1 = s11 ^ s01
      const lo = ((s00 + s10) | 0) >>> 6
      t00 = s00
      t01 = s01
      s00 = (t00 << 24) ^ (t01 >>> 8) ^ a0 ^ (a0 << 16)
      s01 = (t01 << 24) ^ (t00 >>> 8) ^ a1 ^ ((a1 << 16) | (a0 >>> 16))
      s10 = (a1 << 5) ^ (a0 >>> 27)
      s11 = (a0 << 5) ^ (a1 >>> 27)
      const i = hi & 127
      const u = ((hi >>> 7) * 67108864 + lo + 0.5) * TWO_POW_M44 - 1
      if (!(Math.abs(u) < S[tab + 129 + i]!)) {
        S[(hdr >> 3) + SLOW_U_AT] = u
        I[at + I_SLOW_LAYER] = i
        break
      }
      S[out + k] = u * S[tab + i]!
    }
    I[at + I_GEN] = s00
    I[at + I_GEN + 1] = s01
    I[at + I_GEN + 2] = s10
    I[at + I_GEN + 3] = s11
    return k
  },
  right(hdr, po, ph, md, g, q, nq, sum, beg, last, n, t, complete) {
    return K.pair(hdr, po, ph, md, g, q, nq, sum, beg, last, n) === 0 ? 0 : mergeUp(I, (hdr + 64) >> 2, K.persists, K.copy, po, n, t, complete !== 0)
  }
  }
  return K
}

// (the few WebAssembly declarations used here: the compiler's ES2023 library has none)
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array<ArrayBuffer>)
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum: number })
    readonly buffer: ArrayBuffer
  }
  class Instance {
    constructor(module: Module, imports: { env: { memory: Memory } & Record<string, unknown> })
    readonly exports: object
  }
  function validate(bytes: Uint8Array<ArrayBuffer>): boolean
}

/** leapfrog.wat compiled, or undefined where WebAssembly (with SIMD) is not available. */
const LEAPFROG_MODULE: WebAssembly.Module | undefined = (() => {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(LEAPFROG_WASM) ? new WebAssembly.Module(LEAPFROG_WASM) : undefined
  } catch {
    return undefined
  }
})()

/** Whether the NUTS transition's kernels run in WebAssembly here (else `scalarKernels`). */
export const wasmAvailable = LEAPFROG_MODULE !== undefined

/**
 * A memory shared by the Hamiltonians of a thread, with its kernels: a WebAssembly memory of
 * `size` doubles with leapfrog.wat's instance where `wasm` and the module are available, else an
 * array with `scalarKernels`. Never grown, so views of it stay attached. One memory serves every
 * chain while it has room, so that the kernel calls of the (one) transition code see one set of
 * functions: interleaved transitions of 4 Hamiltonians with an instance each ran 193 ns per
 * leapfrog step against 164 for one (eight schools), V8 then making the calls generic. Each
 * Hamiltonian leases a region; a lease no longer reachable is returned (`LEASES`).
 */
export class Arena {
  readonly heap: Float64Array
  readonly kernels: Kernels
  /**
   * The Hamiltonian whose transition runs in `Kernels.tree` (which that transition sets before it
   * calls: the instance, and so its import, is the arena's), whose `leafGradient` the import calls.
   * One method for every Hamiltonian, not a closure of each: with two closures the import's call
   * was polymorphic, not inlined, and a step some 3 % slower.
   */
  active: { leafGradient(k: number): void } | undefined = undefined
  /** The free regions, [start, end) in doubles, sorted and apart. */
  private readonly gaps: Array<number>
  constructor(size: number, wasm: boolean) {
    if (wasm && LEAPFROG_MODULE !== undefined) {
      const pages = Math.ceil((8 * size) / 65536)
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages })
      const instance = new WebAssembly.Instance(LEAPFROG_MODULE, {
        env: { memory, gradient: (k: number): void => this.active!.leafGradient(k), log: Math.log, log1p: Math.log1p }
      })
      this.heap = new Float64Array(memory.buffer)
      this.kernels = instance.exports as unknown as Kernels
    } else {
      this.heap = new Float64Array(size)
      this.kernels = scalarKernels(this.heap)
    }
    this.gaps = [0, this.heap.length]
  }
  /** The start of a free region of n doubles (n even) taken from the first gap it fits, or −1. */
  take(n: number): number {
    const gaps = this.gaps
    for (let k = 0; k < gaps.length; k += 2) {
      const start = gaps[k]!
      if (gaps[k + 1]! - start < n) continue
      if (gaps[k + 1]! - start === n) gaps.splice(k, 2)
      else gaps[k] = start + n
      return start
    }
    return -1
  }
  /** Returns the region of n doubles at `start`, zeroed (the kernels rely on zero padding). */
  give(start: number, n: number): void {
    this.heap.fill(0, start, start + n)
    const gaps = this.gaps, end = start + n
    let k = 0
    while (k < gaps.length && gaps[k]! < start) k += 2
    const joinsBefore = k > 0 && gaps[k - 1] === start, joinsAfter = k < gaps.length && gaps[k] === end
    if (joinsBefore && joinsAfter) gaps.splice(k - 1, 2)
    else if (joinsBefore) gaps[k - 1] = end
    else if (joinsAfter) gaps[k] = start
    else gaps.splice(k, 0, start, end)
  }
}

/** The arenas of this thread, by kind (WebAssembly or not); a new one only when none has room. */
const ARENAS: { wasm: Array<Arena>; scalar: Array<Arena> } = { wasm: [], scalar: [] }
/** Doubles in an arena (4 MiB) unless one Hamiltonian needs more. */
const ARENA_SIZE = 1 << 19

/** A Hamiltonian's region of an arena; its points hold it too, so it is returned when all are garbage. */
class Lease {
  readonly arena: Arena
  readonly at: number
  readonly n: number
  constructor(arena: Arena, at: number, n: number) {
    this.arena = arena
    this.at = at
    this.n = n
  }
}
const LEASES = new FinalizationRegistry<{ arena: Arena; at: number; n: number }>(({ arena, at, n }) => arena.give(at, n))

/** A region of n doubles (rounded up to even) of an arena of the kind `wasm` asks for. */
const lease = (n: number, wasm: boolean): Lease => {
  const m = n + (n & 1)
  const list = wasm && LEAPFROG_MODULE !== undefined ? ARENAS.wasm : ARENAS.scalar
  for (const arena of list) {
    const at = arena.take(m)
    if (at >= 0) return register(new Lease(arena, at, m))
  }
  const arena = new Arena(Math.max(ARENA_SIZE, m), list === ARENAS.wasm)
  list.push(arena)
  return register(new Lease(arena, arena.take(m), m))
}
const register = (l: Lease): Lease => {
  LEASES.register(l, { arena: l.arena, at: l.at, n: l.n }, l)
  return l
}

/**
 * A phase-space point with its density and force. q, p and g are views of a Hamiltonian's memory
 * (`heap`), at `at`, `at` + w and `at` + 2w with w = d rounded up to even (a point of its own
 * memory where none is given); they are replaced by views of another region when the Hamiltonian
 * needs a larger one (`bind`), so read them afresh, and they are the Hamiltonian's: valid while
 * it or the point is reachable.
 */
export class Point {
  q: Float64Array
  p: Float64Array
  g: Float64Array
  lp = -Infinity
  at: number
  /** The region the arrays are in (held so that it is not returned while the point is reachable). */
  lease: Lease | undefined
  private readonly d: number
  private readonly w: number
  constructor(d: number, heap?: Float64Array, at = 0, owner?: Lease) {
    const w = d + (d & 1)
    this.at = at
    this.d = d
    this.w = w
    this.lease = owner
    this.q = this.p = this.g = heap ?? new Float64Array(3 * w)
    this.bind(this.q, at, owner)
  }
  /** Makes q, p and g views of `heap` at `at` (the point's values are copied there first). */
  bind(heap: Float64Array, at: number, owner: Lease | undefined): void {
    const d = this.d, w = this.w
    this.at = at
    this.lease = owner
    this.q = heap.subarray(at, at + d)
    this.p = heap.subarray(at + w, at + w + d)
    this.g = heap.subarray(at + 2 * w, at + 2 * w + d)
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
 * The NUTS tree's vectors: w-long slots (d rounded up to even, the padding zero) of the
 * Hamiltonian's region of memory, after its header and points. The trajectory's ρ; its two parts' ρ
 * and inner end momenta (the backward part's last, the forward part's first); the outer ends'
 * momenta; each end's half-step momentum for its next leapfrog step (diagonal metric); √ of the
 * diagonal of M⁻¹ (a copy, diagonal metric); a merge's running ρ; a slot for writes that have no place to go;
 * then, per level j of the subtree being built, its pending left sibling of 2^j leaves: ρ, first
 * and last momentum (level 0's sibling is one leaf, whose momentum is all three: one slot). The
 * first seven change roles as the trajectory doubles (`nutsTransition` keeps their offsets).
 *
 * (They were a packed JavaScript array of doubles while the passes were JavaScript: V8 reads and
 * writes one about 1.5× as fast as a Float64Array in such loops. The kernels need the memory the
 * density reads and writes, so the tree, the points and the header share one.)
 */
const RHO = 0, RHO_FWD = 1, RHO_BCK = 2, P_FWD_BCK = 3, P_BCK_FWD = 4, P_FWD = 5, P_BCK = 6, H_FWD = 7, H_BCK = 8, DIAGONAL = 9, RUN = 10
const DISCARD = 11, LEVELS = 12

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
  /** The stream's generator where it is the library's xoroshiro128+ (`xoroshiroState`), whose state a NUTS transition steps itself. */
  private readonly generator: XoroshiroState | undefined
  /** Whether the header holds the generator's state (from after a NUTS transition's momentum to its end). */
  private generatorHeld = false
  private readonly scratch: Point
  private readonly v: Float64Array
  /**
   * The NUTS trajectory's points (`current` among them): the ends, the next leaf from each end,
   * the subtree's proposal and the draw hold at most 6; `free` is the stack of the others.
   */
  private readonly pool: Array<Point>
  private readonly free: Array<Point>
  /**
   * The Hamiltonian's region of an arena's memory (`heap`, from `lease.at`): `HEADER` doubles, the
   * points (3 slots each: q, p, g), the tree's slots (`RHO` …) from `storeAt`; slots are w
   * doubles, d rounded up to even.
   */
  private lease: Lease
  private heap: Float64Array
  private kernels: Kernels
  /** The region's header as a byte address (the kernels' `hdr`). */
  private hdr = 0
  /** The region's first double, where `gradientAt` writes the log density. */
  private lpOut: Float64Array
  /** The memory as int32s, and where the header's (`I_L0` …) start. */
  private ints: Int32Array
  private ib = 0
  /** `persistsDense` as a `Criterion`, for `mergeUp`. */
  private readonly denseCriterion: Criterion
  private readonly w: number
  private storeAt = 0
  /** Where the ziggurat's tables are (`TABLES`). */
  private tableAt = 0
  /** Whether the kernels are leapfrog.wat's (else `scalarKernels`). */
  private readonly wasm: boolean
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

  /** `wasm`: whether to use leapfrog.wat's kernels where WebAssembly is available (tests compare both). */
  constructor(target: Target, metric: Metric, rng: Rng, wasm = true) {
    const d = target.dimension
    this.d = d
    this.target = target
    this.metric = metric
    this.rng = rng
    this.generator = xoroshiroState(rng)
    this.wasm = wasm && LEAPFROG_MODULE !== undefined
    const w = d + (d & 1)
    this.w = w
    this.denseCriterion = (pMinus, pPlus, rhoA, rhoB, pAEnd, pBBeg, out) => (this.persistsDense(pMinus, pPlus, rhoA, rhoB, pAEnd, pBBeg, out) ? 1 : 0)
    const vec = (): Float64Array => new Float64Array(d)
    const points: Array<Point> = []
    for (let k = 0; k < POINTS; k++) points.push(new Point(d))
    this.current = points[0]!
    this.scratch = points[POINTS - 1]!
    this.v = vec()
    this.pool = points.slice(0, 7)
    this.free = [...this.pool]
    this.sums = [vec(), vec(), vec(), vec(), vec(), vec()]
    // (placeholders until `allocate` leases the region)
    this.lease = undefined as unknown as Lease
    this.heap = this.lpOut = vec()
    this.ints = new Int32Array(0)
    this.kernels = undefined as unknown as Kernels
    this.allocate(10)
  }

  /**
   * Room in the store for subtrees of up to 2^levels leaves: a new region, the points' values
   * copied into it (their arrays become views of it), the old region returned.
   */
  private allocate(levels: number): void {
    const w = this.w, points = HEADER + 3 * w * POINTS
    const old = this.lease
    const l = lease(points + (LEVELS + 3 * levels) * w + TABLES, this.wasm)
    const heap = l.arena.heap, at = l.at
    const all = [...this.pool, this.scratch]
    for (let k = 0; k < all.length; k++) {
      const z = all[k]!, to = at + HEADER + 3 * w * k
      if (old !== undefined) heap.set(old.arena.heap.subarray(z.at, z.at + 3 * w), to)
      z.bind(heap, to, l)
    }
    if (old !== undefined) {
      LEASES.unregister(old)
      old.arena.give(old.at, old.n)
    }
    this.lease = l
    this.heap = heap
    this.kernels = l.arena.kernels
    this.hdr = 8 * at
    this.lpOut = heap.subarray(at + LP_AT, at + LP_AT + 1)
    this.ints = new Int32Array(heap.buffer)
    this.ib = (8 * at + 64) >> 2
    this.storeAt = at + points
    this.tableAt = this.storeAt + (LEVELS + 3 * levels) * w
    heap.set(ZIGGURAT_X, this.tableAt)
    heap.set(ZIGGURAT_RATIO, this.tableAt + ZIGGURAT_X.length)
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
    gradientAt(this.target, q, g, this.lpOut)
    const lp = this.lpOut[0]!
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
   * half-step momentum and position from that end (used if the trajectory grows there again), and
   * the transition's start makes the first leaf's each way, so a leapfrog step is a gradient and
   * one kernel call (`Kernels.leaf` or `Kernels.right`, which also does the leaf's checks). The ends, the subtree's proposal and the draw are
   * references to points; a point none of them holds is free. Where the kernels are
   * WebAssembly's and the generator's state is held, this loop runs in them instead
   * (`treeInKernels`), the same steps in the same order.
   *
   * A subtree's multinomial proposal is drawn as its leaves are made: leaf i replaces the
   * proposal with probability w_i / (w_1 + … + w_i), so the proposal is leaf i with probability
   * w_i / W, the distribution Stan's pairwise selection at each merge gives (Betancourt 2017,
   * §A.3.1).
   */
  nutsTransition(): void {
    if (this.generator === undefined) {
      this.nutsTree(false)
      return
    }
    // the momentum (diagonal metric) and the tree's uniforms come from the stream's state held as
    // int32s in the header (`Kernels.normals`, `uniformOf`), given back to the generator for the
    // ziggurat's slow path, at the end, and when the density throws
    try {
      this.nutsTree(true)
    } finally {
      if (this.generatorHeld) this.releaseGenerator(this.ib + I_GEN)
    }
  }

  /** The generator's state into the int32s at `at` (`I_GEN`), where the transition steps it. */
  private holdGenerator(at: number): void {
    const st = this.generator!, I = this.ints
    I[at] = st.s00
    I[at + 1] = st.s01
    I[at + 2] = st.s10
    I[at + 3] = st.s11
    this.generatorHeld = true
  }

  /** The state at `at` back into the generator. */
  private releaseGenerator(at: number): void {
    const st = this.generator!, I = this.ints
    st.s00 = I[at]!
    st.s01 = I[at + 1]!
    st.s10 = I[at + 2]!
    st.s11 = I[at + 3]!
    this.generatorHeld = false
  }

  /** `nutsTransition`, its momentum and uniforms from the generator's state in the header where `local`, else from `rng` itself. */
  private nutsTree(local: boolean): void {
    const d = this.d, w = this.w, n2 = w >> 1, rng = this.rng, metric = this.metric, stats = this.stats, target = this.target
    const maxDepth = this.maxTreeDepth
    if (this.levelCapacity < maxDepth) this.allocate(maxDepth)
    const S = this.heap, K = this.kernels, lpOut = this.lpOut, base = this.storeAt, I = this.ints, ib = this.ib, hdr = this.hdr, hd = hdr >> 3
    // (where the generator's state is held, or −1: after `allocate`, which moves the header)
    const gen = local ? ib + I_GEN : -1
    const diag = metric.isDiagonal
    const hf = base + H_FWD * w, hb = base + H_BCK * w, md = base + DIAGONAL * w
    const run = base + RUN * w, discard = base + DISCARD * w, L0 = base + LEVELS * w, LEVEL1 = L0 + 3 * w
    I[ib + I_L0] = L0
    I[ib + I_RUN] = run
    // both ends start at the current point with a fresh momentum; `cur` is the selected draw (it
    // starts as the initial point and is replaced as subtrees are accepted); every other point is free
    let cur = this.current, propose = cur, fwdEnd = cur, bckEnd = cur
    const pool = this.pool, free = this.free
    let top = 0
    // (diagonal metric: the next leaf from each end, its position made as the leaf before it makes it)
    let fwdNext = cur, bckNext = cur
    const stepSize = this.stepSize
    const p0 = this.scratch.p, p0At = this.scratch.at + w
    if (diag) {
      // the whitened momentum u ~ N(0, I): from the library's streams by the kernels' ziggurat,
      // whose rare slow path (a draw outside its layer's rectangle) runs here with the state handed
      // back for it; √(M⁻¹)ᵢᵢ into the store when the metric has changed
      if (gen >= 0) {
        this.holdGenerator(gen)
        for (let k = 0; k < d; ) {
          k += K.normals(hdr, p0At + k, d - k, this.tableAt)
          if (k === d) break
          this.releaseGenerator(gen)
          zigguratSlowAt(rng as Xoroshiro, S[hd + SLOW_U_AT]!, I[ib + I_SLOW_LAYER]!, S, p0At + k++)
          this.holdGenerator(gen)
        }
      } else metric.sampleWhitened(rng, p0)
      if (this.storedMetric !== metric.version) {
        const sq = metric.sqrtDiagonal
        for (let i = 0; i < d; i++) S[md + i] = sq[i]!
        this.storedMetric = metric.version
      }
      if (gen >= 0 && K.tree !== undefined) {
        this.treeInKernels(cur, p0At, maxDepth)
        return
      }
    }
    for (let k = 0; k < pool.length; k++) if (pool[k] !== cur) free[top++] = pool[k]!
    if (!diag) {
      metric.sampleMomentum(rng, p0)
      metric.velocity(p0, this.v)
      if (gen >= 0) this.holdGenerator(gen)
    }
    // (the kinetic energy, ½ uᵀu or ½ pᵀM⁻¹p, in the same pass)
    let kinetic = 0
    if (diag) {
      fwdNext = free[--top]!
      bckNext = free[--top]!
      S[hd + HALF_AT] = 0.5 * stepSize
      S[hd + EPSILON_AT] = stepSize
      K.start(hdr, p0At, base + RHO * w, base + P_FWD * w, base + P_BCK * w, md, cur.at, cur.at + 2 * w, hf, fwdNext.at, hb, bckNext.at, n2)
      kinetic = S[hd + KINETIC_AT]!
    } else {
      const v = this.v
      for (let i = 0; i < d; i++) {
        const p = p0[i]!
        S[base + RHO * w + i] = p
        S[base + P_FWD * w + i] = p
        S[base + P_BCK * w + i] = p
        kinetic += p * v[i]!
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
    // where the trajectory's ρ, its parts' ρ and its end and inner momenta are: slots change roles
    // instead of being copied
    let rho = base + RHO * w, rhoF = base + RHO_FWD * w, rhoB = base + RHO_BCK * w, pF = base + P_FWD * w, pB = base + P_BCK * w
    let pFB = base + P_FWD_BCK * w, pBF = base + P_BCK_FWD * w
    let depth = 0, gradients = 0
    while (depth < maxDepth) {
      // the new subtree integrates from one end of the trajectory, moving that end; the old
      // trajectory becomes the other part (its ρ the trajectory's), its inner end the old end on
      // this side (whose momentum the first leaf starts from, at `inner`)
      uniformOf(rng, I, gen)
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
      I[ib + I_RHO_OUT] = rhoOut
      I[ib + I_BEG_OUT] = begOut
      I[ib + I_RHO] = rho
      I[ib + I_RHO_FWD] = rhoF
      I[ib + I_RHO_BCK] = rhoB
      I[ib + I_P_FWD] = pF
      I[ib + I_P_BCK] = pB
      I[ib + I_P_FWD_BCK] = pFB
      I[ib + I_P_BCK_FWD] = pBF
      const epsilon = forward ? stepSize : -stepSize, half = 0.5 * epsilon
      S[hd + HALF_AT] = half
      S[hd + EPSILON_AT] = epsilon
      const leaves = 1 << depth
      // the subtree's summed leaf weights, Σ e^{δᵢ − subShift}
      let subWeight = 0, subShift = 0
      let valid = true
      // (a right leaf: `Kernels.right`'s result for it, the last one's also the trajectory's criterion)
      let bits = 0
      for (let n = 0; n < leaves; n++) {
        // where this leaf's momentum goes as it is made. A left leaf (n even) waits at level 0
        // (a one-leaf subtree is the whole: its ρ and first momentum). A right leaf ends the
        // subtrees of 2, …, 2^t leaves that end at it (t the trailing ones of n): the first merge,
        // with the leaf before, sums into RUN when more follow, else into the level-1 sibling (its
        // first momentum the leaf before's, its last this one's) or the subtree's ρ. Writes with
        // no place to go land in DISCARD.
        const even = (n & 1) === 0, complete = n === leaves - 1
        const t = even ? 0 : 31 - Math.clz32(~n & (n + 1))
        const one = leaves === 1
        const sum0 = even ? (one ? rhoOut : L0) : t > 1 ? run : complete ? rhoOut : LEVEL1
        const beg0 = even ? (one ? begOut : discard) : t > 1 ? discard : complete ? begOut : LEVEL1 + w
        const end0 = even || t > 1 || complete ? discard : LEVEL1 + 2 * w
        // one leapfrog step from the moving end `from` to a new point `z`; H = +∞ where the
        // density or the force is not finite
        const from = forward ? fwdEnd : bckEnd
        let z: Point
        let h: number
        gradients++
        if (diag) {
          // the first half step and the position, which the leaf before from this end (or the
          // transition's start) made
          z = forward ? fwdNext : bckNext
          gradientAt(target, z.q, z.g, lpOut)
          z.lp = S[hd + LP_AT]!
          // the second half step (p at po), and the next leaf's half step (at ph) and position
          // (in `after`); a force that is not finite makes the kinetic energy NaN or +∞ (it is a
          // sum of uᵢ² ≥ 0), so H = +∞ without a separate check. A left leaf's momentum waits at
          // `po`, where the right leaf after it reads it (before overwriting it) as the left
          // sibling's; the one leaf of a subtree of one is also its ρ and first momentum. A right
          // leaf ends a pair: its ρ, first and last momenta go to the level-1 sibling or the
          // subtree's ρ, or, when the pair's sum goes on into larger merges, the sum to RUN and
          // the left leaf's momentum to L0 (the pair's first, for the merge at level 1).
          const after = free[--top]!, g = z.at + 2 * w
          if (even) bits = K.leaf(hdr, po, ph, md, g, z.at, after.at, one ? sum0 : discard, one ? beg0 : discard, n2, one ? 1 : 0)
          else bits = K.right(hdr, po, ph, md, g, z.at, after.at, sum0, t > 1 ? L0 : beg0, end0, n2, t, complete ? 1 : 0)
          if (forward) fwdNext = after
          else bckNext = after
          // (a NaN H fails the divergence test below as +∞ does)
          h = S[hd + H_AT]!
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
          if (even) {
            for (let i = 0; i < d; i++) S[sum0 + i] = p[i]!
            if (one) bits = 4 * trajectoryPersists(I, ib, this.denseCriterion, n2)
          } else bits = this.persistsDense(L0, po, L0, po, L0, po, sum0) ? mergeUp(I, ib, this.denseCriterion, K.copy, po, n2, t, complete) : 0
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
        const weight = Math.exp(ratio)
        sumMetroProb += delta > 0 ? 1 : ratio === delta ? weight : Math.exp(delta)
        const total = subWeight + weight
        subWeight = total
        let take = weight >= total
        if (!take) {
          // (once inlined here as the leaf's draw on every step; that hot path is `Kernels.tree`'s now)
          uniformOf(rng, I, gen)
          take = U[0]! * total < weight
        }
        if (take) {
          const old = propose
          propose = z
          if (old !== cur && old !== fwdEnd && old !== bckEnd) free[top++] = old
          proposeEnergy = h
        }
        if (even) continue
        if ((bits & 3) !== 3) {
          valid = false
          break
        }
      }
      if (!valid) break
      depth++
      // biased progressive sampling (Betancourt 2017, §A.3.2): the new subtree's proposal replaces
      // the draw with probability min(1, W_subtree / W_old). Both weights are linear, relative to
      // their shifts, which are 0 unless a leaf's weight would have overflowed: then in logs.
      let replace: boolean
      if (subShift === sumShift) {
        const ratio = subWeight / sumWeight
        replace = ratio > 1 || (uniformOf(rng, I, gen), U[0]! < ratio)
        sumWeight += subWeight
      } else {
        this.rescalings.merges++
        const logSub = Math.log(subWeight) + subShift
        const logSum = Math.log(sumWeight) + sumShift
        replace = logSub > logSum || (uniformOf(rng, I, gen), U[0]! < Math.exp(logSub - logSum))
        sumWeight = 1
        sumShift = logAddExp(logSum, logSub)
      }
      if (replace) {
        const old = cur
        cur = propose
        if (old !== fwdEnd && old !== bckEnd) free[top++] = old
        sampleEnergy = proposeEnergy
      }
      // the no-U-turn criterion over the whole trajectory and across the merged halves, which the
      // subtree's last leaf checked (`trajectoryPersists`, from its `leaf`, `right` or `mergeUp`)
      if ((bits & 4) === 0) break
    }
    this.current = cur
    if (diag) this.gradients += gradients // (`leapfrog` counts its own)
    stats.treeDepth = depth
    stats.leapfrogSteps = gradients
    stats.diverging = divergent
    stats.acceptStat = gradients > 0 ? sumMetroProb / gradients : 0
    stats.energy = sampleEnergy
  }

  /** The density at point k of `pool` (`Arena.active`'s, while `Kernels.tree` runs). */
  leafGradient(k: number): void {
    const z = this.pool[k]!
    gradientAt(this.target, z.q, z.g, this.lpOut)
  }

  /**
   * The rest of the transition from `cur` with its whitened momentum at S[p0At], in one call of
   * `Kernels.tree` (diagonal metric, the generator's state held, WebAssembly): the loop below in
   * leapfrog.wat, each leaf's density through `leafGradient`. The points' log densities live in
   * the header meanwhile; only the selected point's is copied back (the others are scratch).
   */
  private treeInKernels(cur: Point, p0At: number, maxDepth: number): void {
    const S = this.heap, I = this.ints, ib = this.ib, hd = this.hdr >> 3, stats = this.stats
    const pts = this.lease.at + HEADER, c = (cur.at - pts) / (3 * this.w)
    S[hd + STEP_AT] = this.stepSize
    S[hd + LPS_AT + c] = cur.lp
    // (the arena's import is set for this call and restored after it, so that a density that
    // runs a transition of another Hamiltonian on the same arena finds its own again, and the
    // arena does not keep this Hamiltonian, and its region, reachable)
    const arena = this.lease.arena, outer = arena.active
    arena.active = this
    let k: number
    try {
      k = this.kernels.tree!(this.hdr, this.w >> 1, this.storeAt, pts, p0At, c, maxDepth)
    } finally {
      arena.active = outer
    }
    const chosen = this.pool[k]!
    chosen.lp = S[hd + LPS_AT + k]!
    this.current = chosen
    const steps = I[ib + I_STEPS]!
    this.gradients += steps
    this.rescalings.leaves += I[ib + I_RESCALED_LEAVES]!
    this.rescalings.merges += I[ib + I_RESCALED_MERGES]!
    stats.treeDepth = I[ib + I_DEPTH]!
    stats.leapfrogSteps = steps
    stats.diverging = I[ib + I_DIVERGENT] !== 0
    stats.acceptStat = steps > 0 ? S[hd + METRO_AT]! / steps : 0
    stats.energy = S[hd + ENERGY_AT]!
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
    const d = this.d, metric = this.metric, S = this.heap
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
