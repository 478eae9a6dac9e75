// npx tsx bench/bulk.bench.ts [--quick] — (a) one POST /v1/bulk mark_as_read over 10,000 unread chats against the API
// process: the dry run, the intake of the batch (one transaction), the upstream calls it plans and the wall time the
// shared budget bounds it to; (b) a whole-mirror export of 100,000 chats through the CLI (`chats export --format csv`)
// against `psql \copy` of the same rows.
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { performance } from "node:perf_hooks"
import { BUCKETS } from "@cliq-mirror/core"
import { migrateDatabase } from "@cliq-mirror/db"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Data, Effect } from "effect"
import postgres from "postgres"
import { REPO_ROOT } from "./support/Scratch.js"

const QUICK = process.argv.includes("--quick")
const BULK_CHATS = QUICK ? 2_000 : 10_000
const EXPORT_CHATS = QUICK ? 20_000 : 100_000
const TOKEN = "bench-token"

class BenchError extends Data.TaggedError("BenchError")<{ readonly message: string }> {}

const Settings = Config.all({
  databaseUrl: Config.string("DATABASE_URL").pipe(Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")),
  redisUrl: Config.string("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379"))
})

const scratchDatabase = Effect.gen(function* () {
  const { databaseUrl } = yield* Settings
  const name = `bench_bulk_${randomBytes(4).toString("hex")}`
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
      await sql.unsafe(`drop database if exists "${name}" with (force)`).catch(() => undefined)
      await sql.end({ timeout: 5 })
    })
  )
  const u = new URL(databaseUrl)
  u.pathname = `/${name}`
  yield* migrateDatabase(u.toString())
  return u.toString()
})

const freePort = Effect.async<number>(resume => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const stop = (proc: ChildProcess) =>
  Effect.promise(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise(resolve => proc.once("exit", resolve))
    proc.kill("SIGTERM")
    await exited
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
  })

const seed = (url: string, n: number, prefix: string) =>
  Effect.promise(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} })
    await sql.unsafe(
      `insert into accounts (id) values ('default') on conflict do nothing;
       insert into chats (account_id, chat_id, name, chat_type, raw, unread_message_count, last_modified_time,
         last_message_info)
       select 'default', '${prefix}' || g, 'chat ' || g, 'group_chat', '{}'::jsonb, 1 + g % 7,
         now() - g * interval '1 second', jsonb_build_object('message_id', 'M' || g)
       from generate_series(1, ${n}) g`
    )
    await sql.end({ timeout: 5 })
  })

const main = Effect.gen(function* () {
  const { redisUrl } = yield* Settings
  const url = yield* scratchDatabase
  yield* seed(url, BULK_CHATS, "B")
  const port = yield* freePort
  const env = {
    API_TOKEN: TOKEN,
    API_PORT: String(port),
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `bench:bulk:${randomBytes(4).toString("hex")}:`,
    LOG_LEVEL: "warn"
  }
  const api = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, ["--import", "tsx", "apps/api/src/main.ts"], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: "ignore"
      })
    ),
    stop
  )
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 120_000
  while (
    !(yield* Effect.promise(() =>
      fetch(`${base}/healthz`).then(
        r => r.ok,
        () => false
      )
    ))
  ) {
    if (api.exitCode !== null || Date.now() > deadline)
      return yield* new BenchError({ message: "the API did not start" })
    yield* Effect.sleep("200 millis")
  }
  const post = (body: unknown) =>
    Effect.promise(async () => {
      const t0 = performance.now()
      const r = await fetch(`${base}/v1/bulk`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body)
      })
      const json = (await r.json()) as Record<string, unknown>
      return { status: r.status, json, ms: performance.now() - t0 }
    })
  const where = { unread: true }
  const dry = yield* post({ type: "mark_as_read", where, dry_run: true })
  const runReply = yield* post({ type: "mark_as_read", where })
  if (runReply.status !== 202) return yield* new BenchError({ message: JSON.stringify(runReply.json) })
  const calls = Number(dry.json.upstream_calls)
  const bucket = BUCKETS["chats.bulk_update"]
  const periodS = 60 + 2
  const boundS = Math.max(0, Math.ceil(calls / bucket.threshold) - 1) * periodS
  yield* Console.log(
    [
      `## bulk mark_as_read of ${BULK_CHATS} chats, one request`,
      "",
      "| measure | value |",
      "|---|---:|",
      `| dry run (count, sample, calls, eta) | ${dry.ms.toFixed(0)} ms |`,
      `| intake of the batch (${runReply.json.matched} commands, one transaction) | ${runReply.ms.toFixed(0)} ms |`,
      `| upstream calls planned (100 chats per bulk call) | ${calls} |`,
      `| wall time the budget allows at best (${bucket.threshold}/min, 62 s period) | ${boundS} s after the first call |`,
      ""
    ].join("\n")
  )

  yield* seed(url, EXPORT_CHATS - BULK_CHATS, "E")
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
      url,
      "-c",
      "\\copy (select account_id, chat_id, name, chat_type, participant_count, created_time, last_modified_time, unread_message_count, pinned, muted, closed, removed, last_message_info ->> 'message_id' from chats order by last_modified_time desc, chat_id desc) to stdout with csv header"
    ],
    {}
  )
  const psqlS = (performance.now() - t1) / 1000
  yield* Console.log(
    [
      `## whole-mirror export of ${EXPORT_CHATS} chats`,
      "",
      "| way | rows | seconds | rows/s |",
      "|---|---:|---:|---:|",
      `| \`cliq-mirror chats export --format csv\` (process start included) | ${cliRun.lines - 1} | ${cliS.toFixed(1)} | ${Math.round((cliRun.lines - 1) / cliS)} |`,
      `| \`psql \\copy … to stdout with csv\` | ${psqlRun.lines - 1} | ${psqlS.toFixed(1)} | ${Math.round((psqlRun.lines - 1) / psqlS)} |`,
      ""
    ].join("\n")
  )
})

NodeRuntime.runMain(Effect.scoped(main).pipe(Effect.tapError(e => Console.error(e.message))), {
  disableErrorReporting: true
})
