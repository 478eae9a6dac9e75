import {
  type CliqError,
  COMMAND_OPERATION,
  COMMAND_TYPES,
  commandBucket,
  Limits,
  OPERATION_BY_ID,
  type RateBudgetError,
  toErrorInfo
} from "@cliq-mirror/core"
import { type CommandRecord, CommandsQuery, CommandsRepo, type Settlement } from "@cliq-mirror/db"
import { Duration, Effect, Option } from "effect"
import { Accounts } from "../Accounts.js"
import { DaemonConfig } from "../Config.js"
import { Upstream } from "../Upstream.js"
import { CommandQueue } from "./CommandQueue.js"
import { planBatch } from "./Plan.js"
import { sendBatch } from "./Send.js"
import { verifyEffect } from "./Verify.js"

export type JobResult = { readonly _tag: "Done" } | { readonly _tag: "Delay"; readonly until: number }
const DONE: JobResult = { _tag: "Done" }
const delay = (until: number): JobResult => ({ _tag: "Delay", until })

export const MAX_ATTEMPTS = 6
/** A claimed attempt presumed dead after this long (covers the request timeout with room to spare). */
export const LEASE_MS = 120_000
const TERMINAL = new Set(["succeeded", "failed"])
const BULK = new Set(["mark_as_read", "clear_unread"])

type Failure = CliqError | RateBudgetError

/** Errors after which the command is failed for good (no retry can change the upstream's answer). */
const isPermanent = (e: Failure) =>
  e._tag === "CliqPermanent" ||
  e._tag === "CliqInvalidRequest" ||
  e._tag === "CliqForbidden" ||
  e._tag === "CliqNotFound" ||
  e._tag === "CliqNeedsReauth"

const uncertain = (e: Failure) => (e._tag === "CliqRetryable" && e.outcomeUnknown) || e._tag === "CliqDecodeError"

const errorInfo = (e: Failure) =>
  e._tag === "RateBudgetError" ? { code: "rate_budget_unavailable", message: e.message } : toErrorInfo(e)

/**
 * One BullMQ job = one command id. The command row decides: finished → nothing; an earlier command of the same chat
 * unfinished → wait for it; no budget → wait (waiting_rate_limit, eta); otherwise plan what the call can carry, take
 * the slot, claim, send, and settle every carried command in one transaction.
 */
export const processCommand = Effect.fn("Commands.process")(function* (commandId: string) {
  const repo = yield* CommandsRepo
  const accounts = yield* Accounts
  const upstream = yield* Upstream
  const queue = yield* CommandQueue
  const query = yield* CommandsQuery
  const config = yield* DaemonConfig
  const scaled = (ms: number) => Math.max(1, Math.round(ms * config.timeScale))
  const leaseMs = Math.max(scaled(LEASE_MS), 35_000)

  let command = yield* repo.get(commandId)
  if (!command || TERMINAL.has(command.status)) return DONE
  const account = accounts.get(command.accountId)
  if (!account) {
    yield* repo.finish(command.accountId, {
      outcomes: [
        {
          command,
          status: "failed",
          error: { code: "unknown_account", message: `account ${command.accountId} is not configured` }
        }
      ]
    })
    return DONE
  }

  // A finished command may unblock the next command of its chat, which waits delayed: wake it now.
  const wakeSuccessors = (done: ReadonlyArray<CommandRecord>) =>
    Effect.forEach(
      [...new Set(done.map(c => c.chatId).filter((id): id is string => id !== null))],
      chatId =>
        repo
          .pendingOnChat(account.id, chatId, 1)
          .pipe(Effect.flatMap(next => (next[0] ? queue.promote(next[0].id) : Effect.void))),
      { discard: true }
    )

  let recovering = false
  if (command.status === "running") {
    const lease = yield* repo.leaseOf(command.id)
    if (lease && lease.getTime() > Date.now()) return delay(lease.getTime() + 100)
    const reclaimed = yield* repo.reclaimStalled(command.id, leaseMs)
    if (!reclaimed) return DONE
    command = reclaimed
    recovering = true
  } else {
    const before = yield* repo.predecessor(command)
    if (before) return delay(Date.now() + scaled(5_000))
  }

  const operation = COMMAND_OPERATION[command.type]
  const planned: ReadonlyArray<CommandRecord> = recovering ? [command] : yield* planBatch(command)
  const target = upstream.target(account, operation)
  const decision = yield* upstream.budget.acquireWithin(target, Duration.millis(scaled(2_000)))
  if (decision._tag === "Denied") {
    // Only one slot frees at `retryAt`: a job with others of its bucket queued before it waits for its turn instead
    // of waking with all of them (which would cost every one a denied attempt).
    const types = COMMAND_TYPES.filter(t => commandBucket(t) === target.bucket)
    const ahead =
      (yield* query.ahead({ accountIds: [command.accountId], types, commandIds: [command.id] })).get(command.id) ?? 0
    const calls = BULK.has(command.type) ? Math.floor(ahead / Limits.bulkChatsMax) : ahead
    const limit = upstream.budget.buckets[target.bucket]
    const turn = Math.floor(calls / limit.threshold) * (limit.windowMs + upstream.budget.marginMs)
    const until = Date.now() + Math.max(0, decision.retryAt - decision.now) + turn
    yield* repo.setWaiting([command.id], new Date(until), null)
    return delay(until)
  }
  const claimed = recovering
    ? [command]
    : yield* repo.claim(
        planned.map(c => c.id),
        leaseMs
      )
  const mine = claimed.find(c => c.id === command!.id)
  if (!mine) {
    yield* upstream.budget.refund(decision)
    yield* repo.requeue(
      claimed.map(c => c.id),
      null,
      null
    )
    return DONE
  }
  const batch = planned.flatMap(p => claimed.filter(c => c.id === p.id))

  const notIdempotent = !OPERATION_BY_ID[operation].idempotent
  const verified: Option.Option<Settlement> =
    notIdempotent && (recovering || mine.lastError?.code === "outcome_unknown")
      ? yield* verifyEffect(account, mine).pipe(Effect.orElseSucceed(() => Option.none<Settlement>()))
      : Option.none()
  // Verification settled the command without sending it: the slot taken for the send goes back.
  const attempt = Option.isSome(verified)
    ? Effect.as(Effect.ignore(upstream.budget.refund(decision)), verified.value)
    : sendBatch(account, mine, batch, decision)

  const settled = yield* Effect.either(attempt)
  if (settled._tag === "Right") {
    yield* repo.finish(account.id, settled.right)
    yield* wakeSuccessors(batch)
    return DONE
  }
  const error = settled.left
  const info = errorInfo(error)
  const ids = batch.map(c => c.id)
  if (error._tag === "CliqThrottled") {
    const usage = yield* upstream.budget.usage(target).pipe(Effect.option)
    const lockEnd = Option.flatMap(usage, u => Option.fromNullable(u.lockedUntil))
    const until = Option.match(lockEnd, {
      onNone: () => Date.now() + scaled(60_000),
      onSome: end => Date.now() + Math.max(0, end - Option.getOrThrow(usage).now)
    })
    yield* repo.setWaiting(ids, new Date(until), info)
    return delay(until)
  }
  // An attempt whose outcome is unknown is recorded as such, so that a later retry reads upstream state first.
  const recorded = uncertain(error) ? { code: "outcome_unknown", message: info.message } : info
  if (isPermanent(error) || mine.attempts >= MAX_ATTEMPTS) {
    yield* repo.finish(account.id, {
      outcomes: batch.map(c => ({ command: c, status: "failed", error: recorded }))
    })
    yield* wakeSuccessors(batch)
    return DONE
  }
  const backoff = scaled(Math.min(300_000, 2_000 * 2 ** (mine.attempts - 1))) * (0.75 + Math.random() * 0.5)
  const until = Date.now() + Math.round(backoff)
  yield* repo.requeue(ids, new Date(until), recorded)
  return delay(until)
})
