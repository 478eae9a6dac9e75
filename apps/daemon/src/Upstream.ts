import {
  type Account,
  type AccountClient,
  budgetKey,
  CliqClient,
  type CliqError,
  type Granted,
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
     * The call itself, for a caller that already holds the slot (`grant`, taken for this operation's bucket; a slot of
     * another bucket is given back and one of the right bucket taken). A retry the client makes on its own (one, after
     * a 401 and a token renewal) takes its own slot first: the upstream counts every request that arrives. Every slot
     * used is settled when the call ends, so it counts from the answer rather than the grant.
     */
    const send = <A>(
      account: Account,
      operation: OperationId,
      grant: Granted,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError> =>
      Effect.suspend(() => {
        const held: Array<Granted> = []
        const own = target(account, operation)
        const first =
          grant.bucket === own.bucket && grant.key === own.key
            ? Effect.succeed(grant)
            : budget.refund(grant).pipe(Effect.zipRight(budget.acquire(own)))
        const client = cliq.forAccount(account, {
          beforeSend: op =>
            (held.length === 0 ? first : budget.acquire(target(account, op.id))).pipe(
              Effect.map(slot => held.push(slot)),
              Effect.asVoid,
              Effect.orDie
            )
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
          Effect.ensuring(
            Effect.suspend(() => Effect.forEach(held, slot => Effect.ignore(budget.settle(slot)), { discard: true }))
          ),
          Effect.withSpan("Upstream.send", { attributes: { operation, account: account.id } })
        )
      })

    const call = <A>(
      account: Account,
      operation: OperationId,
      share: string | undefined,
      run: (client: AccountClient) => Effect.Effect<A, CliqError>
    ): Effect.Effect<A, CliqError | RateBudgetError> =>
      budget
        .acquire({ ...target(account, operation), ...(share ? { share } : {}) })
        .pipe(Effect.flatMap(grant => send(account, operation, grant, run)))

    return { call, send, target, budget } as const
  })
}) {}
