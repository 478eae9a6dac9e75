import { describe, expect, it } from "vitest"
import { heapGrowthFlag } from "../src/HeapGrowth.js"

describe("heapGrowthFlag", () => {
  it("names V8's growing factor for a percentage, and leaves V8's own for 0", () => {
    expect(heapGrowthFlag(50)).toBe("--heap-growing-percent=50")
    expect(heapGrowthFlag(400)).toBe("--heap-growing-percent=400")
    expect(heapGrowthFlag(0)).toBeUndefined()
  })
})
