import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { fileURLToPath } from "node:url"
import { ApiSettings } from "@cliq-mirror/api"
import { SettingsInvalid, validateSettings } from "@cliq-mirror/core"
import { DaemonSettings } from "@cliq-mirror/daemon"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import postgres from "postgres"
import { inject } from "vitest"
import { testRedisUrl } from "../support/redis.js"
import { databaseUrlFor } from "../support/urls.js"

const problemsWith = (settings: ReadonlyArray<Effect.All.EffectAny>, vars: Record<string, string>) =>
  validateSettings(settings).pipe(
    Effect.flip,
    Effect.map(error => (error instanceof SettingsInvalid ? error.problems : [])),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars)))),
    Effect.provide(NodeContext.layer)
  )

describe("settings at start", () => {
  it.effect("the daemon's are reported all together, each naming its variable and rule", () =>
    Effect.gen(function* () {
      const problems = yield* problemsWith(DaemonSettings, {
        REDIS_URL: "http://nope",
        LOG_FORMAT: "xml",
        COMMAND_CONCURRENCY: "0",
        HEAP_GROWTH_PERCENT: "500",
        POLL_INTERVAL_MS: "soon",
        DAEMON_HEARTBEAT_INTERVAL_MS: "5",
        RATE_LIMITS_FILE: "/nonexistent/limits.json"
      })
      assert.deepStrictEqual(
        problems.map(p => p.split(":")[0]),
        [
          "LOG_FORMAT",
          "REDIS_URL",
          "POLL_INTERVAL_MS",
          "COMMAND_CONCURRENCY",
          "HEAP_GROWTH_PERCENT",
          "DAEMON_HEARTBEAT_INTERVAL_MS",
          "RATE_LIMITS_FILE /nonexistent/limits.json",
          "CLIQ_ACCESS_TOKEN"
        ]
      )
      assert.include(problems, "COMMAND_CONCURRENCY: must be an integer from 1 to 64")
      assert.include(problems, "HEAP_GROWTH_PERCENT: must be an integer from 0 to 400 (percent)")
      assert.include(problems, "LOG_FORMAT: must be one of logfmt, json, pretty")
    })
  )

  it.effect("the API's need no Cliq credentials, but an API token", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* problemsWith(ApiSettings, { API_PORT: "70000" }), [
        "API_PORT: must be an integer between 0 and 65535",
        "API_TOKEN is required"
      ])
      const fine = yield* validateSettings(ApiSettings).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["API_TOKEN", "secret"]]))),
        Effect.provide(NodeContext.layer),
        Effect.either
      )
      assert.strictEqual(fine._tag, "Right")
    })
  )

  it("npm start without API_TOKEN or Cliq credentials names both on one line and creates no database", () => {
    const database = `ops_never_${randomBytes(4).toString("hex")}`
    const run = spawnSync(
      fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url)),
      [fileURLToPath(new URL("../../apps/server/src/main.ts", import.meta.url))],
      {
        cwd: tmpdir(),
        env: {
          PATH: process.env.PATH ?? "",
          TSX_TSCONFIG_PATH: fileURLToPath(new URL("../../tsconfig.json", import.meta.url)),
          DATABASE_URL: databaseUrlFor(inject("databaseUrl"), database),
          REDIS_URL: testRedisUrl()
        },
        encoding: "utf8",
        timeout: 50_000
      }
    )
    assert.strictEqual(run.status, 1, run.stderr)
    assert.strictEqual(
      run.stderr,
      "invalid configuration: CLIQ_ACCESS_TOKEN: not set; configure CLIQ_ACCESS_TOKEN, or CLIQ_CLIENT_ID + " +
        "CLIQ_CLIENT_SECRET + CLIQ_REFRESH_TOKEN, or CLIQ_ACCOUNTS_FILE; API_TOKEN is required\n"
    )
    assert.strictEqual(run.stdout, "")
    return (async () => {
      const sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} })
      const rows = await sql`select 1 from pg_database where datname = ${database}`
      await sql.end()
      assert.strictEqual(rows.length, 0)
    })()
  }, 60_000)
})
