import {
  type Account,
  afterAttempt,
  afterCheck,
  type BudgetTarget,
  backoffAfter,
  type Check,
  COMMAND_OPERATION,
  COMMAND_TYPES,
  type CommandFacts,
  carryOf,
  commandBucket,
  type Denied,
  type ErrorInfo,
  failureKind,
  type Granted,
  Limits,
  onRefused,
  type Step
} from "@cliq-mirror/core"
import { type Claim, type CommandRecord, CommandsQuery, CommandsRepo, type Held } from "@cliq-mirror/db"
import { Clock, Deferred, Duration, Effect, Either, Option, Schedule } from "effect"
import { Upstream } from "../Upstream.js"
import { applyStep, DONE, delayUntil, type JobResult, settle } from "./Apply.js"
import { CommandQueue } from "./CommandQueue.js"
import { planBatch } from "./Plan.js"
import { sendBatch } from "./Send.js"
import type { CommandTiming } from "./Timing.js"
import { verifyEffect } from "./Verify.js"

export const factsOf = (c: CommandRecord): CommandFacts => ({
  type: c.type,
  status: c.status,
  attempts: c.attempts,
  lastError: c.lastError,
  eta: c.eta?.getTime() ?? null,
  leaseUntil: c.leaseUntil?.getTime() ?? null,
  needsCheck: c.needsCheck
})

/**
 * The budget refused a slot: the command waits for its turn among the waiting commands of that bucket. `from`: whether
 * this attempt claimed it; one it did not claim may have been carried off by another call during the slot wait.
 */
const refused = (command: CommandRecord, denied: Denied, from: Held, error: ErrorInfo | null = null) =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const query = yield* CommandsQuery
    const now = yield* Clock.currentTimeMillis
    const types = COMMAND_TYPES.filter(t => commandBucket(t) === denied.bucket)
    const ahead = yield* query.ahead({ accountIds: [command.accountId], types, commandIds: [command.id] })
    const limit = upstream.budget.buckets[denied.bucket]
    const step = onRefused(
      factsOf(command),
      {
        ahead: ahead.get(command.id) ?? 0,
        carry: carryOf(denied.bucket),
        threshold: limit.threshold,
        periodMs: limit.windowMs + upstream.budget.marginMs,
        // The budget's clock is Redis': only the distance to its retryAt is meaningful here.
        freesAt: now + Math.max(0, denied.retryAt - denied.now)
      },
      now,
      error
    )
    return yield* applyStep(command.accountId, [command], step, from, command.id)
  })

/** When the bucket's lock ends after a throttle answer, on the local clock (null when the budget cannot say). */
const lockEnd = (target: BudgetTarget, now: number) =>
  Effect.flatMap(Upstream, upstream => upstream.budget.usage(target)).pipe(
    Effect.map(u => (u.lockedUntil === null ? null : now + Math.max(0, u.lockedUntil - u.now))),
    Effect.orElseSucceed(() => null)
  )

/**
 * Renews the lease of the claimed commands while `work` runs, so that only a dead attempt can be taken over. Should
 * renewals fail for longer than a lease (a lock, a dead connection), another process may take a command over: the
 * first renewal that answers again finds it taken (`CommandsRepo.extendLease`), and the attempt stops where it is —
 * before its call when it has not sent yet, so the command is not sent twice — and ends as `lost` says. What it wrote
 * or writes leaves the new holder's rows alone anyway (`Claim`).
 */
export const withLease = <A, E, R, R2>(
  claims: ReadonlyArray<Claim>,
  timing: CommandTiming,
  work: Effect.Effect<A, E, R>,
  lost: Effect.Effect<A, never, R2>
) =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const gone = yield* Deferred.make<void>()
    const every = Duration.millis(Math.max(50, Math.floor(timing.leaseMs / 3)))
    const renew = repo.extendLease(claims, timing.leaseMs).pipe(
      Effect.flatMap(taken =>
        taken.length > 0
          ? Effect.logWarning("another attempt took over commands of this one: it stops", {
              taken: taken.length,
              claimed: claims.length,
              command_ids: taken
            }).pipe(Effect.zipRight(Deferred.succeed(gone, undefined)))
          : Effect.void
      ),
      Effect.catchAll(e => Effect.logWarning("lease renewal failed", { error: e.message })),
      Effect.delay(every),
      Effect.repeat(Schedule.forever)
    )
    yield* Effect.forkScoped(renew)
    return yield* Effect.raceFirst(work, Effect.zipRight(Deferred.await(gone), lost))
  }).pipe(Effect.scoped)

/** The job stays, to look again at a command another attempt holds (or took over) once that attempt may be done. */
const lookAgain = (timing: CommandTiming) =>
  Effect.map(Clock.currentTimeMillis, now => delayUntil(now + timing.orderPollMs))

/**
 * An attempt stopped because another took some of its commands over: what it still holds goes back in line at once
 * rather than running out its lease, marked to be checked before a re-send (its call may have gone out).
 */
const handBack = (claims: ReadonlyArray<Claim>, timing: CommandTiming) =>
  Effect.flatMap(CommandsRepo, repo =>
    repo.park(claims, { from: "running", status: "queued", eta: null, error: null, needsCheck: true })
  ).pipe(
    Effect.catchAll(e => Effect.logWarning("commands not handed back; their leases will", { error: e.message })),
    Effect.zipRight(lookAgain(timing))
  )

const next = (attempts: number, timing: CommandTiming) =>
  Effect.map(backoffAfter(attempts, timing.timeScale), backoff => ({ backoffMs: Duration.toMillis(backoff), timing }))

/** Sends the batch with the slot taken for it, then settles, fails or parks it as the decider says. */
const sendAndDecide = (
  account: Account,
  mine: CommandRecord,
  batch: ReadonlyArray<CommandRecord>,
  grant: Granted,
  timing: CommandTiming
) =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const sent = yield* Effect.either(sendBatch(account, mine, batch, grant))
    if (Either.isRight(sent)) return yield* settle(account, sent.right, mine.id)
    const error = sent.left
    const now = yield* Clock.currentTimeMillis
    const lockedUntil =
      failureKind(error) === "throttled" && error._tag === "CliqThrottled"
        ? yield* lockEnd(upstream.target(account, error.operation), now)
        : null
    // The commands of one call share its outcome and its backoff, not their attempt counts: one that still has
    // attempts left waits for the backoff though the carrier has spent its last (a run that gained a command during an
    // outage). The same step for several commands is one write.
    const outcome = { _tag: "Failed", error, lockedUntil } as const
    const after = yield* next(mine.attempts, timing)
    const groups = new Map<string, { step: Step; commands: Array<CommandRecord> }>()
    for (const command of batch) {
      const step = afterAttempt(factsOf(command), outcome, now, after)
      const key = JSON.stringify(step)
      const group = groups.get(key)
      if (group === undefined) groups.set(key, { step, commands: [command] })
      else group.commands.push(command)
    }
    let result: JobResult = DONE
    for (const { step, commands } of groups.values()) {
      const applied = yield* applyStep(account.id, commands, step, "running", mine.id)
      if (commands.some(c => c.id === mine.id)) result = applied
    }
    return result
  })

const slotFor = (account: Account, command: CommandRecord, timing: CommandTiming) =>
  Effect.flatMap(Upstream, upstream =>
    upstream.budget.acquireWithin(
      upstream.target(account, COMMAND_OPERATION[command.type]),
      Duration.millis(timing.slotWaitMs)
    )
  )

/** A claimed non-idempotent command whose earlier attempt may have taken effect: read upstream state, then act. */
const checkThenSend = (account: Account, mine: CommandRecord, timing: CommandTiming) =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    const verified = yield* Effect.either(verifyEffect(account, mine, Duration.millis(timing.slotWaitMs)))
    const pending = { code: "verification_pending", message: "not re-sent until a check answers: no slot for the read" }
    const now = yield* Clock.currentTimeMillis
    let check: Check
    if (Either.isRight(verified)) check = Option.isSome(verified.right) ? { _tag: "Present" } : { _tag: "Absent" }
    else {
      const error = verified.left
      if (error._tag === "ReadRefused") {
        return yield* refused({ ...mine, needsCheck: true }, error.denied, "running", pending)
      }
      const lockedUntil =
        error._tag === "CliqThrottled" ? yield* lockEnd(upstream.target(account, error.operation), now) : null
      check = { _tag: "Unanswered", error, lockedUntil }
    }
    const step = afterCheck(factsOf(mine), check, now, yield* next(mine.attempts, timing))
    if (step._tag === "Settle" && Either.isRight(verified) && Option.isSome(verified.right)) {
      return yield* settle(account, verified.right.value, mine.id)
    }
    if (step._tag !== "Send") return yield* applyStep(account.id, [mine], step, "running", mine.id)
    const checked = { ...mine, needsCheck: false }
    const decision = yield* slotFor(account, checked, timing)
    if (decision._tag === "Denied") return yield* refused(checked, decision, "running")
    return yield* sendAndDecide(account, checked, [checked], decision, timing)
  })

/**
 * One attempt of a command the decider let through (`Claim`): plan what the call carries, take the slot (a bounded
 * wait), claim in PostgreSQL (which keeps two workers from running one command), check first when the decider says so,
 * send, and do what comes next.
 */
export const attempt = (
  account: Account,
  command: CommandRecord,
  claim: { readonly verifyFirst: boolean; readonly reclaim: boolean },
  timing: CommandTiming
) =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const upstream = yield* Upstream
    const queue = yield* CommandQueue
    let mine = command
    if (claim.reclaim) {
      const taken = yield* repo.reclaimStalled(command.id, timing.leaseMs)
      if (taken === undefined) return yield* lookAgain(timing)
      mine = taken
    }
    if (claim.verifyFirst) {
      if (!claim.reclaim) {
        const [taken] = yield* repo.claim([command.id], timing.leaseMs)
        // Another attempt holds it: this job stays, so that the command still has one if that attempt parks it.
        if (taken === undefined) return yield* lookAgain(timing)
        mine = taken
      }
      return yield* withLease([mine], timing, checkThenSend(account, mine, timing), handBack([mine], timing))
    }
    if (!claim.reclaim && mine.type === "mark_as_read") {
      // The slot first, then plan and claim in one turn: the call carries a full batch of what waits at that moment.
      const decision = yield* slotFor(account, mine, timing)
      // Not claimed yet: while this job waited for the slot, another call may have claimed the command.
      if (decision._tag === "Denied") return yield* refused(mine, decision, "waiting")
      const batch = yield* repo.claimReadBatch(mine.accountId, mine.id, Limits.bulkChatsMax, timing.leaseMs)
      const own = batch.find(c => c.id === command.id)
      const carrier = own ?? batch[0]
      if (carrier === undefined) {
        // Nothing waits (another call carries this command): the slot goes back, the job stays until that call ends,
        // which may yet park it unfinished.
        yield* Effect.ignore(upstream.budget.refund(decision))
        return yield* lookAgain(timing)
      }
      // The carried commands' own jobs would each be fetched only to find their command running: they are removed now
      // and added back (due when the batch is) if the call leaves them unfinished. A process dying before that leaves
      // them to the sweeper, which re-adds a job for every unfinished command without one (docs/commands.md).
      const carried = batch.flatMap(c => (c.id === command.id ? [] : [c.id]))
      yield* queue.removeJobs(carried)
      const readd = (delayMs: number) =>
        Effect.flatMap(repo.unfinishedOf(carried), ids =>
          queue.readd(ids.map(commandId => ({ job: { commandId, accountId: account.id }, delayMs })))
        ).pipe(
          Effect.catchAll(e => Effect.logWarning("carried jobs not re-added; the sweeper will", { error: e.message }))
        )
      // An attempt that broke inside the daemon (not an upstream answer), or that another process took commands of,
      // puts what it still holds back in the queue, to be carried again by a full call: mark_as_read is idempotent, so
      // a re-send is safe, and left running the commands would each be reclaimed alone once their lease ran out.
      const putBack = repo.park(batch, { from: "running", status: "queued", eta: null, error: null }).pipe(
        Effect.zipRight(readd(0)),
        Effect.catchAll(e =>
          Effect.logWarning("carried commands not put back; their leases will", { error: e.message })
        )
      )
      const sent = yield* withLease(
        batch,
        timing,
        sendAndDecide(account, carrier, batch, decision, timing),
        Effect.zipRight(putBack, lookAgain(timing))
      ).pipe(
        // What the call left unfinished (all of it when it is parked; those with attempts left when the carrier failed
        // for good) gets its jobs back, due when the carrier's step is (or at once: their rows say when they are due).
        Effect.tap(result =>
          Effect.flatMap(Clock.currentTimeMillis, now =>
            readd(result._tag === "Delay" ? Math.max(0, result.until - now) : 0)
          )
        ),
        Effect.onError(() => putBack)
      )
      // Carrying others while this command is in another call: the job waits for that call as above.
      return own === undefined ? yield* lookAgain(timing) : sent
    }
    const planned = claim.reclaim ? [mine] : yield* planBatch(mine)
    const decision = yield* slotFor(account, mine, timing)
    if (decision._tag === "Denied") return yield* refused(mine, decision, claim.reclaim ? "running" : "waiting")
    const claimed = claim.reclaim
      ? [mine]
      : yield* repo.claim(
          planned.map(c => c.id),
          timing.leaseMs
        )
    const own = claimed.find(c => c.id === command.id)
    if (own === undefined) {
      // Another job's call carries this command now: the slot goes back, and what this job took is left to its own jobs.
      yield* Effect.ignore(upstream.budget.refund(decision))
      yield* repo.park(claimed, { from: "running", status: "queued", eta: null, error: null, refundAttempt: true })
      // This job's command is in another attempt's call, which may yet park it unfinished: the job stays until then.
      return yield* lookAgain(timing)
    }
    const batch = planned.flatMap(p => claimed.filter(c => c.id === p.id))
    return yield* withLease(
      batch,
      timing,
      sendAndDecide(account, own, batch, decision, timing),
      handBack(batch, timing)
    )
  })
