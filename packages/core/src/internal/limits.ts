/**
 * The edges of the double range, as the distribution families use them: the constants, and the
 * clamps that keep a draw inside the representable part of an open support. A draw whose exact
 * value lies beyond the last double (below 2^-1074, above 1.8e308, within 2^-53 of 1) is returned
 * as that last double, and the family's `logProb` scores a boundary value that the density would
 * send to +∞ as that same double, so a returned value always has a finite log density whenever
 * the density there is representable at all. Internal: never imported from outside the package.
 *
 * @since 0.1.0
 */

/** The smallest positive double, 2^-1074 (subnormal). */
export const MIN_POSITIVE = Number.MIN_VALUE
/** The smallest positive normal double, 2^-1022: below it a double loses precision. */
export const MIN_NORMAL = 2.2250738585072014e-308
/** The largest finite double. */
export const MAX_FINITE = Number.MAX_VALUE
/** The largest double below 1, 1 − 2^-53. */
export const ONE_BELOW = 1 - 2 ** -53
/** log(2^-1074). */
export const LOG_MIN_POSITIVE = Math.log(Number.MIN_VALUE)
/** log of the largest finite double, ≈ 709.78: exp overflows above it. */
export const LOG_MAX_FINITE = Math.log(Number.MAX_VALUE)
/** 2^-60, the unit of the scaled log-gammas (a log-gamma over 2^60 is always finite). */
export const LOG_SCALE = 2 ** -60
/** 2^60, its inverse. */
export const LOG_UNSCALE = 2 ** 60

/**
 * A non-negative draw clamped into [2^-1074, MAX_VALUE]: 0 (underflow) becomes the smallest
 * positive double, +∞ (overflow) the largest finite one.
 *
 * @example
 * clampPositive(0) // 5e-324
 *
 * @category numerics
 * @since 0.1.0
 */
export const clampPositive = (x: number): number => (x > 0 ? (x < Infinity ? x : MAX_FINITE) : MIN_POSITIVE)

/**
 * A real draw clamped into [−MAX_VALUE, MAX_VALUE] (overflow to ±∞ becomes ±MAX_VALUE).
 *
 * @example
 * clampReal(-Infinity) // −1.7976931348623157e308
 *
 * @category numerics
 * @since 0.1.0
 */
export const clampReal = (x: number): number => (x < -MAX_FINITE ? -MAX_FINITE : x > MAX_FINITE ? MAX_FINITE : x)

/**
 * A draw in [0, 1] clamped into the open interval: 0 becomes 2^-1074, 1 becomes 1 − 2^-53.
 *
 * @example
 * clampUnit(1) // 0.9999999999999999
 *
 * @category numerics
 * @since 0.1.0
 */
export const clampUnit = (x: number): number => (x > 0 ? (x < 1 ? x : ONE_BELOW) : MIN_POSITIVE)

/**
 * loc + scale·t without spurious overflow: when the plain sum overflows it is formed from halves
 * (exact scalings by 2), and a result truly beyond the double range is clamped to ±MAX_VALUE.
 *
 * @example
 * locScale(-1e308, 1e308, 2) // 1e308, though 1e308·2 alone overflows
 *
 * @category numerics
 * @since 0.1.0
 */
export const locScale = (loc: number, scale: number, t: number): number => {
  const x = loc + scale * t
  if (x - x === 0) return x
  // An infinite t (the caller's own overflow) is a draw beyond the doubles whatever loc is.
  if (t === Infinity || t === -Infinity) return t > 0 ? MAX_FINITE : -MAX_FINITE
  return clampReal(2 * (0.5 * loc + 0.5 * scale * t))
}

/**
 * log|a − b| for finite a and b, also when a − b overflows (then from the halves).
 *
 * @example
 * logAbsDiff(1.5e308, -1.5e308) // log(3e308)
 *
 * @category numerics
 * @since 0.1.0
 */
export const logAbsDiff = (a: number, b: number): number => {
  const d = Math.abs(a - b)
  return d < Infinity ? Math.log(d) : Math.log(Math.abs(0.5 * a - 0.5 * b)) + Math.LN2
}
