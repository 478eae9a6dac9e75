// npm run bench -- read-api [--sizes 100000,1000000] [--seconds 10] [--quick] [--mix <name prefix>] [--profile <dir>]
//   [--database <url>]: measure against a database seeded by an earlier run (kept, not seeded again; --sizes names it)
//   [--load wrk]: the 16 keep-alive clients are wrk's (one C thread, Debian's `wrk`) instead of node:http in this process
//   [--profile <dir>]: .cpuprofile files of the API in <dir> (summarised at the end) and of the bare server in <dir>/bare;
//   both servers then run under the profiler, so the figures of such a run are not comparable with plain ones
// The read API (`npm run api` as a child process) against a mirror of N chats seeded by SQL, 16 keep-alive clients in
// this process (or wrk), side by side with a bare node:http + postgres.js server (bench/support/ReadApiBare.ts) returning the
// same rows and columns from the same database: requests/s, p50 and p99 for each request mix.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { writeFile } from "node:fs/promises"
import { Agent, get } from "node:http"
import { createServer } from "node:net"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import { migrateDatabase } from "@cliq-mirror/db/Migrator"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Data, Effect } from "effect"
import { summariseProfile } from "./support/Profile.js"
import { BenchConfig, cleanup, pool, REPO_ROOT, scratchDatabase, scratchRedisPrefix } from "./support/Scratch.js"
import { fixed, grouped, percentile, table } from "./support/Stats.js"

class BenchError extends Data.TaggedError("BenchError")<{ readonly message: string }> {}

const argv = process.argv.slice(2)
const option = (name: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}
const QUICK = argv.includes("--quick")
const PROFILE = option("profile")
const ONLY = option("mix")
const DATABASE = option("database")
const SIZES = (option("sizes") ?? (QUICK ? "20000" : "100000,1000000")).split(",").map(Number)
const SECONDS = Number(option("seconds") ?? (QUICK ? 3 : 10))
const WARMUP_SECONDS = QUICK ? 1 : 2
const CLIENTS = 16
/** Who generates the load: node:http clients in this process (default), or wrk, which costs the two cores far less. */
const LOAD = option("load") ?? "node"
if (LOAD !== "node" && LOAD !== "wrk") throw new Error(`--load must be node or wrk, not ${LOAD}`)
const CHATS_PER_ACCOUNT = 100_000
const TOKEN = "bench-read-token"

// Indexes other than constraints are built after the rows go in, from their own definitions (several times faster).
const SECONDARY_INDEXES = `select indexname, indexdef from pg_indexes i
  where schemaname = current_schema() and tablename = 'chats'
    and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`

/**
 * N chats over ceil(N / 100,000) accounts, shaped like synced ones: names of a few words (so `q=pro` matches some),
 * mostly direct messages, ~9 % unread, a last_message_info and a raw object of the upstream's size.
 */
const seedChats = (n: number) => `
  insert into accounts (id) select 'acct-' || a from generate_series(0, ${Math.ceil(n / CHATS_PER_ACCOUNT) - 1}) a;
  insert into chats (account_id, chat_id, name, chat_type, participant_count, creator_id, creator_name, created_time,
    last_modified_time, last_message_time, pinned, muted, closed, joined, unread_message_count, unread_time,
    last_message_info, members_fetched_at, raw, last_seq)
  select 'acct-' || (i % ${Math.ceil(n / CHATS_PER_ACCOUNT)}), 'CT_' || (1000000000 + i), w.name, w.chat_type,
    2 + i % 40, 'u' || (i % 977), 'User ' || (i % 977), ts - interval '30 days',
    ts, ts, i % 97 = 0, i % 53 = 0, i % 41 = 0, true,
    case when i % 11 = 0 then 1 + i % 7 else 0 end, case when i % 11 = 0 then ts else null end,
    jsonb_build_object('message_id', 'm' || i, 'sender', jsonb_build_object('id', 'u' || (i % 977), 'name', 'User ' || (i % 977)),
      'time', (extract(epoch from ts) * 1000)::bigint, 'type', 'text', 'content', jsonb_build_object('text', 'see you at ' || i)),
    ts,
    jsonb_build_object('chat_id', 'CT_' || (1000000000 + i), 'name', w.name, 'chat_type', w.chat_type,
      'participant_count', 2 + i % 40, 'creator_id', 'u' || (i % 977), 'creator_name', 'User ' || (i % 977),
      'created_time', ts - interval '30 days', 'last_modified_time', ts, 'pinned', i % 97 = 0,
      'unread_message_count', case when i % 11 = 0 then 1 + i % 7 else 0 end, 'removed', false,
      'last_message_info', jsonb_build_object('message_id', 'm' || i, 'time', (extract(epoch from ts) * 1000)::bigint,
        'content', jsonb_build_object('text', 'see you at ' || i)),
      'permalink', 'https://cliq.zoho.com/company/1/chats/CT_' || (1000000000 + i), 'description', repeat('lorem ipsum ', 20)),
    i
  from generate_series(1, ${n}) i,
    lateral (select timestamptz '2026-01-01' + (i * interval '23 seconds') as ts) t,
    lateral (select
      (array['project','sales','support','product','random','ops','design','team','promo','hiring'])[1 + i % 10]
        || ' ' || (array['north','south','alpha','beta','core','web','mobile','infra'])[1 + (i / 10) % 8] || ' ' || (i % 5000) as name,
      (array['direct_message','direct_message','direct_message','group_chat','group_chat','channel','bot','thread'])[1 + (i * 7) % 8]
        as chat_type) w`

interface Mix {
  readonly name: string
  readonly path: (i: number) => string
}

const mixes = (ids: ReadonlyArray<string>): ReadonlyArray<Mix> => [
  { name: "list recent (`?limit=100`)", path: () => "/v1/chats?limit=100" },
  {
    name: "list with filters (`?unread=true&chat_type=group_chat,channel`)",
    path: () => "/v1/chats?limit=100&unread=true&chat_type=group_chat,channel"
  },
  { name: "name search (`?q=pro`)", path: () => "/v1/chats?limit=100&q=pro" },
  { name: "get by id (`/v1/chats/{id}`)", path: i => `/v1/chats/${ids[i % ids.length]}` }
]

const freePort = Effect.async<number>(resume => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const answers = (port: number) =>
  new Promise<boolean>(resolve => {
    get({ host: "127.0.0.1", port, path: "/healthz" }, res => {
      res.resume()
      resolve(true)
    }).on("error", () => resolve(false))
  })

/** One node process (`node --import tsx <script>`), ready once it answers HTTP on `port`; SIGTERM with the scope. */
const serverProcess = (
  label: string,
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  port: number,
  nodeArgs: ReadonlyArray<string> = []
) =>
  Effect.gen(function* () {
    const output: Array<string> = []
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(
          process.execPath,
          ["--import", import.meta.resolve("tsx"), ...nodeArgs, join(REPO_ROOT, script), ...args],
          {
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH ?? "", TSX_TSCONFIG_PATH: join(REPO_ROOT, "tsconfig.json"), ...env },
            stdio: ["ignore", "pipe", "pipe"]
          }
        )
        const keep = (line: string) => {
          output.push(line)
          if (output.length > 50) output.shift()
        }
        createInterface({ input: child.stdout! }).on("line", keep)
        createInterface({ input: child.stderr! }).on("line", keep)
        return child
      }),
      child =>
        cleanup(`${label} pid ${child.pid}`, async () => {
          if (child.exitCode !== null || child.signalCode !== null) return
          const exited = new Promise(resolve => child.once("exit", resolve))
          child.kill("SIGTERM")
          const killer = setTimeout(() => child.kill("SIGKILL"), 10_000)
          await exited
          clearTimeout(killer)
        })
    )
    const deadline = Date.now() + 120_000
    while (!(yield* Effect.promise(() => answers(port)))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        return yield* new BenchError({ message: `${label} did not come up:\n${output.join("\n")}` })
      }
      yield* Effect.sleep("200 millis")
    }
  })

interface Measured {
  readonly requests: number
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

/** CLIENTS loops, each one request at a time over its own keep-alive socket, for `seconds`. */
const loadNode = (port: number, mix: Mix, seconds: number) =>
  Effect.tryPromise({
    try: async (): Promise<Measured> => {
      const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS })
      const once = (path: string) =>
        new Promise<number>((resolve, reject) => {
          const t0 = performance.now()
          get({ host: "127.0.0.1", port, path, agent, headers: { authorization: `Bearer ${TOKEN}` } }, res => {
            res.on("data", () => {})
            res.on("end", () =>
              res.statusCode === 200
                ? resolve(performance.now() - t0)
                : reject(new Error(`${path} answered ${res.statusCode}`))
            )
          }).on("error", reject)
        })
      let counter = 0
      const latencies: Array<number> = []
      const started = performance.now()
      const deadline = started + seconds * 1000
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (performance.now() < deadline) latencies.push(await once(mix.path(counter++)))
        })
      )
      const elapsed = (performance.now() - started) / 1000
      agent.destroy()
      latencies.sort((a, b) => a - b)
      return {
        requests: latencies.length,
        perSecond: latencies.length / elapsed,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99)
      }
    },
    catch: error => new BenchError({ message: `load on port ${port}: ${String(error)}` })
  })

/** wrk's duration units (`us`, `ms`, `s`, `m`) in milliseconds. */
const wrkMs = (value: string, unit: string) =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!

/** The same loop as `loadNode`, by wrk: CLIENTS connections on one thread, the mix's paths in turn (a Lua script). */
const loadWrk = (port: number, mix: Mix, seconds: number) =>
  Effect.tryPromise({
    try: async (): Promise<Measured> => {
      const paths = Array.from({ length: 2000 }, (_, i) => mix.path(i))
      const script = join(tmpdir(), `read-api-wrk-${process.pid}.lua`)
      await writeFile(
        script,
        `local paths = { ${paths.map(p => JSON.stringify(p)).join(", ")} }
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Authorization"] = "Bearer ${TOKEN}" })
end
`
      )
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          "wrk",
          ["-t1", `-c${CLIENTS}`, `-d${seconds}s`, "--latency", "-s", script, `http://127.0.0.1:${port}`],
          (error, stdout) => (error ? reject(error) : resolve(stdout))
        )
      )
      const bad = /Non-2xx or 3xx responses: (\d+)/.exec(out)
      if (bad) throw new Error(`${bad[1]} answers other than 200:\n${out}`)
      const at = (q: string) => {
        const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s|m)\\b`).exec(out)
        if (!m) throw new Error(`no ${q}% line in wrk's output:\n${out}`)
        return wrkMs(m[1]!, m[2]!)
      }
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN)
      return { requests, perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: at("50"), p99: at("99") }
    },
    catch: error => new BenchError({ message: `wrk on port ${port}: ${String(error)}` })
  })

const load = (port: number, mix: Mix, seconds: number) =>
  LOAD === "wrk" ? loadWrk(port, mix, seconds) : loadNode(port, mix, seconds)

const runSize = (n: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { redisUrl } = yield* BenchConfig
      const database = DATABASE === undefined ? yield* scratchDatabase(`read_${n}`) : { url: DATABASE }
      yield* migrateDatabase(database.url)
      const sql = yield* pool(database.url)
      const seedStarted = performance.now()
      const ids = yield* Effect.promise(async () => {
        if (DATABASE === undefined) {
          const indexes = await sql.unsafe<Array<{ indexname: string; indexdef: string }>>(SECONDARY_INDEXES)
          for (const { indexname } of indexes) await sql.unsafe(`drop index "${indexname}"`)
          await sql.unsafe(seedChats(n)).simple()
          for (const { indexdef } of indexes) await sql.unsafe(indexdef)
          await sql.unsafe("vacuum analyze chats")
        }
        const rows = await sql<Array<{ chat_id: string }>>`
          select chat_id from chats tablesample system (1) repeatable (7) limit 5000`
        return rows.map(r => r.chat_id)
      })
      const seedSeconds = (performance.now() - seedStarted) / 1000
      const redis = yield* scratchRedisPrefix("read")
      const apiPort = yield* freePort
      const barePort = yield* freePort
      yield* serverProcess(
        "api",
        "apps/api/src/main.ts",
        [],
        {
          DATABASE_URL: database.url,
          REDIS_URL: redisUrl,
          REDIS_PREFIX: redis.prefix,
          API_TOKEN: TOKEN,
          API_HOST: "127.0.0.1",
          API_PORT: String(apiPort),
          LOG_LEVEL: "warn"
        },
        apiPort,
        PROFILE === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", resolve(PROFILE)]
      )
      // With --profile the bare server is profiled too, into <dir>/bare, to compare the two per request.
      yield* serverProcess(
        "bare",
        "bench/support/ReadApiBare.ts",
        [database.url, String(barePort)],
        {},
        barePort,
        PROFILE === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", join(resolve(PROFILE), "bare")]
      )
      const rows: Array<Array<string>> = []
      for (const mix of mixes(ids).filter(m => ONLY === undefined || m.name.startsWith(ONLY))) {
        yield* load(apiPort, mix, WARMUP_SECONDS)
        yield* load(barePort, mix, WARMUP_SECONDS)
        const api = yield* load(apiPort, mix, SECONDS)
        const bare = yield* load(barePort, mix, SECONDS)
        rows.push([
          mix.name,
          grouped(api.perSecond),
          fixed(api.p50),
          fixed(api.p99),
          grouped(bare.perSecond),
          fixed(bare.p50),
          fixed(bare.p99),
          `${fixed(api.perSecond / bare.perSecond, 2)}×`
        ])
      }
      yield* Console.log(
        `\n### ${grouped(n)} chats (${Math.ceil(n / CHATS_PER_ACCOUNT)} account(s)), ${CLIENTS} keep-alive clients ` +
          `(${LOAD === "wrk" ? "wrk, one thread" : "node:http, in the bench process"}), ` +
          `${SECONDS} s per mix after ${WARMUP_SECONDS} s warm-up; seeded in ${fixed(seedSeconds, 0)} s; ` +
          `load average ${fixed(loadavg()[0]!, 2)} at the end\n`
      )
      yield* Console.log(
        table(
          ["mix", "API req/s", "API p50 ms", "API p99 ms", "bare req/s", "bare p50 ms", "bare p99 ms", "API ÷ bare"],
          "lrrrrrrr",
          rows
        )
      )
    })
  )

const main = Effect.gen(function* () {
  yield* Console.log(`read-api: sizes ${SIZES.join(", ")}; started ${new Date().toISOString()}`)
  for (const n of SIZES) yield* runSize(n)
  if (PROFILE !== undefined) yield* Console.log(`\nThe API's CPU profile:\n${yield* summariseProfile(PROFILE, 25)}`)
})

NodeRuntime.runMain(main.pipe(Effect.tapError(e => Console.error(String(e)))))
