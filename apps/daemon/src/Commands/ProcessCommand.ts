import { commandChatIds, decide, isFinal, isStalled } from "@cliq-mirror/core"
import { CommandsRepo } from "@cliq-mirror/db"
import { Clock, Effect } from "effect"
import { Accounts } from "../Accounts.js"
import { DaemonConfig } from "../Config.js"
import { applyStep, DONE, delayUntil, type JobResult } from "./Apply.js"
import { attempt, factsOf } from "./Attempt.js"
import { Credentials } from "./Credentials.js"
import { commandTiming } from "./Timing.js"

export type { JobResult } from "./Apply.js"

/**
 * One BullMQ job = one command id. Loads the row, gathers what the decider needs (is the account configured, are its
 * credentials revoked, is an earlier command of one of its chats unfinished) and does the step it names. Every rule
 * lives in core's `decide` / `afterCheck` / `afterAttempt`; this shell only reads and writes.
 */
export const processCommand = Effect.fn("Commands.process")(function* (commandId: string) {
  const repo = yield* CommandsRepo
  const accounts = yield* Accounts
  const credentials = yield* Credentials
  const timing = commandTiming((yield* DaemonConfig).timeScale)

  const loaded = yield* repo
    .load(commandId)
    .pipe(
      Effect.catchTag("CommandRowInvalid", invalid =>
        Effect.as(
          Effect.zipRight(
            Effect.logError("command row does not decode; failed", { field: invalid.field, message: invalid.message }),
            repo.failUndecodable(invalid)
          ),
          undefined
        )
      )
    )
  if (loaded === undefined) return DONE
  const command = loaded
  const account = accounts.get(command.accountId)
  // Facts the decider would not look at are not gathered: most jobs of a large coalesced drain find their command
  // finished already, and two queries each for those made the drain slow.
  const now = yield* Clock.currentTimeMillis
  const settledOrRunning = isFinal(command.status) || command.status === "running"
  // A running command whose lease has passed is taken over only after the earlier commands of its chats.
  const predecessor =
    settledOrRunning && !isStalled(factsOf(command), now)
      ? false
      : yield* repo.hasPredecessor(command.accountId, commandChatIds(command), command.intakeSeq)
  const revoked = account === undefined || settledOrRunning ? false : yield* credentials.revoked(account)
  const step = decide(
    factsOf(command),
    { accountKnown: account !== undefined, credentialsRevoked: revoked, predecessor, timing },
    now
  )
  if (step._tag === "Claim" && account !== undefined) return yield* attempt(account, command, step, timing)
  if (step._tag === "Delay" && step.mark === null) return delayUntil(step.until)
  // Read, not claimed: a command another job's call has claimed since is that call's to settle or park.
  return yield* applyStep(command.accountId, [command], step, "waiting", command.id)
})

export const retryShortly = (): Effect.Effect<JobResult> =>
  Effect.map(Clock.currentTimeMillis, now => delayUntil(now + 5_000))
