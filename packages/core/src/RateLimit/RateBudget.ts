import { Context, Data, Duration, Effect } from "effect"
import { BUCKETS, type BucketId, type BucketTable } from "../Cliq/Buckets.js"

export class RateBudgetError extends Data.TaggedError("RateBudgetError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface BudgetTarget {
  /** From `budgetKey`: who the upstream counts the bucket against (a user or an OAuth client). */
  readonly key: string
  readonly bucket: BucketId
}

export interface BudgetRequest extends BudgetTarget {
  /** A share declared for this bucket in the layer's `ShareTable`; without one the caller is unreserved. */
  readonly share?: string
  /** Upstream calls this slot stands for (default 1). */
  readonly cost?: number
}

export class Granted extends Data.TaggedClass("Granted")<{
  readonly key: string
  readonly bucket: BucketId
  readonly share: string | undefined
  readonly cost: number
  readonly slotId: string
  /** Epoch ms (µs precision) of the decision, on the budget's clock (Redis `TIME`). */
  readonly at: number
}> {}

/** "recovering": the budget's state was lost (Redis wiped or restarted empty), every bucket waits out one window. */
export type DenialReason = "window_full" | "locked" | "share_exhausted" | "recovering"

export class Denied extends Data.TaggedClass("Denied")<{
  readonly key: string
  readonly bucket: BucketId
  readonly share: string | undefined
  readonly reason: DenialReason
  /** Epoch ms at which the same request would be granted if nobody else takes the slot: lock end or slot expiry. */
  readonly retryAt: number
  /** Epoch ms of the decision on the budget's clock; wait `retryAt - now`, never `retryAt - Date.now()`. */
  readonly now: number
}> {}

export type BudgetDecision = Granted | Denied

export interface LockRequest extends BudgetTarget {
  /** A `Retry-After` sent with the throttle response: honoured only when longer than the bucket's lock period. */
  readonly retryAfterMs?: number
}

/** A lock known from elsewhere (PostgreSQL) to put back into the budget: `lockedUntil` is epoch ms. */
export interface RestoreLockRequest extends BudgetTarget {
  readonly lockedUntil: number
}

export interface BucketLock {
  readonly key: string
  readonly bucket: BucketId
  readonly lockedAt: number
  readonly lockedUntil: number
}

export interface BudgetUsage {
  readonly key: string
  readonly bucket: BucketId
  readonly threshold: number
  readonly windowMs: number
  readonly marginMs: number
  /** Calls sent in the last `windowMs`, what the upstream sees. */
  readonly usedInWindow: number
  /** Calls still counted by admission (last `windowMs + marginMs`), per share; unreserved callers under "". */
  readonly counted: number
  readonly byShare: Readonly<Record<string, number>>
  readonly lockedUntil: number | null
  /** While the budget recovers from lost state, nothing is granted on this bucket before this epoch ms. */
  readonly recoveringUntil: number | null
  readonly now: number
}

export interface AcquireOptions {
  readonly pause?: (wait: Effect.Effect<void>) => Effect.Effect<void>
}

export interface RateBudgetShape {
  /** The scaled table in force (windows and locks multiplied by the time scale). */
  readonly buckets: BucketTable
  readonly marginMs: number
  /** One atomic decision: grant a slot now, or say why not and when to come back. */
  readonly tryAcquire: (request: BudgetRequest) => Effect.Effect<BudgetDecision, RateBudgetError>
  /**
   * Sleeps until `retryAt` after each denial (no polling in between) until granted; interruptible. `pause`, when
   * given, wraps each sleep (the daemon's sync passes give up their turn while they wait: Sync/PassGate.ts).
   */
  readonly acquire: (request: BudgetRequest, options?: AcquireOptions) => Effect.Effect<Granted, RateBudgetError>
  /** As `acquire`, but returns the denial at once when the slot would come later than `maxWait` from the first try. */
  readonly acquireWithin: (
    request: BudgetRequest,
    maxWait: Duration.DurationInput
  ) => Effect.Effect<BudgetDecision, RateBudgetError>
  /** Gives back a slot whose call was never sent. A sent call stays counted even if it failed: upstream counts arrivals. */
  readonly refund: (grant: Granted) => Effect.Effect<void, RateBudgetError>
  /**
   * The call of this grant has ended (answered, failed or cancelled): its slot is counted from now on, a time no earlier
   * than its arrival upstream, instead of from the grant. A call that left late (a cold connection, a stalled event
   * loop, work done between grant and send) then cannot slide the window under the upstream's.
   */
  readonly settle: (grant: Granted) => Effect.Effect<void, RateBudgetError>
  /** After a throttle response: nothing is granted for this key and bucket until the lock period has passed. */
  readonly lock: (request: LockRequest) => Effect.Effect<BucketLock, RateBudgetError>
  /**
   * Puts back a lock the budget may have lost (kept in PostgreSQL by the daemon): extends the bucket's lock to
   * `lockedUntil`, never shortens it; a deadline already past does nothing. Returns the lock in force, if any.
   */
  readonly restoreLock: (request: RestoreLockRequest) => Effect.Effect<BucketLock | null, RateBudgetError>
  /**
   * The caller knows from its own records (PostgreSQL) that this budget has never run: state missing now is a first
   * start, not a loss, and nothing waits for it. Does nothing once the state exists.
   */
  readonly declareFirstStart: Effect.Effect<void, RateBudgetError>
  readonly usage: (target: BudgetTarget) => Effect.Effect<BudgetUsage, RateBudgetError>
  readonly snapshot: (
    targets: ReadonlyArray<BudgetTarget>
  ) => Effect.Effect<ReadonlyArray<BudgetUsage>, RateBudgetError>
}

export class RateBudget extends Context.Tag("@cliq-mirror/core/RateBudget")<RateBudget, RateBudgetShape>() {}

export interface BudgetAccount {
  readonly id: string
  /** The OAuth client id, or the account id for a static-token account. */
  readonly clientKey: string
}

/** "Per user" buckets count against the Cliq user (one account), the others against the whole OAuth client. */
export const budgetKey = (account: BudgetAccount, bucket: BucketId, table: BucketTable = BUCKETS): string =>
  table[bucket].scope === "user" ? `user:${account.id}` : `client:${account.clientKey}`

const waitFor = (denied: Denied) => Effect.sleep(Duration.millis(Math.max(0, Math.ceil(denied.retryAt - denied.now))))

/** The waiting half of the port, written once over `tryAcquire`. */
export const makeAcquire = (tryAcquire: RateBudgetShape["tryAcquire"]) => {
  const acquire = Effect.fn("RateBudget.acquire")(function* (request: BudgetRequest, options?: AcquireOptions) {
    while (true) {
      const decision = yield* tryAcquire(request)
      if (decision._tag === "Granted") return decision
      yield* options?.pause ? options.pause(waitFor(decision)) : waitFor(decision)
    }
  })
  const acquireWithin = Effect.fn("RateBudget.acquireWithin")(function* (
    request: BudgetRequest,
    maxWait: Duration.DurationInput
  ) {
    let deadline: number | undefined
    while (true) {
      const decision = yield* tryAcquire(request)
      if (decision._tag === "Granted") return decision
      deadline ??= decision.now + Duration.toMillis(maxWait)
      if (decision.retryAt > deadline) return decision
      yield* waitFor(decision)
    }
  })
  return { acquire, acquireWithin }
}
