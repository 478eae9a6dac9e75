import { ChatDto, observedFields } from "@cliq-mirror/core"
import { latestById, splitPage, withoutRepeats } from "@cliq-mirror/db"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"

const observation = (id: string, patch: Record<string, unknown> = {}) => {
  const raw = { chat_id: id, name: `Chat ${id}`, last_modified_time: "2026-01-01T00:00:00Z", ...patch }
  return { raw, chat: observedFields(Schema.decodeUnknownSync(ChatDto)(raw), raw) }
}

describe("PageWrite", () => {
  it("withoutRepeats leaves out what the page before applied field for field, and counts it", () => {
    const before = { accountId: "acc", observed: [observation("a"), observation("b"), observation("c")] }
    const applied = latestById(before.observed)
    const next = withoutRepeats(
      {
        accountId: "acc",
        observed: [observation("a"), observation("b", { name: "renamed" }), observation("d")],
        repeated: 1
      },
      applied
    )
    assert.deepStrictEqual(
      next.observed?.map(o => o.chat.chatId),
      ["b", "d"]
    )
    assert.strictEqual(next.repeated, 2)
    const unrelated = { accountId: "acc", observed: [observation("x")] }
    assert.strictEqual(withoutRepeats(unrelated, applied), unrelated)
  })

  it("splitPage keeps each chat whole in one part, the cursor and the count of repeats in the first", () => {
    const page = {
      accountId: "acc",
      observed: [observation("a"), observation("s")],
      flags: [{ flag: "muted" as const, value: true, chatIds: ["a", "s"] }],
      gone: ["s"],
      cursor: { stream: "incremental", highWaterMs: 1 },
      repeated: 3
    }
    const [now, later] = splitPage(page, new Set(["s"]))
    assert.deepStrictEqual(
      now.observed?.map(o => o.chat.chatId),
      ["a"]
    )
    assert.deepStrictEqual(now.flags, [{ flag: "muted", value: true, chatIds: ["a"] }])
    assert.deepStrictEqual(now.gone, [])
    assert.deepStrictEqual(now.cursor, page.cursor)
    assert.strictEqual(now.repeated, 3)
    assert.deepStrictEqual(
      later?.observed?.map(o => o.chat.chatId),
      ["s"]
    )
    assert.deepStrictEqual(later?.flags, [{ flag: "muted", value: true, chatIds: ["s"] }])
    assert.deepStrictEqual(later?.gone, ["s"])
    assert.strictEqual(later?.cursor, undefined)
    assert.strictEqual(later?.repeated, undefined)
    const [whole, none] = splitPage(page, new Set(["z"]))
    assert.strictEqual(whole, page)
    assert.strictEqual(none, undefined)
  })
})
