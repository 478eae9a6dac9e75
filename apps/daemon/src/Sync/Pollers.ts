import type { Account } from "@cliq-mirror/core"
import { type MirrorQueries, type MirrorWriter, SyncStateRepo } from "@cliq-mirror/db"
import { Clock, Duration, Effect, Either, Layer, Schedule } from "effect"
import { Accounts } from "../Accounts.js"
import { DaemonConfig } from "../Config.js"
import type { Upstream } from "../Upstream.js"
import { leaseTiming, makeLeases, mustFence, newOwnerId, planTick, tickAllowanceMs } from "./AccountLease.js"
import { INCREMENTAL, incrementalPass } from "./Incremental.js"
import { MEMBERS, MEMBERS_BATCH, membersPass } from "./Members.js"
import { type PassClass, PassGate } from "./PassGate.js"
import { RECONCILE, reconcilePass } from "./Reconciliation.js"
import { makeScheduler, type Scheduler, type StreamTask } from "./Scheduler.js"
import { HIDDEN, hiddenPass, STATE, statePass } from "./StateFlags.js"
import { streamStep } from "./StreamLoop.js"

/**
 * The five streams of one account as tasks of the process's scheduler. The incremental stream runs every
 * POLL_INTERVAL_MS; the hidden states it queued are looked up right after it (and at least every state interval); the
 * members stream is also woken after it and keeps going while it finds full batches; state listings and
 * reconciliation are backstops, every minute after a pass. Passes take turns at the pass gate by class: incremental
 * first, then hidden, then `state` (state listings, reconciliation), then `members` (PassGate.ts).
 */
const accountTasks = (account: Account, config: DaemonConfig, scheduler: Scheduler) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const ms = Duration.millis
    const scaled = (n: number) => ms(Math.max(1, Math.round(n * config.timeScale)))
    const backoff = { backoffBase: scaled(1_000), backoffCap: scaled(60_000) }
    const wakeFollowers = Effect.zipRight(scheduler.poke(account.id, HIDDEN), scheduler.poke(account.id, MEMBERS))
    // Reconciliation waits for the backfill: until then the incremental walk is a full walk already.
    const backfilled = repo.read(account.id, INCREMENTAL).pipe(Effect.map(s => s.highWaterMs !== null))
    type Needs = MirrorQueries | MirrorWriter | SyncStateRepo | Upstream
    const steps: Array<[string, PassClass, Effect.Effect<Duration.Duration, never, Needs>]> = [
      [
        INCREMENTAL,
        "incremental",
        yield* streamStep(
          account,
          INCREMENTAL,
          incrementalPass(account, config.overlapMs).pipe(Effect.tap(() => wakeFollowers)),
          { every: ms(config.pollIntervalMs), ...backoff }
        )
      ],
      [
        HIDDEN,
        "hidden",
        yield* streamStep(account, HIDDEN, hiddenPass(account), { every: ms(config.statePollIntervalMs), ...backoff })
      ],
      [
        MEMBERS,
        "members",
        yield* streamStep(account, MEMBERS, membersPass(account), {
          every: fetched => ms(fetched >= MEMBERS_BATCH ? config.membersPollIntervalMs : config.statePollIntervalMs),
          ...backoff
        })
      ],
      [
        STATE,
        "state",
        yield* streamStep(account, STATE, statePass(account), { every: ms(config.statePollIntervalMs), ...backoff })
      ],
      [
        RECONCILE,
        "state",
        yield* streamStep(
          account,
          RECONCILE,
          Effect.flatMap(backfilled, done =>
            done ? reconcilePass(account).pipe(Effect.as(true)) : Effect.succeed(false)
          ),
          { every: ran => ms(ran ? config.reconcilePauseMs : config.pollIntervalMs), ...backoff }
        )
      ]
    ]
    const context = yield* Effect.context<Needs>()
    return steps.map(
      ([stream, cls, step]): StreamTask => ({ accountId: account.id, stream, cls, step: Effect.provide(step, context) })
    )
  })

/** Accounts claimed together start one after another, spread over about one poll interval (20 ms – 1 s apart). */
export const staggerStep = (pollIntervalMs: number, starting: number): number =>
  Math.min(1_000, Math.max(20, Math.floor(pollIntervalMs / Math.max(1, starting))))

/**
 * The streams of every account this process holds the lease of, on one scheduler. Every tick renews the held leases
 * and claims free ones up to a fair share in one statement; a lease found taken (or not renewed in time) stops that
 * account's streams.
 */
const Pollers = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* DaemonConfig
    const accounts = yield* Accounts
    const timing = leaseTiming(config.timeScale)
    const leases = yield* makeLeases(newOwnerId(), timing)
    // Registered first, so it runs last: the pollers have stopped before their leases are given up.
    yield* Effect.addFinalizer(() => leases.leave.pipe(Effect.ignore))
    // Created after that finalizer, so closed before it: every running pass has ended when the leases are given up.
    const scheduler = yield* makeScheduler(yield* Effect.scope, yield* PassGate)
    const syncState = yield* SyncStateRepo
    const configured = accounts.all.map(a => a.id as string)
    const held = new Set<string>()
    let lastRenewal = 0

    const start = (ids: ReadonlyArray<string>) => {
      const step = staggerStep(config.pollIntervalMs, ids.length)
      return Effect.forEach(
        ids,
        (id, i) => {
          const account = accounts.get(id)
          held.add(id)
          // Another process may have held the account since this one last did: what it knew of its queues is stale.
          return account === undefined
            ? Effect.void
            : Effect.zipRight(
                syncState.forgetAccount(id),
                Effect.flatMap(accountTasks(account, config, scheduler), tasks =>
                  scheduler.add(tasks, Duration.millis(i * step))
                )
              )
        },
        { discard: true }
      )
    }
    const stop = (ids: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        for (const id of ids) held.delete(id)
        return scheduler.remove(ids)
      })

    const tick = Effect.gen(function* () {
      const sentAt = yield* Clock.currentTimeMillis
      const allowance = tickAllowanceMs(lastRenewal, held.size > 0, sentAt, timing)
      const answer = yield* Effect.either(
        leases
          .tick(
            [...held],
            configured.filter(id => !held.has(id)),
            configured.length
          )
          .pipe(
            Effect.timeoutFail({
              duration: Duration.millis(allowance),
              onTimeout: () => ({ message: `no answer within ${allowance} ms` })
            })
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

export const PollersLive = Pollers.pipe(Layer.provide(PassGate.Default))
