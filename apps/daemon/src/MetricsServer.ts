import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { BUCKET_IDS, budgetKey } from "@cliq-mirror/core"
import { Database } from "@cliq-mirror/db"
import { Context, Effect, Layer, Option, Redacted, Runtime } from "effect"
import { Accounts } from "./Accounts.js"
import {
  budgetLocked,
  budgetThreshold,
  budgetUsed,
  commandsUnfinished,
  credentialsOk,
  eventsAppended,
  eventsLogHead,
  registry,
  syncFailures,
  syncLag,
  syncMoving
} from "./Metrics.js"
import { MetricsConfig } from "./MetricsConfig.js"
import { Upstream } from "./Upstream.js"

interface StreamRow {
  readonly account_id: string
  readonly stream: string
  readonly lag_ms: number | null
  readonly idle_ms: number
  readonly consecutive_failures: number
  readonly events_appended: string
  readonly last_error: { code: string; message: string } | null
}

export interface AccountHealth {
  readonly account: string
  readonly credentials: "ok" | "refused"
  readonly credentialsReason: string | null
  readonly moving: boolean
  readonly streams: ReadonlyArray<{
    readonly stream: string
    readonly moving: boolean
    readonly lagSeconds: number | null
    readonly lastError: string | null
  }>
}

/** Healthy when every account's credentials work and each of its streams wrote its state within `staleMs`. */
export const judgeHealth = (
  accounts: ReadonlyArray<string>,
  rows: ReadonlyArray<StreamRow>,
  refused: (account: string) => string | undefined,
  staleMs: number
): { readonly ok: boolean; readonly accounts: ReadonlyArray<AccountHealth> } => {
  const judged = accounts.map((account): AccountHealth => {
    const streams = rows
      .filter(r => r.account_id === account)
      .map(r => ({
        stream: r.stream,
        moving: r.idle_ms <= staleMs,
        lagSeconds: r.lag_ms === null ? null : Math.round(r.lag_ms / 1000),
        lastError: r.last_error === null ? null : `${r.last_error.code}: ${r.last_error.message}`
      }))
    const reason = refused(account)
    return {
      account,
      credentials: reason === undefined ? "ok" : "refused",
      credentialsReason: reason ?? null,
      moving: streams.length > 0 && streams.every(s => s.moving),
      streams
    }
  })
  return { ok: judged.every(a => a.credentials === "ok" && a.moving), accounts: judged }
}

/** Per scrape: the sync_state rows (one per account and stream), unfinished commands (partial index), Redis usage. */
export const makeScrape = Effect.gen(function* () {
  const database = yield* Database
  const { all } = yield* Accounts
  const upstream = yield* Upstream
  const { staleMs } = yield* MetricsConfig
  const { budget } = upstream

  const streamRows = database.use(
    (_, sql) => sql<Array<StreamRow>>`
      select account_id, stream, consecutive_failures, events_appended, last_error,
        (extract(epoch from now() - last_success_at) * 1000)::float8 as lag_ms,
        (extract(epoch from now() - updated_at) * 1000)::float8 as idle_ms
      from sync_state`
  )
  const refusedIn = database.use(
    (_, sql) =>
      sql<Array<{ account_id: string; reason: string | null }>>`
        select account_id, reason from account_credentials where state <> 'ok'`
  )
  const logHead = database.use((_, sql) => sql<Array<{ seq: string | null }>>`select max(seq) as seq from events`)
  const unfinished = database.use(
    (_, sql) => sql<Array<{ status: string; n: string }>>`
      select status, count(*) as n from commands
      where status not in ('succeeded', 'failed', 'cancelled') group by status`
  )

  const health = Effect.gen(function* () {
    const [rows, refusedRows] = yield* Effect.all([streamRows, refusedIn], { concurrency: 2 })
    const stored = new Map(refusedRows.map(r => [r.account_id, r.reason ?? "unknown"]))
    return judgeHealth(
      all.map(a => a.id),
      rows,
      id => upstream.credentials.problem(id)?.reason ?? stored.get(id),
      staleMs
    )
  })

  const refresh = Effect.gen(function* () {
    const [rows, judged, counts, head] = yield* Effect.all([streamRows, health, unfinished, logHead], {
      concurrency: 4
    })
    eventsLogHead.set(Number(head[0]?.seq ?? 0))
    syncLag.reset()
    syncFailures.reset()
    eventsAppended.reset()
    for (const r of rows) {
      const labels = { account: r.account_id, stream: r.stream }
      if (r.lag_ms !== null) syncLag.set(labels, r.lag_ms / 1000)
      syncFailures.set(labels, r.consecutive_failures)
      eventsAppended.set(labels, Number(r.events_appended))
    }
    for (const a of judged.accounts) {
      credentialsOk.set({ account: a.account }, a.credentials === "ok" ? 1 : 0)
      syncMoving.set({ account: a.account }, a.moving ? 1 : 0)
    }
    commandsUnfinished.reset()
    for (const status of ["queued", "running", "waiting_rate_limit", "waiting_reauth"]) {
      commandsUnfinished.set({ status }, 0)
    }
    for (const c of counts) commandsUnfinished.set({ status: c.status }, Number(c.n))
    const targets = all.flatMap(account =>
      BUCKET_IDS.map(bucket => ({ account: account.id, bucket, key: budgetKey(account, bucket, budget.buckets) }))
    )
    const usages = yield* budget.snapshot(targets.map(t => ({ key: t.key, bucket: t.bucket })))
    usages.forEach((u, i) => {
      const labels = { bucket: u.bucket, account: targets[i]?.account ?? u.key }
      budgetUsed.set(labels, u.usedInWindow)
      budgetThreshold.set(labels, u.threshold)
      budgetLocked.set(labels, u.lockedUntil === null ? 0 : Math.max(0, (u.lockedUntil - u.now) / 1000))
    })
  })

  return { refresh, health } as const
})

export class MetricsAddress extends Context.Tag("@cliq-mirror/daemon/MetricsAddress")<
  MetricsAddress,
  { readonly port: number }
>() {}

const authorized = (req: IncomingMessage, token: Option.Option<Redacted.Redacted<string>>) =>
  Option.isNone(token) || req.headers.authorization === `Bearer ${Redacted.value(token.value)}`

/** `/metrics` and `/healthz` of the daemon on METRICS_HOST:METRICS_PORT; METRICS_TOKEN, when set, as a Bearer token. */
export const MetricsServerLive = Layer.scoped(
  MetricsAddress,
  Effect.gen(function* () {
    const { port, host, token } = yield* MetricsConfig
    const scrape = yield* makeScrape
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    const send = (res: ServerResponse, status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type })
      res.end(body)
    }
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (!authorized(req, token)) {
        res.writeHead(401, { "www-authenticate": "Bearer" })
        return res.end()
      }
      const path = (req.url ?? "/").split("?")[0]
      if (path === "/metrics") {
        await run(
          scrape.refresh.pipe(
            Effect.timeout("5 seconds"),
            Effect.catchAll(error => Effect.logWarning("metrics: figures unavailable", { error: String(error) }))
          )
        )
        return send(res, 200, registry.contentType, await registry.metrics())
      }
      if (path === "/healthz") {
        const judged = await run(Effect.either(Effect.timeout(scrape.health, "5 seconds")))
        if (judged._tag === "Left") return send(res, 503, "application/json", JSON.stringify({ status: "down" }))
        const body = JSON.stringify({ status: judged.right.ok ? "ok" : "degraded", accounts: judged.right.accounts })
        return send(res, judged.right.ok ? 200 : 503, "application/json", body)
      }
      send(res, 404, "text/plain", "not found")
    }
    const server = createServer((req, res) => {
      handle(req, res).catch(() => send(res, 500, "text/plain", "error"))
    })
    yield* Effect.acquireRelease(
      Effect.async<void, Error>(resume => {
        server.once("error", e => resume(Effect.fail(e)))
        server.listen(port, host, () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>(resume => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const address = server.address()
    const bound = address !== null && typeof address === "object" ? address.port : port
    yield* Effect.logInfo("metrics listening").pipe(Effect.annotateLogs({ address: `http://${host}:${bound}/metrics` }))
    return { port: bound }
  })
)
