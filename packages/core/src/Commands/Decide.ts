import { Data } from "effect"
import { OPERATION_BY_ID } from "../Cliq/Operations.js"
import { COMMAND_OPERATION, type CommandStatus, type CommandType, isFinal } from "../Domain/Commands.js"
import { estimateEta } from "./Eta.js"
import { type AttemptError, type ErrorInfo, errorInfo, failureKind } from "./Failure.js"

export const MAX_ATTEMPTS = 6

/** The stored facts of a command that its next step depends on (times in epoch ms). */
export interface CommandFacts {
  readonly type: CommandType
  readonly status: CommandStatus
  readonly attempts: number
  readonly lastError: ErrorInfo | null
  readonly eta: number | null
  readonly leaseUntil: number | null
  /** An earlier attempt may have taken effect unseen: a non-idempotent command is checked before it is sent again. */
  readonly needsCheck: boolean
}

/** The waits of the pipeline, already scaled (CLIQ_TIME_SCALE). */
export interface Timing {
  /** How often a command waiting for an earlier one of its chat looks again (it is also woken when that one ends). */
  readonly orderPollMs: number
  /** How often a command of an account with revoked credentials looks whether they work again. */
  readonly reauthRecheckMs: number
  /** A throttle answer without a known lock end: the wait. */
  readonly throttleFallbackMs: number
}

export interface Surroundings {
  readonly accountKnown: boolean
  readonly credentialsRevoked: boolean
  /** An earlier command on one of its chats is unfinished. */
  readonly predecessor: boolean
  readonly timing: Timing
}

/**
 * The next step of a command. `Delay.mark` is the status the command waits in (null: its row stays as it is);
 * `refundAttempt` gives back the attempt its claim counted (waits that are not the command's fault).
 */
export type Step = Data.TaggedEnum<{
  Skip: {}
  Fail: { readonly error: ErrorInfo }
  Delay: {
    readonly until: number
    readonly mark: "queued" | "waiting_rate_limit" | null
    readonly error: ErrorInfo | null
    readonly needsCheck: boolean
    readonly refundAttempt: boolean
  }
  WaitForCredentials: { readonly until: number; readonly error: ErrorInfo | null; readonly refundAttempt: boolean }
  Claim: { readonly verifyFirst: boolean; readonly reclaim: boolean }
  Send: {}
  Settle: {}
}>
export const Step = Data.taggedEnum<Step>()

const idempotent = (type: CommandType) => OPERATION_BY_ID[COMMAND_OPERATION[type]].idempotent

const stay = (until: number, command: CommandFacts) =>
  Step.Delay({ until, mark: null, error: null, needsCheck: command.needsCheck, refundAttempt: false })

/** A running command whose lease has passed: its attempt is presumed dead, and another may take it over. */
export const isStalled = (command: Pick<CommandFacts, "status" | "leaseUntil">, now: number): boolean =>
  command.status === "running" && (command.leaseUntil === null || command.leaseUntil <= now)

/** Before any budget is spent: whether (and how) the command may be attempted now. */
export const decide = (command: CommandFacts, state: Surroundings, now: number): Step => {
  if (isFinal(command.status)) return Step.Skip()
  // Another worker holds the attempt until its lease ends (a process that knows the account, maybe not this one).
  if (command.status === "running" && !isStalled(command, now)) return stay(command.leaseUntil! + 100, command)
  if (!state.accountKnown)
    return Step.Fail({ error: { code: "unknown_account", message: "account is not configured" } })
  if (command.status === "running") {
    // The attempt is presumed dead, its outcome unknown. Several commands of one chat left running by one dead call
    // are taken over one at a time in intake order, as they would have been claimed: the earliest first.
    if (state.predecessor) return stay(now + state.timing.orderPollMs, command)
    return Step.Claim({ verifyFirst: !idempotent(command.type), reclaim: true })
  }
  if (state.predecessor) return stay(now + state.timing.orderPollMs, command)
  if (state.credentialsRevoked) {
    return Step.WaitForCredentials({ until: now + state.timing.reauthRecheckMs, error: null, refundAttempt: false })
  }
  if (command.status !== "waiting_reauth" && command.eta !== null && command.eta > now)
    return stay(command.eta, command)
  return Step.Claim({ verifyFirst: command.needsCheck && !idempotent(command.type), reclaim: false })
}

export interface Refusal {
  /** Waiting commands of its bucket and budget key taken in before it. */
  readonly ahead: number
  readonly carry: number
  readonly threshold: number
  readonly periodMs: number
  /** When the budget's next slot frees, on the local clock. */
  readonly freesAt: number
}

/** The budget refused the slot: wait for this command's turn among those of its bucket (waiting_rate_limit). */
export const onRefused = (command: CommandFacts, refusal: Refusal, now: number, error: ErrorInfo | null = null): Step =>
  Step.Delay({
    until: estimateEta({
      ahead: refusal.ahead,
      carry: refusal.carry,
      threshold: refusal.threshold,
      periodMs: refusal.periodMs,
      counted: refusal.threshold,
      now,
      lockedUntil: null,
      freesAt: refusal.freesAt,
      stored: null
    }),
    mark: "waiting_rate_limit",
    error,
    needsCheck: command.needsCheck,
    refundAttempt: false
  })

export type Outcome =
  | { readonly _tag: "Succeeded" }
  | {
      readonly _tag: "Failed"
      readonly error: AttemptError
      /** The bucket's lock end after a throttle answer, on the local clock, when the budget knows it. */
      readonly lockedUntil: number | null
    }

export interface AfterFailure {
  readonly backoffMs: number
  readonly timing: Timing
}

const waitFor = (command: CommandFacts, error: AttemptError, lockedUntil: number | null, now: number, t: Timing) => {
  const kind = failureKind(error)
  if (kind === "throttled") {
    return Step.Delay({
      until: lockedUntil ?? now + t.throttleFallbackMs,
      mark: "waiting_rate_limit",
      error: errorInfo(error),
      needsCheck: command.needsCheck,
      refundAttempt: true
    })
  }
  if (kind === "reauth") {
    return Step.WaitForCredentials({ until: now + t.reauthRecheckMs, error: errorInfo(error), refundAttempt: true })
  }
  return undefined
}

/** After the check that precedes re-sending a non-idempotent command. */
export type Check =
  | { readonly _tag: "Present" }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Unanswered"; readonly error: AttemptError; readonly lockedUntil: number | null }

export const afterCheck = (command: CommandFacts, check: Check, now: number, next: AfterFailure): Step => {
  if (check._tag === "Present") return Step.Settle()
  if (check._tag === "Absent") return Step.Send()
  const info = errorInfo(check.error)
  const pending = { code: "verification_pending", message: `not re-sent until a check answers: ${info.message}` }
  const waiting = waitFor({ ...command, needsCheck: true }, check.error, check.lockedUntil, now, next.timing)
  if (waiting !== undefined) {
    return waiting._tag === "Delay" ? Step.Delay({ ...waiting, error: pending }) : waiting
  }
  if (command.attempts >= MAX_ATTEMPTS) return Step.Fail({ error: { code: "outcome_unknown", message: info.message } })
  return Step.Delay({
    until: now + next.backoffMs,
    mark: "queued",
    error: pending,
    needsCheck: true,
    refundAttempt: false
  })
}

/** After the call: settle, fail for good, or wait (budget lock, credentials, backoff) keeping what must be checked. */
export const afterAttempt = (command: CommandFacts, outcome: Outcome, now: number, next: AfterFailure): Step => {
  if (outcome._tag === "Succeeded") return Step.Settle()
  const { error } = outcome
  const waiting = waitFor(command, error, outcome.lockedUntil, now, next.timing)
  if (waiting !== undefined) return waiting
  const kind = failureKind(error)
  const info = errorInfo(error)
  // An attempt whose outcome is unknown is recorded as such: a later attempt (or an operator's retry) checks first.
  const recorded = kind === "unknown_outcome" ? { code: "outcome_unknown", message: info.message } : info
  if (kind === "permanent" || command.attempts >= MAX_ATTEMPTS) return Step.Fail({ error: recorded })
  return Step.Delay({
    until: now + next.backoffMs,
    mark: "queued",
    error: recorded,
    needsCheck: kind === "unknown_outcome",
    refundAttempt: false
  })
}
