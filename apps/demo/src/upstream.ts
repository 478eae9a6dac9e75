import { LoggingLive, launch } from "@cliq-mirror/core"
import { PlatformConfigProvider } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Option } from "effect"
import { UpstreamConfig, UpstreamSettings } from "./Config.js"
import { DEMO_TIME_SCALE, demoUpstream } from "./DemoUpstream.js"

/** The demo's upstream alone (docker-compose.yml's `simulator`): SIMULATOR_HOST:SIMULATOR_PORT, live activity. */
const UpstreamLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const config = yield* UpstreamConfig
    const sim = yield* demoUpstream(config)
    const lines = [
      `cliq-mirror demo upstream at ${sim.apiBaseUrl} (access token ${sim.state.accounts()[0]!.token}, time scale ${DEMO_TIME_SCALE}, live activity, control API under /_sim)`
    ]
    if (Option.isSome(config.apiUrl) && Option.isSome(config.apiToken)) {
      const [api, token] = [config.apiUrl.value, config.apiToken.value]
      lines.push(
        `mirror API at ${api}, token ${token}`,
        `  curl -H 'Authorization: Bearer ${token}' '${api}/v1/chats?limit=5'`,
        `  curl -H 'Authorization: Bearer ${token}' ${api}/v1/sync/status`,
        `  docs: ${api}/docs`
      )
    }
    yield* Console.log(lines.join("\n"))
  })
)

UpstreamLive.pipe(
  launch(UpstreamSettings),
  Effect.provide(LoggingLive),
  Effect.provide(PlatformConfigProvider.layerDotEnvAdd(".env")),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
