import { randomUUID } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import postgres from "postgres"
import { TestDatabaseUrl, TestDatabaseUrlLive } from "../../../test/support/database.js"
import { Database, makeDatabase } from "../src/Database.js"
import { appendEvents } from "../src/EventAppend.js"
import { EVENTS_APPEND_LOCK, EventsFeed } from "../src/EventsFeed.js"

const DatabaseTest = Layer.scoped(
  Database,
  Effect.flatMap(TestDatabaseUrl, url => makeDatabase({ url: Redacted.make(url) })).pipe(Effect.map(Database.make))
)
const TestLayer = EventsFeed.DefaultWithoutDependencies.pipe(
  Layer.provideMerge(DatabaseTest),
  Layer.provideMerge(TestDatabaseUrlLive)
)

const APPENDERS = 6
const APPENDS_EACH = 15

/** One append through the writer's own path (lock, insert), then slow work before the commit. */
const append = (sql: postgres.Sql, appender: number, n: number) =>
  sql.begin(async tx => {
    await appendEvents(tx, [
      {
        accountId: `acc${appender}`,
        chatId: "c1",
        type: "CommandRequested",
        payload: { command_id: `${appender}:${n}`, command_type: "test", params: { appender, n } },
        occurredAt: null,
        dedupeKey: `${appender}:${n}`
      }
    ])
    await new Promise(resolve => setTimeout(resolve, Math.random() * 8))
  })

layer(TestLayer, { timeout: "2 minutes", excludeTestServices: true })("EventsFeed", it => {
  it.scoped("a reader polling after=next_after sees every committed seq exactly once, in order", () =>
    Effect.gen(function* () {
      const feed = yield* EventsFeed
      const url = yield* TestDatabaseUrl
      // Each appender on its own connection, configured like the daemon's (drizzle adjusts the client's serializers).
      const writers = yield* Effect.forEach(Array.from({ length: APPENDERS }), () =>
        Effect.map(makeDatabase({ url: Redacted.make(url), max: 1 }), d => d.sql)
      )
      let writing = true
      const appenders = Effect.promise(() =>
        Promise.all(
          writers.map(async (sql, appender) => {
            for (let n = 0; n < APPENDS_EACH; n++) await append(sql, appender, n)
          })
        )
      ).pipe(Effect.ensuring(Effect.sync(() => (writing = false))))

      const reader = Effect.gen(function* () {
        const seen: Array<number> = []
        let after = 0
        let polls = 0
        for (;;) {
          // An empty read that started after the last commit means everything committed has been seen.
          const finished = !writing
          const page = yield* feed.read({ after, limit: 4 })
          seen.push(...page.rows.map(r => r.seq))
          after = page.nextAfter
          polls++
          if (page.rows.length > 0) continue
          if (finished) break
          yield* Effect.sleep("1 millis")
        }
        return { seen, polls }
      })

      const [, { seen, polls }] = yield* Effect.all([appenders, reader], { concurrency: "unbounded" })
      const committed = yield* Effect.flatMap(Database, db =>
        db.use(d => d.query.events.findMany({ columns: { seq: true }, orderBy: (e, { asc }) => [asc(e.seq)] }))
      )
      assert.strictEqual(committed.length, APPENDERS * APPENDS_EACH)
      assert.deepStrictEqual(
        seen,
        committed.map(c => c.seq)
      )
      assert.isAbove(polls, APPENDERS)
    })
  )

  it.scoped("an append holds EVENTS_APPEND_LOCK until its transaction ends", () =>
    Effect.gen(function* () {
      const url = yield* TestDatabaseUrl
      const writer = (yield* makeDatabase({ url: Redacted.make(url), max: 1 })).sql
      const observer = (yield* makeDatabase({ url: Redacted.make(url), max: 1 })).sql
      const held = () =>
        observer<Array<{ n: number }>>`
          select count(*)::int as n from pg_locks
          where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())
            and classid = 0 and objid = ${EVENTS_APPEND_LOCK} and objsubid = 1`
      const during = yield* Effect.promise(() =>
        writer.begin(async tx => {
          await appendEvents(tx, [
            {
              accountId: "lock",
              chatId: null,
              type: "CommandRequested",
              payload: { command_id: "probe", command_type: "test", params: null },
              occurredAt: null,
              dedupeKey: "lock-probe"
            }
          ])
          return (await held())[0]!.n
        })
      )
      const after = yield* Effect.promise(() => held())
      assert.strictEqual(during, 1)
      assert.strictEqual(after[0]?.n, 0)
    })
  )

  it.effect("filters by chat and type, pages with next_after, and echoes after when empty", () =>
    Effect.gen(function* () {
      const feed = yield* EventsFeed
      const url = yield* TestDatabaseUrl
      const [{ base }] = yield* Effect.flatMap(Database, db =>
        db.use((_, sql) => sql<[{ base: number }]>`select coalesce(max(seq), 0)::int as base from events`)
      )
      const sql = postgres(url, { max: 1, onnotice: () => {} })
      yield* Effect.promise(async () => {
        for (let i = 0; i < 6; i++) {
          await sql`
            insert into events (event_id, account_id, chat_id, type, payload, dedupe_key)
            values (${randomUUID()}, ${"acc9"}, ${i % 2 === 0 ? "even" : "odd"}, ${i % 3 === 0 ? "ChatPinned" : "ChatUnpinned"}, ${sql.json({ i })}, ${`f${i}`})`
        }
        await sql.end({ timeout: 5 })
      })
      const even = yield* feed.read({ after: base, limit: 10, chatId: "even" })
      assert.deepStrictEqual<unknown>(
        even.rows.map(r => r.payload),
        [{ i: 0 }, { i: 2 }, { i: 4 }]
      )
      assert.strictEqual(even.nextAfter, base + 5)
      const typed = yield* feed.read({ after: base, limit: 1, types: ["ChatPinned"] })
      assert.deepStrictEqual(
        typed.rows.map(r => r.seq),
        [base + 1]
      )
      const next = yield* feed.read({ after: typed.nextAfter, limit: 5, types: ["ChatPinned"] })
      assert.deepStrictEqual(
        next.rows.map(r => r.seq),
        [base + 4]
      )
      const none = yield* feed.read({ after: base + 6, limit: 5 })
      assert.deepStrictEqual(none, { rows: [], nextAfter: base + 6 })
    })
  )
})
