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
 * −log σ − log(2π)/2 folded where σ is a constant; −∞ where σ ≤ 0.
 */
const normalForward = (
  x: number,
  mu: number,
  sigma: number,
  ref: (r: number) => string,
  constants: Float64Array,
  v: string,
  z: string,
  r: string,
  def: (name: string, expr: string) => string
): Array<string> => {
  const X = ref(x), M = ref(mu)
  if (sigma < 0) {
    const s = constants[-1 - sigma]!
    if (!(s > 0 && s < Infinity)) return [def(r, "0"), def(z, "0"), def(v, "-Infinity")]
    return [
      def(r, literal(1 / s)),
      def(z, `(${X} - ${M}) * ${r}`),
      def(v, `${literal(-Math.log(s) - HALF_LOG_2PI)} - 0.5 * ${z} * ${z}`)
    ]
  }
  const S = ref(sigma)
  return [
    def(r, `1 / ${S}`),
    def(z, `(${X} - ${M}) * ${r}`),
    def(v, `${S} > 0 && ${S} < Infinity ? -Math.log(${S}) - ${literal(HALF_LOG_2PI)} - 0.5 * ${z} * ${z} : -Infinity`)
  ]
}

/** A compiled log density: value at q; with `grad`, also writes ∇ into it. Allocates nothing. */
export type Compiled = (q: Float64Array, grad: Float64Array | undefined) => number

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

/** How many operands, and the tape's statements, a compiled function would have. */
export const liveSize = (tape: Ad.Tape, output: number): number => {
  const live = markLive(tape, output)
  let size = 0
  for (let i = 0; i <= output; i++) if (live[i]) size += isNary(tape.op[i]!) ? 1 + tape.y[i]! : 1
  return size
}

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

const UNARY_FORWARD: Record<number, (a: string) => string> = {
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

const BINARY_FORWARD: Record<number, (a: string, b: string) => string> = {
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
 * tape's size.
 */
export const compile = (tape: Ad.Tape, output: Ad.Node, inputs: number, chunkFrom = 4000): Compiled => {
  const out = output.index
  const live = markLive(tape, out)
  const { op, x, y, aux, args } = tape
  const constants = tape.constants
  let statements = 0
  for (let i = 0; i <= out; i++) if (live[i]) statements += isNary(op[i]!) ? 2 + 2 * y[i]! : 3
  const arrays = statements > chunkFrom
  const V = (i: number): string => (arrays ? `V[${i}]` : `v${i}`)
  const Gr = (i: number): string => (arrays ? `A[${i}]` : `g${i}`)
  const Z = (i: number): string => (arrays ? `T[${2 * i}]` : `z${i}`)
  const R = (i: number): string => (arrays ? `T[${2 * i + 1}]` : `r${i}`)
  const Pk = (i: number, k: number): string => (arrays ? `P[${4 * i + k}]` : `p${i}_${k}`)
  const def = (name: string, expr: string): string => (arrays ? `${name} = ${expr};` : `const ${name} = ${expr};`)
  const ref = (r: number): string => (r >= 0 ? V(r) : literal(constants[-1 - r]!))
  /** Statements per node, forward and reverse (grouped so chunks split between nodes). */
  const forward: Array<Array<string>> = []
  const reverse: Array<Array<string>> = []
  const leafOf = new Int32Array(inputs).fill(-1)
  let current: Array<string> = []
  const accumulate = (r: number, term: string): void => {
    if (r >= 0) current.push(`${Gr(r)} += ${term};`)
  }
  for (let i = 0; i <= out; i++) {
    if (!live[i]) continue
    const o = op[i]!
    const v = V(i)
    const f: Array<string> = []
    forward.push(f)
    if (o === Ad.LEAF) {
      f.push(def(v, `q[${y[i]!}]`))
      if (y[i]! < inputs) leafOf[y[i]!] = i
      continue
    }
    if (isUnary(o)) {
      f.push(def(v, UNARY_FORWARD[o]!(ref(x[i]!))))
      continue
    }
    if (isBinary(o)) {
      f.push(def(v, BINARY_FORWARD[o]!(ref(x[i]!), ref(y[i]!))))
      continue
    }
    const start = x[i]!, count = y[i]!
    const let_ = (expr: string) => (arrays ? `${v} = ${expr};` : `let ${v} = ${expr};`)
    switch (o) {
      case Ad.SUM:
        f.push(let_("0"))
        for (let k = 0; k < count; k++) f.push(`${v} += ${ref(args[start + k]!)};`)
        break
      case Ad.DOT:
        f.push(let_("0"))
        for (let k = 0; k < count; k += 2) f.push(`${v} += ${ref(args[start + k]!)} * ${ref(args[start + k + 1]!)};`)
        break
      case Ad.LOG_SUM_EXP: {
        const items: Array<string> = []
        for (let k = 0; k < count; k++) items.push(ref(args[start + k]!))
        f.push(let_("-Infinity"), "{", "let m = -Infinity;")
        for (const it of items) f.push(`m = Math.max(m, ${it});`)
        f.push(`${v} = m;`, `if (m !== -Infinity && m !== Infinity) {`, `let s = 0;`)
        for (const it of items) f.push(`s += Math.exp(${it} - m);`)
        f.push(`${v} = m + Math.log(s);`, `}`, `}`)
        break
      }
      case Ad.KERNEL: {
        if (tape.kernels[aux[i]!] === normalKernel) {
          f.push(...normalForward(args[start]!, args[start + 1]!, args[start + 2]!, ref, constants, V(i), Z(i), R(i), def))
          break
        }
        f.push(def(v, `K${aux[i]!}(G, ${ref(args[start]!)}, ${ref(args[start + 1]!)}, ${ref(args[start + 2]!)}, ${ref(args[start + 3]!)})`))
        for (let k = 0; k < 4; k++) if (args[start + k]! >= 0) f.push(def(Pk(i, k), `G[${k}]`))
        break
      }
      default:
        throw new Error(`compile: unknown op ${o} at node ${i}`)
    }
  }
  // reverse sweep, in reverse node order
  for (let i = out; i >= 0; i--) {
    if (!live[i]) continue
    const o = op[i]!
    if (o === Ad.LEAF) continue
    current = []
    reverse.push(current)
    const g = Gr(i)
    const v = V(i)
    if (isUnary(o)) {
      accumulate(x[i]!, `${g} * ${UNARY_PARTIAL[o]!(ref(x[i]!), v)}`)
      continue
    }
    if (isBinary(o)) {
      const a = ref(x[i]!), b = ref(y[i]!)
      const [pa, pb] = BINARY_PARTIAL[o]!
      accumulate(x[i]!, `${g} * ${pa(a, b, v)}`)
      accumulate(y[i]!, `${g} * ${pb(a, b, v)}`)
      continue
    }
    const start = x[i]!, count = y[i]!
    switch (o) {
      case Ad.SUM:
        for (let k = 0; k < count; k++) accumulate(args[start + k]!, g)
        break
      case Ad.DOT:
        for (let k = 0; k < count; k += 2) {
          const a = args[start + k]!, b = args[start + k + 1]!
          accumulate(a, `${g} * ${ref(b)}`)
          accumulate(b, `${g} * ${ref(a)}`)
        }
        break
      case Ad.LOG_SUM_EXP:
        for (let k = 0; k < count; k++) accumulate(args[start + k]!, `${g} * Math.exp(${ref(args[start + k]!)} - ${v})`)
        break
      case Ad.KERNEL:
        if (tape.kernels[aux[i]!] === normalKernel) {
          // ∂x = −z/σ, ∂μ = z/σ, ∂σ = (z² − 1)/σ
          const z = Z(i), r = R(i)
          accumulate(args[start]!, `${g} * (-${z} * ${r})`)
          accumulate(args[start + 1]!, `${g} * (${z} * ${r})`)
          accumulate(args[start + 2]!, `${g} * ((${z} * ${z} - 1) * ${r})`)
          break
        }
        for (let k = 0; k < 4; k++) accumulate(args[start + k]!, `${g} * ${Pk(i, k)}`)
        break
    }
  }
  const gradientWrites: Array<string> = []
  for (let k = 0; k < inputs; k++) gradientWrites.push(leafOf[k]! >= 0 ? `grad[${k}] = ${Gr(leafOf[k]!)};` : `grad[${k}] = 0;`)
  const kernels = tape.kernels.map((_, k) => `const K${k} = K[${k}];`).join("\n")
  let body: string
  if (!arrays) {
    const declarations: Array<string> = []
    for (let i = 0; i <= out; i++) if (live[i] && i !== out) declarations.push(`g${i} = 0`)
    body = [
      kernels,
      "const G = new Float64Array(4);",
      "return function compiledLogDensity(q, grad) {",
      ...forward.flat(),
      `const lp = v${out};`,
      "if (grad === undefined) return lp;",
      "if (!(lp > -Infinity) || lp === Infinity) { grad.fill(0); return lp; }",
      declarations.length > 0 ? `let ${declarations.join(", ")};` : "",
      `const g${out} = 1;`,
      ...reverse.flat(),
      ...gradientWrites,
      "return lp;",
      "};"
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
      "const G = new Float64Array(4);",
      `const V = new Float64Array(${out + 1}), A = new Float64Array(${out + 1}), T = new Float64Array(${2 * (out + 1)}), P = new Float64Array(${4 * (out + 1)});`,
      ...forwardFns,
      ...reverseFns,
      "return function compiledLogDensity(q, grad) {",
      ...forwardFns.map((_, k) => `forward${k}(q);`),
      `const lp = V[${out}];`,
      "if (grad === undefined) return lp;",
      "if (!(lp > -Infinity) || lp === Infinity) { grad.fill(0); return lp; }",
      `A.fill(0); A[${out}] = 1;`,
      ...reverseFns.map((_, k) => `reverse${k}(q);`),
      ...gradientWrites,
      "return lp;",
      "};"
    ].join("\n")
  }
  const kernelList = tape.kernels.slice()
  const cached = CACHE.get(body)
  if (cached !== undefined && cached.kernels.length === kernelList.length && cached.kernels.every((k, i) => k === kernelList[i])) {
    return cached.fn
  }
  const factory = new Function("K", "logistic", "softplus", body) as (
    K: ReadonlyArray<Ad.Kernel>,
    logistic: (x: number) => number,
    softplus: (x: number) => number
  ) => Compiled
  const fn = factory(kernelList, Ad.logisticValue, Ad.softplusValue)
  if (CACHE.size >= CACHE_SIZE) CACHE.delete(CACHE.keys().next().value!)
  CACHE.set(body, { kernels: kernelList, fn })
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
