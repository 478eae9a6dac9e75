import {
  ACCOUNT_ID_PATTERN,
  invalidSetting,
  LogSettings,
  loadAccounts,
  loadBucketTable,
  portSetting,
  RedisPrefix,
  RedisUrl,
  TimeScale
} from "@cliq-mirror/core"
import { DatabasePoolSize, DatabaseUrl } from "@cliq-mirror/db"
import { Config, Effect, Either, Option, Redacted } from "effect"

export const ApiHost = Config.string("API_HOST").pipe(
  Config.withDefault("127.0.0.1"),
  Config.validate({ message: "must be a non-empty host name or address", validation: s => s.trim().length > 0 })
)

export const ApiPort = portSetting("API_PORT", 8080)

/** API_TOKEN: comma-separated bearer tokens; blanks around and between commas are ignored, at least one must remain. */
export const ApiTokens = Config.redacted("API_TOKEN").pipe(
  Config.mapOrFail(value => {
    const tokens = Redacted.value(value)
      .split(",")
      .map(t => t.trim())
      .filter(t => t.length > 0)
    return tokens.length === 0
      ? invalidSetting("API_TOKEN", "must hold at least one non-empty token (comma-separated)")
      : Either.right(tokens.map(t => Redacted.make(t)))
  })
)

export const AccountsFile = Config.option(Config.string("CLIQ_ACCOUNTS_FILE")).pipe(
  Config.map(Option.filter(s => s.trim() !== ""))
)

export const SingleAccountId = Config.string("CLIQ_ACCOUNT_ID").pipe(
  Config.withDefault("default"),
  Config.mapOrFail(raw =>
    ACCOUNT_ID_PATTERN.test(raw)
      ? Either.right(raw)
      : invalidSetting("CLIQ_ACCOUNT_ID", "must match ^[A-Za-z0-9_-]{1,64}$")
  )
)

/** The API needs no upstream credentials, but a CLIQ_ACCOUNTS_FILE it is given must be sound. */
const AccountsCheck = Effect.flatMap(AccountsFile, file =>
  Option.isSome(file) ? Effect.asVoid(loadAccounts) : Effect.void
)

/** Everything the API reads, checked as a whole before it connects to anything (core's `launch`). */
export const ApiSettings = [
  LogSettings,
  DatabaseUrl,
  DatabasePoolSize,
  RedisUrl,
  RedisPrefix,
  TimeScale,
  ApiHost,
  ApiPort,
  ApiTokens,
  SingleAccountId,
  AccountsCheck,
  loadBucketTable
] as const

export { RedisPrefix, RedisUrl, TimeScale } from "@cliq-mirror/core"
