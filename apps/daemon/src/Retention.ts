import { integerSetting } from "@cliq-mirror/core"
import { Database } from "@cliq-mirror/db"
import { Config, Effect, Layer, Schedule } from "effect"
import { retentionPruned } from "./Metrics.js"

export const RetentionConfig = Config.all({
  /** Finished commands (succeeded, failed, cancelled) older than this many days are deleted. */
  days: integerSetting("COMMANDS_RETENTION_DAYS", 30, 1),
  intervalMs: integerSetting("RETENTION_INTERVAL_MS", 3_600_000, 1000, " (milliseconds)")
})

/** Rows per delete: short transactions that never hold many row locks at once. */
export const PRUNE_BATCH = 1000

/**
 * Deletes finished commands completed more than `days` ago, batch by batch (the partial index
 * `commands_finished_completed` finds them). Their CommandSucceeded/CommandFailed events stay in the log.
 */
export const pruneCommands = (days: number) =>
  Effect.gen(function* () {
    const database = yield* Database
    let total = 0
    for (;;) {
      const deleted = yield* database.use(
        (_, sql) => sql`
          delete from commands where id in (
            select id from commands
            where status in ('succeeded', 'failed', 'cancelled')
              and completed_at < now() - make_interval(days => ${days})
            limit ${PRUNE_BATCH})`
      )
      total += deleted.count
      if (deleted.count < PRUNE_BATCH) break
    }
    retentionPruned.inc(total)
    return total
  })

/** Prunes at start and every RETENTION_INTERVAL_MS; a failed pass is logged and tried again at the next. */
export const RetentionLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { days, intervalMs } = yield* RetentionConfig
    const pass = pruneCommands(days).pipe(
      Effect.tap(n =>
        n > 0 ? Effect.logInfo("finished commands pruned").pipe(Effect.annotateLogs({ n, days })) : Effect.void
      ),
      Effect.catchAll(error =>
        Effect.logWarning("command retention failed").pipe(Effect.annotateLogs({ error: String(error) }))
      )
    )
    yield* Effect.forkScoped(Effect.repeat(pass, Schedule.spaced(intervalMs)))
  })
)
