import { schema } from "@cliq-mirror/db"
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Api } from "../../apps/api/src/Api.js"
import { NotFound } from "../../apps/api/src/Errors.js"
import { apiTestLayer, chatRow, exec, insertChats, request, TOKEN } from "./harness.js"

const full = chatRow("acc-b", "CT_1", {
  name: "Design Review",
  chatType: "channel",
  participantCount: 12,
  creatorId: "u-1",
  creatorName: "Ada",
  createdTime: new Date("2024-05-01T08:00:00.001Z"),
  lastModifiedTime: new Date("2025-01-02T03:04:05.678Z"),
  lastMessageTime: new Date("2025-01-02T03:04:05.000Z"),
  pinned: true,
  removed: false,
  unreadMessageCount: 4,
  unreadTime: new Date("2025-01-02T03:00:00.000Z"),
  lastMessageInfo: { message_id: "m-9", sender: "u-2", time: "1735787045678", content: { text: "hi" } },
  previousTitles: "Old name",
  threadMessageId: "tm-1",
  parentChatId: "CT_0",
  muted: true,
  closed: false,
  drafts: true,
  joined: true,
  membersFetchedAt: new Date("2025-01-03T00:00:00.000Z"),
  syncedAt: new Date("2025-01-03T00:00:01.500Z")
})

const seed = Effect.gen(function* () {
  yield* insertChats([
    full,
    chatRow("acc-a", "CT_1", { name: "same id, lower account", syncedAt: new Date("2025-01-01T00:00:00Z") }),
    chatRow("acc-a", "bare", { name: "", syncedAt: new Date("2025-01-01T00:00:00Z") })
  ])
  yield* exec(db =>
    db.insert(schema.chatMembers).values([
      { accountId: "acc-b", chatId: "CT_1", userId: "u-2", name: "Bob", emailId: "bob@example.com" },
      { accountId: "acc-b", chatId: "CT_1", userId: "u-1", name: "Ada", emailId: null },
      { accountId: "acc-a", chatId: "CT_1", userId: "u-9", name: "Other account", emailId: null }
    ])
  )
})

const Seeded = Layer.effectDiscard(seed).pipe(Layer.provideMerge(apiTestLayer()))

layer(Seeded, { timeout: "2 minutes", excludeTestServices: true })("GET /v1/chats/{chat_id}", it => {
  it.effect("renders every upstream field under its upstream name plus the mirror's own", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/chats/CT_1?account_id=acc-b")
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(reply.body, {
        chat_id: "CT_1",
        name: "Design Review",
        chat_type: "channel",
        participant_count: 12,
        creator: { id: "u-1", name: "Ada" },
        created_time: "2024-05-01T08:00:00.001Z",
        last_modified_time: "2025-01-02T03:04:05.678Z",
        pinned: true,
        removed: false,
        unread_message_count: 4,
        unread_time: "2025-01-02T03:00:00.000Z",
        last_message_info: {
          message_id: "m-9",
          sender: "u-2",
          time: "2025-01-02T03:04:05.678Z",
          content: { text: "hi" }
        },
        previous_titles: "Old name",
        parent_chat_id: "CT_0",
        thread_message_id: "tm-1",
        account_id: "acc-b",
        muted: true,
        closed: false,
        drafts: true,
        joined: true,
        members_fetched_at: "2025-01-03T00:00:00.000Z",
        synced_at: "2025-01-03T00:00:01.500Z"
      })
    })
  )

  it.effect("absent values are null", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/chats/bare")
      const body = reply.body as Record<string, unknown>
      assert.strictEqual(reply.status, 200)
      for (const key of [
        "participant_count",
        "creator",
        "created_time",
        "last_modified_time",
        "unread_time",
        "last_message_info",
        "previous_titles",
        "parent_chat_id",
        "thread_message_id",
        "members_fetched_at"
      ]) {
        assert.isNull(body[key], key)
      }
      assert.strictEqual(body.synced_at, "2025-01-01T00:00:00.000Z")
    })
  )

  it.effect("without account_id a chat id held by several accounts resolves to the lowest account id", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/chats/CT_1")
      assert.strictEqual((reply.body as { account_id: string }).account_id, "acc-a")
    })
  )

  it.effect("an unknown chat, or a known chat under another account, is a 404", () =>
    Effect.gen(function* () {
      for (const path of ["/v1/chats/nope", "/v1/chats/bare?account_id=acc-b", "/v1/chats/nope/members"]) {
        const reply = yield* request(path)
        assert.strictEqual(reply.status, 404, path)
        const body = reply.body as { error: { code: string; message: string } }
        assert.strictEqual(body.error.code, "not_found")
        assert.include(body.error.message, path.includes("bare") ? "bare" : "nope")
      }
    })
  )

  it.effect("members of the chat's own account, with the time they were fetched", () =>
    Effect.gen(function* () {
      const reply = yield* request("/v1/chats/CT_1/members?account_id=acc-b")
      assert.deepStrictEqual(reply.body, {
        data: [
          { user_id: "u-1", name: "Ada", email_id: null },
          { user_id: "u-2", name: "Bob", email_id: "bob@example.com" }
        ],
        fetched_at: "2025-01-03T00:00:00.000Z"
      })
      const never = yield* request("/v1/chats/bare/members")
      assert.deepStrictEqual(never.body, { data: [], fetched_at: null })
    })
  )

  it.effect("the typed client derived from Api decodes the same responses", () =>
    Effect.gen(function* () {
      const client = yield* HttpApiClient.make(Api, {
        transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(TOKEN))
      })
      const page = yield* client.chats.listChats({ urlParams: { account_id: "acc-b", pinned: true, limit: 5 } })
      assert.deepStrictEqual(
        page.data.map(c => c.chat_id),
        ["CT_1"]
      )
      assert.isNull(page.next_cursor)
      const missing = yield* Effect.flip(client.chats.getChat({ path: { chat_id: "nope" }, urlParams: {} }))
      assert.instanceOf(missing, NotFound)
      assert.strictEqual((missing as NotFound).error.code, "not_found")
    })
  )
})
