import { readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUCKETS, type BucketId } from "@cliq-mirror/core"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import type postgres from "postgres"
import type { RunningSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { scopedSql, testDatabase } from "../support/database.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { scopedSimulator } from "../support/simulator.js"

const TOKEN = "metrics-secret"

/** `name{labels} value` lines of a Prometheus text exposition, as [labels, value] for one metric name. */
const samples = (text: string, name: string) =>
  text
    .split("\n")
    .filter(l => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map(l => {
      const labels = Object.fromEntries(
        [...(/\{(.*)\}/.exec(l)?.[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]])
      )
      return { labels, value: Number(l.slice(l.lastIndexOf(" ") + 1)) }
    })

class Fixture extends Context.Tag("test/Metrics/Fixture")<
  Fixture,
  {
    readonly sim: RunningSimulator
    readonly sql: postgres.Sql
    readonly daemon: DaemonProcess
    /** The daemon's metrics server, `http://127.0.0.1:<port>`. */
    readonly base: string
    readonly heartbeat: string
  }
>() {}

const FixtureLive = Layer.scoped(
  Fixture,
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({ chats: 120, users: 1, seed: 7, control: true, timeScale: 1 })
    const db = yield* testDatabase
    const sql = yield* scopedSql(db.url)
    const prefix = yield* scopedRedisPrefix("metrics")
    const heartbeat = join(tmpdir(), `cliq-mirror-metrics-heartbeat-${process.pid}-${Date.now()}`)
    const daemon = yield* Effect.acquireRelease(
      Effect.sync(() =>
        startDaemon(
          daemonEnv(
            {
              apiBaseUrl: sim.apiBaseUrl,
              token: sim.state.accounts()[0]!.token,
              databaseUrl: db.url,
              redisUrl: testRedisUrl()
            },
            prefix,
            1,
            {
              LOG_LEVEL: "info",
              METRICS_HOST: "127.0.0.1",
              METRICS_TOKEN: TOKEN,
              DAEMON_HEARTBEAT_FILE: heartbeat,
              DAEMON_HEARTBEAT_INTERVAL_MS: "200",
              POLL_INTERVAL_MS: "600000",
              STATE_POLL_INTERVAL_MS: "600000",
              RECONCILE_PAUSE_MS: "600000",
              MEMBERS_POLL_INTERVAL_MS: "600000"
            }
          )
        )
      ),
      d => Effect.promise(() => d.stop())
    )
    const started = Date.now()
    for (;;) {
      const port = /address=http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(daemon.output())?.[1]
      if (port !== undefined) return { sim, sql, daemon, base: `http://127.0.0.1:${port}`, heartbeat }
      if (daemon.exitCode() !== null || Date.now() - started > 20_000) {
        return yield* Effect.dieMessage(`no metrics address (exit code ${daemon.exitCode()}): ${daemon.output()}`)
      }
      yield* Effect.sleep(50)
    }
  })
)

/** Until the backfill has completed and the simulator has seen no request for a second. */
const quiet = Effect.gen(function* () {
  const { sim, sql, daemon } = yield* Fixture
  const started = Date.now()
  let last = -1
  let since = Date.now()
  for (;;) {
    const [row] = yield* Effect.promise(
      () => sql<Array<{ done: boolean }>>`
        select bool_and(last_success_at is not null) as done from sync_state where stream = 'incremental'`
    )
    const n = sim.state.requests().length
    if (n !== last) {
      last = n
      since = Date.now()
    }
    if (row?.done === true && Date.now() - since > 1000) return
    if (Date.now() - started > 20_000) return yield* Effect.dieMessage(`never quiet: ${daemon.output()}`)
    yield* Effect.sleep(100)
  }
})

const scrape = (path: string, token: string | null = TOKEN) =>
  Effect.flatMap(Fixture, ({ base }) =>
    Effect.promise(() =>
      fetch(`${base}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } })
    )
  )

const Health = Schema.Struct({
  status: Schema.String,
  accounts: Schema.Array(Schema.Struct({ credentials: Schema.String, moving: Schema.Boolean }))
})

const Heartbeat = Schema.parseJson(
  Schema.Struct({ sync: Schema.String, accounts: Schema.Array(Schema.Struct({ moving: Schema.Boolean })) })
)

const Bucket = Schema.String.pipe(Schema.filter((s): s is BucketId => Object.hasOwn(BUCKETS, s)))

layer(FixtureLive, { timeout: "1 minute", excludeTestServices: true })(
  "the daemon's /metrics and /healthz on METRICS_PORT",
  it => {
    it.effect("asks for METRICS_TOKEN as a bearer token", () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* scrape("/metrics", null)).status, 401)
        assert.strictEqual((yield* scrape("/healthz", "wrong")).status, 401)
      })
    )

    it.effect(
      "counts every upstream call the simulator saw, by operation, and the same bucket use",
      () =>
        Effect.gen(function* () {
          const { sim, sql } = yield* Fixture
          yield* quiet
          const reply = yield* scrape("/metrics")
          assert.strictEqual(reply.status, 200)
          const text = yield* Effect.promise(() => reply.text())
          const seen = sim.state.requests().filter(r => r.operationId !== null && r.operationId !== "oauthToken")
          assert.isAbove(seen.length, 0)

          const byOperation = (entries: ReadonlyArray<{ readonly key: string }>) => {
            const counts: Record<string, number> = {}
            for (const e of entries) counts[e.key] = (counts[e.key] ?? 0) + 1
            return counts
          }
          const calls: Record<string, number> = {}
          for (const s of samples(text, "cliq_upstream_calls_total")) {
            calls[String(s.labels.operation)] = (calls[String(s.labels.operation)] ?? 0) + s.value
          }
          assert.deepStrictEqual(calls, byOperation(seen.map(r => ({ key: String(r.operationId) }))))
          assert.strictEqual(
            samples(text, "cliq_upstream_throttled_total").reduce((n, s) => n + s.value, 0),
            0
          )
          assert.deepStrictEqual(
            seen.filter(r => r.outcome === "throttled" || r.outcome === "locked"),
            []
          )

          // Every call of this test is within the last minute, each bucket's window.
          const scrapedAt = Date.now()
          for (const s of samples(text, "cliq_budget_used")) {
            const bucket = yield* Schema.decodeUnknown(Bucket)(s.labels.bucket)
            const inWindow = seen.filter(r => r.bucket === bucket && r.atMs > scrapedAt - BUCKETS[bucket].windowMs)
            assert.deepStrictEqual([bucket, s.value], [bucket, inWindow.length])
          }
          assert.strictEqual(samples(text, "cliq_budget_used").length, Object.keys(BUCKETS).length)

          const [{ head }] = yield* Effect.promise(() => sql<[{ head: string }]>`select max(seq) as head from events`)
          assert.deepStrictEqual(
            samples(text, "cliq_events_max_seq").map(s => s.value),
            [Number(head)]
          )
          const [{ synced }] = yield* Effect.promise(
            () => sql<[{ synced: string }]>`select sum(events_appended) as synced from sync_state`
          )
          const appended = samples(text, "cliq_events_appended").reduce((sum, s) => sum + s.value, 0)
          assert.strictEqual(appended, Number(synced))
          assert.isAbove(appended, 0)
          assert.deepStrictEqual(
            samples(text, "cliq_account_credentials_ok").map(s => s.value),
            [1]
          )
          assert.include(text, "process_resident_memory_bytes")
          assert.include(text, "nodejs_eventloop_lag_seconds")
          assert.notInclude(text, "effect_fiber_failures")
        }),
      30_000
    )

    it.effect("says per account whether the sync moves and the credentials work", () =>
      Effect.gen(function* () {
        const { heartbeat } = yield* Fixture
        const reply = yield* scrape("/healthz")
        assert.strictEqual(reply.status, 200)
        const body = yield* Schema.decodeUnknown(Health)(yield* Effect.promise(() => reply.json()))
        assert.strictEqual(body.status, "ok")
        assert.deepStrictEqual(
          body.accounts.map(a => [a.credentials, a.moving]),
          [["ok", true]]
        )
        const beat = yield* Schema.decode(Heartbeat)(readFileSync(heartbeat, "utf8"))
        assert.deepStrictEqual([beat.sync, beat.accounts.map(a => a.moving)], ["ok", [true]])
      })
    )
  }
)
