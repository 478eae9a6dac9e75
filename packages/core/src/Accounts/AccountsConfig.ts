import * as FileSystem from "@effect/platform/FileSystem"
import { Array as Arr, Config, Data, Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import {
  type Account,
  type AccountAuth,
  AccountId,
  AUTH_SCHEMES,
  DEFAULT_ACCOUNTS_URL,
  DEFAULT_API_BASE_URL,
  makeAccount
} from "./Account.js"

/** One line naming the variable (and, for the accounts file, the field) and the rule it breaks. */
export class AccountsConfigError extends Data.TaggedError("AccountsConfigError")<{ readonly message: string }> {}

const fail = (message: string) => Effect.fail(new AccountsConfigError({ message }))

const isHttpUrl = (s: string): boolean => {
  try {
    const url = new URL(s)
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== ""
  } catch {
    return false
  }
}

const HttpUrl = Schema.String.pipe(Schema.filter(isHttpUrl, { message: () => "must be an http(s) URL" }))
const NonEmpty = Schema.String.annotations({ message: () => "must be a non-empty string" }).pipe(
  Schema.filter(s => s.trim() !== "", { message: () => "must be a non-empty string" })
)
// The custom message also keeps a wrongly typed secret's value out of the error text.
const Secret = Schema.Redacted(NonEmpty)

const FileAccount = Schema.Struct({
  id: AccountId,
  access_token: Schema.optional(Secret),
  client_id: Schema.optional(NonEmpty),
  client_secret: Schema.optional(Secret),
  refresh_token: Schema.optional(Secret),
  base_url: Schema.optional(HttpUrl),
  accounts_url: Schema.optional(HttpUrl),
  auth_scheme: Schema.optional(Schema.Literal(...AUTH_SCHEMES))
})
type FileAccount = typeof FileAccount.Type

const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map(p => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")

interface Credentials {
  readonly accessToken: Option.Option<Redacted.Redacted<string>>
  readonly clientId: Option.Option<string>
  readonly clientSecret: Option.Option<Redacted.Redacted<string>>
  readonly refreshToken: Option.Option<Redacted.Redacted<string>>
}

/** Static token xor the complete refresh triple; `names` spells the settings the way the operator wrote them. */
const authOf = (
  c: Credentials,
  names: { readonly token: string; readonly id: string; readonly secret: string; readonly refresh: string },
  where: string
): Either.Either<AccountAuth | undefined, string> => {
  const anyRefresh = Option.isSome(c.clientId) || Option.isSome(c.clientSecret) || Option.isSome(c.refreshToken)
  if (Option.isSome(c.accessToken)) {
    // A static token may name the client that issued it (its client-scoped buckets are shared), nothing more.
    return Option.isSome(c.clientSecret) || Option.isSome(c.refreshToken)
      ? Either.left(
          `${where}${names.token}: set either ${names.token} (with an optional ${names.id}) or ${names.id} + ${names.secret} + ${names.refresh}, not both`
        )
      : Either.right({ _tag: "Static", token: c.accessToken.value, clientId: Option.getOrUndefined(c.clientId) })
  }
  if (!anyRefresh) return Either.right(undefined)
  if (Option.isNone(c.clientId))
    return Either.left(`${where}${names.id}: required with ${names.secret} and ${names.refresh}`)
  if (Option.isNone(c.clientSecret))
    return Either.left(`${where}${names.secret}: required with ${names.id} and ${names.refresh}`)
  if (Option.isNone(c.refreshToken))
    return Either.left(`${where}${names.refresh}: required with ${names.id} and ${names.secret}`)
  return Either.right({
    _tag: "Refresh",
    clientId: c.clientId.value,
    clientSecret: c.clientSecret.value,
    refreshToken: c.refreshToken.value
  })
}

const text = (name: string) => Config.option(Config.string(name)).pipe(Config.map(Option.filter(s => s.trim() !== "")))
const secret = (name: string) =>
  Config.option(Config.redacted(name)).pipe(Config.map(Option.filter(r => Redacted.value(r).trim() !== "")))

const read = <A>(config: Config.Config<A>, name: string) =>
  Effect.mapError(config, e => new AccountsConfigError({ message: `${name}: ${e.message}` }))

const url = (name: string, fallback: string) =>
  Effect.flatMap(read(text(name), name), o => {
    const value = Option.getOrElse(o, () => fallback)
    return isHttpUrl(value) ? Effect.succeed(value) : fail(`${name}: must be an http(s) URL`)
  })

const SINGLE = {
  token: "CLIQ_ACCESS_TOKEN",
  id: "CLIQ_CLIENT_ID",
  secret: "CLIQ_CLIENT_SECRET",
  refresh: "CLIQ_REFRESH_TOKEN"
} as const
const FILE = { token: "access_token", id: "client_id", secret: "client_secret", refresh: "refresh_token" } as const

const decodeFile = (content: string, defaults: { readonly baseUrl: string; readonly accountsUrl: string }) =>
  Effect.gen(function* () {
    // JSON.parse messages quote the text around the error, which may be a secret: report only the rule.
    const json = yield* Effect.try({
      try: () => JSON.parse(content) as unknown,
      catch: () => new AccountsConfigError({ message: "CLIQ_ACCOUNTS_FILE: must be valid JSON" })
    })
    if (!Array.isArray(json) || json.length === 0) {
      return yield* fail("CLIQ_ACCOUNTS_FILE: must be a non-empty JSON list of accounts")
    }
    const accounts: Array<Account> = []
    for (const [index, item] of json.entries()) {
      const entry = Schema.decodeUnknownEither(FileAccount, { onExcessProperty: "error" })(item)
      if (Either.isLeft(entry)) {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(entry.left)[0]
        return yield* fail(
          `CLIQ_ACCOUNTS_FILE accounts[${index}]${formatPath(issue?.path ?? [])}: ${issue?.message ?? "is invalid"}`
        )
      }
      const account: FileAccount = entry.right
      const auth = authOf(
        {
          accessToken: Option.fromNullable(account.access_token),
          clientId: Option.fromNullable(account.client_id),
          clientSecret: Option.fromNullable(account.client_secret),
          refreshToken: Option.fromNullable(account.refresh_token)
        },
        FILE,
        `CLIQ_ACCOUNTS_FILE accounts[${index}].`
      )
      if (Either.isLeft(auth)) return yield* fail(auth.left)
      if (auth.right === undefined) {
        return yield* fail(
          `CLIQ_ACCOUNTS_FILE accounts[${index}]: needs access_token, or client_id + client_secret + refresh_token`
        )
      }
      if (accounts.some(a => a.id === account.id)) {
        return yield* fail(`CLIQ_ACCOUNTS_FILE accounts[${index}].id: "${account.id}" is used by an earlier account`)
      }
      accounts.push(
        makeAccount({
          id: account.id,
          auth: auth.right,
          baseUrl: account.base_url ?? defaults.baseUrl,
          accountsUrl: account.accounts_url ?? defaults.accountsUrl,
          authScheme: account.auth_scheme
        })
      )
    }
    return Arr.isNonEmptyReadonlyArray(accounts)
      ? Effect.succeed(accounts)
      : fail("CLIQ_ACCOUNTS_FILE: must be a non-empty JSON list of accounts")
  }).pipe(Effect.flatten)

/**
 * The configured accounts: CLIQ_ACCOUNTS_FILE for many, or the CLIQ_* variables for one. CLIQ_API_BASE_URL and
 * CLIQ_ACCOUNTS_URL also serve as the defaults for file entries without `base_url` / `accounts_url`.
 */
export const loadAccounts: Effect.Effect<
  Arr.NonEmptyReadonlyArray<Account>,
  AccountsConfigError,
  FileSystem.FileSystem
> = Effect.gen(function* () {
  const baseUrl = yield* url("CLIQ_API_BASE_URL", DEFAULT_API_BASE_URL)
  const accountsUrl = yield* url("CLIQ_ACCOUNTS_URL", DEFAULT_ACCOUNTS_URL)
  const file = yield* read(text("CLIQ_ACCOUNTS_FILE"), "CLIQ_ACCOUNTS_FILE")
  const credentials: Credentials = {
    accessToken: yield* read(secret(SINGLE.token), SINGLE.token),
    clientId: yield* read(text(SINGLE.id), SINGLE.id),
    clientSecret: yield* read(secret(SINGLE.secret), SINGLE.secret),
    refreshToken: yield* read(secret(SINGLE.refresh), SINGLE.refresh)
  }
  const single = authOf(credentials, SINGLE, "")
  if (Either.isLeft(single)) return yield* fail(single.left)

  if (Option.isSome(file)) {
    if (single.right !== undefined) {
      return yield* fail(
        "CLIQ_ACCOUNTS_FILE: cannot be combined with CLIQ_ACCESS_TOKEN or CLIQ_CLIENT_ID/CLIQ_CLIENT_SECRET/CLIQ_REFRESH_TOKEN"
      )
    }
    const fs = yield* FileSystem.FileSystem
    const content = yield* fs.readFileString(file.value).pipe(
      Effect.mapError(
        e =>
          new AccountsConfigError({
            message: `CLIQ_ACCOUNTS_FILE: cannot read ${file.value} (${e._tag === "SystemError" ? e.reason : e.message})`
          })
      )
    )
    return yield* decodeFile(content, { baseUrl, accountsUrl })
  }

  if (single.right === undefined) {
    return yield* fail(
      "CLIQ_ACCESS_TOKEN: not set; configure CLIQ_ACCESS_TOKEN, or CLIQ_CLIENT_ID + CLIQ_CLIENT_SECRET + CLIQ_REFRESH_TOKEN, or CLIQ_ACCOUNTS_FILE"
    )
  }
  const id = yield* read(text("CLIQ_ACCOUNT_ID"), "CLIQ_ACCOUNT_ID").pipe(
    Effect.map(Option.getOrElse(() => "default")),
    Effect.flatMap(raw =>
      Schema.decodeUnknown(AccountId)(raw).pipe(
        Effect.mapError(() => new AccountsConfigError({ message: "CLIQ_ACCOUNT_ID: must match ^[A-Za-z0-9_-]{1,64}$" }))
      )
    )
  )
  return [makeAccount({ id, auth: single.right, baseUrl, accountsUrl })] as const
})
