import { Queue } from "bullmq"
import { Data, Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import { COMMAND_QUEUE, RedisPrefix, RedisUrl } from "../RedisConfig.js"

export class QueueError extends Data.TaggedError("QueueError")<{ readonly cause: unknown }> {
  override get message() {
    return this.cause instanceof Error ? this.cause.message : String(this.cause)
  }
}

export interface CommandJob {
  readonly commandId: string
  readonly accountId: string
}

/** Finished jobs are removed: the command row in Postgres is the record, and a retried command re-uses its job id. */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true } as const

export const bullPrefix = (prefix: string) => `${prefix}bull`

export class CommandQueue extends Effect.Service<CommandQueue>()("@cliq-mirror/daemon/CommandQueue", {
  scoped: Effect.gen(function* () {
    const url = yield* RedisUrl
    const prefix = yield* RedisPrefix
    const connection = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(Redacted.value(url), { maxRetriesPerRequest: null, enableOfflineQueue: true })),
      redis => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
    )
    const queue = yield* Effect.acquireRelease(
      Effect.sync(() => new Queue<CommandJob>(COMMAND_QUEUE, { connection, prefix: bullPrefix(prefix) })),
      q => Effect.promise(() => q.close())
    )
    const use = <A>(f: (q: Queue<CommandJob>) => Promise<A>) =>
      Effect.tryPromise({ try: () => f(queue), catch: cause => new QueueError({ cause }) })
    /** Job id = command id: adding a command twice adds one job. */
    const enqueue = (jobs: ReadonlyArray<CommandJob>) =>
      use(q =>
        q.addBulk(jobs.map(data => ({ name: "command", data, opts: { ...JOB_OPTIONS, jobId: data.commandId } })))
      )
    /** Wakes a delayed job now (its predecessor on the chat just finished). */
    const promote = (commandId: string) =>
      use(async q => {
        const job = await q.getJob(commandId)
        if (job && (await job.isDelayed())) await job.promote()
      }).pipe(Effect.catchAll(e => Effect.logDebug("promote skipped", { commandId, error: e.message })))
    /** Whether a job with this id is waiting to run (so adding it again was a no-op that still leaves it to run). */
    const isPending = (commandId: string) =>
      use(async q => ["waiting", "delayed", "prioritized", "waiting-children"].includes(await q.getJobState(commandId)))
    return { enqueue, promote, isPending, connection, prefix: bullPrefix(prefix) } as const
  })
}) {}
