import { assert, describe, it } from "@effect/vitest"
import { indexedLate, splitByMark } from "../src/Sync/Incremental.js"

// The incremental stream re-reads `SYNC_OVERLAP_MS` below its mark because the search index can show a chat late
// (docs/upstream.md#list-walk): such a chat's hidden states are as unknown as a moved chat's.
describe("the hidden pass's share of an incremental page", () => {
  const mark = { highWaterMs: 10_000, boundaryIds: ["at-mark-seen"] }
  const page = [
    { id: "moved", key: 12_000 },
    { id: "at-mark-new", key: 10_000 },
    { id: "at-mark-seen", key: 10_000 },
    { id: "below", key: 9_000 },
    { id: "untimed", key: null },
    { id: "", key: 11_000 }
  ]

  it("past the mark or new at it: moved; below it, or at it unseen: the overlap; no id or time: neither", () => {
    const { moved, overlap } = splitByMark(page, mark)
    assert.deepStrictEqual(moved, ["moved", "at-mark-new"])
    assert.deepStrictEqual(overlap, [{ id: "below", key: 9_000 }])
  })

  it("the first walk (no mark) has every timed chat moved and no overlap", () => {
    const { moved, overlap } = splitByMark(page, { highWaterMs: null, boundaryIds: [] })
    assert.deepStrictEqual(moved, ["moved", "at-mark-new", "at-mark-seen", "below"])
    assert.deepStrictEqual(overlap, [])
  })

  it("of the overlap, chats not mirrored, mirrored untimed, or mirrored with an older time are late", () => {
    const overlap = [
      { id: "new", key: 9_000 },
      { id: "older", key: 9_000 },
      { id: "same", key: 9_000 },
      { id: "newer-in-mirror", key: 9_000 },
      { id: "untimed", key: 9_000 }
    ]
    const mirrored = new Map<string, number | null>([
      ["older", 8_000],
      ["same", 9_000],
      ["newer-in-mirror", 9_500],
      ["untimed", null]
    ])
    assert.deepStrictEqual(indexedLate(overlap, mirrored), ["new", "older", "untimed"])
  })
})
