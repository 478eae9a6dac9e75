import { LoggingLive, reportSettingErrors } from "@cliq-mirror/core"
import * as PlatformConfigProvider from "@effect/platform/PlatformConfigProvider"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Redacted } from "effect"
import { DatabaseUrl } from "./DatabaseConfig.js"
import { migrateDatabase } from "./Migrator.js"

Effect.gen(function* () {
  const url = yield* DatabaseUrl
  yield* migrateDatabase(Redacted.value(url))
  yield* Effect.logInfo("migrations applied")
}).pipe(
  reportSettingErrors,
  Effect.provide(
    Layer.mergeAll(LoggingLive, PlatformConfigProvider.layerDotEnvAdd(".env")).pipe(Layer.provide(NodeContext.layer))
  ),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
