import { Database, DbError, isDatabaseUnavailable, makeDatabase, POOL_TIMEOUT } from "@cliq-mirror/db"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { testDatabase } from "../support/database.js"
import { testConfig } from "../support/layers.js"

describe("the connection pool", () => {
  it.scopedLive("a transaction that finds every connection taken fails with POOL_TIMEOUT; plain statements go on", () =>
    Effect.gen(function* () {
      const db = yield* testDatabase
      const database = yield* makeDatabase({ url: Redacted.make(db.url), max: 3, acquireTimeoutMs: 300 })
      // Two reserved connections take both of the transactions' turns (one connection stays for plain statements).
      const held = yield* Effect.all([1, 2].map(() => database.use((_, sql) => sql.reserve())))
      const blocked = yield* Effect.exit(database.use((_, sql) => sql.begin(tx => tx`select 1`)))
      assert.isTrue(Exit.isFailure(blocked))
      const error = Exit.isFailure(blocked) && blocked.cause._tag === "Fail" ? blocked.cause.error : undefined
      assert.instanceOf(error, DbError)
      assert.isTrue(isDatabaseUnavailable(error))
      assert.include(error!.message, "DATABASE_POOL_SIZE")
      assert.strictEqual((error!.cause as { code?: string }).code, POOL_TIMEOUT)
      const [row] = yield* database.use((_, sql) => sql<Array<{ one: number }>>`select 1 as one`)
      assert.strictEqual(row!.one, 1)

      // Waiters are served in turn as connections come back.
      const waiting = yield* Effect.fork(database.use((_, sql) => sql.begin(tx => tx`select 2 as two`)))
      yield* Effect.sleep("50 millis")
      held[0]!.release()
      const [two] = yield* waiting.await.pipe(Effect.flatten)
      assert.deepStrictEqual({ ...two }, { two: 2 })
      held[1]!.release()
      const reserved = yield* database.use((_, sql) => sql.reserve())
      reserved.release()
    })
  )

  it.scopedLive("DATABASE_POOL_SIZE sets the pool; a bad value names the variable and the rule", () =>
    Effect.gen(function* () {
      const db = yield* testDatabase
      const sized = yield* Effect.provide(
        Database,
        Database.Default.pipe(Layer.provide(testConfig({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: "25" })))
      )
      assert.strictEqual(sized.max, 25)
      const fallback = yield* Effect.provide(
        Database,
        Database.Default.pipe(Layer.provide(testConfig({ DATABASE_URL: db.url })))
      )
      assert.strictEqual(fallback.max, 10)
      for (const bad of ["1", "0", "ten", "501"]) {
        const exit = yield* Effect.exit(
          Effect.provide(
            Database,
            Database.Default.pipe(Layer.provide(testConfig({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: bad })))
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "DATABASE_POOL_SIZE")
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "must be an integer from 2 to 500")
      }
    })
  )
})
