import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { LoggingLive, reportSettingErrors, validateSettings } from "@cliq-mirror/core"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Redacted } from "effect"
import { DemoConfig, DemoSettings } from "./Config.js"
import { DEMO_TIME_SCALE, demoUpstream } from "./DemoUpstream.js"
import { walkThrough } from "./WalkThrough.js"

// The server as this process runs: its compiled main.js under node, its source under tsx (same execArgv).
const SERVER = fileURLToPath(import.meta.resolve("@cliq-mirror/server"))

/**
 * `npm run demo`: the simulator with seeded data and live activity, then the daemon and the API (`npm start`)
 * against it. Honours DATABASE_URL, REDIS_URL, API_PORT and API_TOKEN; by default it keeps its data apart in the
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
          REDIS_PREFIX: "cliq-mirror-demo:",
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
  yield* Console.log(
    [
      "",
      `cliq-mirror demo: simulator at ${sim.url} (control API under /_sim), mirror API at ${api}`,
      `  token: ${token}`,
      "  Try it with the CLI (the bulk run follows its batch until every chat is read):",
      ...walkThrough(api, token),
      `  docs: ${api}/docs — Ctrl-C stops everything`,
      ""
    ].join("\n")
  )
  yield* Effect.async<void>(resume => {
    if (server.exitCode !== null) return resume(Effect.void)
    server.once("exit", () => resume(Effect.void))
  })
})

validateSettings(DemoSettings).pipe(
  Effect.zipRight(Effect.scoped(demo)),
  reportSettingErrors,
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
