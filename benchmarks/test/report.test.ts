import { describe, expect, it } from "@effect/vitest"
import { aim, formatRate, markdownTable, ratio, timeRuns } from "../src/report.ts"

describe("report", () => {
  it("ratio divides and formats, and says – when a side is missing", () => {
    expect(ratio(10, 4)).toBe("2.50×")
    expect(ratio(undefined, 4)).toBe("–")
    expect(ratio(1, 0)).toBe("–")
  })

  it("formatRate uses engineering prefixes", () => {
    expect(formatRate(1_234_567)).toBe("1.23 M")
    expect(formatRate(45_600)).toBe("45.6 k")
    expect(formatRate(3.5)).toBe("3.50")
    expect(formatRate(Number.NaN)).toBe("–")
  })

  it("aim marks a met or missed target", () => {
    expect(aim(3, "<=", 4.5)).toBe("✓ ≤ 4.5×")
    expect(aim(12, ">=", 10)).toBe("✓ ≥ 10×")
    expect(aim(5, "<=", 4.5)).toBe("✗ ≤ 4.5×")
    expect(aim(undefined, ">=", 4)).toBe("? ≥ 4×")
  })

  it("markdownTable pads columns and draws the separator", () => {
    expect(markdownTable(["a", "bb"], [["xyz", "1"]])).toBe("| a   | bb |\n| --- | -- |\n| xyz | 1  |")
  })

  it("timeRuns runs warm-up and timed runs and reports the median", () => {
    let calls = 0
    const t = timeRuns(() => calls++, { warmup: 2, runs: 3 })
    expect(calls).toBe(5)
    expect(t.runs).toBe(3)
    expect(t.minMs).toBeLessThanOrEqual(t.medianMs)
    expect(t.medianMs).toBeLessThanOrEqual(t.maxMs)
  })
})
