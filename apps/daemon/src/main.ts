import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { DaemonLive } from "./Daemon.js"
import { LoggingLive } from "./Logging.js"

DaemonLive.pipe(Layer.provide(LoggingLive), Layer.launch, NodeRuntime.runMain({ disablePrettyLogger: true }))
