import { LoggingLive, launch } from "@cliq-mirror/core"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { DaemonLive } from "./Daemon.js"

DaemonLive.pipe(
  Layer.provide(LoggingLive),
  Layer.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Layer.provide(NodeContext.layer),
  launch,
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
