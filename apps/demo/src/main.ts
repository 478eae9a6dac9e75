import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { RedisUrl } from "@cliq-mirror/core"
import { startSimulator } from "@cliq-mirror/simulator"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Redacted } from "effect"
import { activity } from "./Activity.js"

const ROOT = fileURLToPath(new URL("../../..", import.meta.url))

/**
 * `npm run demo`: the simulator with seeded data and live activity, then the daemon and the API (`npm start`)
 * against it. Honours DATABASE_URL, REDIS_URL, API_PORT and API_TOKEN; by default it keeps its data apart in the
 * `cliq_mirror_demo` database and under the `cliq-mirror-demo:` Redis prefix.
 */
const program = Effect.gen(function* () {
  const databaseUrl = yield* Config.string("DATABASE_URL").pipe(
    Config.withDefault("postgres://postgres@127.0.0.1:5432/cliq_mirror_demo")
  )
  const redisUrl = yield* RedisUrl
  const apiPort = yield* Config.integer("API_PORT").pipe(Config.withDefault(8080))
  const apiToken = yield* Config.string("API_TOKEN").pipe(Config.withDefault(`demo-${randomBytes(6).toString("hex")}`))
  const sim = yield* Effect.acquireRelease(
    Effect.promise(() => startSimulator({ port: 0, chats: 3000, users: 3, seed: 42, control: true, timeScale: 0.1 })),
    s => Effect.promise(() => s.close())
  )
  yield* Effect.forkScoped(activity(sim))
  const server = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["--import", "tsx", "apps/server/src/main.ts"], {
        cwd: ROOT,
        stdio: "inherit",
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          REDIS_URL: Redacted.value(redisUrl),
          REDIS_PREFIX: "cliq-mirror-demo:",
          API_PORT: String(apiPort),
          API_TOKEN: apiToken,
          CLIQ_API_BASE_URL: sim.apiBaseUrl,
          CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
          CLIQ_TIME_SCALE: "0.1",
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
  const api = `http://127.0.0.1:${apiPort}`
  yield* Console.log(
    [
      "",
      `cliq-mirror demo: simulator at ${sim.url} (control API under /_sim), mirror API at ${api}`,
      `  token: ${apiToken}`,
      `  curl -H 'Authorization: Bearer ${apiToken}' '${api}/v1/chats?limit=5'`,
      `  curl -H 'Authorization: Bearer ${apiToken}' '${api}/v1/events?after=0&limit=20'`,
      `  curl -H 'Authorization: Bearer ${apiToken}' ${api}/v1/sync/status`,
      `  curl -H 'Authorization: Bearer ${apiToken}' -H 'content-type: application/json' -d '{"type":"mute_chat","chat_id":"<a chat_id>"}' ${api}/v1/commands`,
      `  docs: ${api}/docs — Ctrl-C stops everything`,
      ""
    ].join("\n")
  )
  yield* Effect.async<void>(resume => {
    server.once("exit", () => resume(Effect.void))
  })
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
