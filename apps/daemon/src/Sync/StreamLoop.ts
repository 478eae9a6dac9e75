import type { Account } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import { Cause, Duration, Effect, Option, Predicate, Random } from "effect"
import { Upstream } from "../Upstream.js"
import { awaitCredentials, credentialsRecheck } from "./Credentials.js"

export interface LoopSettings<A = unknown> {
  /** Pause after a pass that did its work: fixed, or chosen by what the pass returned. */
  readonly every: Duration.DurationInput | ((result: A) => Duration.DurationInput)
  /** Pause after a failed pass: doubles per consecutive failure, capped. */
  readonly backoffBase: Duration.DurationInput
  readonly backoffCap: Duration.DurationInput
}

/**
 * The pause after the `failures`th failure in a row: `backoffBase` doubled per failure, jittered by `jitter` (a factor,
 * 0.8–1.2 as Schedule.jittered draws it), never above `backoffCap`. A success starts it over.
 */
export const failureDelayMs = (failures: number, baseMs: number, capMs: number, jitter: number): number =>
  Math.min(capMs, Math.round(baseMs * 2 ** Math.max(0, Math.min(failures - 1, 40)) * jitter))

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
 * One run of one stream of one account, and how long to wait before the next: the process's scheduler (Scheduler.ts)
 * runs it when due. A failed pass is recorded in sync_state under the stream's own name (visible in /v1/sync/status
 * until the next success clears it), then waits `failureDelayMs`, which a success resets; it never stops the account's
 * other streams. While the account's credentials are refused the stream is paused (`paused_credentials`) instead of
 * backing off. Built once per stream: it keeps the count of failures in a row.
 */
export const streamStep = <A, R>(
  account: Account,
  stream: string,
  pass: Effect.Effect<A, unknown, R>,
  settings: LoopSettings<A>
) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    const upstream = yield* Upstream
    const recheck = credentialsRecheck(settings.backoffBase)
    const baseMs = Duration.toMillis(settings.backoffBase)
    const capMs = Duration.toMillis(settings.backoffCap)
    const every = settings.every
    const after = (result: A): Duration.Duration => Duration.decode(typeof every === "function" ? every(result) : every)
    let failures = 0
    return Effect.gen(function* () {
      yield* awaitCredentials(account, recheck)
      const exit = yield* Effect.exit(pass)
      if (exit._tag === "Success") {
        if (failures > 0) yield* repo.recordSuccess(account.id, stream).pipe(Effect.ignore)
        failures = 0
        return after(exit.value)
      }
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      failures++
      const error = describeFailure(exit.cause)
      if (upstream.credentials.problem(account.id) !== undefined) {
        yield* repo.recordFailure(account.id, stream, error, "paused_credentials").pipe(Effect.ignore)
        return Duration.zero
      }
      yield* Effect.logWarning("sync pass failed; backing off", { stream, failures, ...error })
      yield* repo.recordFailure(account.id, stream, error).pipe(Effect.ignore)
      const jitter = 0.8 + 0.4 * (yield* Random.next)
      return Duration.millis(failureDelayMs(failures, baseMs, capMs, jitter))
    }).pipe(Effect.annotateLogs({ account: account.id, stream }))
  })
