import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { formatConfigError } from "@cliq-mirror/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Chunk, ConfigError, Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { ApiRateBudgetLive, BudgetStatus, BudgetStatusLive } from "../../apps/api/src/BudgetStatus.js"
import { ApiHttpLive } from "../../apps/api/src/Http.js"
import { testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { apiTestLayer, configLayer, DatabaseTest, databaseAt, exec, redisLayer, send, TOKEN } from "./harness.js"

const countCommands = exec((_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from commands`).pipe(
  Effect.map(rows => rows[0]!.n)
)

const invalid = (field: string, rule: string) => ({
  error: { code: "invalid_parameter", message: `${field}: ${rule}`, field }
})

const ids = (n: number, prefix = "u") => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
const long = (n: number) => "x".repeat(n)

/** [body, field, rule] — each command type's limits as the reference states them, plus the envelope's rules. */
const refusals: ReadonlyArray<readonly [unknown, string, string]> = [
  [{ type: "update_title", chat_id: "c1", title: long(256) }, "title", "must be 1 to 255 characters and not blank"],
  [{ type: "update_title", chat_id: "c1", title: "   " }, "title", "must be 1 to 255 characters and not blank"],
  [{ type: "update_title", chat_id: "c1" }, "title", "is missing"],
  [{ type: "add_members", chat_id: "c1", user_ids: ids(101) }, "user_ids", "must hold 1 to 100 user ids"],
  [{ type: "add_members", chat_id: "c1", user_ids: [] }, "user_ids", "must hold 1 to 100 user ids"],
  [{ type: "add_members", chat_id: "c1", user_ids: ["u1", "u1"] }, "user_ids", "must not repeat a user id"],
  [
    { type: "add_members", chat_id: "c1", user_ids: ["u1", long(129)] },
    "user_ids[1]",
    "must be a user id of 1 to 128 characters"
  ],
  [{ type: "remove_members", chat_id: "c1", user_ids: ids(101) }, "user_ids", "must hold 1 to 100 user ids"],
  [
    { type: "create_chat", chat_type: "group_chat", user_ids: ids(51), title: "t" },
    "user_ids",
    "must hold 1 to 50 user ids"
  ],
  [
    { type: "create_chat", chat_type: "group_chat", user_ids: ["u1"], title: long(256) },
    "title",
    "must be 1 to 255 characters and not blank"
  ],
  [{ type: "clear_unread", chat_ids: ids(101, "c") }, "chat_ids", "must hold 1 to 100 chat ids"],
  [{ type: "clear_unread", chat_ids: [] }, "chat_ids", "must hold 1 to 100 chat ids"],
  [
    { type: "fork_chat", chat_id: "c1", message_id: "m1", title: long(256), include_participants: true },
    "title",
    "must be 1 to 255 characters and not blank"
  ],
  [{ type: "mark_as_read", chat_id: "c1" }, "last_message_id", "is missing"],
  [
    { type: "mark_as_unread", chat_id: "c1", message_id: long(129) },
    "message_id",
    "must be a message id of 1 to 128 characters"
  ],
  [{ type: "clear_local_history", chat_id: long(129) }, "chat_id", "must be a chat id of 1 to 128 characters"],
  [{ type: "close_chat", chat_id: "" }, "chat_id", "must be a chat id of 1 to 128 characters"],
  [{ type: "leave_chat" }, "chat_id", "is missing"],
  [{ type: "mute_chat", chat_id: 42 }, "chat_id", "Expected string, actual 42"],
  [{ type: "unmute_chat", chat_id: long(129) }, "chat_id", "must be a chat id of 1 to 128 characters"],
  [
    { type: "archive_chat", chat_id: "c1" },
    "type",
    "must be one of mark_as_read, mark_as_unread, clear_unread, update_title, update_history_status, clear_local_history, close_chat, add_members, remove_members, create_chat, fork_chat, leave_chat, mute_chat, unmute_chat"
  ],
  [
    { chat_id: "c1" },
    "type",
    "must be one of mark_as_read, mark_as_unread, clear_unread, update_title, update_history_status, clear_local_history, close_chat, add_members, remove_members, create_chat, fork_chat, leave_chat, mute_chat, unmute_chat"
  ],
  [{ type: "close_chat", chat_id: "c1", account_id: "nope" }, "account_id", "unknown account"],
  [
    { type: "close_chat", chat_id: "c1", account_id: "no spaces" },
    "account_id",
    "must be 1 to 64 letters, digits, '_' or '-'"
  ],
  [
    { type: "close_chat", chat_id: "c1", idempotency_key: "" },
    "idempotency_key",
    "must be a string of 1 to 200 characters"
  ],
  [[{ type: "close_chat", chat_id: "c1" }], "body", "must be a JSON object"],
  ["close_chat", "body", "must be a JSON object"]
]

/** The field only: the rule is the schema library's wording. */
const refusedFields: ReadonlyArray<readonly [unknown, string]> = [
  [{ type: "update_history_status", chat_id: "c1", history_status: "maybe" }, "history_status"],
  [{ type: "close_chat", chat_id: "c1", colour: "red" }, "colour"],
  [{ type: "fork_chat", chat_id: "c1", message_id: "m1", title: "t" }, "include_participants"],
  [{ type: "create_chat", chat_type: "channel", user_ids: ["u1"], title: "t" }, "chat_type"]
]

const fixtureDir = mkdtempSync(join(tmpdir(), "cliq-commands-"))
const accountsFile = join(fixtureDir, "accounts.json")
writeFileSync(
  accountsFile,
  JSON.stringify([
    { id: "first", access_token: "token-first" },
    { id: "second", access_token: "token-second" }
  ])
)

/** The API with an accounts file: the first account is the default, and only configured accounts are accepted. */
const withAccountsFile = ApiHttpLive.pipe(
  Layer.provide(BudgetStatusLive),
  Layer.provide(ApiRateBudgetLive),
  Layer.provide(redisLayer(testRedisUrl())),
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(DatabaseTest),
  Layer.provide(
    Layer.merge(
      configLayer({
        API_TOKEN: TOKEN,
        REDIS_PREFIX: uniqueRedisPrefix("cmd-accounts"),
        CLIQ_ACCOUNTS_FILE: accountsFile
      }),
      Logger.minimumLogLevel(LogLevel.Warning)
    )
  )
)

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("POST /v1/commands", it => {
  it.effect(
    "takes a command in: 202 { command_id, status }, the row is the outbox entry, CommandRequested logged",
    () =>
      Effect.gen(function* () {
        const reply = yield* send("POST", "/v1/commands", {
          type: "update_title",
          chat_id: "not-mirrored",
          title: "Hi"
        })
        assert.strictEqual(reply.status, 202, reply.text)
        const body = reply.body as { command_id: string; status: string }
        assert.deepStrictEqual(Object.keys(body).sort(), ["command_id", "status"])
        assert.strictEqual(body.status, "queued")
        const [row] = yield* exec(
          (_, sql) => sql<Array<{ account_id: string; chat_id: string; payload: unknown; enqueued_at: Date | null }>>`
          select account_id, chat_id, payload, enqueued_at from commands where id = ${body.command_id}::uuid`
        )
        assert.deepStrictEqual(row, {
          account_id: "default",
          chat_id: "not-mirrored",
          payload: { chat_id: "not-mirrored", title: "Hi" },
          enqueued_at: null
        })
        const events = yield* exec(
          (_, sql) => sql<Array<{ type: string; payload: { command_id: string } }>>`
          select type, payload from events where payload->>'command_id' = ${body.command_id}`
        )
        assert.deepStrictEqual(
          events.map(e => e.type),
          ["CommandRequested"]
        )
      })
  )

  it.effect("refuses every broken rule with a 400 naming the field, and stores nothing", () =>
    Effect.gen(function* () {
      const before = yield* countCommands
      for (const [body, field, rule] of refusals) {
        const reply = yield* send("POST", "/v1/commands", body)
        assert.strictEqual(reply.status, 400, JSON.stringify(body).slice(0, 80))
        assert.deepStrictEqual(reply.body, invalid(field, rule), JSON.stringify(body).slice(0, 80))
      }
      for (const [body, field] of refusedFields) {
        const reply = yield* send("POST", "/v1/commands", body)
        assert.strictEqual(reply.status, 400, JSON.stringify(body))
        const error = (reply.body as { error: { code: string; field: string; message: string } }).error
        assert.strictEqual(error.code, "invalid_parameter")
        assert.strictEqual(error.field, field, JSON.stringify(body))
        assert.isTrue(error.message.startsWith(`${field}: `), error.message)
      }
      for (const raw of ["{not json", "", '{"type": "close_chat",}']) {
        const reply = yield* send("POST", "/v1/commands", undefined, { raw })
        assert.strictEqual(reply.status, 400, raw)
        assert.deepStrictEqual(reply.body, invalid("body", "must be valid JSON"), raw)
      }
      assert.strictEqual(yield* countCommands, before)
    })
  )

  it.effect("every type with valid parameters is accepted", () =>
    Effect.gen(function* () {
      const bodies = [
        { type: "mark_as_read", chat_id: "c1", last_message_id: "m1" },
        { type: "mark_as_unread", chat_id: "c1", message_id: "m1" },
        { type: "clear_unread", chat_ids: ids(100, "c") },
        { type: "update_title", chat_id: "c2", title: long(255) },
        { type: "update_history_status", chat_id: "c3", history_status: "disabled" },
        { type: "clear_local_history", chat_id: "c4" },
        { type: "close_chat", chat_id: "c5", account_id: "default" },
        { type: "add_members", chat_id: "c6", user_ids: ids(100) },
        { type: "remove_members", chat_id: "c7", user_ids: ["u1"] },
        { type: "create_chat", chat_type: "direct_message", user_id: "u9" },
        { type: "create_chat", chat_type: "group_chat", user_ids: ids(50), title: "Group" },
        { type: "fork_chat", chat_id: "c8", message_id: "m8", title: "Fork", user_ids: ["u1", "u2"] },
        { type: "fork_chat", chat_id: "c8", message_id: "m8", title: "Fork", include_participants: true },
        { type: "leave_chat", chat_id: "c9" },
        { type: "mute_chat", chat_id: "c10" },
        { type: "unmute_chat", chat_id: "c10" }
      ]
      for (const body of bodies) {
        const reply = yield* send("POST", "/v1/commands", body)
        assert.strictEqual(reply.status, 202, `${body.type}: ${reply.text}`)
      }
    })
  )

  it.effect("the same idempotency key with the same body returns the first command (200); another body is a 409", () =>
    Effect.gen(function* () {
      const body = { type: "mute_chat", chat_id: "c-idem", idempotency_key: "mute-c-idem" }
      const first = yield* send("POST", "/v1/commands", body)
      assert.strictEqual(first.status, 202)
      const again = yield* send("POST", "/v1/commands", { ...body })
      assert.strictEqual(again.status, 200)
      assert.deepStrictEqual(again.body, first.body)
      // key order does not matter, the body does
      const reordered = yield* send("POST", "/v1/commands", {
        idempotency_key: "mute-c-idem",
        chat_id: "c-idem",
        type: "mute_chat"
      })
      assert.strictEqual(reordered.status, 200)
      const other = yield* send("POST", "/v1/commands", { ...body, type: "unmute_chat" })
      assert.strictEqual(other.status, 409)
      const error = (other.body as { error: { code: string; field: string; message: string } }).error
      assert.strictEqual(error.code, "idempotency_conflict")
      assert.strictEqual(error.field, "idempotency_key")
      assert.include(error.message, (first.body as { command_id: string }).command_id)
      const n = yield* exec(
        (_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from commands where chat_id = 'c-idem'`
      )
      assert.strictEqual(n[0]!.n, 1)
    })
  )

  it.effect("concurrent requests are taken in together, each with its own outcome", () =>
    Effect.gen(function* () {
      const keyed = Array.from({ length: 12 }, (_, i) => ({
        type: i % 3 === 0 ? "close_chat" : "mute_chat",
        chat_id: "together",
        idempotency_key: "together-key"
      }))
      const plain = Array.from({ length: 30 }, (_, i) => ({ type: "close_chat", chat_id: `together-${i}` }))
      // Postgres refuses NUL in jsonb: that request fails, its neighbours in the same transaction group do not.
      const poisoned = { type: "update_title", chat_id: "together-nul", title: "a\u0000b" }
      const replies = yield* Effect.forEach(
        [...keyed, ...plain, poisoned],
        body => send("POST", "/v1/commands", body),
        {
          concurrency: "unbounded"
        }
      )
      const keyedReplies = replies.slice(0, keyed.length)
      const created = keyedReplies.filter(r => r.status === 202)
      assert.strictEqual(created.length, 1)
      const winner = keyed[keyedReplies.indexOf(created[0]!)]!
      for (const [i, reply] of keyedReplies.entries()) {
        if (reply === created[0]) continue
        if (keyed[i]!.type === winner.type) {
          assert.strictEqual(reply.status, 200)
          assert.deepStrictEqual(reply.body, created[0]!.body)
        } else {
          assert.strictEqual(reply.status, 409)
        }
      }
      assert.isTrue(replies.slice(keyed.length, -1).every(r => r.status === 202))
      assert.isAtLeast(replies.at(-1)!.status, 400)
      const rows = yield* exec(
        (_, sql) => sql<Array<{ chat_id: string }>>`select chat_id from commands where chat_id like 'together%'`
      )
      assert.strictEqual(rows.length, 1 + plain.length)
    })
  )

  it.effect("a body over 1 MiB is a 413, with or without a Content-Length", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const big = JSON.stringify({ type: "update_title", chat_id: "c1", title: long(1024 * 1024) })
      for (const path of ["/v1/commands", "/v1/commands/batch"]) {
        const sized = yield* client.execute(
          HttpClientRequest.post(path).pipe(
            HttpClientRequest.bearerToken(TOKEN),
            HttpClientRequest.bodyText(big, "application/json")
          )
        )
        assert.strictEqual(sized.status, 413, "sized")
        assert.deepStrictEqual(yield* sized.json, {
          error: { code: "payload_too_large", message: "request body exceeds 1048576 bytes" }
        })
        const chunked = yield* client.execute(
          HttpClientRequest.post(path).pipe(
            HttpClientRequest.bearerToken(TOKEN),
            HttpClientRequest.bodyStream(Stream.fromChunk(Chunk.make(new TextEncoder().encode(big))), {
              contentType: "application/json"
            })
          )
        )
        assert.strictEqual(chunked.status, 413, "chunked")
        assert.deepStrictEqual(yield* chunked.json, {
          error: { code: "payload_too_large", message: "request body exceeds 1048576 bytes" }
        })
      }
      assert.strictEqual(
        (yield* exec(
          (_, sql) =>
            sql<
              Array<{ n: number }>
            >`select count(*)::int as n from commands where chat_id = 'c1' and type = 'update_title'`
        ))[0]!.n,
        0
      )
    }).pipe(Effect.scoped)
  )

  it.effect("every command route needs the bearer token", () =>
    Effect.gen(function* () {
      const routes = [
        ["POST", "/v1/commands"],
        ["POST", "/v1/commands/batch"],
        ["GET", "/v1/commands"],
        ["GET", "/v1/commands/00000000-0000-4000-8000-000000000000"],
        ["POST", "/v1/commands/00000000-0000-4000-8000-000000000000/retry"]
      ] as const
      for (const [method, path] of routes) {
        for (const token of [null, "wrong-token"]) {
          const reply = yield* send(method, path, { type: "close_chat", chat_id: "c1" }, { token })
          assert.strictEqual(reply.status, 401, `${method} ${path}`)
          assert.strictEqual((reply.body as { error: { code: string } }).error.code, "unauthorized")
        }
      }
    })
  )
})

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("POST /v1/commands/batch", it => {
  it.effect("takes up to 1000 commands in one transaction: 202 { data } in request order", () =>
    Effect.gen(function* () {
      const commands = Array.from({ length: 1000 }, (_, i) => ({
        type: i % 2 === 0 ? "mute_chat" : "update_title",
        chat_id: `b${i}`,
        ...(i % 2 === 0 ? {} : { title: `T${i}` })
      }))
      const reply = yield* send("POST", "/v1/commands/batch", { commands })
      assert.strictEqual(reply.status, 202, reply.text.slice(0, 200))
      const data = (reply.body as { data: Array<{ command_id: string; status: string }> }).data
      assert.strictEqual(data.length, 1000)
      assert.isTrue(data.every(d => d.status === "queued" && Object.keys(d).length === 2))
      const rows = yield* exec(
        (_, sql) => sql<Array<{ id: string; chat_id: string }>>`
          select id, chat_id from commands where chat_id like 'b%' order by intake_seq`
      )
      assert.deepStrictEqual(
        rows.map(r => r.id),
        data.map(d => d.command_id)
      )
      assert.deepStrictEqual(
        rows.map(r => r.chat_id),
        commands.map(c => c.chat_id)
      )
    })
  )

  it.effect("one bad item refuses the whole batch, naming commands[i].field; nothing is stored", () =>
    Effect.gen(function* () {
      const before = yield* countCommands
      const good = (i: number) => ({ type: "close_chat", chat_id: `bad-batch-${i}` })
      const cases: ReadonlyArray<readonly [unknown, unknown]> = [
        [
          { commands: [good(0), good(1), good(2), { type: "update_title", chat_id: "c", title: long(256) }] },
          invalid("commands[3].title", "must be 1 to 255 characters and not blank")
        ],
        [
          { commands: [good(0), { type: "add_members", chat_id: "c", user_ids: ids(101) }] },
          invalid("commands[1].user_ids", "must hold 1 to 100 user ids")
        ],
        [
          { commands: [good(0), { type: "close_chat", chat_id: "c", account_id: "nope" }] },
          invalid("commands[1].account_id", "unknown account")
        ],
        [{ commands: [good(0), "close_chat"] }, invalid("commands[1]", "must be a JSON object")],
        [{ commands: [] }, invalid("commands", "must be a list of 1 to 1000 commands")],
        [
          { commands: Array.from({ length: 1001 }, (_, i) => good(i)) },
          invalid("commands", "must be a list of 1 to 1000 commands")
        ],
        [{ commands: good(0) }, invalid("commands", "must be a list of 1 to 1000 commands")],
        [{}, invalid("commands", "must be a list of 1 to 1000 commands")],
        [{ commands: [good(0)], extra: true }, invalid("extra", 'is unexpected, expected: "commands"')],
        [[good(0)], invalid("body", 'must be a JSON object { "commands": [...] }')]
      ]
      for (const [body, expected] of cases) {
        const reply = yield* send("POST", "/v1/commands/batch", body)
        assert.strictEqual(reply.status, 400, JSON.stringify(body).slice(0, 100))
        assert.deepStrictEqual(reply.body, expected)
      }
      assert.strictEqual(yield* countCommands, before)
    })
  )

  it.effect("an idempotency conflict inside a batch is a 409 naming the item; replays inside a batch are fine", () =>
    Effect.gen(function* () {
      const keyed = { type: "mute_chat", chat_id: "k1", idempotency_key: "batch-k1" }
      const first = yield* send("POST", "/v1/commands", keyed)
      const firstId = (first.body as { command_id: string }).command_id
      const before = yield* countCommands
      const conflict = yield* send("POST", "/v1/commands/batch", {
        commands: [
          { type: "close_chat", chat_id: "k2" },
          { type: "close_chat", chat_id: "k3" },
          { ...keyed, chat_id: "k9" }
        ]
      })
      assert.strictEqual(conflict.status, 409)
      const error = (conflict.body as { error: { code: string; field: string } }).error
      assert.deepStrictEqual([error.code, error.field], ["idempotency_conflict", "commands[2].idempotency_key"])
      // the same key twice in one batch with different bodies
      const inner = yield* send("POST", "/v1/commands/batch", {
        commands: [
          { type: "close_chat", chat_id: "k4", idempotency_key: "twice" },
          { type: "close_chat", chat_id: "k5", idempotency_key: "twice" }
        ]
      })
      assert.strictEqual(inner.status, 409)
      assert.strictEqual((inner.body as { error: { field: string } }).error.field, "commands[1].idempotency_key")
      assert.strictEqual(yield* countCommands, before)
      const replay = yield* send("POST", "/v1/commands/batch", {
        commands: [keyed, { type: "close_chat", chat_id: "k6" }]
      })
      assert.strictEqual(replay.status, 202)
      const data = (replay.body as { data: Array<{ command_id: string }> }).data
      assert.strictEqual(data[0]!.command_id, firstId)
      assert.strictEqual(yield* countCommands, before + 1)
      // the same key twice in one batch with the same body: one command, answered twice
      const same = { type: "close_chat", chat_id: "k7", idempotency_key: "same-twice" }
      const doubled = yield* send("POST", "/v1/commands/batch", { commands: [same, same] })
      assert.strictEqual(doubled.status, 202)
      const pair = (doubled.body as { data: Array<{ command_id: string }> }).data
      assert.strictEqual(pair[0]!.command_id, pair[1]!.command_id)
      assert.strictEqual(yield* countCommands, before + 2)
    })
  )
})

layer(withAccountsFile, { timeout: "2 minutes", excludeTestServices: true })("accounts from CLIQ_ACCOUNTS_FILE", it => {
  it.effect("an unreadable accounts file or a malformed CLIQ_ACCOUNT_ID stops the API at start, naming it", () =>
    Effect.gen(function* () {
      const startup = (config: Record<string, string>) =>
        Layer.build(
          ApiHttpLive.pipe(
            Layer.provide(NodeHttpServer.layerTest),
            Layer.provide(databaseAt("postgres://postgres@127.0.0.1:1/unused")),
            Layer.provide(redisLayer("redis://127.0.0.1:1")),
            Layer.provide(Layer.succeed(BudgetStatus, { snapshot: () => Effect.succeed([]) })),
            Layer.provide(configLayer({ API_TOKEN: TOKEN, ...config }))
          )
        ).pipe(Effect.scoped, Effect.flip)
      const missing = join(fixtureDir, "missing.json")
      const file = yield* startup({ CLIQ_ACCOUNTS_FILE: missing })
      assert.strictEqual((file as { message: string }).message, `CLIQ_ACCOUNTS_FILE: cannot read ${missing} (NotFound)`)
      const id = yield* startup({ CLIQ_ACCOUNT_ID: "not valid!" })
      assert.isTrue(ConfigError.isConfigError(id))
      assert.strictEqual(
        formatConfigError(id as ConfigError.ConfigError),
        "invalid configuration: CLIQ_ACCOUNT_ID: must match ^[A-Za-z0-9_-]{1,64}$"
      )
    })
  )

  it.effect("a command without account_id goes to the first account; an unconfigured account is refused", () =>
    Effect.gen(function* () {
      const plain = yield* send("POST", "/v1/commands", { type: "close_chat", chat_id: "c1" })
      const second = yield* send("POST", "/v1/commands", { type: "close_chat", chat_id: "c1", account_id: "second" })
      const unknown = yield* send("POST", "/v1/commands", { type: "close_chat", chat_id: "c1", account_id: "default" })
      assert.strictEqual(plain.status, 202)
      assert.strictEqual(second.status, 202)
      assert.strictEqual(unknown.status, 400)
      assert.deepStrictEqual(unknown.body, invalid("account_id", "unknown account"))
      const rows = yield* exec(
        (_, sql) => sql<Array<{ account_id: string }>>`select account_id from commands order by intake_seq`
      )
      assert.deepStrictEqual(
        rows.map(r => r.account_id),
        ["first", "second"]
      )
    })
  )
})
