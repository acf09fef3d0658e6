/**
 * Assembles `src/internal/leapfrog.wat` with wabt (a development dependency: the runtime loads
 * the committed bytes of `src/internal/leapfrogWasm.ts`) and renders that module's source.
 * `node test/utils/wasm.ts` rewrites `leapfrogWasm.ts`; `Hamiltonian.test.ts` checks that the
 * committed bytes are what the WAT assembles to.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import wabt from "wabt"

const watPath = fileURLToPath(new URL("../../src/internal/leapfrog.wat", import.meta.url))
const tsPath = fileURLToPath(new URL("../../src/internal/leapfrogWasm.ts", import.meta.url))

/** The module's bytes, assembled from the WAT source. */
export const assemble = async (): Promise<Uint8Array> => {
  const w = await wabt()
  const parsed = w.parseWat("leapfrog.wat", readFileSync(watPath, "utf8"), { simd: true })
  try {
    parsed.validate()
    return parsed.toBinary({ log: false, write_debug_names: false }).buffer
  } finally {
    parsed.destroy()
  }
}

/** The source of `leapfrogWasm.ts` for these bytes. */
export const render = (bytes: Uint8Array): string => {
  const rows: Array<string> = []
  for (let i = 0; i < bytes.length; i += 24) rows.push("  " + Array.from(bytes.subarray(i, i + 24), (b) => String(b)).join(", ") + ",")
  return [
    "// Generated from leapfrog.wat by `node test/utils/wasm.ts` (wabt); do not edit.",
    "// test/Hamiltonian.test.ts checks that these bytes are what the WAT assembles to.",
    "",
    "/** The WebAssembly module of the NUTS transition's passes over the coordinates (leapfrog.wat). */",
    "export const LEAPFROG_WASM: Uint8Array<ArrayBuffer> = new Uint8Array([",
    ...rows,
    "])",
    ""
  ].join("\n")
}

/** The committed `leapfrogWasm.ts`. */
export const committed = (): string => readFileSync(tsPath, "utf8")

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(tsPath, render(await assemble()))
}
