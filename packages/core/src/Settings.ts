import { Config, ConfigError, Either, LogLevel, Redacted } from "effect"

/** A setting that breaks its rule: the error names the variable, so the start-up report does too. */
export const invalidSetting = (name: string, rule: string) => Either.left(ConfigError.InvalidData([name], rule))

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"

const isRedisUrl = (url: string) => {
  try {
    return ["redis:", "rediss:"].includes(new URL(url).protocol)
  } catch {
    return false
  }
}

export const RedisUrl = Config.redacted("REDIS_URL").pipe(
  Config.withDefault(Redacted.make(DEFAULT_REDIS_URL)),
  Config.mapOrFail(url =>
    isRedisUrl(Redacted.value(url))
      ? Either.right(url)
      : invalidSetting("REDIS_URL", "must be a redis:// or rediss:// URL")
  )
)

/** Every key the project writes in Redis (budget, tokens, queue) starts with this; tests isolate by it. */
export const RedisPrefix = Config.string("REDIS_PREFIX").pipe(
  Config.withDefault("cliq-mirror:"),
  Config.mapOrFail(p =>
    /^\S{1,64}$/.test(p) ? Either.right(p) : invalidSetting("REDIS_PREFIX", "must be 1 to 64 characters without spaces")
  )
)

/** Shrinks every upstream window and lock, as the simulator's --time-scale does: tests and the demo only. */
export const TimeScale = Config.string("CLIQ_TIME_SCALE").pipe(
  Config.withDefault("1"),
  Config.mapOrFail(raw => {
    const n = Number(raw)
    return raw.trim() !== "" && n > 0 && n <= 1
      ? Either.right(n)
      : invalidSetting("CLIQ_TIME_SCALE", "must be a number in (0, 1]")
  })
)

/** An integer setting with a default and bounds. */
export const integerSetting = (name: string, fallback: number, min: number, unit = "", max = Number.MAX_SAFE_INTEGER) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail(raw =>
      /^\d+$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max
        ? Either.right(Number(raw))
        : invalidSetting(
            name,
            max === Number.MAX_SAFE_INTEGER
              ? `must be an integer of at least ${min}${unit}`
              : `must be an integer from ${min} to ${max}${unit}`
          )
    )
  )

/** A port to bind: 0 lets the system pick one. */
export const portSetting = (name: string, fallback: number) =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail(raw =>
      /^\d{1,5}$/.test(raw.trim()) && Number(raw) <= 65535
        ? Either.right(Number(raw))
        : invalidSetting(name, "must be an integer between 0 and 65535")
    )
  )

const LEVEL_ALIASES: Record<string, string> = { warning: "warn", none: "off" }

export const MinimumLogLevel = Config.string("LOG_LEVEL").pipe(
  Config.withDefault("info"),
  Config.mapOrFail(raw => {
    const wanted = LEVEL_ALIASES[raw.trim().toLowerCase()] ?? raw.trim().toLowerCase()
    const level = LogLevel.allLevels.find(l => l.label.toLowerCase() === wanted)
    return level === undefined
      ? invalidSetting("LOG_LEVEL", `must be one of ${LogLevel.allLevels.map(l => l.label.toLowerCase()).join(", ")}`)
      : Either.right(level)
  })
)

export const LOG_FORMATS = ["logfmt", "json", "pretty"] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export const LogFormat = Config.string("LOG_FORMAT").pipe(
  Config.withDefault("logfmt"),
  Config.mapOrFail(raw => {
    const format = LOG_FORMATS.find(f => f === raw.trim().toLowerCase())
    return format === undefined
      ? invalidSetting("LOG_FORMAT", `must be one of ${LOG_FORMATS.join(", ")}`)
      : Either.right(format)
  })
)

export const LogSettings = Config.all({ level: MinimumLogLevel, format: LogFormat })
