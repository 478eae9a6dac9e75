import { BUCKET_IDS, type BucketLock } from "@cliq-mirror/core"
import { gt, lt, sql as raw } from "drizzle-orm"
import { Effect, Schema } from "effect"
import { Database, DbError } from "./Database.js"
import { bucketLocks, budgetStarts } from "./schema.js"

const LockRow = Schema.Struct({
  budgetKey: Schema.String,
  bucket: Schema.Literal(...BUCKET_IDS),
  lockedAt: Schema.DateFromSelf,
  lockedUntil: Schema.DateFromSelf
})

const toLock = (row: typeof LockRow.Type): BucketLock => ({
  key: row.budgetKey,
  bucket: row.bucket,
  lockedAt: row.lockedAt.getTime(),
  lockedUntil: row.lockedUntil.getTime()
})

/**
 * The rate budget's throttle locks kept in PostgreSQL, so that they outlive Redis; and which budgets have run once, so
 * that state missing from Redis can be told apart from a first start.
 */
export class BucketLocksRepo extends Effect.Service<BucketLocksRepo>()("@cliq-mirror/db/BucketLocksRepo", {
  effect: Effect.gen(function* () {
    const database = yield* Database

    /** Keeps the later deadline when the bucket already has one. */
    const record = Effect.fn("BucketLocksRepo.record")(function* (lock: BucketLock) {
      // A deadline rounded down could end a lock early once it is put back: round up.
      const until = new Date(Math.ceil(lock.lockedUntil))
      yield* database.use(db =>
        db
          .insert(bucketLocks)
          .values({ budgetKey: lock.key, bucket: lock.bucket, lockedAt: new Date(lock.lockedAt), lockedUntil: until })
          .onConflictDoUpdate({
            target: [bucketLocks.budgetKey, bucketLocks.bucket],
            set: {
              lockedAt: raw`case when excluded.locked_until > ${bucketLocks.lockedUntil} then excluded.locked_at
                else ${bucketLocks.lockedAt} end`,
              lockedUntil: raw`greatest(${bucketLocks.lockedUntil}, excluded.locked_until)`,
              updatedAt: raw`now()`
            }
          })
      )
    })

    /** Locks whose deadline is after `since` (epoch ms), in deadline order. */
    const activeSince = Effect.fn("BucketLocksRepo.activeSince")(function* (since: number) {
      const rows = yield* database.use(db =>
        db
          .select({
            budgetKey: bucketLocks.budgetKey,
            bucket: bucketLocks.bucket,
            lockedAt: bucketLocks.lockedAt,
            lockedUntil: bucketLocks.lockedUntil
          })
          .from(bucketLocks)
          .where(gt(bucketLocks.lockedUntil, new Date(since)))
          .orderBy(bucketLocks.lockedUntil)
      )
      const decoded = yield* Schema.decodeUnknown(Schema.Array(LockRow))(rows).pipe(
        Effect.mapError(cause => new DbError({ cause }))
      )
      return decoded.map(toLock)
    })

    /** Forgets locks that ended before `before` (epoch ms); returns how many. */
    const prune = Effect.fn("BucketLocksRepo.prune")(function* (before: number) {
      const gone = yield* database.use(db =>
        db
          .delete(bucketLocks)
          .where(lt(bucketLocks.lockedUntil, new Date(before)))
          .returning({ key: bucketLocks.budgetKey })
      )
      return gone.length
    })

    /** True for the first caller ever with this prefix: its budget has never run against this database. */
    const claimFirstStart = Effect.fn("BucketLocksRepo.claimFirstStart")(function* (prefix: string) {
      const inserted = yield* database.use(db =>
        db.insert(budgetStarts).values({ prefix }).onConflictDoNothing().returning({ prefix: budgetStarts.prefix })
      )
      return inserted.length === 1
    })

    return { record, activeSince, prune, claimFirstStart } as const
  })
}) {}
