import { invalidSetting } from "@cliq-mirror/core"
import { Config, Either, Redacted } from "effect"

const invalid = invalidSetting

export const ApiHost = Config.string("API_HOST").pipe(
  Config.withDefault("127.0.0.1"),
  Config.validate({ message: "must be a non-empty host name or address", validation: s => s.trim().length > 0 })
)

export const ApiPort = Config.string("API_PORT").pipe(
  Config.withDefault("8080"),
  Config.mapOrFail(raw =>
    /^\d{1,5}$/.test(raw.trim()) && Number(raw) <= 65535
      ? Either.right(Number(raw))
      : invalid("API_PORT", "must be an integer between 0 and 65535")
  )
)

/** API_TOKEN: comma-separated bearer tokens; blanks around and between commas are ignored, at least one must remain. */
export const ApiTokens = Config.redacted("API_TOKEN").pipe(
  Config.mapOrFail(value => {
    const tokens = Redacted.value(value)
      .split(",")
      .map(t => t.trim())
      .filter(t => t.length > 0)
    return tokens.length === 0
      ? invalid("API_TOKEN", "must hold at least one non-empty token (comma-separated)")
      : Either.right(tokens.map(t => Redacted.make(t)))
  })
)

export { MinimumLogLevel, RedisPrefix, RedisUrl, TimeScale as BudgetTimeScale } from "@cliq-mirror/core"
