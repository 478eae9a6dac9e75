import { performance } from "node:perf_hooks"
import { BUCKET_IDS, ChatDto, type ChatItem, Limits } from "@cliq-mirror/core"
import { makeDatabase, migrateDatabase, writePage } from "@cliq-mirror/db"
import { Console, Effect, Fiber, Redacted, Schema } from "effect"
import { searchKey, sortPage } from "../../apps/daemon/src/Sync/ChatItems.js"
import { advance, isDone, nextRange, type Range, startWalk } from "../../apps/daemon/src/Sync/WindowWalk.js"
import { ACCOUNT } from "./Mirror.js"
import { spawnSimulator } from "./Processes.js"
import { scratchDatabase } from "./Scratch.js"
import { type Cost, cpuMsOf, instrument, nodeMs } from "./StatementTimer.js"
import { fixed, grouped, table } from "./Stats.js"
import { raisedBuckets, TOKEN, tempDir, writeRateLimits } from "./Upstream.js"

interface Variant {
  readonly label: string
  /** `analyze chats` once the first page has committed, so the planner knows the account's selectivity. */
  readonly analyze: boolean
  /** Fetch and decode the next page while the current one is written (the next range is known before the write). */
  readonly prefetch: boolean
}

const REST = "writePage's JS between its statements (diff, event rows, JSON.stringify), begin, commit"

const VARIANTS: ReadonlyArray<Variant> = [
  {
    label: "fetch, decode, write, in turn (the daemon also prepares a page while the one before commits)",
    analyze: false,
    prefetch: false
  },
  { label: "+ ANALYZE chats after the first page", analyze: true, prefetch: false },
  { label: "+ next page fetched while the current one is written", analyze: false, prefetch: true },
  { label: "+ both", analyze: true, prefetch: true }
]

const decodeChat = Schema.decodeUnknownEither(ChatDto)
/** As CliqClient decodes a page: each item alone, a malformed one kept with its error. */
const toItem = (raw: unknown): ChatItem => {
  const decoded = decodeChat(raw)
  return decoded._tag === "Right"
    ? { raw, chat: decoded.right }
    : { raw, error: { path: "", message: String(decoded.left.message) } }
}

/**
 * The incremental stream's backfill loop without Effect's service layers, the rate budget or HTTP retries: the same
 * window walk, the same page decoding, and the real `writePage` with the same cursor, one transaction per page.
 */
const backfill = (apiBaseUrl: string, variant: Variant, maxPages = Number.POSITIVE_INFINITY) =>
  Effect.gen(function* () {
    const scratch = yield* scratchDatabase("phases")
    yield* migrateDatabase(scratch.url)
    const { sql } = yield* makeDatabase({ url: Redacted.make(scratch.url), max: 1 })
    yield* Effect.promise(() => sql`insert into accounts (id) values (${ACCOUNT})`)
    const pid = (yield* Effect.promise(() => sql<Array<{ pid: number }>>`select pg_backend_pid() as pid`))[0]!.pid
    const costs = new Map<string, Cost>()
    /** Wall ms of each statement, page by page: a cost that grows with the table shows here. */
    const byPage = new Map<string, Array<number>>()
    const add = (label: string, wallMs: number, pgMs: number, node: number) => {
      const cost = costs.get(label) ?? { calls: 0, wallMs: 0, pgMs: 0, nodeMs: 0 }
      cost.calls++
      cost.wallMs += wallMs
      cost.pgMs += pgMs
      cost.nodeMs += node
      costs.set(label, cost)
    }
    const load = ([lo, hi]: Range) =>
      Effect.promise(async () => {
        const t0 = performance.now()
        const n0 = nodeMs()
        const query = `modified_after=${lo}${hi === null ? "" : `&modified_before=${hi}`}&limit=${Limits.searchLimitMax}&sort_by=recent`
        const res = await fetch(`${apiBaseUrl}/chats/search?${query}`, {
          headers: { Authorization: `Zoho-oauthtoken ${TOKEN}` }
        })
        const text = await res.text()
        if (!res.ok) throw new Error(`search answered ${res.status}: ${text.slice(0, 200)}`)
        const t1 = performance.now()
        const n1 = nodeMs()
        const body = JSON.parse(text) as { chats: ReadonlyArray<unknown> }
        const sorted = sortPage({ items: body.chats.map(toItem) }, searchKey)
        add("fetch the page (the simulator is another process)", t1 - t0, 0, n1 - n0)
        add("JSON.parse + ChatDto decode + sortPage", performance.now() - t1, 0, nodeMs() - n1)
        return sorted
      })
    let walk = startWalk(0)
    const t0 = performance.now()
    const pg0 = cpuMsOf(pid)
    const node0 = nodeMs()
    let pending = yield* Effect.fork(load(nextRange(walk)!))
    while (!isDone(walk)) {
      if (walk.pages >= maxPages) {
        yield* Fiber.interrupt(pending)
        break
      }
      const sorted = yield* Fiber.join(pending)
      walk = advance(walk, sorted.keyed, Limits.searchLimitMax)
      const done = isDone(walk)
      if (!done && variant.prefetch) pending = yield* Effect.fork(load(nextRange(walk)!))
      const w = performance.now()
      const pg = cpuMsOf(pid)
      const node = nodeMs()
      const before = [...costs.values()].reduce((n, c) => n + c.wallMs, 0)
      const snapshot = new Map([...costs].map(([l, c]) => [l, c.wallMs]))
      yield* Effect.promise(() =>
        sql.begin(tx =>
          writePage(instrument(tx, pid, costs), {
            accountId: ACCOUNT,
            observed: sorted.observed,
            rejected: sorted.rejected,
            cursor: done
              ? { stream: "incremental", cursor: {}, status: "idle", success: true, highWaterMs: walk.maxKey }
              : { stream: "incremental", cursor: { walk }, status: "backfilling" }
          })
        )
      )
      const statements = [...costs.values()].reduce((n, c) => n + c.wallMs, 0) - before
      add(REST, performance.now() - w - statements, 0, 0)
      costs.get(REST)!.pgMs += cpuMsOf(pid) - pg
      costs.get(REST)!.nodeMs += nodeMs() - node
      for (const [l, c] of costs) {
        const walls = byPage.get(l) ?? []
        walls.push(c.wallMs - (snapshot.get(l) ?? 0))
        byPage.set(l, walls)
      }
      if (variant.analyze && walk.pages === 1) yield* Effect.promise(() => sql`analyze chats`)
      if (!done && !variant.prefetch) pending = yield* Effect.fork(load(nextRange(walk)!))
    }
    const ms = performance.now() - t0
    const total = { pgMs: cpuMsOf(pid) - pg0, nodeMs: nodeMs() - node0 }
    // The transaction row holds the whole transaction's PG and node CPU; take the statements' share out of it.
    const rest = costs.get(REST)!
    for (const [label, c] of costs)
      if (label !== REST && !label.startsWith("fetch") && !label.startsWith("JSON")) {
        rest.pgMs -= c.pgMs
        rest.nodeMs -= c.nodeMs
      }
    return { chats: walk.items, pages: walk.pages, ms, total, costs, byPage }
  }).pipe(Effect.scoped)

type Run = Effect.Effect.Success<ReturnType<typeof backfill>>

/** Costs of several runs of one variant, summed, per chat. */
const stepRows = (runs: ReadonlyArray<Run>) => {
  const chats = runs.reduce((n, r) => n + r.chats, 0)
  const pages = runs.reduce((n, r) => n + r.pages, 0)
  const sum = new Map<string, Cost>()
  for (const r of runs)
    for (const [label, c] of r.costs) {
      const s = sum.get(label) ?? { calls: 0, wallMs: 0, pgMs: 0, nodeMs: 0 }
      sum.set(label, {
        calls: s.calls + c.calls,
        wallMs: s.wallMs + c.wallMs,
        pgMs: s.pgMs + c.pgMs,
        nodeMs: s.nodeMs + c.nodeMs
      })
    }
  const us = (ms: number) => (1000 * ms) / chats
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const ends = (label: string) => {
    const walls = runs.map(r => r.byPage.get(label) ?? [])
    return [mean(walls.flatMap(w => w.slice(0, 20))), mean(walls.flatMap(w => w.slice(-20)))] as const
  }
  return { sum, pages, us, ends }
}

const middle = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * Diagnostic, not part of the default run: where one backfill page's time goes, statement by statement, and what two
 * changes to the loop would gain. A model of the daemon's loop (see `backfill`), measured in this process; the
 * variants run in turn, `rounds` times, so that a noisy neighbour hits them all alike.
 */
export const writePhases = (chats: number, rounds: number) =>
  Effect.gen(function* () {
    // A separate process, as for the daemon, so that serving a page does not take this loop's thread.
    const dir = yield* tempDir("phases")
    const limits = yield* writeRateLimits(dir, raisedBuckets(1_000_000), BUCKET_IDS)
    const sim = yield* spawnSimulator(["--chats", String(chats), "--users", "1", "--seed", "42"], {
      RATE_LIMITS_FILE: limits
    })
    // Warm-up (JIT, connections, the simulator's first pages), not counted.
    yield* backfill(sim.apiBaseUrl, VARIANTS[0]!, 20)
    const runs = new Map<Variant, Array<Run>>(VARIANTS.map(v => [v, []]))
    for (let round = 0; round < rounds; round++)
      for (const variant of VARIANTS) runs.get(variant)!.push(yield* backfill(sim.apiBaseUrl, variant))
    const asIs = stepRows(runs.get(VARIANTS[0]!)!)
    const analyzed = stepRows(runs.get(VARIANTS[1]!)!)
    const first = runs.get(VARIANTS[0]!)![0]!
    const label = (l: string) => (l === REST || l.startsWith("fetch") || l.startsWith("JSON") ? l : `\`${l}…\``)
    const total = (r: ReturnType<typeof stepRows>, key: "wallMs" | "pgMs" | "nodeMs") =>
      fixed(r.us([...r.sum.values()].reduce((n, c) => n + c[key], 0)), 1)
    yield* Console.log(
      `\n### Backfill page by page: where the time goes (${grouped(first.chats)} chats, ${first.pages} pages, one connection; µs per chat, mean of ${rounds} run${rounds > 1 ? "s" : ""})\n`
    )
    yield* Console.log(
      table(
        [
          "step (SQL statements by their first words)",
          "per page",
          "wall",
          "PostgreSQL CPU",
          "node CPU",
          "ms per page, first → last 20 pages",
          "wall, ANALYZE after page 1",
          "PostgreSQL CPU, ANALYZE after page 1",
          "ms per page, first → last 20, ANALYZE"
        ],
        "lrrrrrrrr",
        [...asIs.sum.entries()]
          .map(([l, a]) => {
            const b = analyzed.sum.get(l)
            const ends = (r: ReturnType<typeof stepRows>) => {
              const [head, tail] = r.ends(l)
              return l.startsWith("fetch") || l.startsWith("JSON") ? "—" : `${fixed(head, 1)} → ${fixed(tail, 1)}`
            }
            return [
              label(l),
              fixed(a.calls / asIs.pages, 1),
              fixed(asIs.us(a.wallMs), 1),
              fixed(asIs.us(a.pgMs), 1),
              fixed(asIs.us(a.nodeMs), 1),
              ends(asIs),
              b ? fixed(analyzed.us(b.wallMs), 1) : "—",
              b ? fixed(analyzed.us(b.pgMs), 1) : "—",
              b ? ends(analyzed) : "—"
            ]
          })
          .concat([
            [
              "**sum of the steps**",
              "",
              total(asIs, "wallMs"),
              total(asIs, "pgMs"),
              total(asIs, "nodeMs"),
              "",
              total(analyzed, "wallMs"),
              total(analyzed, "pgMs"),
              ""
            ]
          ])
      )
    )
    const base = middle(runs.get(VARIANTS[0]!)!.map(r => r.ms / r.chats))
    yield* Console.log(
      `\n### The same loop with the proposed changes (${grouped(first.chats)} chats; median of ${rounds}, variants run in turn)\n`
    )
    yield* Console.log(
      table(
        ["loop", "chats/s (median)", "range", "vs as is", "PostgreSQL CPU µs/chat", "node CPU µs/chat"],
        "lrrrrr",
        VARIANTS.map(v => {
          const rs = runs.get(v)!
          const rates = rs.map(r => (1000 * r.chats) / r.ms)
          const perChat = middle(rs.map(r => r.ms / r.chats))
          return [
            v.label,
            grouped(1000 / perChat),
            `${grouped(Math.min(...rates))}–${grouped(Math.max(...rates))}`,
            `${fixed(base / perChat, 2)}×`,
            fixed(middle(rs.map(r => (1000 * r.total.pgMs) / r.chats)), 1),
            fixed(middle(rs.map(r => (1000 * r.total.nodeMs) / r.chats)), 1)
          ]
        })
      )
    )
  }).pipe(Effect.scoped)
