import { LoggingLive, reportSettingErrors } from "@cliq-mirror/core"
import * as PlatformConfigProvider from "@effect/platform/PlatformConfigProvider"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { Database } from "./Database.js"
import { replayProjections } from "./Replay.js"

const check = process.argv.includes("--check")

Effect.gen(function* () {
  const { use } = yield* Database
  const report = yield* use((_, sql) => replayProjections(sql, { write: !check }))
  if (check) {
    yield* Effect.logInfo("replay check", { chats: report.chats, differences: report.differences.length })
    if (report.differences.length > 0) {
      yield* Effect.logError("projection differs from the event log", { chatIds: report.differences.slice(0, 20) })
      return yield* Effect.fail(new Error("replay check failed"))
    }
  } else {
    yield* Effect.logInfo("projections rebuilt from the event log", { chats: report.chats, members: report.members })
  }
}).pipe(
  Effect.provide(Database.Default),
  reportSettingErrors,
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
