import { Database } from "@cliq-mirror/db"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { digest, matchesAny } from "../Auth.js"
import { BudgetStatus } from "../BudgetStatus.js"
import { ApiTokens } from "../Config.js"
import type { BucketUsage } from "../Dto/SyncStatus.js"

export interface StatusStream {
  readonly stream: string
  readonly status: string
  readonly lagMs: number | null
  readonly lastError: string | null
  readonly consecutiveFailures: number
}

export interface StatusAccount {
  readonly accountId: string
  readonly credentials: string
  readonly credentialsReason: string | null
  readonly streams: ReadonlyArray<StatusStream>
  readonly backfill: {
    readonly covered: number
    readonly items: number
    readonly estimatedTotal: number
    readonly etaMs: number
    readonly updatedAt: Date
  } | null
}

export interface StatusView {
  readonly now: Date
  readonly accounts: ReadonlyArray<StatusAccount>
  readonly buckets: ReadonlyArray<BucketUsage>
  readonly queue: ReadonlyArray<{ readonly status: string; readonly count: number }>
  readonly failed: ReadonlyArray<{
    readonly id: string
    readonly accountId: string
    readonly type: string
    readonly error: string
    readonly completedAt: Date | null
  }>
}

/** Seconds between reloads of the page. */
export const STATUS_REFRESH_SECONDS = 10

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c)

export const duration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  const h = Math.floor(s / 3600)
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`
}

const time = (d: Date | null) => (d === null ? "—" : `<time datetime="${d.toISOString()}">${d.toISOString()}</time>`)

const accountSection = (a: StatusAccount) => {
  const backfill =
    a.backfill === null
      ? ""
      : `<p class="backfill">Backfill <meter min="0" max="1" value="${a.backfill.covered}"></meter>
  <span data-test="backfill">${Math.round(a.backfill.covered * 100)} %</span> — ${a.backfill.items} of ~${
    a.backfill.estimatedTotal
  } chats, ETA ${a.backfill.covered >= 1 ? "done" : duration(a.backfill.etaMs)}</p>`
  const rows = a.streams
    .map(
      s =>
        `<tr><td>${escapeHtml(s.stream)}</td><td>${escapeHtml(s.status)}</td><td>${
          s.lagMs === null ? "—" : duration(s.lagMs)
        }</td><td class="err${s.lastError === null ? "" : " bad"}">${
          s.lastError === null ? "—" : `${escapeHtml(s.lastError)} (×${s.consecutiveFailures})`
        }</td></tr>`
    )
    .join("\n")
  return `<section class="account" data-account="${escapeHtml(a.accountId)}">
<h3>${escapeHtml(a.accountId)} <span class="${a.credentials === "ok" ? "ok" : "bad"}" data-test="credentials">credentials ${escapeHtml(
    a.credentials
  )}${a.credentialsReason === null ? "" : `: ${escapeHtml(a.credentialsReason)}`}</span></h3>
${backfill}
<div class="wrap"><table><thead><tr><th>Stream</th><th>State</th><th>Lag</th><th>Last error</th></tr></thead>
<tbody>${rows === "" ? `<tr><td colspan="4">not synced yet</td></tr>` : rows}</tbody></table></div>
</section>`
}

const bucketRow = (b: BucketUsage, now: Date) => {
  const locked = b.lockedUntil !== null && b.lockedUntil.getTime() > now.getTime()
  return `<tr data-bucket="${escapeHtml(`${b.accountId}/${b.bucket}`)}"><td>${escapeHtml(b.accountId)}</td><td>${escapeHtml(
    b.bucket
  )}</td><td><meter min="0" max="${b.threshold}" high="${Math.ceil(b.threshold * 0.8)}" value="${
    b.usedInWindow
  }"></meter> <span data-test="used">${b.usedInWindow}/${b.threshold}</span></td><td class="${locked ? "bad" : ""}">${
    locked ? `locked until ${time(b.lockedUntil)}` : "—"
  }</td></tr>`
}

/** The whole page: plain HTML and inline CSS, no script, reloaded by the browser every STATUS_REFRESH_SECONDS. */
export const renderStatusPage = (view: StatusView): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_REFRESH_SECONDS}">
<title>cliq-mirror status</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;padding:.75rem;max-width:60rem;color:#222;background:#fafafa}
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem;border-bottom:1px solid #ccc}h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.25rem 0 1rem}
.wrap{overflow-x:auto}
td,th{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #e4e4e4;vertical-align:top}
.err,code{overflow-wrap:anywhere}
meter{width:6rem;vertical-align:middle}.ok{color:#17692f}.bad{color:#a4161a;font-weight:600}
.account{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.25rem .75rem;margin-bottom:.75rem}
small{color:#666}
</style></head>
<body>
<h1>cliq-mirror status</h1>
<small>As of ${time(view.now)}; reloads every ${STATUS_REFRESH_SECONDS} s.</small>
<h2>Accounts</h2>
${view.accounts.length === 0 ? "<p>No accounts yet.</p>" : view.accounts.map(accountSection).join("\n")}
<h2>Rate buckets</h2>
<div class="wrap"><table id="buckets"><thead><tr><th>Account</th><th>Bucket</th><th>Window use</th><th>Lock</th></tr></thead>
<tbody>${view.buckets.map(b => bucketRow(b, view.now)).join("\n")}</tbody></table></div>
<h2>Command queue</h2>
<table id="queue"><thead><tr><th>Status</th><th>Commands</th></tr></thead><tbody>${view.queue
  .map(q => `<tr data-status="${escapeHtml(q.status)}"><td>${escapeHtml(q.status)}</td><td>${q.count}</td></tr>`)
  .join("\n")}</tbody></table>
<h2>Recent failed commands</h2>
${
  view.failed.length === 0
    ? "<p>None.</p>"
    : `<div class="wrap"><table id="failed"><thead><tr><th>Finished</th><th>Account</th><th>Type</th><th>Error</th><th>Id</th></tr></thead><tbody>${view.failed
        .map(
          f =>
            `<tr><td>${time(f.completedAt)}</td><td>${escapeHtml(f.accountId)}</td><td>${escapeHtml(f.type)}</td><td>${escapeHtml(
              f.error
            )}</td><td><code>${escapeHtml(f.id)}</code></td></tr>`
        )
        .join("\n")}</tbody></table></div>`
}
</body></html>
`

/** Statuses shown even when empty, so the queue table always has the same rows. */
export const QUEUE_STATUSES = ["queued", "running", "waiting_rate_limit", "waiting_reauth"] as const

/** What the page shows, in a few small reads: no table is counted whole (unfinished commands use a partial index). */
export const readStatus = Effect.gen(function* () {
  const database = yield* Database
  const budget = yield* BudgetStatus
  const data = yield* database.use(async (_, sql) => {
    const [{ now }] = await sql<[{ now: string }]>`select now() as now`
    const accounts = await sql<Array<{ id: string }>>`select id from accounts order by id`
    const streams = await sql<
      Array<{
        account_id: string
        stream: string
        status: string
        lag_ms: number | null
        consecutive_failures: number
        last_error: { code: string; message: string } | null
      }>
    >`select account_id, stream, status, consecutive_failures, last_error,
        (extract(epoch from now() - last_success_at) * 1000)::float8 as lag_ms
      from sync_state order by account_id, stream`
    const credentials = await sql<Array<{ account_id: string; state: string; reason: string | null }>>`
      select account_id, state, reason from account_credentials`
    const backfill = await sql<
      Array<{
        account_id: string
        covered: number
        items: string
        estimated_total: string
        eta_ms: string
        updated_at: string
      }>
    >`select account_id, covered, items, estimated_total, eta_ms, updated_at from backfill_progress
      where stream = 'incremental'`
    const queue = await sql<Array<{ status: string; n: string }>>`
      select status, count(*) as n from commands
      where status not in ('succeeded', 'failed', 'cancelled') group by status`
    const failed = await sql<
      Array<{
        id: string
        account_id: string
        type: string
        last_error: { code: string; message: string } | null
        completed_at: string | null
      }>
    >`select id, account_id, type, last_error, completed_at from commands
      where status = 'failed'
      order by completed_at desc nulls last limit 10`
    return { now, accounts, streams, credentials, backfill, queue, failed }
  })
  const ids = [...new Set([...data.accounts.map(a => a.id), ...data.streams.map(s => s.account_id)])]
  const buckets = yield* budget.snapshot(ids)
  const counts = new Map(data.queue.map(q => [q.status, Number(q.n)]))
  const view: StatusView = {
    now: new Date(data.now),
    accounts: ids.map(accountId => {
      const cred = data.credentials.find(c => c.account_id === accountId)
      const fill = data.backfill.find(b => b.account_id === accountId)
      const incremental = data.streams.find(s => s.account_id === accountId && s.stream === "incremental")
      return {
        accountId,
        credentials: cred === undefined || cred.state === "ok" ? "ok" : cred.state,
        credentialsReason: cred === undefined || cred.state === "ok" ? null : cred.reason,
        streams: data.streams
          .filter(s => s.account_id === accountId)
          .map(s => ({
            stream: s.stream,
            status: s.status,
            lagMs: s.lag_ms,
            consecutiveFailures: s.consecutive_failures,
            lastError: s.last_error === null ? null : `${s.last_error.code}: ${s.last_error.message}`
          })),
        // A finished backfill leaves its last estimate behind; once the stream has a full pass it is done.
        backfill:
          fill === undefined
            ? null
            : {
                covered: incremental?.lag_ms !== null && incremental?.lag_ms !== undefined ? 1 : fill.covered,
                items: Number(fill.items),
                estimatedTotal: Number(fill.estimated_total),
                etaMs: Number(fill.eta_ms),
                updatedAt: new Date(fill.updated_at)
              }
      }
    }),
    buckets: buckets.filter(b => ids.includes(b.accountId)),
    queue: [...new Set([...QUEUE_STATUSES, ...counts.keys()])].map(status => ({
      status,
      count: counts.get(status) ?? 0
    })),
    failed: data.failed.map(f => ({
      id: f.id,
      accountId: f.account_id,
      type: f.type,
      error: f.last_error === null ? "—" : `${f.last_error.code}: ${f.last_error.message}`,
      completedAt: f.completed_at === null ? null : new Date(f.completed_at)
    }))
  }
  return view
})

const basicPassword = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)
  if (match?.[1] === undefined) return undefined
  const decoded = Buffer.from(match[1], "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

const challenge = HttpServerResponse.text("authentication required: any user name, an API token as the password", {
  status: 401,
  headers: { "www-authenticate": 'Basic realm="cliq-mirror", charset="UTF-8"' }
})

/** `GET /status`: the operator's page (README "Operations"), behind HTTP Basic auth whose password is an API token. */
export const StatusPageLive = HttpApiBuilder.Router.use(router =>
  Effect.gen(function* () {
    const accepted = (yield* ApiTokens).map(t => digest(Redacted.value(t)))
    const database = yield* Database
    const budget = yield* BudgetStatus
    yield* router.get(
      "/status",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const password = basicPassword(request.headers.authorization)
        if (password === undefined || password.length > 4096 || !matchesAny(password, accepted)) return challenge
        const view = yield* readStatus.pipe(
          Effect.provideService(Database, database),
          Effect.provideService(BudgetStatus, budget),
          Effect.timeout("10 seconds")
        )
        return HttpServerResponse.html(renderStatusPage(view)).pipe(
          HttpServerResponse.setHeader("cache-control", "no-store")
        )
      }).pipe(
        Effect.catchAll(error =>
          Effect.as(
            Effect.logWarning("status page unavailable").pipe(Effect.annotateLogs({ error: String(error) })),
            HttpServerResponse.text("status unavailable: the database or Redis is not answering", { status: 503 })
          )
        )
      )
    )
  })
)
