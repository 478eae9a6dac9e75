import { LoggingLive, launch } from "@cliq-mirror/core"
import { Database } from "@cliq-mirror/db"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { ApiRateBudgetLive } from "./BudgetStatus.js"
import { ApiSettings } from "./Config.js"
import { ApiLive } from "./Http.js"
import { Redis } from "./Redis.js"

ApiLive.pipe(
  Layer.provide(ApiRateBudgetLive),
  Layer.provide(Layer.mergeAll(Database.Default, Redis.Default)),
  launch(ApiSettings),
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
