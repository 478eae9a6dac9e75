import { ChatDto, type ObservedFields, observedFields } from "@cliq-mirror/core"
import { Database, EVENTS_APPEND_LOCK, MirrorWriter, replayProjections } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer, Schedule, Schema } from "effect"
import type postgres from "postgres"
import { DatabaseTest } from "../../../test/support/layers.js"

const iso = (ms: number) => new Date(ms).toISOString()

/** An observation as the daemon makes one: the upstream object (an unknown key included) and what it decodes to. */
const chat = (id: string, patch: Record<string, unknown> = {}): ObservedFields => {
  const raw: Record<string, unknown> = {
    chat_id: id,
    name: `Chat ${id}`,
    chat_type: "group_chat",
    participant_count: 3,
    creator: { id: "70027934", name: "Tim" },
    created_time: iso(1_700_000_000_000),
    last_modified_time: iso(1_700_000_100_000),
    pinned: false,
    removed: false,
    unread_message_count: 1,
    unread_time: iso(1_700_000_050_000),
    last_message_info: { message_id: "1700000050000_1", time: iso(1_700_000_050_000) },
    unknown_upstream_field: "kept",
    ...patch
  }
  return observedFields(Schema.decodeUnknownSync(ChatDto)(raw), raw)
}

const observe = (...chats: Array<ObservedFields>) => chats.map(c => ({ raw: c.raw, chat: c }))

const eventTypes = Effect.flatMap(Database, db =>
  db.use((_, sql) => sql<Array<{ type: string; chat_id: string }>>`select type, chat_id from events order by seq`)
)

const TestLayer = MirrorWriter.Default.pipe(Layer.provideMerge(DatabaseTest))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("MirrorWriter", it => {
  it.effect(
    "discovers, ignores repeats, records changes, keeps raw, and moves the cursor in the same transaction",
    () =>
      Effect.gen(function* () {
        const writer = yield* MirrorWriter
        const db = yield* Database
        yield* writer.ensureAccount("acc")
        const first = yield* writer.apply({
          accountId: "acc",
          observed: observe(chat("1"), chat("2")),
          cursor: { stream: "incremental", highWaterMs: 1_700_000_100_000, boundaryIds: ["1", "2"] }
        })
        assert.deepStrictEqual(first, { eventsAppended: 2, chatsChanged: 2, chatsObserved: 2 })
        const again = yield* writer.apply({ accountId: "acc", observed: observe(chat("1"), chat("2")) })
        assert.strictEqual(again.eventsAppended, 0)
        const renamed = yield* writer.apply({
          accountId: "acc",
          observed: observe(chat("1", { name: "Renamed", last_modified_time: iso(1_700_000_200_000) }))
        })
        assert.strictEqual(renamed.eventsAppended, 1)
        yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["2", "unknown"] }] })
        const types = yield* eventTypes
        assert.deepStrictEqual(
          types.map(t => `${t.type}:${t.chat_id}`),
          ["ChatDiscovered:1", "ChatDiscovered:2", "ChatRenamed:1", "ChatMuted:2"]
        )
        const rows = yield* db.use(
          (_, sql) => sql`select chat_id, name, muted, raw, last_seq from chats order by chat_id`
        )
        assert.strictEqual(rows[0]!.name, "Renamed")
        assert.strictEqual(rows[1]!.muted, true)
        assert.deepStrictEqual(
          rows[0]!.raw,
          chat("1", { name: "Renamed", last_modified_time: iso(1_700_000_200_000) }).raw
        )
        const discovered = yield* db.use(
          (_, sql) => sql`select payload from events where type = 'ChatDiscovered' and chat_id = '2'`
        )
        // The upstream object is stored once; the chat's fields are what it decodes to.
        assert.deepStrictEqual(discovered[0]!.payload, {
          last_modified_time: iso(1_700_000_100_000),
          raw: chat("2").raw
        })
        const cursor = yield* db.use(
          (_, sql) => sql`select high_water_ms, boundary_ids from sync_state where account_id = 'acc'`
        )
        assert.strictEqual(Number(cursor[0]!.high_water_ms), 1_700_000_100_000)
        assert.deepStrictEqual(cursor[0]!.boundary_ids, ["1", "2"])
      })
  )

  it.effect("a failed transaction leaves neither events, rows nor cursor behind", () =>
    Effect.gen(function* () {
      const db = yield* Database
      const writer = yield* MirrorWriter
      const before = yield* eventTypes
      const failed = yield* writer
        .apply({
          accountId: "acc",
          // PostgreSQL text cannot hold NUL: the statements after the cursor write fail, the cursor must go too
          observed: observe(chat("3", { name: "bad\u0000name" })),
          cursor: { stream: "failing", highWaterMs: 1 }
        })
        .pipe(Effect.flip)
      assert.strictEqual(failed._tag, "DbError")
      const after = yield* eventTypes
      assert.strictEqual(after.length, before.length)
      const row = yield* db.use((_, sql) => sql`select 1 from chats where chat_id = '3'`)
      assert.strictEqual(row.length, 0)
      const cursor = yield* db.use((_, sql) => sql`select 1 from sync_state where stream = 'failing'`)
      assert.strictEqual(cursor.length, 0)
    })
  )

  it.effect("pages written in order commit in order; the page behind one that fails rolls back with it", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      const pages = yield* writer.inOrder
      const page = (id: string, name: string, highWaterMs: number) => ({
        accountId: "acc",
        observed: observe(chat(id, { name })),
        cursor: { stream: "ordered", highWaterMs }
      })
      yield* pages.write(page("10", "ten", 10))
      yield* pages.write(page("11", "bad\u0000name", 11))
      const third = yield* pages.write(page("12", "twelve", 12)).pipe(Effect.flip)
      assert.strictEqual(third._tag, "DbError")
      const rows = yield* db.use(
        (_, sql) => sql`select chat_id from chats where chat_id in ('10', '11', '12') order by chat_id`
      )
      assert.deepStrictEqual(
        rows.map(r => r.chat_id),
        ["10"]
      )
      const cursor = yield* db.use((_, sql) => sql`select high_water_ms from sync_state where stream = 'ordered'`)
      assert.strictEqual(Number(cursor[0]!.high_water_ms), 10)
      const held = yield* db.use(
        (_, sql) => sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and granted
          and database = (select oid from pg_database where datname = current_database())`
      )
      assert.strictEqual(held[0]!.n, 0)
    })
  )

  it.effect(
    "a chat on two consecutive pages is diffed against the first page's commit, the rest of the page before it",
    () =>
      Effect.gen(function* () {
        const writer = yield* MirrorWriter
        const db = yield* Database
        const pages = yield* writer.inOrder
        const later = { pinned: true, last_modified_time: iso(1_700_000_500_000) }
        yield* pages.write({
          accountId: "acc",
          observed: observe(chat("s"), chat("p1")),
          cursor: { stream: "overlap", highWaterMs: 1 }
        })
        yield* pages.write({
          accountId: "acc",
          observed: observe(chat("s", later), chat("p2")),
          flags: [{ flag: "muted", value: true, chatIds: ["s", "p2"] }],
          cursor: { stream: "overlap", highWaterMs: 2 }
        })
        yield* pages.write({
          accountId: "acc",
          observed: observe(chat("s", later), chat("p3")),
          cursor: { stream: "overlap", highWaterMs: 3 }
        })
        yield* pages.flush
        const events = yield* db.use(
          (_, sql) => sql<Array<{ seq: string; chat_id: string; type: string }>>`
          select seq, chat_id, type from events where chat_id in ('s', 'p1', 'p2', 'p3') order by seq`
        )
        const of = (id: string) => events.filter(e => e.chat_id === id).map(e => e.type)
        assert.deepStrictEqual(of("s"), ["ChatDiscovered", "ChatPinned", "ChatMuted"])
        assert.deepStrictEqual(of("p2"), ["ChatDiscovered", "ChatMuted"])
        assert.deepStrictEqual(of("p3"), ["ChatDiscovered"])
        const row = yield* db.use(
          (_, sql) => sql`select pinned, muted, last_seq from chats where account_id = 'acc' and chat_id = 's'`
        )
        assert.deepStrictEqual(
          { pinned: row[0]!.pinned, muted: row[0]!.muted, lastSeq: String(row[0]!.last_seq) },
          { pinned: true, muted: true, lastSeq: events.filter(e => e.chat_id === "s").at(-1)!.seq }
        )
        const state = yield* db.use(
          (_, sql) =>
            sql`select high_water_ms, chats_observed, events_appended from sync_state where stream = 'overlap'`
        )
        assert.deepStrictEqual(
          [Number(state[0]!.high_water_ms), Number(state[0]!.chats_observed), Number(state[0]!.events_appended)],
          [3, 6, events.length]
        )
        const check = yield* db.use((_, sql) => replayProjections(sql, { write: false }))
        assert.deepStrictEqual(check.differences, [])
      })
  )

  it.effect(
    "the next page locks its chats while the page before waits to commit, unless it shares a changed chat",
    () =>
      Effect.gen(function* () {
        const writer = yield* MirrorWriter
        const db = yield* Database
        // Hold the event append lock so that a page's commit waits.
        const hold = db.use(async (_, sql) => {
          const conn = await sql.reserve()
          await conn`begin`
          await conn`select pg_advisory_xact_lock(${EVENTS_APPEND_LOCK})`
          return conn
        })
        const releaseOf = (holder: postgres.ReservedSql) =>
          db.use(() => holder`rollback`.finally(() => holder.release())).pipe(Effect.orDie)
        const locked = (id: string) =>
          db
            .use(
              (_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from pg_locks where locktype = 'advisory'
              and granted and classid = 727274004 and objid::bigint = (hashtext(${`acc:${id}`})::bigint & 4294967295)`
            )
            .pipe(Effect.map(rows => rows[0]!.n === 1))
        const waitLocked = (id: string) =>
          locked(id).pipe(
            Effect.filterOrFail(yes => yes),
            Effect.retry(Schedule.spaced("20 millis")),
            Effect.timeout("5 seconds"),
            Effect.either
          )

        // The same observation of a shared chat is a repeat, left out: nothing shared, z2 is locked at once.
        const pages = yield* writer.inOrder
        let holder = yield* hold
        yield* pages
          .write({ accountId: "acc", observed: observe(chat("a0"), chat("z1")) })
          .pipe(Effect.onError(() => releaseOf(holder)))
        const second = yield* Effect.fork(pages.write({ accountId: "acc", observed: observe(chat("a0"), chat("z2")) }))
        const held = yield* waitLocked("z2").pipe(Effect.ensuring(releaseOf(holder)))
        assert.strictEqual(held._tag, "Right", "z2 was not locked while the page before it waited to commit")
        yield* Fiber.join(second)
        yield* pages.flush

        // A shared chat observed otherwise: the page waits for that commit, then locks all its chats in one statement
        // (locking z3 first and a0 after the commit would break the one order every writer locks in).
        holder = yield* hold
        yield* pages
          .write({ accountId: "acc", observed: observe(chat("a0"), chat("z1", { pinned: true })) })
          .pipe(Effect.onError(() => releaseOf(holder)))
        const third = yield* Effect.fork(
          pages.write({ accountId: "acc", observed: observe(chat("a0", { pinned: true }), chat("z3")) })
        )
        yield* Effect.sleep("300 millis")
        const early = yield* locked("z3").pipe(Effect.ensuring(releaseOf(holder)))
        assert.isFalse(early, "z3 was locked before the page sharing a0 had committed")
        yield* Fiber.join(third)
        yield* pages.flush
        const events = yield* db.use(
          (_, sql) => sql<Array<{ type: string }>>`select type from events where chat_id = 'a0' order by seq`
        )
        assert.deepStrictEqual(
          events.map(e => e.type),
          ["ChatDiscovered", "ChatPinned"]
        )
      })
  )

  it.effect("two writers observing the same change concurrently append it once", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const change = observe(chat("1", { name: "Concurrent", last_modified_time: iso(1_700_000_300_000) }))
      const results = yield* Effect.all(
        Array.from({ length: 6 }, () => writer.apply({ accountId: "acc", observed: change })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(
        results.reduce((n, r) => n + r.eventsAppended, 0),
        1
      )
      const types = yield* eventTypes
      assert.strictEqual(types.filter(t => t.type === "ChatRenamed").length, 2)
    })
  )

  it.effect("writers discovering the same new chat at once record it once, and the log replays to the row", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      const versions = Array.from({ length: 6 }, (_, i) =>
        observe(chat("fresh", { name: `version ${i}`, last_modified_time: iso(1_700_000_400_000 + i) }))
      )
      yield* Effect.all(
        versions.map(observed => writer.apply({ accountId: "acc", observed })),
        { concurrency: "unbounded" }
      )
      const discovered = yield* db.use(
        (_, sql) => sql`select count(*)::int as n from events where chat_id = 'fresh' and type = 'ChatDiscovered'`
      )
      assert.strictEqual(discovered[0]!.n, 1)
      const report = yield* db.use((_, sql) => replayProjections(sql, { write: false }))
      assert.deepStrictEqual(report.differences, [])
    })
  )

  it.effect("replay rebuilds the projection from the log alone, raw objects included", () =>
    Effect.gen(function* () {
      const db = yield* Database
      const live = yield* db.use((_, sql) => sql`select chat_id, name, raw, last_seq from chats order by chat_id`)
      const rebuilt = yield* db.use((_, sql) => replayProjections(sql, { write: true }))
      assert.strictEqual(rebuilt.chats, live.length)
      const after = yield* db.use((_, sql) => sql`select chat_id, name, raw, last_seq from chats order by chat_id`)
      assert.deepStrictEqual(after, live)
      const check = yield* db.use((_, sql) => replayProjections(sql, { write: false }))
      assert.deepStrictEqual(check.differences, [])
    })
  )

  // A state listing's observations wait for the flag's settlement, a reconciliation page for its turn: a page fetched
  // before an incremental poll can commit after it. Its older observation must not take the chat back.
  it.effect("an observation older than the one committed changes nothing when it commits last", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      const old = chat("older-1", { last_modified_time: iso(1_700_000_100_000), unread_message_count: 0 })
      const fresh = chat("older-1", {
        last_modified_time: iso(1_700_000_200_000),
        unread_message_count: 4,
        name: "New"
      })
      yield* writer.apply({ accountId: "older", observed: observe(old) })
      yield* writer.apply({ accountId: "older", observed: observe(fresh) })
      yield* writer.apply({
        accountId: "older",
        observed: observe(old),
        flags: [{ flag: "joined", value: true, chatIds: ["older-1"] }]
      })
      const [row] = yield* db.use(
        (_, sql) => sql`select name, unread_message_count from chats where account_id = 'older'`
      )
      assert.deepStrictEqual({ ...row }, { name: "New", unread_message_count: 4 })
      const types = yield* db.use(
        (_, sql) => sql<Array<{ type: string }>>`select type from events where account_id = 'older' order by seq`
      )
      assert.deepStrictEqual(
        types.map(t => t.type),
        ["ChatDiscovered", "ChatRenamed", "UnreadCountChanged", "ChatJoinedChanged"]
      )
      const check = yield* db.use((_, sql) => replayProjections(sql, { write: false }))
      assert.deepStrictEqual(check.differences, [])
    })
  )

  // Reconciliation probes chats no listing showed since it began (`unconfirmedSince`): a row changed by a flag, a
  // command's effect or a member list used to count as seen, so a chat removed upstream was found a cycle late.
  it.effect("synced_at moves with observations only, not with flags, derived changes or member lists", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const db = yield* Database
      const syncedAt = Effect.map(
        db.use((_, sql) => sql<Array<{ t: string }>>`select synced_at::text as t from chats where account_id = 'seen'`),
        rows => rows[0]!.t
      )
      yield* writer.apply({ accountId: "seen", observed: observe(chat("seen-1")) })
      const observedAt = yield* syncedAt
      yield* Effect.sleep("20 millis")
      yield* writer.apply({ accountId: "seen", flags: [{ flag: "muted", value: true, chatIds: ["seen-1"] }] })
      yield* writer.apply({
        accountId: "seen",
        derive: [{ chatId: "seen-1", derive: () => ({ type: "ChatPinned", payload: { last_modified_time: null } }) }]
      })
      yield* writer.apply({
        accountId: "seen",
        members: [{ chatId: "seen-1", members: [{ user_id: "u1", name: null, email_id: null }], fetchedAt: new Date() }]
      })
      const types = yield* db.use(
        (_, sql) => sql<Array<{ type: string }>>`select type from events where account_id = 'seen' order by seq`
      )
      assert.deepStrictEqual(
        types.map(t => t.type),
        ["ChatDiscovered", "ChatMuted", "ChatPinned", "MembersChanged"]
      )
      assert.strictEqual(yield* syncedAt, observedAt)
      yield* Effect.sleep("20 millis")
      yield* writer.apply({ accountId: "seen", observed: observe(chat("seen-1", { name: "Listed" })) })
      assert.notStrictEqual(yield* syncedAt, observedAt)
    })
  )
})
