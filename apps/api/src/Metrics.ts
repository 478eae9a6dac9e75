import type { Database } from "@cliq-mirror/db"
import { Effect, Option } from "effect"
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"

/** The API's one registry: `/metrics` serves it. Sync, budget and command figures are the daemon's (METRICS_PORT). */
export const registry = new Registry()
collectDefaultMetrics({ register: registry })

const httpRequests = new Counter({
  name: "http_requests_total",
  help: "HTTP requests served, by route template, method and status",
  labelNames: ["route", "method", "status"] as const,
  registers: [registry]
})

const httpDuration = new Histogram({
  name: "http_request_duration_seconds",
  help: "Time to answer an HTTP request, by route template and method",
  labelNames: ["route", "method"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry]
})

/**
 * Counts one answered request that took `elapsedMs` (a monotonic interval, `performance.now()` at both ends). A plain
 * call, made from the edge's one `Effect.sync` per request.
 */
export const countRequest = (route: string, method: string, status: number, elapsedMs: number): void => {
  httpRequests.inc({ route, method, status: String(status) })
  httpDuration.observe({ route, method }, Math.max(0, elapsedMs) / 1000)
}

const databaseUp = new Gauge({
  name: "cliq_database_up",
  help: "1 when the figures below could be read from Postgres",
  registers: [registry]
})

const eventsMaxSeq = new Gauge({
  name: "cliq_events_max_seq",
  help: "Highest seq in the event log",
  registers: [registry]
})

const syncLag = new Gauge({
  name: "cliq_sync_lag_seconds",
  help: "Seconds since the stream last completed a full pass",
  labelNames: ["account_id", "stream"] as const,
  registers: [registry]
})

const commandsUnfinished = new Gauge({
  name: "cliq_commands",
  help: "Unfinished commands by status",
  labelNames: ["status"] as const,
  registers: [registry]
})

/** No table scans: the seq's primary key, the small sync_state, and the partial index of unfinished commands. */
const readFigures = (database: Database) =>
  database.use(async (_, sql) => {
    const [max] = await sql<Array<{ seq: string | null }>>`select max(seq) as seq from events`
    const lags = await sql<Array<{ account_id: string; stream: string; lag_ms: number }>>`
      select account_id, stream, (extract(epoch from now() - last_success_at) * 1000)::float8 as lag_ms
      from sync_state where last_success_at is not null`
    const counts = await sql<Array<{ status: string; n: string }>>`
      select status, count(*) as n from commands
      where status not in ('succeeded', 'failed', 'cancelled') group by status`
    return { maxSeq: Number(max?.seq ?? 0), lags, counts }
  })

/** Prometheus text of the API's registry, with the database figures read now (or `cliq_database_up 0`). */
export const renderMetrics = (database: Database) =>
  readFigures(database).pipe(
    Effect.timeout("5 seconds"),
    Effect.tapError(error =>
      Effect.logWarning("metrics: database figures unavailable").pipe(Effect.annotateLogs({ error: String(error) }))
    ),
    Effect.option,
    Effect.flatMap(figures =>
      Effect.sync(() => {
        syncLag.reset()
        commandsUnfinished.reset()
        if (Option.isNone(figures)) return databaseUp.set(0)
        databaseUp.set(1)
        eventsMaxSeq.set(figures.value.maxSeq)
        for (const l of figures.value.lags) syncLag.set({ account_id: l.account_id, stream: l.stream }, l.lag_ms / 1000)
        for (const c of figures.value.counts) commandsUnfinished.set({ status: c.status }, Number(c.n))
      })
    ),
    Effect.zipRight(Effect.promise(() => registry.metrics()))
  )
