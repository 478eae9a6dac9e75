import { Config, Effect, Layer, Logger, LogLevel } from "effect"

const LEVELS = ["all", "trace", "debug", "info", "warning", "error", "fatal", "none"] as const

/** logfmt lines at LOG_LEVEL (default info). Secrets never reach here: they travel as Redacted values. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.map(Config.literal(...LEVELS)("LOG_LEVEL").pipe(Config.withDefault("info" as const)), level =>
    Layer.mergeAll(
      Logger.logFmt,
      Logger.minimumLogLevel(LogLevel.fromLiteral(level === "warning" ? "Warning" : capitalize(level)))
    )
  )
)

const capitalize = (s: string) => (s.charAt(0).toUpperCase() + s.slice(1)) as LogLevel.Literal
