// The random streams of an SMC population: one stream per particle index, and one for the
// population's own draws (resampling, rejuvenation), all derived from the run's stream. Particle
// i draws from stream i at every step, whichever ancestor it holds after a resampling (the stream
// belongs to the index, not to the particle's history, so it is independent of the weights and
// the genealogy, as a random source must be). A particle's draws therefore depend on nothing but
// the seed and its index: not on how many uniforms the particles before it drew (a Gamma's
// rejection loop, a polar normal), nor on which thread advances it, nor on how many barriers a
// step has. That is what lets SMC's particles be split into contiguous batches across worker
// threads with results bit-identical to the in-thread run (smcWorkers.ts): a batch's streams
// stay on its worker.
//
// One xoroshiro128+ generator serves them all: `use(i)` saves the current stream's 128-bit state
// (and its cached normal) and loads stream i's, in O(1), allocating nothing. Stream i starts from
// a hash of (root, kind, i): the first two words are a bijection of (kind, i) for a fixed root
// (murmur3's 32-bit finaliser, itself a bijection, in a Feistel-like ladder: (x, y) → (x, y ⊕ f(x))
// is invertible), so distinct streams start from distinct states, as good as random seeds; the
// last two words mix all of it again. Two streams overlap within their first 2^40 draws with
// probability about 2^80 / 2^128 per pair: never, in practice.
import { Xoroshiro, type Rng } from "@fugue/core/Rng"
import * as CoreRng from "@fugue/core/Rng"

/** The murmur3 32-bit finaliser (a bijection on 32-bit words). */
const mix32 = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) | 0
}

/** pure-rand's xoroshiro128+ state words, read and written in place. */
interface Words {
  s01: number
  s00: number
  s11: number
  s10: number
}

/**
 * The streams of the particles `base` … `base + n − 1` of a population, as local indices
 * 0 … n − 1, and (local index n) the population's own stream.
 */
export class ParticleStreams {
  /** The one generator every stream draws through: it is in the state of stream `current`. */
  readonly rng: Xoroshiro
  private readonly words: Words
  /** Four state words per stream (the saved states of the streams not in use). */
  private readonly states: Int32Array
  /** Each stream's cached second normal (NaN when none). */
  private readonly spares: Float64Array
  private current: number
  constructor(root: Rng, n: number, base = 0) {
    // the root: four 32-bit words drawn from a copy of the run's stream (left as it was)
    const probe = root.clone()
    const word = (): number => Math.floor(probe.uniform() * 4294967296) | 0
    const r0 = word(), r1 = word(), r2 = word(), r3 = word()
    this.states = new Int32Array(4 * (n + 1))
    this.spares = new Float64Array(n + 1).fill(Number.NaN)
    const states = this.states
    for (let i = 0; i <= n; i++) {
      // kind 0: particle base + i; kind 1: the population's stream
      const kind = i === n ? 1 : 0
      const index = i === n ? 0 : base + i
      let x = mix32(kind ^ r0)
      const y = mix32(index ^ r1 ^ x)
      x = mix32(x ^ y ^ 0x9e3779b9)
      const z = mix32(x ^ r2 ^ Math.imul(y, 0x27d4eb2f))
      const w = mix32(y ^ r3 ^ Math.imul(z, 0x165667b1))
      states[4 * i] = x
      states[4 * i + 1] = y
      states[4 * i + 2] = z
      // an all-zero state would repeat zeros forever (x and y are never both 0 and … be sure)
      states[4 * i + 3] = (x | y | z | w) === 0 ? 1 : w
    }
    this.rng = CoreRng.make(0) as Xoroshiro
    const words = this.rng.gen as unknown as Partial<Words>
    if (typeof words.s00 !== "number" || typeof words.s01 !== "number" || typeof words.s10 !== "number" || typeof words.s11 !== "number") {
      throw new Error("ParticleStreams: pure-rand's xoroshiro128+ no longer keeps its state in s00 … s11")
    }
    this.words = words as Words
    this.current = n
    this.load(n)
  }
  private load(i: number): void {
    const g = this.words, states = this.states
    g.s01 = states[4 * i]!
    g.s00 = states[4 * i + 1]!
    g.s11 = states[4 * i + 2]!
    g.s10 = states[4 * i + 3]!
    this.rng.spare = this.spares[i]!
  }
  /** Makes `rng` draw from stream `i` (local index; n: the population's), where that stream left off. */
  use(i: number): void {
    const c = this.current
    if (c === i) return
    const g = this.words, states = this.states
    states[4 * c] = g.s01
    states[4 * c + 1] = g.s00
    states[4 * c + 2] = g.s11
    states[4 * c + 3] = g.s10
    this.spares[c] = this.rng.spare
    this.current = i
    this.load(i)
  }
}
