import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { apiTestLayer, type ChatInsert, chatRow, exec, insertChats, send } from "../api/harness.js"

const ACCOUNT = "default"

const fixture: Array<ChatInsert> = Array.from({ length: 250 }, (_, i) => {
  const id = `CT_${String(i).padStart(4, "0")}`
  const withMessage = i < 200 || i >= 230
  return chatRow(ACCOUNT, id, {
    name: i < 230 ? `unread ${i}` : `read ${i}`,
    unreadMessageCount: i < 230 ? 1 + (i % 5) : 0,
    lastModifiedTime: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    lastMessageInfo: withMessage ? { message_id: `M_${i}`, sender: "1", time: 1, type: "text" } : null
  })
})

const Seeded = Layer.effectDiscard(insertChats(fixture)).pipe(Layer.provideMerge(apiTestLayer()))

interface Preview {
  readonly dry_run: true
  readonly matched: number
  readonly sample: ReadonlyArray<{ readonly chat_id: string }>
  readonly upstream_calls: number
  readonly eta: string | null
}
interface Accepted {
  readonly batch_id: string
  readonly matched: number
  readonly status: string
  readonly replayed: boolean
}
interface BatchView {
  readonly batch_id: string
  readonly status: string
  readonly counts: Record<string, number>
  readonly progress: number
  readonly eta: string | null
  readonly failures: ReadonlyArray<{ readonly command_id: string }>
}

const commandsOf = (batchId: string) =>
  exec(
    (_, sql) => sql<Array<{ id: string; status: string; chat_id: string; payload: { last_message_id?: string } }>>`
      select id, status, chat_id, payload from commands where batch_id = ${batchId} order by intake_seq`
  )

const setStatus = (ids: ReadonlyArray<string>, status: string) =>
  exec((_, sql) => sql`update commands set status = ${status} where id = any(${[...ids]}::uuid[])`)

layer(Seeded, { timeout: "2 minutes" })("POST /v1/bulk, batches and cancel", it => {
  it.effect("a dry run counts, samples and estimates the calls, and stores nothing", () =>
    Effect.gen(function* () {
      const read = yield* send("POST", "/v1/bulk", { type: "mark_as_read", where: { unread: true }, dry_run: true })
      assert.strictEqual(read.status, 200)
      const preview = read.body as Preview
      // Chats without a last message have nothing to mark read.
      assert.strictEqual(preview.matched, 200)
      assert.strictEqual(preview.upstream_calls, 2)
      assert.lengthOf(preview.sample, 10)
      assert.isNotNull(preview.eta)

      const clear = (yield* send("POST", "/v1/bulk", { type: "clear_unread", where: { unread: true }, dry_run: true }))
        .body as Preview
      assert.strictEqual(clear.matched, 230)
      assert.strictEqual(clear.upstream_calls, 3)

      const mute = (yield* send("POST", "/v1/bulk", {
        type: "mute_chat",
        where: { unread: false, q: "read 24" },
        dry_run: true
      })).body as Preview
      assert.strictEqual(mute.matched, 10)
      assert.strictEqual(mute.upstream_calls, 10)

      const stored = yield* exec((_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from commands`)
      assert.strictEqual(stored[0]!.n, 0)
    })
  )

  it.effect("refuses a bad request with the field it names", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<[unknown, string]> = [
        [{ type: "create_chat", where: {} }, "type"],
        [{ type: "update_history_status", where: {} }, "history_status"],
        [{ type: "mark_as_read", where: { unread: "yes" } }, "where.unread"],
        [{ type: "mark_as_read", where: { unred: true } }, "where.unred"],
        [{ type: "mark_as_read", where: { modified_after: "yesterday" } }, "where.modified_after"],
        [{ type: "mark_as_read", account_id: "nobody" }, "account_id"]
      ]
      for (const [body, field] of cases) {
        const reply = yield* send("POST", "/v1/bulk", body)
        assert.strictEqual(reply.status, 400, JSON.stringify(body))
        assert.strictEqual((reply.body as { error: { field: string } }).error.field, field, JSON.stringify(reply.body))
      }
    })
  )

  // Two clients (or a client's retry after a timeout) sending one new key at once: one batch, the other a replay.
  it.effect("two requests racing with one new idempotency key make one batch; the other answers as its replay", () =>
    Effect.gen(function* () {
      const body = { type: "mark_as_read", where: { unread: true }, idempotency_key: "bulk-race" }
      const answers = yield* Effect.all([send("POST", "/v1/bulk", body), send("POST", "/v1/bulk", body)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(
        answers.map(a => a.status),
        [202, 202]
      )
      const [a, b] = answers.map(a => a.body as Accepted)
      assert.strictEqual(a!.batch_id, b!.batch_id)
      assert.sameMembers([a!.replayed, b!.replayed], [false, true])
      yield* exec((_, sql) => sql`delete from commands where batch_id = ${a!.batch_id}`)
    })
  )

  it.effect("a batch takes every command in at once, idempotent by key; cancel stops what has not started", () =>
    Effect.gen(function* () {
      const body = { type: "mark_as_read", where: { unread: true }, idempotency_key: "bulk-1" }
      const first = yield* send("POST", "/v1/bulk", body)
      assert.strictEqual(first.status, 202)
      const batch = first.body as Accepted
      assert.strictEqual(batch.matched, 200)
      assert.isFalse(batch.replayed)
      const again = (yield* send("POST", "/v1/bulk", body)).body as Accepted
      assert.strictEqual(again.batch_id, batch.batch_id)
      assert.isTrue(again.replayed)
      const other = yield* send("POST", "/v1/bulk", { ...body, where: { unread: false } })
      assert.strictEqual(other.status, 409)
      assert.strictEqual((other.body as { error: { code: string } }).error.code, "idempotency_conflict")

      const rows = yield* commandsOf(batch.batch_id)
      assert.lengthOf(rows, 200)
      for (const r of rows) assert.strictEqual(r.payload.last_message_id, `M_${Number(r.chat_id.slice(3))}`)
      const view = (yield* send("GET", `/v1/batches/${batch.batch_id}`)).body as BatchView
      assert.deepStrictEqual(view.counts, { queued: 200 })
      assert.strictEqual(view.status, "in_progress")
      assert.strictEqual(view.progress, 0)
      assert.isNotNull(view.eta)

      const [running, done, single] = [rows[0]!.id, rows[1]!.id, rows[2]!.id]
      yield* setStatus([running], "running")
      yield* setStatus([done], "succeeded")
      const cancelOne = yield* send("POST", `/v1/commands/${single}/cancel`)
      assert.strictEqual(cancelOne.status, 200)
      assert.strictEqual((cancelOne.body as { status: string }).status, "cancelled")
      const refused = yield* send("POST", `/v1/commands/${running}/cancel`)
      assert.strictEqual(refused.status, 409)
      assert.strictEqual((refused.body as { error: { code: string } }).error.code, "not_cancellable")
      const missing = yield* send("POST", "/v1/commands/00000000-0000-4000-8000-000000000000/cancel")
      assert.strictEqual(missing.status, 404)

      const cancelled = yield* send("POST", `/v1/batches/${batch.batch_id}/cancel`)
      assert.strictEqual(cancelled.status, 200)
      assert.deepStrictEqual(cancelled.body, { batch_id: batch.batch_id, cancelled: 197 })
      const after = (yield* send("GET", `/v1/batches/${batch.batch_id}`)).body as BatchView
      assert.deepStrictEqual(after.counts, { cancelled: 198, running: 1, succeeded: 1 })
      assert.strictEqual(after.status, "in_progress")
      assert.strictEqual(after.progress, 199 / 200)
      const events = yield* exec(
        (_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from events where type = 'CommandCancelled'`
      )
      assert.strictEqual(events[0]!.n, 198)

      const failed = rows.slice(10, 12).map(r => r.id)
      yield* setStatus(failed, "failed")
      const withFailures = (yield* send("GET", `/v1/batches/${batch.batch_id}`)).body as BatchView
      assert.deepStrictEqual(
        withFailures.failures.map(f => f.command_id),
        failed
      )
      const retried = yield* send("POST", `/v1/batches/${batch.batch_id}/retry`)
      assert.deepStrictEqual(retried.body, { batch_id: batch.batch_id, retried: 2 })
      const final = (yield* send("GET", `/v1/batches/${batch.batch_id}`)).body as BatchView
      assert.deepStrictEqual(final.counts, { cancelled: 196, queued: 2, running: 1, succeeded: 1 })
    })
  )

  it.effect("GET /v1/commands filters by batch, type, chat and time", () =>
    Effect.gen(function* () {
      const batch = (yield* send("POST", "/v1/bulk", { type: "close_chat", where: { unread: false, q: "read 24" } }))
        .body as Accepted
      assert.strictEqual(batch.matched, 10)
      const list = (query: string) =>
        Effect.map(send("GET", `/v1/commands?${query}`), r => {
          assert.strictEqual(r.status, 200, r.text)
          return (
            r.body as {
              data: ReadonlyArray<{ command_id: string; chat_id: string; type: string; batch_id: string | null }>
            }
          ).data
        })
      const ofBatch = yield* list(`batch_id=${batch.batch_id}&limit=100`)
      assert.lengthOf(ofBatch, 10)
      assert.isTrue(ofBatch.every(c => c.type === "close_chat"))
      assert.deepStrictEqual(new Set(ofBatch.map(c => c.batch_id)), new Set([batch.batch_id]))
      const one = yield* send("GET", `/v1/commands/${ofBatch[0]!.command_id}`)
      assert.strictEqual((one.body as { batch_id: string | null }).batch_id, batch.batch_id)
      const alone = yield* send("POST", "/v1/commands", { type: "close_chat", chat_id: "CT_0001" })
      const aloneId = (alone.body as { command_id: string }).command_id
      const aloneView = yield* send("GET", `/v1/commands/${aloneId}`)
      assert.strictEqual((aloneView.body as { batch_id: string | null }).batch_id, null)
      assert.lengthOf(yield* list(`batch_id=${batch.batch_id}&type=mute_chat`), 0)
      assert.lengthOf(yield* list(`batch_id=${batch.batch_id}&type=close_chat`), 10)
      const onChat = yield* list("chat_id=CT_0240&limit=100")
      assert.deepStrictEqual(
        onChat.map(c => c.type),
        ["close_chat"]
      )
      const now = Date.now()
      assert.lengthOf(yield* list(`batch_id=${batch.batch_id}&created_after=${now + 60_000}`), 0)
      assert.lengthOf(yield* list(`batch_id=${batch.batch_id}&created_before=${now + 60_000}`), 10)
      assert.lengthOf(yield* list(`batch_id=${batch.batch_id}&created_before=${now - 3_600_000}`), 0)
      const paged = yield* send("GET", `/v1/commands?batch_id=${batch.batch_id}&limit=4`)
      const cursor = (paged.body as { next_cursor: string }).next_cursor
      const foreign = yield* send("GET", `/v1/commands?limit=4&cursor=${encodeURIComponent(cursor)}`)
      assert.strictEqual(foreign.status, 400)
      const bad = yield* send("GET", "/v1/commands?batch_id=nope")
      assert.strictEqual(bad.status, 400)
      assert.strictEqual((bad.body as { error: { field: string } }).error.field, "batch_id")
    })
  )

  it.effect("an unknown batch is a 404, a malformed id a 400", () =>
    Effect.gen(function* () {
      for (const path of ["", "/cancel", "/retry"]) {
        const method = path === "" ? "GET" : "POST"
        const missing = yield* send(method, `/v1/batches/00000000-0000-4000-8000-000000000000${path}`)
        assert.strictEqual(missing.status, 404)
        const bad = yield* send(method, `/v1/batches/nope${path}`)
        assert.strictEqual(bad.status, 400)
      }
    })
  )

  it.effect("more than 100,000 chats is refused, naming where", () =>
    Effect.gen(function* () {
      const count = exec((_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from batches`)
      const before = (yield* count)[0]!.n
      yield* exec(
        (_, sql) => sql`
          insert into chats (account_id, chat_id, name, chat_type, raw)
          select ${ACCOUNT}, 'HUGE_' || g, 'huge ' || g, 'bot', '{}'::jsonb from generate_series(1, 100001) g`
      )
      for (const dry_run of [true, false]) {
        const reply = yield* send("POST", "/v1/bulk", { type: "mute_chat", where: { q: "huge" }, dry_run })
        assert.strictEqual(reply.status, 400)
        const error = (reply.body as { error: { field: string; message: string } }).error
        assert.strictEqual(error.field, "where")
        assert.include(error.message, "100000")
      }
      assert.strictEqual((yield* count)[0]!.n, before)
    })
  )
})
