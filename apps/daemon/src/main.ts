import { LoggingLive, launch } from "@cliq-mirror/core"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { DaemonSettings } from "./Config.js"
import { DaemonLive } from "./Daemon.js"

DaemonLive.pipe(
  launch(DaemonSettings),
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
