// The effective-sample-size history of a weighted population and the warning that says when it
// collapsed. Written for tempered SMC and meant to be shared by every weighted algorithm (IS,
// SMC): a log-evidence estimate whose population fell to about one effective particle at some
// step rests on that particle alone, and its error is then unbounded and invisible in the
// estimate itself (Chopin & Papaspiliopoulos 2020, §8.6: the Kish ESS 1/Σw² of the normalised
// weights is the standard degeneracy measure; Kong, Liu & Wong 1994). So any ESS below
// `COLLAPSE_ESS` = 2 — more than half of the normalised weight on one particle at best — is
// reported, with the steps where it happened, instead of being left for the user to find.

/** An ESS below this (with at least this many particles) is a collapsed population. */
export const COLLAPSE_ESS = 2

/** What the ESS history of a run says. */
export interface EssReport {
  /** The smallest ESS over the history (NaN for an empty history). */
  readonly minEss: number
  /** The 1-based step of the smallest ESS (0 for an empty history). */
  readonly minEssStep: number
  /** The 1-based steps whose ESS is below `COLLAPSE_ESS`. */
  readonly collapsedAt: ReadonlyArray<number>
  /** One warning when the population collapsed at some step (else none). */
  readonly warnings: ReadonlyArray<string>
}

const STEPS_LISTED = 5

/**
 * The report of an ESS history `ess` (one entry per step: the ESS after reweighting, before any
 * resampling) of a population of `particles`. `what` names a step in the warning ("step",
 * "generation"), or is `undefined` for a single set of weights (importance sampling: no step to
 * name); `algorithm` opens it. A population of one particle never counts as collapsed (its ESS
 * is 1 by construction).
 */
export const essReport = (
  algorithm: string,
  ess: ReadonlyArray<number>,
  particles: number,
  what: string | undefined
): EssReport => {
  let minEss = Number.NaN
  let minEssStep = 0
  const collapsedAt: Array<number> = []
  const limit = Math.min(COLLAPSE_ESS, particles)
  for (let k = 0; k < ess.length; k++) {
    const e = ess[k]!
    if (minEssStep === 0 || e < minEss) {
      minEss = e
      minEssStep = k + 1
    }
    // NaN (an undefined ESS) counts as collapsed too
    if (!(e >= limit)) collapsedAt.push(k + 1)
  }
  const warnings: Array<string> = []
  if (collapsedAt.length > 0) {
    const k = collapsedAt[0]!
    const first = `ESS ${fmt(ess[k - 1]!)} of ${particles} particles`
    if (what === undefined) {
      warnings.push(`${algorithm}: population collapsed: the evidence is unreliable (${first})`)
    } else {
      const listed = collapsedAt.slice(0, STEPS_LISTED).join(", ") + (collapsedAt.length > STEPS_LISTED ? `, … (${collapsedAt.length} in all)` : "")
      warnings.push(
        `${algorithm}: population collapsed at ${what} ${k}: the evidence is unreliable (${first}` +
          `${collapsedAt.length > 1 ? `; ESS below ${COLLAPSE_ESS} at ${what}s ${listed}` : ""}; lowest ${fmt(minEss)} at ${what} ${minEssStep})`
      )
    }
  }
  return { minEss, minEssStep, collapsedAt, warnings }
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toPrecision(3) : String(x))
