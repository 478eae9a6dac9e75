import { randomUUID } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import postgres from "postgres"
import { TestDatabaseUrl, TestDatabaseUrlLive } from "../../../test/support/database.js"
import { Database, makeDatabase } from "../src/Database.js"
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

/** One append the way the writer does it: lock, insert, (slow work), commit. */
const append = (sql: postgres.Sql, appender: number, n: number) =>
  sql.begin(async tx => {
    await tx`select pg_advisory_xact_lock(${EVENTS_APPEND_LOCK})`
    await tx`
      insert into events (event_id, account_id, chat_id, type, payload, dedupe_key)
      values (${randomUUID()}, ${`acc${appender}`}, ${"c1"}, ${"test.appended"}, ${sql.json({ appender, n })}, ${`${appender}:${n}`})`
    await new Promise(resolve => setTimeout(resolve, Math.random() * 8))
  })

layer(TestLayer, { timeout: "2 minutes", excludeTestServices: true })("EventsFeed", it => {
  it.scoped("a reader polling after=next_after sees every committed seq exactly once, in order", () =>
    Effect.gen(function* () {
      const feed = yield* EventsFeed
      const url = yield* TestDatabaseUrl
      const writers = yield* Effect.acquireRelease(
        Effect.sync(() => Array.from({ length: APPENDERS }, () => postgres(url, { max: 1, onnotice: () => {} }))),
        clients => Effect.promise(() => Promise.all(clients.map(c => c.end({ timeout: 5 }))))
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

  it.effect("filters by chat and type, pages with next_after, and echoes after when empty", () =>
    Effect.gen(function* () {
      const feed = yield* EventsFeed
      const url = yield* TestDatabaseUrl
      const sql = postgres(url, { max: 1, onnotice: () => {} })
      yield* Effect.promise(async () => {
        for (let i = 0; i < 6; i++) {
          await sql`
            insert into events (event_id, account_id, chat_id, type, payload, dedupe_key)
            values (${randomUUID()}, ${"acc9"}, ${i % 2 === 0 ? "even" : "odd"}, ${i % 3 === 0 ? "x" : "y"}, ${sql.json({ i })}, ${`f${i}`})`
        }
        await sql.end({ timeout: 5 })
      })
      const base = APPENDERS * APPENDS_EACH
      const even = yield* feed.read({ after: base, limit: 10, chatId: "even" })
      assert.deepStrictEqual(
        even.rows.map(r => r.payload),
        [{ i: 0 }, { i: 2 }, { i: 4 }]
      )
      assert.strictEqual(even.nextAfter, base + 5)
      const typed = yield* feed.read({ after: base, limit: 1, types: ["x"] })
      assert.deepStrictEqual(
        typed.rows.map(r => r.seq),
        [base + 1]
      )
      const next = yield* feed.read({ after: typed.nextAfter, limit: 5, types: ["x"] })
      assert.deepStrictEqual(
        next.rows.map(r => r.seq),
        [base + 4]
      )
      const none = yield* feed.read({ after: base + 6, limit: 5 })
      assert.deepStrictEqual(none, { rows: [], nextAfter: base + 6 })
    })
  )
})
