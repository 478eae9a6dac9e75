import { Config, ConfigError, Either, Redacted } from "effect"

export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cliq_mirror"

const isPostgresUrl = (value: Redacted.Redacted<string>) => {
  try {
    return ["postgres:", "postgresql:"].includes(new URL(Redacted.value(value)).protocol)
  } catch {
    return false
  }
}

/** DATABASE_URL, redacted because it may carry a password. */
export const DatabaseUrl = Config.redacted("DATABASE_URL").pipe(
  Config.withDefault(Redacted.make(DEFAULT_DATABASE_URL)),
  Config.mapOrFail(url =>
    isPostgresUrl(url)
      ? Either.right(url)
      : Either.left(ConfigError.InvalidData(["DATABASE_URL"], "must be a postgres:// or postgresql:// URL"))
  )
)
