/**
 * Compiles a recorded `Ad` tape into one straight-line JavaScript function that computes the
 * value and, on request, the gradient by a reverse sweep written out statement by statement:
 * the fast path of `LogDensity` for fixed-structure models (the tape of such a model is the
 * same at every point, because any control flow on a latent value goes through `valueOf` and
 * is reported as an escape).
 *
 * Safety: the generated source contains only identifiers made here (`v12`, `g12`, `K0`), integer
 * indices, numeric literals (checked to be nothing else: see `literal`) and this file's fixed
 * templates; family kernels are passed in as functions (`K`). No user string (address, site
 * name, label) ever enters the code.
 */
import * as Ad from "@fugue/core/Ad"
import { HALF_LOG_2PI } from "@fugue/core/Distribution"
import { normalKernel } from "@fugue/core/distributions/Normal"

/**
 * A number as JavaScript source: `String` of a finite double is a numeric literal that reads
 * back to the same double (ECMAScript's shortest round trip); the non-finite ones by name.
 * Nothing but digits, '.', 'e', '+', '-' and these names can come out.
 */
const literal = (c: number): string => {
  if (c !== c) return "NaN"
  if (c === Infinity) return "Infinity"
  if (c === -Infinity) return "(-Infinity)"
  if (Object.is(c, -0)) return "(-0)"
  const text = String(c)
  if (!/^-?[0-9.e+-]+$/.test(text)) throw new Error(`compile: ${text} is not a numeric literal`)
  return c < 0 ? `(${text})` : text
}

/**
 * The normal kernel written out (the commonest one): z = (x − μ)/σ with 1/σ and the constant
 * −log σ − log(2π)/2 folded where σ is a constant (`folded` gives their expressions, or
 * undefined for a σ that is a node); −∞ where σ ≤ 0.
 */
const normalForward = (
  x: number,
  mu: number,
  sigma: number,
  ref: (r: number) => string,
  folded: (sigma: number) => readonly [string, string] | "invalid" | undefined,
  v: string,
  z: string,
  r: string,
  def: (name: string, expr: string) => string
): Array<string> => {
  const X = ref(x), M = ref(mu)
  const constant = folded(sigma)
  if (constant === "invalid") return [def(r, "0"), def(z, "0"), def(v, "-Infinity")]
  if (constant !== undefined) {
    const [inv, c] = constant
    return [def(r, inv), def(z, `(${X} - ${M}) * ${r}`), def(v, `${c} - 0.5 * ${z} * ${z}`)]
  }
  const S = ref(sigma)
  return [
    def(r, `1 / ${S}`),
    def(z, `(${X} - ${M}) * ${r}`),
    def(v, `${S} > 0 && ${S} < Infinity ? -Math.log(${S}) - ${literal(HALF_LOG_2PI)} - 0.5 * ${z} * ${z} : -Infinity`)
  ]
}

/** 1/σ and −log σ − log(2π)/2 of a constant σ (0 and −∞ for an invalid σ: the density is −∞, its partials 0). */
const foldSigma = (s: number): readonly [number, number] => (s > 0 && s < Infinity ? [1 / s, -Math.log(s) - HALF_LOG_2PI] : [0, -Infinity])

/**
 * A compiled log density. Without `grad` it returns the value at q; with `grad` it writes ∇ into
 * it and the value into `value[0]`, and returns undefined: a number returned from a call V8 does
 * not inline is boxed (an allocation per gradient), a number stored in a Float64Array is not.
 */
export interface Compiled {
  (q: Float64Array, grad: undefined): number
  (q: Float64Array, grad: Float64Array): undefined
  /** The value of the last call with a gradient buffer. */
  readonly value: Float64Array
}

/** Whether this runtime allows code generation (a Content-Security-Policy without
 * `unsafe-eval`, or some edge runtimes, forbid `new Function`); the reason when not. */
export const codeGeneration = (): { readonly allowed: boolean; readonly reason: string } => {
  try {
    const f = new Function("return 1") as () => number
    return f() === 1 ? { allowed: true, reason: "" } : { allowed: false, reason: "new Function did not run" }
  } catch (error) {
    return { allowed: false, reason: `code generation is not allowed here (${error instanceof Error ? error.name : "error"})` }
  }
}

const isBinary = (op: number): boolean => op === Ad.ADD || op === Ad.SUB || op === Ad.MUL || op === Ad.DIV || op === Ad.POW
const isUnary = (op: number): boolean => op >= Ad.NEG && op <= Ad.SOFTPLUS && op !== Ad.POW
const isNary = (op: number): boolean => op >= Ad.SUM

const markLive = (tape: Ad.Tape, output: number): Uint8Array => {
  const live = new Uint8Array(output + 1)
  live[output] = 1
  const { op, x, y, args } = tape
  for (let i = output; i >= 0; i--) {
    if (!live[i]) continue
    const o = op[i]!
    if (o === Ad.LEAF) continue
    if (isNary(o)) {
      for (let k = x[i]!, end = x[i]! + y[i]!; k < end; k++) if (args[k]! >= 0) live[args[k]!] = 1
    } else {
      if (x[i]! >= 0) live[x[i]!] = 1
      if (isBinary(o) && y[i]! >= 0) live[y[i]!] = 1
    }
  }
  return live
}

/** The plain-number code of each unary tape op (also the vectorised SMC step's, smcVector.ts). */
export const UNARY_FORWARD: Record<number, (a: string) => string> = {
  [Ad.NEG]: (a) => `-${a}`,
  [Ad.EXP]: (a) => `Math.exp(${a})`,
  [Ad.LOG]: (a) => `Math.log(${a})`,
  [Ad.LOG1P]: (a) => `Math.log1p(${a})`,
  [Ad.EXPM1]: (a) => `Math.expm1(${a})`,
  [Ad.SQRT]: (a) => `Math.sqrt(${a})`,
  [Ad.SQUARE]: (a) => `${a} * ${a}`,
  [Ad.ABS]: (a) => `Math.abs(${a})`,
  [Ad.SIN]: (a) => `Math.sin(${a})`,
  [Ad.COS]: (a) => `Math.cos(${a})`,
  [Ad.TANH]: (a) => `Math.tanh(${a})`,
  [Ad.LOGISTIC]: (a) => `logistic(${a})`,
  [Ad.LOG_SIGMOID]: (a) => `-softplus(-${a})`,
  [Ad.SOFTPLUS]: (a) => `softplus(${a})`
}

/** d(node)/d(operand) for unary ops, from the operand a and the node's value v. */
const UNARY_PARTIAL: Record<number, (a: string, v: string) => string> = {
  [Ad.NEG]: () => `-1`,
  [Ad.EXP]: (_, v) => v,
  [Ad.LOG]: (a) => `(1 / ${a})`,
  [Ad.LOG1P]: (a) => `(1 / (1 + ${a}))`,
  [Ad.EXPM1]: (_, v) => `(${v} + 1)`,
  [Ad.SQRT]: (_, v) => `(0.5 / ${v})`,
  [Ad.SQUARE]: (a) => `(2 * ${a})`,
  [Ad.ABS]: (a) => `(${a} > 0 ? 1 : ${a} < 0 ? -1 : 0)`,
  [Ad.SIN]: (a) => `Math.cos(${a})`,
  [Ad.COS]: (a) => `(-Math.sin(${a}))`,
  [Ad.TANH]: (_, v) => `(1 - ${v} * ${v})`,
  [Ad.LOGISTIC]: (_, v) => `(${v} * (1 - ${v}))`,
  [Ad.LOG_SIGMOID]: (a) => `logistic(-${a})`,
  [Ad.SOFTPLUS]: (a) => `logistic(${a})`
}

/** The plain-number code of each binary tape op (also smcVector.ts's). */
export const BINARY_FORWARD: Record<number, (a: string, b: string) => string> = {
  [Ad.ADD]: (a, b) => `${a} + ${b}`,
  [Ad.SUB]: (a, b) => `${a} - ${b}`,
  [Ad.MUL]: (a, b) => `${a} * ${b}`,
  [Ad.DIV]: (a, b) => `${a} / ${b}`,
  [Ad.POW]: (a, b) => `Math.pow(${a}, ${b})`
}

const BINARY_PARTIAL: Record<number, readonly [(a: string, b: string, v: string) => string, (a: string, b: string, v: string) => string]> = {
  [Ad.ADD]: [() => `1`, () => `1`],
  [Ad.SUB]: [() => `1`, () => `-1`],
  [Ad.MUL]: [(_, b) => b, (a) => a],
  [Ad.DIV]: [(_, b) => `(1 / ${b})`, (_, b, v) => `(-${v} / ${b})`],
  [Ad.POW]: [(a, b) => `(${b} === 0 ? 0 : ${b} * Math.pow(${a}, ${b} - 1))`, (a, _, v) => `(${v} * Math.log(${a}))`]
}

/** Statements per generated function in the chunked form (well below V8's ~60 KB bytecode cutoff). */
const CHUNK_STATEMENTS = 300

/** Rows a run needs before it becomes a loop (below, straight-line code is as fast). */
const MIN_ROWS = 32
/** Statements above which straight-line code keeps its values in arrays, in chunks (`compile`). */
const CHUNK_FROM = 4000

/** The statements straight-line code would have for the live nodes. */
const statementsOf = (tape: Ad.Tape, out: number, live: Uint8Array): number => {
  let statements = 0
  for (let i = 0; i <= out; i++) if (live[i]) statements += isNary(tape.op[i]!) ? 2 + 2 * tape.y[i]! : 3
  return statements
}

/**
 * The runs to roll into loops: none while straight-line code fits one function of local
 * variables (`chunkFrom` statements), which V8 optimises best (a normal likelihood of 100 rows:
 * 0.16 µs straight, 0.57 µs as a loop); above it, every run (chunked straight-line code of
 * arrays is slower than a loop, and stops being optimised at all past V8's bytecode limit).
 */
const rollable = (tape: Ad.Tape, out: number, live: Uint8Array, chunkFrom: number): Array<Run> =>
  statementsOf(tape, out, live) <= chunkFrom ? [] : findRuns(tape, out, live)
/** The longest row (nodes) looked for. */
const MAX_ROW = 32

/**
 * A stretch of the tape that repeats: `rows` rows of `k` consecutive nodes from `start`, the same
 * ops position by position, each operand in every row either a node of its own row at the same
 * position (`internal`), one node before the run shared by every row (`shared`), a constant
 * (a column of values, one per row), or for a leaf its input (a column of indices). The row's
 * nodes at `outs` are its results (a prior's and a likelihood's terms): each the operand of one
 * SUM node, whose operands from `sumAt` on follow `pattern` row after row (`stride` operands a
 * row: a result's position, or −1 for a constant, such as an identity's log-Jacobian 0); every
 * other node is used only inside its row. Compiled as a loop over
 * rows (a per-row likelihood written with scalar `Ad`: the wells regression's 3 020 rows), it
 * computes what the straight-line code would, in the same order.
 */
interface Run {
  readonly start: number
  readonly k: number
  readonly rows: number
  readonly outs: ReadonlyArray<number>
  /** The SUM node, where the rows' operands start among its operands, and their pattern. */
  readonly sum: number
  readonly sumAt: number
  readonly stride: number
  readonly pattern: ReadonlyArray<number>
}

/** What identifies a node's operation for matching rows: op, n-ary count, kernel. */
const shapeOf = (tape: Ad.Tape, i: number): number => {
  const o = tape.op[i]!
  return isNary(o) ? o + 64 * tape.y[i]! + 65536 * (o === Ad.KERNEL || o === Ad.LINEAR_KERNEL ? tape.aux[i]! + 1 : 0) : o
}

/** Operand s of node i (op o, not a leaf). */
const operandAt = (tape: Ad.Tape, i: number, o: number, s: number): number =>
  isNary(o) ? tape.args[tape.x[i]! + s]! : s === 0 ? tape.x[i]! : tape.y[i]!

/** Operand references of node i (none for a leaf). */
const operandsOf = (tape: Ad.Tape, i: number, into: Array<number>): Array<number> => {
  into.length = 0
  const o = tape.op[i]!
  if (o === Ad.LEAF) return into
  if (isNary(o)) for (let k = tape.x[i]!, end = k + tape.y[i]!; k < end; k++) into.push(tape.args[k]!)
  else {
    into.push(tape.x[i]!)
    if (isBinary(o)) into.push(tape.y[i]!)
  }
  return into
}

/** The last `findRuns` answer per tape (`compiledSize` then `compile` ask for the same recording). */
const RUNS = new WeakMap<Ad.Tape, { readonly generation: number; readonly size: number; readonly out: number; readonly runs: Array<Run> }>()

/** The runs of `live` nodes up to `out` (see `Run`), in tape order. O(n · MAX_ROW) to find the repeats. */
const findRuns = (tape: Ad.Tape, out: number, live: Uint8Array): Array<Run> => {
  const known = RUNS.get(tape)
  if (known !== undefined && known.generation === tape.generation && known.size === tape.size && known.out === out) return known.runs
  const runs = searchRuns(tape, out, live)
  RUNS.set(tape, { generation: tape.generation, size: tape.size, out, runs })
  return runs
}

const searchRuns = (tape: Ad.Tape, out: number, live: Uint8Array): Array<Run> => {
  const n = out + 1
  const shapes = new Int32Array(n)
  for (let i = 0; i < n; i++) shapes[i] = live[i] ? shapeOf(tape, i) : -1
  // consumers: how many, and the last one (a node's consumers all come after it, so they all lie
  // in [j, c] when c is the last)
  const uses = new Int32Array(n), consumer = new Int32Array(n).fill(-1)
  const op = tape.op
  for (let i = 0; i < n; i++) {
    const o = op[i]!
    if (!live[i] || o === Ad.LEAF) continue
    const count = isNary(o) ? tape.y[i]! : isBinary(o) ? 2 : 1
    for (let s = 0; s < count; s++) {
      const r = operandAt(tape, i, o, s)
      if (r < 0) continue
      uses[r]++
      consumer[r] = i
    }
  }
  // until[k]: the first j ≥ i with shapes[j] ≠ shapes[j + k] (rows of k from i repeat up to it)
  const until = new Int32Array(MAX_ROW + 1).fill(-1)
  const runs: Array<Run> = []
  let i = 0
  while (i < n) {
    if (shapes[i] < 0) {
      i++
      continue
    }
    let found: Run | undefined = undefined
    for (let k = 1; k <= MAX_ROW && i + MIN_ROWS * k <= n; k++) {
      if (until[k]! < i) {
        // shapes repeating with a period d that divides k repeat with period k too: the scan
        // starts where d's repeat guarantees k's (one long scan instead of one per multiple)
        let j = i
        for (let d = 1; d < k; d++) if (k % d === 0 && until[d]! >= i) j = Math.max(j, until[d]! - (k - d))
        while (j + k < n && shapes[j] >= 0 && shapes[j] === shapes[j + k]) j++
        until[k] = j
      }
      const rows = Math.min(Math.floor((until[k]! - i) / k) + 1, Math.floor((n - i) / k))
      if (rows < MIN_ROWS || (found !== undefined && rows * k <= found.rows * found.k)) continue
      const run = checkRun(tape, i, k, rows, uses, consumer)
      if (run !== undefined && (found === undefined || run.rows * run.k > found.rows * found.k)) found = run
    }
    if (found !== undefined) {
      runs.push(found)
      i = found.start + found.rows * found.k
    } else i++
  }
  return runs
}

/** The longest valid prefix of `rows` rows of k nodes from `start` (see `Run`), if it has MIN_ROWS rows. */
const checkRun = (
  tape: Ad.Tape,
  start: number,
  k: number,
  rows: number,
  uses: Int32Array,
  consumer: Int32Array
): Run | undefined => {
  // row 0: every node used only inside the row but its results, each used once, by one SUM after the run
  const outs: Array<number> = []
  for (let p = 0; p < k; p++) {
    const j = start + p
    if (consumer[j]! < start + k) continue
    if (uses[j] !== 1 || (outs.length > 0 && consumer[j] !== consumer[start + outs[0]!])) return undefined
    outs.push(p)
  }
  if (outs.length === 0) return undefined
  const m = outs.length
  const sum = consumer[start + outs[0]!]!
  if (tape.op[sum] !== Ad.SUM || sum < start + rows * k) return undefined
  const sx = tape.x[sum]!, sn = tape.y[sum]!
  const args = tape.args
  // the SUM's operands: row 0's first result at t0, row 1's at t0 + stride; the constants just
  // before a row's first result belong to that row
  let t0 = -1, t1 = -1
  for (let t = 0; t < sn; t++) {
    if (args[sx + t] === start + outs[0]!) t0 = t
    if (args[sx + t] === start + k + outs[0]!) t1 = t
  }
  if (t0 < 0 || t1 <= t0) return undefined
  const stride = t1 - t0
  let lead = 0
  while (lead < stride - m && t1 - lead - 1 > t0 && args[sx + t1 - lead - 1]! < 0) lead++
  const sumAt = t0 - lead
  if (sumAt < 0) return undefined
  const pattern: Array<number> = []
  {
    let next = 0
    for (let t = 0; t < stride; t++) {
      const r = args[sx + sumAt + t]!
      if (r < 0) pattern.push(-1)
      else if (next < m && r === start + outs[next]!) pattern.push(outs[next++]!)
      else return undefined
    }
    if (next !== m) return undefined
  }
  const isOut = new Uint8Array(k)
  for (const p of outs) isOut[p] = 1
  // the other rows: the same uses, and each operand of the same kind as row 0's
  let valid = 1
  rowLoop: for (let r = 1; r < rows; r++) {
    const base = start + r * k
    if (sumAt + (r + 1) * stride > sn) break
    for (let t = 0; t < stride; t++) {
      const ref = args[sx + sumAt + r * stride + t]!, p = pattern[t]!
      if (p < 0 ? ref >= 0 : ref !== base + p || uses[ref] !== 1) break rowLoop
    }
    for (let p = 0; p < k; p++) {
      const j0 = start + p, j = base + p
      if (isOut[p] === 0 && consumer[j]! >= base + k) break rowLoop
      const o = tape.op[j0]!
      if (o === Ad.LEAF) continue
      const count = isNary(o) ? tape.y[j0]! : isBinary(o) ? 2 : 1
      for (let s = 0; s < count; s++) {
        const r0 = operandAt(tape, j0, o, s), rr = operandAt(tape, j, o, s)
        if (r0 < 0) {
          if (rr >= 0) break rowLoop // a constant in row 0, a node here
        } else if (r0 >= start) {
          if (rr !== base + (r0 - start)) break rowLoop // internal: the same position of this row
        } else if (rr !== r0) break rowLoop // shared: the same node
      }
    }
    valid = r + 1
  }
  return valid < MIN_ROWS ? undefined : { start, k, rows: valid, outs, sum, sumAt, stride, pattern }
}

/**
 * What compiling the tape would write: its size (operations and n-ary operands, a run's rows
 * counted once, the measure `maxCompiledNodes` bounds), the size without rolling (`full`, −1
 * when nothing rolls), and the rows rolled into loops.
 */
export const compiledSize = (
  tape: Ad.Tape,
  output: number
): { readonly size: number; readonly full: number; readonly loops: number; readonly rows: number } => {
  const live = markLive(tape, output)
  const runs = rollable(tape, output, live, CHUNK_FROM)
  let rows = 0
  for (const run of runs) rows += run.rows
  return { size: liveSize(tape, output, live, runs), full: runs.length === 0 ? -1 : liveSize(tape, output, live, []), loops: runs.length, rows }
}

const liveSize = (tape: Ad.Tape, output: number, live: Uint8Array, runs: ReadonlyArray<Run>): number => {
  let size = 0
  let next = 0
  for (let i = 0; i <= output; i++) {
    const run = runs[next]
    if (run !== undefined && i === run.start) {
      for (let j = i; j < i + run.k; j++) size += isNary(tape.op[j]!) ? 1 + tape.y[j]! : 1
      i = run.start + run.rows * run.k - 1
      next++
      continue
    }
    if (!live[i]) continue
    const o = tape.op[i]!
    if (o === Ad.SUM) {
      // a run's results are one loop among the operands
      let count = tape.y[i]!
      for (const r of runs) if (r.sum === i) count -= (r.rows - 1) * r.stride
      size += 1 + count
    } else size += isNary(o) ? 1 + tape.y[i]! : 1
  }
  return size
}

/** Names of the generated code for one node's statements: straight-line, or inside a run's loop. */
interface Names {
  readonly V: (i: number) => string
  readonly Gr: (i: number) => string
  readonly Z: (i: number) => string
  readonly R: (i: number) => string
  readonly Pk: (i: number, k: number) => string
  readonly ref: (r: number) => string
  /** The adjoint a partial goes to (undefined: a constant, none). */
  readonly adjoint: (r: number) => string | undefined
  readonly folded: (sigma: number) => readonly [string, string] | "invalid" | undefined
  readonly def: (name: string, expr: string) => string
  readonly let_: (name: string, expr: string) => string
}

/** The forward statements of node i (not a leaf). */
const forwardOf = (
  tape: Ad.Tape,
  i: number,
  nm: Names,
  sums: ReadonlyMap<number, ReadonlyArray<Run>>,
  column: (values: Float64Array) => string
): Array<string> => {
  const { op, x, y, aux, args } = tape
  const o = op[i]!
  const v = nm.V(i)
  const f: Array<string> = []
  if (isUnary(o)) {
    f.push(nm.def(v, UNARY_FORWARD[o]!(nm.ref(x[i]!))))
    return f
  }
  if (isBinary(o)) {
    f.push(nm.def(v, BINARY_FORWARD[o]!(nm.ref(x[i]!), nm.ref(y[i]!))))
    return f
  }
  const start = x[i]!, count = y[i]!
  switch (o) {
    case Ad.SUM: {
      f.push(nm.let_(v, "0"))
      const runs = sums.get(i) ?? []
      for (let k = 0; k < count; k++) {
        const run = runs.find((r) => r.sumAt === k)
        if (run !== undefined) {
          // the run's results, in order: the same additions as one statement each
          f.push(`for (let r = 0; r < ${run.rows}; r++) {`, `const b = ${run.start} + r * ${run.k};`)
          run.pattern.forEach((p, t) => {
            if (p >= 0) f.push(`${v} += V[b + ${p}];`)
            else {
              const values = new Float64Array(run.rows)
              for (let r = 0; r < run.rows; r++) values[r] = tape.constants[-1 - args[start + k + r * run.stride + t]!]!
              f.push(`${v} += ${column(values)};`)
            }
          })
          f.push("}")
          k += run.rows * run.stride - 1
          continue
        }
        f.push(`${v} += ${nm.ref(args[start + k]!)};`)
      }
      break
    }
    case Ad.DOT:
      f.push(nm.let_(v, "0"))
      for (let k = 0; k < count; k += 2) f.push(`${v} += ${nm.ref(args[start + k]!)} * ${nm.ref(args[start + k + 1]!)};`)
      break
    case Ad.LOG_SUM_EXP: {
      const items: Array<string> = []
      for (let k = 0; k < count; k++) items.push(nm.ref(args[start + k]!))
      f.push(nm.let_(v, "-Infinity"), "{", "let m = -Infinity;")
      for (const it of items) f.push(`m = Math.max(m, ${it});`)
      f.push(`${v} = m;`, `if (m !== -Infinity && m !== Infinity) {`, `let s = 0;`)
      for (const it of items) f.push(`s += Math.exp(${it} - m);`)
      f.push(`${v} = m + Math.log(s);`, `}`, `}`)
      break
    }
    case Ad.KERNEL: {
      if (tape.kernels[aux[i]!] === normalKernel) {
        f.push(...normalForward(args[start]!, args[start + 1]!, args[start + 2]!, nm.ref, nm.folded, v, nm.Z(i), nm.R(i), nm.def))
        break
      }
      f.push(nm.def(v, `K${aux[i]!}(G, ${nm.ref(args[start]!)}, ${nm.ref(args[start + 1]!)}, ${nm.ref(args[start + 2]!)}, ${nm.ref(args[start + 3]!)})`))
      for (let k = 0; k < 4; k++) if (args[start + k]! >= 0) f.push(nm.def(nm.Pk(i, k), `G[${k}]`))
      break
    }
    default:
      throw new Error(`compile: unknown op ${o} at node ${i}`)
  }
  return f
}

/** The reverse statements of node i (not a leaf): its partials times its adjoint, into its operands' adjoints. */
const reverseOf = (tape: Ad.Tape, i: number, nm: Names, sums: ReadonlyMap<number, ReadonlyArray<Run>>): Array<string> => {
  const { op, x, y, aux, args } = tape
  const o = op[i]!
  const current: Array<string> = []
  const accumulate = (r: number, term: string): void => {
    const target = nm.adjoint(r)
    if (target !== undefined) current.push(`${target} += ${term};`)
  }
  const g = nm.Gr(i)
  const v = nm.V(i)
  if (isUnary(o)) {
    accumulate(x[i]!, `${g} * ${UNARY_PARTIAL[o]!(nm.ref(x[i]!), v)}`)
    return current
  }
  if (isBinary(o)) {
    const a = nm.ref(x[i]!), b = nm.ref(y[i]!)
    const [pa, pb] = BINARY_PARTIAL[o]!
    accumulate(x[i]!, `${g} * ${pa(a, b, v)}`)
    accumulate(y[i]!, `${g} * ${pb(a, b, v)}`)
    return current
  }
  const start = x[i]!, count = y[i]!
  switch (o) {
    case Ad.SUM: {
      const runs = sums.get(i) ?? []
      for (let k = 0; k < count; k++) {
        const run = runs.find((r) => r.sumAt === k)
        if (run !== undefined) {
          // the run's reverse loop takes this adjoint as its rows' results' (0 + g is g)
          k += run.rows * run.stride - 1
          continue
        }
        accumulate(args[start + k]!, g)
      }
      break
    }
    case Ad.DOT:
      for (let k = 0; k < count; k += 2) {
        const a = args[start + k]!, b = args[start + k + 1]!
        accumulate(a, `${g} * ${nm.ref(b)}`)
        accumulate(b, `${g} * ${nm.ref(a)}`)
      }
      break
    case Ad.LOG_SUM_EXP:
      for (let k = 0; k < count; k++) accumulate(args[start + k]!, `${g} * Math.exp(${nm.ref(args[start + k]!)} - ${v})`)
      break
    case Ad.KERNEL:
      if (tape.kernels[aux[i]!] === normalKernel) {
        // ∂x = −z/σ, ∂μ = z/σ, ∂σ = (z² − 1)/σ
        const z = nm.Z(i), r = nm.R(i)
        accumulate(args[start]!, `${g} * (-${z} * ${r})`)
        accumulate(args[start + 1]!, `${g} * (${z} * ${r})`)
        accumulate(args[start + 2]!, `${g} * ((${z} * ${z} - 1) * ${r})`)
        break
      }
      for (let k = 0; k < 4; k++) accumulate(args[start + k]!, `${g} * ${nm.Pk(i, k)}`)
      break
  }
  return current
}

/**
 * Compiles the tape's computation of `output` (from inputs 0 … inputs − 1) into a function.
 * `logistic` and `softplus` are `Ad`'s own, so values agree with the tape's bit for bit except
 * where V8 fuses differently (in practice to the last bit).
 *
 * **Details** Small tapes (≤ `chunkFrom` statements) become one function whose values and
 * adjoints are local variables: the fastest form, which V8 optimises while the function stays
 * under about 60 KB of bytecode. Larger tapes keep values, adjoints and partials in preallocated
 * Float64Arrays and are split into chunks of about 300 statements each (forward chunks in
 * order, then reverse chunks in reverse order), so every chunk stays optimisable whatever the
 * tape's size. A stretch of rows that repeat (see `Run`: a likelihood written row by row with
 * scalar `Ad`) becomes a loop over the rows in both sweeps, reading each row's constants from a
 * column: the code does not grow with the rows (`reroll: false` writes them out, for checks).
 */
export const compile = (tape: Ad.Tape, output: Ad.Node, inputs: number, chunkFrom = CHUNK_FROM, reroll = true): Compiled => {
  const out = output.index
  const live = markLive(tape, out)
  const { op, y } = tape
  const constants = tape.constants
  const runs = reroll ? rollable(tape, out, live, chunkFrom) : []
  const sums = new Map<number, Array<Run>>()
  for (const run of runs) {
    const list = sums.get(run.sum) ?? []
    list.push(run)
    sums.set(run.sum, list)
  }
  const arrays = runs.length > 0 || statementsOf(tape, out, live) > chunkFrom
  const def = (name: string, expr: string): string => (arrays ? `${name} = ${expr};` : `const ${name} = ${expr};`)
  const let_ = (name: string, expr: string): string => (arrays ? `${name} = ${expr};` : `let ${name} = ${expr};`)
  const V = (i: number): string => (arrays ? `V[${i}]` : `v${i}`)
  const straight: Names = {
    V,
    Gr: (i) => (arrays ? `A[${i}]` : `g${i}`),
    Z: (i) => (arrays ? `T[${2 * i}]` : `z${i}`),
    R: (i) => (arrays ? `T[${2 * i + 1}]` : `r${i}`),
    Pk: (i, k) => (arrays ? `P[${4 * i + k}]` : `p${i}_${k}`),
    ref: (r) => (r >= 0 ? V(r) : literal(constants[-1 - r]!)),
    adjoint: (r) => (r >= 0 ? (arrays ? `A[${r}]` : `g${r}`) : undefined),
    folded: (sigma) => {
      if (sigma >= 0) return undefined
      const s = constants[-1 - sigma]!
      if (!(s > 0 && s < Infinity)) return "invalid"
      const [inv, c] = foldSigma(s)
      return [literal(inv), literal(c)]
    },
    def,
    let_
  }
  /** Columns a run reads (constants per row, leaf inputs), passed to the factory. */
  const columns: Array<Float64Array | Int32Array> = []
  const column = (values: Float64Array | Int32Array): string => {
    // a constant column is a literal
    if (values instanceof Float64Array && values.every((c) => Object.is(c, values[0]))) return literal(values[0]!)
    columns.push(values)
    return `C${columns.length - 1}[r]`
  }
  /** Statements per node, forward and reverse (grouped so chunks split between nodes). */
  const forward: Array<Array<string>> = []
  const reverse: Array<Array<string>> = []
  const leafOf = new Int32Array(inputs).fill(-1)
  // the loop statements of each run (forward and reverse), made with names relative to the row
  const runCode = new Map<number, { readonly forward: Array<string>; readonly reverse: Array<string> }>()
  for (const run of runs) {
    const { start, k, rows } = run
    const rel = (i: number): string => `b + ${i - start}`
    const inRow = (r: number): boolean => r >= start && r < start + k
    // each constant operand of row 0 names the column of that operand over the rows
    const constantColumn = new Map<number, string>()
    const leafColumn = new Map<number, string>()
    const sigmaColumns = new Map<number, readonly [string, string]>()
    const a: Array<number> = []
    for (let p = 0; p < k; p++) {
      const j0 = start + p
      if (op[j0] === Ad.LEAF) {
        const idx = new Int32Array(rows)
        for (let r = 0; r < rows; r++) {
          idx[r] = y[j0 + r * k]!
          if (idx[r]! < inputs) leafOf[idx[r]!] = j0 + r * k
        }
        leafColumn.set(p, column(idx))
        continue
      }
      operandsOf(tape, j0, a)
      for (let s = 0; s < a.length; s++) {
        const c0 = a[s]!
        if (c0 >= 0) continue
        const values = new Float64Array(rows)
        const jr: Array<number> = []
        for (let r = 0; r < rows; r++) {
          operandsOf(tape, j0 + r * k, jr)
          values[r] = constants[-1 - jr[s]!]!
        }
        constantColumn.set(c0, column(values))
        if (op[j0] === Ad.KERNEL && tape.kernels[tape.aux[j0]!] === normalKernel && s === 2) {
          const inv = new Float64Array(rows), lc = new Float64Array(rows)
          for (let r = 0; r < rows; r++) [inv[r], lc[r]] = foldSigma(values[r]!)
          sigmaColumns.set(c0, [column(inv), column(lc)])
        }
      }
    }
    // forward: the row's values in locals w<p> (stored in V for the reverse loop), the shared
    // operands read once before the loop (s<node>); reverse: the row's adjoints in locals a<p>,
    // its result's adjoint the SUM's (what the SUM's reverse would give it), the shared operands'
    // adjoints accumulated in locals (h<node>) and written back after the loop: the straight-line
    // code's arithmetic in its order, so the same numbers bit for bit
    const shared = new Set<number>()
    const sharedRef = (r: number): string => {
      shared.add(r)
      return `s${r}`
    }
    const sharedAdjoint = new Set<number>()
    // a normal's σ shared by the rows (an unknown noise scale): 1/σ and −log σ − log(2π)/2 once,
    // before the loop, as the straight-line code's per-row expressions compute them (the row's
    // log density, (−log σ − log(2π)/2) − z²/2, is then the same sum in the same order)
    const sharedSigma = new Set<number>()
    const arraysOnly = {
      Z: (i: number) => `T[2 * (${rel(i)})]`,
      R: (i: number) => `T[2 * (${rel(i)}) + 1]`,
      Pk: (i: number, q: number) => `P[4 * (${rel(i)}) + ${q}]`,
      folded: (sigma: number): readonly [string, string] | undefined => {
        if (sigma < 0) return sigmaColumns.get(sigma)
        if (inRow(sigma)) return undefined
        sharedRef(sigma)
        sharedSigma.add(sigma)
        return [`hinv${sigma}`, `hc${sigma}`]
      }
    }
    const rowForward: Names = {
      ...arraysOnly,
      V: (i) => `w${i - start}`,
      Gr: () => {
        throw new Error("compile: no adjoint in a forward loop")
      },
      ref: (r) => (r < 0 ? constantColumn.get(r)! : inRow(r) ? `w${r - start}` : sharedRef(r)),
      adjoint: () => undefined,
      def: (name, expr) => (name.startsWith("w") ? `const ${name} = ${expr};` : `${name} = ${expr};`),
      let_: (name, expr) => `let ${name} = ${expr};`
    }
    const rowReverse: Names = {
      ...arraysOnly,
      V: (i) => `V[${rel(i)}]`,
      Gr: (i) => `a${i - start}`,
      ref: (r) => (r < 0 ? constantColumn.get(r)! : inRow(r) ? `V[${rel(r)}]` : sharedRef(r)),
      adjoint: (r) => {
        if (r < 0) return undefined
        if (inRow(r)) return `a${r - start}`
        sharedAdjoint.add(r)
        return `h${r}`
      },
      def: (name, expr) => `${name} = ${expr};`,
      let_: (name, expr) => `${name} = ${expr};`
    }
    const fwBody: Array<string> = []
    for (let p = 0; p < k; p++) {
      const j0 = start + p
      if (op[j0] === Ad.LEAF) fwBody.push(`const w${p} = q[${leafColumn.get(p)!}];`)
      else fwBody.push(...forwardOf(tape, j0, rowForward, sums, column))
      fwBody.push(`V[b + ${p}] = w${p};`)
    }
    const rvBody: Array<string> = []
    for (let p = k - 1; p >= 0; p--) {
      const j0 = start + p
      if (op[j0] !== Ad.LEAF) rvBody.push(...reverseOf(tape, j0, rowReverse, sums))
    }
    // a leaf of the row keeps its adjoint in A, for the gradient writes
    for (let p = 0; p < k; p++) if (op[start + p] === Ad.LEAF) rvBody.push(`A[b + ${p}] = a${p};`)
    const adjoints: Array<string> = []
    for (let p = 0; p < k; p++) adjoints.push(run.outs.includes(p) ? `a${p} = gsum` : `a${p} = 0`)
    const sharedDefs = [...shared].map((r) => `const s${r} = V[${r}];`)
    for (const r of sharedSigma) {
      sharedDefs.push(
        `const hinv${r} = 1 / s${r};`,
        `const hc${r} = s${r} > 0 && s${r} < Infinity ? -Math.log(s${r}) - ${literal(HALF_LOG_2PI)} : -Infinity;`
      )
    }
    const fw: Array<string> = ["{", ...sharedDefs, `for (let r = 0; r < ${rows}; r++) {`, `const b = ${start} + r * ${k};`, ...fwBody, "}", "}"]
    const hs = [...sharedAdjoint]
    const rv: Array<string> = [
      "{",
      ...sharedDefs,
      `const gsum = A[${run.sum}];`,
      ...hs.map((r) => `let h${r} = A[${r}];`),
      `for (let r = ${rows - 1}; r >= 0; r--) {`,
      `const b = ${start} + r * ${k};`,
      `let ${adjoints.join(", ")};`,
      ...rvBody,
      "}",
      ...hs.map((r) => `A[${r}] = h${r};`),
      "}"
    ]
    runCode.set(start, { forward: fw, reverse: rv })
  }
  const runAt = new Map(runs.map((r) => [r.start, r]))
  for (let i = 0; i <= out; i++) {
    const run = runAt.get(i)
    if (run !== undefined) {
      forward.push(runCode.get(i)!.forward)
      i = run.start + run.rows * run.k - 1
      continue
    }
    if (!live[i]) continue
    if (op[i] === Ad.LEAF) {
      forward.push([def(V(i), `q[${y[i]!}]`)])
      if (y[i]! < inputs) leafOf[y[i]!] = i
      continue
    }
    forward.push(forwardOf(tape, i, straight, sums, column))
  }
  // reverse sweep, in reverse node order (a run's rows last first)
  const runEnd = new Map(runs.map((r) => [r.start + r.rows * r.k - 1, r]))
  for (let i = out; i >= 0; i--) {
    const run = runEnd.get(i)
    if (run !== undefined) {
      reverse.push(runCode.get(run.start)!.reverse)
      i = run.start
      continue
    }
    if (!live[i] || op[i] === Ad.LEAF) continue
    reverse.push(reverseOf(tape, i, straight, sums))
  }
  const gradientWrites: Array<string> = []
  for (let k = 0; k < inputs; k++) gradientWrites.push(leafOf[k]! >= 0 ? `grad[${k}] = ${straight.Gr(leafOf[k]!)};` : `grad[${k}] = 0;`)
  const kernels = tape.kernels.map((_, k) => `const K${k} = K[${k}];`).join("\n")
  const columnDefs = columns.map((_, k) => `const C${k} = C[${k}];`).join("\n")
  let body: string
  if (!arrays) {
    const declarations: Array<string> = []
    for (let i = 0; i <= out; i++) if (live[i] && i !== out) declarations.push(`g${i} = 0`)
    body = [
      kernels,
      "const G = new Float64Array(4), VALUE = new Float64Array(1);",
      "const compiledLogDensity = function compiledLogDensity(q, grad) {",
      ...forward.flat(),
      `const lp = v${out};`,
      "if (grad === undefined) return lp;",
      "VALUE[0] = lp;",
      "if (!(lp > -Infinity) || lp === Infinity) { grad.fill(0); return; }",
      declarations.length > 0 ? `let ${declarations.join(", ")};` : "",
      `const g${out} = 1;`,
      ...reverse.flat(),
      ...gradientWrites,
      "};",
      "compiledLogDensity.value = VALUE;",
      "return compiledLogDensity;"
    ].join("\n")
  } else {
    const chunk = (groups: Array<Array<string>>, name: string): Array<string> => {
      const fns: Array<string> = []
      let lines: Array<string> = []
      const flush = () => {
        if (lines.length === 0) return
        fns.push(`const ${name}${fns.length} = (q) => {\n${lines.join("\n")}\n};`)
        lines = []
      }
      for (const group of groups) {
        if (lines.length + group.length > CHUNK_STATEMENTS) flush()
        lines.push(...group)
      }
      flush()
      return fns
    }
    const forwardFns = chunk(forward, "forward")
    const reverseFns = chunk(reverse, "reverse")
    body = [
      kernels,
      columnDefs,
      "const G = new Float64Array(4), VALUE = new Float64Array(1);",
      `const V = new Float64Array(${out + 1}), A = new Float64Array(${out + 1}), T = new Float64Array(${2 * (out + 1)}), P = new Float64Array(${4 * (out + 1)});`,
      ...forwardFns,
      ...reverseFns,
      "const compiledLogDensity = function compiledLogDensity(q, grad) {",
      ...forwardFns.map((_, k) => `forward${k}(q);`),
      `const lp = V[${out}];`,
      "if (grad === undefined) return lp;",
      "VALUE[0] = lp;",
      "if (!(lp > -Infinity) || lp === Infinity) { grad.fill(0); return; }",
      `A.fill(0); A[${out}] = 1;`,
      ...reverseFns.map((_, k) => `reverse${k}(q);`),
      ...gradientWrites,
      "};",
      "compiledLogDensity.value = VALUE;",
      "return compiledLogDensity;"
    ].join("\n")
  }
  const kernelList = tape.kernels.slice()
  const key = columns.length === 0 ? body : undefined
  const cached = key === undefined ? undefined : CACHE.get(key)
  if (cached !== undefined && cached.kernels.length === kernelList.length && cached.kernels.every((k, i) => k === kernelList[i])) {
    return cached.fn
  }
  const factory = new Function("K", "logistic", "softplus", "C", body) as (
    K: ReadonlyArray<Ad.Kernel>,
    logistic: (x: number) => number,
    softplus: (x: number) => number,
    C: ReadonlyArray<Float64Array | Int32Array>
  ) => Compiled
  const fn = factory(kernelList, Ad.logisticValue, Ad.softplusValue, columns)
  if (key !== undefined) {
    if (CACHE.size >= CACHE_SIZE) CACHE.delete(CACHE.keys().next().value!)
    CACHE.set(key, { kernels: kernelList, fn })
  }
  return fn
}

/**
 * Compiled functions by source (and kernels): building the same model's density again (another
 * run, another chain count) reuses the function V8 has already optimised instead of compiling and
 * warming up a new one (about 1 ms on eight schools). The function keeps its scratch arrays in
 * its closure; calls never overlap (they are synchronous), so sharing it is safe.
 */
const CACHE = new Map<string, { readonly kernels: ReadonlyArray<Ad.Kernel>; readonly fn: Compiled }>()
const CACHE_SIZE = 64
