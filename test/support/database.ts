import { randomBytes } from "node:crypto"
import { Effect, Layer } from "effect"
import postgres from "postgres"
import { inject } from "vitest"
import { databaseUrlFor } from "./urls.js"

export interface TestDatabase {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

/** A fresh database for one test file, cloned from the migrated template made by the global setup. */
export const createTestDatabase = async (): Promise<TestDatabase> => {
  const base = inject("databaseUrl")
  const template = inject("templateDatabase")
  const name = `cliq_test_${randomBytes(6).toString("hex")}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`)
        break
      } catch (error) {
        // Two clones of one template at the same instant can collide; a short retry settles it.
        if (attempt >= 20) throw error
        await new Promise(resolve => setTimeout(resolve, 50 + Math.random() * 100))
      }
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
  return {
    name,
    url: databaseUrlFor(base, name),
    drop: async () => {
      const sql = postgres(base, { max: 1, onnotice: () => {} })
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await sql.end({ timeout: 5 })
      }
    }
  }
}

/** The same as a scoped Effect: the database is dropped when the scope closes. */
export const testDatabase = Effect.acquireRelease(
  Effect.promise(() => createTestDatabase()),
  db => Effect.promise(() => db.drop())
)

export class TestDatabaseUrl extends Effect.Tag("test/TestDatabaseUrl")<TestDatabaseUrl, string>() {}
export const TestDatabaseUrlLive = Layer.scoped(
  TestDatabaseUrl,
  Effect.map(testDatabase, db => db.url)
)

/** A small postgres.js client of the test's own, ended when the scope closes. */
export const scopedSql = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => postgres(url, { max: 2, onnotice: () => {} })),
    sql => Effect.promise(() => sql.end({ timeout: 5 }))
  )
