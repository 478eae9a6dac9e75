import { DelayedError, Worker } from "bullmq"
import { Clock, Effect, Layer, Runtime } from "effect"
import { CommandConcurrency, DaemonConfig } from "../Config.js"
import { COMMAND_QUEUE } from "../RedisConfig.js"
import { type CommandJob, CommandQueue } from "./CommandQueue.js"
import { Credentials } from "./Credentials.js"
import { type JobResult, processCommand, retryShortly } from "./ProcessCommand.js"
import { SweeperLive } from "./Sweeper.js"
import { commandTiming } from "./Timing.js"

/**
 * The BullMQ worker as a scoped resource. `processCommand` is plain Effect code; only here is its result turned into
 * BullMQ terms: a wait (budget, lock, ordering, backoff, credentials) moves the job to delayed without spending an
 * attempt. Infrastructure failures never fail a job (that would drop the command): they delay it instead; a job lost
 * anyway (Redis wiped, a failed move) is the sweeper's to re-add.
 */
const WorkerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const queue = yield* CommandQueue
    const concurrency = yield* CommandConcurrency
    // A job whose process died is handed back after this long (BullMQ's stall check), scaled like every wait. The
    // check runs four times per lock period: a stalled job is seen two checks after its lock ended, not two locks.
    const lock = Math.min(30_000, commandTiming((yield* DaemonConfig).timeScale).leaseMs)
    const stalledInterval = Math.ceil(lock / 4)
    type Deps = Effect.Effect.Context<ReturnType<typeof processCommand>>
    const runtime = yield* Effect.runtime<Deps>()
    const run = Runtime.runPromise(runtime)
    const handle = (commandId: string): Effect.Effect<JobResult, never, Deps> =>
      processCommand(commandId).pipe(
        Effect.catchAllCause(cause =>
          Effect.logError("command attempt failed inside the daemon; retrying shortly", cause).pipe(
            Effect.zipRight(retryShortly())
          )
        ),
        Effect.annotateLogs({ commandId })
      )
    const connection = queue.connection.duplicate({ maxRetriesPerRequest: null })
    const worker = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Worker<CommandJob>(
            COMMAND_QUEUE,
            async (job, token) => {
              const result = await run(handle(job.data.commandId))
              if (result._tag === "Delay") {
                const at = await run(Clock.currentTimeMillis)
                await job.moveToDelayed(Math.max(result.until, at + 1), token)
                throw new DelayedError()
              }
            },
            { connection, prefix: queue.prefix, concurrency, autorun: true, lockDuration: lock, stalledInterval }
          )
      ),
      w =>
        Effect.promise(() => w.close()).pipe(
          Effect.zipRight(Effect.promise(() => connection.quit().catch(() => undefined)))
        )
    )
    worker.on("error", error =>
      Runtime.runFork(runtime)(Effect.logWarning("command worker error", { error: error.message }))
    )
  })
)

/** The worker and the sweeper that re-adds lost jobs: one without the other could strand a command. */
export const CommandWorkerLive = Layer.mergeAll(WorkerLive, SweeperLive).pipe(Layer.provide(Credentials.Default))
