// docs/api is a workspace package of its own (the TypeDoc reference, with its own test run by
// turbo); the guides' vitest leaves it out.
import { configDefaults, defineConfig } from "vitest/config"

export default defineConfig({ test: { exclude: [...configDefaults.exclude, "api/**"] } })
