import { replayProjections } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type postgres from "postgres"
import type { RunningSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { scopedSql, testDatabase } from "../support/database.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { scopedSimulator } from "../support/simulator.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

class Fixture extends Context.Tag("test/Crash/Fixture")<
  Fixture,
  { readonly sim: RunningSimulator; readonly sql: postgres.Sql; readonly env: Record<string, string> }
>() {}

const FixtureLive = Layer.scoped(
  Fixture,
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({ chats: 12_000, users: 2, seed: 3, control: true, timeScale: 0.01 })
    const db = yield* testDatabase
    const sql = yield* scopedSql(db.url)
    const prefix = yield* scopedRedisPrefix("crash")
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
    return { sim, sql, env }
  })
)

/** Polls `done` every `everyMs` until it holds or `withinMs` passed; fails if the daemon exited meanwhile. */
const waitFor = (daemon: DaemonProcess, done: Effect.Effect<boolean>, everyMs: number, withinMs: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + withinMs
    while (!(yield* done) && Date.now() < deadline) {
      if (daemon.exitCode() !== null) return yield* Effect.dieMessage(`daemon exited: ${daemon.output()}`)
      yield* Effect.sleep(everyMs)
    }
  })

layer(FixtureLive, { timeout: "2 minutes", excludeTestServices: true })("crash safety", it => {
  it.effect(
    "kill -9 at any moment of the backfill, then a restart, gives the truth with no event twice",
    () =>
      Effect.gen(function* () {
        const { sim, sql, env } = yield* Fixture
        const events = Effect.promise(() =>
          sql`select count(*)::int as n from events`.then(r => Number(r[0]!.n)).catch(() => 0)
        )
        const highWater = Effect.promise(() =>
          sql`select high_water_ms from sync_state where stream = 'incremental'`.then(r => r[0]?.high_water_ms ?? null)
        )
        // Three kills at growing depths into the walk, each as soon as more pages have committed.
        for (const pages of [1, 3, 5]) {
          const daemon = startDaemon(env)
          yield* waitFor(
            daemon,
            Effect.map(events, n => n >= pages * 500),
            2,
            60_000
          )
          yield* Effect.promise(() => daemon.kill9())
          assert.isNull(yield* highWater)
        }
        const daemon = startDaemon(env)
        yield* waitFor(
          daemon,
          Effect.map(highWater, h => h !== null),
          50,
          90_000
        )
        yield* Effect.promise(() => daemon.stop())
        assert.isNotNull(yield* highWater, daemon.output())

        const expected = visibleTruth(sim)
          .filter(t => !t.users[0]!.removed)
          .map(t => expectedRow(t))
        const rows = (yield* Effect.promise(() => sql.unsafe(MIRROR_ROW_SQL))).map(normalise)
        const byId = new Map(rows.map(r => [String(r.chat_id), r]))
        for (const e of expected) {
          const { muted: _m, closed: _c, drafts: _d, joined: _j, ...fromSearch } = e
          const row = byId.get(e.chat_id)
          assert.isDefined(row, e.chat_id)
          assert.deepInclude(row, fromSearch, e.chat_id)
        }
        const [dup] = yield* Effect.promise(
          () => sql`
            select count(*)::int as total, count(distinct chat_id)::int as chats from events where type = 'ChatDiscovered'`
        )
        assert.strictEqual(dup!.total, dup!.chats)
        assert.strictEqual(dup!.chats, rows.length)
        const replay = yield* Effect.promise(() => replayProjections(sql, { write: false }))
        assert.deepStrictEqual(replay.differences, [])
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    240_000
  )
})
