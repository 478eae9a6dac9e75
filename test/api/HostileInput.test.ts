import { HttpApi } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Either, Option, Schema, SchemaAST } from "effect"
import { Api } from "../../apps/api/src/Api.js"
import { ListChatsParams } from "../../apps/api/src/Params.js"
import { apiTestLayer, request } from "./harness.js"

/** A value each path parameter accepts, so that only the parameter under test is hostile. */
const VALID_PATH: Record<string, string> = {
  chat_id: "c1",
  command_id: "00000000-0000-4000-8000-000000000000"
}

const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ["NUL", "%00"],
  ["NUL inside", "a%00b"]
]

/** Invalid UTF-8 (an encoded surrogate) arrives as U+FFFD, which PostgreSQL stores: a rule may refuse it, never a 500. */
const MALFORMED_UTF8 = "%ED%A0%80"

const names = (schema: Option.Option<{ readonly ast: SchemaAST.AST }>) =>
  Option.match(schema, {
    onNone: () => [],
    onSome: s => SchemaAST.getPropertySignatures(s.ast).map(p => String(p.name))
  })

/** One request per endpoint and path or query parameter, read from the Api definition so a new route is covered. */
const targets = () => {
  const found: Array<{
    readonly method: "GET" | "POST"
    readonly url: (value: string) => string
    readonly field: string
  }> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      if (endpoint.method !== "GET" && endpoint.method !== "POST") throw new Error(`untested method ${endpoint.method}`)
      const method = endpoint.method
      const pathParams = names(endpoint.pathSchema)
      const withPath = (hostile: string | undefined, value: string) =>
        endpoint.path.replace(/:([A-Za-z_]+)/g, (_, name: string) =>
          name === hostile ? value : (VALID_PATH[name] ?? "x")
        )
      for (const field of pathParams) found.push({ method, field, url: value => withPath(field, value) })
      for (const field of names(endpoint.urlParamsSchema)) {
        found.push({ method, field, url: value => `${withPath(undefined, "")}?${field}=${value}` })
      }
    }
  })
  return found
}

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("hostile input", it => {
  it.effect("NUL in any path or query parameter is a 400 naming it, on every route", () =>
    Effect.gen(function* () {
      const all = targets()
      assert.isAtLeast(all.length, 20)
      for (const target of all) {
        for (const [what, value] of HOSTILE) {
          const url = target.url(value)
          const reply = yield* request(url, { method: target.method })
          const label = `${target.method} ${url} (${what}): ${reply.text}`
          assert.strictEqual(reply.status, 400, label)
          const error = (reply.body as { readonly error?: { readonly code?: unknown; readonly field?: unknown } }).error
          assert.deepStrictEqual([error?.code, error?.field], ["invalid_parameter", target.field], label)
        }
        const malformed = yield* request(target.url(MALFORMED_UTF8), { method: target.method })
        assert.include([200, 400, 404], malformed.status, `${target.url(MALFORMED_UTF8)}: ${malformed.text}`)
      }
    })
  )
})

describe("parameters", () => {
  it("refuse an unpaired surrogate, which no URL can carry but a caller of the schema can", () => {
    const decoded = Schema.decodeUnknownEither(ListChatsParams)({ q: "a\uD800b" })
    assert.isTrue(Either.isLeft(decoded))
    assert.isTrue(Either.isRight(Schema.decodeUnknownEither(ListChatsParams)({ q: "a\uD83D\uDE00b" })))
  })
})
