import { type Account, commandChatIds, type Step } from "@cliq-mirror/core"
import { type CommandRecord, CommandsRepo, type Held, type Settlement } from "@cliq-mirror/db"
import { Clock, Effect } from "effect"
import { recordFinished } from "../Metrics.js"
import { CommandQueue } from "./CommandQueue.js"

const observeFinished = (outcomes: Parameters<typeof recordFinished>[0]) =>
  Effect.flatMap(Clock.currentTimeMillis, now => Effect.sync(() => recordFinished(outcomes, now)))

/** What the job does in BullMQ terms: end, or move to delayed until `until` (no attempt spent there). */
export type JobResult = { readonly _tag: "Done" } | { readonly _tag: "Delay"; readonly until: number }
export const DONE: JobResult = { _tag: "Done" }
export const delayUntil = (until: number): JobResult => ({ _tag: "Delay", until })

/**
 * A finished command may unblock the next command of each of its chats, which waits delayed: wake it now. The other
 * commands the call carried have jobs of their own that have nothing left to do: they are removed in bulk.
 */
export const wakeSuccessors = (accountId: string, done: ReadonlyArray<CommandRecord>, ownId?: string) =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    const queue = yield* CommandQueue
    yield* queue.removeJobs(done.flatMap(c => (c.id === ownId ? [] : [c.id])))
    const next = yield* repo.nextOnChats(accountId, [...new Set(done.flatMap(commandChatIds))])
    yield* Effect.forEach(new Set(next.values()), id => queue.promote(id), { discard: true, concurrency: 8 })
  })

export const settle = (account: Account, settlement: Settlement, ownId?: string) =>
  Effect.gen(function* () {
    // Only what this attempt settled: a command another attempt took over keeps its job and its successors wait.
    const settled = yield* (yield* CommandsRepo).finish(account.id, settlement)
    yield* observeFinished(settled)
    yield* wakeSuccessors(
      account.id,
      settled.map(o => o.command),
      ownId
    )
    return DONE
  })

/**
 * Does what a waiting or failing step names for the commands of one attempt (`batch`), as stored rows. `from` says
 * whether the attempt claimed them (`running`) or only read them (`waiting`: one claimed since by another call is left
 * to that call).
 */
export const applyStep = (
  accountId: string,
  batch: ReadonlyArray<CommandRecord>,
  step: Step,
  from: Held,
  ownId?: string
) =>
  Effect.gen(function* () {
    const repo = yield* CommandsRepo
    switch (step._tag) {
      case "Skip":
      case "Claim":
      case "Send":
      case "Settle":
        return DONE
      case "Fail": {
        const outcomes = batch.map(command => ({ command, status: "failed" as const, error: step.error }))
        const failed = yield* repo.finish(accountId, { outcomes })
        yield* observeFinished(failed)
        yield* wakeSuccessors(
          accountId,
          failed.map(o => o.command),
          ownId
        )
        return DONE
      }
      case "Delay":
        if (step.mark !== null) {
          yield* repo.park(batch, {
            from,
            status: step.mark,
            eta: new Date(step.until),
            error: step.error,
            needsCheck: step.needsCheck,
            refundAttempt: step.refundAttempt
          })
        }
        return delayUntil(step.until)
      case "WaitForCredentials":
        yield* repo.park(batch, {
          from,
          status: "waiting_reauth",
          eta: new Date(step.until),
          error: step.error,
          refundAttempt: step.refundAttempt
        })
        return delayUntil(step.until)
    }
  })
