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

    /**
     * The call itself, for a caller that already holds the slot. A retry the client makes on its own (one, after a 401
     * and a token renewal) takes its own slot first: the upstream counts every request that arrives.
     */
    const send = <A>(
      account: Account,
      operation: OperationId,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError> => {
      let slotHeld = true
      const client = cliq.forAccount(account, {
        beforeSend: op => {
          if (slotHeld) {
            slotHeld = false
            return Effect.void
          }
          return budget.acquire(target(account, op.id)).pipe(Effect.asVoid, Effect.orDie)
        }
      })
      return run(client).pipe(
        Effect.tapError(e =>
          e._tag === "CliqThrottled"
            ? budget
                .lock({
                  ...target(account, e.operation),
                  ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs })
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
    }

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
