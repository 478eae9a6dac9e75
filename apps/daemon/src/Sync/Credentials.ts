import { type Account, credentialsFingerprint, loadAccounts } from "@cliq-mirror/core"
import { SyncStateRepo } from "@cliq-mirror/db"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Duration, Effect, Exit, Option, Schedule } from "effect"
import { Upstream } from "../Upstream.js"

/** Re-checks of refused credentials: a minute, doubling, at most half an hour apart (both time-scaled). */
export const credentialsRecheck = (unit: Duration.DurationInput) => {
  const base = Duration.toMillis(unit)
  return Schedule.exponential(Duration.millis(60 * base), 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(30 * 60 * base)))
  )
}

/** The account as the configuration now describes it, when its credentials changed since they were refused. */
const reconfigured = (account: Account) =>
  loadAccounts.pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.map(all => Option.fromNullable(all.find(a => a.id === account.id))),
    Effect.map(Option.filter(latest => credentialsFingerprint(latest.auth) !== credentialsFingerprint(account.auth))),
    Effect.orElseSucceed(() => Option.none<Account>())
  )

/**
 * Returns at once while the account's credentials work. Once they are refused, every stream of the account waits
 * here: the state is stored (`/v1/sync/status` shows `needs_reauthorisation`) and logged once, then one fiber
 * re-checks on `recheck` — a changed configuration is taken at once; otherwise one cheap call, which the token
 * provider answers itself while the refresh token is known to be refused (the token endpoint is not called).
 */
export const awaitCredentials = (account: Account, recheck: Schedule.Schedule<unknown>) =>
  Effect.gen(function* () {
    const upstream = yield* Upstream
    if (upstream.credentials.problem(account.id) === undefined) return
    yield* upstream.credentials.gate(account.id).withPermits(1)(
      Effect.gen(function* () {
        const repo = yield* SyncStateRepo
        const first = upstream.credentials.problem(account.id)
        if (first === undefined) return
        yield* Effect.logWarning("credentials refused: streams paused until new credentials work", {
          reason: first.reason
        })
        yield* repo
          .recordCredentials(account.id, "needs_reauthorisation", {
            reason: first.reason,
            since: new Date(first.since)
          })
          .pipe(Effect.catchAll(e => Effect.logWarning("cannot store the credentials state", e)))
        const driver = yield* Schedule.driver(recheck)
        while (upstream.credentials.problem(account.id) !== undefined) {
          yield* driver.next(undefined).pipe(Effect.ignore)
          const latest = yield* reconfigured(upstream.credentials.current(account))
          if (Option.isSome(latest)) {
            yield* upstream.credentials.replace(latest.value)
            yield* Effect.logInfo("credentials changed in the configuration; trying them")
          }
          const probed = yield* Effect.exit(upstream.probe(account))
          if (Exit.isSuccess(probed)) yield* upstream.credentials.clear(account.id)
        }
        yield* repo
          .recordCredentials(account.id, "ok")
          .pipe(Effect.catchAll(e => Effect.logWarning("cannot store the credentials state", e)))
        yield* Effect.logInfo("credentials work again: streams resume")
      })
    )
  })
