/**
 * The paired in-process A/B of `nutsAB.ts` and `gradientAB.ts`: two versions of the same work
 * timed in alternating blocks (ABBA order, so a drift in the machine's speed touches both alike)
 * by this thread's CPU time, which other processes on a shared machine barely move, with the
 * median and quartiles of the blocks' A/B ratios.
 *
 * @since 0.2.0
 */

/**
 * This thread's CPU time in ms.
 *
 * @example
 * const t = cpuMs(); work(); const ms = cpuMs() - t
 */
export const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** What `alternate` measured: the mean of each side's block figures and the blocks' A/B ratios, sorted. */
export interface Paired {
  readonly meanA: number
  readonly meanB: number
  readonly ratios: ReadonlyArray<number>
}

/**
 * Runs `warm` + `rounds` rounds of one block of A and one of B (A first in even rounds, B first in
 * odd ones); each block returns its own figure (ns per unit of work). The first `warm` rounds
 * only warm the JIT.
 *
 * @example
 * const paired = alternate(60, 5, () => block(a), () => block(b))
 */
export const alternate = (rounds: number, warm: number, a: () => number, b: () => number): Paired => {
  const ratios: Array<number> = []
  let totalA = 0, totalB = 0
  for (let r = 0; r < warm + rounds; r++) {
    let x: number, y: number
    if (r % 2 === 0) {
      x = a()
      y = b()
    } else {
      y = b()
      x = a()
    }
    if (r < warm) continue
    ratios.push(x / y)
    totalA += x
    totalB += y
  }
  ratios.sort((p, q) => p - q)
  return { meanA: totalA / rounds, meanB: totalB / rounds, ratios }
}

/**
 * "A/B median … (quartiles … – …, n blocks of m)" for a `Paired`.
 *
 * @example
 * console.log(summary(paired, 2000))
 */
export const summary = (paired: Paired, block: number): string => {
  const r = paired.ratios
  const at = (p: number) => r[Math.floor(p * (r.length - 1))]!.toFixed(3)
  return `A/B median ${at(0.5)} (quartiles ${at(0.25)} – ${at(0.75)}, ${r.length} blocks of ${block})`
}
