import { launch } from "@cliq-mirror/core"
import { Database } from "@cliq-mirror/db"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Logger } from "effect"
import { ApiRateBudgetLive } from "./BudgetStatus.js"
import { MinimumLogLevel } from "./Config.js"
import { ApiLive } from "./Http.js"
import { Redis } from "./Redis.js"

const LoggerLive = Layer.unwrapEffect(Effect.map(MinimumLogLevel, Logger.minimumLogLevel))

const MainLive = ApiLive.pipe(
  Layer.provide(ApiRateBudgetLive),
  Layer.provide(Layer.mergeAll(Database.Default, Redis.Default)),
  Layer.provide(LoggerLive),
  Layer.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Layer.provide(NodeContext.layer)
)

launch(MainLive).pipe(NodeRuntime.runMain)
