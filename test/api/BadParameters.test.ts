import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { parseTime } from "../../apps/api/src/Params.js"
import { apiTestLayer, request } from "./harness.js"

const long = (n: number) => "x".repeat(n)

/** [path, field, message] — every rule of every parameter, as the 400 body states it. */
const cases: ReadonlyArray<readonly [string, string, string]> = [
  ["/v1/chats?limit=0", "limit", "must be an integer between 1 and 1000"],
  ["/v1/chats?limit=1001", "limit", "must be an integer between 1 and 1000"],
  ["/v1/chats?limit=ten", "limit", "must be an integer between 1 and 1000"],
  ["/v1/chats?limit=1.5", "limit", "must be an integer between 1 and 1000"],
  ["/v1/chats?limit=", "limit", "must be an integer between 1 and 1000"],
  ["/v1/chats?limit=1&limit=2", "limit", "must be given once"],
  ["/v1/chats?sort=oldest", "sort", "must be one of recent, name"],
  ["/v1/chats?pinned=yes", "pinned", "must be true or false"],
  ["/v1/chats?muted=1", "muted", "must be true or false"],
  ["/v1/chats?removed=TRUE", "removed", "must be true or false"],
  ["/v1/chats?closed=", "closed", "must be true or false"],
  ["/v1/chats?unread=no", "unread", "must be true or false"],
  [
    "/v1/chats?chat_type=channel,nope",
    "chat_type",
    "must be a comma-separated list of channel, bot, entity_chat, direct_message, group_chat, crossproduct_custom_chat, thread, unknown"
  ],
  [
    "/v1/chats?chat_type=",
    "chat_type",
    "must be a comma-separated list of channel, bot, entity_chat, direct_message, group_chat, crossproduct_custom_chat, thread, unknown"
  ],
  ["/v1/chats?modified_after=yesterday", "modified_after", "must be epoch milliseconds or an ISO 8601 date-time"],
  ["/v1/chats?modified_before=2024-13-01", "modified_before", "must be epoch milliseconds or an ISO 8601 date-time"],
  [
    "/v1/chats?modified_after=2024-02-30T00:00:00Z",
    "modified_after",
    "must be epoch milliseconds or an ISO 8601 date-time"
  ],
  ["/v1/chats?modified_after=-5", "modified_after", "must be epoch milliseconds or an ISO 8601 date-time"],
  [`/v1/chats?q=${long(201)}`, "q", "must be at most 200 characters"],
  ["/v1/chats?account_id=", "account_id", "must be 1 to 128 characters"],
  [`/v1/chats?account_id=${long(129)}`, "account_id", "must be 1 to 128 characters"],
  [`/v1/chats?cursor=${long(4097)}`, "cursor", "must be 1 to 4096 characters"],
  ["/v1/chats?cursor=%2F%2F%2F", "cursor", "malformed cursor; pass next_cursor back unchanged"],
  [`/v1/chats/${long(129)}`, "chat_id", "must be 1 to 128 characters"],
  [`/v1/chats/${long(129)}/members`, "chat_id", "must be 1 to 128 characters"],
  [`/v1/chats/c1?account_id=${long(129)}`, "account_id", "must be 1 to 128 characters"],
  ["/v1/events?after=-1", "after", "must be an integer ≥ 0"],
  ["/v1/events?after=1e3", "after", "must be an integer ≥ 0"],
  ["/v1/events?after=99999999999999999", "after", "must be an integer ≥ 0"],
  ["/v1/events?limit=5000", "limit", "must be an integer between 1 and 1000"],
  [`/v1/events?chat_id=${long(129)}`, "chat_id", "must be 1 to 128 characters"],
  [
    `/v1/events?type=${Array.from({ length: 51 }, (_, i) => `t${i}`).join(",")}`,
    "type",
    "must be a comma-separated list of at most 50 event types of 1 to 100 characters"
  ],
  ["/v1/events?type=a,,b", "type", "must be a comma-separated list of at most 50 event types of 1 to 100 characters"]
]

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("bad parameters", it => {
  it.effect("each broken rule is a 400 naming the parameter and stating the rule", () =>
    Effect.gen(function* () {
      for (const [path, field, rule] of cases) {
        const reply = yield* request(path)
        assert.strictEqual(reply.status, 400, path)
        assert.deepStrictEqual(
          reply.body,
          { error: { code: "invalid_parameter", message: `${field}: ${rule}`, field } },
          path
        )
      }
    })
  )

  it.effect("authorization is checked before parameters", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/chats?limit=0", { token: null })
      assert.strictEqual(reply.status, 401)
    })
  )

  it.effect("unknown query parameters are ignored and valid edge values accepted", () =>
    Effect.gen(function* () {
      for (const path of [
        "/v1/chats?limit=1",
        "/v1/chats?limit=1000",
        "/v1/chats?q=",
        `/v1/chats?q=${long(200)}`,
        `/v1/chats?account_id=${long(128)}`,
        "/v1/chats?modified_after=0",
        "/v1/chats?modified_after=2024-02-29",
        "/v1/chats?whatever=1",
        "/v1/events?after=0&limit=1000&type=chat.created",
        `/v1/events?after=${Number.MAX_SAFE_INTEGER}`
      ]) {
        const reply = yield* request(path)
        assert.strictEqual(reply.status, 200, `${path}: ${reply.text}`)
      }
    })
  )
})

describe("parseTime", () => {
  const ms = (raw: string) => Option.map(parseTime(raw), d => d.getTime())
  it("reads epoch milliseconds and ISO 8601 in several spellings", () => {
    assert.deepStrictEqual(ms("1735689600000"), Option.some(Date.UTC(2025, 0, 1)))
    assert.deepStrictEqual(ms("2025-01-01"), Option.some(Date.UTC(2025, 0, 1)))
    assert.deepStrictEqual(ms("2025-01-01T10:20"), Option.some(Date.UTC(2025, 0, 1, 10, 20)))
    assert.deepStrictEqual(ms("2025-01-01T10:20:30.1234Z"), Option.some(Date.UTC(2025, 0, 1, 10, 20, 30, 123)))
    assert.deepStrictEqual(ms("2025-01-01T10:20:30+02:00"), Option.some(Date.UTC(2025, 0, 1, 8, 20, 30)))
    assert.deepStrictEqual(ms("2025-01-01T10:20:30-0130"), Option.some(Date.UTC(2025, 0, 1, 11, 50, 30)))
    assert.deepStrictEqual(ms("2025-01-01 10:20:30+05"), Option.some(Date.UTC(2025, 0, 1, 5, 20, 30)))
  })
  it("refuses impossible dates and other text", () => {
    for (const raw of [
      "2025-02-29",
      "2025-04-31",
      "2025-01-01T24:00",
      "2025-01-01T10:60",
      "tomorrow",
      "",
      "1e12",
      "12.5"
    ]) {
      assert.isTrue(Option.isNone(parseTime(raw)), raw)
    }
  })
})
