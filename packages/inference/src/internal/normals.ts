// Standard normals in bulk, for the Hamiltonian samplers' momenta: the same draws as d calls of
// `Rng.normal`, made faster. `Xoroshiro.normal` makes them by Marsaglia's polar method (Marsaglia
// & Bray 1964), a pair per accepted point of the unit disc, keeping the pair's second normal in
// `spare`. Here the pairs are made in one loop, the spare read first and left for the next call
// as `normal` would, so the stream, and every draw, is unchanged. Measured at d = 10: 163 ns for
// a momentum against 243 through `normal` (its call and spare bookkeeping per draw), about 9 ns
// per leapfrog step of an eight-schools NUTS trajectory. Another source (a scripted one) is
// called draw by draw.
import { type Rng, Xoroshiro } from "@fugue/core/Rng"

/**
 * out[i] = zᵢ / scale[i] for i < d, z₀, z₁, … the next d draws of `rng.normal()`.
 *
 * @example
 * normalsOver(rng, p, sqrtDiagonal, d) // p ~ N(0, diag(1 / sqrtDiagonal²))
 */
export const normalsOver = (rng: Rng, out: Float64Array, scale: Float64Array, d: number): void => {
  if (!(rng instanceof Xoroshiro)) {
    for (let i = 0; i < d; i++) out[i] = rng.normal() / scale[i]!
    return
  }
  let i = 0
  const spare = rng.spare
  if (spare === spare && d > 0) {
    rng.spare = Number.NaN
    out[0] = spare / scale[0]!
    i = 1
  }
  for (; i < d; i += 2) {
    let u: number, v: number, s: number
    do {
      u = 2 * rng.uniform() - 1
      v = 2 * rng.uniform() - 1
      s = u * u + v * v
    } while (s >= 1 || s === 0)
    const m = Math.sqrt((-2 * Math.log(s)) / s)
    out[i] = (u * m) / scale[i]!
    if (i + 1 < d) out[i + 1] = (v * m) / scale[i + 1]!
    else rng.spare = v * m
  }
}
