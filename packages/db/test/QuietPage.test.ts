import { ChatDto, type ObservedFields, observedFields } from "@cliq-mirror/core"
import { Database, MirrorWriter, quietPage } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"

const iso = (ms: number) => new Date(ms).toISOString()

const chat = (id: string, patch: Record<string, unknown> = {}): ObservedFields => {
  const raw: Record<string, unknown> = {
    chat_id: id,
    name: `Chat ${id}`,
    chat_type: "group_chat",
    participant_count: 3,
    created_time: iso(1_700_000_000_000),
    last_modified_time: iso(1_700_000_100_000),
    pinned: false,
    removed: false,
    unread_message_count: 0,
    ...patch
  }
  return observedFields(Schema.decodeUnknownSync(ChatDto)(raw), raw)
}
const observe = (...chats: Array<ObservedFields>) => chats.map(c => ({ raw: c.raw, chat: c }))

const TestLayer = MirrorWriter.Default.pipe(Layer.provideMerge(DatabaseTest))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("quietPage", it => {
  it.effect("a page that changes nothing writes only synced_at and its cursor; any change takes the full write", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      yield* writer.ensureAccount("quiet")
      yield* writer.apply({ accountId: "quiet", observed: observe(chat("1"), chat("2")) })
      const state = () =>
        db.use(async (_, sql) => ({
          events: (
            await sql<Array<{ n: number }>>`select count(*)::int as n from events where account_id = 'quiet'`
          )[0]!.n,
          newest: (
            await sql<Array<{ t: string }>>`select max(synced_at)::text as t from chats where account_id = 'quiet'`
          )[0]!.t,
          cursor: (
            await sql<Array<{ status: string; chats_observed: number }>>`
              select status, chats_observed::int from sync_state where account_id = 'quiet' and stream = 'walk'`
          )[0]
        }))
      const before = yield* state()
      yield* Effect.sleep("5 millis")

      const same = {
        accountId: "quiet",
        observed: observe(chat("1"), chat("2")),
        cursor: { stream: "walk", status: "idle" }
      }
      const quiet = yield* db.use((_, sql) => quietPage(sql, same))
      assert.deepStrictEqual(quiet, { eventsAppended: 0, chatsChanged: 0, chatsObserved: 2 })
      const after = yield* state()
      assert.strictEqual(after.events, before.events)
      const confirmed = yield* db.use(
        (_, sql) =>
          sql`select chat_id from chats where account_id = 'quiet' and synced_at > ${before.newest}::timestamptz`
      )
      assert.strictEqual(confirmed.length, 2, "both chats confirmed")
      assert.deepStrictEqual(after.cursor, { status: "idle", chats_observed: 2 })

      // A flag that is already so changes nothing either.
      const flagged = yield* db.use((_, sql) =>
        quietPage(sql, { accountId: "quiet", flags: [{ flag: "muted", value: false, chatIds: ["1", "2"] }] })
      )
      assert.deepStrictEqual(flagged, { eventsAppended: 0, chatsChanged: 0, chatsObserved: 0 })

      // A change, a new chat, a flag that differs: none is quiet, and nothing was written for them.
      const changed = [
        { accountId: "quiet", observed: observe(chat("1", { name: "Renamed" })) },
        { accountId: "quiet", observed: observe(chat("3")) },
        { accountId: "quiet", flags: [{ flag: "muted" as const, value: true, chatIds: ["2"] }] }
      ]
      for (const page of changed) assert.isUndefined(yield* db.use((_, sql) => quietPage(sql, page)))
      assert.strictEqual((yield* state()).events, before.events)

      // A chat with a rejected item on record needs the full write (which clears the item).
      yield* db.use(
        (_, sql) => sql`insert into rejected_items (account_id, chat_id, raw, path, message)
          values ('quiet', '1', '{}'::jsonb, 'name', 'was bad')`
      )
      assert.isUndefined(
        yield* db.use((_, sql) => quietPage(sql, { accountId: "quiet", observed: observe(chat("1")) }))
      )
      const applied = yield* writer.apply({ accountId: "quiet", observed: observe(chat("1")) })
      assert.strictEqual(applied.eventsAppended, 0)
      const left = yield* db.use((_, sql) => sql`select 1 from rejected_items where account_id = 'quiet'`)
      assert.strictEqual(left.length, 0)
    })
  )

  it.effect("locks its rows in chat id order, as page writes do: no deadlock with a page write of the same chats", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      yield* writer.ensureAccount("order")
      const ids = Array.from({ length: 20 }, (_, i) => `o${String(i).padStart(2, "0")}`)
      // Stored highest id first, so a scan in storage order meets them in the reverse of id order.
      for (const id of [...ids].reverse()) yield* writer.apply({ accountId: "order", observed: observe(chat(id)) })
      const outcome = yield* db.use(async (_, sql) => {
        const writer = await sql.reserve()
        const quiet = await sql.reserve()
        try {
          // The page write's order (ChatsSql.lockChats): the lowest id first, the highest later.
          await writer`begin`
          await writer`select 1 from chats where account_id = 'order' and chat_id = ${ids[0]!} for update`
          await quiet`set enable_indexscan = off`
          await quiet`set enable_bitmapscan = off`
          const pid = (await quiet<Array<{ pid: number }>>`select pg_backend_pid() as pid`)[0]!.pid
          const page = { accountId: "order", observed: observe(...ids.map(id => chat(id))) }
          const written = quietPage(quiet, page).then(
            r => r,
            (e: Error) => e
          )
          for (let i = 0; i < 200; i++) {
            const waiting = await sql`select 1 from pg_stat_activity where pid = ${pid} and wait_event_type = 'Lock'`
            if (waiting.length > 0) break
            await new Promise(resolve => setTimeout(resolve, 10))
          }
          const second = await writer`
            select 1 from chats where account_id = 'order' and chat_id = ${ids.at(-1)!} for update`.then(
            () => "locked",
            (e: Error) => e.message
          )
          await writer`commit`.catch(() => undefined)
          return { second, written: await written }
        } finally {
          await writer`rollback`.catch(() => undefined)
          writer.release()
          quiet.release()
        }
      })
      assert.strictEqual(outcome.second, "locked")
      assert.deepStrictEqual(outcome.written, { eventsAppended: 0, chatsChanged: 0, chatsObserved: ids.length })
    })
  )
})
