import { schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { apiTestLayer, exec, request } from "../api/harness.js"
import { clearRedisPrefix, uniqueRedisPrefix } from "../support/redis.js"

const prefix = uniqueRedisPrefix("creds")

layer(apiTestLayer({ redisPrefix: prefix }), { timeout: "2 minutes", excludeTestServices: true })(
  "credentials in GET /v1/sync/status",
  it => {
    it.scoped("each account shows ok or needs_reauthorisation with the reason and since when", () =>
      Effect.gen(function* () {
        yield* Effect.addFinalizer(() => Effect.promise(() => clearRedisPrefix(prefix)))
        const since = new Date("2026-12-01T10:00:00.000Z")
        yield* exec(async db => {
          await db.insert(schema.accounts).values([{ id: "a1" }, { id: "a2" }, { id: "a3" }])
          await db.insert(schema.accountCredentials).values([
            { accountId: "a1", state: "needs_reauthorisation", reason: "invalid_code", since },
            { accountId: "a3", state: "ok" }
          ])
        })
        const reply = yield* request("/v1/sync/status")
        assert.strictEqual(reply.status, 200, reply.text)
        const body = reply.body as {
          readonly accounts: ReadonlyArray<{ account_id: string; credentials: string; credentials_error: unknown }>
        }
        assert.deepStrictEqual(
          body.accounts.map(a => [a.account_id, a.credentials, a.credentials_error]),
          [
            ["a1", "needs_reauthorisation", { reason: "invalid_code", since: since.toISOString() }],
            ["a2", "ok", null],
            ["a3", "ok", null]
          ]
        )
      })
    )
  }
)
