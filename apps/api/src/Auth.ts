import { hash, timingSafeEqual } from "node:crypto"
import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { ApiTokens } from "./Config.js"
import { Unauthorized } from "./Errors.js"

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@cliq-mirror/api/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const MAX_TOKEN_LENGTH = 4096
// One-shot `crypto.hash` (Node >= 20.12): the same SHA-256 as createHash().update().digest() without the Hash object.
export const digest = (value: string): Buffer => hash("sha256", value, "buffer")

/** True when `candidate` equals one of `accepted`; every token is compared, in constant time over equal-length digests. */
export const matchesAny = (candidate: string, accepted: ReadonlyArray<Buffer>): boolean => {
  const probe = digest(candidate)
  let match = false
  for (const token of accepted) match = timingSafeEqual(probe, token) || match
  return match
}

export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function* () {
    const accepted = (yield* ApiTokens).map(t => digest(Redacted.value(t)))
    // A plain function per request (no generator): it runs in front of every authenticated route.
    return {
      bearer: token =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, request => {
          const header = request.headers.authorization
          if (header === undefined) return Effect.fail(Unauthorized.of("missing Authorization: Bearer <token>"))
          // The platform's bearer decoder only slices off seven characters; the scheme is checked here.
          const value = Redacted.value(token)
          if (!/^bearer /i.test(header) || value.length === 0 || value.length > MAX_TOKEN_LENGTH) {
            return Effect.fail(Unauthorized.of("Authorization must be: Bearer <token>"))
          }
          return matchesAny(value, accepted) ? Effect.void : Effect.fail(Unauthorized.of("unknown bearer token"))
        })
    }
  })
)
