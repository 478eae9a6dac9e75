import { describe, expect, it } from "@effect/vitest"
import { restoreNeeded } from "../src/BudgetLocks.js"

describe("restoreNeeded", () => {
  it("a decision that found the state lost needs a restore started after it", () => {
    expect(restoreNeeded(undefined, 1_000)).toBe(true)
    // A restore that began before the decision may have written into the Redis that was then wiped.
    expect(restoreNeeded(999, 1_000)).toBe(true)
    expect(restoreNeeded(1_000, 1_000)).toBe(true)
    expect(restoreNeeded(1_001, 1_000)).toBe(false)
    expect(restoreNeeded(1_200, 1_000)).toBe(false)
  })
})
