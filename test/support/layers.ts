import { Database } from "@cliq-mirror/db"
import { ConfigProvider, Effect, Layer } from "effect"
import { testDatabase } from "./database.js"

/** Config for a test: the given variables and nothing from the process environment. */
export const testConfig = (vars: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

/** A `Database` service over a fresh migrated database, dropped when the layer is released. */
export const DatabaseTest = Layer.unwrapScoped(
  Effect.map(testDatabase, db => Database.Default.pipe(Layer.provide(testConfig({ DATABASE_URL: db.url }))))
)
