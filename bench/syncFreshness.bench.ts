// npm run bench -- syncFreshness [--quick]
// Freshness per kind of change (message, rename, pin, mute, close, removal) at the default poll interval: the delay
// from the simulator's change to the mirror's row, and the upstream calls per minute it cost.
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { ACCOUNT, incrementalState, pollUntil } from "./support/Mirror.js"
import { spawnDaemon } from "./support/Processes.js"
import { pool, scratchDatabase, scratchRedisPrefix } from "./support/Scratch.js"
import { fixed, median, percentile, table } from "./support/Stats.js"
import { simulator, TOKEN } from "./support/Upstream.js"

const quick = process.argv.includes("--quick")
const CHATS = 2_000
const PER_KIND = quick ? 3 : 8
const SPAN_MS = quick ? 40_000 : 120_000
const KINDS = ["message", "rename", "pin", "mute", "close", "removal"] as const
type Kind = (typeof KINDS)[number]

interface Row {
  readonly chat_id: string
  readonly name: string
  readonly message_id: string | null
  readonly pinned: boolean
  readonly muted: boolean
  readonly closed: boolean
  readonly removed: boolean
}

const main = Effect.gen(function* () {
  const sim = yield* simulator({ chats: CHATS, seed: 41 })
  const db = yield* scratchDatabase("kinds")
  const redis = yield* scratchRedisPrefix("kinds")
  const daemon = yield* spawnDaemon({
    DATABASE_URL: db.url,
    REDIS_URL: redis.redisUrl,
    REDIS_PREFIX: redis.prefix,
    CLIQ_ACCESS_TOKEN: TOKEN,
    CLIQ_API_BASE_URL: sim.apiBaseUrl,
    LOG_LEVEL: "info"
  })
  yield* daemon.migrated
  const sql = yield* pool(db.url, 1)
  yield* pollUntil("backfill", incrementalState(sql).pipe(Effect.map(s => (s.highWaterMs === null ? undefined : s))), {
    everyMs: 100,
    timeoutMs: 3 * 60_000,
    daemon
  })
  const groups = sim.state
    .chats()
    .filter(c => c.chatType === "group_chat" && c.users.some(u => u.userIndex === 0 && u.member && !u.removed))
    .filter(c => !c.users[0]!.closed)
  const plan = KINDS.flatMap((kind, k) =>
    Array.from({ length: PER_KIND }, (_, i) => ({
      kind,
      chat: groups[k * PER_KIND + i]!,
      offsetMs: Math.round(((i * KINDS.length + k) / (PER_KIND * KINDS.length)) * SPAN_MS)
    }))
  ).sort((a, b) => a.offsetMs - b.offsetMs)
  const expect = new Map<string, { kind: Kind; at: number; check: (r: Row) => boolean }>()
  const delays = new Map<Kind, Array<number>>(KINDS.map(k => [k, []]))
  const t0 = Date.now()
  const firstSeq = sim.state.requests().at(-1)?.seq ?? 0
  const apply = (step: (typeof plan)[number]) => {
    const id = step.chat.chatId
    const u = step.chat.users[0]!
    const at = Date.now()
    switch (step.kind) {
      case "message": {
        const m = sim.state.postMessage(id, { text: "bench" }).messageId
        return expect.set(id, { kind: step.kind, at, check: r => r.message_id === m })
      }
      case "rename": {
        const title = sim.state.renameChat(id, `bench ${id}`).title
        return expect.set(id, { kind: step.kind, at, check: r => r.name === title })
      }
      case "pin":
        sim.state.setUserState(id, { userIndex: 0, pinned: !u.pinned })
        return expect.set(id, { kind: step.kind, at, check: r => r.pinned === !u.pinned })
      case "mute":
        sim.state.setUserState(id, { userIndex: 0, muted: !u.muted })
        return expect.set(id, { kind: step.kind, at, check: r => r.muted === !u.muted })
      case "close":
        sim.state.setUserState(id, { userIndex: 0, closed: true })
        return expect.set(id, { kind: step.kind, at, check: r => r.closed })
      case "removal":
        sim.state.deleteChat(id)
        return expect.set(id, { kind: step.kind, at, check: r => r.removed })
    }
  }
  let next = 0
  const deadline = t0 + SPAN_MS + 4 * 60_000
  while ((next < plan.length || expect.size > 0) && Date.now() < deadline) {
    while (next < plan.length && Date.now() >= t0 + plan[next]!.offsetMs) apply(plan[next++]!)
    if (expect.size > 0) {
      const rows = yield* Effect.promise(
        () => sql<Array<Row>>`
          select chat_id, name, last_message_info->>'message_id' as message_id, pinned, muted, closed, removed
          from chats where account_id = ${ACCOUNT} and chat_id = any(${[...expect.keys()]})`
      )
      const now = Date.now()
      for (const r of rows) {
        const e = expect.get(r.chat_id)!
        if (!e.check(r)) continue
        expect.delete(r.chat_id)
        delays.get(e.kind)!.push((now - e.at) / 1000)
      }
    }
    yield* Effect.sleep(100)
  }
  const elapsedMin = (Date.now() - t0) / 60_000
  const calls = sim.state.requests(firstSeq).filter(r => r.operationId !== null)
  const byOp = new Map<string, number>()
  for (const c of calls) byOp.set(String(c.operationId), (byOp.get(String(c.operationId)) ?? 0) + 1)
  const rows = KINDS.map(kind => {
    const d = [...delays.get(kind)!].sort((a, b) => a - b)
    return [
      kind,
      `${d.length} of ${PER_KIND}`,
      d.length === 0 ? "—" : `**${fixed(median(d), 1)}**`,
      d.length === 0 ? "—" : `**${fixed(percentile(d, 0.95), 1)}**`
    ]
  })
  yield* Console.log(
    `\n### Freshness per kind of change, ${CHATS} chats, default intervals, ${PER_KIND} changes per kind over ${SPAN_MS / 1000} s\n`
  )
  yield* Console.log(table(["change", "seen", "median s", "p95 s"], "lrrr", rows))
  yield* Console.log(
    `\nUpstream calls per minute over the ${fixed(elapsedMin, 1)} min run: ${fixed(calls.length / elapsedMin, 1)} (${[
      ...byOp
    ]
      .sort()
      .map(([op, n]) => `${op} ${fixed(n / elapsedMin, 1)}`)
      .join(", ")})`
  )
}).pipe(Effect.scoped)

NodeRuntime.runMain(main)
