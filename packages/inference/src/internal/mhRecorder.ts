// Records a chain's kept draws straight into a Posterior Builder's columns. `Builder.record`
// walks a trace's B-tree on every draw (~150 ns for three choices); a chain already holds its
// current choices in an array, so this writes their values with plain array stores, caching
// each position's column until the chain's addresses change (its `structure` number). Columns are
// created exactly as `Builder` does (NaN-filled, one Float64Array per chain; vectors flattened
// to "name[k]"; booleans as 0/1), so a site absent from a draw stays NaN.
import type { Rng } from "@fugue/core/Rng"
import type { Builder } from "../Posterior.ts"
import type { LogDensity } from "../LogDensity.ts"
import type { Choice } from "@fugue/runtime/Trace"

const columnOf = <A>(builder: Builder<A>, site: string): Array<Float64Array> => {
  let col = builder.columns.get(site)
  if (col === undefined) {
    col = Array.from({ length: builder.chains }, () => new Float64Array(builder.size).fill(Number.NaN))
    builder.columns.set(site, col)
  }
  return col
}

/** Whether two visit orders visit the same addresses in the same order. */
const sameAddresses = (a: ReadonlyArray<Choice>, b: ReadonlyArray<Choice>): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let k = 0; k < a.length; k++) if (a[k]!.address !== b[k]!.address) return false
  return true
}

export class Recorder<A> {
  readonly builder: Builder<A>
  readonly chain: number
  private structure = -1
  /** Per address: its column (numbers, booleans) or its components' columns (vectors). */
  private slots: Array<Float64Array | Array<Float64Array> | undefined> = []
  constructor(builder: Builder<A>, chain: number) {
    this.builder = builder
    this.chain = chain
  }
  /** The visit order `recordVisits` recorded last. */
  private last: ReadonlyArray<Choice> | undefined = undefined

  /**
   * `record` for draws given as visit orders one after another (SMC particles, IS particles):
   * the structure changes when the addresses differ from the last draw's (compared in order,
   * O(n)). Returns whether they did (SMC then checks the new order for a repeated address).
   */
  recordVisits(index: number, choices: ReadonlyArray<Choice>, result: A, logWeight: number): boolean {
    const changed = this.last === undefined || !sameAddresses(this.last, choices)
    this.record(index, choices, changed ? this.structure + 1 : this.structure, result, logWeight)
    this.last = choices
    return changed
  }

  record(index: number, choices: ReadonlyArray<Choice>, structure: number, result: A, logWeight: number): void {
    if (structure !== this.structure) {
      this.structure = structure
      this.slots = new Array(choices.length).fill(undefined)
    }
    const slots = this.slots
    for (let k = 0; k < choices.length; k++) {
      const v = choices[k].value
      let slot = slots[k]
      if (typeof v === "number" || typeof v === "boolean") {
        if (!(slot instanceof Float64Array)) slot = slots[k] = columnOf(this.builder, choices[k].address)[this.chain]
        slot[index] = typeof v === "number" ? v : v ? 1 : 0
      } else if (v instanceof Float64Array) {
        if (!Array.isArray(slot) || slot.length !== v.length) {
          const cols: Array<Float64Array> = []
          for (let j = 0; j < v.length; j++) cols.push(columnOf(this.builder, `${choices[k].address}[${j}]`)[this.chain])
          slot = slots[k] = cols
        }
        for (let j = 0; j < v.length; j++) slot[j][index] = v[j]
      }
    }
    this.builder.returns[this.chain][index] = result
    this.builder.logWeights[this.chain][index] = logWeight
  }

  /** For a chain on a density's point (MH's fast path, HMC, NUTS): its value columns, its points (for the return value, computed when read). */
  private pointColumns: Array<Float64Array> | undefined = undefined
  private points: Float64Array | undefined = undefined
  /** The recorded points of `recordPoint`, draw after draw (dimension values each). */
  get recordedPoints(): Float64Array | undefined {
    return this.points
  }
  private values: Float64Array | undefined = undefined
  /** Which draws `recordPoint` recorded (their returns are computed from their points when read). */
  private pointed: Uint8Array | undefined = undefined
  /** Restores the point columns, points and log weights of a checkpoint (draws 0 … until − 1 recorded). */
  loadPoints(density: LogDensity, columns: ReadonlyArray<Float64Array>, points: Float64Array, logWeights: Float64Array): void {
    const d = density.dimension
    this.pointColumns = density.valueNames.map((name) => columnOf(this.builder, name)[this.chain]!)
    this.pointColumns.forEach((c, k) => c.set(columns[k]!))
    this.points = points.slice()
    const kept = this.points
    this.values = new Float64Array(density.valueNames.length)
    this.pointed = new Uint8Array(this.builder.size).fill(1)
    this.builder.deferReturns(this.chain, (i) => density.resultAt(kept.subarray(i * d, (i + 1) * d)) as A)
    this.builder.logWeights[this.chain]!.set(logWeights)
  }
  /** The point columns (in `valueNames` order), for a checkpoint. */
  get recordedColumns(): ReadonlyArray<Float64Array> | undefined {
    return this.pointColumns
  }
  /** Records the point q of `density` (log density `logDensity`, Jacobian included) as draw `index`. */
  recordPoint(index: number, density: LogDensity, q: Float64Array, logDensity: number): void {
    const d = density.dimension
    if (this.pointColumns === undefined) {
      this.pointColumns = density.valueNames.map((name) => columnOf(this.builder, name)[this.chain]!)
      const points = new Float64Array(this.builder.size * d)
      this.points = points
      this.values = new Float64Array(density.valueNames.length)
      // a draw recorded by `record` (IS's particles that the density cannot score) keeps its return
      const pointed = (this.pointed = new Uint8Array(this.builder.size))
      const returns = this.builder.returns[this.chain]!
      this.builder.deferReturns(this.chain, (i) => (pointed[i] === 1 ? (density.resultAt(points.subarray(i * d, (i + 1) * d)) as A) : returns[i]!))
    }
    this.pointed![index] = 1
    const values = this.values!
    const logJacobian = density.constrainValues(q, values)
    const columns = this.pointColumns
    for (let k = 0; k < columns.length; k++) columns[k]![index] = values[k]!
    this.points!.set(q, index * d)
    this.builder.logWeights[this.chain][index] = logDensity - logJacobian
  }

  /** Writes `value` into column `name` at draw `index` (a summed-out discrete site's drawn value). */
  recordValue(index: number, name: string, value: number): void {
    columnOf(this.builder, name)[this.chain]![index] = value
  }

  /**
   * Draws each summed-out discrete site of `density` from its exact conditional given the
   * continuous point q, from `rng`, and records it at draw `index` (booleans as 0/1, non-numeric
   * values as their index). Nothing when the density sums out no site.
   */
  recordDiscrete(index: number, density: LogDensity, q: Float64Array, rng: Rng): void {
    const discrete = density.discreteSites
    if (discrete.length === 0) return
    const probs = density.discreteProbabilities(q)
    discrete.forEach((site, j) => {
      const p = probs[j]!
      let u = rng.uniform(), k = 0
      while (k < p.length - 1 && u >= p[k]!) u -= p[k++]!
      const v = site.values[k]
      if (v instanceof Float64Array) {
        // a broadcast family's discrete coordinates: one column per coordinate, as for any vector site
        for (let i = 0; i < v.length; i++) this.recordValue(index, `${site.address}[${i}]`, v[i]!)
      } else this.recordValue(index, site.address, typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "number" ? v : k)
    })
  }
}
