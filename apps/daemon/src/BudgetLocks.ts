import {
  BUCKET_IDS,
  type BucketLock,
  type BudgetRequest,
  type LockRequest,
  makeAcquire,
  RateBudget,
  type RateBudgetShape,
  RedisPrefix
} from "@cliq-mirror/core"
import { BucketLocksRepo } from "@cliq-mirror/db"
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { CliqClientLive, RateBudgetLive } from "./Infra.js"
import { Upstream } from "./Upstream.js"

// Redis and PostgreSQL clocks may differ a little: read locks that ended shortly before PostgreSQL's now too (putting
// back a lock that already ended does nothing).
const CLOCK_SKEW_MS = 60_000
const PRUNE_AFTER_MS = 24 * 60 * 60_000

/**
 * Often enough that a lock Redis lost is back before the recovery from the loss (one window + margin) ends, however
 * the windows are scaled; at most every 10 s.
 */
export const restoreInterval = (budget: RateBudgetShape): Duration.Duration => {
  const shortest = Math.min(...BUCKET_IDS.map(bucket => budget.buckets[bucket].windowMs)) + budget.marginMs
  return Duration.millis(Math.min(10_000, Math.max(20, Math.floor(shortest / 6))))
}

/**
 * Whether a decision that found the budget's state lost (received at `deniedAt`, this process's clock) still needs the
 * recorded locks put back: only a restore that started after that moment (not within the same millisecond) is known to
 * have written into the Redis that lost them.
 */
export const restoreNeeded = (lastRestoreStart: number | undefined, deniedAt: number): boolean =>
  lastRestoreStart === undefined || lastRestoreStart <= deniedAt

/**
 * The rate budget made durable by PostgreSQL: every throttle lock is recorded there too, and active locks are put back
 * into Redis at start, as soon as a decision finds the budget's state lost (before the caller may be granted anything:
 * the recovery lasts one window + margin), and periodically as a backstop (a lock only ever extends), so a lock
 * outlives a Redis wipe or restart. A budget that has never run against this database declares its first start, so
 * only a real loss waits out a window (docs/architecture.md#budget-recovery).
 */
export const makeDurableBudget = Effect.gen(function* () {
  const base = yield* RateBudget
  const repo = yield* BucketLocksRepo
  const prefix = yield* RedisPrefix

  if (yield* repo.claimFirstStart(`${prefix}budget:`)) yield* base.declareFirstStart

  let lastRestoreStart: number | undefined
  const restoreAll = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    lastRestoreStart = now
    const locks = yield* repo.activeSince(now - CLOCK_SKEW_MS)
    yield* Effect.forEach(locks, lock => base.restoreLock(lock), { discard: true })
    yield* repo.prune(now - PRUNE_AFTER_MS)
  }).pipe(Effect.withSpan("BudgetLocks.restoreAll"))

  yield* restoreAll.pipe(
    Effect.catchAllCause(cause => Effect.logWarning("could not put the recorded bucket locks back into Redis", cause))
  )
  yield* restoreAll.pipe(
    Effect.catchAllCause(cause => Effect.logDebug("bucket locks not restored this round", cause)),
    Effect.repeat(Schedule.spaced(restoreInterval(base))),
    Effect.forkScoped
  )

  // One restore at a time; a decision that found the state lost waits for one that started after it.
  const gate = yield* Effect.makeSemaphore(1)
  const restoreAfterLoss = (deniedAt: number) =>
    gate.withPermits(1)(
      Effect.suspend(() => (restoreNeeded(lastRestoreStart, deniedAt) ? restoreAll : Effect.void)).pipe(
        Effect.catchAllCause(cause =>
          Effect.logWarning("could not put the recorded bucket locks back into Redis", cause)
        )
      )
    )
  const tryAcquire = (request: BudgetRequest) =>
    base
      .tryAcquire(request)
      .pipe(
        Effect.tap(decision =>
          decision._tag === "Denied" && decision.reason === "recovering"
            ? Effect.flatMap(Clock.currentTimeMillis, restoreAfterLoss)
            : Effect.void
        )
      )

  const record = (lock: BucketLock) =>
    repo.record(lock).pipe(Effect.catchAll(error => Effect.logWarning("bucket lock not recorded in PostgreSQL", error)))
  // When Redis cannot take the lock, PostgreSQL still gets it (on this process's clock), to be put back later.
  const recordUnheld = (request: LockRequest) =>
    Effect.flatMap(Clock.currentTimeMillis, now => {
      const lockMs = Math.max(base.buckets[request.bucket].lockMs, request.retryAfterMs ?? 0)
      return record({ key: request.key, bucket: request.bucket, lockedAt: now, lockedUntil: now + lockMs })
    })
  const lock = (request: LockRequest) =>
    base.lock(request).pipe(
      Effect.tap(record),
      Effect.tapError(() => recordUnheld(request))
    )

  return RateBudget.of({ ...base, tryAcquire, ...makeAcquire(tryAcquire), lock })
})

/** The RateBudget every daemon call goes through: Redis, with its locks kept in PostgreSQL as well. */
export const BudgetLocksLive = Layer.scoped(RateBudget, makeDurableBudget).pipe(
  Layer.provide(RateBudgetLive),
  Layer.provide(BucketLocksRepo.Default)
)

/** The daemon's Upstream over the durable budget (needs Database). */
export const DurableUpstreamLive = Upstream.Default.pipe(Layer.provide([BudgetLocksLive, CliqClientLive]))
