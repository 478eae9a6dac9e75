import { rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeDatabase } from "@cliq-mirror/db"
import { Effect, Redacted } from "effect"
import type { RunningSimulator } from "../../apps/simulator/src/index.js"
import { type DaemonProcess, startDaemon } from "../support/daemonProcess.js"
import { testDatabase } from "../support/database.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { scopedSimulator } from "../support/simulator.js"
import { visibleTruth } from "../sync/truth.js"

export { type ProxiedCall, recordingProxy } from "../support/proxy.js"

export const API_TOKEN = "fleet-secret"

export const accountId = (i: number) => `acct-${String(i + 1).padStart(4, "0")}`

/** A simulator of `users` accounts, a fresh database, a Redis prefix, and an accounts file naming every user. */
export const fleetEnvironment = (options: {
  readonly users: number
  readonly chats: number
  readonly seed: number
  readonly timeScale: number
  /** Declared for every account: they then share the client-scoped buckets. */
  readonly clientId?: string
}) =>
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({
      control: true,
      timeScale: options.timeScale,
      chats: options.chats,
      users: options.users,
      seed: options.seed
    })
    const db = yield* testDatabase
    const prefix = yield* scopedRedisPrefix("fleet")
    const database = yield* makeDatabase({ url: Redacted.make(db.url), max: 4 })
    const file = join(tmpdir(), `cliq-mirror-accounts-${process.pid}-${Date.now()}.json`)
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(file, { force: true })))
    const ids = sim.state.accounts().map((_, i) => accountId(i))
    writeFileSync(
      file,
      JSON.stringify(
        sim.state.accounts().map((a, i) => ({
          id: ids[i],
          access_token: a.token,
          ...(options.clientId ? { client_id: options.clientId } : {})
        }))
      )
    )
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      CLIQ_ACCOUNTS_FILE: file,
      CLIQ_API_BASE_URL: sim.apiBaseUrl,
      CLIQ_TIME_SCALE: String(options.timeScale),
      API_TOKEN,
      LOG_LEVEL: "warn"
    }
    return { sim, database, env, ids, prefix }
  })

export type FleetDatabase = Effect.Effect.Success<ReturnType<typeof makeDatabase>>

export const freePort = () =>
  Effect.async<number>(resume => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/** `npm start` (daemon + API in one process), stopped with SIGTERM when the scope closes. */
export const server = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startDaemon(env, "apps/server/src/main.ts")),
    p => Effect.promise(() => p.stop())
  )

export const daemon = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startDaemon(env)),
    p => Effect.promise(() => p.stop())
  )

/** Polls `check` until it answers a value, or dies with the processes' output after `timeoutMs`. */
export const eventually = <A>(
  what: string,
  check: Effect.Effect<A | undefined>,
  timeoutMs: number,
  processes: ReadonlyArray<DaemonProcess> = [],
  every = 250
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = yield* check
      if (value !== undefined) return value
      const dead = processes.find(p => p.exitCode() !== null)
      if (dead || Date.now() > deadline) {
        const output = processes.map(p => p.output().slice(-4000)).join("\n---\n")
        return yield* Effect.die(new Error(`${dead ? "a process exited" : "timed out"} waiting for ${what}\n${output}`))
      }
      yield* Effect.sleep(`${every} millis`)
    }
  })

/** Accounts whose mirror does not hold exactly the chats their user sees (ids compared). */
export const unmirrored = (database: FleetDatabase, sim: RunningSimulator, ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const rows = yield* database
      .use(
        (_, sql) => sql<Array<{ account_id: string; chat_ids: Array<string> }>>`
          select account_id, array_agg(chat_id order by chat_id) as chat_ids from chats group by account_id`
      )
      .pipe(Effect.orDie)
    const byAccount = new Map(rows.map(r => [r.account_id, r.chat_ids]))
    return ids.filter((id, i) => {
      const expected = visibleTruth(sim, i)
        .map(t => t.chatId)
        .sort()
      const got = [...(byAccount.get(id) ?? [])].sort()
      return got.length !== expected.length || got.some((c, j) => c !== expected[j])
    })
  })

export const apiRequest = (port: number, path: string, init: RequestInit = {}, timeoutMs = 5_000) =>
  Effect.promise(async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json", ...init.headers },
        signal: AbortSignal.timeout(timeoutMs)
      })
      return { status: res.status, body: (await res.json().catch(() => null)) as unknown }
    } catch {
      return { status: 0, body: null }
    }
  })
