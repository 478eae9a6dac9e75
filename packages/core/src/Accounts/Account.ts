import { createHash } from "node:crypto"
import { Redacted, Schema } from "effect"

export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** Keys an account's mirrored data, its rate budget and its locks. */
export const AccountId = Schema.String.pipe(
  Schema.pattern(ACCOUNT_ID_PATTERN, { message: () => "must match ^[A-Za-z0-9_-]{1,64}$" }),
  Schema.brand("AccountId")
)
export type AccountId = typeof AccountId.Type

export const AUTH_SCHEMES = ["Zoho-oauthtoken", "Bearer"] as const
export type AuthScheme = (typeof AUTH_SCHEMES)[number]

export interface StaticAuth {
  readonly _tag: "Static"
  readonly token: Redacted.Redacted<string>
  /** The OAuth client that issued the token, when declared: accounts of one client share its client-scoped buckets. */
  readonly clientId?: string | undefined
}

export interface RefreshAuth {
  readonly _tag: "Refresh"
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
}

export type AccountAuth = StaticAuth | RefreshAuth

export interface Account {
  readonly id: AccountId
  /** Cliq API root of the account's data centre, e.g. `https://cliq.zoho.eu/api/v3`, without a trailing slash. */
  readonly baseUrl: string
  /** Zoho Accounts server of the same data centre, without a trailing slash. */
  readonly accountsUrl: string
  readonly auth: AccountAuth
  readonly authScheme: AuthScheme
  /** Keys the client-scoped rate buckets: the OAuth client id, or the account id for a static token without one. */
  readonly clientKey: string
}

export const DEFAULT_API_BASE_URL = "https://cliq.zoho.com/api/v3"
export const DEFAULT_ACCOUNTS_URL = "https://accounts.zoho.com"

export const makeAccount = (options: {
  readonly id: AccountId
  readonly auth: AccountAuth
  readonly baseUrl?: string | undefined
  readonly accountsUrl?: string | undefined
  readonly authScheme?: AuthScheme | undefined
}): Account => ({
  id: options.id,
  baseUrl: trimSlash(options.baseUrl ?? DEFAULT_API_BASE_URL),
  accountsUrl: trimSlash(options.accountsUrl ?? DEFAULT_ACCOUNTS_URL),
  auth: options.auth,
  authScheme: options.authScheme ?? "Zoho-oauthtoken",
  clientKey: options.auth.clientId ?? options.id
})

const trimSlash = (url: string): string => url.replace(/\/+$/, "")

/**
 * A short, non-reversible name for the credentials in force. Mint counters and the needs-reauthorisation mark are
 * keyed by it, so a new refresh token in the configuration starts clean.
 */
export const credentialsFingerprint = (auth: AccountAuth): string =>
  createHash("sha256")
    .update(
      auth._tag === "Static"
        ? `static\n${Redacted.value(auth.token)}`
        : `refresh\n${auth.clientId}\n${Redacted.value(auth.refreshToken)}`
    )
    .digest("hex")
    .slice(0, 16)
