import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import postgres from "postgres"
import { inject } from "vitest"
import { databaseUrlFor } from "../../../test/support/urls.js"
import { MIGRATIONS_FOLDER, migrateDatabase } from "../src/Migrator.js"

const dropDatabase = (name: string) =>
  Effect.promise(async () => {
    const admin = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end({ timeout: 5 })
  })

describe("migrateDatabase", () => {
  it.live("creates a missing database and applies every migration once, even from two processes at once", () => {
    const name = `cliq_migrate_${randomBytes(5).toString("hex")}`
    const url = databaseUrlFor(inject("databaseUrl"), name)
    return Effect.gen(function* () {
      yield* Effect.all([migrateDatabase(url), migrateDatabase(url), migrateDatabase(url)], { concurrency: 3 })
      yield* migrateDatabase(url)
      const rows = yield* Effect.promise(async () => {
        const sql = postgres(url, { max: 1, onnotice: () => {} })
        try {
          const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`
          const tables = await sql`
            select table_name from information_schema.tables where table_schema = 'public' order by table_name`
          return { applied: applied[0]!.n as number, tables: tables.map(t => t.table_name as string) }
        } finally {
          await sql.end({ timeout: 5 })
        }
      })
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
        entries: Array<unknown>
      }
      assert.isAbove(journal.entries.length, 0)
      assert.strictEqual(rows.applied, journal.entries.length)
      assert.includeMembers(rows.tables, ["accounts", "chat_members", "chats", "commands", "events", "sync_state"])
    }).pipe(Effect.ensuring(dropDatabase(name)))
  })

  it.live("names the database when the server cannot be reached", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(migrateDatabase("postgres://postgres@127.0.0.1:1/cliq_unreachable"))
      assert.strictEqual(error._tag, "MigrationError")
      assert.include(error.message, "cliq_unreachable")
    })
  )
})
