/**
 * Seedable random numbers for models and inference. `Rng` wraps pure-rand's xoroshiro128+
 * generator (mutable, 128 bits of state) and adds what samplers need: open-interval uniform
 * doubles, standard normals, and independent streams by jumping (2^64 steps apart), so
 * chains and particles never share a stream. A scripted source (`fromUniforms`) drives exact
 * tests with a known list of uniforms.
 *
 * @since 0.1.0
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from "pure-rand/generator/xoroshiro128plus"
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator"
import erfc from "@stdlib/math-base-special-erfc"

/**
 * A source of randomness: everything a sampler may ask for.
 *
 * @example
 * const rng = Rng.make(42)
 * const u = rng.uniform() // in (0, 1)
 * const z = rng.normal()  // standard normal
 *
 * @category models
 * @since 0.1.0
 */
export interface Rng {
  /** A uniform double in the open interval (0, 1), 52 bits of randomness. */
  uniform(): number
  /** A standard normal draw. */
  normal(): number
  /** A new, independent stream; this stream is left unchanged in distribution. */
  split(): Rng
  /** A copy of this stream in its current state (same future draws). */
  clone(): Rng
}

const TWO_POW_M52 = 2.220446049250313e-16 // 2^-52

/**
 * The default random source: xoroshiro128+ from pure-rand.
 *
 * @example
 * const rng = new Xoroshiro(xoroshiro128plus(7))
 *
 * @category constructors
 * @since 0.1.0
 */
export class Xoroshiro implements Rng {
  readonly gen: JumpableRandomGenerator
  /** Second normal of the last polar pair, or NaN when none is cached. */
  spare: number
  constructor(gen: JumpableRandomGenerator, spare = Number.NaN) {
    this.gen = gen
    this.spare = spare
  }
  uniform(): number {
    // 52 random bits x, returned as (x + 1/2)·2^-52: strictly inside (0, 1) (the largest value,
    // 1 − 2^-53, is exact), so log(u) and log(1 − u) are always finite.
    const hi = this.gen.next() >>> 6
    const lo = this.gen.next() >>> 6
    return (hi * 67108864 + lo + 0.5) * TWO_POW_M52
  }
  normal(): number {
    const spare = this.spare
    if (spare === spare) {
      this.spare = Number.NaN
      return spare
    }
    // Marsaglia polar method (Marsaglia & Bray 1964): one log and one sqrt per pair.
    let u: number, v: number, s: number
    do {
      u = 2 * this.uniform() - 1
      v = 2 * this.uniform() - 1
      s = u * u + v * v
    } while (s >= 1 || s === 0)
    const m = Math.sqrt((-2 * Math.log(s)) / s)
    this.spare = v * m
    return u * m
  }
  split(): Rng {
    // The child continues from the current state; this stream jumps 2^64 steps ahead,
    // so the two never overlap (Blackman & Vigna's jump polynomial).
    const child = new Xoroshiro(this.gen.clone())
    this.gen.jump()
    this.spare = Number.NaN
    return child
  }
  clone(): Rng {
    return new Xoroshiro(this.gen.clone(), this.spare)
  }
}


/**
 * A seeded xoroshiro128+ stream.
 *
 * @example
 * const a = Rng.make(1), b = Rng.make(1)
 * a.uniform() === b.uniform() // true
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (seed: number): Rng => new Xoroshiro(generatorOf(seed))

/**
 * A stream's complete state, as plain data: the generator's words and the cached second normal
 * (NaN when none), for checkpoints. `fromState` resumes the same stream exactly.
 *
 * @example
 * const state = Rng.stateOf(rng) // { generator: [...], spare: NaN }
 *
 * @category models
 * @since 0.2.0
 */
export interface State {
  readonly generator: ReadonlyArray<number>
  readonly spare: number
}

/**
 * The state of a stream made by `make`, `streams` or `split` (an `Xoroshiro`); a `TypeError`
 * for any other `Rng`, whose state this library cannot know.
 *
 * @example
 * const saved = Rng.stateOf(rng)
 * Rng.fromState(saved).uniform() === rng.uniform() // true
 *
 * @category getters
 * @since 0.2.0
 */
export const stateOf = (rng: Rng): State => {
  if (!(rng instanceof Xoroshiro)) throw new TypeError("Rng.stateOf: only the library's own streams (Rng.make, streams, split) have a state that can be saved")
  return { generator: [...rng.gen.getState()], spare: rng.spare }
}

/**
 * The stream in `state` (from `stateOf`), continuing exactly where it was saved.
 *
 * @example
 * const rng = Rng.fromState(checkpoint.rng)
 *
 * @category constructors
 * @since 0.2.0
 */
export const fromState = (state: State): Rng => new Xoroshiro(xoroshiro128plusFromState([...state.generator]), state.spare)

const TWO_POW_32 = 4294967296

/** A 32-bit integer hash (the murmur3 finaliser), so nearby high words give unrelated states. */
const mix32 = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) | 0
}

/**
 * The generator for a seed, using every bit of a safe integer: seeds in the 32-bit signed
 * range keep pure-rand's own seeding (so their streams are unchanged), any other safe
 * integer also mixes its high word into the state (2^32 and 0, or 5 and 5 + 2^40, differ).
 * A seed that is not a safe integer is rejected (`RangeError`), never truncated.
 */
const generatorOf = (seed: number): JumpableRandomGenerator => {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng.make: the seed must be a safe integer, got ${String(seed)}`)
  const lo = seed | 0
  if (lo === seed) return xoroshiro128plus(lo)
  const hi = Math.floor(seed / TWO_POW_32) | 0
  const h = mix32(hi)
  return xoroshiro128plusFromState([-1 ^ h, ~lo, lo, mix32(h ^ 0x9e3779b9) | 1])
}

/**
 * A fresh seed from the platform's cryptographic random source: a non-negative safe integer.
 *
 * @example
 * const seed = Rng.freshSeed()
 * const rng = Rng.make(seed) // record `seed` to reproduce the run
 *
 * @category constructors
 * @since 0.1.0
 */
export const freshSeed = (): number => {
  const words = new Uint32Array(2)
  globalThis.crypto.getRandomValues(words)
  return (words[0] & 0x1fffff) * TWO_POW_32 + words[1]
}

/**
 * `n` independent streams derived from one seed by repeated jumps: stream `i` is the same
 * whatever `n` is, so a chain's draws do not depend on how many chains run beside it.
 *
 * @example
 * const [chain0, chain1] = Rng.streams(42, 2)
 *
 * @category constructors
 * @since 0.1.0
 */
export const streams = (seed: number, n: number): Array<Rng> => {
  const root = make(seed)
  const out: Array<Rng> = []
  for (let i = 0; i < n; i++) out.push(root.split())
  return out
}

/**
 * Thrown by a scripted source that has run out of uniforms.
 *
 * @example
 * const rng = Rng.fromUniforms([0.5])
 * rng.uniform() // 0.5
 * rng.uniform() // throws ScriptExhaustedError
 *
 * @category errors
 * @since 0.1.0
 */
export class ScriptExhaustedError extends Error {
  readonly _tag = "ScriptExhaustedError"
}

/**
 * A scripted source that returns the given uniforms in order (for exact tests). Normals are
 * made from the script by the inverse CDF, one uniform each.
 *
 * @example
 * const rng = Rng.fromUniforms([0.5, 0.25])
 * rng.uniform() // 0.5
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromUniforms = (uniforms: ReadonlyArray<number>): Rng => {
  let i = 0
  const self: Rng = {
    uniform() {
      if (i >= uniforms.length) throw new ScriptExhaustedError(`scripted Rng ran out after ${uniforms.length} uniforms`)
      return uniforms[i++]
    },
    normal() {
      return normalQuantile(self.uniform())
    },
    split: () => fromUniforms(uniforms.slice(i)),
    clone: () => fromUniforms(uniforms.slice(i))
  }
  return self
}

/**
 * The standard normal quantile function (Acklam's rational approximation refined by one
 * Halley step, relative error below 1e-15).
 *
 * @example
 * normalQuantile(0.975) // ≈ 1.959964
 *
 * @category numerics
 * @since 0.1.0
 */
export const normalQuantile = (p: number): number => {
  if (p <= 0) return -Infinity
  if (p >= 1) return Infinity
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239]
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1]
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416]
  const plow = 0.02425
  let x: number
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p))
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  } else if (p <= 1 - plow) {
    const q = p - 0.5
    const r = q * q
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p))
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  }
  // One Halley step against the exact CDF.
  const e = 0.5 * erfc(-x / Math.SQRT2) - p
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2)
  return x - u / (1 + (x * u) / 2)
}

