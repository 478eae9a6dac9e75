import type { Account } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import { Duration, Effect, FiberMap, Layer, Schedule } from "effect"
import { Accounts } from "../Accounts.js"
import { DaemonConfig } from "../Config.js"
import { acquireLease } from "./AccountLease.js"
import { INCREMENTAL, incrementalPass } from "./Incremental.js"
import { membersPass } from "./Members.js"
import { RECONCILE, reconcilePass } from "./Reconciliation.js"
import { statePass } from "./StateFlags.js"
import { streamLoop } from "./StreamLoop.js"

const pollAccount = (account: Account, config: DaemonConfig) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const scaled = (ms: number) => Duration.millis(Math.max(1, Math.round(ms * config.timeScale)))
    const backoff = { backoffBase: scaled(1_000), backoffCap: scaled(5 * 60_000) }
    const lease = yield* acquireLease(account.id, Duration.millis(config.pollIntervalMs))
    const backfilled = repo.read(account.id, INCREMENTAL).pipe(
      Effect.map(s => s.highWaterMs !== null),
      Effect.repeat({ until: done => done, schedule: Schedule.spaced(Duration.millis(config.pollIntervalMs)) })
    )
    const loops = [
      lease.heartbeat,
      streamLoop(account, INCREMENTAL, incrementalPass(account, config.overlapMs), {
        every: Duration.millis(config.pollIntervalMs),
        ...backoff
      }),
      streamLoop(account, "state", statePass(account), {
        every: Duration.millis(config.statePollIntervalMs),
        ...backoff
      }),
      streamLoop(account, "members", membersPass(account), {
        every: Duration.millis(config.membersPollIntervalMs),
        ...backoff
      }),
      // Reconciliation waits for the backfill: until then the incremental walk is a full walk already.
      streamLoop(account, RECONCILE, Effect.zipRight(backfilled, reconcilePass(account)), {
        every: Duration.millis(config.reconcilePauseMs),
        ...backoff
      })
    ]
    yield* Effect.all(loops, { concurrency: "unbounded", discard: true })
  }).pipe(Effect.scoped, Effect.annotateLogs({ account: account.id }))

/** One keyed fiber per account; a lost lease (heartbeat failure) restarts the account's pollers after a pause. */
export const PollersLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* DaemonConfig
    const accounts = yield* Accounts
    const fibers = yield* FiberMap.make<string>()
    for (const account of accounts.all) {
      const supervised = pollAccount(account, config).pipe(
        Effect.catchAllCause(cause => Effect.logError("account pollers stopped; restarting", cause)),
        Effect.zipRight(Effect.sleep(Duration.millis(config.pollIntervalMs))),
        Effect.forever
      )
      yield* FiberMap.run(fibers, account.id, supervised)
    }
  })
)
