/**
 * The differentiable math module: arithmetic on model values that gradient-based inference can
 * differentiate. JavaScript has no operator overloading, so a model that wants exact gradients
 * writes `Ad.add(mu, Ad.mul(tau, eta))` instead of `mu + tau * eta`. In ordinary runs (prior
 * draws, MH, SMC) every value is a plain number and these functions are plain arithmetic. Under
 * the gradient handler (`LogDensity` in `@fugue/inference`) latent values are `Node`s and every
 * operation records one entry on a reverse-mode tape, with its local partial derivatives; the
 * tape is differentiated in one backward sweep, or compiled into a straight-line function.
 * Distributions accept these values as parameters (`Normal(Ad.mul(tau, eta), 1)`) and supply
 * analytic partials of their `logProb`.
 *
 * A `Node` that reaches plain JavaScript arithmetic (`mu + 1`, `Math.exp(mu)`, `mu > 0`,
 * `` `${mu}` ``) converts to its number through `valueOf`, and the tape records that it escaped:
 * the gradient through that path is lost, so `LogDensity` does not use the tape and falls back
 * to finite differences, naming the site whose value escaped. Nothing is guessed.
 *
 * @since 0.2.0
 */
import * as Data from "effect/Data"

/**
 * A value a model computes with: a plain number, or a tape node under the gradient handler.
 *
 * @example
 * const f = (x: Ad.Real): Ad.Real => Ad.add(Ad.mul(x, x), 1)
 * f(2) // 5, a plain number
 *
 * @category models
 * @since 0.2.0
 */
export type Real = number | Node

/**
 * The analytic log density of a family with its partial derivatives: returns log p(x | p0, p1,
 * p2), writes ∂/∂x to `out[0]` and ∂/∂p_i to `out[1 + i]` (unused parameters are ignored), and
 * returns −∞ (leaving `out` unspecified) where a parameter is invalid or x is outside the support.
 *
 * @example
 * const out = new Float64Array(4)
 * normalKernel(out, 1, 0, 1, 0) // −0.5 − log √(2π); out[0] = −1, out[1] = 1, out[2] = 0
 *
 * @category models
 * @since 0.2.0
 */
export type Kernel = (out: Float64Array, x: number, p0: number, p1: number, p2: number) => number

/** Set by every arithmetic `Ad` function (`usedSinceReset`): one store per call, no overflow. */
const usage = { arithmetic: false }

/**
 * A node of the tape that is recording: its `value` and its position. Only the gradient handler
 * makes nodes; a model passes them to `Ad` functions and to distributions, never to plain
 * arithmetic (which works, but loses the gradient and is reported).
 *
 * @example
 * const x = yield* sample("x", Normal(0, 1)) // a Node under LogDensity, a number elsewhere
 * const y = Ad.exp(x)                          // recorded
 *
 * @category models
 * @since 0.2.0
 */
export class Node {
  readonly tape: Tape
  readonly index: number
  readonly generation: number
  /** The number this node stands for (reading it is not recorded: use `Ad` functions). */
  readonly value: number
  constructor(tape: Tape, index: number, value: number) {
    this.tape = tape
    this.index = index
    this.generation = tape.generation
    this.value = value
  }
  valueOf(): number {
    this.tape.escape(this)
    return this.value
  }
  [Symbol.toPrimitive](): number {
    this.tape.escape(this)
    return this.value
  }
  toString(): string {
    this.tape.escape(this)
    return String(this.value)
  }
}

/**
 * Whether a value is a tape node.
 *
 * @example
 * Ad.isNode(1) // false
 *
 * @category getters
 * @since 0.2.0
 */
export const isNode = (x: unknown): x is Node => x instanceof Node

/**
 * The number behind a value, without recording anything. For library code (distribution
 * constructors validating their parameters); a model that does arithmetic on `primal(x)` loses
 * the gradient without it being reported.
 *
 * @example
 * Ad.primal(3) // 3
 *
 * @category getters
 * @since 0.2.0
 */
export const primal = (x: Real): number => (typeof x === "number" ? x : x instanceof Node ? x.value : (x as number))

/**
 * A node from another recording (kept from an earlier run) or from a tape that is not recording
 * was used while a tape records: its gradient cannot be traced.
 *
 * @example
 * // const kept = x (a Node of run 1); in run 2: Ad.add(kept, 1) // throws StaleNodeError
 *
 * @category errors
 * @since 0.2.0
 */
export class StaleNodeError extends Data.TaggedError("StaleNodeError")<{ readonly index: number }> {
  override get message(): string {
    return `a differentiable value from an earlier run (node ${this.index}) was used in this run: values must not be kept across model executions`
  }
}

// ─── op codes (the compiler in @fugue/inference reads them) ──────────────────────────────────
/** An input of the recording (an unconstrained coordinate). */
export const LEAF = 0
/** binary: a + b. */
export const ADD = 1
/** binary: a − b. */
export const SUB = 2
/** binary: a · b. */
export const MUL = 3
/** binary: a / b. */
export const DIV = 4
/** unary: −a. */
export const NEG = 5
/** unary: eᵃ. */
export const EXP = 6
/** unary: log a. */
export const LOG = 7
/** unary: log(1 + a). */
export const LOG1P = 8
/** unary: eᵃ − 1. */
export const EXPM1 = 9
/** unary: √a. */
export const SQRT = 10
/** unary: a². */
export const SQUARE = 11
/** binary: aᵇ. */
export const POW = 12
/** unary: |a|. */
export const ABS = 13
/** unary: sin a. */
export const SIN = 14
/** unary: cos a. */
export const COS = 15
/** unary: tanh a. */
export const TANH = 16
/** unary: 1 / (1 + e^−a). */
export const LOGISTIC = 17
/** unary: log σ(a) = −softplus(−a). */
export const LOG_SIGMOID = 18
/** unary: log(1 + eᵃ). */
export const SOFTPLUS = 19
/** n-ary: Σ operands. */
export const SUM = 20
/** n-ary: Σ operands[2k]·operands[2k+1]. */
export const DOT = 21
/** n-ary: log Σ exp(operands). */
export const LOG_SUM_EXP = 22
/** n-ary: a family kernel (`kernels[aux]`) at (x, p0, p1, p2). */
export const KERNEL = 23
/**
 * n-ary: a family kernel summed over the rows of a linear predictor (`fused[aux]`): Σᵢ k(yᵢ, θᵢ)
 * with the parameter at the predictor's slot ηᵢ = a + Σⱼ Xᵢⱼ βⱼ. Operands: a, β₀ … β_{d−1}, then
 * the kernel's other two parameters.
 */
export const LINEAR_KERNEL = 24
// Op codes of the evaluation plan only (never recorded): see `Tape.plan`.
const NORMAL_FOLDED = 20
const GENERIC = 21
const SUM_PLANNED = 22
const KERNEL_PLANNED = 23
const ADD_MUL_A = 24
const ADD_MUL_B = 25
const NORMAL_AFFINE = 27
const NORMAL_SIGMA = 28
const NORMAL_SIGMA_AFFINE = 29
/** A MUL computed by its ADD (ADD_MUL_A / ADD_MUL_B), not on its own. */
const FUSED = 26
// The same, for a term of the output sum whose adjoint is 1 (`valueAndGradient`): its partials
// added to its operands' adjoints as it is evaluated.
const NORMAL_FOLDED_UNIT = 30
const NORMAL_AFFINE_UNIT = 31
const KERNEL_UNIT = 32

/**
 * A design matrix, n rows × d columns, row-major in one `Float64Array`: what `Ad.linear` reads.
 *
 * @example
 * const X = Ad.design([[1, 0.5], [1, 2.0]]) // n = 2, d = 2
 *
 * @category models
 * @since 0.2.0
 */
export class Design {
  readonly rows: number
  readonly columns: number
  readonly data: Float64Array
  constructor(rows: number, columns: number, data: Float64Array) {
    this.rows = rows
    this.columns = columns
    this.data = data
  }
}

/**
 * Packs rows of numbers into a `Design` (build it once, outside the model: `Ad.linear` then reads
 * it without copying); throws a `RangeError` naming a ragged or non-numeric row.
 *
 * @example
 * const X = Ad.design(wells.map((w) => [w.dist, w.arsenic]))
 *
 * @category constructors
 * @since 0.2.0
 */
export const design = (rows: ReadonlyArray<ArrayLike<number>>): Design => {
  const n = rows.length, d = n > 0 ? rows[0]!.length : 0
  const data = new Float64Array(n * d)
  for (let i = 0; i < n; i++) {
    const row = rows[i]!
    if (row.length !== d) throw new RangeError(`Ad.design: row ${i} has ${row.length} columns, row 0 has ${d}`)
    for (let j = 0; j < d; j++) {
      const v = row[j]
      if (typeof v !== "number" || v - v !== 0) throw new RangeError(`Ad.design: entry [${i}][${j}] is ${String(v)}, not a finite number`)
      data[i * d + j] = v
    }
  }
  return new Design(n, d, data)
}

/**
 * A linear predictor η = a + X·β over the rows of a design (`Ad.linear`): its values as numbers,
 * and its differentiable inputs. A broadcast family takes it as a parameter
 * (`Normal(Ad.linear(X, beta, a), sigma)`), and under the gradient handler the whole
 * observation is one fused tape node with an O(n·d) loop, instead of n·(d + 2) nodes.
 *
 * @example
 * const eta = Ad.linear(X, beta, alpha)
 * eta.values[0] // the first row's predictor, as a number
 *
 * @category models
 * @since 0.2.0
 */
export class LinearPredictor {
  readonly design: Design
  readonly coefficients: ReadonlyArray<Real>
  readonly intercept: Real
  /** ηᵢ as numbers. */
  readonly values: Float64Array
  /** Whether the intercept or a coefficient is a tape node. */
  readonly differentiable: boolean
  constructor(design: Design, coefficients: ReadonlyArray<Real>, intercept: Real, values: Float64Array, differentiable: boolean) {
    this.design = design
    this.coefficients = coefficients
    this.intercept = intercept
    this.values = values
    this.differentiable = differentiable
  }
  get length(): number {
    return this.design.rows
  }
  /** Row i's predictor as a differentiable value (recorded: a + Xᵢ·β). */
  at(i: number): Real {
    const d = this.design.columns, x = this.design.data
    const row = new Array<Real>(d)
    for (let j = 0; j < d; j++) row[j] = x[i * d + j]!
    return add(this.intercept, dot(row, this.coefficients))
  }
}

/**
 * The linear predictor η = intercept + X·β for a design (rows of numbers, or a `Design` built
 * once with `Ad.design`) and coefficients that may be differentiable. Pass it to a broadcast
 * family: `observe("y", BernoulliLogit(Ad.linear(X, beta, alpha)), ys)`.
 *
 * @example
 * const eta = Ad.linear([[1, 2], [3, 4]], [0.5, -1], 1) // values [−0.5, −1.5]
 *
 * @category numerics
 * @since 0.2.0
 */
export const linear = (x: Design | ReadonlyArray<ArrayLike<number>>, coefficients: ArrayLike<Real>, intercept: Real = 0): LinearPredictor => {
  usage.arithmetic = true
  const X = x instanceof Design ? x : design(x)
  const d = X.columns, n = X.rows
  if (coefficients.length !== d) throw new RangeError(`Ad.linear: ${coefficients.length} coefficients for a design with ${d} columns`)
  const beta = new Float64Array(d)
  const operands: Array<Real> = new Array(d)
  let differentiable = intercept instanceof Node
  for (let j = 0; j < d; j++) {
    const c = coefficients[j]!
    operands[j] = c
    if (c instanceof Node) differentiable = true
    beta[j] = primal(c)
  }
  const a = primal(intercept)
  const values = new Float64Array(n)
  const data = X.data
  if (d === 1) {
    const b0 = beta[0]!
    for (let i = 0; i < n; i++) values[i] = a + data[i]! * b0
  } else if (d === 2) {
    const b0 = beta[0]!, b1 = beta[1]!
    for (let i = 0; i < n; i++) values[i] = a + data[2 * i]! * b0 + data[2 * i + 1]! * b1
  } else {
    for (let i = 0; i < n; i++) {
      let eta = a
      const row = i * d
      for (let j = 0; j < d; j++) eta += data[row + j]! * beta[j]!
      values[i] = eta
    }
  }
  return new LinearPredictor(X, operands, intercept, values, differentiable)
}

/**
 * A family's fused sum over a linear predictor, specialised for speed: Σᵢ log p(yᵢ | θᵢ) with
 * the parameter at `slot` ηᵢ = a + Xᵢ·β and the other two `o0`, `o1`; writes ∂/∂a, ∂/∂β₀ …
 * ∂/∂β_{d−1}, ∂/∂o0, ∂/∂o1 into `grad`. Returns NaN to decline (the kernel loop then runs).
 *
 * @example
 * // see the normal's in Normal.ts: log σ once, Σ z² and the partials in one pass
 *
 * @category models
 * @since 0.2.0
 */
export type LinearSum = (ys: Float64Array, design: Design, a: number, beta: Float64Array, slot: number, o0: number, o1: number, grad: Float64Array) => number

/** What a LINEAR_KERNEL node computes over (see `Tape.linearKernel`). */
interface Fused {
  readonly kernel: Kernel
  readonly fast: LinearSum | undefined
  /** Scratch for `fast`'s partials (d + 3). */
  readonly grad: Float64Array
  readonly design: Design
  readonly ys: Float64Array
  /** The kernel parameter (0, 1, 2) that is the predictor. */
  readonly slot: number
  /** Scratch: the coefficients' values and the partials' sums. */
  readonly beta: Float64Array
  readonly gradBeta: Float64Array
}

/**
 * log(1 + e^x), without overflow.
 *
 * @example
 * Ad.softplusValue(0)    // log 2 ≈ 0.6931
 * Ad.softplusValue(1000) // 1000 (e^1000 would overflow)
 */
export const softplusValue = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))
/**
 * 1 / (1 + e^−x), without overflow.
 *
 * @example
 * Ad.logisticValue(0)   // 0.5
 * Ad.logisticValue(800) // 1 (e^800 would overflow)
 */
export const logisticValue = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x))
  const e = Math.exp(x)
  return e / (1 + e)
}

const grow32 = (a: Int32Array, n: number): Int32Array => {
  const b = new Int32Array(Math.max(n, a.length * 2))
  b.set(a)
  return b
}
const grow64 = (a: Float64Array, n: number): Float64Array => {
  const b = new Float64Array(Math.max(n, a.length * 2))
  b.set(a)
  return b
}
const grow8 = (a: Uint8Array, n: number): Uint8Array => {
  const b = new Uint8Array(Math.max(n, a.length * 2))
  b.set(a)
  return b
}

/** log(2π)/2 (the normal kernel's constant, as `Distribution.HALF_LOG_2PI`). */
const HALF_LOG_2PI_AD = 0.9189385332046728

/** The normal family's kernel, registered by its module: the tape folds its constant σ. */
let normalKernelRef: Kernel | undefined = undefined

/**
 * Registers the normal family's kernel, whose constant-σ nodes the tape evaluates with σ's
 * constants folded (the normal module calls it once).
 *
 * @example
 * Ad.registerNormalKernel(normalKernel)
 *
 * @category models
 * @since 0.2.0
 */
export const registerNormalKernel = (kernel: Kernel): void => {
  normalKernelRef = kernel
}

/** The derivative of the last `unaryValue`. */
let unaryPartial = 0

/**
 * The value of unary op o (NEG … SOFTPLUS) at a, its derivative left in `unaryPartial`: the one
 * definition the tape's recording and evaluation share.
 */
const unaryValue = (o: number, a: number): number => {
  let v: number
  switch (o) {
    case NEG:
      unaryPartial = -1
      return -a
    case EXP:
      v = Math.exp(a)
      unaryPartial = v
      return v
    case LOG:
      unaryPartial = 1 / a
      return Math.log(a)
    case LOG1P:
      unaryPartial = 1 / (1 + a)
      return Math.log1p(a)
    case EXPM1:
      v = Math.expm1(a)
      unaryPartial = v + 1
      return v
    case SQRT:
      v = Math.sqrt(a)
      unaryPartial = 0.5 / v
      return v
    case SQUARE:
      unaryPartial = 2 * a
      return a * a
    case ABS:
      unaryPartial = a > 0 ? 1 : a < 0 ? -1 : 0
      return Math.abs(a)
    case SIN:
      unaryPartial = Math.cos(a)
      return Math.sin(a)
    case COS:
      unaryPartial = -Math.sin(a)
      return Math.cos(a)
    case TANH:
      v = Math.tanh(a)
      unaryPartial = 1 - v * v
      return v
    case LOGISTIC:
      v = logisticValue(a)
      unaryPartial = v * (1 - v)
      return v
    case LOG_SIGMOID:
      unaryPartial = logisticValue(-a)
      return -softplusValue(-a)
    default:
      // SOFTPLUS
      unaryPartial = logisticValue(a)
      return softplusValue(a)
  }
}

/** The tape that is recording, if any (distribution constructors look here). */
let recording: Tape | undefined = undefined

/**
 * A reverse-mode tape, struct-of-arrays, reused across recordings (`reset` keeps its buffers).
 * Node i has an op code, operands (a node index ≥ 0, or a constant −1 − k), its value, and its
 * local partials as edges (parent node, weight) for the backward sweep. For the algorithm that
 * owns it (the gradient handler); models never touch it.
 *
 * @example
 * const tape = new Ad.Tape()
 * tape.begin(); const x = tape.leaf(0, 2); const y = Ad.mul(x, x); tape.end()
 * tape.gradient(y, grad) // grad[0] = 4
 *
 * @category models
 * @since 0.2.0
 */
export class Tape {
  generation = 0
  /** Number of nodes. */
  size = 0
  op: Uint8Array = new Uint8Array(256)
  /** First operand (node ≥ 0, constant −1 − k), or for n-ary nodes the start in `args`. */
  x: Int32Array = new Int32Array(256)
  /** Second operand, or for n-ary nodes the operand count; for LEAF, the input index. */
  y: Int32Array = new Int32Array(256)
  /** For KERNEL nodes, the kernel's index in `kernels`. */
  aux: Int32Array = new Int32Array(256)
  value: Float64Array = new Float64Array(256)
  /** Edges of node i are edgeStart[i] … edgeStart[i + 1] − 1. */
  edgeStart: Int32Array = new Int32Array(257)
  edgeTo: Int32Array = new Int32Array(512)
  edgeWeight: Float64Array = new Float64Array(512)
  edges = 0
  args: Int32Array = new Int32Array(256)
  argCount = 0
  constants: Float64Array = new Float64Array(256)
  constantCount = 0
  kernels: Array<Kernel> = []
  /** For constant-σ normal KERNEL nodes, 1/σ and −log σ − log(2π)/2 at 2i and 2i + 1. */
  private folded: Float64Array = new Float64Array(64)
  /** For LINEAR_KERNEL nodes, what each sums over. */
  fused: Array<Fused> = []
  /** The leaf node of each input, or −1. */
  leafOf: Int32Array = new Int32Array(16)
  /** The first node that escaped into plain arithmetic in this recording, or −1. */
  escaped = -1
  /** Distributions built from nodes in this recording, with their operands. */
  readonly distributions: Map<object, ReadonlyArray<Real>> = new Map()
  private readonly scratch = new Float64Array(4)
  private adjoint: Float64Array = new Float64Array(256)
  // The evaluation plan (see `plan`): built for one recording, on its first evaluation.
  private planGeneration = -1
  private planSize = -1
  private planConstants = -1
  private planOp: Uint8Array = new Uint8Array(0)
  private planA: Int32Array = new Int32Array(0)
  private planB: Int32Array = new Int32Array(0)
  private planEdgeA: Int32Array = new Int32Array(0)
  private planEdgeB: Int32Array = new Int32Array(0)
  private edgeFrom: Int32Array = new Int32Array(0)
  /** The plan's non-leaf nodes in order, and its leaves. */
  private planProgram: Int32Array = new Int32Array(0)
  private planCount = 0
  private planLeaves: Int32Array = new Int32Array(0)
  private planLeafCount = 0
  /** Resolved operands (and, for kernels, edge slots) of the planned n-ary nodes. */
  private planArgs: Int32Array = new Int32Array(0)
  /**
   * `planOp` for `valueAndGradient`: a term of the output sum used by nothing else (adjoint 1 at
   * every point) whose op can add its partials to its operands' adjoints as it is evaluated has
   * the `…_UNIT` form of its op.
   */
  private planOpGradient: Uint8Array = new Uint8Array(0)
  /**
   * The edges the backward sweep of `valueAndGradient` visits (the rest were done forward), as
   * runs of consecutive edges, last first: run k is planRuns[2k + 1] − 1 down to planRuns[2k].
   */
  private planRuns: Int32Array = new Int32Array(0)
  private planRunCount = 0
  /** The nodes whose adjoints `valueAndGradient` reads or adds to (the others are done forward). */
  private planAdjoints: Int32Array = new Int32Array(0)
  private planAdjointCount = 0
  /** When the output is a sum: its operands that are nodes and not unit terms (adjoint += 1 each), in edge order. */
  private planTerms: Int32Array = new Int32Array(0)
  private planTermCount = -1

  /** Starts a recording (makes this tape the active one); nodes of earlier recordings go stale. */
  begin(inputs = 0): void {
    if (recording !== undefined && recording !== this) throw new Error("Ad: another tape is recording")
    recording = this
    this.generation++
    this.size = 0
    this.edges = 0
    this.edgeStart[0] = 0
    this.argCount = 0
    this.constantCount = 0
    this.kernels.length = 0
    this.fused.length = 0
    this.escaped = -1
    this.distributions.clear()
    if (this.leafOf.length < inputs) this.leafOf = new Int32Array(inputs)
    this.leafOf.fill(-1)
  }
  /** Ends the recording (the tape's contents stay readable). */
  end(): void {
    if (recording === this) recording = undefined
  }
  /** Whether this tape is the one recording. */
  get active(): boolean {
    return recording === this
  }
  /** Records that `node` escaped into plain arithmetic (the first one is kept). */
  escape(node: Node): void {
    if (node.generation === this.generation && this.escaped < 0) this.escaped = node.index
  }

  /** A new input node for coordinate `input` with value `v`. */
  leaf(input: number, v: number): Node {
    const i = this.push(LEAF, 0, input, v)
    this.edgeStart[i + 1] = this.edges
    if (input >= this.leafOf.length) this.leafOf = grow32(this.leafOf, input + 1)
    this.leafOf[input] = i
    return new Node(this, i, v)
  }

  /** The operand reference of a value: its node index, or a new constant. */
  ref(a: Real): number {
    if (typeof a === "number") {
      if (this.constantCount === this.constants.length) this.constants = grow64(this.constants, this.constantCount + 1)
      this.constants[this.constantCount] = a
      return -1 - this.constantCount++
    }
    if (!(a instanceof Node) || a.tape !== this || a.generation !== this.generation || recording !== this) {
      throw new StaleNodeError({ index: a instanceof Node ? a.index : -1 })
    }
    return a.index
  }

  private push(op: number, x: number, y: number, v: number): number {
    const i = this.size
    if (i === this.op.length) {
      const n = i + 1
      this.op = grow8(this.op, n)
      this.x = grow32(this.x, n)
      this.y = grow32(this.y, n)
      this.aux = grow32(this.aux, n)
      this.value = grow64(this.value, n)
      this.edgeStart = grow32(this.edgeStart, n + 2)
    }
    this.op[i] = op
    this.x[i] = x
    this.y[i] = y
    this.value[i] = v
    this.size = i + 1
    return i
  }
  private edge(to: number, w: number): void {
    if (to < 0) return
    if (this.edges === this.edgeTo.length) {
      this.edgeTo = grow32(this.edgeTo, this.edges + 1)
      this.edgeWeight = grow64(this.edgeWeight, this.edges + 1)
    }
    this.edgeTo[this.edges] = to
    this.edgeWeight[this.edges++] = w
  }
  private arg(r: number): void {
    if (this.argCount === this.args.length) this.args = grow32(this.args, this.argCount + 1)
    this.args[this.argCount++] = r
  }

  /**
   * Records a unary or binary op on a and b (b ignored for unary ops): the node's value and
   * local partials come from `compute`, the same code `evaluate` runs at later points.
   */
  binary(op: number, a: Real, b: Real): Node {
    const ra = this.ref(a)
    const rb = op <= DIV || op === POW ? this.ref(b) : 0
    const i = this.push(op, ra, rb, 0)
    this.edge(ra, 0)
    if (op <= DIV || op === POW) this.edge(rb, 0)
    this.edgeStart[i + 1] = this.edges
    return this.computed(i)
  }
  /** Records a unary op on a. */
  unary(op: number, a: Real): Node {
    return this.binary(op, a, 0)
  }
  /** Records an n-ary op over `count` operands (for KERNEL, `aux` is the kernel's index). */
  nary(op: number, operands: ArrayLike<Real>, count: number, aux = 0): Node {
    const start = this.argCount
    for (let k = 0; k < count; k++) this.arg(this.ref(operands[k]!))
    const i = this.push(op, start, count, 0)
    this.aux[i] = aux
    for (let k = 0; k < count; k++) this.edge(this.args[start + k]!, 0)
    this.edgeStart[i + 1] = this.edges
    return this.computed(i)
  }
  private computed(i: number): Node {
    this.compute(undefined, i, i)
    return new Node(this, i, this.value[i]!)
  }

  /**
   * Σᵢ log p(yᵢ | θᵢ) of a family kernel whose parameter `slot` is the linear predictor `eta`
   * (the other two kernel parameters `others`, scalars): one node for the whole observation.
   */
  linearKernel(kernel: Kernel, ys: Float64Array, eta: LinearPredictor, slot: number, others: readonly [Real, Real], fast?: LinearSum): Node {
    const d = eta.design.columns
    const operands: Array<Real> = [eta.intercept, ...eta.coefficients, others[0], others[1]]
    const id = this.fused.push({
      kernel,
      fast,
      grad: new Float64Array(d + 3),
      design: eta.design,
      ys,
      slot,
      beta: new Float64Array(d),
      gradBeta: new Float64Array(d)
    }) - 1
    return this.nary(LINEAR_KERNEL, operands, d + 3, id)
  }

  /** log p from a family kernel at (x, params), a node when any operand is one. */
  kernel(kernel: Kernel, x: Real, params: ReadonlyArray<Real>): Real {
    const operands = [x, params.length > 0 ? params[0]! : 0, params.length > 1 ? params[1]! : 0, params.length > 2 ? params[2]! : 0]
    let anyNode = false
    for (let k = 0; k < 4; k++) if (typeof operands[k] !== "number") anyNode = true
    if (!anyNode) return kernel(this.scratch, x as number, operands[1] as number, operands[2] as number, operands[3] as number)
    let id = this.kernels.indexOf(kernel)
    if (id < 0) id = this.kernels.push(kernel) - 1
    return this.nary(KERNEL, operands, 4, id)
  }

  /**
   * Re-evaluates the recorded computation at new input values, without the model: every node's
   * value and local partials (edge weights) in recording order, up to node `output`, whose value
   * it returns. Valid because a recording without escapes is the same computation at every
   * point (control flow on a node's value would have gone through `valueOf`). Allocates nothing
   * once the recording's plan exists (`plan`, made at the first call): the same arithmetic as
   * recording, with operands resolved, constant partials written once, and a product used only
   * by a sum (and such a sum used only as a constant-σ normal's mean) fused into its consumer.
   */
  evaluate(inputs: ArrayLike<number>, output: number): number {
    if (output !== this.size - 1) {
      // a node inside the tape: the plan's fused pairs may straddle it
      this.compute(inputs, 0, output)
      return this.value[output]!
    }
    this.plan()
    return this.forward(inputs, false)
  }

  /**
   * The value of node `output` at new input values and its gradient, written to `out` (all zero
   * where the value is not finite): `evaluate` then `gradientOf`, in less work. The terms of the
   * output sum have adjoint 1, so the common ones (normals, kernels) add their partials to their
   * operands' adjoints as they are evaluated, and the backward sweep visits only the other nodes.
   * The same partials as `gradientOf`'s; the adjoints summed in another order. (Unit terms write
   * no edge weights here: `gradientOf` needs an `evaluate` first.)
   *
   * @example
   * const lp = tape.valueAndGradient(q, output.index, grad)
   */
  valueAndGradient(inputs: ArrayLike<number>, output: number, out: Float64Array): number {
    if (output !== this.size - 1) {
      const v = this.evaluate(inputs, output)
      if (v > -Infinity && v < Infinity) this.gradientOf(output, out)
      else out.fill(0)
      return v
    }
    this.plan()
    const n = this.size
    if (this.adjoint.length < n) this.adjoint = new Float64Array(Math.max(n, this.adjoint.length * 2))
    const adj = this.adjoint, zero = this.planAdjoints
    for (let k = 0, count = this.planAdjointCount; k < count; k++) adj[zero[k]!] = 0
    adj[n - 1] = 1
    const v = this.forward(inputs, true)
    if (!(v > -Infinity && v < Infinity)) {
      out.fill(0)
      return v
    }
    // the output sum's other terms (adjoint 1, partial 1), in the order the edge sweep takes them
    const terms = this.planTerms
    for (let k = 0, count = this.planTermCount; k < count; k++) adj[terms[k]!] += 1
    // the edge sweep of `gradientOf` over the rest, last first (a zero adjoint skipped)
    const runs = this.planRuns, from = this.edgeFrom, to = this.edgeTo, w = this.edgeWeight
    for (let k = 0, count = this.planRunCount; k < count; k++) {
      for (let e = runs[2 * k + 1]! - 1, first = runs[2 * k]!; e >= first; e--) {
        const g = adj[from[e]!]!
        if (g !== 0) adj[to[e]!] += g * w[e]!
      }
    }
    const leafOf = this.leafOf
    for (let k = 0, d = out.length; k < d; k++) {
      const leaf = k < leafOf.length ? leafOf[k]! : -1
      out[k] = leaf >= 0 ? adj[leaf]! : 0
    }
    return v
  }

  /**
   * `evaluate`'s pass over the plan; with `gradient`, by `planOpGradient`, whose unit terms add
   * their partials to `adjoint` instead of writing them as edge weights.
   */
  private forward(inputs: ArrayLike<number>, gradient: boolean): number {
    const n = this.size, output = n - 1
    const val = this.value, w = this.edgeWeight, F = this.folded, leafInput = this.y
    const op = gradient ? this.planOpGradient : this.planOp, pa = this.planA, pb = this.planB, ea = this.planEdgeA, eb = this.planEdgeB
    const prog = this.planProgram, leaves = this.planLeaves, adj = this.adjoint
    // the σ node of the last NORMAL_SIGMA, with 1/σ and log σ
    let sigmaNode = -1, sigmaInv = 0, sigmaLog = 0
    for (let k = 0, count = this.planLeafCount; k < count; k++) {
      const i = leaves[k]!
      val[i] = inputs[leafInput[i]!]!
    }
    for (let k = 0, count = this.planCount; k < count; k++) {
      const i = prog[k]!
      const o = op[i]!
      // the arithmetic of `compute`, operand for operand (the same values and partials); the
      // constant partials (of ADD, SUB, NEG, SUM) were written when the plan was made; each op
      // reads only the operands it uses
      switch (o) {
        case ADD:
          val[i] = val[pa[i]!]! + val[pb[i]!]!
          break
        case ADD_MUL_A:
        case ADD_MUL_B:
          this.addMulAt(i, o)
          break
        case SUB:
          val[i] = val[pa[i]!]! - val[pb[i]!]!
          break
        case MUL: {
          const a = val[pa[i]!]!, b = val[pb[i]!]!
          val[i] = a * b
          w[ea[i]!] = b
          w[eb[i]!] = a
          break
        }
        case DIV: {
          const a = val[pa[i]!]!, b = val[pb[i]!]!
          const v = a / b
          val[i] = v
          w[ea[i]!] = 1 / b
          w[eb[i]!] = -v / b
          break
        }
        case NORMAL_FOLDED:
        case NORMAL_AFFINE: {
          // the normal at x = a, mu = b with a constant σ: 1/σ and the log normaliser folded;
          // NORMAL_AFFINE's mean is a fused ADD_MUL node, computed here (see `plan`)
          const a = val[pa[i]!]!
          const mu = o === NORMAL_FOLDED ? val[pb[i]!]! : this.addMulAt(pb[i]!, op[pb[i]!]!)
          const inv = F[2 * i]!, constant = F[2 * i + 1]!
          const ok = a - a === 0 && mu - mu === 0
          const z = (a - mu) * inv
          w[ea[i]!] = ok ? -z * inv : 0
          w[eb[i]!] = ok ? z * inv : 0
          val[i] = ok ? constant - 0.5 * z * z : -Infinity
          break
        }
        case NORMAL_FOLDED_UNIT: {
          // as NORMAL_FOLDED, the partials added to the node operands' adjoints
          const xa = pa[i]!, xb = pb[i]!
          const a = val[xa]!, b = val[xb]!
          const inv = F[2 * i]!, constant = F[2 * i + 1]!
          const ok = a - a === 0 && b - b === 0
          const z = (a - b) * inv
          if (xa < n) adj[xa] += ok ? -z * inv : 0
          if (xb < n) adj[xb] += ok ? z * inv : 0
          val[i] = ok ? constant - 0.5 * z * z : -Infinity
          break
        }
        case NORMAL_AFFINE_UNIT:
          this.normalAffineUnit(i)
          break
        case EXP: {
          const v = Math.exp(val[pa[i]!]!)
          val[i] = v
          w[ea[i]!] = v
          break
        }
        case LOG: {
          const a = val[pa[i]!]!
          val[i] = Math.log(a)
          w[ea[i]!] = 1 / a
          break
        }
        case NEG:
          val[i] = -val[pa[i]!]!
          break
        case NORMAL_SIGMA:
        case NORMAL_SIGMA_AFFINE: {
          const args = this.planArgs, s0 = pa[i]!
          const x = val[args[s0]!]!
          const mu = o === NORMAL_SIGMA ? val[pb[i]!]! : this.addMulAt(pb[i]!, op[pb[i]!]!)
          const si = args[s0 + 2]!, sigma = val[si]!
          if (si !== sigmaNode) {
            sigmaNode = si
            sigmaInv = 1 / sigma
            sigmaLog = Math.log(sigma)
          }
          // normalKernel's arithmetic, with log σ and 1/σ shared
          if (!(sigma > 0 && sigma < Infinity) || x - x !== 0 || mu - mu !== 0) {
            w[args[s0 + 3]!] = 0
            w[args[s0 + 4]!] = 0
            w[args[s0 + 5]!] = 0
            val[i] = -Infinity
          } else {
            const z = (x - mu) * sigmaInv
            w[args[s0 + 3]!] = -z * sigmaInv
            w[args[s0 + 4]!] = z * sigmaInv
            w[args[s0 + 5]!] = (z * z - 1) * sigmaInv
            val[i] = -sigmaLog - HALF_LOG_2PI_AD - 0.5 * z * z
          }
          break
        }
        case SUM_PLANNED: {
          // operands from planArgs[a0 … a0 + count), all partials 1
          const args = this.planArgs, start = pa[i]!, end = start + pb[i]!
          let v = 0
          for (let j = start; j < end; j++) v += val[args[j]!]!
          val[i] = v
          break
        }
        case KERNEL_PLANNED:
          this.kernelAt(i)
          break
        case KERNEL_UNIT: {
          // kernelAt for a node of adjoint 1: the partials added to its node operands' adjoints
          // (a constant's partial may be anything: an unused parameter's)
          const args = this.planArgs, out = this.scratch, s = pa[i]!
          const r0 = args[s]!, r1 = args[s + 1]!, r2 = args[s + 2]!, r3 = args[s + 3]!
          const v = this.kernels[this.aux[i]!]!(out, val[r0]!, val[r1]!, val[r2]!, val[r3]!)
          val[i] = v
          if (!(v > -Infinity)) break
          if (r0 < n) adj[r0] += out[0]!
          if (r1 < n) adj[r1] += out[1]!
          if (r2 < n) adj[r2] += out[2]!
          if (r3 < n) adj[r3] += out[3]!
          break
        }
        case SQUARE: {
          const a = val[pa[i]!]!
          val[i] = a * a
          w[ea[i]!] = 2 * a
          break
        }
        case GENERIC:
          this.compute(inputs, i, i)
          break
        default:
          this.unaryAt(o, i, val[pa[i]!]!)
      }
    }
    return val[output]!
  }

  /** An ADD node i whose operand (b for ADD_MUL_B, a for ADD_MUL_A) is its fused MUL: both computed; returns the sum. */
  private addMulAt(i: number, o: number): number {
    const val = this.value, w = this.edgeWeight, pa = this.planA, pb = this.planB, ea = this.planEdgeA, eb = this.planEdgeB
    const j = o === ADD_MUL_B ? pb[i]! : pa[i]!
    const x = val[pa[j]!]!, y = val[pb[j]!]!
    const m = x * y
    val[j] = m
    w[ea[j]!] = y
    w[eb[j]!] = x
    const v = o === ADD_MUL_B ? val[pa[i]!]! + m : m + val[pb[i]!]!
    val[i] = v
    return v
  }

  /**
   * A NORMAL_AFFINE node i of adjoint 1: its mean a' + x'·y' (the fused ADD_MUL and its
   * MUL), its value, and the partials `compute` gives, passed to the node operands' adjoints:
   * ∂x, then ∂mu to a', and ∂mu·y', ∂mu·x' to x' and y'.
   */
  private normalAffineUnit(i: number): void {
    const val = this.value, adj = this.adjoint, pa = this.planA, pb = this.planB, n = this.size
    const xa = pa[i]!, a = val[xa]!
    const j = pb[i]!
    const mulOnB = this.planOp[j] === ADD_MUL_B
    const m = mulOnB ? pb[j]! : pa[j]!, other = mulOnB ? pa[j]! : pb[j]!
    const xm = pa[m]!, ym = pb[m]!
    const x = val[xm]!, y = val[ym]!
    const product = x * y
    const mu = mulOnB ? val[other]! + product : product + val[other]!
    val[m] = product
    val[j] = mu
    const inv = this.folded[2 * i]!, constant = this.folded[2 * i + 1]!
    const ok = a - a === 0 && mu - mu === 0
    const z = (a - mu) * inv
    const g = ok ? z * inv : 0
    if (xa < n) adj[xa] += ok ? -z * inv : 0
    if (other < n) adj[other] += g
    if (xm < n) adj[xm] += g * y
    if (ym < n) adj[ym] += g * x
    val[i] = ok ? constant - 0.5 * z * z : -Infinity
  }

  /** A KERNEL node of `evaluate` (operands and edge slots from the plan; the arithmetic of `compute`). */
  private kernelAt(i: number): void {
    const val = this.value, w = this.edgeWeight, args = this.planArgs, out = this.scratch
    const s = this.planA[i]!
    const v = this.kernels[this.aux[i]!]!(out, val[args[s]!]!, val[args[s + 1]!]!, val[args[s + 2]!]!, val[args[s + 3]!]!)
    const finite = v > -Infinity
    w[args[s + 4]!] = finite ? out[0]! : 0
    w[args[s + 5]!] = finite ? out[1]! : 0
    w[args[s + 6]!] = finite ? out[2]! : 0
    w[args[s + 7]!] = finite ? out[3]! : 0
    val[i] = v
  }

  /** The rarer unary ops of `evaluate` (the arithmetic of `compute`). */
  private unaryAt(o: number, i: number, a: number): void {
    let v: number
    let da: number
    if (o === POW) {
      const b = this.value[this.planB[i]!]!
      v = Math.pow(a, b)
      da = b === 0 ? 0 : b * Math.pow(a, b - 1)
      this.edgeWeight[this.planEdgeB[i]!] = this.y[i]! >= 0 ? v * Math.log(a) : 0
    } else {
      v = unaryValue(o, a)
      da = unaryPartial
    }
    this.value[i] = v
    this.edgeWeight[this.planEdgeA[i]!] = da
  }

  /**
   * The evaluation plan of the current recording, built once: each node's op specialised
   * (`NORMAL_FOLDED` for a normal kernel with a constant σ; `GENERIC`, evaluated by `compute`,
   * for the n-ary ops and other kernels), its operands as indices into `value` (the constants
   * copied after the nodes, so no operand needs a node-or-constant test), and the edge slot of
   * each operand's partial (a spare slot after the last edge for a constant operand, so the
   * writes need no test either); and each edge's node, for the backward sweep.
   */
  private plan(): void {
    const n = this.size, cc = this.constantCount
    if (this.planGeneration === this.generation && this.planSize === n && this.planConstants === cc) return
    if (this.value.length < n + cc) this.value = grow64(this.value, n + cc)
    const val = this.value, c = this.constants
    for (let k = 0; k < cc; k++) val[n + k] = c[k]!
    const spare = this.edges
    if (this.edgeWeight.length <= spare) {
      this.edgeWeight = grow64(this.edgeWeight, spare + 1)
      this.edgeTo = grow32(this.edgeTo, spare + 1)
    }
    if (this.planOp.length < n) {
      const m = Math.max(n, 2 * this.planOp.length)
      this.planOp = new Uint8Array(m)
      this.planA = new Int32Array(m)
      this.planB = new Int32Array(m)
      this.planEdgeA = new Int32Array(m)
      this.planEdgeB = new Int32Array(m)
      this.planProgram = new Int32Array(m)
      this.planLeaves = new Int32Array(m)
      this.planOpGradient = new Uint8Array(m)
      this.planRuns = new Int32Array(2 * m)
      this.planAdjoints = new Int32Array(m)
    }
    let planArgs = 0
    const argSlots = (count: number): number => {
      if (this.planArgs.length < planArgs + count) {
        const grown = new Int32Array(Math.max(planArgs + count, 2 * this.planArgs.length))
        grown.set(this.planArgs)
        this.planArgs = grown
      }
      const start = planArgs
      planArgs += count
      return start
    }
    let count = 0, leafCount = 0
    const w = this.edgeWeight
    if (this.edgeFrom.length < spare) this.edgeFrom = new Int32Array(Math.max(spare, 2 * this.edgeFrom.length))
    const op = this.op, xs = this.x, ys = this.y, es = this.edgeStart, args = this.args
    const pop = this.planOp, pa = this.planA, pb = this.planB, ea = this.planEdgeA, eb = this.planEdgeB, from = this.edgeFrom
    const at = (r: number): number => (r >= 0 ? r : n - 1 - r)
    for (let i = 0; i < n; i++) {
      const o = op[i]!, xr = xs[i]!, yr = ys[i]!, e = es[i]!
      for (let k = e, end = es[i + 1]!; k < end; k++) from[k] = i
      pa[i] = 0
      pb[i] = 0
      ea[i] = spare
      eb[i] = spare
      if (o === LEAF) {
        pop[i] = LEAF
        this.planLeaves[leafCount++] = i
        continue
      }
      this.planProgram[count++] = i
      if (o < SUM) {
        const binary = o <= DIV || o === POW
        pop[i] = o
        pa[i] = at(xr)
        if (binary) pb[i] = at(yr)
        let k = e
        if (xr >= 0) ea[i] = k++
        if (binary && yr >= 0) eb[i] = k
        // constant partials, written once
        if (o === ADD || o === SUB || o === NEG) {
          w[ea[i]!] = o === NEG ? -1 : 1
          w[eb[i]!] = o === SUB ? -1 : 1
        }
        continue
      }
      pop[i] = GENERIC
      if (o === SUM) {
        pop[i] = SUM_PLANNED
        const start = argSlots(yr)
        // a constant ±0 operand (a site's zero log-Jacobian) left out: v + ±0 is v, bit for bit
        let operands = 0
        for (let j = 0; j < yr; j++) {
          const r = args[xr + j]!
          if (r >= 0 || c[-1 - r]! !== 0) this.planArgs[start + operands++] = at(r)
        }
        pa[i] = start
        pb[i] = operands
        for (let k = e, end = es[i + 1]!; k < end; k++) w[k] = 1
        continue
      }
      if (o !== KERNEL) continue // DOT, LOG_SUM_EXP, LINEAR_KERNEL: `compute`
      const r0 = args[xr]!, r1 = args[xr + 1]!, r2 = args[xr + 2]!, r3 = args[xr + 3]!
      if (this.kernels[this.aux[i]!] === normalKernelRef && r2 >= 0 && r3 < 0) {
        // σ a node (an unknown noise scale, shared by many observations): its log and inverse
        // computed once per evaluation and reused while consecutive normals share it
        pop[i] = NORMAL_SIGMA
        const start = argSlots(6)
        let k = e
        this.planArgs[start] = at(r0)
        this.planArgs[start + 1] = at(r1)
        this.planArgs[start + 2] = r2
        this.planArgs[start + 3] = r0 >= 0 ? k++ : spare
        this.planArgs[start + 4] = r1 >= 0 ? k++ : spare
        this.planArgs[start + 5] = k
        pa[i] = start
        pb[i] = at(r1)
        continue
      }
      if (this.kernels[this.aux[i]!] === normalKernelRef) {
        const sigma = r2 < 0 ? c[-1 - r2]! : Number.NaN
        // as `compute` folds it at recording (a constant σ > 0), with no node as fourth operand
        if (r3 < 0 && sigma > 0 && sigma < Infinity) {
          pop[i] = NORMAL_FOLDED
          pa[i] = at(r0)
          pb[i] = at(r1)
          let k = e
          if (r0 >= 0) ea[i] = k++
          if (r1 >= 0) eb[i] = k
          continue
        }
      }
      // any other kernel: operands, then each operand's edge slot (the spare one for a constant)
      pop[i] = KERNEL_PLANNED
      const start = argSlots(8)
      let k = e
      for (let j = 0; j < 4; j++) {
        const r = args[xr + j]!
        this.planArgs[start + j] = at(r)
        this.planArgs[start + 4 + j] = r >= 0 ? k++ : spare
      }
      pa[i] = start
    }
    // Fusion: an ADD whose second (or first) operand is a MUL node used by nothing else computes
    // that MUL itself (a + x·y, one dispatch instead of two); the MUL leaves the program.
    const uses = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      const o = op[i]!, xr = xs[i]!, yr = ys[i]!
      if (o === LEAF) continue
      if (o < SUM) {
        if (xr >= 0) uses[xr]++
        if ((o <= DIV || o === POW) && yr >= 0) uses[yr]++
      } else for (let j = xr, end = xr + yr; j < end; j++) if (args[j]! >= 0) uses[args[j]!]++
    }
    let kept = 0
    const fusedAdds: Array<number> = []
    for (let k = 0; k < count; k++) {
      const i = this.planProgram[k]!
      if (pop[i] === ADD) {
        const b = pb[i]!, a = pa[i]!
        if (b < n && pop[b] === MUL && uses[b] === 1) pop[i] = ADD_MUL_B
        else if (a < n && pop[a] === MUL && uses[a] === 1) pop[i] = ADD_MUL_A
      }
    }
    // and a folded normal whose mean is such an ADD used by nothing else computes it in turn
    for (let k = 0; k < count; k++) {
      const i = this.planProgram[k]!
      if (pop[i] !== NORMAL_FOLDED && pop[i] !== NORMAL_SIGMA) continue
      const mu = pb[i]!
      if (mu < n && (pop[mu] === ADD_MUL_A || pop[mu] === ADD_MUL_B) && uses[mu] === 1) pop[i] = pop[i] === NORMAL_FOLDED ? NORMAL_AFFINE : NORMAL_SIGMA_AFFINE
    }
    for (let k = 0; k < count; k++) {
      const i = this.planProgram[k]!
      const o = pop[i]!
      if (o === ADD_MUL_B) pop[pb[i]!] = FUSED
      else if (o === ADD_MUL_A) pop[pa[i]!] = FUSED
    }
    for (let k = 0; k < count; k++) {
      const i = this.planProgram[k]!
      if (pop[i] === NORMAL_AFFINE || pop[i] === NORMAL_SIGMA_AFFINE) fusedAdds.push(pb[i]!)
    }
    // the ADDs computed by their normals leave the program too (their op stays, for addMulAt)
    const inNormal = new Uint8Array(n)
    for (const j of fusedAdds) inNormal[j] = 1
    for (let k = 0; k < count; k++) {
      const i = this.planProgram[k]!
      if (pop[i] !== FUSED && inNormal[i] === 0) this.planProgram[kept++] = i
    }
    this.planCount = kept
    this.planLeafCount = leafCount
    // Terms of the output sum used by nothing else have adjoint 1 at every point; those whose op
    // adds its partials to its operands' adjoints as it is evaluated (`forward`) are marked, and
    // the backward sweep visits only the other nodes (a unit normal's fused mean and product too
    // are done forward).
    const grad = this.planOpGradient, done = new Uint8Array(n)
    grad.set(pop.subarray(0, n))
    const last = n - 1
    if (n > 0 && pop[last] === SUM_PLANNED) {
      for (let j = pa[last]!, end = j + pb[last]!; j < end; j++) {
        const r = this.planArgs[j]!
        if (r >= n || uses[r] !== 1) continue
        const o = pop[r]!
        if (o === NORMAL_FOLDED) grad[r] = NORMAL_FOLDED_UNIT
        else if (o === KERNEL_PLANNED) grad[r] = KERNEL_UNIT
        else if (o === NORMAL_AFFINE) {
          grad[r] = NORMAL_AFFINE_UNIT
          // its fused mean and product are done with it
          const mean = pb[r]!
          done[mean] = 1
          done[pop[mean] === ADD_MUL_A ? pa[mean]! : pb[mean]!] = 1
        } else continue
        done[r] = 1
      }
    }
    // the output sum's edges to its unit terms are not swept either
    this.planTermCount = -1
    if (n > 0 && pop[last] === SUM_PLANNED) {
      if (this.planTerms.length < es[n]! - es[last]!) this.planTerms = new Int32Array(es[n]! - es[last]!)
      let terms = 0
      for (let e = es[n]! - 1; e >= es[last]!; e--) if (done[this.edgeTo[e]!] === 0) this.planTerms[terms++] = this.edgeTo[e]!
      this.planTermCount = terms
      done[last] = 1
    }
    let runs = 0
    const planRuns = this.planRuns
    for (let i = n - 1; i >= 0; i--) {
      const e0 = es[i]!, e1 = es[i + 1]!
      if (done[i] === 1 || e0 === e1) continue
      if (runs > 0 && planRuns[2 * runs - 2] === e1) planRuns[2 * runs - 2] = e0
      else {
        planRuns[2 * runs] = e0
        planRuns[2 * runs + 1] = e1
        runs++
      }
    }
    this.planRunCount = runs
    let adjoints = 0
    for (let i = 0; i < n; i++) if (done[i] === 0) this.planAdjoints[adjoints++] = i
    this.planAdjointCount = adjoints
    this.planGeneration = this.generation
    this.planSize = n
    this.planConstants = cc
  }

  /**
   * The one definition of every op: the values and local partials (edge weights) of nodes
   * `from` … `to`, leaves read from `inputs`. Recording runs it on each new node, `evaluate` on
   * the whole tape.
   */
  private compute(inputs: ArrayLike<number> | undefined, from: number, to: number): void {
    const op = this.op, xs = this.x, ys = this.y, val = this.value, w = this.edgeWeight, es = this.edgeStart
    const args = this.args, c = this.constants, out = this.scratch
    for (let i = from; i <= to; i++) {
      const o = op[i]!
      const xr = xs[i]!, yr = ys[i]!
      let e = es[i]!
      if (o === LEAF) {
        val[i] = inputs![yr]!
        continue
      }
      if (o >= SUM) {
        const end = xr + yr
        switch (o) {
          case SUM: {
            let v = 0
            for (let k = xr; k < end; k++) {
              const r = args[k]!
              v += r >= 0 ? val[r]! : c[-1 - r]!
              if (r >= 0) w[e++] = 1
            }
            val[i] = v
            break
          }
          case DOT: {
            let v = 0
            for (let k = xr; k < end; k += 2) {
              const ra = args[k]!, rb = args[k + 1]!
              const a = ra >= 0 ? val[ra]! : c[-1 - ra]!, b = rb >= 0 ? val[rb]! : c[-1 - rb]!
              v += a * b
              if (ra >= 0) w[e++] = b
              if (rb >= 0) w[e++] = a
            }
            val[i] = v
            break
          }
          case LOG_SUM_EXP: {
            let m = -Infinity
            for (let k = xr; k < end; k++) {
              const r = args[k]!
              m = Math.max(m, r >= 0 ? val[r]! : c[-1 - r]!)
            }
            let v = m
            if (m !== -Infinity && m !== Infinity) {
              let sum = 0
              for (let k = xr; k < end; k++) {
                const r = args[k]!
                sum += Math.exp((r >= 0 ? val[r]! : c[-1 - r]!) - m)
              }
              v = m + Math.log(sum)
            }
            for (let k = xr; k < end; k++) {
              const r = args[k]!
              if (r >= 0) w[e++] = Math.exp(val[r]! - v)
            }
            val[i] = v
            break
          }
          case LINEAR_KERNEL: {
            const f = this.fused[this.aux[i]!]!
            const d = f.design.columns, n = f.design.rows, X = f.design.data, ys = f.ys
            const beta = f.beta, gb = f.gradBeta
            const ra = args[xr]!
            const a = ra >= 0 ? val[ra]! : c[-1 - ra]!
            for (let j = 0; j < d; j++) {
              const r = args[xr + 1 + j]!
              beta[j] = r >= 0 ? val[r]! : c[-1 - r]!
              gb[j] = 0
            }
            const ro0 = args[xr + 1 + d]!, ro1 = args[xr + 2 + d]!
            const o0 = ro0 >= 0 ? val[ro0]! : c[-1 - ro0]!, o1 = ro1 >= 0 ? val[ro1]! : c[-1 - ro1]!
            const slot = f.slot, kernel = f.kernel
            let v = 0, ga = 0, g0 = 0, g1 = 0
            const fast = f.fast === undefined ? Number.NaN : f.fast(ys, f.design, a, beta, slot, o0, o1, f.grad)
            if (fast === fast) {
              v = fast
              const fg = f.grad
              ga = fg[0]!
              for (let j = 0; j < d; j++) gb[j] = fg[1 + j]!
              g0 = fg[1 + d]!
              g1 = fg[2 + d]!
            } else for (let row = 0; row < n; row++) {
              let eta = a
              const base = row * d
              for (let j = 0; j < d; j++) eta += X[base + j]! * beta[j]!
              // the predictor at its slot, the others in order around it
              const lp = slot === 0 ? kernel(out, ys[row]!, eta, o0, o1) : slot === 1 ? kernel(out, ys[row]!, o0, eta, o1) : kernel(out, ys[row]!, o0, o1, eta)
              v += lp
              if (!(lp > -Infinity)) break
              const ge = out[1 + slot]!
              ga += ge
              for (let j = 0; j < d; j++) gb[j] += ge * X[base + j]!
              g0 += out[slot === 0 ? 2 : 1]!
              g1 += out[slot === 2 ? 2 : 3]!
            }
            const finite = v > -Infinity && v < Infinity
            if (!finite && v === v) v = -Infinity
            if (ra >= 0) w[e++] = finite ? ga : 0
            for (let j = 0; j < d; j++) if (args[xr + 1 + j]! >= 0) w[e++] = finite ? gb[j]! : 0
            if (ro0 >= 0) w[e++] = finite ? g0 : 0
            if (ro1 >= 0) w[e++] = finite ? g1 : 0
            val[i] = v === v ? v : -Infinity
            break
          }
          default: {
            const r0 = args[xr]!, r1 = args[xr + 1]!, r2 = args[xr + 2]!, r3 = args[xr + 3]!
            const kernel = this.kernels[this.aux[i]!]!
            if (kernel === normalKernelRef && r2 < 0) {
              // the normal with a constant σ (priors, known noise): 1/σ and −log σ − log(2π)/2
              // folded once, as the compiler folds them; the same arithmetic as the kernel
              const sigma = c[-1 - r2]!
              if (sigma > 0 && sigma < Infinity) {
                const x = r0 >= 0 ? val[r0]! : c[-1 - r0]!, mu = r1 >= 0 ? val[r1]! : c[-1 - r1]!
                const ok = x - x === 0 && mu - mu === 0
                let inv: number, constant: number
                if (inputs === undefined) {
                  // recording this node: fold its constants for the evaluations to come
                  if (this.folded.length < 2 * i + 2) this.folded = grow64(this.folded, 2 * i + 2)
                  inv = this.folded[2 * i] = 1 / sigma
                  constant = this.folded[2 * i + 1] = -Math.log(sigma) - HALF_LOG_2PI_AD
                } else {
                  inv = this.folded[2 * i]!
                  constant = this.folded[2 * i + 1]!
                }
                const z = (x - mu) * inv
                if (r0 >= 0) w[e++] = ok ? -z * inv : 0
                if (r1 >= 0) w[e++] = ok ? z * inv : 0
                if (r3 >= 0) w[e++] = 0
                val[i] = ok ? constant - 0.5 * z * z : -Infinity
                break
              }
            }
            const v = kernel(
              out,
              r0 >= 0 ? val[r0]! : c[-1 - r0]!,
              r1 >= 0 ? val[r1]! : c[-1 - r1]!,
              r2 >= 0 ? val[r2]! : c[-1 - r2]!,
              r3 >= 0 ? val[r3]! : c[-1 - r3]!
            )
            const finite = v > -Infinity
            if (r0 >= 0) w[e++] = finite ? out[0]! : 0
            if (r1 >= 0) w[e++] = finite ? out[1]! : 0
            if (r2 >= 0) w[e++] = finite ? out[2]! : 0
            if (r3 >= 0) w[e++] = finite ? out[3]! : 0
            val[i] = v
          }
        }
        continue
      }
      const a = xr >= 0 ? val[xr]! : c[-1 - xr]!
      let v: number
      let da = 0
      let db = 0
      switch (o) {
        case ADD:
          v = a + (yr >= 0 ? val[yr]! : c[-1 - yr]!)
          da = 1
          db = 1
          break
        case SUB:
          v = a - (yr >= 0 ? val[yr]! : c[-1 - yr]!)
          da = 1
          db = -1
          break
        case MUL: {
          const b = yr >= 0 ? val[yr]! : c[-1 - yr]!
          v = a * b
          da = b
          db = a
          break
        }
        case DIV: {
          const b = yr >= 0 ? val[yr]! : c[-1 - yr]!
          v = a / b
          da = 1 / b
          db = -v / b
          break
        }
        case POW: {
          const b = yr >= 0 ? val[yr]! : c[-1 - yr]!
          v = Math.pow(a, b)
          da = b === 0 ? 0 : b * Math.pow(a, b - 1)
          db = yr >= 0 ? v * Math.log(a) : 0
          break
        }
        default:
          v = unaryValue(o, a)
          da = unaryPartial
      }
      val[i] = v
      if (xr >= 0) w[e++] = da
      if (yr >= 0 && (o <= DIV || o === POW)) w[e] = db
    }
  }

  /** The backward sweep node by node, last first (each node's edges times its adjoint; a zero adjoint skipped). */
  private sweepByNodes(output: number, out: Float64Array): void {
    const n = output + 1
    if (this.adjoint.length < n) this.adjoint = new Float64Array(Math.max(n, this.adjoint.length * 2))
    const adj = this.adjoint
    adj.fill(0, 0, n)
    adj[output] = 1
    const start = this.edgeStart, to = this.edgeTo, w = this.edgeWeight
    for (let i = n - 1; i >= 0; i--) {
      const g = adj[i]!
      if (g === 0) continue
      for (let e = start[i]!, end = start[i + 1]!; e < end; e++) adj[to[e]!] += g * w[e]!
    }
    for (let k = 0; k < out.length && k < this.leafOf.length; k++) {
      const leaf = this.leafOf[k]!
      if (leaf >= 0) out[k] = adj[leaf]!
    }
  }

  /**
   * The gradient of node `output` with respect to the inputs, written to `out` (zeroed first);
   * inputs without a leaf get 0. One backward sweep over the edges.
   */
  gradient(output: Real, out: Float64Array): void {
    if (typeof output === "number") out.fill(0)
    else this.gradientOf(output.index, out)
  }

  /** `gradient` for the node at index `output` (after `evaluate`, at the new point; `valueAndGradient` does both). */
  gradientOf(output: number, out: Float64Array): void {
    out.fill(0)
    const n = output + 1
    if (this.planGeneration !== this.generation || this.planSize !== this.size || this.planConstants !== this.constantCount) {
      // no plan yet (a gradient right after recording, e.g. a compiler's self-check): the
      // sweep by nodes, which needs none, rather than making a plan for one call
      this.sweepByNodes(output, out)
      return
    }
    if (this.adjoint.length < n) this.adjoint = new Float64Array(Math.max(n, this.adjoint.length * 2))
    const adj = this.adjoint
    adj.fill(0, 0, n)
    adj[output] = 1
    // one flat sweep over the edges, last first: node i's edges come after those of every node
    // before it, so its adjoint is complete when they are reached (a zero adjoint is skipped, so
    // an unused node's infinite partial never makes a NaN)
    const from = this.edgeFrom, to = this.edgeTo, w = this.edgeWeight
    for (let e = this.edgeStart[n]! - 1; e >= 0; e--) {
      const g = adj[from[e]!]!
      if (g !== 0) adj[to[e]!] += g * w[e]!
    }
    for (let k = 0; k < out.length && k < this.leafOf.length; k++) {
      const leaf = this.leafOf[k]!
      if (leaf >= 0) out[k] = adj[leaf]!
    }
  }
}

/**
 * For distribution constructors: remembers the operands of a distribution built from nodes while
 * a tape records (so the gradient handler can differentiate its `logProb`). A no-op otherwise.
 *
 * @example
 * // inside a family's constructor function:
 * if (typeof mu !== "number" || typeof sigma !== "number") Ad.track(d, [mu, sigma])
 *
 * @category constructors
 * @since 0.2.0
 */
export const track = (dist: object, operands: ReadonlyArray<Real>): void => {
  const tape = recording
  if (tape === undefined) return
  tape.distributions.set(dist, operands)
  // The gradient handler scores such a distribution through its kernel. Anything else that turns
  // it into a number (the model calling `logProb`, `mean`, `sample` itself) reads its parameters'
  // primal values, and the tape would record the result as a constant: a silent wrong gradient.
  // Those reads count as an escape of the first differentiable operand (the density then falls
  // back to finite differences, naming that operand's site).
  const first = firstNode(operands)
  if (first === undefined) return
  const target = dist as Record<string, unknown>
  for (const name of NUMERIC_READS) {
    const method = target[name]
    if (typeof method !== "function") continue
    Object.defineProperty(dist, name, {
      configurable: true,
      writable: true,
      value: function(this: unknown, ...args: Array<unknown>): unknown {
        if (libraryReads === 0) tape.escape(first)
        return (method as (...a: Array<unknown>) => unknown).apply(this, args)
      }
    })
  }
}

let libraryReads = 0

/**
 * Runs `f`, in which the library itself (not the model) reads distributions built from
 * differentiable values as numbers (a guide's draw whose log density is then taped through the
 * kernel): such reads are not escapes.
 *
 * @example
 * const value = Ad.libraryRead(() => dist.sample(rng))
 *
 * @category models
 * @since 0.2.0
 */
export const libraryRead = <A>(f: () => A): A => {
  libraryReads++
  try {
    return f()
  } finally {
    libraryReads--
  }
}

/** The methods of a distribution whose results depend on its parameters' values as numbers. */
const NUMERIC_READS = ["logProb", "logProbEach", "logProbLogit", "sample", "mean", "variance"] as const

/** The first node among operands (arrays of operands searched too). */
const firstNode = (operands: ReadonlyArray<unknown>): Node | undefined => {
  for (const o of operands) {
    if (o instanceof Node) return o
    if (typeof o === "object" && o !== null && (Array.isArray(o) || ArrayBuffer.isView(o))) {
      const xs = o as ArrayLike<unknown>
      for (let i = 0; i < xs.length; i++) if (xs[i] instanceof Node) return xs[i] as Node
    }
  }
  return undefined
}

/**
 * Whether an arithmetic `Ad` function (`add` … `softplus`, `sum`, `dot`, `logSumExp`, `linear`)
 * has run since the last `resetUsage()`, on numbers or on nodes: the evidence `LogDensity` needs
 * before it concludes, from plain-number runs of a model, that recording it with nodes would
 * only find latent values escaping into plain arithmetic (see `LogDensity`'s plain-arithmetic
 * check). A flag, not a count: one store per call, no overflow.
 *
 * @example
 * Ad.resetUsage(); Ad.mul(2, 3); Ad.usedSinceReset() // true
 *
 * @category getters
 * @since 0.3.0
 */
export const usedSinceReset = (): boolean => usage.arithmetic

/**
 * Clears the flag `usedSinceReset` reads.
 *
 * @example
 * Ad.resetUsage()
 *
 * @category getters
 * @since 0.3.0
 */
export const resetUsage = (): void => {
  usage.arithmetic = false
}

/**
 * The tape that is recording, or undefined.
 *
 * @example
 * Ad.recordingTape() // undefined outside the gradient handler
 *
 * @category getters
 * @since 0.2.0
 */
export const recordingTape = (): Tape | undefined => recording

const tapeOf = (a: Real, b: Real): Tape => (a instanceof Node ? a.tape : (b as Node).tape)

/**
 * a + b.
 *
 * @example
 * Ad.add(1, 2) // 3
 *
 * @category numerics
 * @since 0.2.0
 */
export const add = (a: Real, b: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" && typeof b === "number" ? a + b : tapeOf(a, b).binary(ADD, a, b))

/**
 * a − b.
 *
 * @example
 * Ad.sub(1, 2) // −1
 *
 * @category numerics
 * @since 0.2.0
 */
export const sub = (a: Real, b: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" && typeof b === "number" ? a - b : tapeOf(a, b).binary(SUB, a, b))

/**
 * a · b.
 *
 * @example
 * Ad.mul(2, 3) // 6
 *
 * @category numerics
 * @since 0.2.0
 */
export const mul = (a: Real, b: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" && typeof b === "number" ? a * b : tapeOf(a, b).binary(MUL, a, b))

/**
 * a / b.
 *
 * @example
 * Ad.div(1, 4) // 0.25
 *
 * @category numerics
 * @since 0.2.0
 */
export const div = (a: Real, b: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" && typeof b === "number" ? a / b : tapeOf(a, b).binary(DIV, a, b))

/**
 * a^b (for a node exponent, a must be > 0).
 *
 * @example
 * Ad.pow(2, 10) // 1024
 *
 * @category numerics
 * @since 0.2.0
 */
export const pow = (a: Real, b: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" && typeof b === "number" ? Math.pow(a, b) : tapeOf(a, b).binary(POW, a, b))

const unary = (op: number, a: Node): Node => a.tape.unary(op, a)

/**
 * −a.
 *
 * @example
 * Ad.neg(2) // −2
 *
 * @category numerics
 * @since 0.2.0
 */
export const neg = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? -a : unary(NEG, a))

/**
 * e^a.
 *
 * @example
 * Ad.exp(0) // 1
 *
 * @category numerics
 * @since 0.2.0
 */
export const exp = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.exp(a) : unary(EXP, a))

/**
 * log a.
 *
 * @example
 * Ad.log(Math.E) // 1
 *
 * @category numerics
 * @since 0.2.0
 */
export const log = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.log(a) : unary(LOG, a))

/**
 * log(1 + a), accurate for small a.
 *
 * @example
 * Ad.log1p(1e-20) // 1e-20
 *
 * @category numerics
 * @since 0.2.0
 */
export const log1p = (a: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" ? Math.log1p(a) : unary(LOG1P, a))

/**
 * e^a − 1, accurate for small a.
 *
 * @example
 * Ad.expm1(1e-20) // 1e-20
 *
 * @category numerics
 * @since 0.2.0
 */
export const expm1 = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.expm1(a) : unary(EXPM1, a))

/**
 * √a.
 *
 * @example
 * Ad.sqrt(9) // 3
 *
 * @category numerics
 * @since 0.2.0
 */
export const sqrt = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.sqrt(a) : unary(SQRT, a))

/**
 * a².
 *
 * @example
 * Ad.square(3) // 9
 *
 * @category numerics
 * @since 0.2.0
 */
export const square = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? a * a : unary(SQUARE, a))

/**
 * |a| (derivative 0 at 0).
 *
 * @example
 * Ad.abs(-2) // 2
 *
 * @category numerics
 * @since 0.2.0
 */
export const abs = (a: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" ? Math.abs(a) : unary(ABS, a))

/**
 * sin a.
 *
 * @example
 * Ad.sin(0) // 0
 *
 * @category numerics
 * @since 0.2.0
 */
export const sin = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.sin(a) : unary(SIN, a))

/**
 * cos a.
 *
 * @example
 * Ad.cos(0) // 1
 *
 * @category numerics
 * @since 0.2.0
 */
export const cos = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.cos(a) : unary(COS, a))

/**
 * tanh a.
 *
 * @example
 * Ad.tanh(0) // 0
 *
 * @category numerics
 * @since 0.2.0
 */
export const tanh = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? Math.tanh(a) : unary(TANH, a))

/**
 * The logistic function σ(a) = 1 / (1 + e^−a), without overflow.
 *
 * @example
 * Ad.logistic(0) // 0.5
 *
 * @category numerics
 * @since 0.2.0
 */
export const logistic = (a: Real): Real => ((usage.arithmetic = true), typeof a === "number" ? logisticValue(a) : unary(LOGISTIC, a))

/**
 * log σ(a) = −softplus(−a), finite for every finite a.
 *
 * @example
 * Ad.logSigmoid(-800) // −800
 *
 * @category numerics
 * @since 0.2.0
 */
export const logSigmoid = (a: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" ? -softplusValue(-a) : unary(LOG_SIGMOID, a))

/**
 * softplus(a) = log(1 + e^a), without overflow.
 *
 * @example
 * Ad.softplus(800) // 800
 *
 * @category numerics
 * @since 0.2.0
 */
export const softplus = (a: Real): Real =>
  ((usage.arithmetic = true), typeof a === "number" ? softplusValue(a) : unary(SOFTPLUS, a))

const firstTape = (xs: ArrayLike<Real>): Tape | undefined => {
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]
    if (typeof x !== "number") return (x as Node).tape
  }
  return undefined
}

/**
 * Σ xs.
 *
 * @example
 * Ad.sum([1, 2, 3]) // 6
 *
 * @category numerics
 * @since 0.2.0
 */
export const sum = (xs: ArrayLike<Real>): Real => {
  usage.arithmetic = true
  const tape = firstTape(xs)
  if (tape !== undefined) return tape.nary(SUM, xs, xs.length)
  let v = 0
  for (let i = 0; i < xs.length; i++) v += xs[i] as number
  return v
}

/**
 * Σ a_i · b_i (a and b of the same length; either may hold nodes).
 *
 * @example
 * Ad.dot([1, 2], [3, 4]) // 11
 *
 * @category numerics
 * @since 0.2.0
 */
export const dot = (a: ArrayLike<Real>, b: ArrayLike<Real>): Real => {
  usage.arithmetic = true
  const n = a.length
  if (b.length !== n) throw new RangeError(`Ad.dot: lengths ${n} and ${b.length} differ`)
  const tape = firstTape(a) ?? firstTape(b)
  if (tape === undefined) {
    let v = 0
    for (let i = 0; i < n; i++) v += (a[i] as number) * (b[i] as number)
    return v
  }
  const operands: Array<Real> = new Array(2 * n)
  for (let i = 0; i < n; i++) {
    operands[2 * i] = a[i]!
    operands[2 * i + 1] = b[i]!
  }
  return tape.nary(DOT, operands, 2 * n)
}

/**
 * log Σ exp(xs), without overflow (−∞ for an empty list).
 *
 * @example
 * Ad.logSumExp([0, 0]) // log 2
 *
 * @category numerics
 * @since 0.2.0
 */
export const logSumExp = (xs: ArrayLike<Real>): Real => {
  usage.arithmetic = true
  const n = xs.length
  let m = -Infinity
  for (let i = 0; i < n; i++) m = Math.max(m, primal(xs[i]!))
  if (m === -Infinity || m === Infinity) return m
  let s = 0
  for (let i = 0; i < n; i++) s += Math.exp(primal(xs[i]!) - m)
  const tape = firstTape(xs)
  return tape === undefined ? m + Math.log(s) : tape.nary(LOG_SUM_EXP, xs, n)
}

/**
 * The matrix–vector product M·v for a matrix given as rows (each row is dotted with v).
 *
 * @example
 * Ad.matVec([[1, 0], [0, 2]], [3, 4]) // [3, 8]
 *
 * @category numerics
 * @since 0.2.0
 */
export const matVec = (rows: ReadonlyArray<ArrayLike<Real>>, v: ArrayLike<Real>): Array<Real> => rows.map((row) => dot(row, v))
