import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { makeClient } from "@cliq-mirror/client"
import { LoggingLive, reportSettingErrors, validateSettings } from "@cliq-mirror/core"
import { FetchHttpClient, PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect, Redacted, Schedule } from "effect"
import { DemoConfig, DemoSettings } from "./Config.js"
import { DEMO_TIME_SCALE, demoUpstream } from "./DemoUpstream.js"
import { walkThrough } from "./WalkThrough.js"

// The server as this process runs: its compiled main.js under node, its source under tsx (same execArgv).
const SERVER = fileURLToPath(import.meta.resolve("@cliq-mirror/server"))

class DemoServerExited extends Data.TaggedError("DemoServerExited")<{ readonly code: number | null }> {
  override get message() {
    return `the demo's daemon and API stopped (exit code ${this.code}); see the lines above`
  }
}

/** Until the API answers and the first sync has mirrored unread chats: what the walk-through's first steps show. */
const awaitMirror = (api: string, token: string) =>
  makeClient({ url: api, token }).pipe(
    Effect.flatMap(client => client.chats.listChats({ urlParams: { unread: true, limit: 1 } })),
    Effect.filterOrFail(
      page => page.data.length > 0,
      () => "no unread chat mirrored yet"
    ),
    Effect.timeout("2 seconds"),
    Effect.tapError(error =>
      Effect.logDebug("waiting for the mirror").pipe(Effect.annotateLogs({ reason: String(error) }))
    ),
    Effect.retry(Schedule.spaced("250 millis")),
    Effect.asVoid,
    Effect.provide(FetchHttpClient.layer)
  )

/**
 * `npm run demo`: the simulator with seeded data and live activity, then the daemon and the API (`npm start`)
 * against it. Honours DATABASE_URL, REDIS_URL, REDIS_PREFIX, API_PORT, API_TOKEN and METRICS_PORT (default: a free
 * port); by default it keeps its data apart in the
 * `cliq_mirror_demo` database and under the `cliq-mirror-demo:` Redis prefix.
 */
const demo = Effect.gen(function* () {
  const config = yield* DemoConfig
  const sim = yield* demoUpstream({ host: "127.0.0.1", port: 0 })
  const server = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [...process.execArgv, SERVER], {
        stdio: "inherit",
        env: {
          ...process.env,
          DATABASE_URL: Redacted.value(config.databaseUrl),
          REDIS_URL: Redacted.value(config.redisUrl),
          REDIS_PREFIX: config.redisPrefix,
          METRICS_PORT: String(config.metricsPort),
          API_PORT: String(config.apiPort),
          API_TOKEN: config.apiToken,
          CLIQ_API_BASE_URL: sim.apiBaseUrl,
          CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
          CLIQ_TIME_SCALE: String(DEMO_TIME_SCALE),
          POLL_INTERVAL_MS: "2000",
          STATE_POLL_INTERVAL_MS: "10000"
        }
      })
    ),
    child =>
      Effect.async<void>(resume => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )
  const api = `http://127.0.0.1:${config.apiPort}`
  const token = config.apiToken
  const stopped = () => server.exitCode !== null || server.signalCode !== null
  // A clean stop (Ctrl-C reaches the server too) ends the demo; a crash is reported.
  const exited = Effect.async<void, DemoServerExited>(resume => {
    const report = () =>
      resume(
        server.exitCode === 0 || server.signalCode !== null
          ? Effect.void
          : Effect.fail(new DemoServerExited({ code: server.exitCode }))
      )
    if (stopped()) return report()
    server.once("exit", report)
  })
  // The walk-through is printed once the API answers with unread chats, so each line works when typed.
  yield* Effect.raceFirst(awaitMirror(api, token), exited)
  if (stopped()) return
  yield* Console.log(
    [
      "",
      `cliq-mirror demo: simulator at ${sim.url} (control API under /_sim), mirror API at ${api}`,
      `  token: ${token}`,
      "  Try it with the CLI, from this repository's directory (the bulk run follows its batch until every chat is read):",
      ...walkThrough(api, token),
      `  docs: ${api}/docs — Ctrl-C stops everything`,
      ""
    ].join("\n")
  )
  yield* exited
})

validateSettings(DemoSettings).pipe(
  Effect.zipRight(Effect.scoped(demo)),
  reportSettingErrors,
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
