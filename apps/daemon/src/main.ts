import { LoggingLive, launch } from "@cliq-mirror/core"
import * as PlatformConfigProvider from "@effect/platform/PlatformConfigProvider"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
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
