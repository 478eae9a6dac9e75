import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type FaultSpec, type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { createTestDatabase, type TestDatabase } from "../support/database.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
const POLL_MS = 2000

/** The faults of a bad day on both listing endpoints: 500s, bodies that do not parse, one hold then drop, one reset. */
const faults = (): ReadonlyArray<FaultSpec> =>
  (["searchChats", "listChats"] as const).flatMap(operation => [
    { operation, kind: "status", status: 500, count: 2 },
    { operation, kind: "invalid_json" },
    { operation, kind: "status", status: 502 },
    { operation, kind: "wrong_shape", body: { chats: null } },
    { operation, kind: "timeout", holdMs: 1500 },
    { operation, kind: "reset" },
    { operation, kind: "error_code", code: "chat_operation_failed" }
  ])

describe("faults against a running daemon", () => {
  let sim: RunningSimulator
  let db: TestDatabase
  let sql: postgres.Sql
  let daemon: DaemonProcess | undefined
  const prefix = uniqueRedisPrefix("faults")

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, chats: 1000, users: 2, seed: 19, control: true, timeScale: 0.01 })
    db = await createTestDatabase()
    sql = postgres(db.url, { max: 2, onnotice: () => {} })
  })
  afterAll(async () => {
    await daemon?.stop()
    await sql?.end({ timeout: 5 })
    await db?.drop()
    await sim?.close()
    await clearRedisPrefix(prefix)
  })

  const mismatches = async (chatIds?: ReadonlySet<string>) => {
    const rows = (await sql.unsafe(MIRROR_ROW_SQL)).map(normalise)
    const byId = new Map(rows.map(r => [String(r.chat_id), r]))
    const expected = visibleTruth(sim)
      .map(t => expectedRow(t))
      .filter(e => chatIds === undefined || chatIds.has(e.chat_id))
    const wrong = expected.filter(e => JSON.stringify(byId.get(e.chat_id)) !== JSON.stringify(e)).map(e => e.chat_id)
    return chatIds === undefined && rows.length !== expected.length ? [...wrong, "(row count)"] : wrong
  }

  /** Waits for every armed fault to be hit, then for the mirror to equal the truth; returns ms after the last fault. */
  const convergedAfterFaults = async (deadlineMs: number) => {
    const start = Date.now()
    while (sim.state.listFaults().length > 0) {
      if (daemon?.exitCode() !== null) throw new Error(`daemon exited: ${daemon?.output()}`)
      if (Date.now() - start > 60_000) throw new Error("faults never hit")
      await sleep(20)
    }
    const lastFault = Date.now()
    while ((await mismatches()).length > 0) {
      if (Date.now() - lastFault > deadlineMs) throw new Error(`not converged: ${(await mismatches()).slice(0, 5)}`)
      await sleep(100)
    }
    return Date.now() - lastFault
  }

  it("the initial sync under faults equals the truth within 30 s of the last fault", { timeout: 120_000 }, async () => {
    for (const f of faults()) sim.state.injectFault(f)
    daemon = startDaemon(
      daemonEnv(
        {
          apiBaseUrl: sim.apiBaseUrl,
          token: sim.state.accounts()[0]!.token,
          databaseUrl: db.url,
          redisUrl: testRedisUrl()
        },
        prefix,
        0.01,
        {
          POLL_INTERVAL_MS: String(POLL_MS),
          STATE_POLL_INTERVAL_MS: "5000",
          RECONCILE_PAUSE_MS: "600000",
          MEMBERS_POLL_INTERVAL_MS: "600000",
          SYNC_OVERLAP_MS: "2000"
        }
      )
    )
    expect(await convergedAfterFaults(30_000)).toBeLessThan(30_000)
  })

  it("a burst of 250 changes under faults equals the truth within 30 s of the last fault", {
    timeout: 120_000
  }, async () => {
    const open = visibleTruth(sim).filter(t => !t.users[0]!.removed && !t.users[0]!.closed)
    const touched = open.slice(0, 250)
    for (const f of faults()) sim.state.injectFault(f)
    sim.state.postMessages({ chatIds: touched.map(t => t.chatId) })
    touched.forEach((t, i) => {
      if (i % 5 === 0) sim.state.setUserState(t.chatId, { userIndex: 0, muted: !t.users[0]!.muted })
      if (i % 5 === 1) sim.state.setUserState(t.chatId, { userIndex: 0, closed: true })
      if (i % 5 === 2) sim.state.renameChat(t.chatId, `renamed ${i}`)
      if (i % 5 === 3) sim.state.setUserState(t.chatId, { userIndex: 0, draft: `draft ${i}` })
    })
    expect(await convergedAfterFaults(30_000)).toBeLessThan(30_000)
  })

  it("mutes, closes, drafts and joins of chats whose time moved are mirrored within 2 × the poll interval", {
    timeout: 60_000
  }, async () => {
    const delays: Array<number> = []
    for (let round = 0; round < 3; round++) {
      const open = visibleTruth(sim).filter(t => !t.users[0]!.removed && !t.users[0]!.closed)
      const picked = open.slice(300 + round * 8, 308 + round * 8)
      const changedAt = Date.now()
      sim.state.postMessages({ chatIds: picked.map(t => t.chatId) })
      picked.forEach((t, i) => {
        const u = t.users[0]!
        if (i % 4 === 0) sim.state.setUserState(t.chatId, { userIndex: 0, muted: !u.muted })
        if (i % 4 === 1) sim.state.setUserState(t.chatId, { userIndex: 0, closed: true })
        if (i % 4 === 2) sim.state.setUserState(t.chatId, { userIndex: 0, draft: u.draft === null ? "new" : null })
        if (i % 4 === 3) sim.state.setUserState(t.chatId, { userIndex: 0, joined: !u.joined })
      })
      const ids = new Set(picked.map(t => t.chatId))
      while ((await mismatches(ids)).length > 0) {
        if (Date.now() - changedAt > 10 * POLL_MS) throw new Error(`not mirrored: ${await mismatches(ids)}`)
        await sleep(25)
      }
      delays.push(Date.now() - changedAt)
      await sleep(POLL_MS / 3)
    }
    for (const d of delays) expect(d).toBeLessThanOrEqual(2 * POLL_MS)
  })
})
