import { Database, DbError } from "@cliq-mirror/db"
import { Duration, Effect, Schedule } from "effect"

/** Namespace of the per-account poller leases among the project's advisory locks. */
const LEASE_NAMESPACE = 727_274_003

/**
 * One process polls an account at a time: a session advisory lock held on a reserved connection for as long as the
 * scope lives. If the connection dies PostgreSQL frees the lock; the heartbeat then fails the scope so the holder
 * stops and competes for the lease again.
 */
export const acquireLease = (accountId: string, retryEvery: Duration.DurationInput) =>
  Effect.gen(function* () {
    const { sql } = yield* Database
    const reserved = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => sql.reserve(), catch: cause => new DbError({ cause }) }),
      conn => Effect.promise(async () => conn.release())
    )
    const tryLock = Effect.tryPromise({
      try: async () => {
        const [row] = await reserved`select pg_try_advisory_lock(${LEASE_NAMESPACE}, hashtext(${accountId})) as ok`
        return row?.ok === true
      },
      catch: cause => new DbError({ cause })
    })
    while (!(yield* tryLock)) {
      yield* Effect.logDebug("account lease held by another process; waiting", { accountId })
      yield* Effect.sleep(retryEvery)
    }
    yield* Effect.addFinalizer(() =>
      Effect.tryPromise(() => reserved`select pg_advisory_unlock(${LEASE_NAMESPACE}, hashtext(${accountId}))`).pipe(
        Effect.ignore
      )
    )
    yield* Effect.logInfo("account lease acquired", { accountId })
    const heartbeat = Effect.tryPromise({
      try: () => reserved`select 1`,
      catch: cause => new DbError({ cause })
    }).pipe(Effect.repeat(Schedule.spaced(Duration.seconds(15))))
    return { heartbeat } as const
  })
