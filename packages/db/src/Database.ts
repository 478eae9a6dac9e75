import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js"
import { Data, Effect, Redacted } from "effect"
import postgres from "postgres"
import { DatabaseUrl } from "./DatabaseConfig.js"
import * as schema from "./schema.js"

export class DbError extends Data.TaggedError("DbError")<{ readonly cause: unknown }> {
  override get message() {
    return this.cause instanceof Error ? this.cause.message : String(this.cause)
  }
}

export type Db = PostgresJsDatabase<typeof schema>
export type Sql = postgres.Sql

export interface DatabaseOptions {
  readonly url: Redacted.Redacted<string>
  readonly max?: number
}

export const makeDatabase = (options: DatabaseOptions) =>
  Effect.gen(function* () {
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() =>
        postgres(Redacted.value(options.url), {
          max: options.max ?? 10,
          onnotice: () => {}
        })
      ),
      sql => Effect.promise(() => sql.end({ timeout: 5 }))
    )
    const db: Db = drizzle(sql, { schema })
    const use = <A>(f: (db: Db, sql: Sql) => Promise<A>): Effect.Effect<A, DbError> =>
      Effect.tryPromise({ try: () => f(db, sql), catch: cause => new DbError({ cause }) })
    const ping = use((_, sql) => sql`select 1`).pipe(Effect.asVoid)
    return { db, sql, use, ping } as const
  })

export class Database extends Effect.Service<Database>()("@cliq-mirror/db/Database", {
  scoped: Effect.flatMap(DatabaseUrl, url => makeDatabase({ url }))
}) {}
