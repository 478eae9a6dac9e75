import { isFinal } from "@cliq-mirror/core"
import { CommandsRepo, Database, OUTBOX_CHANNEL } from "@cliq-mirror/db"
import { Duration, Effect, Layer, Schedule } from "effect"
import { CommandQueue } from "./CommandQueue.js"

const BATCH = 500

/**
 * Hands committed commands to BullMQ. Intake only writes Postgres (command row = outbox entry); the relay adds the
 * job, then marks the row. A crash in between re-adds the same job id, which BullMQ ignores, so nothing is lost and
 * nothing runs twice. Woken by NOTIFY from intake, with a slow poll as a safety net.
 */
export const relayOnce = Effect.gen(function* () {
  const repo = yield* CommandsRepo
  const queue = yield* CommandQueue
  let total = 0
  while (true) {
    const pending = yield* repo.unenqueued(BATCH)
    if (pending.length === 0) return total
    // A command another job's call finished before it was relayed needs no job of its own: it is only marked.
    yield* queue.enqueue(
      pending.filter(c => !isFinal(c.status)).map(c => ({ commandId: c.id, accountId: c.accountId }))
    )
    // A retried command re-uses its job id: while its previous job is still finishing, the add is a no-op, so it is
    // marked only once its new job is really waiting; otherwise the next round adds it again.
    const settled = yield* Effect.filter(pending, c =>
      c.retries === 0 || isFinal(c.status) ? Effect.succeed(true) : queue.isPending(c.id)
    )
    yield* repo.markEnqueued(settled)
    total += settled.length
    if (pending.length < BATCH || settled.length === 0) return total
  }
})

export const OutboxRelayLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { sql } = yield* Database
    const wake = yield* Effect.makeSemaphore(0)
    const wakeUp = () => Effect.runFork(wake.release(1))
    yield* Effect.acquireRelease(
      Effect.tryPromise(() => sql.listen(OUTBOX_CHANNEL, wakeUp)),
      listener => Effect.promise(() => listener.unlisten())
    ).pipe(Effect.catchAll(e => Effect.logWarning("outbox NOTIFY unavailable; polling only", { error: String(e) })))
    const loop = relayOnce.pipe(
      Effect.catchAllCause(cause => Effect.logWarning("outbox relay failed", cause)),
      Effect.zipRight(Effect.race(wake.take(1), Effect.sleep(Duration.seconds(1)))),
      Effect.repeat(Schedule.forever)
    )
    yield* Effect.forkScoped(loop)
  })
)
