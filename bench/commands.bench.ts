// npx tsx bench/commands.bench.ts [intake] [drain] [--quick] — (a) command intake through the API (batch and single POSTs) against
// a fresh database, with the database-only and HTTP-only ceilings as baselines; (b) drain utilisation: the daemon
// against the simulator at time scale 0.05 with three buckets kept busy for three scaled minutes. No scenario named:
// both.
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { BUCKETS, type BucketId, type CommandInput, parseCommand } from "@cliq-mirror/core"
import { CommandsRepo, Database, makeDatabase, migrateDatabase } from "@cliq-mirror/db"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Data, Effect, Either, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import postgres from "postgres"
import { type RunningSimulator, startSimulator } from "../apps/simulator/src/index.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const QUICK = process.argv.includes("--quick")
const NAMED = ["intake", "drain"].filter(s => process.argv.includes(s))
const selected = (scenario: string) => NAMED.length === 0 || NAMED.includes(scenario)
const BATCHES = QUICK ? 3 : 10
const SINGLES = QUICK ? 1_000 : 5_000
const IN_FLIGHT = 32
const DRAIN_SCALE = 0.05
const DRAIN_MINUTES = 3
const TOKEN = "bench-token"

class BenchError extends Data.TaggedError("BenchError")<{ readonly message: string }> {}

const Settings = Config.all({
  databaseUrl: Config.string("DATABASE_URL").pipe(Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres")),
  redisUrl: Config.string("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379"))
})

const withDatabase = (url: string, name: string) => {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map(r => `| ${r.join(" | ")} |`)
  ].join("\n")

/** A migrated database nobody uses yet, dropped (connections and all) when the scope closes. */
const scratchDatabase = (label: string) =>
  Effect.gen(function* () {
    const { databaseUrl } = yield* Settings
    const name = `bench_${label}_${randomBytes(4).toString("hex")}`
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
        await sql.unsafe(`drop database if exists "${name}" with (force)`).catch(() => undefined)
        await sql.end({ timeout: 5 })
      })
    )
    const url = withDatabase(databaseUrl, name)
    yield* migrateDatabase(url)
    return url
  })

const redisPrefix = (label: string) =>
  Effect.gen(function* () {
    const { redisUrl } = yield* Settings
    const prefix = `bench:${label}:${randomBytes(4).toString("hex")}:`
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
        let cursor = "0"
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500)
          cursor = next
          if (keys.length > 0) await redis.del(...keys)
        } while (cursor !== "0")
        redis.disconnect()
      })
    )
    return prefix
  })

const freePort = Effect.async<number>(resume => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as { port: number }).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** `node --import tsx <entry>` with exactly `env` (plus PATH), SIGTERM when the scope closes. */
const child = (entry: string, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const proc = spawn(process.execPath, ["--import", "tsx", entry], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      proc.stdout?.on("data", d => {
        output += String(d)
      })
      proc.stderr?.on("data", d => {
        output += String(d)
      })
      return { proc, output: () => output }
    }),
    ({ proc }) =>
      Effect.promise(async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) return
        const exited = new Promise(resolve => proc.once("exit", resolve))
        proc.kill("SIGTERM")
        const killer = setTimeout(() => proc.kill("SIGKILL"), 10_000)
        await exited
        clearTimeout(killer)
      })
  )

const exitedEarly = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null

const commandInputs = (n: number, from: number): Array<CommandInput> =>
  Array.from({ length: n }, (_, i) => {
    const parsed = parseCommand({ type: "update_title", chat_id: `bench-${from + i}`, title: `Title ${from + i}` })
    if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
    return parsed.right
  })

/** Runs `count` requests with `inFlight` of them open at a time; fails on any answer other than `expect`. */
const load = (count: number, inFlight: number, expect: number, send: (i: number) => Promise<Response>) =>
  Effect.tryPromise({
    try: async () => {
      let next = 0
      let bad: string | undefined
      const worker = async () => {
        while (next < count && bad === undefined) {
          const i = next++
          const response = await send(i)
          const text = await response.text()
          if (response.status !== expect) bad = `HTTP ${response.status}: ${text.slice(0, 200)}`
        }
      }
      const t0 = performance.now()
      await Promise.all(Array.from({ length: inFlight }, worker))
      if (bad !== undefined) throw new Error(bad)
      return (count / (performance.now() - t0)) * 1000
    },
    catch: cause => new BenchError({ message: `load failed: ${String(cause)}` })
  })

const intake = Effect.gen(function* () {
  const { redisUrl } = yield* Settings
  const url = yield* scratchDatabase("intake")
  const port = yield* freePort
  const api = yield* child("apps/api/src/main.ts", {
    API_TOKEN: TOKEN,
    API_PORT: String(port),
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: yield* redisPrefix("intake"),
    LOG_LEVEL: "warn"
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (
    !(yield* Effect.promise(() =>
      fetch(`${base}/healthz`).then(
        r => r.ok,
        () => false
      )
    ))
  ) {
    if (exitedEarly(api.proc) || Date.now() > deadline) {
      return yield* new BenchError({ message: `the API did not start:\n${api.output()}` })
    }
    yield* Effect.sleep("200 millis")
  }
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body)
    })
  const titles = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => ({
      type: "update_title",
      chat_id: `c-${from + i}`,
      title: `Title ${from + i}`
    }))

  // Warm-up: JIT, pools, prepared statements.
  yield* load(200, 8, 202, i => post("/v1/commands", titles(1, 900_000_000 + i)[0]))
  yield* load(2, 1, 202, i => post("/v1/commands/batch", { commands: titles(1000, 800_000_000 + i * 1000) }))

  const healthz = yield* load(SINGLES, IN_FLIGHT, 200, () => fetch(`${base}/healthz`))
  const batchSerial =
    (yield* load(BATCHES, 1, 202, i => post("/v1/commands/batch", { commands: titles(1000, i * 1000) }))) * 1000
  const batchParallel =
    (yield* load(BATCHES, 4, 202, i => post("/v1/commands/batch", { commands: titles(1000, 100_000 + i * 1000) }))) *
    1000
  const single = yield* load(SINGLES, IN_FLIGHT, 202, i => post("/v1/commands", titles(1, 200_000 + i)[0]))

  // Baseline: the same intake transaction without HTTP, JSON or validation, from this process.
  const direct = yield* Effect.gen(function* () {
    const database = yield* makeDatabase({ url: Redacted.make(url) })
    const repo = yield* Effect.provide(
      CommandsRepo,
      CommandsRepo.Default.pipe(Layer.provide(Layer.succeed(Database, Database.make(database))))
    )
    const inputs = Array.from({ length: BATCHES }, (_, i) => commandInputs(1000, 300_000 + i * 1000))
    const t0 = performance.now()
    for (const batch of inputs) yield* repo.intake(batch, "default")
    return ((BATCHES * 1000) / (performance.now() - t0)) * 1000
  }).pipe(Effect.scoped)

  const rate = (x: number) => Math.round(x).toLocaleString("en-US")
  yield* Console.log(
    table(
      ["intake path", "commands", "in flight", "commands/s"],
      [
        ["POST /v1/commands/batch (1000 per request)", String(BATCHES * 1000), "1", rate(batchSerial)],
        ["POST /v1/commands/batch (1000 per request)", String(BATCHES * 1000), "4", rate(batchParallel)],
        ["POST /v1/commands (one per request)", String(SINGLES), String(IN_FLIGHT), rate(single)],
        ["baseline: CommandsRepo.intake, 1000 per call, no HTTP", String(BATCHES * 1000), "1", rate(direct)],
        ["baseline: GET /healthz (requests/s)", String(SINGLES), String(IN_FLIGHT), rate(healthz)]
      ]
    )
  )
}).pipe(Effect.scoped)

const DRAINED: ReadonlyArray<{ readonly bucket: BucketId; readonly type: string }> = [
  { bucket: "chats.update", type: "update_title" },
  { bucket: "chats.mute", type: "mute_chat" },
  { bucket: "members.add", type: "add_members" }
]

const groupChats = (sim: RunningSimulator) =>
  sim.state.chats().filter(t => {
    const u = t.users.find(x => x.userIndex === 0)
    return !t.deleted && t.chatType === "group_chat" && u?.member === true && !u.removed && !u.closed && !u.muted
  })

/** Work per bucket: this many scaled minutes at its threshold, so the measured minutes never run dry. */
const WORK_MINUTES = DRAIN_MINUTES + 2

const drainRun = (concurrency: number | undefined) =>
  Effect.gen(function* () {
    const { redisUrl } = yield* Settings
    const windowMs = 60_000 * DRAIN_SCALE
    const sim = yield* Effect.acquireRelease(
      Effect.promise(() => startSimulator({ port: 0, timeScale: DRAIN_SCALE, chats: 4000, users: 3, seed: 11 })),
      s => Effect.promise(() => s.close())
    )
    const url = yield* scratchDatabase("drain")
    const prefix = yield* redisPrefix("drain")
    // Distinct chats: no coalescing and no per-chat ordering between the commands.
    const perBucket = DRAINED.map(d => BUCKETS[d.bucket].threshold * WORK_MINUTES)
    const chats = groupChats(sim)
    const needed = perBucket.reduce((a, b) => a + b, 0)
    if (chats.length < needed) {
      return yield* new BenchError({ message: `${chats.length} group chats, ${needed} needed` })
    }
    const strangers = sim.state.people().filter(p => p.active && !p.guest && !p.account)
    const starts = perBucket.map((_, k) => perBucket.slice(0, k).reduce((a, b) => a + b, 0))
    const bodies = DRAINED.flatMap((d, k) =>
      chats.slice(starts[k], starts[k]! + perBucket[k]!).map(t =>
        d.type === "update_title"
          ? { type: d.type, chat_id: t.chatId, title: `Drained ${t.chatId}` }
          : d.type === "mute_chat"
            ? { type: d.type, chat_id: t.chatId }
            : {
                type: d.type,
                chat_id: t.chatId,
                user_ids: [strangers.find(p => !t.participantIds.includes(p.userId))!.userId]
              }
      )
    )
    // Interleaved, as a mixed workload arrives.
    const order = bodies.map((b, i) => ({ b, k: (i * 7919) % bodies.length })).sort((x, y) => x.k - y.k)
    yield* Effect.gen(function* () {
      const database = yield* makeDatabase({ url: Redacted.make(url) })
      const repo = yield* Effect.provide(
        CommandsRepo,
        CommandsRepo.Default.pipe(Layer.provide(Layer.succeed(Database, Database.make(database))))
      )
      yield* repo.intake(
        order.map(o => {
          const parsed = parseCommand(o.b)
          if (Either.isLeft(parsed)) throw new Error(`${parsed.left.field}: ${parsed.left.message}`)
          return parsed.right
        }),
        "default"
      )
    }).pipe(Effect.scoped)

    const operations = new Set(["updateTitle", "muteChat", "addMembers"])
    const calls = () => sim.state.requests().filter(r => r.operationId !== null && operations.has(r.operationId))
    // The daemon stops before the figures are read, so that its database sessions have flushed their statistics.
    yield* Effect.gen(function* () {
      const daemon = yield* child("apps/daemon/src/main.ts", {
        DATABASE_URL: url,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
        CLIQ_API_BASE_URL: sim.apiBaseUrl,
        CLIQ_TIME_SCALE: String(DRAIN_SCALE),
        LOG_LEVEL: "warn",
        ...(concurrency === undefined ? {} : { COMMAND_CONCURRENCY: String(concurrency) })
      })
      const deadline = Date.now() + 30_000 + (WORK_MINUTES + 2) * windowMs
      while (calls().length < needed && Date.now() < deadline) {
        if (exitedEarly(daemon.proc)) {
          return yield* new BenchError({ message: `the daemon exited:\n${daemon.output()}` })
        }
        yield* Effect.sleep("250 millis")
      }
      // The last calls' settling transactions.
      yield* Effect.sleep("500 millis")
    }).pipe(Effect.scoped)
    const log = calls()
    const rows = DRAINED.map(d => {
      const times = log
        .filter(r => r.bucket === d.bucket && r.outcome === "ok")
        .map(r => r.atMs)
        .sort((a, b) => a - b)
      const t0 = times[0] ?? 0
      const threshold = BUCKETS[d.bucket].threshold
      const inPeriod = times.filter(t => t < t0 + DRAIN_MINUTES * windowMs).length
      // Call k·threshold opens the k-th refill: the budget admits a threshold again once the grants it counts are a
      // window plus the margin old, so the gaps between refills are what a window costs in steady state.
      const refills = Array.from({ length: WORK_MINUTES }, (_, k) => times[k * threshold] ?? Number.NaN)
      const periods = refills.slice(1).map((t, k) => t - refills[k]!)
      const steady = periods.slice(1, DRAIN_MINUTES + 1)
      const meanSteady = steady.reduce((a, b) => a + b, 0) / steady.length
      return [
        d.bucket,
        String(threshold),
        String(inPeriod),
        `${((inPeriod / (threshold * DRAIN_MINUTES)) * 100).toFixed(1)} %`,
        periods.map(p => p.toFixed(0)).join(" / "),
        `${((windowMs * 100) / meanSteady).toFixed(1)} %`,
        String(sim.state.violations().filter(v => v.bucket === d.bucket).length)
      ]
    })
    const refused = log.filter(r => r.outcome !== "ok").length
    // Row updates of commands beyond relay marking, claiming and settling (one each per command) are denials: a job
    // that found no slot within its wait and was set waiting_rate_limit (or a backoff requeue, of which there are none).
    const updates = yield* Effect.promise(async () => {
      await new Promise(resolve => setTimeout(resolve, 500))
      const sql = postgres(url, { max: 1, onnotice: () => {} })
      try {
        const [row] = await sql<Array<{ n: number }>>`
          select n_tup_upd::int as n from pg_stat_user_tables where relname = 'commands'`
        return row?.n ?? 0
      } finally {
        await sql.end({ timeout: 5 })
      }
    })
    const denials = updates - 3 * bodies.length
    yield* Console.log(
      `\nCOMMAND_CONCURRENCY ${concurrency ?? "default (4)"}; time scale ${DRAIN_SCALE}: window ${windowMs} ms, ` +
        `safety margin ${Math.max(50, Math.round(2000 * DRAIN_SCALE))} ms; ${refused} refused upstream calls; ` +
        `${bodies.length} commands, ${denials} denied attempts (set waiting_rate_limit, job delayed)\n`
    )
    yield* Console.log(
      table(
        [
          "bucket",
          "threshold",
          `calls in first ${DRAIN_MINUTES} min`,
          "utilisation",
          "refill periods (ms)",
          `sustained (refills 2–${DRAIN_MINUTES + 1})`,
          "violations"
        ],
        rows
      )
    )
  }).pipe(Effect.scoped)

const drain = Effect.gen(function* () {
  yield* drainRun(undefined)
  yield* drainRun(16)
})

const main = Effect.gen(function* () {
  if (selected("intake")) {
    yield* Console.log("## commands: intake through the API\n")
    yield* intake
  }
  if (selected("drain")) {
    yield* Console.log("\n## commands: drain utilisation\n")
    yield* drain
  }
})

NodeRuntime.runMain(
  main.pipe(
    Effect.timeout("10 minutes"),
    Effect.tapError(e => Console.error("message" in e ? e.message : String(e)))
  ),
  { disableErrorReporting: true }
)
