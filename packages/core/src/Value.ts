/**
 * Safe descriptions of arbitrary values for error messages. Errors name the offending value,
 * and that value can be anything a user passes: `Object.create(null)` (no `toString`), a
 * `Symbol` (throws on string conversion), a `BigInt`, a cyclic object, a huge array.
 * `describe` never throws and keeps the text short.
 *
 * @since 0.1.0
 */

const MAX_ITEMS = 8
const MAX_LENGTH = 80

const clip = (s: string): string => (s.length > MAX_LENGTH ? `${s.slice(0, MAX_LENGTH - 1)}…` : s)

const item = (value: unknown, depth: number): string => {
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "string":
      return JSON.stringify(clip(value))
    case "bigint":
      return `${value.toString()}n`
    case "symbol":
      return value.toString()
    case "boolean":
    case "undefined":
      return String(value)
    case "function":
      return `[function ${(value as { name?: unknown }).name ? String((value as { name?: unknown }).name) : "anonymous"}]`
  }
  if (value === null) return "null"
  if (depth > 1) return Array.isArray(value) ? "[…]" : "{…}"
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const xs = value as unknown as ArrayLike<number | bigint>
    const shown = Array.from({ length: Math.min(xs.length, MAX_ITEMS) }, (_, i) => item(xs[i], depth + 1))
    return `${value.constructor?.name ?? "TypedArray"}(${xs.length}) [${shown.join(", ")}${xs.length > MAX_ITEMS ? ", …" : ""}]`
  }
  if (Array.isArray(value)) {
    const shown = value.slice(0, MAX_ITEMS).map((x) => item(x, depth + 1))
    return `[${shown.join(", ")}${value.length > MAX_ITEMS ? `, … (${value.length} items)` : ""}]`
  }
  try {
    const proto = Object.getPrototypeOf(value)
    const name = proto === null ? "Object(null prototype)" : proto === Object.prototype ? "" : (proto.constructor?.name ?? "")
    if (value instanceof Error) return `${name || "Error"}(${clip(String(value.message))})`
    if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`
    if (value instanceof Map) return `Map(${value.size})`
    if (value instanceof Set) return `Set(${value.size})`
    const keys = Object.keys(value as object)
    const shown = keys.slice(0, MAX_ITEMS).map((k) => `${k}: ${item((value as Record<string, unknown>)[k], depth + 1)}`)
    return `${name ? `${name} ` : ""}{${shown.join(", ")}${keys.length > MAX_ITEMS ? ", …" : ""}}`
  } catch {
    return "[unprintable value]"
  }
}

/**
 * A short, never-throwing description of any value, for error messages.
 *
 * @example
 * describe(Object.create(null)) // "Object(null prototype) {}"
 * describe(Symbol("s"))         // "Symbol(s)"
 * describe([1, 2, NaN])         // "[1, 2, NaN]"
 *
 * @category getters
 * @since 0.1.0
 */
export const describe = (value: unknown): string => {
  try {
    return clip(item(value, 0))
  } catch {
    return "[unprintable value]"
  }
}
