import { BUCKETS, defaultMarginMs } from "@cliq-mirror/core"
import { Console, Effect } from "effect"
import { countRows, incrementalState, pollUntil } from "./Mirror.js"
import { spawnDaemon } from "./Processes.js"
import { pool, scratchDatabase, scratchRedisPrefix } from "./Scratch.js"
import { fixed, grouped, table } from "./Stats.js"
import { simulator, TOKEN, visibleChats } from "./Upstream.js"

export interface BudgetRun {
  readonly chats: number
  readonly timeScale: number
}

const PAGE = 500
const SEARCH = BUCKETS["chats.search"]

/** Most timestamps of `times` (ascending) inside any window of `windowMs`. */
const busiestWindow = (times: ReadonlyArray<number>, windowMs: number) => {
  let best = 0
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}

/**
 * (b) Initial sync against the real search budget (50 calls per window), windows shrunk by a time scale on both
 * sides. The bound is the issue's: ceil(chats / 500) calls at 50 per window.
 */
const budgetRun = (run: BudgetRun) =>
  Effect.gen(function* () {
    const sim = yield* simulator({ chats: run.chats, seed: 7, timeScale: run.timeScale })
    const expected = visibleChats(sim)
    const db = yield* scratchDatabase("budget")
    const redis = yield* scratchRedisPrefix("budget")
    const seqBefore = sim.state.requests().at(-1)?.seq ?? 0
    const daemon = yield* spawnDaemon({
      DATABASE_URL: db.url,
      REDIS_URL: redis.redisUrl,
      REDIS_PREFIX: redis.prefix,
      CLIQ_ACCESS_TOKEN: TOKEN,
      CLIQ_API_BASE_URL: sim.apiBaseUrl,
      CLIQ_TIME_SCALE: String(run.timeScale),
      LOG_LEVEL: "info"
    })
    const startedAt = yield* daemon.migrated
    const sql = yield* pool(db.url, 1)
    yield* pollUntil(
      "backfill",
      incrementalState(sql).pipe(Effect.map(s => (s.highWaterMs === null ? undefined : s))),
      { everyMs: 50, timeoutMs: 5 * 60_000, daemon }
    )
    const doneAt = Date.now()
    const mirrored = yield* countRows(sql, "chats")
    yield* daemon.stop
    if (mirrored !== expected)
      return yield* Effect.dieMessage(`mirror holds ${mirrored} chats, user 1 sees ${expected}`)
    const requests = sim.state.requests(seqBefore)
    const searches = requests.filter(r => r.operationId === "searchChats" && r.atMs <= doneAt)
    const windowMs = SEARCH.windowMs * run.timeScale
    const ideal = Math.ceil(expected / PAGE)
    const boundMs = (ideal / SEARCH.threshold) * windowMs
    const measuredMs = doneAt - startedAt
    return [
      String(run.timeScale),
      `${fixed(windowMs / 1000, 1)} s + ${defaultMarginMs(run.timeScale)} ms`,
      grouped(expected),
      `${ideal} / ${searches.length}`,
      `${busiestWindow(
        searches.map(r => r.atMs),
        windowMs
      )} of ${SEARCH.threshold}`,
      fixed(boundMs / 1000, 2),
      fixed(measuredMs / 1000, 2),
      `**${fixed(measuredMs / boundMs, 2)}×**`,
      `${sim.state.violations(seqBefore).length} / ${requests.filter(r => r.outcome === "throttled").length}`
    ]
  }).pipe(Effect.scoped)

export const budget = (runs: ReadonlyArray<BudgetRun>) =>
  Effect.gen(function* () {
    const rows = []
    for (const run of runs) rows.push(yield* budgetRun(run))
    yield* Console.log(
      `\n### (b) Initial sync against the search budget (${SEARCH.threshold} calls per window, pages of ${PAGE}), real thresholds, time-scaled windows\n`
    )
    yield* Console.log(
      table(
        [
          "time scale",
          "window + margin",
          "chats",
          "search calls: ceil(chats/500) / made",
          "most calls in one window",
          "bound s",
          "measured s",
          "measured / bound",
          "violations / throttled"
        ],
        "rrrrrrrrr",
        rows
      )
    )
    yield* Console.log(
      '\nbound = ceil(chats / 500) ÷ 50 × window; measured = daemon\'s "database migrated" → incremental high-water mark set. 50 calls in one window means the budget set the pace; fewer means local ingest did.'
    )
  })
