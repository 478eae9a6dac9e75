import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type postgres from "postgres"
import type { FaultSpec, RunningSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { scopedSql, testDatabase } from "../support/database.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { scopedSimulator } from "../support/simulator.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

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

class Fixture extends Context.Tag("test/FaultsLive/Fixture")<
  Fixture,
  {
    readonly sim: RunningSimulator
    readonly sql: postgres.Sql
    /** Started by the first test, stopped when the fixture is released; the later tests run against it. */
    readonly daemon: (env: (base: Record<string, string>) => Record<string, string>) => DaemonProcess
    readonly running: () => DaemonProcess | undefined
  }
>() {}

const FixtureLive = Layer.scoped(
  Fixture,
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({ chats: 1000, users: 2, seed: 19, control: true, timeScale: 0.01 })
    const db = yield* testDatabase
    const sql = yield* scopedSql(db.url)
    const prefix = yield* scopedRedisPrefix("faults")
    let current: DaemonProcess | undefined
    yield* Effect.addFinalizer(() => Effect.promise(async () => void (await current?.stop())))
    const base = daemonEnv(
      {
        apiBaseUrl: sim.apiBaseUrl,
        token: sim.state.accounts()[0]!.token,
        databaseUrl: db.url,
        redisUrl: testRedisUrl()
      },
      prefix,
      0.01
    )
    return {
      sim,
      sql,
      daemon: env => {
        current = startDaemon(env(base))
        return current
      },
      running: () => current
    }
  })
)

const mismatches = (chatIds?: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const { sim, sql } = yield* Fixture
    const rows = (yield* Effect.promise(() => sql.unsafe(MIRROR_ROW_SQL))).map(normalise)
    const byId = new Map(rows.map(r => [String(r.chat_id), r]))
    const expected = visibleTruth(sim)
      .map(t => expectedRow(t))
      .filter(e => chatIds === undefined || chatIds.has(e.chat_id))
    const wrong = expected.filter(e => JSON.stringify(byId.get(e.chat_id)) !== JSON.stringify(e)).map(e => e.chat_id)
    return chatIds === undefined && rows.length !== expected.length ? [...wrong, "(row count)"] : wrong
  })

/** Waits for every armed fault to be hit, then for the mirror to equal the truth; returns ms after the last fault. */
const convergedAfterFaults = (deadlineMs: number) =>
  Effect.gen(function* () {
    const { sim, running } = yield* Fixture
    const start = Date.now()
    while (sim.state.listFaults().length > 0) {
      const daemon = running()
      if (daemon?.exitCode() !== null) return yield* Effect.dieMessage(`daemon exited: ${daemon?.output()}`)
      if (Date.now() - start > 60_000) return yield* Effect.dieMessage("faults never hit")
      yield* Effect.sleep(20)
    }
    const lastFault = Date.now()
    while ((yield* mismatches()).length > 0) {
      if (Date.now() - lastFault > deadlineMs) {
        return yield* Effect.dieMessage(`not converged: ${(yield* mismatches()).slice(0, 5)}`)
      }
      yield* Effect.sleep(100)
    }
    return Date.now() - lastFault
  })

layer(FixtureLive, { timeout: "1 minute", excludeTestServices: true })("faults against a running daemon", it => {
  it.effect(
    "the initial sync under faults equals the truth within 30 s of the last fault",
    () =>
      Effect.gen(function* () {
        const { sim, daemon } = yield* Fixture
        for (const f of faults()) sim.state.injectFault(f)
        daemon(base => ({
          ...base,
          POLL_INTERVAL_MS: String(POLL_MS),
          STATE_POLL_INTERVAL_MS: "5000",
          RECONCILE_PAUSE_MS: "600000",
          MEMBERS_POLL_INTERVAL_MS: "600000",
          SYNC_OVERLAP_MS: "2000"
        }))
        assert.isBelow(yield* convergedAfterFaults(30_000), 30_000)
      }),
    120_000
  )

  it.effect(
    "a burst of 250 changes under faults equals the truth within 30 s of the last fault",
    () =>
      Effect.gen(function* () {
        const { sim } = yield* Fixture
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
        assert.isBelow(yield* convergedAfterFaults(30_000), 30_000)
      }),
    120_000
  )

  it.effect(
    "mutes, closes, drafts and joins of chats whose time moved are mirrored within 2 × the poll interval",
    () =>
      Effect.gen(function* () {
        const { sim } = yield* Fixture
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
          while ((yield* mismatches(ids)).length > 0) {
            if (Date.now() - changedAt > 10 * POLL_MS) {
              return yield* Effect.dieMessage(`not mirrored: ${yield* mismatches(ids)}`)
            }
            yield* Effect.sleep(25)
          }
          delays.push(Date.now() - changedAt)
          yield* Effect.sleep(POLL_MS / 3)
        }
        for (const d of delays) assert.isAtMost(d, 2 * POLL_MS)
      }),
    60_000
  )
})
