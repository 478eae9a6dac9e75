import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { apiTestLayer, exec, request, TOKEN } from "./harness.js"

const counter = (metrics: string, labels: string) => {
  const line = metrics.split("\n").find(l => l.startsWith(`http_requests_total{${labels}} `))
  return line === undefined ? 0 : Number(line.split(" ")[1])
}

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("the edge", it => {
  it.effect("an unknown route is a 404 in the contract's shape, with or without a token", () =>
    Effect.gen(function* () {
      for (const [path, method] of [
        ["/v1/nope", "GET"],
        ["/", "GET"],
        ["/v1/chats", "POST"]
      ] as const) {
        for (const token of [TOKEN, null]) {
          const reply = yield* request(path, { method, token })
          assert.strictEqual(reply.status, 404)
          assert.deepStrictEqual(reply.body, {
            error: { code: "not_found", message: `no route for ${method} ${path}` }
          })
        }
      }
    })
  )

  it.effect("a defect is a 500 with the contract's shape and no trace of the cause", () =>
    Effect.gen(function* () {
      yield* exec(sql => sql.execute("alter table chats rename to chats_gone"))
      const reply = yield* request("/v1/chats")
      yield* exec(sql => sql.execute("alter table chats_gone rename to chats"))
      assert.strictEqual(reply.status, 500)
      assert.strictEqual(reply.text, '{"error":{"code":"internal","message":"internal error"}}')
      assert.strictEqual((yield* request("/v1/chats")).status, 200)
    })
  )

  it.effect("a body over 1 MiB is refused with 413 before any route runs", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(
        HttpClientRequest.post("/v1/chats").pipe(
          HttpClientRequest.bearerToken(TOKEN),
          HttpClientRequest.bodyUint8Array(new Uint8Array(1024 * 1024 + 1), "application/json")
        )
      )
      assert.strictEqual(response.status, 413)
      assert.deepStrictEqual(yield* response.json, {
        error: { code: "payload_too_large", message: "request body exceeds 1048576 bytes" }
      })
    }).pipe(Effect.scoped)
  )

  it.effect("serves the OpenAPI document and the docs page", () =>
    Effect.gen(function* () {
      const spec = yield* request("/openapi.json", { token: null })
      assert.strictEqual(spec.status, 200)
      const doc = spec.body as {
        paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>
        components: { securitySchemes: Record<string, { scheme: string }> }
      }
      assert.includeMembers(Object.keys(doc.paths), [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/chats",
        "/v1/chats/{chat_id}",
        "/v1/chats/{chat_id}/members",
        "/v1/events",
        "/v1/sync/status"
      ])
      assert.includeMembers(
        (doc.paths["/v1/chats"]!.get!.parameters ?? []).map(p => p.name),
        [
          "chat_type",
          "pinned",
          "muted",
          "removed",
          "closed",
          "unread",
          "q",
          "modified_after",
          "modified_before",
          "sort",
          "limit",
          "cursor",
          "account_id"
        ]
      )
      assert.deepStrictEqual(
        Object.values(doc.components.securitySchemes).map(s => s.scheme),
        ["bearer"]
      )
      const docs = yield* request("/docs", { token: null })
      assert.strictEqual(docs.status, 200)
      assert.include(docs.contentType, "text/html")
      assert.include(docs.text, "swagger-ui")
    })
  )

  it.effect("counts requests by route template, method and status", () =>
    Effect.gen(function* () {
      const labels = 'route="/v1/chats/:chat_id",method="GET",status="404"'
      const before = counter((yield* request("/metrics", { token: null })).text, labels)
      yield* request("/v1/chats/one")
      yield* request("/v1/chats/two")
      const after = counter((yield* request("/metrics", { token: null })).text, labels)
      assert.strictEqual(after - before, 2)
      const unmatched = counter(
        (yield* request("/metrics", { token: null })).text,
        'route="unmatched",method="GET",status="404"'
      )
      assert.isAtLeast(unmatched, 2)
    })
  )
})
