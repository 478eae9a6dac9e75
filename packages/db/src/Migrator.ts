import { fileURLToPath } from "node:url"
import { drizzle } from "drizzle-orm/postgres-js"
import { migrate } from "drizzle-orm/postgres-js/migrator"
import { Data, Effect, Predicate } from "effect"
import postgres from "postgres"

export class MigrationError extends Data.TaggedError("MigrationError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../migrations", import.meta.url))

/** Arbitrary constant: every migrating process queues on this advisory lock, so two at once is safe. */
const MIGRATION_LOCK = 727_274_001

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

const databaseName = (url: string): string => decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres"

const withMaintenanceDb = (url: string): string => {
  const u = new URL(url)
  u.pathname = "/postgres"
  return u.toString()
}

const ensureDatabase = (url: string) =>
  Effect.tryPromise({
    try: async () => {
      const name = databaseName(url)
      const admin = postgres(withMaintenanceDb(url), { max: 1, onnotice: () => {} })
      try {
        const found = await admin`select 1 from pg_database where datname = ${name}`
        if (found.length > 0) return
        try {
          await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`)
        } catch (error) {
          // Another process created it between our check and our create: that is fine.
          const code = Predicate.hasProperty(error, "code") ? error.code : undefined
          if (code !== "42P04" && code !== "23505") throw error
        }
      } finally {
        await admin.end({ timeout: 5 })
      }
    },
    catch: cause =>
      new MigrationError({ message: `cannot create database ${databaseName(url)}: ${describe(cause)}`, cause })
  })

const applyMigrations = (url: string) =>
  Effect.tryPromise({
    try: async () => {
      const sql = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK})`
        try {
          await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER })
        } finally {
          await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`
        }
      } finally {
        await sql.end({ timeout: 5 })
      }
    },
    catch: cause => new MigrationError({ message: `migration failed: ${describe(cause)}`, cause })
  })

/** Creates the database when missing, then applies pending migrations under an advisory lock. */
export const migrateDatabase = (url: string): Effect.Effect<void, MigrationError> =>
  ensureDatabase(url).pipe(Effect.zipRight(applyMigrations(url)), Effect.withSpan("Migrator.migrateDatabase"))
