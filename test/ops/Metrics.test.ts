import { readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUCKETS } from "@cliq-mirror/core"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { createTestDatabase, type TestDatabase } from "../support/database.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
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

describe("the daemon's /metrics and /healthz on METRICS_PORT", () => {
  let sim: RunningSimulator
  let db: TestDatabase
  let sql: postgres.Sql
  let daemon: DaemonProcess | undefined
  let base = ""
  const prefix = uniqueRedisPrefix("metrics")
  const heartbeat = join(tmpdir(), `cliq-mirror-metrics-heartbeat-${process.pid}-${Date.now()}`)

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, chats: 120, users: 1, seed: 7, control: true, timeScale: 1 })
    db = await createTestDatabase()
    sql = postgres(db.url, { max: 2, onnotice: () => {} })
    daemon = startDaemon(
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
    const started = Date.now()
    for (;;) {
      const port = /address=http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(daemon.output())?.[1]
      if (port !== undefined) {
        base = `http://127.0.0.1:${port}`
        break
      }
      if (daemon.exitCode() !== null || Date.now() - started > 20_000) throw new Error(daemon.output())
      await sleep(50)
    }
  }, 30_000)
  afterAll(async () => {
    await daemon?.stop()
    await sql?.end({ timeout: 5 })
    await db?.drop()
    await sim?.close()
    await clearRedisPrefix(prefix)
  })

  /** Until the backfill has completed and the simulator has seen no request for a second. */
  const quiet = async () => {
    const started = Date.now()
    let last = -1
    let since = Date.now()
    for (;;) {
      const [row] = await sql<Array<{ done: boolean }>>`
        select bool_and(last_success_at is not null) as done from sync_state where stream = 'incremental'`
      const n = sim.state.requests().length
      if (n !== last) {
        last = n
        since = Date.now()
      }
      if (row?.done === true && Date.now() - since > 1000) return
      if (Date.now() - started > 20_000) throw new Error(`never quiet: ${daemon?.output()}`)
      await sleep(100)
    }
  }

  const scrape = (path: string, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } })

  it("asks for METRICS_TOKEN as a bearer token", async () => {
    expect((await scrape("/metrics", null)).status).toBe(401)
    expect((await scrape("/healthz", "wrong")).status).toBe(401)
  })

  it("counts every upstream call the simulator saw, by operation, and the same bucket use", {
    timeout: 30_000
  }, async () => {
    await quiet()
    const reply = await scrape("/metrics")
    expect(reply.status).toBe(200)
    const text = await reply.text()
    const seen = sim.state.requests().filter(r => r.operationId !== null && r.operationId !== "oauthToken")
    expect(seen.length).toBeGreaterThan(0)

    const byOperation = (entries: ReadonlyArray<{ readonly key: string }>) => {
      const counts: Record<string, number> = {}
      for (const e of entries) counts[e.key] = (counts[e.key] ?? 0) + 1
      return counts
    }
    const calls: Record<string, number> = {}
    for (const s of samples(text, "cliq_upstream_calls_total")) {
      calls[String(s.labels.operation)] = (calls[String(s.labels.operation)] ?? 0) + s.value
    }
    expect(calls).toEqual(byOperation(seen.map(r => ({ key: String(r.operationId) }))))
    expect(samples(text, "cliq_upstream_throttled_total").reduce((n, s) => n + s.value, 0)).toBe(0)
    expect(seen.filter(r => r.outcome === "throttled" || r.outcome === "locked")).toEqual([])

    // Every call of this test is within the last minute, each bucket's window.
    const scrapedAt = Date.now()
    for (const s of samples(text, "cliq_budget_used")) {
      const bucket = String(s.labels.bucket) as keyof typeof BUCKETS
      const inWindow = seen.filter(r => r.bucket === bucket && r.atMs > scrapedAt - BUCKETS[bucket].windowMs)
      expect([bucket, s.value]).toEqual([bucket, inWindow.length])
    }
    expect(samples(text, "cliq_budget_used").length).toBe(Object.keys(BUCKETS).length)

    const [{ head }] = await sql<[{ head: string }]>`select max(seq) as head from events`
    expect(samples(text, "cliq_events_max_seq").map(s => s.value)).toEqual([Number(head)])
    const [{ synced }] = await sql<[{ synced: string }]>`select sum(events_appended) as synced from sync_state`
    const appended = samples(text, "cliq_events_appended").reduce((sum, s) => sum + s.value, 0)
    expect(appended).toBe(Number(synced))
    expect(appended).toBeGreaterThan(0)
    expect(samples(text, "cliq_account_credentials_ok").map(s => s.value)).toEqual([1])
    expect(text).toContain("process_resident_memory_bytes")
    expect(text).toContain("nodejs_eventloop_lag_seconds")
    expect(text).not.toContain("effect_fiber_failures")
  })

  it("says per account whether the sync moves and the credentials work", async () => {
    const reply = await scrape("/healthz")
    expect(reply.status).toBe(200)
    const body = (await reply.json()) as { status: string; accounts: Array<Record<string, unknown>> }
    expect(body.status).toBe("ok")
    expect(body.accounts.map(a => [a.credentials, a.moving])).toEqual([["ok", true]])
    const beat = JSON.parse(readFileSync(heartbeat, "utf8")) as {
      sync: string
      accounts: Array<Record<string, unknown>>
    }
    expect([beat.sync, beat.accounts.map(a => a.moving)]).toEqual(["ok", [true]])
  })
})
