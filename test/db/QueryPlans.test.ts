import { randomUUID } from "node:crypto"
import { CommandsRepo, Database } from "@cliq-mirror/db"
import { type ChatFilters, type ChatSort, ChatsQuery } from "@cliq-mirror/db/ChatsQuery"
import { CommandsQuery } from "@cliq-mirror/db/CommandsQuery"
import { EventsFeed } from "@cliq-mirror/db/EventsFeed"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { DatabaseTest } from "../support/layers.js"

const CHATS = 200_000
const EVENTS = 200_000
const COMMANDS = 50_000
const ACCOUNTS = 4
const WATCHED = new Set(["chats", "events", "commands"])

// Secondary indexes are dropped while the rows go in and built again from their own definitions (pg_indexes), which is
// several times faster than maintaining them row by row.
const SECONDARY_INDEXES = `select indexname, indexdef from pg_indexes i
  where schemaname = current_schema() and tablename in ('chats', 'events', 'commands')
    and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`

// A mirror shaped like real ones: mostly direct messages and groups, few pinned, muted, removed or closed chats, a
// minority unread, some chats without a modification time, chat ids repeated across accounts.
const seed = [
  `insert into accounts (id) select 'acct-' || a from generate_series(0, ${ACCOUNTS - 1}) a`,
  `insert into chats (account_id, chat_id, name, chat_type, last_modified_time, pinned, muted, removed, closed,
     unread_message_count, members_fetched_at, raw)
   select 'acct-' || (i % ${ACCOUNTS}), 'CT_' || (i / 2),
     (array['project','sales','support','Product','random','ops','design','team'])[1 + i % 8] || ' ' || (i % 1000),
     (array['direct_message','direct_message','direct_message','group_chat','group_chat','channel','bot','thread'])[1 + (i * 7) % 8],
     case when i % 50 = 0 then null else timestamptz '2026-01-01' + (i * interval '37 seconds') end,
     i % 97 = 0, i % 53 = 0, i % 211 = 0, i % 41 = 0,
     case when i % 11 = 0 then 1 + i % 5 else 0 end,
     case when i % 3 = 0 then now() else null end,
     jsonb_build_object('chat_id', 'CT_' || (i / 2))
   from generate_series(1, ${CHATS}) i`,
  `insert into chat_members (account_id, chat_id, user_id, name)
   select 'acct-' || (i % ${ACCOUNTS}), 'CT_' || (i / 2), 'u' || u, 'user ' || u
   from generate_series(1, 2000) i, generate_series(1, 5) u`,
  `insert into events (event_id, account_id, chat_id, type, payload, dedupe_key)
   select gen_random_uuid(), 'acct-' || (i % ${ACCOUNTS}), 'CT_' || ((i::bigint * 7919) % ${CHATS / 2}),
     (array['ChatPinned','ChatUnpinned','ChatMuted','ChatUnmuted','ChatClosed'])[1 + i % 5],
     '{}'::jsonb, 'd' || i
   from generate_series(1, ${EVENTS}) i`,
  `insert into commands (id, account_id, type, chat_id, payload, request_hash, status, created_at)
   select gen_random_uuid(), 'acct-' || (i % ${ACCOUNTS}), 'mute_chat', 'CT_' || i, jsonb_build_object('chat_id', 'CT_' || i), md5(i::text),
     case when i % 100 < 3 then 'failed' when i % 100 < 6 then 'queued' when i % 100 < 7 then 'waiting_rate_limit'
       when i % 100 < 8 then 'running' else 'succeeded' end,
     timestamptz '2026-01-01' + i * interval '1 second'
   from generate_series(1, ${COMMANDS}) i`
]

interface Captured {
  readonly text: string
  readonly params: ReadonlyArray<unknown>
}

interface PlanNode {
  readonly "Node Type": string
  readonly "Relation Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const seqScans = (node: PlanNode): Array<string> => [
  ...(node["Node Type"] === "Seq Scan" && WATCHED.has(node["Relation Name"] ?? "") ? [node["Relation Name"]!] : []),
  ...(node.Plans ?? []).flatMap(seqScans)
]

const describePlan = (node: PlanNode, depth = 0): string =>
  [
    `${"  ".repeat(depth)}${node["Node Type"]}${node["Relation Name"] ? ` on ${node["Relation Name"]}` : ""}`,
    ...(node.Plans ?? []).map(p => describePlan(p, depth + 1))
  ].join("\n")

/**
 * Runs `run` (the services' own methods) and returns the statements it sent, as postgres.js' debug hook sees them:
 * the exact text and parameters the API's queries use.
 */
const capture = <A, E, R>(run: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const { sql } = yield* Database
    const seen: Array<Captured> = []
    const options = sql.options as { debug?: unknown }
    options.debug = (_: number, text: string, params: ReadonlyArray<unknown>) => {
      seen.push({ text, params: [...params] })
    }
    const result = yield* run.pipe(Effect.ensuring(Effect.sync(() => (options.debug = false))))
    return { result, seen }
  })

const explain = (statement: Captured) =>
  Effect.flatMap(Database, ({ sql }) =>
    Effect.promise(async () => {
      const [row] = await sql.unsafe<Array<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>>(
        `explain (format json) ${statement.text}`,
        statement.params as Array<never>
      )
      return row!["QUERY PLAN"][0]!.Plan
    })
  )

/** Every statement `run` sends must reach chats, events and commands through an index. */
const assertIndexed = <A, E, R>(label: string, run: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const { result, seen } = yield* capture(run)
    assert.isAbove(seen.length, 0, `${label}: no statement captured`)
    for (const statement of seen) {
      const plan = yield* explain(statement)
      assert.deepStrictEqual(seqScans(plan), [], `${label}: ${statement.text}\n${describePlan(plan)}`)
    }
    return result
  })

const Seeded = Layer.effectDiscard(
  Effect.flatMap(Database, ({ sql }) =>
    Effect.promise(async () => {
      const indexes = await sql.unsafe<Array<{ indexname: string; indexdef: string }>>(SECONDARY_INDEXES)
      for (const { indexname } of indexes) await sql.unsafe(`drop index "${indexname}"`)
      for (const statement of seed) await sql.unsafe(statement)
      for (const { indexdef } of indexes) await sql.unsafe(indexdef)
      await sql.unsafe("analyze chats, chat_members, events, commands")
    })
  )
)

const TestLayer = Seeded.pipe(
  Layer.provideMerge(
    Layer.mergeAll(
      ChatsQuery.DefaultWithoutDependencies,
      EventsFeed.DefaultWithoutDependencies,
      CommandsQuery.DefaultWithoutDependencies,
      CommandsRepo.Default
    )
  ),
  Layer.provideMerge(DatabaseTest)
)

const FILTERS: ReadonlyArray<readonly [string, ChatFilters]> = [
  ["no filter", {}],
  ["common chat types", { chatTypes: ["group_chat", "channel"] }],
  ["a rare chat type", { chatTypes: ["thread"] }],
  ["pinned", { pinned: true }],
  ["not pinned", { pinned: false }],
  ["muted", { muted: true }],
  ["not muted", { muted: false }],
  ["removed", { removed: true }],
  ["present", { removed: false }],
  ["closed", { closed: true }],
  ["open", { closed: false }],
  ["unread", { unread: true }],
  ["read", { unread: false }],
  ["unread group chats and channels", { unread: true, chatTypes: ["group_chat", "channel"] }],
  ["name search", { q: "pro" }],
  ["a one-letter name search", { q: "s" }],
  ["a name search matching nothing", { q: "zzzq" }],
  ["modified after", { modifiedAfter: new Date("2026-03-01T00:00:00Z") }],
  ["modified before", { modifiedBefore: new Date("2026-01-02T00:00:00Z") }],
  ["modified in a window", { modifiedAfter: new Date("2026-02-01"), modifiedBefore: new Date("2026-02-02") }]
]

layer(TestLayer, { timeout: "3 minutes", excludeTestServices: true })("query plans at 200,000 chats", it => {
  it.effect("seeded the mirror at scale", () =>
    Effect.gen(function* () {
      const { sql } = yield* Database
      const [row] = yield* Effect.promise(() => sql<Array<{ n: number }>>`select count(*)::int as n from chats`)
      assert.strictEqual(row!.n, CHATS)
    })
  )

  it.effect("the chat listing: every filter, both sorts, with and without account, first page and after a cursor", () =>
    Effect.gen(function* () {
      const chats = yield* ChatsQuery
      for (const sort of ["recent", "name"] as ReadonlyArray<ChatSort>) {
        for (const accountId of [undefined, "acct-1"]) {
          for (const [name, filters] of FILTERS) {
            const label = `${sort} ${name}${accountId === undefined ? "" : " of one account"}`
            const request = { filters: { ...filters, accountId }, sort, limit: 100 }
            const first = yield* assertIndexed(label, chats.list(request))
            if (Option.isSome(first.next)) {
              yield* assertIndexed(`${label}, second page`, chats.list({ ...request, after: first.next.value }))
            }
          }
        }
      }
    })
  )

  it.effect("pages through chats without a modification time", () =>
    Effect.gen(function* () {
      const chats = yield* ChatsQuery
      const key = { sort: "recent" as const, lastModifiedTime: null, chatId: "CT_5000", accountId: "acct-1" }
      const page = yield* assertIndexed(
        "recent after a null key",
        chats.list({ filters: {}, sort: "recent", limit: 100, after: key })
      )
      assert.strictEqual(page.rows.length, 100)
      assert.isTrue(page.rows.every(r => r.lastModifiedTime === null))
    })
  )

  it.effect("a chat by id and its members, with and without account", () =>
    Effect.gen(function* () {
      const chats = yield* ChatsQuery
      const any = yield* assertIndexed("get", chats.get("CT_1000"))
      assert.isTrue(Option.isSome(any))
      yield* assertIndexed("get of one account", chats.get("CT_1000", "acct-1"))
      const members = yield* assertIndexed("members", chats.members("CT_500"))
      assert.isTrue(Option.isSome(members) && members.value.members.length > 0)
      yield* assertIndexed("members of one account", chats.members("CT_500", "acct-2"))
    })
  )

  it.effect("the events feed: by chat, by type, and from a position", () =>
    Effect.gen(function* () {
      const feed = yield* EventsFeed
      const byChat = yield* assertIndexed("events of a chat", feed.read({ after: 0, limit: 100, chatId: "CT_777" }))
      assert.isAbove(byChat.rows.length, 0)
      yield* assertIndexed(
        "events of a chat by type",
        feed.read({ after: 0, limit: 100, chatId: "CT_777", types: ["ChatClosed"] })
      )
      yield* assertIndexed("events after a position", feed.read({ after: EVENTS / 2, limit: 100 }))
      yield* assertIndexed("events of a type", feed.read({ after: 0, limit: 100, types: ["ChatClosed"] }))
    })
  )

  it.effect("commands by id and by status, with and without account", () =>
    Effect.gen(function* () {
      const { sql } = yield* Database
      const [row] = yield* Effect.promise(() => sql<Array<{ id: string }>>`select id from commands limit 1 offset 500`)
      const repo = yield* CommandsRepo
      const found = yield* assertIndexed("command by id", repo.get(row!.id))
      assert.strictEqual(found?.id, row!.id)
      assert.isUndefined(yield* assertIndexed("unknown command by id", repo.get(randomUUID())))
      const commands = yield* CommandsQuery
      for (const accountId of [undefined, "acct-2"]) {
        for (const statuses of [["failed"], ["queued", "waiting_rate_limit"], undefined] as const) {
          const label = `commands ${statuses?.join(",") ?? "all"}${accountId === undefined ? "" : " of one account"}`
          const first = yield* assertIndexed(label, commands.list({ filters: { statuses, accountId }, limit: 100 }))
          if (Option.isSome(first.next)) {
            yield* assertIndexed(
              `${label}, second page`,
              commands.list({ filters: { statuses, accountId }, limit: 100, after: first.next.value })
            )
          }
        }
      }
    })
  )
})
