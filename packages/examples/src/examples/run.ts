/**
 * Runs one example by name: `pnpm example <name>` (from the repository root) imports
 * `./<name>.ts` beside this file and calls its exported `main`. With no name, or an unknown one,
 * it lists the examples there are.
 *
 * @since 0.1.0
 */
import { readdirSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const names = readdirSync(here).filter((f) => f.endsWith(".ts") && f !== "run.ts").map((f) => f.slice(0, -3)).sort()
const name = process.argv[2]
if (name === undefined || !names.includes(name)) {
  console.error(`${name === undefined ? "name an example" : `no example named ${JSON.stringify(name)}`}: pnpm example <name>, one of\n  ${names.join("\n  ")}`)
  process.exit(name === undefined ? 0 : 2)
}
const module = (await import(`./${name}.ts`)) as { main?: () => Promise<void> | void }
if (typeof module.main !== "function") throw new Error(`example ${name} exports no main()`)
await module.main()
