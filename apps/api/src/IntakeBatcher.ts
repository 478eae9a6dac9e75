import type { CommandInput } from "@cliq-mirror/core"
import { type Accepted, CommandsRepo, type DbError, type IdempotencyConflict } from "@cliq-mirror/db"
import { Chunk, Deferred, Effect, Queue } from "effect"
import { ApiAccounts } from "./Accounts.js"

const MAX_GROUP = 500

interface Pending {
  readonly input: CommandInput
  readonly done: Deferred.Deferred<Accepted, DbError | IdempotencyConflict>
}

/**
 * Group commit for single-command requests. Every intake transaction appends events under one advisory lock held
 * until commit, so one-command transactions commit one after another (under 1,000 a second); here the requests that
 * arrive while a transaction runs are taken in together by the next one. Each request keeps its own outcome: an
 * idempotency conflict answers only its request and the rest of the group is taken in again without it; any other
 * failure of a group is retried command by command, so one bad row cannot fail its neighbours.
 */
export class IntakeBatcher extends Effect.Service<IntakeBatcher>()("@cliq-mirror/api/IntakeBatcher", {
  scoped: Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const accounts = yield* ApiAccounts
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)

    const settle = (group: ReadonlyArray<Pending>): Effect.Effect<void> =>
      group.length === 0
        ? Effect.void
        : repo
            .intake(
              group.map(p => p.input),
              accounts.defaultAccount
            )
            .pipe(
              Effect.matchEffect({
                onSuccess: accepted =>
                  Effect.forEach(group, (p, i) => Deferred.succeed(p.done, accepted[i]!), { discard: true }),
                onFailure: error =>
                  error._tag === "IdempotencyConflict"
                    ? Deferred.fail(group[error.index]!.done, error).pipe(
                        Effect.zipRight(settle(group.filter((_, i) => i !== error.index)))
                      )
                    : group.length === 1
                      ? Deferred.fail(group[0]!.done, error)
                      : Effect.forEach(group, p => settle([p]), { discard: true })
              })
            )

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.takeBetween(queue, 1, MAX_GROUP), chunk => settle(Chunk.toReadonlyArray(chunk)))
      )
    )

    const submit = Effect.fn("IntakeBatcher.submit")(function* (input: CommandInput) {
      const done = yield* Deferred.make<Accepted, DbError | IdempotencyConflict>()
      yield* Queue.offer(queue, { input, done })
      return yield* Deferred.await(done)
    })
    return { submit } as const
  })
}) {}
