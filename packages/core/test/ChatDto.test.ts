import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { ChatDto, ChatDtoStruct } from "../src/Cliq/ChatDto.js"
import { firstIssue } from "../src/Cliq/ParseIssue.js"

/** Mostly the plain form, now and then something else: most objects are then valid but for one or two fields. */
const field = (plain: FastCheck.Arbitrary<unknown>, ...odd: Array<unknown>) =>
  FastCheck.oneof({ arbitrary: plain, weight: 15 }, { arbitrary: FastCheck.constantFrom(...odd), weight: 1 })

const id = field(
  FastCheck.constantFrom("2890538000000012345", "70027934", "1700000050000_1"),
  "",
  2890538012345,
  1.5,
  null,
  true
)
const time = field(
  FastCheck.constantFrom("2025-08-21T17:15:49+05:30", "2023-11-14T22:14:10.123Z", "1700000100000", 1700000100000),
  "2025-08-21",
  "yesterday",
  "99999999999999999",
  2 ** 60,
  1.5,
  -1,
  null,
  {}
)
const text = field(FastCheck.string({ maxLength: 3 }), null, 1, false)
const flag = field(FastCheck.boolean(), "true", null)
const count = field(FastCheck.integer({ min: -2, max: 50 }), 1.5, "3", null, 2 ** 60)
const object = <T extends Record<string, FastCheck.Arbitrary<unknown>>>(fields: T) =>
  field(FastCheck.record(fields, { requiredKeys: [] }), null, "x", [], [{ id: "1" }])

// Objects close to upstream chats, every field sometimes absent, malformed, or of an unusual but accepted form.
const chat = FastCheck.record(
  {
    chat_id: id,
    name: text,
    chat_type: field(FastCheck.constantFrom("channel", "thread", "a_type_added_later"), 3, null),
    participant_count: count,
    created_time: time,
    last_modified_time: time,
    pinned: flag,
    removed: flag,
    creator: object({ id, name: text, extra: text }),
    last_message_info: object({
      message_id: id,
      sender: id,
      time,
      content: object({ text, html: text }),
      type: text
    }),
    unread_time: time,
    unread_message_count: count,
    previous_titles: text,
    thread_message_id: id,
    parent_chat_id: id,
    user_membership: object({ pinned: flag, removed: flag }),
    unknown_upstream_field: text
  },
  { requiredKeys: [] }
)

const outcome = (schema: Schema.Schema<unknown, unknown>, input: unknown) =>
  Either.mapLeft(Schema.decodeUnknownEither(schema)(input), firstIssue)

describe("ChatDto", () => {
  it.prop(
    "decodes every object exactly as its struct does: same value, same first issue",
    [chat],
    ([input]) => {
      assert.deepStrictEqual(
        outcome(ChatDto as Schema.Schema<unknown, unknown>, input),
        outcome(ChatDtoStruct as Schema.Schema<unknown, unknown>, input)
      )
    },
    { fastCheck: { numRuns: 3000 } }
  )

  it("keeps its struct's options: excess keys fail under onExcessProperty: error", () => {
    const input = { chat_id: "1", unknown_upstream_field: 1 }
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(ChatDto, { onExcessProperty: "error" })(input)))
    assert.deepStrictEqual(Schema.decodeUnknownSync(ChatDto)(input), Schema.decodeUnknownSync(ChatDtoStruct)(input))
  })
})
