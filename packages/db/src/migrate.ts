import { NodeRuntime } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import { DatabaseUrl } from "./DatabaseConfig.js"
import { migrateDatabase } from "./Migrator.js"

Effect.gen(function* () {
  const url = yield* DatabaseUrl
  yield* migrateDatabase(Redacted.value(url))
  yield* Effect.logInfo("migrations applied")
}).pipe(NodeRuntime.runMain({ disableErrorReporting: false }))
