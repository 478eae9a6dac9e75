import { CommandsRepo } from "@cliq-mirror/db"
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { DaemonConfig } from "../Config.js"
import { CommandQueue } from "./CommandQueue.js"
import { commandTiming } from "./Timing.js"

const BATCH = 1_000

/**
 * Finds every unfinished command that was handed to the queue but has no job any more — Redis lost its data, a job
 * was removed after stalling, a move to delayed failed, a process died — and adds its job again, delayed until the
 * command is due. A job added twice is one job (job id = command id), and PostgreSQL's claim keeps a command from
 * running twice, so sweeping can never do harm, only late.
 */
export const sweepOnce = Effect.gen(function* () {
  const repo = yield* CommandsRepo
  const queue = yield* CommandQueue
  let after = 0
  let readded = 0
  while (true) {
    const rows = yield* repo.enqueuedUnfinished(after, BATCH)
    if (rows.length === 0) return readded
    // A job that ended between the two reads is not missing: only commands still unfinished after the check count.
    const missing = new Set(yield* repo.unfinishedOf(yield* queue.missing(rows.map(r => r.id))))
    const now = yield* Clock.currentTimeMillis
    const stranded = rows.filter(r => missing.has(r.id))
    if (stranded.length > 0) {
      yield* queue.readd(
        stranded.map(r => ({
          job: { commandId: r.id, accountId: r.accountId },
          delayMs: Math.max(0, (r.eta?.getTime() ?? now) - now)
        }))
      )
      yield* Effect.logWarning("commands without a job re-enqueued", { count: stranded.length })
    }
    readded += stranded.length
    after = rows[rows.length - 1]!.intakeSeq
    if (rows.length < BATCH) return readded
  }
})

export const SweeperLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { sweepIntervalMs } = commandTiming((yield* DaemonConfig).timeScale)
    const loop = sweepOnce.pipe(
      Effect.catchAllCause(cause => Effect.logWarning("command sweep failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.millis(sweepIntervalMs)))
    )
    yield* Effect.forkScoped(loop)
  })
)
