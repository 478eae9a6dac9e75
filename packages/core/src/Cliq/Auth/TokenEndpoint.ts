import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Duration, Effect, Either, Redacted, Schema } from "effect"
import type { RefreshAuth } from "../../Accounts/Account.js"
import { TokenErrorBody, TokenResponse } from "../Envelopes.js"

export type MintOutcome =
  | { readonly _tag: "Minted"; readonly token: Redacted.Redacted<string>; readonly expiresInMs: number }
  /** The grant itself was refused: only new credentials help. */
  | { readonly _tag: "Rejected"; readonly error: string }
  /** Too many tokens minted from this refresh token lately. */
  | { readonly _tag: "Quota"; readonly error: string }
  | { readonly _tag: "Unavailable"; readonly reason: "transport" | "server"; readonly detail: string }

const REAUTH_ERRORS = new Set([
  "invalid_grant",
  "invalid_client",
  "invalid_code",
  "invalid_client_secret",
  "unauthorized_client"
])

const isQuota = (body: TokenErrorBody): boolean =>
  body.error.toLowerCase() === "access denied" || /too many/i.test(body.error_description ?? "")

const TokenJson = Schema.parseJson(TokenResponse)
const TokenErrorJson = Schema.parseJson(TokenErrorBody)

/** Only the short `error` code leaves this module: descriptions are free text from a server that holds secrets. */
const classifyBody = (status: number, body: string): MintOutcome => {
  const minted = Schema.decodeUnknownEither(TokenJson)(body)
  if (status === 200 && Either.isRight(minted) && minted.right.access_token !== "") {
    return {
      _tag: "Minted",
      token: Redacted.make(minted.right.access_token),
      expiresInMs: minted.right.expires_in * 1000
    }
  }
  const refused = Schema.decodeUnknownEither(TokenErrorJson)(body)
  if (Either.isRight(refused)) {
    const error = refused.right.error.slice(0, 80)
    // Zoho reports refusals with HTTP 200 as well as 4xx (docs/upstream.md#token-endpoint): the body decides.
    if (isQuota(refused.right)) return { _tag: "Quota", error }
    if (REAUTH_ERRORS.has(refused.right.error)) return { _tag: "Rejected", error }
    return { _tag: "Unavailable", reason: "server", detail: `token endpoint refused: ${error} (HTTP ${status})` }
  }
  return { _tag: "Unavailable", reason: "server", detail: `token endpoint answered HTTP ${status} without a token` }
}

/** One refresh-token grant (`POST {accounts}/oauth/v2/token`, form body). Never fails: every outcome is a value. */
export const mintAccessToken = (
  http: HttpClient.HttpClient,
  accountsUrl: string,
  auth: RefreshAuth,
  timeout: Duration.DurationInput
): Effect.Effect<MintOutcome> =>
  HttpClientRequest.post(`${accountsUrl}/oauth/v2/token`).pipe(
    HttpClientRequest.acceptJson,
    HttpClientRequest.bodyUrlParams({
      grant_type: "refresh_token",
      refresh_token: Redacted.value(auth.refreshToken),
      client_id: auth.clientId,
      client_secret: Redacted.value(auth.clientSecret)
    }),
    http.execute,
    Effect.flatMap(response => Effect.map(response.text, body => classifyBody(response.status, body))),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => "timeout" as const }),
    Effect.catchAll(
      (e): Effect.Effect<MintOutcome> =>
        Effect.succeed({
          _tag: "Unavailable",
          reason: "transport",
          detail:
            e === "timeout"
              ? `token endpoint timed out after ${Duration.format(timeout)}`
              : `token endpoint: ${e.reason}`
        })
    )
  )
