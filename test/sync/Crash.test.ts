import { replayProjections } from "@cliq-mirror/db"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { createTestDatabase, type TestDatabase } from "../support/database.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

describe("crash safety", () => {
  let sim: RunningSimulator
  let db: TestDatabase
  let sql: postgres.Sql
  const prefix = uniqueRedisPrefix("crash")

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, chats: 12_000, users: 2, seed: 3, control: true, timeScale: 0.01 })
    db = await createTestDatabase()
    sql = postgres(db.url, { max: 2, onnotice: () => {} })
  })
  afterAll(async () => {
    await sql?.end({ timeout: 5 })
    await db?.drop()
    await sim?.close()
    await clearRedisPrefix(prefix)
  })

  it("kill -9 at any moment of the backfill, then a restart, gives the truth with no event twice", {
    timeout: 240_000
  }, async () => {
    const env = daemonEnv(
      {
        apiBaseUrl: sim.apiBaseUrl,
        token: sim.state.accounts()[0]!.token,
        databaseUrl: db.url,
        redisUrl: testRedisUrl()
      },
      prefix,
      0.01,
      {
        POLL_INTERVAL_MS: "200",
        STATE_POLL_INTERVAL_MS: "600000",
        RECONCILE_PAUSE_MS: "600000",
        MEMBERS_POLL_INTERVAL_MS: "600000"
      }
    )
    const events = async () => Number((await sql`select count(*)::int as n from events`)[0]!.n)
    const highWater = async () =>
      (await sql`select high_water_ms from sync_state where stream = 'incremental'`)[0]?.high_water_ms ?? null
    // Three kills at growing depths into the walk, each as soon as more pages have committed.
    for (const pages of [1, 3, 5]) {
      const daemon = startDaemon(env)
      const deadline = Date.now() + 60_000
      while ((await events().catch(() => 0)) < pages * 500 && Date.now() < deadline) {
        if (daemon.exitCode() !== null) throw new Error(`daemon exited: ${daemon.output()}`)
        await sleep(2)
      }
      await daemon.kill9()
      expect(await highWater()).toBeNull()
    }
    const daemon = startDaemon(env)
    const deadline = Date.now() + 90_000
    while ((await highWater()) === null && Date.now() < deadline) {
      if (daemon.exitCode() !== null) throw new Error(`daemon exited: ${daemon.output()}`)
      await sleep(50)
    }
    await daemon.stop()
    expect(await highWater(), daemon.output()).not.toBeNull()

    const expected = visibleTruth(sim)
      .filter(t => !t.users[0]!.removed)
      .map(t => expectedRow(t))
    const rows = (await sql.unsafe(MIRROR_ROW_SQL)).map(normalise)
    const byId = new Map(rows.map(r => [r.chat_id as string, r]))
    for (const e of expected) {
      const { muted: _m, closed: _c, drafts: _d, joined: _j, ...fromSearch } = e
      const row = byId.get(e.chat_id)
      expect(row, e.chat_id).toBeDefined()
      expect(row).toMatchObject(fromSearch)
    }
    const [dup] = await sql`
      select count(*)::int as total, count(distinct chat_id)::int as chats from events where type = 'ChatDiscovered'`
    expect(dup!.total).toBe(dup!.chats)
    expect(dup!.chats).toBe(rows.length)
    const replay = await replayProjections(sql, { write: false })
    expect(replay.differences).toEqual([])
    expect(sim.state.violations()).toEqual([])
  })
})
