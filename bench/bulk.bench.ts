// npx tsx bench/bulk.bench.ts [--quick] — (a) one POST /v1/bulk mark_as_read over 10,000 unread chats: the dry run,
// the intake of the batch (one transaction) and the drain by a real daemon against the simulator at time scale 0.1
// (wall time from the first upstream call to the last against the budget's bound, calls made, violations);
// (b) a whole-mirror export of 100,000 chats through the CLI (`chats export --format csv`) against `psql \copy` of
// the same rows.
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { BUCKETS } from "@cliq-mirror/core"
import { migrateDatabase } from "@cliq-mirror/db"
import { type RunningSimulator, startSimulator } from "@cliq-mirror/simulator"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect } from "effect"
import type postgres from "postgres"
import { spawnDaemon } from "./support/Processes.js"
import { cleanup, pool, REPO_ROOT, scratchDatabase, scratchRedisPrefix } from "./support/Scratch.js"
import { tempDir } from "./support/Upstream.js"

const QUICK = process.argv.includes("--quick")
const BULK_CHATS = QUICK ? 2_000 : 10_000
/** Simulator chats: about half of them are the account's, enough for BULK_CHATS unread ones. */
const SIM_CHATS = QUICK ? 5_000 : 22_000
const EXPORT_CHATS = QUICK ? 20_000 : 100_000
const SCALE = 0.1
const TOKEN = "bench-token"

class BenchError extends Data.TaggedError("BenchError")<{ readonly message: string }> {}

const freePort = Effect.async<number>(resume => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const run = (cmd: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ code: number | null; bytes: number; lines: number }>(resume => {
    const proc = spawn(cmd, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", ...env } })
    let bytes = 0
    let lines = 0
    proc.stdout.on("data", (d: Buffer) => {
      bytes += d.length
      for (const b of d) if (b === 10) lines++
    })
    proc.stderr.on("data", (d: Buffer) => process.stderr.write(d))
    proc.on("close", code => resume(Effect.succeed({ code, bytes, lines })))
    return Effect.sync(() => proc.kill())
  })

/** The API as one node process in an empty directory (no `.env` read), answering /healthz; stopped with the scope. */
const spawnApi = (env: Record<string, string>, base: string) =>
  Effect.gen(function* () {
    const cwd = yield* tempDir("api")
    const proc = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--import", import.meta.resolve("tsx"), join(REPO_ROOT, "apps/api/src/main.ts")], {
          cwd,
          env: { PATH: process.env.PATH ?? "", TSX_TSCONFIG_PATH: join(REPO_ROOT, "tsconfig.json"), ...env },
          stdio: ["ignore", "ignore", "inherit"]
        })
      ),
      proc =>
        cleanup(`api pid ${proc.pid}`, async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return
          const exited = new Promise(resolve => proc.once("exit", resolve))
          proc.kill("SIGTERM")
          await exited
        })
    )
    yield* until(
      "the API to answer",
      120_000,
      Effect.promise(() =>
        fetch(`${base}/healthz`).then(
          r => (r.ok ? true : undefined),
          () => (proc.exitCode === null ? undefined : true)
        )
      )
    )
    if (proc.exitCode !== null) return yield* new BenchError({ message: `the API exited (${proc.exitCode})` })
  })

const seedExtra = (sql: postgres.Sql, n: number) =>
  Effect.promise(() =>
    sql.unsafe(`insert into chats (account_id, chat_id, name, chat_type, raw, unread_message_count,
        last_modified_time, last_message_info)
      select 'default', 'E' || g, 'chat ' || g, 'group_chat', '{}'::jsonb, g % 7, now() - g * interval '1 second',
        jsonb_build_object('message_id', 'M' || g)
      from generate_series(1, ${n}) g`)
  )

const api = (base: string) => {
  const call = (method: string, path: string, body?: unknown) =>
    Effect.promise(async () => {
      const t0 = performance.now()
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const json = (await r.json()) as Record<string, unknown>
      return { status: r.status, json, ms: performance.now() - t0 }
    })
  return { call }
}

const until = <A>(what: string, ms: number, probe: Effect.Effect<A | undefined, BenchError>) =>
  Effect.gen(function* () {
    const deadline = Date.now() + ms
    while (true) {
      const got = yield* probe
      if (got !== undefined) return got
      if (Date.now() > deadline) return yield* new BenchError({ message: `${what}: not within ${ms / 1000} s` })
      yield* Effect.sleep("500 millis")
    }
  })

/** Makes exactly `target` of the mirror's chats unread: messages posted upstream, then seen by the daemon's sync. */
const makeUnread = (sim: RunningSimulator, sql: postgres.Sql, target: number, matched: Effect.Effect<number>) =>
  Effect.gen(function* () {
    const mirrored = new Set(
      (yield* Effect.promise(() => sql<Array<{ chat_id: string }>>`select chat_id from chats where not removed`)).map(
        r => r.chat_id
      )
    )
    // A message from someone else makes a chat unread for the account, except where it cannot (bots, threads, …).
    const unusable = new Set<string>()
    const unreadFor = (chatId: string) =>
      (sim.state.chat(chatId)?.users.find(u => u.userIndex === 0)?.unreadCount ?? 0) > 0
    for (let round = 0; round < 6; round++) {
      const now = yield* matched
      if (now === target) return
      if (now > target) return yield* new BenchError({ message: `${now} unread chats, more than ${target}` })
      const read = sim.state
        .chats()
        .filter(t => {
          const u = t.users.find(x => x.userIndex === 0)
          return (
            mirrored.has(t.chatId) && !unusable.has(t.chatId) && u?.member === true && !u.removed && u.unreadCount === 0
          )
        })
        .slice(0, target - now)
        .map(t => t.chatId)
      // One message each, a few milliseconds apart (one shared instant would be a pathological burst for the sync).
      const start = sim.state.now() - read.length * 5
      for (const [i, chatId] of read.entries()) sim.state.postMessage(chatId, { atMs: start + i * 5 })
      for (const id of read) if (!unreadFor(id)) unusable.add(id)
      // Settled: the target reached, or the same count for 10 s (the sync saw every message it will see).
      const seen: Array<number> = []
      yield* until(
        "the sync to see the new messages",
        180_000,
        Effect.map(Effect.zipLeft(matched, Effect.sleep("2 seconds")), n => {
          seen.push(n)
          const recent = seen.slice(-5)
          return n === target || (recent.length === 5 && recent.every(x => x === n)) ? n : undefined
        })
      )
    }
    return yield* new BenchError({ message: `could not make ${target} chats unread` })
  })

const main = Effect.gen(function* () {
  const db = yield* scratchDatabase("bulk")
  const { prefix, redisUrl } = yield* scratchRedisPrefix("bulk")
  const sim = yield* Effect.acquireRelease(
    Effect.promise(() =>
      startSimulator({ port: 0, timeScale: SCALE, chats: SIM_CHATS, users: 3, seed: 21, requestLogLimit: 1_000_000 })
    ),
    s => Effect.promise(() => s.close())
  )
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
    CLIQ_API_BASE_URL: sim.apiBaseUrl,
    CLIQ_TIME_SCALE: String(SCALE),
    LOG_LEVEL: "warn",
    METRICS_PORT: "0"
  }
  yield* migrateDatabase(db.url)
  const sql = yield* pool(db.url)
  const port = yield* freePort
  const base = `http://127.0.0.1:${port}`
  yield* spawnApi({ ...env, API_TOKEN: TOKEN, API_PORT: String(port) }, base)
  const { call } = api(base)
  const where = { unread: true }
  const matched = Effect.map(call("POST", "/v1/bulk", { type: "mark_as_read", where, dry_run: true }), r =>
    Number(r.json.matched)
  )

  // The daemon syncs the simulator's chats into the mirror and drains the batch; it stops before the export.
  const drain = yield* Effect.scoped(
    Effect.gen(function* () {
      const daemon = yield* spawnDaemon({
        ...env,
        // Its "database migrated" line tells the bench it is up.
        LOG_LEVEL: "info",
        POLL_INTERVAL_MS: "1000",
        // Only the incremental stream matters here; the others would only compete for the machine.
        STATE_POLL_INTERVAL_MS: "3600000",
        MEMBERS_POLL_INTERVAL_MS: "3600000",
        RECONCILE_PAUSE_MS: "3600000"
      })
      yield* daemon.migrated
      let last = -1
      yield* until(
        "the initial sync",
        300_000,
        Effect.promise(async () => {
          await new Promise(resolve => setTimeout(resolve, 2000))
          const [row] = await sql<Array<{ n: number }>>`select count(*)::int as n from chats`
          const n = row?.n ?? 0
          const settled = n > 0 && n === last
          last = n
          return settled ? n : undefined
        })
      )
      if (last < BULK_CHATS)
        return yield* new BenchError({ message: `${last} chats mirrored, fewer than ${BULK_CHATS}` })
      yield* makeUnread(sim, sql, BULK_CHATS, matched)

      const dry = yield* call("POST", "/v1/bulk", { type: "mark_as_read", where, dry_run: true })
      const since = sim.state.requests().at(-1)?.seq ?? 0
      const intake = yield* call("POST", "/v1/bulk", { type: "mark_as_read", where })
      if (intake.status !== 202) return yield* new BenchError({ message: JSON.stringify(intake.json) })
      const acceptedAt = Date.now()
      const batchId = String(intake.json.batch_id)
      const view = yield* until(
        "the batch to finish",
        QUICK ? 600_000 : 1_800_000,
        Effect.flatMap(call("GET", `/v1/batches/${batchId}`), r =>
          daemon.running()
            ? Effect.succeed(r.json.status === "finished" ? r.json : undefined)
            : new BenchError({ message: `the daemon exited while the batch ran:\n${daemon.tail()}` })
        )
      )
      const finishedAt = Date.now()
      if (!daemon.running()) return yield* new BenchError({ message: `the daemon exited:\n${daemon.tail()}` })
      const calls = sim.state.requests(since).filter(r => r.operationId === "bulkReadStatusUpdate")
      return { dry, intake, acceptedAt, finishedAt, view, calls, mirrored: last }
    })
  )

  const { dry, intake, view, calls } = drain
  const bucket = BUCKETS["chats.bulk_update"]
  const windowMs = 60_000 * SCALE
  const marginMs = Math.max(50, Math.round(2000 * SCALE))
  const ok = calls.filter(c => c.outcome === "ok")
  const first = calls[0]?.atMs ?? Number.NaN
  const lastCall = calls.at(-1)?.atMs ?? Number.NaN
  const wallMs = lastCall - first
  // The budget admits `threshold` calls per window; call k·threshold waits for the grants a window plus the margin old.
  const boundMs = Math.max(0, Math.ceil(calls.length / bucket.threshold) - 1) * (windowMs + marginMs)
  const violations = sim.state.violations().length
  const counts = JSON.stringify(view.counts)
  yield* Console.log(
    [
      `## bulk mark_as_read of ${BULK_CHATS} chats, one request (drain at time scale ${SCALE}: window ${windowMs} ms, margin ${marginMs} ms)`,
      "",
      `${drain.mirrored} chats mirrored from ${SIM_CHATS} simulator chats by the daemon; batch ${counts}`,
      "",
      "| measure | value |",
      "|---|---:|",
      `| dry run (count ${dry.json.matched}, sample, calls, eta) | ${dry.ms.toFixed(0)} ms |`,
      `| intake of the batch (${intake.json.matched} commands, one transaction) | ${intake.ms.toFixed(0)} ms |`,
      `| upstream calls planned by the dry run / made (\`bulkReadStatusUpdate\`, 100 chats each) | ${dry.json.upstream_calls} / ${calls.length} (${ok.length} ok) |`,
      `| intake answered → first upstream call | ${((first - drain.acceptedAt) / 1000).toFixed(1)} s |`,
      `| wall time, first upstream call → last | ${(wallMs / 1000).toFixed(1)} s |`,
      `| budget bound for ${calls.length} calls (\`chats.bulk_update\` ${bucket.threshold} per ${windowMs} ms window + ${marginMs} ms margin) | ${(boundMs / 1000).toFixed(1)} s |`,
      `| wall / bound | ${boundMs === 0 ? "— (one window)" : (wallMs / boundMs).toFixed(2)} |`,
      `| intake answered → batch finished (as GET /v1/batches sees it, 0.5 s polls) | ${((drain.finishedAt - drain.acceptedAt) / 1000).toFixed(1)} s |`,
      `| rate-limit violations (simulator) | ${violations} |`,
      ""
    ].join("\n")
  )
  if (violations > 0) return yield* new BenchError({ message: `${violations} rate-limit violations` })

  yield* seedExtra(sql, EXPORT_CHATS - drain.mirrored)
  const exportRows = yield* Effect.promise(() => sql<Array<{ n: number }>>`select count(*)::int as n from chats`)
  yield* Effect.gen(function* () {
    const t0 = performance.now()
    const cliRun = yield* run(process.execPath, ["apps/cli/bin/cliq-mirror.js", "chats", "export", "--format", "csv"], {
      CLIQ_MIRROR_URL: base,
      CLIQ_MIRROR_TOKEN: TOKEN
    })
    const cliS = (performance.now() - t0) / 1000
    const t1 = performance.now()
    const psqlRun = yield* run(
      "psql",
      [
        db.url,
        "-c",
        "\\copy (select account_id, chat_id, name, chat_type, participant_count, created_time, last_modified_time, unread_message_count, pinned, muted, closed, removed, last_message_info ->> 'message_id' from chats order by last_modified_time desc, chat_id desc) to stdout with csv header"
      ],
      {}
    )
    const psqlS = (performance.now() - t1) / 1000
    if (cliRun.code !== 0 || psqlRun.code !== 0)
      return yield* new BenchError({ message: `export failed: cli ${cliRun.code}, psql ${psqlRun.code}` })
    yield* Console.log(
      [
        `## whole-mirror export of ${exportRows[0]?.n} chats`,
        "",
        "| way | rows | seconds | rows/s |",
        "|---|---:|---:|---:|",
        `| \`cliq-mirror chats export --format csv\` (process start included) | ${cliRun.lines - 1} | ${cliS.toFixed(1)} | ${Math.round((cliRun.lines - 1) / cliS)} |`,
        `| \`psql \\copy … to stdout with csv\` | ${psqlRun.lines - 1} | ${psqlS.toFixed(1)} | ${Math.round((psqlRun.lines - 1) / psqlS)} |`,
        ""
      ].join("\n")
    )
  })
})

NodeRuntime.runMain(Effect.scoped(main).pipe(Effect.tapError(e => Console.error(e.message))), {
  disableErrorReporting: true
})
