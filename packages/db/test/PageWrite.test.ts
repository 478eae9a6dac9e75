import { ChatDto, observedFields } from "@cliq-mirror/core"
import { latestById, touchesAny, withoutRepeats } from "@cliq-mirror/db"
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

  it("touchesAny: a page touches a chat in flight through any of its parts", () => {
    const page = {
      accountId: "acc",
      observed: [observation("a")],
      flags: [{ flag: "muted" as const, value: true, chatIds: ["f"] }],
      gone: ["g"],
      cursor: { stream: "incremental", highWaterMs: 1 }
    }
    for (const id of ["a", "f", "g"]) assert.isTrue(touchesAny(page, new Set([id, "z"])), id)
    assert.isFalse(touchesAny(page, new Set(["z"])))
    assert.isFalse(touchesAny(page, new Set()))
  })
})
