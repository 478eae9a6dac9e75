import {
  type Account,
  type AccountClient,
  budgetKey,
  CliqClient,
  type CliqError,
  OPERATION_BY_ID,
  type OperationId,
  RateBudget,
  type RateBudgetError
} from "@cliq-mirror/core"
import { Effect } from "effect"

/**
 * Every upstream call of the daemon goes through here: a slot of the operation's bucket first (waiting, never
 * spinning), then the call; a throttle answer locks the bucket for every process sharing the Redis.
 */
export class Upstream extends Effect.Service<Upstream>()("@cliq-mirror/daemon/Upstream", {
  effect: Effect.gen(function* () {
    const budget = yield* RateBudget
    const cliq = yield* CliqClient

    const target = (account: Account, operation: OperationId) => {
      const bucket = OPERATION_BY_ID[operation].bucket
      return { key: budgetKey(account, bucket, budget.buckets), bucket }
    }

    /** The call itself, for a caller that already holds the slot. */
    const send = <A>(
      account: Account,
      operation: OperationId,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError> =>
      run(cliq.forAccount(account)).pipe(
        Effect.tapError(e =>
          e._tag === "CliqThrottled"
            ? budget
                .lock({
                  ...target(account, operation),
                  ...(e.lockedUntil ? { retryAfterMs: e.lockedUntil - Date.now() } : {})
                })
                .pipe(
                  Effect.tap(lock =>
                    Effect.logWarning("upstream throttled; bucket locked", {
                      bucket: lock.bucket,
                      until: lock.lockedUntil
                    })
                  ),
                  Effect.ignore
                )
            : Effect.void
        ),
        Effect.withSpan("Upstream.send", { attributes: { operation, account: account.id } })
      )

    const call = <A>(
      account: Account,
      operation: OperationId,
      share: string | undefined,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError | RateBudgetError> =>
      budget
        .acquire({ ...target(account, operation), ...(share ? { share } : {}) })
        .pipe(Effect.zipRight(send(account, operation, run)))

    return { call, send, target, budget } as const
  })
}) {}
