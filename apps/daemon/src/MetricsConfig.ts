import { integerSetting, portSetting } from "@cliq-mirror/core"
import { Config } from "effect"

/** Where the daemon serves /metrics and /healthz, and when a stream counts as stuck (README "Operations"). */
export const MetricsConfig = Config.all({
  port: portSetting("METRICS_PORT", 9464),
  host: Config.string("METRICS_HOST").pipe(Config.withDefault("127.0.0.1")),
  token: Config.option(Config.redacted(Config.nonEmptyString("METRICS_TOKEN"))),
  /** A stream whose state row was not written for this long is not moving. */
  staleMs: integerSetting("HEALTH_STALE_MS", 900_000, 1000, " (milliseconds)")
})
