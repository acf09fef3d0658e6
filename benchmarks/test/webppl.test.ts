import { describe, expect, it } from "@effect/vitest"
import { regressionData } from "../src/models.ts"
import * as Webppl from "../src/webppl.ts"

describe("WebPPL in process", () => {
  it("compiles once and runs the regression's prior many times (prior mean of slope is 0)", () => {
    // slope ~ N(0, 2) under forward sampling: the mean of n draws is within 4·2/√n of 0.
    const { program } = Webppl.compile(`${Webppl.linearRegressionModel}
expectation(Infer({method: 'forward', samples: fugueN, model: linearRegression}))`)
    const n = 20_000
    const globals = { fugueN: n, fugueXs: [...regressionData.xs], fugueYs: [...regressionData.ys] }
    for (let i = 0; i < 2; i++) {
      const mean = Webppl.runCompiled<number>(program, globals)
      expect(Math.abs(mean)).toBeLessThan((4 * 2) / Math.sqrt(n))
    }
  }, 30_000)
})
