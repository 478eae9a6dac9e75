import type { Account } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import { Clock, Duration, Effect, Either, FiberMap, Layer, Schedule } from "effect"
import { Accounts } from "../Accounts.js"
import { DaemonConfig } from "../Config.js"
import { leaseTiming, makeLeases, mustFence, newOwnerId, planTick } from "./AccountLease.js"
import { INCREMENTAL, incrementalPass } from "./Incremental.js"
import { membersPass } from "./Members.js"
import { RECONCILE, reconcilePass } from "./Reconciliation.js"
import { HIDDEN, hiddenPass, statePass } from "./StateFlags.js"
import { streamLoop } from "./StreamLoop.js"

const pollAccount = (account: Account, config: DaemonConfig) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const scaled = (ms: number) => Duration.millis(Math.max(1, Math.round(ms * config.timeScale)))
    const backoff = { backoffBase: scaled(1_000), backoffCap: scaled(60_000) }
    const backfilled = repo.read(account.id, INCREMENTAL).pipe(
      Effect.map(s => s.highWaterMs !== null),
      Effect.repeat({ until: done => done, schedule: Schedule.spaced(Duration.millis(config.pollIntervalMs)) })
    )
    const loops = [
      streamLoop(account, INCREMENTAL, incrementalPass(account, config.overlapMs), {
        every: Duration.millis(config.pollIntervalMs),
        ...backoff
      }),
      streamLoop(account, "state", statePass(account), {
        every: Duration.millis(config.statePollIntervalMs),
        ...backoff
      }),
      // Hidden states of the chats the incremental stream saw move, well within two poll intervals.
      streamLoop(account, HIDDEN, hiddenPass(account), {
        every: Duration.millis(Math.max(10, Math.round(config.pollIntervalMs / 4))),
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
  }).pipe(Effect.annotateLogs({ account: account.id }))

/** Accounts claimed together start one after another, spread over about one poll interval (20 ms – 1 s apart). */
export const staggerStep = (pollIntervalMs: number, starting: number): number =>
  Math.min(1_000, Math.max(20, Math.floor(pollIntervalMs / Math.max(1, starting))))

/**
 * One keyed fiber per account this process holds the lease of. Every tick renews the held leases and claims free
 * ones up to a fair share in one statement; a lease found taken (or not renewed in time) stops that account's pollers.
 */
export const PollersLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* DaemonConfig
    const accounts = yield* Accounts
    const timing = leaseTiming(config.timeScale)
    const leases = yield* makeLeases(newOwnerId(), timing)
    // Registered first, so it runs last: the pollers have stopped before their leases are given up.
    yield* Effect.addFinalizer(() => leases.leave.pipe(Effect.ignore))
    const fibers = yield* FiberMap.make<string>()
    const configured = accounts.all.map(a => a.id as string)
    const held = new Set<string>()
    let lastRenewal = 0

    const supervised = (account: Account) =>
      pollAccount(account, config).pipe(
        Effect.catchAllCause(cause => Effect.logError("account pollers stopped; restarting", cause)),
        Effect.zipRight(Effect.sleep(Duration.millis(config.pollIntervalMs))),
        Effect.forever
      )
    const start = (ids: ReadonlyArray<string>) => {
      const step = staggerStep(config.pollIntervalMs, ids.length)
      return Effect.forEach(
        ids,
        (id, i) => {
          const account = accounts.get(id)
          held.add(id)
          return account === undefined
            ? Effect.void
            : FiberMap.run(fibers, id, Effect.zipRight(Effect.sleep(Duration.millis(i * step)), supervised(account)))
        },
        { discard: true }
      )
    }
    const stop = (ids: ReadonlyArray<string>) =>
      Effect.forEach(
        ids,
        id => {
          held.delete(id)
          return FiberMap.remove(fibers, id)
        },
        { discard: true }
      )

    const tick = Effect.gen(function* () {
      const sentAt = yield* Clock.currentTimeMillis
      const answer = yield* Effect.either(
        leases.tick(
          [...held],
          configured.filter(id => !held.has(id)),
          configured.length
        )
      )
      if (Either.isLeft(answer)) {
        yield* Effect.logWarning("account leases not renewed", { error: answer.left.message })
        if (held.size > 0 && mustFence(lastRenewal, yield* Clock.currentTimeMillis, timing)) {
          yield* Effect.logError("account leases about to expire unrenewed; stopping their pollers", {
            accounts: held.size
          })
          yield* stop([...held])
        }
        return
      }
      lastRenewal = sentAt
      const plan = planTick([...held], configured.length, answer.right)
      if (plan.stop.length > 0) {
        yield* Effect.logWarning("account leases taken by another process; stopping their pollers", {
          accounts: plan.stop.join(",")
        })
        yield* stop(plan.stop)
      }
      if (plan.handOver.length > 0) {
        yield* stop(plan.handOver)
        yield* leases.release(plan.handOver).pipe(Effect.ignore)
        yield* Effect.logInfo("account leases handed over to another process", { count: plan.handOver.length })
      }
      if (plan.start.length > 0) {
        yield* Effect.logInfo("account leases acquired", {
          count: plan.start.length,
          held: held.size + plan.start.length
        })
        yield* start(plan.start)
      }
    })
    yield* tick.pipe(Effect.repeat(Schedule.spaced(Duration.millis(timing.renewEveryMs))), Effect.forkScoped)
  })
)
