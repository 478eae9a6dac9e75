import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import postgres from "postgres"
import type { RunningSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { makeOwnPostgres, type OwnPostgresHandle } from "../support/OwnPostgres.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { scopedSimulator } from "../support/simulator.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

class Fixture extends Context.Tag("test/PostgresRestart/Fixture")<
  Fixture,
  { readonly sim: RunningSimulator; readonly pg: OwnPostgresHandle; readonly env: Record<string, string> }
>() {}

/** A simulator, a PostgreSQL cluster of this test's own, and the daemon's environment against them. */
const FixtureLive = Layer.scoped(
  Fixture,
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({ chats: 2000, users: 2, seed: 29, control: true, timeScale: 0.01 })
    const pg = yield* makeOwnPostgres()
    const prefix = yield* scopedRedisPrefix("pgrestart")
    const env = daemonEnv(
      {
        apiBaseUrl: sim.apiBaseUrl,
        token: sim.state.accounts()[0]!.token,
        databaseUrl: pg.url,
        redisUrl: testRedisUrl()
      },
      prefix,
      0.01,
      { POLL_INTERVAL_MS: "500", STATE_POLL_INTERVAL_MS: "3000", MEMBERS_POLL_INTERVAL_MS: "600000", LOG_LEVEL: "info" }
    )
    return { sim, pg, env }
  })
)

/** One query on a fresh connection; None while the server is down or refusing. */
const query = <A>(pg: OwnPostgresHandle, f: (sql: postgres.Sql) => Promise<A>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => postgres(pg.url, { max: 1, onnotice: () => {}, connect_timeout: 2 })),
    sql => Effect.option(Effect.tryPromise(() => f(sql))),
    sql => Effect.promise(() => sql.end({ timeout: 1 }))
  )

const mismatches = (sim: RunningSimulator, pg: OwnPostgresHandle) =>
  Effect.map(
    query(pg, async sql => (await sql.unsafe(MIRROR_ROW_SQL)).map(normalise)),
    rows => {
      if (rows._tag === "None") return -1
      const byId = new Map(rows.value.map(r => [String(r.chat_id), r]))
      const expected = visibleTruth(sim).map(t => expectedRow(t))
      const wrong = expected.filter(e => JSON.stringify(byId.get(e.chat_id)) !== JSON.stringify(e)).length
      return wrong + Math.abs(rows.value.length - expected.length)
    }
  )

const exited = (daemon: DaemonProcess) =>
  Effect.dieMessage(`daemon exited (${daemon.exitCode()}): ${daemon.output().slice(-3000)}`)

layer(FixtureLive, { timeout: "2 minutes", excludeTestServices: true })("PostgreSQL restarted during a sync", it => {
  it.scoped(
    "the daemon recovers without a restart and the mirror converges",
    () =>
      Effect.gen(function* () {
        const { sim, pg, env } = yield* Fixture
        const daemon = yield* Effect.acquireRelease(
          Effect.sync(() => startDaemon(env)),
          d => Effect.promise(() => d.stop())
        )
        const events = Effect.map(
          query(pg, async sql => Number((await sql`select count(*) as n from events`)[0]!.n)),
          n => (n._tag === "Some" ? n.value : 0)
        )
        const deadline = Date.now() + 75_000
        while ((yield* events) < 500) {
          if (daemon.exitCode() !== null) return yield* exited(daemon)
          if (Date.now() > deadline) {
            return yield* Effect.dieMessage(`the backfill never started: ${daemon.output().slice(-3000)}`)
          }
          yield* Effect.sleep(20)
        }
        yield* pg.stop("immediate")
        sim.state.postMessages({
          chatIds: visibleTruth(sim)
            .slice(0, 50)
            .map(t => t.chatId)
        })
        yield* Effect.sleep(1500)
        yield* pg.start()
        const restartedAt = Date.now()
        while ((yield* mismatches(sim, pg)) !== 0) {
          if (daemon.exitCode() !== null) return yield* exited(daemon)
          if (Date.now() - restartedAt > 45_000) {
            return yield* Effect.dieMessage(`not converged: ${yield* mismatches(sim, pg)} rows differ`)
          }
          yield* Effect.sleep(200)
        }
        assert.isNull(daemon.exitCode())
      }),
    150_000
  )
})
