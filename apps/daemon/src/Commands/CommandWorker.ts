import { DelayedError, Worker } from "bullmq"
import { Config, Effect, Layer, Runtime } from "effect"
import { COMMAND_QUEUE } from "../RedisConfig.js"
import { type CommandJob, CommandQueue } from "./CommandQueue.js"
import { type JobResult, processCommand } from "./ProcessCommand.js"

const Concurrency = Config.integer("COMMAND_CONCURRENCY").pipe(
  Config.withDefault(4),
  Config.validate({ message: "must be an integer from 1 to 64", validation: n => n >= 1 && n <= 64 })
)

/**
 * The BullMQ worker as a scoped resource. `processCommand` is plain Effect code; only here is its result turned into
 * BullMQ terms: a wait (budget, lock, ordering, backoff) moves the job to delayed without spending an attempt.
 * Infrastructure failures never fail a job (that would drop the command): they delay it instead.
 */
export const CommandWorkerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const queue = yield* CommandQueue
    const concurrency = yield* Concurrency
    type Deps = Effect.Effect.Context<ReturnType<typeof processCommand>>
    const runtime = yield* Effect.runtime<Deps>()
    const run = Runtime.runPromise(runtime)
    const handle = (commandId: string): Effect.Effect<JobResult, never, Deps> =>
      processCommand(commandId).pipe(
        Effect.catchAllCause(cause =>
          Effect.logError("command attempt failed inside the daemon; retrying shortly", cause).pipe(
            Effect.as<JobResult>({ _tag: "Delay", until: Date.now() + 5_000 })
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
                await job.moveToDelayed(Math.max(result.until, Date.now() + 1), token)
                throw new DelayedError()
              }
            },
            { connection, prefix: queue.prefix, concurrency, autorun: true }
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
