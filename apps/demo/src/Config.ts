import { randomBytes } from "node:crypto"
import { LogSettings, portSetting, RedisUrl } from "@cliq-mirror/core"
import { Config, Redacted } from "effect"

/** The demo keeps its data apart: its own database and Redis prefix unless told otherwise. */
export const DemoConfig = Config.all({
  databaseUrl: Config.redacted("DATABASE_URL").pipe(
    Config.withDefault(Redacted.make("postgres://postgres@127.0.0.1:5432/cliq_mirror_demo"))
  ),
  redisUrl: RedisUrl,
  redisPrefix: Config.string("REDIS_PREFIX").pipe(Config.withDefault("cliq-mirror-demo:")),
  /** The daemon's /metrics: a free port unless told, so a demo never collides with a daemon already running. */
  metricsPort: portSetting("METRICS_PORT", 0),
  apiPort: portSetting("API_PORT", 8080),
  apiToken: Config.string("API_TOKEN").pipe(Config.withDefault(`demo-${randomBytes(6).toString("hex")}`))
})

/** Where the demo's upstream (simulator + live activity) listens when it runs alone (docker-compose.yml). */
export const UpstreamConfig = Config.all({
  host: Config.string("SIMULATOR_HOST").pipe(Config.withDefault("127.0.0.1")),
  port: portSetting("SIMULATOR_PORT", 4010),
  /** Where docker-compose.yml publishes the mirror's API and which token it accepts, for the banner. */
  apiUrl: Config.option(Config.string("DEMO_API_URL")),
  apiToken: Config.option(Config.string("DEMO_API_TOKEN"))
})

export const DemoSettings = [LogSettings, DemoConfig] as const
export const UpstreamSettings = [LogSettings, UpstreamConfig] as const
