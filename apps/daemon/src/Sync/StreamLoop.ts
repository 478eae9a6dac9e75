import type { Account } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import { Cause, Duration, Effect, Option, Predicate, Schedule } from "effect"
import { Upstream } from "../Upstream.js"
import { awaitCredentials, credentialsRecheck } from "./Credentials.js"

export interface LoopSettings {
  /** Pause after a pass that did its work. */
  readonly every: Duration.DurationInput
  /** Pause after a failed pass: doubles per consecutive failure, capped. */
  readonly backoffBase: Duration.DurationInput
  readonly backoffCap: Duration.DurationInput
}

/** Exponential from `backoffBase`, jittered, never above `backoffCap`; the loop restarts it after a success. */
export const failureBackoff = (settings: LoopSettings) =>
  Schedule.exponential(settings.backoffBase, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.decode(settings.backoffCap)))
  )

const field = (e: object, name: "code" | "message" | "_tag"): string | undefined => {
  const value: unknown = Predicate.hasProperty(e, name) ? e[name] : undefined
  return typeof value === "string" ? value : undefined
}

export const describeFailure = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && Predicate.isObject(failure.value)) {
    const e = failure.value
    return { code: field(e, "code") ?? field(e, "_tag") ?? "error", message: field(e, "message") ?? String(e) }
  }
  if (Option.isSome(failure)) return { code: "error", message: String(failure.value) }
  return { code: "defect", message: Cause.pretty(cause).split("\n")[0] ?? "defect" }
}

/**
 * Runs one stream of one account forever. A failed pass is recorded in sync_state under the stream's own name
 * (visible in /v1/sync/status until the next success clears it), then waits on `failureBackoff`, which a success
 * resets; it never stops the account's other streams. While the account's credentials are refused the stream is
 * paused (`paused_credentials`) instead of backing off.
 */
export const streamLoop = <R>(
  account: Account,
  stream: string,
  pass: Effect.Effect<unknown, unknown, R>,
  settings: LoopSettings
) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const upstream = yield* Upstream
    const backoff = yield* Schedule.driver(failureBackoff(settings))
    const recheck = credentialsRecheck(settings.backoffBase)
    let failures = 0
    while (true) {
      yield* awaitCredentials(account, recheck)
      const exit = yield* Effect.exit(pass)
      if (exit._tag === "Success") {
        if (failures > 0) yield* repo.recordSuccess(account.id, stream).pipe(Effect.ignore)
        failures = 0
        yield* backoff.reset
        yield* Effect.sleep(settings.every)
        continue
      }
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      failures++
      const error = describeFailure(exit.cause)
      if (upstream.credentials.problem(account.id) !== undefined) {
        yield* repo.recordFailure(account.id, stream, error, "paused_credentials").pipe(Effect.ignore)
        continue
      }
      yield* Effect.logWarning("sync pass failed; backing off", { stream, failures, ...error })
      yield* repo.recordFailure(account.id, stream, error).pipe(Effect.ignore)
      yield* backoff.next(undefined).pipe(Effect.ignore)
    }
  }).pipe(Effect.annotateLogs({ account: account.id, stream }))
