import { errorCodeOf } from "@cliq-mirror/core"
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

// Node's socket errors and postgres.js' own connection codes.
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED"
])
// SQLSTATEs: class 08 (connection exception), shutdown and startup (57P01–57P03), too many connections (53300).
const UNAVAILABLE_STATE = /^(08...|57P0[123]|53300)$/

/**
 * True when the database could not be reached or refused to serve (not when a statement failed): a caller can say
 * "try again later" (503) rather than "internal error". Reads the first code along the `cause` chain (drizzle wraps
 * postgres.js' errors; DbError wraps both).
 */
export const isDatabaseUnavailable = (error: unknown): boolean => {
  const code = errorCodeOf(error)
  return code !== undefined && (CONNECTION_CODES.has(code) || UNAVAILABLE_STATE.test(code))
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
