import { Database, makeDatabase } from "@cliq-mirror/db"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { TestDatabaseUrl, testDatabase } from "./database.js"

/** Config for a test: the given variables and nothing from the process environment. */
export const testConfig = (vars: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

/**
 * The one test database layer: a `Database` service over a fresh migrated database (dropped when the layer is
 * released), and its URL as `TestDatabaseUrl` for tests that open their own connections. It reads no config, so it
 * composes with a test's own config provider.
 */
export const DatabaseTest = Layer.unwrapScoped(
  Effect.map(testDatabase, db =>
    Layer.merge(
      Layer.scoped(Database, Effect.map(makeDatabase({ url: Redacted.make(db.url) }), Database.make)),
      Layer.succeed(TestDatabaseUrl, db.url)
    )
  )
)
