import { ApiLive, ApiRateBudgetLive, ApiSettings, Redis } from "@cliq-mirror/api"
import { LoggingLive, launch } from "@cliq-mirror/core"
import { DaemonLive, DaemonSettings, MigrateLive } from "@cliq-mirror/daemon"
import { Database } from "@cliq-mirror/db"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"

/**
 * `npm start`: migrate, then the daemon and the read API in one process; SIGINT/SIGTERM stop both. Each has a pool
 * of its own (`Layer.fresh`), so a busy daemon never makes the API wait for a connection.
 */
const ApiWithDeps = ApiLive.pipe(
  Layer.provide(ApiRateBudgetLive),
  Layer.provide(Layer.mergeAll(Layer.fresh(Database.Default), Redis.Default)),
  Layer.provide(MigrateLive)
)

Layer.mergeAll(DaemonLive, ApiWithDeps).pipe(
  launch([...DaemonSettings, ...ApiSettings]),
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
