import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { Config, Console, Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import postgres from "postgres"

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url))

export const BenchConfig = Config.all({
  databaseUrl: Config.redacted("DATABASE_URL").pipe(
    Config.withDefault(Redacted.make("postgres://postgres@127.0.0.1:5432/postgres"))
  ),
  redisUrl: Config.string("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379"))
})

/** A finalizer step that reports its failure on stderr and never masks the run's own outcome. */
export const cleanup = (what: string, run: () => Promise<unknown>) =>
  Effect.tryPromise(run).pipe(
    Effect.catchAll(error => Console.error(`cleanup of ${what} failed: ${String(error.cause)}`)),
    Effect.asVoid
  )

export const uniqueName = (label: string) => `bench_${label}_${randomBytes(4).toString("hex")}`

const withDatabase = (url: string, name: string) => {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

/**
 * A database name nobody uses yet, dropped (connections and all) when the scope closes. The daemon creates it when
 * it migrates; the bench only names it.
 */
export const scratchDatabase = (label: string) =>
  Effect.gen(function* () {
    const { databaseUrl } = yield* BenchConfig
    const name = uniqueName(label)
    const admin = withDatabase(Redacted.value(databaseUrl), "postgres")
    yield* Effect.addFinalizer(() =>
      cleanup(`database ${name}`, async () => {
        const sql = postgres(admin, { max: 1, onnotice: () => {} })
        try {
          await sql.unsafe(`drop database if exists "${name}" with (force)`)
        } finally {
          await sql.end({ timeout: 5 })
        }
      })
    )
    return { name, url: withDatabase(Redacted.value(databaseUrl), name) } as const
  })

/** A postgres.js pool closed with the scope. */
export const pool = (url: string, max = 2) =>
  Effect.acquireRelease(
    Effect.sync(() => postgres(url, { max, onnotice: () => {} })),
    sql => Effect.promise(() => sql.end({ timeout: 5 }))
  )

/** A Redis key prefix whose keys are deleted when the scope closes. */
export const scratchRedisPrefix = (label: string) =>
  Effect.gen(function* () {
    const { redisUrl } = yield* BenchConfig
    const prefix = `${uniqueName(label)}:`
    yield* Effect.addFinalizer(() =>
      cleanup(`Redis keys ${prefix}*`, async () => {
        const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
        try {
          let cursor = "0"
          do {
            const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
            cursor = next
            if (keys.length > 0) await redis.del(...keys)
          } while (cursor !== "0")
        } finally {
          redis.disconnect()
        }
      })
    )
    return { prefix, redisUrl } as const
  })
