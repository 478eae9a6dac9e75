import { Console, Effect } from "effect"
import { reloadRows, servePages } from "./Baselines.js"
import { countRows, incrementalState, pollUntil } from "./Mirror.js"
import { backendCpuMs } from "./PgProcesses.js"
import { spawnDaemon } from "./Processes.js"
import { summariseProfile } from "./Profile.js"
import { pool, scratchDatabase, scratchRedisPrefix } from "./Scratch.js"
import { fixed, grouped, mib, table } from "./Stats.js"
import { raisedBuckets, simulator, TOKEN, tempDir, visibleChats, writeRateLimits } from "./Upstream.js"

export interface IngestOptions {
  readonly chats: number
  /** Keep the daemon's --cpu-prof profile in this directory. */
  readonly profileDir?: string | undefined
}

const UNTHROTTLED = 1_000_000

/**
 * (a) Backfill of `chats` chats from an unthrottled simulator by the daemon as a child process, from its "database
 * migrated" line until the incremental stream's high-water mark is set. Only the search bucket is raised on the
 * daemon's side: the flag listings and member fetches that start with it keep their real budgets (20/min), so the
 * figure is the backfill's and not theirs.
 */
export const ingest = (options: IngestOptions) =>
  Effect.gen(function* () {
    const sim = yield* simulator({ chats: options.chats, seed: 42, buckets: raisedBuckets(UNTHROTTLED) })
    const expected = visibleChats(sim)
    const served = yield* servePages(sim.apiBaseUrl)
    if (served.chats !== expected) return yield* Effect.dieMessage(`serving walk saw ${served.chats} of ${expected}`)

    const db = yield* scratchDatabase("ingest")
    const redis = yield* scratchRedisPrefix("ingest")
    const dir = yield* tempDir("ingest")
    const limits = yield* writeRateLimits(dir, raisedBuckets(UNTHROTTLED), ["chats.search"])
    const seqBefore = sim.state.requests().at(-1)?.seq ?? 0
    const daemon = yield* spawnDaemon(
      {
        DATABASE_URL: db.url,
        REDIS_URL: redis.redisUrl,
        REDIS_PREFIX: redis.prefix,
        CLIQ_ACCESS_TOKEN: TOKEN,
        CLIQ_API_BASE_URL: sim.apiBaseUrl,
        RATE_LIMITS_FILE: limits,
        STATE_POLL_INTERVAL_MS: "3600000",
        RECONCILE_PAUSE_MS: "3600000",
        MEMBERS_POLL_INTERVAL_MS: "3600000",
        LOG_LEVEL: "info"
      },
      options.profileDir ? { cpuProfDir: options.profileDir } : {}
    )
    const startedAt = yield* daemon.migrated
    const atStart = daemon.stats()
    const cpuAtStart = atStart?.cpuMs ?? 0
    const memory: Array<{ readonly chats: number; readonly rssKib: number }> = [
      { chats: 0, rssKib: atStart?.rssKib ?? Number.NaN }
    ]
    const simCpuAtStart = process.cpuUsage()
    const sql = yield* pool(db.url, 1)
    yield* pollUntil(
      "backfill",
      incrementalState(sql).pipe(
        Effect.map(s => {
          const rssKib = daemon.stats()?.rssKib
          if (rssKib !== undefined) memory.push({ chats: s.chatsObserved, rssKib })
          return s.highWaterMs === null ? undefined : s
        })
      ),
      { everyMs: 50, timeoutMs: 10 * 60_000, daemon }
    )
    const doneAt = Date.now()
    const simCpu = process.cpuUsage(simCpuAtStart)
    const stats = daemon.stats()
    const pgCpuMs = yield* backendCpuMs(sql, db.name)
    const mirrored = yield* countRows(sql, "chats")
    const events = yield* countRows(sql, "events")
    const requests = sim.state.requests(seqBefore).filter(r => r.atMs <= doneAt)
    const searches = requests.filter(r => r.operationId === "searchChats").length
    const others = requests.length - searches
    yield* daemon.stop
    if (options.profileDir) yield* Console.error(yield* summariseProfile(options.profileDir))
    if (mirrored !== expected)
      return yield* Effect.dieMessage(`mirror holds ${mirrored} chats, user 1 sees ${expected}`)
    const failures = daemon.count("sync pass failed")

    const reloaded = yield* reloadRows(sql, searches)
    const seconds = (doneAt - startedAt) / 1000
    const row = (label: string, chats: number, ev: number | null, s: number, rss: string, cpu: string) => [
      label,
      grouped(chats),
      ev === null ? "—" : grouped(ev),
      fixed(s, 2),
      grouped(chats / s),
      ev === null ? "—" : grouped(ev / s),
      rss,
      cpu
    ]
    yield* Console.log(
      `\n### (a) Local ingest: backfill of ${grouped(expected)} chats, simulator unthrottled (${searches} search pages of 500, ${others} other upstream calls during the backfill, ${failures} failed passes)\n`
    )
    yield* Console.log(
      table(
        [
          "measurement",
          "chats",
          "events",
          "wall s",
          "chats/s",
          "events/s",
          "peak RSS",
          "CPU s: daemon / PG / simulator"
        ],
        "lrrrrrrr",
        [
          row(
            "**daemon backfill** (child process, migrated → high-water set)",
            mirrored,
            events,
            seconds,
            stats ? mib(stats.peakRssKib) : "?",
            [(stats?.cpuMs ?? 0) - cpuAtStart, pgCpuMs, (simCpu.user + simCpu.system) / 1000]
              .map(ms => fixed(ms / 1000))
              .join(" / ")
          ),
          row(
            "baseline: simulator serving the same walk (fetch + JSON.parse, no decode, no writes)",
            served.chats,
            null,
            served.ms / 1000,
            "—",
            "—"
          ),
          row(
            `baseline: the mirror's rows loaded again into empty copies of its tables, postgres.js multi-row INSERT, ${searches} transactions`,
            reloaded.chats,
            reloaded.events,
            reloaded.insertMs / 1000,
            "—",
            "—"
          ),
          row(
            "baseline: the same rows copied inside the server (INSERT … SELECT), same transactions",
            reloaded.chats,
            reloaded.events,
            reloaded.serverMs / 1000,
            "—",
            "—"
          )
        ]
      )
    )
    const us = (ms: number) => fixed((1000 * ms) / mirrored, 0)
    yield* Console.log(
      `\nPer chat: ${us(doneAt - startedAt)} µs wall; CPU ${us((stats?.cpuMs ?? 0) - cpuAtStart)} µs daemon, ${us(pgCpuMs)} µs PostgreSQL (its backends for this database), ${us((simCpu.user + simCpu.system) / 1000)} µs simulator (this process). The daemon locks and diffs a page while PostgreSQL commits the one before, so these partly overlap.`
    )
    const at = (share: number) => memory.find(m => m.chats >= share * mirrored) ?? memory[memory.length - 1]!
    const marks = [0, 0.25, 0.5, 0.75, 1].map(at)
    yield* Console.log(`\nDaemon RSS while the backfill progresses (peak ${stats ? mib(stats.peakRssKib) : "?"}):\n`)
    yield* Console.log(
      table(["chats mirrored", ...marks.map(m => grouped(m.chats))], "l".concat("r".repeat(marks.length)), [
        ["RSS", ...marks.map(m => mib(m.rssKib))]
      ])
    )
  }).pipe(Effect.scoped)
