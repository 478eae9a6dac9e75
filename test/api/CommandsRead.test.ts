import { randomUUID } from "node:crypto"
import { BUCKETS, RateBudgetRedis } from "@cliq-mirror/core"
import { Database, OUTBOX_CHANNEL } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { apiTestLayer, exec, request, send } from "./harness.js"

const prefix = uniqueRedisPrefix("cmd-read")

interface CommandView {
  readonly command_id: string
  readonly type: string
  readonly account_id: string
  readonly chat_id: string | null
  readonly status: string
  readonly attempts: number
  readonly last_error: { readonly code: string; readonly message: string } | null
  readonly created_at: string
  readonly updated_at: string
  readonly completed_at: string | null
  readonly superseded_by: string | null
  readonly eta: string | null
  readonly batch_id: string | null
  readonly params: Record<string, unknown>
  readonly result: Record<string, unknown> | null
}

interface Page {
  readonly data: ReadonlyArray<CommandView>
  readonly next_cursor: string | null
}

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
const invalid = (field: string, rule: string) => ({
  error: { code: "invalid_parameter", message: `${field}: ${rule}`, field }
})

const batch = (commands: ReadonlyArray<Record<string, unknown>>) =>
  Effect.gen(function* () {
    const reply = yield* send("POST", "/v1/commands/batch", { commands })
    assert.strictEqual(reply.status, 202, reply.text.slice(0, 200))
    return (reply.body as { data: Array<{ command_id: string }> }).data.map(d => d.command_id)
  })

const getCommand = (id: string) =>
  Effect.map(send("GET", `/v1/commands/${id}`), reply => {
    assert.strictEqual(reply.status, 200, reply.text)
    return reply.body as CommandView
  })

const setRows = (ids: ReadonlyArray<string>, assignments: string) =>
  exec((_, sql) => sql.unsafe(`update commands set ${assignments} where id = any($1::uuid[])`, [ids as Array<string>]))

/** `eta` minus `from` in seconds. */
const offset = (view: CommandView, from: number) => (Date.parse(view.eta!) - from) / 1000

const listAll = (query: string, limit: number) =>
  Effect.gen(function* () {
    const seen: Array<CommandView> = []
    let cursor: string | null = null
    do {
      const after: string = cursor === null ? "" : `&cursor=${cursor}`
      const reply = yield* request(`/v1/commands?limit=${limit}${query === "" ? "" : `&${query}`}${after}`)
      assert.strictEqual(reply.status, 200, reply.text)
      const page = reply.body as Page
      assert.isAtMost(page.data.length, limit)
      seen.push(...page.data)
      cursor = page.next_cursor
    } while (cursor !== null)
    return seen
  })

layer(apiTestLayer({ redisPrefix: prefix }), { timeout: "2 minutes", excludeTestServices: true })(
  "reading and retrying commands",
  it => {
    it.effect("GET /v1/commands/{id}: every field, ISO times; 404 unknown; 400 malformed id", () =>
      Effect.gen(function* () {
        const [id] = yield* batch([{ type: "update_title", chat_id: "g1", title: "Renamed" }])
        const view = yield* getCommand(id!)
        assert.deepStrictEqual(Object.keys(view).sort(), [
          "account_id",
          "attempts",
          "batch_id",
          "chat_id",
          "command_id",
          "completed_at",
          "created_at",
          "eta",
          "last_error",
          "params",
          "result",
          "status",
          "superseded_by",
          "type",
          "updated_at"
        ])
        assert.deepStrictEqual(
          { ...view, created_at: "", updated_at: "", eta: "" },
          {
            command_id: id!,
            type: "update_title",
            account_id: "default",
            chat_id: "g1",
            status: "queued",
            attempts: 0,
            last_error: null,
            created_at: "",
            updated_at: "",
            completed_at: null,
            superseded_by: null,
            eta: "",
            batch_id: null,
            params: { chat_id: "g1", title: "Renamed" },
            result: null
          }
        )
        assert.match(view.created_at, ISO_MS)
        assert.match(view.updated_at, ISO_MS)
        assert.match(view.eta!, ISO_MS)

        const unknown = randomUUID()
        const missing = yield* request(`/v1/commands/${unknown}`)
        assert.strictEqual(missing.status, 404)
        assert.deepStrictEqual(missing.body, { error: { code: "not_found", message: `command ${unknown} not found` } })
        for (const bad of ["nope", "batch", `${unknown}x`, "x".repeat(300)]) {
          const reply = yield* request(`/v1/commands/${bad}`)
          assert.strictEqual(reply.status, 400, bad)
          assert.deepStrictEqual(reply.body, invalid("command_id", "must be a UUID"))
        }
        assert.strictEqual((yield* request(`/v1/commands/${id!.toUpperCase()}`)).status, 200)
      })
    )

    it.scoped("eta: queued from its place in the bucket and the shared budget; waiting → stored; finished → null", () =>
      Effect.gen(function* () {
        yield* Effect.addFinalizer(() => Effect.promise(() => clearRedisPrefix(prefix)))
        const budget = yield* RateBudgetRedis.make({
          redis: testRedisUrl(),
          prefix: `${prefix}budget:`,
          buckets: BUCKETS,
          freshRedis: true
        })
        // chats.mute: 20 per 60 s, nothing spent; the period the budget admits 20 calls in is 60 s + 2 s margin.
        const mutes = yield* batch(Array.from({ length: 45 }, (_, i) => ({ type: "mute_chat", chat_id: `m${i}` })))
        // chats.leave: 10 of 20 spent already.
        for (let i = 0; i < 10; i++) yield* budget.tryAcquire({ key: "user:default", bucket: "chats.leave" })
        const leaves = yield* batch(Array.from({ length: 12 }, (_, i) => ({ type: "leave_chat", chat_id: `l${i}` })))
        // chats.unmute: locked after a throttle answer.
        const lock = yield* budget.lock({ key: "user:default", bucket: "chats.unmute" })
        const [unmute] = yield* batch([{ type: "unmute_chat", chat_id: "u1" }])
        // chats.bulk_update carries 100 chats per call: 150 mark_as_read are two calls.
        const reads = yield* batch(
          Array.from({ length: 150 }, (_, i) => ({ type: "mark_as_read", chat_id: `r${i}`, last_message_id: "m" }))
        )
        const now = Date.now()
        const near = (view: CommandView, seconds: number) =>
          assert.approximately(offset(view, now), seconds, 3, `${view.type} ${view.chat_id}: ${view.eta}`)

        for (const [i, expected] of [
          [0, 0],
          [19, 0],
          [20, 62],
          [39, 62],
          [40, 124],
          [44, 124]
        ] as const) {
          near(yield* getCommand(mutes[i]!), expected)
        }
        near(yield* getCommand(leaves[9]!), 0)
        near(yield* getCommand(leaves[10]!), 62)
        assert.approximately(Date.parse((yield* getCommand(unmute!)).eta!), lock.lockedUntil, 5)
        near(yield* getCommand(reads[149]!), 0)

        // Running commands hold their slot already: they are not ahead of anyone.
        yield* setRows(mutes.slice(0, 20), "status = 'running'")
        assert.isNull((yield* getCommand(mutes[0]!)).eta)
        near(yield* getCommand(mutes[20]!), 0)
        near(yield* getCommand(mutes[40]!), 62)

        // A stored eta: the budget's answer for waiting_rate_limit, a backoff floor for queued.
        const later = new Date(now + 3_600_000)
        yield* setRows([mutes[41]!], `status = 'waiting_rate_limit', eta = '${later.toISOString()}'`)
        yield* setRows([mutes[42]!], `eta = '${later.toISOString()}'`)
        assert.strictEqual((yield* getCommand(mutes[41]!)).eta, later.toISOString())
        assert.strictEqual((yield* getCommand(mutes[42]!)).eta, later.toISOString())
        yield* setRows([mutes[43]!], "status = 'succeeded', completed_at = now()")
        yield* setRows([mutes[44]!], "status = 'failed', completed_at = now()")
        assert.isNull((yield* getCommand(mutes[43]!)).eta)
        assert.isNull((yield* getCommand(mutes[44]!)).eta)

        // The listing shows the same estimates.
        const listed = yield* listAll("type=mute_chat&status=queued", 1000)
        const byId = new Map(listed.map(v => [v.command_id, v]))
        near(byId.get(mutes[20]!)!, 0)
        near(byId.get(mutes[40]!)!, 62)
        assert.strictEqual(byId.get(mutes[42]!)!.eta, later.toISOString())
      })
    )

    it.effect("GET /v1/commands: newest first, status/type/account filters, keyset cursor over ties", () =>
      Effect.gen(function* () {
        yield* batch(Array.from({ length: 25 }, (_, i) => ({ type: "close_chat", chat_id: `p${i}` })))
        const failed = yield* batch(Array.from({ length: 6 }, (_, i) => ({ type: "close_chat", chat_id: `f${i}` })))
        yield* setRows(failed, `status = 'failed', completed_at = now(), last_error = '{"code":"x","message":"y"}'`)
        for (let i = 0; i < 3; i++) yield* batch([{ type: "leave_chat", chat_id: `s${i}` }])

        const expected = yield* exec(
          (_, sql) => sql<Array<{ id: string; status: string; type: string }>>`
            select id, status, type from commands order by created_at desc, id desc`
        )
        for (const limit of [1, 7, 100]) {
          const all = yield* listAll("", limit)
          assert.deepStrictEqual(
            all.map(v => v.command_id),
            expected.map(r => r.id),
            `limit ${limit}`
          )
        }
        const onlyFailed = yield* listAll("status=failed", 4)
        assert.sameMembers(
          onlyFailed.map(v => v.command_id),
          expected.filter(r => r.status === "failed").map(r => r.id)
        )
        assert.deepStrictEqual(onlyFailed[0]!.last_error, { code: "x", message: "y" })
        const two = yield* listAll("status=failed,succeeded&type=close_chat", 3)
        assert.deepStrictEqual(
          two.map(v => v.command_id),
          expected.filter(r => ["failed", "succeeded"].includes(r.status) && r.type === "close_chat").map(r => r.id)
        )
        assert.deepStrictEqual(yield* listAll("account_id=elsewhere", 10), [])

        const first = (yield* request("/v1/commands?limit=2&status=queued")).body as Page
        assert.isNotNull(first.next_cursor)
        const cases = [
          [
            "/v1/commands?status=done",
            "status",
            "must be a comma-separated list of queued, waiting_rate_limit, waiting_reauth, running, succeeded, failed, cancelled"
          ],
          [
            "/v1/commands?status=",
            "status",
            "must be a comma-separated list of queued, waiting_rate_limit, waiting_reauth, running, succeeded, failed, cancelled"
          ],
          [
            "/v1/commands?type=nap",
            "type",
            "must be a comma-separated list of mark_as_read, mark_as_unread, clear_unread, update_title, update_history_status, clear_local_history, close_chat, add_members, remove_members, create_chat, fork_chat, leave_chat, mute_chat, unmute_chat"
          ],
          ["/v1/commands?limit=0", "limit", "must be an integer between 1 and 1000"],
          ["/v1/commands?limit=1001", "limit", "must be an integer between 1 and 1000"],
          ["/v1/commands?cursor=%2F%2F", "cursor", "malformed cursor; pass next_cursor back unchanged"],
          [
            `/v1/commands?cursor=${Buffer.from('{"v":1}').toString("base64url")}`,
            "cursor",
            "malformed cursor; pass next_cursor back unchanged"
          ],
          [
            `/v1/commands?status=failed&cursor=${first.next_cursor}`,
            "cursor",
            "foreign cursor: it was issued for other filters"
          ]
        ] as const
        for (const [path, field, rule] of cases) {
          const reply = yield* request(path)
          assert.strictEqual(reply.status, 400, path)
          assert.deepStrictEqual(reply.body, invalid(field, rule), path)
        }
      })
    )

    it.scoped("POST /v1/commands/{id}/retry: failed → queued, attempts 0, back in the outbox, event and NOTIFY", () =>
      Effect.gen(function* () {
        const { sql } = yield* Database
        const notified: Array<string> = []
        yield* Effect.acquireRelease(
          Effect.promise(() => sql.listen(OUTBOX_CHANNEL, payload => notified.push(payload))),
          listener => Effect.promise(() => listener.unlisten())
        )
        const [id, done] = yield* batch([
          { type: "close_chat", chat_id: "retry-me" },
          { type: "close_chat", chat_id: "done" }
        ])
        yield* setRows(
          [id!],
          `status = 'failed', attempts = 6, completed_at = now(), enqueued_at = now(), lease_until = now(),
           last_error = '{"code":"chat_access_denied","message":"closeChat: no access"}'`
        )
        yield* setRows([done!], "status = 'succeeded', attempts = 1, completed_at = now(), enqueued_at = now()")
        const before = notified.length

        const reply = yield* send("POST", `/v1/commands/${id}/retry`)
        assert.strictEqual(reply.status, 202, reply.text)
        assert.deepStrictEqual(reply.body, { command_id: id, status: "queued" })
        const [row] = yield* exec(
          (_, s) => s<Array<Record<string, unknown>>>`
            select status, attempts, completed_at, eta, lease_until, enqueued_at, last_error
            from commands where id = ${id!}::uuid`
        )
        assert.deepStrictEqual(row, {
          status: "queued",
          attempts: 0,
          completed_at: null,
          eta: null,
          lease_until: null,
          enqueued_at: null,
          last_error: { code: "chat_access_denied", message: "closeChat: no access" }
        })
        const events = yield* exec(
          (_, s) => s<Array<{ type: string; payload: Record<string, unknown> }>>`
            select type, payload from events where payload->>'command_id' = ${id!} order by seq`
        )
        assert.deepStrictEqual(
          [...events],
          [
            {
              type: "CommandRequested",
              payload: { command_id: id, command_type: "close_chat", params: { chat_id: "retry-me" } }
            },
            {
              type: "CommandRetried",
              payload: {
                command_id: id,
                command_type: "close_chat",
                previous_attempts: 6,
                last_error: { code: "chat_access_denied", message: "closeChat: no access" }
              }
            }
          ]
        )
        yield* Effect.promise(async () => {
          for (let i = 0; i < 100 && notified.length === before; i++) await new Promise(r => setTimeout(r, 20))
        })
        assert.isAbove(notified.length, before)

        for (const target of [id!, done!]) {
          const again = yield* send("POST", `/v1/commands/${target}/retry`)
          assert.strictEqual(again.status, 409)
          const status = target === id ? "queued" : "succeeded"
          assert.deepStrictEqual(again.body, {
            error: {
              code: "not_retryable",
              message: `command ${target} is ${status}; only a failed command can be retried`
            }
          })
        }
        const unknown = randomUUID()
        assert.strictEqual((yield* send("POST", `/v1/commands/${unknown}/retry`)).status, 404)
        const malformed = yield* send("POST", "/v1/commands/nope/retry")
        assert.deepStrictEqual(malformed.body, invalid("command_id", "must be a UUID"))
      })
    )

    it.effect("GET /v1/sync/status counts commands by status", () =>
      Effect.gen(function* () {
        const counts = yield* exec(
          (_, s) =>
            s<Array<{ status: string; n: number }>>`select status, count(*)::int as n from commands group by status`
        )
        const reply = yield* request("/v1/sync/status")
        assert.strictEqual(reply.status, 200, reply.text)
        const queue = (reply.body as { queue: Record<string, number> }).queue
        assert.deepStrictEqual(queue, {
          queued: 0,
          waiting_rate_limit: 0,
          waiting_reauth: 0,
          running: 0,
          succeeded: 0,
          failed: 0,
          cancelled: 0,
          ...Object.fromEntries(counts.map(c => [c.status, c.n]))
        })
        assert.isAbove(queue.queued!, 0)
      })
    )

    it.effect("the OpenAPI document shows the command routes and the request bodies", () =>
      Effect.gen(function* () {
        const doc = (yield* request("/openapi.json", { token: null })).body as {
          paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
          components: { schemas: Record<string, unknown> }
        }
        assert.includeMembers(Object.keys(doc.paths["/v1/commands"]!), ["get", "post"])
        assert.includeMembers(Object.keys(doc.paths["/v1/commands/batch"]!), ["post"])
        assert.includeMembers(Object.keys(doc.paths["/v1/commands/{command_id}"]!), ["get"])
        assert.includeMembers(Object.keys(doc.paths["/v1/commands/{command_id}/retry"]!), ["post"])
        assert.includeMembers(Object.keys(doc.paths["/v1/commands"]!.post!.responses), [
          "200",
          "202",
          "400",
          "401",
          "409"
        ])
        assert.includeMembers(Object.keys(doc.components.schemas), ["CommandRequest", "Command", "CommandPage"])
        const command = doc.components.schemas.Command as {
          properties: Record<string, unknown>
          required: Array<string>
        }
        assert.includeMembers(Object.keys(command.properties), ["batch_id", "superseded_by", "eta"])
        assert.include(command.required, "batch_id")
      })
    )
  }
)
