import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { tmpdir } from "node:os"
import { fileURLToPath } from "node:url"
import { formatConfigError } from "@cliq-mirror/core"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { ConfigError, Effect, Layer } from "effect"
import { inject } from "vitest"
import { matchesAny } from "../../apps/api/src/Auth.js"
import { BudgetStatus } from "../../apps/api/src/BudgetStatus.js"
import { ApiHttpLive } from "../../apps/api/src/Http.js"
import { testRedisUrl } from "../support/redis.js"
import { apiTestLayer, configLayer, databaseAt, OTHER_TOKEN, redisLayer, request, TOKEN } from "./harness.js"

const withHeader = (path: string, authorization: string) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.get(path).pipe(HttpClientRequest.setHeader("authorization", authorization))
    )
    return { status: response.status, body: yield* response.json }
  }).pipe(Effect.scoped, Effect.orDie)

const V1_ROUTES = ["/v1/chats", "/v1/chats/c1", "/v1/chats/c1/members", "/v1/events", "/v1/sync/status"]

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("bearer authorization", it => {
  it.effect("every /v1 route refuses a request without a token", () =>
    Effect.gen(function* () {
      for (const path of V1_ROUTES) {
        const reply = yield* request(path, { token: null })
        assert.strictEqual(reply.status, 401, path)
        assert.deepStrictEqual(reply.body, {
          error: { code: "unauthorized", message: "missing Authorization: Bearer <token>" }
        })
      }
    })
  )

  it.effect("a wrong, empty or non-bearer credential is refused", () =>
    Effect.gen(function* () {
      for (const [header, message] of [
        [`Bearer ${TOKEN}x`, "unknown bearer token"],
        [`Bearer ${TOKEN.slice(0, -1)}`, "unknown bearer token"],
        ["Bearer  ", "Authorization must be: Bearer <token>"],
        ["Bearer ", "Authorization must be: Bearer <token>"],
        ["Bearer", "Authorization must be: Bearer <token>"],
        [`Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`, "Authorization must be: Bearer <token>"],
        [`Token ${TOKEN}`, "Authorization must be: Bearer <token>"],
        [`Bearer ${"x".repeat(5000)}`, "Authorization must be: Bearer <token>"]
      ] as const) {
        const reply = yield* withHeader("/v1/chats", header)
        assert.strictEqual(reply.status, 401, header.slice(0, 30))
        assert.deepStrictEqual(reply.body, { error: { code: "unauthorized", message } }, header.slice(0, 30))
      }
    })
  )

  it.effect("any configured token is accepted; the scheme is case-insensitive", () =>
    Effect.gen(function* () {
      for (const header of [`Bearer ${TOKEN}`, `Bearer ${OTHER_TOKEN}`, `bearer ${TOKEN}`, `BEARER ${OTHER_TOKEN}`]) {
        assert.strictEqual((yield* withHeader("/v1/events", header)).status, 200, header)
      }
    })
  )
})

const startupError = (config: Record<string, string>) =>
  Layer.build(
    ApiHttpLive.pipe(
      Layer.provide(NodeHttpServer.layerTest),
      Layer.provide(databaseAt("postgres://postgres@127.0.0.1:1/unused")),
      Layer.provide(redisLayer("redis://127.0.0.1:1")),
      Layer.provide(Layer.succeed(BudgetStatus, { snapshot: () => Effect.succeed([]) })),
      Layer.provide(configLayer(config))
    )
  ).pipe(Effect.scoped, Effect.flip)

const cases = [
  [{ API_TOKEN: "" }, "invalid configuration: API_TOKEN: must hold at least one non-empty token (comma-separated)"],
  [
    { API_TOKEN: " , ,, " },
    "invalid configuration: API_TOKEN: must hold at least one non-empty token (comma-separated)"
  ],
  [{}, "invalid configuration: API_TOKEN is required"]
] as const

describe("API_TOKEN at startup", () => {
  it.effect("a value without a non-empty token, or none at all, refuses to build the API", () =>
    Effect.gen(function* () {
      for (const [config, line] of cases) {
        const error = yield* startupError(config)
        assert.isTrue(ConfigError.isConfigError(error), String(error))
        assert.strictEqual(formatConfigError(error as ConfigError.ConfigError), line)
      }
    })
  )

  it("npm run api exits 1 with that one line on stderr", { timeout: 60_000 }, () => {
    const main = fileURLToPath(new URL("../../apps/api/src/main.ts", import.meta.url))
    const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url))
    const { API_TOKEN: _, ...env } = process.env
    for (const [config, line] of cases.slice(1, 2)) {
      const run = spawnSync(tsx, [main], {
        cwd: tmpdir(),
        env: {
          ...env,
          ...config,
          DATABASE_URL: inject("databaseUrl"),
          REDIS_URL: testRedisUrl(),
          API_PORT: "0",
          TSX_TSCONFIG_PATH: fileURLToPath(new URL("../../tsconfig.json", import.meta.url))
        },
        encoding: "utf8",
        timeout: 30_000
      })
      assert.strictEqual(run.status, 1, run.stderr)
      assert.strictEqual(run.stderr, `${line}\n`)
    }
  })
})

describe("matchesAny", () => {
  const digest = (s: string) => createHash("sha256").update(s).digest()
  it("matches any accepted token exactly, whatever the lengths", () => {
    const accepted = [digest("alpha"), digest("a-much-longer-token-value")]
    assert.isTrue(matchesAny("alpha", accepted))
    assert.isTrue(matchesAny("a-much-longer-token-value", accepted))
    for (const candidate of ["alph", "alphaa", "ALPHA", "", "a-much-longer-token-valu"]) {
      assert.isFalse(matchesAny(candidate, accepted), candidate)
    }
    assert.isFalse(matchesAny("alpha", []))
  })
})
