import { performance } from "node:perf_hooks"
import { Effect } from "effect"
import type postgres from "postgres"
import { TOKEN } from "./Upstream.js"

const PAGE = 500

/**
 * The simulator alone: the search walk a backfill makes (500 per page, newest first), with plain fetch and
 * JSON.parse, no decoding and no writes. Bodies carry whole seconds, so each next page starts one second above the
 * oldest time seen and re-reads that second; ids are counted once.
 */
export const servePages = (apiBaseUrl: string) =>
  Effect.promise(async () => {
    const ids = new Set<string>()
    let calls = 0
    let before: number | undefined
    const t0 = performance.now()
    while (true) {
      const query = `limit=${PAGE}&sort_by=recent&modified_after=0${before === undefined ? "" : `&modified_before=${before}`}`
      const res = await fetch(`${apiBaseUrl}/chats/search?${query}`, {
        headers: { Authorization: `Zoho-oauthtoken ${TOKEN}` }
      })
      if (!res.ok) throw new Error(`search answered ${res.status}: ${await res.text()}`)
      const body = (await res.json()) as { chats: Array<{ chat_id: string; last_modified_time: string }> }
      calls++
      let oldest = Number.POSITIVE_INFINITY
      for (const c of body.chats) {
        ids.add(c.chat_id)
        oldest = Math.min(oldest, Date.parse(c.last_modified_time))
      }
      if (body.chats.length < PAGE) break
      const next = Math.floor(oldest / 1000) * 1000 + 1000
      if (before !== undefined && next >= before) throw new Error("serving walk made no progress")
      before = next
    }
    return { calls, chats: ids.size, ms: performance.now() - t0 }
  })

const chunks = <A>(rows: ReadonlyArray<A>, n: number): Array<Array<A>> =>
  Array.from({ length: n }, (_, i) =>
    rows.slice(Math.floor((i * rows.length) / n), Math.floor(((i + 1) * rows.length) / n))
  )

type Row = Record<string, unknown>
type Load = (tx: postgres.TransactionSql, table: "chats" | "events", rows: Array<Row>) => Promise<unknown>

// A bind message holds at most 65,535 parameters: 2,000 rows × 26 columns stays below.
const insertLoad: Load = async (tx, table, rows) => {
  for (const part of chunks(rows, Math.ceil(rows.length / 2000)))
    await tx`insert into ${tx(`bench_${table}`)} ${tx(part)}`
}

const serverLoad: Load = (tx, table, rows) =>
  table === "chats"
    ? tx`insert into bench_chats select * from chats where account_id = ${rows[0]!.account_id as string}
        and chat_id = any(${rows.map(r => r.chat_id as string)})`
    : tx`insert into bench_events select * from events where seq between ${rows[0]!.seq as string}
        and ${rows[rows.length - 1]!.seq as string}`

/**
 * PostgreSQL's own speed for the same data: the mirror's final `chats` and `events` rows, read back and loaded again
 * into empty copies of both tables (same columns, defaults and indexes), in as many transactions as the daemon wrote
 * pages: sent again by postgres.js as multi-row INSERTs, and copied inside the server (INSERT … SELECT: no client, no
 * JSON parsing; what storing them costs PostgreSQL at least). No diffing, no event folding, no row locks.
 * (COPY FROM STDIN is not used: postgres.js spends ~85 ms per COPY stream here, whatever its size.)
 */
export const reloadRows = (sql: postgres.Sql, transactions: number) =>
  Effect.promise(async () => {
    const chats = (await sql`select * from chats order by last_modified_time desc`) as unknown as Array<Row>
    const events = (await sql`select * from events order by seq`) as unknown as Array<Row>
    const chatChunks = chunks(chats, transactions)
    const eventChunks = chunks(events, transactions)
    const time = async (load: Load) => {
      await sql`create table bench_chats (like chats including all)`
      await sql`create table bench_events (like events including all)`
      try {
        const t0 = performance.now()
        for (let i = 0; i < transactions; i++) {
          await sql.begin(async tx => {
            if (eventChunks[i]!.length > 0) await load(tx, "events", eventChunks[i]!)
            if (chatChunks[i]!.length > 0) await load(tx, "chats", chatChunks[i]!)
          })
        }
        return performance.now() - t0
      } finally {
        await sql`drop table bench_chats`
        await sql`drop table bench_events`
      }
    }
    return {
      chats: chats.length,
      events: events.length,
      insertMs: await time(insertLoad),
      serverMs: await time(serverLoad)
    }
  })
