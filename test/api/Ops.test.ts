import { schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { apiTestLayer, apiTestLayerAt, exec, request } from "./harness.js"

const CLOSED_POSTGRES = "postgres://postgres@127.0.0.1:1/cliq_nowhere"
const CLOSED_REDIS = "redis://127.0.0.1:1"

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("ops, dependencies up", it => {
  it.effect("healthz and readyz answer without a token", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* request("/healthz", { token: null }), {
        status: 200,
        body: { status: "ok" },
        text: '{"status":"ok"}',
        contentType: "application/json"
      })
      const ready = yield* request("/readyz", { token: null })
      assert.strictEqual(ready.status, 200)
      assert.deepStrictEqual(ready.body, { status: "ok", postgres: "ok", redis: "ok" })
    })
  )
})

layer(apiTestLayerAt({ databaseUrl: CLOSED_POSTGRES, redisUrl: CLOSED_REDIS }), {
  timeout: "2 minutes",
  excludeTestServices: true
})("ops, Postgres and Redis down", it => {
  it.effect("readyz is 503 naming both dependencies while healthz stays 200", () =>
    Effect.gen(function* () {
      const ready = yield* request("/readyz", { token: null })
      assert.strictEqual(ready.status, 503)
      assert.deepStrictEqual(ready.body, { error: { code: "not_ready", message: "not answering: postgres, redis" } })
      assert.strictEqual((yield* request("/healthz", { token: null })).status, 200)
    })
  )

  it.effect("a /v1 read or command while the database is down is a 503 not_ready, not a 500", () =>
    Effect.gen(function* () {
      const chats = yield* request("/v1/chats")
      assert.strictEqual(chats.status, 503)
      assert.deepStrictEqual(chats.body, {
        error: { code: "not_ready", message: "the database is not answering; try again shortly" }
      })
      const command = yield* request("/v1/commands", {
        method: "POST",
        body: { type: "close_chat", chat_id: "c-1" }
      })
      assert.strictEqual(command.status, 503)
    })
  )

  it.effect("metrics still render the process counters and say the database is down", () =>
    Effect.gen(function* () {
      const metrics = yield* request("/metrics", { token: null })
      assert.strictEqual(metrics.status, 200)
      assert.include(metrics.text, "cliq_database_up 0\n")
      assert.include(metrics.text, 'http_requests_total{route="/readyz",method="GET",status="503"}')
    })
  )
})

layer(apiTestLayer({ redisUrl: CLOSED_REDIS }), {
  timeout: "2 minutes",
  excludeTestServices: true
})("ops, Redis down", it => {
  it.effect("readyz names only Redis; sync status cannot read the budget and says so", () =>
    Effect.gen(function* () {
      const ready = yield* request("/readyz", { token: null })
      assert.deepStrictEqual(ready.body, { error: { code: "not_ready", message: "not answering: redis" } })
      yield* exec(db => db.insert(schema.accounts).values({ id: "a1" }))
      const status = yield* request("/v1/sync/status")
      assert.strictEqual(status.status, 503)
      assert.deepStrictEqual(status.body, {
        error: { code: "not_ready", message: "rate budget unavailable: redis is not answering" }
      })
    })
  )
})
