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

export const DEFAULT_POOL_SIZE = 10
const MAX_POOL_SIZE = 500

/** Connections of one process's pool (the API and the daemon each open one). */
export const DatabasePoolSize = Config.string("DATABASE_POOL_SIZE").pipe(
  Config.withDefault(String(DEFAULT_POOL_SIZE)),
  Config.mapOrFail(raw => {
    const n = Number(raw.trim())
    return /^\d+$/.test(raw.trim()) && n >= 2 && n <= MAX_POOL_SIZE
      ? Either.right(n)
      : Either.left(
          ConfigError.InvalidData(["DATABASE_POOL_SIZE"], `must be an integer from 2 to ${MAX_POOL_SIZE} (connections)`)
        )
  })
)
