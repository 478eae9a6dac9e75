import { ApiLive, ApiRateBudgetLive, Redis } from "@cliq-mirror/api"
import { LoggingLive, launch } from "@cliq-mirror/core"
import { DaemonLive, MigrateLive } from "@cliq-mirror/daemon"
import { Database } from "@cliq-mirror/db"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"

/** `npm start`: migrate, then the daemon and the read API in one process; SIGINT/SIGTERM stop both. */
const ApiWithDeps = ApiLive.pipe(
  Layer.provide(ApiRateBudgetLive),
  Layer.provide(Layer.mergeAll(Database.Default, Redis.Default)),
  Layer.provide(MigrateLive)
)

Layer.mergeAll(DaemonLive, ApiWithDeps).pipe(
  Layer.provide(LoggingLive),
  Layer.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Layer.provide(NodeContext.layer),
  launch,
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
