// npx tsx bench/fleet.bench.ts [--accounts N] [--chats N] [--quick] [--compiled] [--profile DIR] [--node-options "…"] [--node-args "…"]
// One daemon process polling many small accounts from one CLIQ_ACCOUNTS_FILE against the simulator (in this process,
// time-scaled): time until every account is mirrored, freshness of changes made afterwards, how stale the most
// neglected account gets, the daemon's memory, and the simulator's violations. Everything it creates is removed.
import { writeFile } from "node:fs/promises"
import { cpus, loadavg } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import type postgres from "postgres"
import type { RunningSimulator } from "../apps/simulator/src/index.js"
import { spawnDaemon } from "./support/Processes.js"
import { monotonicMicros, summariseProfile } from "./support/Profile.js"
import { pool, scratchDatabase, scratchRedisPrefix } from "./support/Scratch.js"
import { fixed, grouped, mib, percentile, table } from "./support/Stats.js"
import { simulator, tempDir } from "./support/Upstream.js"

const argv = process.argv.slice(2)
const option = (name: string) => {
  const at = argv.indexOf(`--${name}`)
  return at < 0 ? undefined : argv[at + 1]
}
const quick = argv.includes("--quick")
const ACCOUNTS = Number(option("accounts") ?? (quick ? 200 : 1_000))
const CHATS = Number(option("chats") ?? 200)
const TIME_SCALE = 0.05
const POLL_INTERVAL_MS = 10_000
const CHANGES = quick ? 20 : 60
const CHANGE_SPAN_MS = 30_000
/** Nothing changes upstream for this long after the backfill: are the accounts kept within the poll interval? */
const QUIET_MS = 30_000
const MIRROR_DEADLINE_MS = 15 * 60_000
const PROFILE = option("profile")
/** Node options for the daemon, e.g. `--max-old-space-size=256` (the README's memory bound, Sizing). */
const NODE_OPTIONS = option("node-options")
/** Node's own arguments for the daemon, e.g. V8 flags NODE_OPTIONS does not take. */
const NODE_ARGS = option("node-args")?.split(/\s+/).filter(Boolean)
/** The daemon as the image runs it: the compiled output (`npm run build` first) by plain node, no tsx loader. */
const COMPILED = argv.includes("--compiled")

const accountId = (i: number) => `acct-${String(i + 1).padStart(4, "0")}`

/** Chats each user can learn of (listed by search, or by the closed listing once removed), by account id. */
const expectedCounts = (sim: RunningSimulator) => {
  const counts = new Map<string, number>()
  for (const t of sim.state.chats()) {
    if (t.deleted) continue
    for (const u of t.users)
      if ((u.member || u.removed) && (!u.removed || u.closed))
        counts.set(accountId(u.userIndex), (counts.get(accountId(u.userIndex)) ?? 0) + 1)
  }
  return counts
}

const mirroredCounts = (sql: postgres.Sql) =>
  Effect.promise(() =>
    sql<Array<{ account_id: string; n: number }>>`select account_id, count(*)::int as n from chats group by account_id`
      .then(rows => new Map(rows.map(r => [r.account_id, r.n])))
      .catch(() => new Map<string, number>())
  )

const staleness = (sql: postgres.Sql) =>
  Effect.promise(() =>
    sql<Array<{ oldest: number | null; fresh: number }>>`
      select max(extract(epoch from now() - last_success_at) * 1000)::float8 as oldest,
             count(*) filter (where last_success_at > now() - ${3 * POLL_INTERVAL_MS} * interval '1 millisecond')::int as fresh
      from sync_state where stream = 'incremental'`.then(rows => rows[0]!)
  )

/** The millisecond a simulator message id starts with (`<ms>_<n>`). */
const sentAt = (messageId: string) => Number(messageId.split("_", 1)[0])

const lastMessageIds = (sql: postgres.Sql, keys: ReadonlyArray<{ accountId: string; chatId: string }>) =>
  Effect.promise(() =>
    sql<Array<{ account_id: string; chat_id: string; message_id: string | null }>>`
      select account_id, chat_id, last_message_info ->> 'message_id' as message_id from chats
      where (account_id, chat_id) in (select * from unnest(${keys.map(k => k.accountId)}::text[], ${keys.map(k => k.chatId)}::text[]))`.then(
      rows => new Map(rows.map(r => [`${r.account_id}/${r.chat_id}`, r.message_id]))
    )
  )

const main = Effect.gen(function* () {
  const cpu = cpus()
  yield* Console.log(
    `\n## Fleet benchmark — ${new Date().toISOString().slice(0, 16)}Z, ${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} at start${quick ? " (--quick)" : ""}`
  )
  yield* Console.log(
    `${ACCOUNTS} accounts (simulator users) over ${CHATS} seeded chats, one daemon, time scale ${TIME_SCALE}, POLL_INTERVAL_MS ${POLL_INTERVAL_MS}${COMPILED ? ", compiled daemon (node dist/…)" : ", daemon under tsx"}${NODE_OPTIONS === undefined ? "" : `, daemon NODE_OPTIONS ${NODE_OPTIONS}`}${NODE_ARGS === undefined ? "" : `, node ${NODE_ARGS.join(" ")}`}`
  )
  const sim = yield* simulator({ users: ACCOUNTS, chats: CHATS, timeScale: TIME_SCALE, seed: 10 })
  const expected = expectedCounts(sim)
  const expectedRows = [...expected.values()].reduce((a, b) => a + b, 0)
  const db = yield* scratchDatabase("fleet")
  const { prefix, redisUrl } = yield* scratchRedisPrefix("fleet")
  const dir = yield* tempDir("fleet")
  const file = join(dir, "accounts.json")
  yield* Effect.promise(() =>
    writeFile(
      file,
      JSON.stringify(
        sim.state.accounts().map((a, i) => ({ id: accountId(i), access_token: a.token, client_id: "sim-client-id" }))
      )
    )
  )
  const sql = yield* pool(db.url, 2)
  const started = Date.now()
  const daemon = yield* spawnDaemon(
    {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      CLIQ_ACCOUNTS_FILE: file,
      CLIQ_API_BASE_URL: sim.apiBaseUrl,
      CLIQ_TIME_SCALE: String(TIME_SCALE),
      POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
      LOG_LEVEL: "warn",
      ...(NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS })
    },
    { cpuProfDir: PROFILE, compiled: COMPILED, nodeArgs: NODE_ARGS }
  )

  let peakRssKib = 0
  const sample = () => {
    const s = daemon.stats()
    if (s) peakRssKib = Math.max(peakRssKib, s.rssKib)
    return s
  }
  let mirroredAt = 0
  let progress = 0
  while (true) {
    sample()
    if (!daemon.running()) return yield* Effect.die(new Error(`the daemon exited:\n${daemon.tail()}`))
    const counts = yield* mirroredCounts(sql)
    const done = [...expected].filter(([id, n]) => counts.get(id) === n).length
    if (done === expected.size) {
      mirroredAt = Date.now()
      break
    }
    if (Date.now() - started > MIRROR_DEADLINE_MS) {
      return yield* Effect.die(new Error(`only ${done} of ${expected.size} accounts mirrored\n${daemon.tail()}`))
    }
    if (Date.now() - progress > 15_000) {
      progress = Date.now()
      yield* Console.log(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${done} of ${expected.size} accounts mirrored`
      )
    }
    yield* Effect.sleep("500 millis")
  }
  const mirroredRss = sample()

  // Kept fresh while nothing changes: the most stale account's last incremental pass, sampled every second.
  let quietStalest = 0
  for (const quietEnd = Date.now() + QUIET_MS; Date.now() < quietEnd; ) {
    sample()
    quietStalest = Math.max(quietStalest, (yield* staleness(sql)).oldest ?? 0)
    yield* Effect.sleep("1 second")
  }

  // Changes after the backfill, spread over the span, each to a random account's chat: how long until mirrored.
  let seed = 7
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const candidates = sim.state
    .chats()
    .filter(t => !t.deleted && t.participantIds.length > 1)
    .flatMap(t =>
      t.users.filter(u => u.member && !u.removed && !u.closed).map(u => ({ accountId: accountId(u.userIndex), t }))
    )
  // The work of the change phase: upstream calls, PostgreSQL transactions and daemon CPU from here to its end.
  const firstSeq = (sim.state.requests().at(-1)?.seq ?? 0) + 1
  const xacts = () =>
    Effect.promise(() =>
      sql<Array<{ n: number }>>`
        select (xact_commit + xact_rollback)::float8 as n from pg_stat_database where datname = current_database()`.then(
        rows => rows[0]!.n
      )
    )
  const xactsBefore = yield* xacts()
  const cpuBefore = sample()?.cpuMs ?? 0
  const pending = new Map<string, { readonly at: number; readonly messageId: string }>()
  const delays: Array<number> = []
  const changeStart = Date.now()
  const changeStartUs = monotonicMicros()
  let made = 0
  while (made < CHANGES || pending.size > 0) {
    sample()
    while (made < CHANGES && Date.now() - changeStart >= (made * CHANGE_SPAN_MS) / CHANGES) {
      const pick = candidates[Math.floor(random() * candidates.length)]!
      const message = sim.state.postMessage(pick.t.chatId)
      pending.set(`${pick.accountId}/${pick.t.chatId}`, { at: Date.now(), messageId: message.messageId })
      made++
    }
    const seen = yield* lastMessageIds(
      sql,
      [...pending.keys()].map(k => {
        const [accountId, chatId] = k.split("/") as [string, string]
        return { accountId, chatId }
      })
    )
    for (const [key, change] of pending) {
      // Mirrored once the row shows this message or a later one: another change may have posted in the same chat
      // since (for another account), and the row then rightly shows that one. Ids start with their millisecond.
      const shown = seen.get(key)
      if (shown === change.messageId || (shown != null && sentAt(shown) > sentAt(change.messageId))) {
        delays.push(Date.now() - change.at)
        pending.delete(key)
      }
    }
    if (Date.now() - changeStart > CHANGE_SPAN_MS + 10 * POLL_INTERVAL_MS) break
    yield* Effect.sleep("100 millis")
  }
  const unmirrored = pending.size
  const changeWindow = { fromUs: changeStartUs, toUs: monotonicMicros() }
  // What each change not mirrored looks like on both sides, to tell a slow account from a lost change.
  for (const [key, change] of pending) {
    const [account, chatId] = key.split("/") as [string, string]
    const rows = yield* Effect.promise(
      () => sql<Array<Record<string, unknown>>>`
        select c.last_message_info ->> 'message_id' as mirrored_message, c.last_modified_time, c.last_message_time,
               c.synced_at, c.closed, c.removed, s.high_water_ms, s.boundary_ids, s.last_success_at, s.status
        from chats c join sync_state s on s.account_id = c.account_id and s.stream = 'incremental'
        where c.account_id = ${account} and c.chat_id = ${chatId}`
    )
    const truth = sim.state.chats().find(t => t.chatId === chatId)
    const user = truth?.users.find(u => accountId(u.userIndex) === account)
    const upstream = {
      lastModifiedMs: truth?.lastModifiedMs,
      lastMessage: truth?.lastMessage?.messageId,
      user
    }
    yield* Console.log(
      `  not mirrored: ${key} message ${change.messageId} posted ${new Date(change.at).toISOString()}; upstream: ${JSON.stringify(upstream)}; mirror: ${JSON.stringify(rows[0] ?? null)}`
    )
  }
  const steadyMin = (Date.now() - changeStart) / 60_000
  const xactRate = ((yield* xacts()) - xactsBefore) / (steadyMin * 60)
  const calls = sim.state.requests(firstSeq).filter(r => r.operationId !== null)
  const byOp = new Map<string, number>()
  for (const c of calls) byOp.set(String(c.operationId), (byOp.get(String(c.operationId)) ?? 0) + 1)
  const perAccountMin = (n: number) => fixed(n / ACCOUNTS / steadyMin, 1)
  const stale = yield* staleness(sql)
  const end = sample()
  const steadyCpuMs = (end?.cpuMs ?? 0) - cpuBefore
  const violations = sim.state.violations().length
  const failures = daemon.count("sync pass failed")
  const stopping = Date.now()
  yield* daemon.stop
  const stoppedMs = Date.now() - stopping

  const sorted = delays.sort((a, b) => a - b)
  const rss = end?.rssKib ?? 0
  yield* Console.log(
    table(["measure", "value"], "lr", [
      ["accounts / mirrored chats", `${grouped(ACCOUNTS)} / ${grouped(expectedRows)}`],
      ["every account mirrored after", `${fixed((mirroredAt - started) / 1000)} s`],
      [
        `nothing changing for ${QUIET_MS / 1000} s after that: most stale incremental pass`,
        `${fixed(quietStalest / 1000)} s`
      ],
      [
        `then change → mirrored (${CHANGES} changes over ${CHANGE_SPAN_MS / 1000} s), p50 / p95 / max`,
        sorted.length === 0
          ? "—"
          : `${fixed(percentile(sorted, 0.5) / 1000)} / ${fixed(percentile(sorted, 0.95) / 1000)} / ${fixed(sorted.at(-1)! / 1000)} s`
      ],
      [`changes not mirrored ${(CHANGE_SPAN_MS + 10 * POLL_INTERVAL_MS) / 1000} s after the first`, String(unmirrored)],
      [
        `at the end of the changes: accounts with an incremental pass in the last ${(3 * POLL_INTERVAL_MS) / 1000} s / most stale`,
        `${grouped(stale.fresh)} / ${fixed((stale.oldest ?? 0) / 1000)} s`
      ],
      [
        "daemon RSS when mirrored / at the end / peak sampled",
        `${mib(mirroredRss?.rssKib ?? 0)} / ${mib(rss)} / ${mib(peakRssKib)}`
      ],
      ["RSS per account (end RSS / accounts)", `${fixed(rss / ACCOUNTS, 0)} KiB`],
      ["daemon CPU time", `${fixed((end?.cpuMs ?? 0) / 1000)} s`],
      [
        `during the changes (${fixed(steadyMin, 1)} min): upstream calls per account and minute`,
        `${perAccountMin(calls.length)} (${[...byOp]
          .sort()
          .map(([op, n]) => `${op} ${perAccountMin(n)}`)
          .join(", ")})`
      ],
      ["during the changes: PostgreSQL transactions per second (all clients)", fixed(xactRate, 0)],
      [
        "during the changes: daemon CPU (share of one core) / per upstream call",
        `${fixed((100 * steadyCpuMs) / (steadyMin * 60_000), 0)} % / ${fixed(steadyCpuMs / Math.max(1, calls.length), 2)} ms`
      ],
      [`SIGTERM → daemon exited${PROFILE === undefined ? "" : " (profile written)"}`, `${fixed(stoppedMs / 1000)} s`],
      ["simulator violations", String(violations)]
    ])
  )
  if (PROFILE !== undefined) {
    yield* Console.log(`\nThe daemon's CPU profile, whole run:\n${yield* summariseProfile(PROFILE, 25)}`)
    yield* Console.log(
      `\nThe daemon's CPU profile while the changes were made and mirrored:\n${yield* summariseProfile(PROFILE, 40, changeWindow)}`
    )
  }
  if (violations > 0) return yield* Effect.die(new Error(`${violations} violations`))
  if (failures > 0) {
    yield* Console.log(`(${failures} failed sync passes logged, retried; the first:)`)
    for (const line of daemon.samples("sync pass failed")) yield* Console.log(`  ${line.slice(0, 400)}`)
  }
})

NodeRuntime.runMain(Effect.scoped(main))
