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
    /** Adds jobs again, each delayed until its command is due (job id = command id: a live job is left as it is). */
    const readd = (jobs: ReadonlyArray<{ readonly job: CommandJob; readonly delayMs: number }>) =>
      use(q =>
        q.addBulk(
          jobs.map(({ job, delayMs }) => ({
            name: "command",
            data: job,
            opts: { ...JOB_OPTIONS, jobId: job.commandId, ...(delayMs > 0 ? { delay: delayMs } : {}) }
          }))
        )
      )
    /** Of these command ids, those without a job in Redis (wiped, removed after stalling, never moved). */
    const missing = (commandIds: ReadonlyArray<string>) =>
      use(async q => {
        if (commandIds.length === 0) return []
        const pipeline = connection.pipeline()
        for (const id of commandIds) pipeline.exists(q.toKey(id))
        const answers = (await pipeline.exec()) ?? []
        return commandIds.filter((_, i) => {
          const [error, found] = answers[i] ?? [null, 0]
          if (error) throw error
          return found === 0
        })
      })
    /** Wakes a delayed job now (its predecessor on the chat just finished). */
    const promote = (commandId: string) =>
      use(async q => {
        const job = await q.getJob(commandId)
        if (job && (await job.isDelayed())) await job.promote()
      }).pipe(Effect.catchAll(e => Effect.logDebug("promote skipped", { commandId, error: e.message })))
    /**
     * Removes the jobs of commands another job's call carries (coalescing), so that they are not each fetched, locked
     * and run only to find their command running or done. A job being run right now is locked and stays (it ends on
     * its own); an unfinished command left without a job is the sweeper's to re-add.
     */
    const removeJobs = (commandIds: ReadonlyArray<string>) =>
      commandIds.length === 0
        ? Effect.void
        : use(q => Promise.all(commandIds.map(id => q.remove(id).catch(() => 0)))).pipe(
            Effect.catchAll(e => Effect.logDebug("job removal skipped", { error: e.message })),
            Effect.asVoid
          )
    /** Whether a job with this id is waiting to run (so adding it again was a no-op that still leaves it to run). */
    const isPending = (commandId: string) =>
      use(async q => ["waiting", "delayed", "prioritized", "waiting-children"].includes(await q.getJobState(commandId)))
    return { enqueue, readd, missing, promote, removeJobs, isPending, connection, prefix: bullPrefix(prefix) } as const
  })
}) {}
