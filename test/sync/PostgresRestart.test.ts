import { Effect, Exit, Scope } from "effect"
import postgres from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { makeOwnPostgres, type OwnPostgresHandle } from "../support/OwnPostgres.js"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

describe("PostgreSQL restarted during a sync", () => {
  let sim: RunningSimulator
  let pg: OwnPostgresHandle
  let daemon: DaemonProcess | undefined
  const scope = Effect.runSync(Scope.make())
  const prefix = uniqueRedisPrefix("pgrestart")

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, chats: 2000, users: 2, seed: 29, control: true, timeScale: 0.01 })
    pg = await Effect.runPromise(makeOwnPostgres().pipe(Scope.extend(scope)))
  })
  afterAll(async () => {
    await daemon?.stop()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sim?.close()
    await clearRedisPrefix(prefix)
  })

  const query = async <A>(f: (sql: postgres.Sql) => Promise<A>): Promise<A | undefined> => {
    const sql = postgres(pg.url, { max: 1, onnotice: () => {}, connect_timeout: 2 })
    try {
      return await f(sql)
    } catch {
      return undefined
    } finally {
      await sql.end({ timeout: 1 })
    }
  }

  const mismatches = async () => {
    const rows = await query(async sql => (await sql.unsafe(MIRROR_ROW_SQL)).map(normalise))
    if (rows === undefined) return -1
    const byId = new Map(rows.map(r => [String(r.chat_id), r]))
    const expected = visibleTruth(sim).map(t => expectedRow(t))
    const wrong = expected.filter(e => JSON.stringify(byId.get(e.chat_id)) !== JSON.stringify(e)).length
    return wrong + Math.abs(rows.length - expected.length)
  }

  it("the daemon recovers without a restart and the mirror converges", { timeout: 150_000 }, async () => {
    daemon = startDaemon(
      daemonEnv(
        {
          apiBaseUrl: sim.apiBaseUrl,
          token: sim.state.accounts()[0]!.token,
          databaseUrl: pg.url,
          redisUrl: testRedisUrl()
        },
        prefix,
        0.01,
        {
          POLL_INTERVAL_MS: "500",
          STATE_POLL_INTERVAL_MS: "3000",
          MEMBERS_POLL_INTERVAL_MS: "600000",
          LOG_LEVEL: "info"
        }
      )
    )
    const events = async () =>
      (await query(async sql => Number((await sql`select count(*) as n from events`)[0]!.n))) ?? 0
    const deadline = Date.now() + 75_000
    while ((await events()) < 500) {
      if (daemon.exitCode() !== null)
        throw new Error(`daemon exited (${daemon.exitCode()}): ${daemon.output().slice(-3000)}`)
      if (Date.now() > deadline) throw new Error(`the backfill never started: ${daemon.output().slice(-3000)}`)
      await sleep(20)
    }
    await Effect.runPromise(pg.stop("immediate"))
    sim.state.postMessages({
      chatIds: visibleTruth(sim)
        .slice(0, 50)
        .map(t => t.chatId)
    })
    await sleep(1500)
    await Effect.runPromise(pg.start())
    const restartedAt = Date.now()
    while ((await mismatches()) !== 0) {
      if (daemon.exitCode() !== null)
        throw new Error(`daemon exited (${daemon.exitCode()}): ${daemon.output().slice(-3000)}`)
      if (Date.now() - restartedAt > 45_000) throw new Error(`not converged: ${await mismatches()} rows differ`)
      await sleep(200)
    }
    expect(daemon.exitCode()).toBeNull()
  })
})
