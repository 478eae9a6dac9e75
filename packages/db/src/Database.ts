import { errorCodeOf } from "@cliq-mirror/core"
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js"
import { Config, Data, Effect, Redacted } from "effect"
import postgres from "postgres"
import { DatabasePoolSize, DatabaseUrl, DEFAULT_POOL_SIZE } from "./DatabaseConfig.js"
import * as schema from "./schema.js"

export class DbError extends Data.TaggedError("DbError")<{ readonly cause: unknown }> {
  override get message() {
    return this.cause instanceof Error ? this.cause.message : String(this.cause)
  }
}

/** No pooled connection came free in time for a transaction: the pool is too small for the load (DATABASE_POOL_SIZE). */
export const POOL_TIMEOUT = "POOL_TIMEOUT"

export class PoolTimeoutError extends Error {
  readonly code = POOL_TIMEOUT
  constructor(readonly waitedMs: number) {
    super(`no database connection came free within ${waitedMs} ms (DATABASE_POOL_SIZE)`)
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
  "CONNECTION_DESTROYED",
  POOL_TIMEOUT
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
  /** How long a transaction or a reserved connection may wait for a pooled connection before failing. */
  readonly acquireTimeoutMs?: number
}

export const ACQUIRE_TIMEOUT_MS = 30_000
const CONNECT_TIMEOUT_SECONDS = 10

/** A first-come, first-served count of permits whose waiters give up after `timeoutMs`. */
const makeGate = (permits: number, timeoutMs: number) => {
  let free = permits
  const waiting: Array<() => void> = []
  const acquire = () =>
    new Promise<() => void>((resolve, reject) => {
      let released = false
      const release = () => {
        if (released) return
        released = true
        const next = waiting.shift()
        if (next) next()
        else free++
      }
      if (free > 0) {
        free--
        return resolve(release)
      }
      const grant = () => {
        clearTimeout(timer)
        resolve(release)
      }
      const timer = setTimeout(() => {
        const at = waiting.indexOf(grant)
        if (at >= 0) waiting.splice(at, 1)
        reject(new PoolTimeoutError(timeoutMs))
      }, timeoutMs)
      waiting.push(grant)
    })
  return { acquire }
}

/**
 * Transactions and reserved connections hold a pooled connection to themselves, and postgres.js queues everything
 * else behind them once all are taken, without a deadline. So at most `max - 1` of them run at once, the others wait
 * their turn and fail with POOL_TIMEOUT when it does not come: one connection always stays free for plain statements
 * (pipelined), and no caller waits forever.
 */
const gateExclusive = (sql: Sql, permits: number, timeoutMs: number): void => {
  const gate = makeGate(permits, timeoutMs)
  const begin = sql.begin.bind(sql) as (...args: Array<unknown>) => Promise<unknown>
  const reserve = sql.reserve.bind(sql)
  const gatedBegin = async (...args: Array<unknown>) => {
    const release = await gate.acquire()
    try {
      return await begin(...args)
    } finally {
      release()
    }
  }
  const gatedReserve = async () => {
    const release = await gate.acquire()
    try {
      const conn = await reserve()
      const free = conn.release.bind(conn)
      conn.release = () => {
        release()
        free()
      }
      return conn
    } catch (error) {
      release()
      throw error
    }
  }
  Object.assign(sql, { begin: gatedBegin, reserve: gatedReserve })
}

export const makeDatabase = (options: DatabaseOptions) =>
  Effect.gen(function* () {
    const max = options.max ?? DEFAULT_POOL_SIZE
    const sql = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const sql = postgres(Redacted.value(options.url), {
          max,
          connect_timeout: CONNECT_TIMEOUT_SECONDS,
          onnotice: () => {}
        })
        gateExclusive(sql, Math.max(1, max - 1), options.acquireTimeoutMs ?? ACQUIRE_TIMEOUT_MS)
        return sql
      }),
      sql => Effect.promise(() => sql.end({ timeout: 5 }))
    )
    const db: Db = drizzle(sql, { schema })
    const use = <A>(f: (db: Db, sql: Sql) => Promise<A>): Effect.Effect<A, DbError> =>
      Effect.tryPromise({ try: () => f(db, sql), catch: cause => new DbError({ cause }) })
    const ping = use((_, sql) => sql`select 1`).pipe(Effect.asVoid)
    return { db, sql, use, ping, max } as const
  })

export class Database extends Effect.Service<Database>()("@cliq-mirror/db/Database", {
  scoped: Effect.flatMap(Config.all({ url: DatabaseUrl, max: DatabasePoolSize }), makeDatabase)
}) {}
