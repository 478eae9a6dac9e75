import { Database } from "@cliq-mirror/db"
import * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Layer, Option, Schedule } from "effect"
import { HeartbeatConfig } from "./Config.js"
import { type AccountHealth, makeScrape } from "./MetricsServer.js"
import { Upstream } from "./Upstream.js"

/**
 * With DAEMON_HEARTBEAT_FILE set, the daemon rewrites that file (`{"at":…,"postgres":"ok","redis":"ok","sync":"ok"|
 * "degraded","accounts":[…]}`, the accounts as /healthz on METRICS_PORT judges them) every
 * DAEMON_HEARTBEAT_INTERVAL_MS while both Postgres and Redis answer it. A supervisor tells a live daemon from a stuck
 * or cut-off one by the file's age (docker-compose.yml's healthcheck does). Written to a temporary name and renamed,
 * so a reader never sees half a file.
 */
export const HeartbeatLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { file, intervalMs } = yield* HeartbeatConfig
    if (Option.isNone(file)) return
    const path = file.value
    const fs = yield* FileSystem.FileSystem
    const database = yield* Database
    const { budget } = yield* Upstream
    const { health } = yield* makeScrape
    const write = (sync: { readonly ok: boolean; readonly accounts: ReadonlyArray<AccountHealth> }) =>
      Effect.gen(function* () {
        yield* fs.writeFileString(
          `${path}.tmp`,
          JSON.stringify({
            at: new Date().toISOString(),
            postgres: "ok",
            redis: "ok",
            sync: sync.ok ? "ok" : "degraded",
            accounts: sync.accounts
          })
        )
        yield* fs.rename(`${path}.tmp`, path)
      })
    const beat = Effect.gen(function* () {
      yield* database.ping
      yield* budget.usage({ key: "heartbeat", bucket: "chats.get" })
      const sync = yield* health
      // Whole or not at all: a stop that lands mid-write waits for the rename, so the removal below comes after it.
      yield* Effect.uninterruptible(write(sync))
    }).pipe(
      Effect.catchAll(error =>
        Effect.logWarning("heartbeat skipped").pipe(Effect.annotateLogs({ reason: String(error) }))
      )
    )
    // Finalizers run in reverse: the beat is stopped first, then the file removed (a supervisor sees a stopped daemon).
    yield* Effect.addFinalizer(() => fs.remove(path).pipe(Effect.ignore))
    yield* Effect.forkScoped(Effect.repeat(beat, Schedule.spaced(intervalMs)))
  })
)
