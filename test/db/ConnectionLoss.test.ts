import { Database, isDatabaseUnavailable, makeDatabase } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { testDatabase } from "../support/database.js"

// The patched postgres.js (patches/postgres+*.patch, applied by `npm install`/`npm ci`): without it a statement sent on
// a reserved or transaction connection whose server went away throws from a timer and ends the process, which vitest
// reports as an unhandled error.

const SmallPool = Layer.scoped(
  Database,
  Effect.flatMap(testDatabase, db =>
    Effect.map(makeDatabase({ url: Redacted.make(db.url), max: 2, acquireTimeoutMs: 5_000 }), Database.make)
  )
)

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error
  )

layer(SmallPool, { timeout: "30 seconds" })("a connection whose server process ends", it => {
  it.effect("a reserved one answers every later statement with a connection error, and the pool carries on", () =>
    Effect.gen(function* () {
      const pool = yield* Database
      const outcome = yield* pool.use(async (_, sql) => {
        const conn = await sql.reserve()
        await conn`begin`
        const [backend] = await conn<Array<{ pid: number }>>`select pg_backend_pid() as pid`
        await sql`select pg_terminate_backend(${backend?.pid ?? 0})`
        const first = await failure(conn`select 1`)
        await new Promise(resolve => setTimeout(resolve, 100))
        const errors = [first, await failure(conn`select 2`), await failure(conn`rollback`)]
        conn.release()
        return errors
      })
      assert.lengthOf(outcome, 3)
      for (const error of outcome) assert.isTrue(isDatabaseUnavailable(error), String(error))
      // Both connections serve again, one of them reserved (the gate's permit came back with the release).
      const after = yield* pool.use(async (_, sql) => {
        const conn = await sql.reserve()
        try {
          return await Promise.all([conn`select 1 as n`, sql`select 2 as n`])
        } finally {
          conn.release()
        }
      })
      assert.deepStrictEqual(
        after.map(rows => rows[0]?.n),
        [1, 2]
      )
    })
  )

  it.effect("a transaction fails with a connection error instead of rolling back on the dead connection", () =>
    Effect.gen(function* () {
      const pool = yield* Database
      const error = yield* pool.use((_, sql) =>
        failure(
          sql.begin(async tx => {
            const [backend] = await tx<Array<{ pid: number }>>`select pg_backend_pid() as pid`
            await sql`select pg_terminate_backend(${backend?.pid ?? 0})`
            await new Promise(resolve => setTimeout(resolve, 100))
            await tx`select 1`
          })
        )
      )
      assert.isTrue(isDatabaseUnavailable(error), String(error))
      const rows = yield* pool.use((_, sql) => sql.begin(tx => tx`select 3 as n`))
      assert.strictEqual(rows[0]?.n, 3)
    })
  )
})
