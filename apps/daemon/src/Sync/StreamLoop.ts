import type { Account } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import { Cause, Duration, Effect } from "effect"

export interface LoopSettings {
  /** Pause after a pass that did its work. */
  readonly every: Duration.DurationInput
  /** Pause after a failed pass: doubles per consecutive failure, capped. */
  readonly backoffBase: Duration.DurationInput
  readonly backoffCap: Duration.DurationInput
}

const describe = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const e = failure.value as { _tag?: string; code?: string; message?: string }
    return { code: e.code ?? e._tag ?? "error", message: e.message ?? String(e) }
  }
  return { code: "defect", message: Cause.pretty(cause).split("\n")[0] ?? "defect" }
}

/**
 * Runs one stream of one account forever: a failed pass is recorded in sync_state (visible in /v1/sync/status),
 * backs off exponentially and never stops the account's other streams.
 */
export const streamLoop = <R>(
  account: Account,
  stream: string,
  pass: Effect.Effect<unknown, unknown, R>,
  settings: LoopSettings
) =>
  Effect.gen(function* () {
    const repo = yield* SyncStateRepo
    let failures = 0
    while (true) {
      const exit = yield* Effect.exit(pass)
      if (exit._tag === "Success") {
        failures = 0
        yield* Effect.sleep(settings.every)
        continue
      }
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      failures++
      const error = describe(exit.cause)
      yield* Effect.logWarning("sync pass failed; backing off", { stream, failures, ...error })
      yield* repo.recordFailure(account.id, stream, error).pipe(Effect.ignore)
      const delay = Math.min(
        Duration.toMillis(settings.backoffCap),
        Duration.toMillis(settings.backoffBase) * 2 ** Math.min(failures - 1, 20)
      )
      yield* Effect.sleep(Duration.millis(delay * (0.75 + Math.random() * 0.5)))
    }
  }).pipe(Effect.annotateLogs({ account: account.id, stream }))
