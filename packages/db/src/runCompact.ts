import { LoggingLive, reportSettingErrors } from "@cliq-mirror/core"
import * as PlatformConfigProvider from "@effect/platform/PlatformConfigProvider"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Either } from "effect"
import { type CompactOptions, compactEvents } from "./Compact.js"
import { parseCompactArgs } from "./CompactArgs.js"
import { Database, type Sql } from "./Database.js"

const eventsBytes = (sql: Sql) =>
  sql<Array<{ bytes: string }>>`select pg_total_relation_size('events') as bytes`.then(r => Number(r[0]!.bytes))

const compact = (options: CompactOptions) =>
  Effect.gen(function* () {
    const { use } = yield* Database
    const bytesBefore = yield* use((_, sql) => eventsBytes(sql))
    yield* Effect.logInfo("compacting chat events", {
      before: options.before.toISOString(),
      chunk: options.chunk,
      dryRun: options.dryRun
    })
    const report = yield* use((_, sql) => compactEvents(sql, options))
    // Frees the deleted rows' space for new events (the files shrink only with VACUUM FULL).
    if (!options.dryRun) yield* use((_, sql) => sql`vacuum (analyze) events`)
    const bytesAfter = yield* use((_, sql) => eventsBytes(sql))
    yield* Effect.logInfo(options.dryRun ? "would compact" : "compacted", { ...report, bytesBefore, bytesAfter })
  }).pipe(Effect.provide(Database.Default), reportSettingErrors)

// Arguments are checked before anything connects.
Either.match(parseCompactArgs(process.argv.slice(2), new Date()), {
  onLeft: problems =>
    Console.error(`invalid arguments: ${problems.join("; ")}`).pipe(
      Effect.zipRight(
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
    ),
  onRight: compact
}).pipe(
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
