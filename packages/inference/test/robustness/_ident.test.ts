import { it, expect } from "@effect/vitest"
import { ModelCodeError } from "@fugue/runtime/Execution"
import { isDocumentedModelError, ModelBoom } from "./randomModels.ts"
import { InvalidDistributionError } from "@fugue/core"
import { Normal } from "@fugue/core"
it("same classes", () => {
  expect(isDocumentedModelError(new ModelCodeError({ cause: new ModelBoom(), where: { address: undefined, instructions: 0 } }))).toBe(true)
  let e: unknown; try { Normal(0, -1) } catch (x) { e = x }
  expect(e instanceof InvalidDistributionError).toBe(true)
  expect(isDocumentedModelError(e)).toBe(true)
})
