// Standard normals in bulk, for the Hamiltonian samplers' momenta (and nothing else: `Rng.normal`,
// which every model's draws use, keeps Marsaglia's polar method and its stream): the ziggurat of
// Marsaglia & Tsang (2000), "The Ziggurat Method for Generating Random Variables", J. Stat.
// Softw. 5(8), in the form of Doornik (2005), "An Improved Ziggurat Method to Generate Normal
// Random Samples", whose point is drawn with independent bits for the layer and for the abscissa
// (Marsaglia & Tsang took both from one 32-bit word, which correlates them).
//
// The half-density f(x) = e^{−x²/2} on x ≥ 0 is covered by 128 layers of equal area V: layer 0 is
// the rectangle [0, r] × [0, f(r)] together with the tail beyond r (area r·f(r) + ∫_r^∞ f), and
// layer i ≥ 1 the rectangle [0, xᵢ] × [f(xᵢ), f(xᵢ₊₁)], x₁ = r > x₂ > … > x₁₂₈ = 0, so
// xᵢ·(f(xᵢ₊₁) − f(xᵢ)) = V. A draw picks a layer i uniformly and u uniform on (−1, 1), x = u·xᵢ
// (layer 0 has the virtual width x₀ = V/f(r)). If |x| < xᵢ₊₁ the point is under the curve: x is
// returned (98.8 % of draws, two generator words and a compare). Otherwise, in layer 0 the draw
// is from the tail, by Marsaglia's (1964) exact method; in layer i ≥ 1 x is kept if a height
// uniform on [f(xᵢ), f(xᵢ₊₁)] falls below f(x), else everything is drawn afresh. The result is
// exactly N(0, 1) up to the tables' double rounding: r and V are solved here, at module load,
// so that the top layer closes at f(0) = 1 to machine precision (Marsaglia & Tsang print
// r = 3.442619855899, V = 9.91256303526217e−3; this finds r = 3.4426198558966528,
// V = 9.9125630353364e−3, every layer's area V to 3e−13).
//
// Each draw reads two 32-bit words of the stream's xoroshiro128+ and, as `Xoroshiro.uniform`
// does, drops their low 6 bits (the weak ones of xoroshiro128+): 7 of the 52 left pick the layer,
// 45 make u = (m + ½)·2⁻⁴⁴ − 1 (symmetric about 0, never 0). The polar method takes two
// uniforms, four words, per accepted point of the unit disc (π/4 of them) and a log, a sqrt and a
// division per pair. Measured at d = 10: 101 ns for a momentum against 176 for the polar method
// made in bulk (this file's previous form), 9–12 ns less per leapfrog step of an eight-schools
// NUTS trajectory (≈ 4.5 %, in-process A/B over 300 seeds). The stream is not `Rng.normal`'s, so
// a chain's draws changed with it; they are still a function of the seed alone. A pending polar
// spare of the stream is left for its next `normal()`. Another source (a scripted one) is called
// draw by draw through `normal()`.
import { make, type Rng, Xoroshiro } from "@fugue/core/Rng"

const LAYERS = 128
/** 2^-44: u's resolution. */
const TWO_POW_M44 = 5.684341886080802e-14

/** ∫_r^∞ e^{−x²/2} dx = e^{−r²/2}·R(r), R the Mills ratio by its continued fraction 1/(r + 1/(r + 2/(r + …))) (Laplace), r > 2. */
const tailArea = (r: number): number => {
  let cf = r
  for (let k = 300; k >= 1; k--) cf = r + k / cf
  return Math.exp(-0.5 * r * r) / cf
}

/** The layers' right edges x₀ … x₁₂₈ for the base edge r, and the top layer's excess f(x₁₂₇) + V/x₁₂₇ − 1 (0 when r is right). */
const layersFor = (r: number, x: Float64Array): number => {
  const fr = Math.exp(-0.5 * r * r)
  const v = r * fr + tailArea(r)
  x[0] = v / fr
  x[1] = r
  let f = fr
  for (let i = 2; i < LAYERS; i++) {
    const top = f + v / x[i - 1]!
    // the layers reach the top before the 128th: r is too small
    if (top >= 1) return top - 1 + (LAYERS - i)
    x[i] = Math.sqrt(-2 * Math.log(top))
    f = Math.exp(-0.5 * x[i]! * x[i]!)
  }
  x[LAYERS] = 0
  return f + v / x[LAYERS - 1]! - 1
}

/** xᵢ, the layers' right edges (x₀ = V/f(r), x₁ = r, x₁₂₈ = 0). */
const X = new Float64Array(LAYERS + 1)
/** f(xᵢ) = e^{−xᵢ²/2}. */
const F = new Float64Array(LAYERS + 1)
/** xᵢ₊₁ / xᵢ: |u| below it is inside layer i's rectangle under the curve. */
const RATIO = new Float64Array(LAYERS)
/** The base edge r. */
let R = 0
{
  // bisection on r: the top layer's excess falls as r grows (a larger r, a smaller V, layers that
  // climb more slowly); 3.4 and 3.5 bracket Marsaglia & Tsang's value
  let lo = 3.4, hi = 3.5
  for (let k = 0; k < 200 && hi - lo > 0; k++) {
    const mid = 0.5 * (lo + hi)
    if (mid === lo || mid === hi) break
    if (layersFor(mid, X) > 0) lo = mid
    else hi = mid
  }
  R = hi
  layersFor(R, X)
  for (let i = 0; i <= LAYERS; i++) F[i] = Math.exp(-0.5 * X[i]! * X[i]!)
  for (let i = 0; i < LAYERS; i++) RATIO[i] = X[i + 1]! / X[i]!
}

/**
 * The ziggurat's tables, for tests: the layers' edges x₀ … x₁₂₈ and the base edge r.
 */
export const zigguratTables = (): { readonly x: Float64Array; readonly r: number } => ({ x: X.slice(), r: R })

const TWO_POW_M52 = 2.220446049250313e-16

/**
 * `Xoroshiro.uniform`'s draw (two words, the low 6 bits dropped), read from the generator as the
 * fast path reads it, into U[0]: V8 does not inline a call on this cold path, and a number
 * returned from a call is boxed (an allocation), a number stored in a Float64Array is not.
 */
const U = new Float64Array(1)
const Z = new Float64Array(1)
const uniformOf = (gen: Xoroshiro["gen"]): number => {
  U[0] = ((gen.next() >>> 6) * 67108864 + (gen.next() >>> 6) + 0.5) * TWO_POW_M52
  return 0
}

/**
 * The rest of a draw that fell outside layer i's rectangle (u its abscissa on (−1, 1)): the tail,
 * a wedge's accept–reject, or fresh points until one is accepted.
 */
const zigguratSlow = (rng: Xoroshiro, u: number, i: number): number => {
  const gen = rng.gen
  for (;;) {
    if (i === 0) {
      // the tail beyond r (Marsaglia 1964): x = r + e₁/r, accepted when e₂ ≥ (e₁/r)²/2
      let e: number, t: number
      do {
        e = -Math.log(U[uniformOf(gen)]!) / R
        t = -Math.log(U[uniformOf(gen)]!)
      } while (t + t < e * e)
      return u < 0 ? -(R + e) : R + e
    }
    const x = u * X[i]!
    if (F[i]! + U[uniformOf(gen)]! * (F[i + 1]! - F[i]!) < Math.exp(-0.5 * x * x)) return x
    const hi = gen.next() >>> 6
    const lo = gen.next() >>> 6
    i = hi & 127
    u = ((hi >>> 7) * 67108864 + lo + 0.5) * TWO_POW_M44 - 1
    if (Math.abs(u) < RATIO[i]!) return u * X[i]!
  }
}

/** `zigguratSlow`'s draw into Z[0] (returned as a number, it would be boxed). */
const zigguratSlowInto = (rng: Xoroshiro, u: number, i: number): void => {
  Z[0] = zigguratSlow(rng, u, i)
}

/**
 * The ziggurat's slow path for a draw that fell outside layer i's rectangle (u its abscissa), from
 * `rng`'s generator, into out[at]: for a caller that runs the fast path itself (the NUTS
 * transition's WebAssembly kernels) with the generator's state written back first.
 */
export const zigguratSlowAt = (rng: Xoroshiro, u: number, i: number, out: Float64Array, at: number): void => {
  zigguratSlowInto(rng, u, i)
  out[at] = Z[0]!
}

/** The layers' right edges x₀ … x₁₂₈ (read only), for a fast path run elsewhere. */
export const ZIGGURAT_X: Float64Array = X
/** xᵢ₊₁ / xᵢ, i = 0 … 127 (read only): |u| below it is under the curve. */
export const ZIGGURAT_RATIO: Float64Array = RATIO

/**
 * One standard normal by the ziggurat from `rng`'s own stream (an `Xoroshiro`).
 *
 * @example
 * const z = zigguratNormal(rng as Xoroshiro)
 */
export const zigguratNormal = (rng: Xoroshiro): number => {
  const gen = rng.gen
  const hi = gen.next() >>> 6
  const lo = gen.next() >>> 6
  const i = hi & 127
  const u = ((hi >>> 7) * 67108864 + lo + 0.5) * TWO_POW_M44 - 1
  return Math.abs(u) < RATIO[i]! ? u * X[i]! : zigguratSlow(rng, u, i)
}

/**
 * pure-rand's xoroshiro128+ generator as `Xoroshiro.gen` holds it: its 128 bits of state in four
 * int32 fields, which `next()` reads and writes once per 32-bit word.
 */
export interface XoroshiroState {
  s01: number
  s00: number
  s11: number
  s10: number
}
const XOROSHIRO_CLASS: unknown = (make(0) as Xoroshiro).gen.constructor

/**
 * The generator state of `rng` when it is one of the library's own streams (an `Xoroshiro` over
 * pure-rand's xoroshiro128+, whose four int32 fields `normalsOver` and the NUTS transition step
 * themselves), else undefined.
 */
export const xoroshiroState = (rng: Rng): XoroshiroState | undefined =>
  rng instanceof Xoroshiro && rng.gen.constructor === XOROSHIRO_CLASS ? (rng.gen as unknown as XoroshiroState) : undefined

/**
 * out[i] = zᵢ / scale[i] (zᵢ itself where `scale` is undefined) for i < d, z₀, z₁, … standard
 * normals: the ziggurat's for the library's own streams, `rng.normal()`'s for any other source.
 *
 * **Details**: for pure-rand's xoroshiro128+ (the library's streams) the generator's state is
 * read into four locals, stepped here (Blackman & Vigna's xoroshiro128+ as pure-rand's `next()`
 * steps it, the same words in the same order) and written back once, before the ziggurat's slow
 * path (which reads the generator itself) and at the end: its fields hold int32s beyond the small
 * integers, so each `next()` reads and writes four boxed fields. Its class, from `Rng.make`,
 * identifies it. Same draws; measured at d = 10: 79–85 against 88–94 ns for a momentum, 1.9 %
 * of an eight-schools NUTS leapfrog step (paired A/B, CPU time).
 *
 * @example
 * normalsOver(rng, p, sqrtDiagonal, d) // p ~ N(0, diag(1 / sqrtDiagonal²))
 */
export const normalsOver = (rng: Rng, out: Float64Array, scale: Float64Array | undefined, d: number): void => {
  if (!(rng instanceof Xoroshiro)) {
    for (let i = 0; i < d; i++) out[i] = scale === undefined ? rng.normal() : rng.normal() / scale[i]!
    return
  }
  const gen = rng.gen
  if (gen.constructor !== XOROSHIRO_CLASS) {
    normalsOverGenerator(rng, out, scale, d)
    return
  }
  const st = gen as unknown as XoroshiroState
  let s01 = st.s01 | 0, s00 = st.s00 | 0, s11 = st.s11 | 0, s10 = st.s10 | 0
  for (let k = 0; k < d; k++) {
    // two steps of xoroshiro128+ (pure-rand's next(): the word is the low halves' sum)
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
    let z: number
    if (Math.abs(u) < RATIO[i]!) z = u * X[i]!
    else {
      // (the slow path steps the generator itself: the state goes back first, and is read again)
      st.s01 = s01
      st.s00 = s00
      st.s11 = s11
      st.s10 = s10
      zigguratSlowInto(rng, u, i)
      z = Z[0]!
      s01 = st.s01 | 0
      s00 = st.s00 | 0
      s11 = st.s11 | 0
      s10 = st.s10 | 0
    }
    out[k] = scale === undefined ? z : z / scale[k]!
  }
  st.s01 = s01
  st.s00 = s00
  st.s11 = s11
  st.s10 = s10
}

/** `normalsOver` for another generator behind an `Xoroshiro`: word by word through its `next()`. */
const normalsOverGenerator = (rng: Xoroshiro, out: Float64Array, scale: Float64Array | undefined, d: number): void => {
  const gen = rng.gen
  for (let k = 0; k < d; k++) {
    const hi = gen.next() >>> 6
    const lo = gen.next() >>> 6
    const i = hi & 127
    const u = ((hi >>> 7) * 67108864 + lo + 0.5) * TWO_POW_M44 - 1
    // (the slow path's draw through Z[0]: a number returned from a call is boxed, and a
    // conditional mixing it with the fast path's would box the fast path's too)
    let z: number
    if (Math.abs(u) < RATIO[i]!) z = u * X[i]!
    else {
      zigguratSlowInto(rng, u, i)
      z = Z[0]!
    }
    out[k] = scale === undefined ? z : z / scale[k]!
  }
}
