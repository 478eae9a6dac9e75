import { ConfigProvider, Console, Effect, Fiber } from "effect"
import type postgres from "postgres"
import { DaemonConfig } from "../../apps/daemon/src/Config.js"
import { ACCOUNT, incrementalState, pollUntil } from "./Mirror.js"
import { spawnDaemon } from "./Processes.js"
import { pool, scratchDatabase, scratchRedisPrefix } from "./Scratch.js"
import { fixed, median, percentile, table } from "./Stats.js"
import { simulator, TOKEN } from "./Upstream.js"

export interface FreshnessRun {
  /** undefined: the daemon's default. */
  readonly pollIntervalMs?: number | undefined
  readonly changes: number
  readonly spanMs: number
}

const CHATS = 2_000
const WATCH_EVERY_MS = 50
/** The daemon's own default, read from its configuration with nothing set. */
const defaultPollMs = DaemonConfig.pipe(
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
  Effect.map(c => c.pollIntervalMs),
  Effect.orDie
)

/** Deterministic, so two runs make the same changes at the same offsets. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface Change {
  readonly chatId: string
  readonly at: number
  /** The mirror reflects it when its row shows this name or this last message id. */
  readonly name?: string
  readonly messageId?: string
}

interface Seen {
  readonly change: Change
  readonly delayMs: number
  /** Until the first search after the change whose range reaches the present (so it could show it). */
  readonly pollMs: number | undefined
}

type Applied = Omit<Change, "at">

/**
 * Applies `changes` at their offsets and watches the mirror every 50 ms until each one shows (or `deadline`).
 * `searchTimes` gives the simulator's search requests, to split each delay into waiting for a poll and the pass.
 */
const watch = (
  sql: postgres.Sql,
  plan: ReadonlyArray<{ readonly offsetMs: number; readonly apply: () => Applied }>,
  deadlineMs: number,
  searchTimes: () => ReadonlyArray<number>
) =>
  Effect.gen(function* () {
    const pending = new Map<string, Change>()
    const seen: Array<Seen> = []
    const t0 = Date.now()
    const changer = yield* Effect.fork(
      Effect.forEach(
        plan,
        step =>
          Effect.gen(function* () {
            yield* Effect.sleep(Math.max(0, t0 + step.offsetMs - Date.now()))
            const change = step.apply()
            pending.set(change.chatId, { ...change, at: Date.now() })
          }),
        { discard: true }
      )
    )
    while (Date.now() < t0 + deadlineMs && (pending.size > 0 || seen.length < plan.length)) {
      if (pending.size > 0) {
        const rows = yield* Effect.promise(
          () => sql<Array<{ chat_id: string; name: string; message_id: string | null }>>`
            select chat_id, name, last_message_info->>'message_id' as message_id from chats
            where account_id = ${ACCOUNT} and chat_id = any(${[...pending.keys()]})`
        )
        const now = Date.now()
        for (const row of rows) {
          const change = pending.get(row.chat_id)!
          if ((change.name ?? row.name) !== row.name || (change.messageId ?? row.message_id) !== row.message_id)
            continue
          pending.delete(row.chat_id)
          const poll = searchTimes().find(t => t >= change.at)
          seen.push({ change, delayMs: now - change.at, pollMs: poll === undefined ? undefined : poll - change.at })
        }
      }
      yield* Effect.sleep(WATCH_EVERY_MS)
    }
    yield* Fiber.interrupt(changer)
    return { seen, missed: plan.length - seen.length }
  })

const summary = (label: string, changes: number, result: { seen: ReadonlyArray<Seen>; missed: number }) => {
  const delays = result.seen.map(s => s.delayMs / 1000).sort((a, b) => a - b)
  const polled = result.seen.flatMap(s => (s.pollMs === undefined ? [] : [s]))
  const waits = polled.map(s => s.pollMs! / 1000).sort((a, b) => a - b)
  const passes = polled.map(s => (s.delayMs - s.pollMs!) / 1000).sort((a, b) => a - b)
  const f = (xs: ReadonlyArray<number>, g: (xs: ReadonlyArray<number>) => number) =>
    xs.length === 0 ? "—" : fixed(g(xs), 2)
  return [
    label,
    `${result.seen.length} of ${changes}`,
    `**${f(delays, median)}**`,
    `**${f(delays, xs => percentile(xs, 0.95))}**`,
    f(delays, xs => xs[xs.length - 1]!),
    f(waits, median),
    f(passes, median)
  ]
}

/** (c) Delay from a simulator change (new message or rename) to the mirror's row, at a poll interval. */
const freshnessRun = (run: FreshnessRun, seed: number) =>
  Effect.gen(function* () {
    const sim = yield* simulator({ chats: CHATS, seed: 11 })
    const db = yield* scratchDatabase("fresh")
    const redis = yield* scratchRedisPrefix("fresh")
    const daemon = yield* spawnDaemon({
      DATABASE_URL: db.url,
      REDIS_URL: redis.redisUrl,
      REDIS_PREFIX: redis.prefix,
      CLIQ_ACCESS_TOKEN: TOKEN,
      CLIQ_API_BASE_URL: sim.apiBaseUrl,
      ...(run.pollIntervalMs === undefined ? {} : { POLL_INTERVAL_MS: String(run.pollIntervalMs) }),
      LOG_LEVEL: "info"
    })
    yield* daemon.migrated
    const sql = yield* pool(db.url, 1)
    yield* pollUntil(
      "backfill",
      incrementalState(sql).pipe(Effect.map(s => (s.highWaterMs === null ? undefined : s))),
      { everyMs: 100, timeoutMs: 2 * 60_000, daemon }
    )
    const next = random(seed)
    const candidates = sim.state
      .chats()
      .filter(c => c.users.some(u => u.userIndex === 0 && !u.removed))
      .map(c => ({ id: c.chatId, renamable: c.chatType !== "direct_message" }))
    const picked = new Set<number>()
    const plan = Array.from({ length: run.changes }, (_, i) => {
      let at: number
      do at = Math.floor(next() * candidates.length)
      while (picked.has(at))
      picked.add(at)
      const chat = candidates[at]!
      const rename = chat.renamable && next() < 0.5
      return {
        offsetMs: Math.round(next() * run.spanMs),
        apply: (): Applied =>
          rename
            ? { chatId: chat.id, name: sim.state.renameChat(chat.id, `bench rename ${seed}-${i}`).title }
            : { chatId: chat.id, messageId: sim.state.postMessage(chat.id, { text: `bench message ${i}` }).messageId }
      }
    }).sort((a, b) => a.offsetMs - b.offsetMs)
    const interval = run.pollIntervalMs ?? (yield* defaultPollMs)
    const result = yield* watch(sql, plan, run.spanMs + 3 * interval + 30_000, () =>
      sim.state
        .requests()
        .filter(r => r.operationId === "searchChats" && !r.path.includes("modified_before="))
        .map(r => r.atMs)
    )
    return summary(
      run.pollIntervalMs === undefined ? `${interval} ms (default)` : `${interval} ms`,
      run.changes,
      result
    )
  }).pipe(Effect.scoped)

/** The watcher alone: the same 50 ms loop on changes written straight into a mirror table, no daemon. */
const floorRun = (changes: number, spanMs: number, seed: number) =>
  Effect.gen(function* () {
    const db = yield* scratchDatabase("floor")
    const admin = yield* pool(db.url.replace(/\/[^/]*$/, "/postgres"), 1)
    yield* Effect.promise(() => admin.unsafe(`create database "${db.name}"`))
    const sql = yield* pool(db.url, 2)
    yield* Effect.promise(
      () => sql`create table chats (account_id text, chat_id text, name text, last_message_info jsonb)`
    )
    const next = random(seed)
    const plan = Array.from({ length: changes }, (_, i) => ({
      offsetMs: Math.round(next() * spanMs),
      apply: (): Applied => {
        void sql`insert into chats values (${ACCOUNT}, ${`c${i}`}, ${`floor ${i}`}, null)`.execute()
        return { chatId: `c${i}`, name: `floor ${i}` }
      }
    })).sort((a, b) => a.offsetMs - b.offsetMs)
    const result = yield* watch(sql, plan, spanMs + 10_000, () => [])
    return summary("baseline: the watcher alone (rows written straight into Postgres)", changes, result)
  }).pipe(Effect.scoped)

export const freshness = (runs: ReadonlyArray<FreshnessRun>) =>
  Effect.gen(function* () {
    const rows = [yield* floorRun(runs[0]?.changes ?? 20, 10_000, 3)]
    for (const [i, run] of runs.entries()) rows.push(yield* freshnessRun(run, 100 + i))
    yield* Console.log(
      `\n### (c) Freshness: simulator change (new message or rename) → the mirror's chats row, ${CHATS} chats, mirror polled every ${WATCH_EVERY_MS} ms\n`
    )
    yield* Console.log(
      table(
        [
          "POLL_INTERVAL_MS",
          "changes seen",
          "median s",
          "p95 s",
          "max s",
          "median wait for the next search s",
          "median search → row visible s"
        ],
        "lrrrrrr",
        rows
      )
    )
    yield* Console.log(
      "\nDelay = the change in the simulator → the mirror's row shows it. Its split uses the simulator's request log: the first search after the change whose range reaches the present (an incremental pass, or a reconciliation walk's first page), then that search → the row."
    )
  })
