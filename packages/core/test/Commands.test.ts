import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import { COMMAND_OPERATION, COMMAND_TYPES, commandBucket, parseCommand } from "../src/Domain/Commands.js"

const refused = (body: unknown) => {
  const parsed = parseCommand(body)
  assert.isTrue(Either.isLeft(parsed), JSON.stringify(body))
  return Either.isLeft(parsed) ? parsed.left : { field: "", message: "" }
}

describe("parseCommand", () => {
  it("names the field and the rule of every refusal", () => {
    assert.deepStrictEqual(refused({ type: "update_title", chat_id: "1", title: "x".repeat(256) }), {
      field: "title",
      message: "must be 1 to 255 characters and not blank"
    })
    assert.strictEqual(refused({ type: "update_title", chat_id: "1", title: "   " }).field, "title")
    assert.strictEqual(refused({ type: "teleport" }).field, "type")
    assert.strictEqual(refused([]).field, "body")
    assert.strictEqual(refused({ type: "close_chat" }).field, "chat_id")
    assert.strictEqual(refused({ type: "close_chat", chat_id: "1", chat: "typo" }).field, "chat")
    assert.strictEqual(refused({ type: "close_chat", chat_id: "1\u0000" }).message, "must not contain NUL characters")
    assert.strictEqual(refused({ type: "close_chat", chat_id: "1", account_id: "no spaces" }).field, "account_id")
    const many = Array.from({ length: 101 }, (_, i) => String(i))
    assert.deepStrictEqual(refused({ type: "add_members", chat_id: "1", user_ids: many }), {
      field: "user_ids",
      message: "must hold 1 to 100 user ids"
    })
    assert.strictEqual(refused({ type: "clear_unread", chat_ids: many }).field, "chat_ids")
    assert.strictEqual(refused({ type: "create_chat", chat_type: "group_chat", user_ids: ["1"] }).field, "title")
    assert.strictEqual(
      refused({ type: "update_history_status", chat_id: "1", history_status: "on" }).field,
      "history_status"
    )
  })

  it("accepts every contract shape and keeps the envelope apart from the parameters", () => {
    const parsed = parseCommand({
      type: "mark_as_read",
      chat_id: "c",
      last_message_id: "m",
      idempotency_key: "k",
      account_id: "acc"
    })
    assert.deepStrictEqual(
      parsed,
      Either.right({
        command: { type: "mark_as_read", params: { chat_id: "c", last_message_id: "m" } },
        accountId: "acc",
        idempotencyKey: "k"
      })
    )
    assert.isTrue(Either.isRight(parseCommand({ type: "create_chat", chat_type: "direct_message", user_id: "7" })))
    assert.isTrue(
      Either.isRight(
        parseCommand({ type: "fork_chat", chat_id: "c", message_id: "m", title: "t", include_participants: true })
      )
    )
  })

  it("maps every command type to an upstream operation and its bucket", () => {
    for (const type of COMMAND_TYPES) assert.isString(commandBucket(type), COMMAND_OPERATION[type])
    assert.strictEqual(commandBucket("mark_as_read"), "chats.bulk_update")
    assert.strictEqual(commandBucket("update_title"), "chats.update")
  })
})
