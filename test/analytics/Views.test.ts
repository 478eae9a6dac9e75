import { readFileSync } from "node:fs"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import postgres from "postgres"
import { TestDatabaseUrl, TestDatabaseUrlLive } from "../support/database.js"

class Sql extends Context.Tag("test/analytics/Sql")<Sql, postgres.Sql>() {}

const seed = `
insert into accounts (id) values ('a1'), ('a2');

insert into chats (account_id, chat_id, name, chat_type, participant_count, creator_id, creator_name, created_time,
  last_modified_time, last_message_time, unread_message_count, unread_time, last_message_info, muted, pinned,
  removed, members_fetched_at, raw) values
  ('a1', 'c1', 'Roadmap', 'group_chat', 3, 'u1', 'Ann', '2026-01-01T00:00:00Z', '2026-11-02T10:00:00Z',
   '2026-11-02T10:00:00Z', 3, '2026-11-02T09:00:00Z',
   '{"message_id": "m1", "sender": "u2", "time": "2026-11-02T10:00:00Z", "content": {"text": "ship it"}, "type": "text"}',
   false, true, false, '2026-11-05T00:00:00Z', '{}'),
  ('a1', 'c2', 'Ops', 'group_chat', 4, 'u2', 'Bob', '2026-01-02T00:00:00Z', '2026-11-01T10:00:00Z', null, 0, null,
   null, false, false, false, '2026-11-05T00:00:00Z', '{}'),
  ('a1', 'c3', 'Carol', 'direct_message', 2, 'u1', 'Ann', '2026-01-03T00:00:00Z', '2026-11-03T10:00:00Z', null, 5,
   '2026-10-30T08:00:00Z', null, true, false, false, null, '{}'),
  ('a1', 'c4', 'Old news', 'channel', 40, 'u3', 'Cid', '2026-01-04T00:00:00Z', '2026-11-03T10:00:00Z', null, 7,
   '2026-10-01T08:00:00Z', null, false, false, true, null, '{}'),
  ('a1', 'c5', 'Dan', 'direct_message', null, 'u1', 'Ann', '2026-01-05T00:00:00Z', null, null, 0, null,
   null, false, false, false, '2026-11-05T00:00:00Z', '{}'),
  ('a2', 'c1', 'Roadmap', 'group_chat', 2, 'u1', 'Ann', '2026-01-01T00:00:00Z', null, null, 2,
   '2026-11-04T00:00:00Z', null, false, false, false, '2026-11-05T00:00:00Z', '{}');

insert into chat_members (account_id, chat_id, user_id) values
  ('a1', 'c1', 'u1'), ('a1', 'c1', 'u2'), ('a1', 'c1', 'u3'),
  ('a1', 'c2', 'u1'), ('a1', 'c2', 'u2'),
  ('a1', 'c5', 'u1'),
  ('a2', 'c1', 'u1'), ('a2', 'c1', 'u4');

insert into events (event_id, account_id, chat_id, type, payload, occurred_at, recorded_at, dedupe_key) values
  (gen_random_uuid(), 'a1', 'c1', 'ChatRenamed', '{"old_title": "A", "new_title": "B"}',
   '2026-11-01T10:00:00Z', '2026-12-01T00:00:00Z', 'r1'),
  (gen_random_uuid(), 'a1', 'c1', 'ChatRenamed', '{"old_title": "B", "new_title": "Roadmap"}',
   '2026-11-02T23:59:59.999Z', '2026-12-01T00:00:00Z', 'r2'),
  (gen_random_uuid(), 'a1', 'c2', 'ChatRenamed', '{"old_title": "X", "new_title": "Ops"}',
   null, '2026-11-03T00:00:00Z', 'r3'),
  (gen_random_uuid(), 'a1', 'c1', 'LastMessageChanged', '{}', '2026-11-01T05:00:00Z', '2026-12-01T00:00:00Z', 'l1'),
  (gen_random_uuid(), 'a1', 'c2', 'LastMessageChanged', '{}', '2026-11-01T06:00:00Z', '2026-12-01T00:00:00Z', 'l2'),
  (gen_random_uuid(), 'a1', 'c1', 'LastMessageChanged', '{}', '2026-11-01T07:00:00Z', '2026-12-01T00:00:00Z', 'l3'),
  (gen_random_uuid(), 'a1', 'c3', 'LastMessageChanged', '{}', '2026-11-02T00:00:00Z', '2026-12-01T00:00:00Z', 'l4'),
  (gen_random_uuid(), 'a1', 'c2', 'LastMessageChanged', '{}', '2026-11-01T23:30:00-02:00', '2026-12-01T00:00:00Z', 'l5'),
  (gen_random_uuid(), 'a1', null, 'CommandRequested', '{}', null, '2026-11-02T12:00:00Z', 'q1'),
  (gen_random_uuid(), 'a2', 'c1', 'LastMessageChanged', '{}', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', 'l6'),
  (gen_random_uuid(), 'a2', 'c1', 'ChatRenamed', '{"old_title": "R", "new_title": "Roadmap"}',
   '2026-11-01T01:00:00Z', '2026-12-01T00:00:00Z', 'r4');

insert into commands (id, account_id, type, chat_id, payload, request_hash, status, attempts, retries, superseded_by,
  created_at, completed_at) values
  ('00000000-0000-4000-8000-000000000001', 'a1', 'mark_as_read', 'c1', '{}', 'h', 'succeeded', 1, 0, null,
   '2026-11-01T10:00:00Z', '2026-11-01T10:00:02Z'),
  ('00000000-0000-4000-8000-000000000002', 'a1', 'mark_as_read', 'c2', '{}', 'h', 'succeeded', 0, 0,
   '00000000-0000-4000-8000-000000000001', '2026-11-01T10:00:00Z', '2026-11-01T10:00:04Z'),
  ('00000000-0000-4000-8000-000000000003', 'a1', 'mark_as_read', 'c3', '{}', 'h', 'failed', 6, 1, null,
   '2026-11-01T23:59:59.999Z', '2026-11-02T00:10:00Z'),
  ('00000000-0000-4000-8000-000000000004', 'a1', 'mark_as_read', 'c1', '{}', 'h', 'queued', 0, 0, null,
   '2026-11-02T00:00:00Z', null),
  ('00000000-0000-4000-8000-000000000005', 'a1', 'mark_as_read', 'c2', '{}', 'h', 'waiting_rate_limit', 0, 0, null,
   '2026-11-02T01:00:00Z', null),
  ('00000000-0000-4000-8000-000000000006', 'a1', 'mark_as_read', 'c3', '{}', 'h', 'running', 1, 0, null,
   '2026-11-02T02:00:00Z', null),
  ('00000000-0000-4000-8000-000000000007', 'a1', 'mark_as_read', 'c5', '{}', 'h', 'cancelled', 0, 0, null,
   '2026-11-02T03:00:00Z', null),
  ('00000000-0000-4000-8000-000000000008', 'a1', 'update_title', 'c1', '{}', 'h', 'succeeded', 2, 0, null,
   '2026-11-01T12:00:00Z', '2026-11-01T12:01:00Z'),
  ('00000000-0000-4000-8000-000000000009', 'a2', 'mute_chat', 'c1', '{}', 'h', 'succeeded', 1, 0, null,
   '2026-11-01T12:00:00Z', '2026-11-01T12:00:01Z');

insert into sync_state (account_id, stream, high_water_ms, status, last_run_at, last_success_at, last_error,
  consecutive_failures, chats_observed, events_appended) values
  ('a1', 'incremental', 1796601600123, 'idle', '2026-12-06T10:00:00Z', '2026-12-01T00:00:00Z', null, 0, 100, 150),
  ('a1', 'members', null, 'backing_off', '2026-12-06T09:00:00Z', '2026-11-30T00:00:00Z',
   '{"code": "http_500", "message": "boom", "at": "2026-12-06T09:00:00.000Z"}', 2, 10, 5),
  ('a1', 'state:muted', null, 'backing_off', '2026-12-06T09:30:00Z', null,
   '{"code": "rate_limited", "message": "locked", "at": "2026-12-06T09:30:00.000Z"}', 1, 0, 0),
  ('a2', 'incremental', 1796601600000, 'idle', '2026-12-06T10:00:00Z', '2026-12-06T10:00:00Z', null, 0, 1, 2);
`

// A session zone far from UTC: the views' days must not depend on it.
const SqlLive = Layer.scoped(
  Sql,
  Effect.flatMap(TestDatabaseUrl, url =>
    Effect.acquireRelease(
      Effect.sync(() =>
        postgres(url, {
          max: 2,
          onnotice: () => {},
          connection: { TimeZone: "America/Sao_Paulo" },
          types: { bigint: postgres.BigInt }
        })
      ),
      sql => Effect.promise(() => sql.end({ timeout: 5 }))
    ).pipe(Effect.tap(sql => Effect.promise(() => sql.unsafe(seed).simple())))
  )
).pipe(Layer.provideMerge(TestDatabaseUrlLive))

type Params = Array<postgres.ParameterOrJSON<never>>

const query = (text: string, params: Params = []) =>
  Effect.flatMap(Sql, sql => Effect.promise(() => sql.unsafe(text, params)))

/** Rows as plain JSON-like values: bigints as numbers, times as ISO strings, so they compare with deepStrictEqual. */
const rows = (text: string, params: Params = []) =>
  Effect.map(query(text, params), result =>
    result.map(row =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          typeof v === "bigint" ? Number(v) : v instanceof Date ? v.toISOString() : v
        ])
      )
    )
  )

/** Every table and view documented in docs/schema.md: its description and its columns' descriptions. */
const documented = (): ReadonlyArray<{
  readonly name: string
  readonly view: boolean
  readonly text: string
  readonly columns: ReadonlyArray<readonly [string, string]>
}> => {
  const lines = readFileSync(new URL("../../docs/schema.md", import.meta.url), "utf8").split("\n")
  const out: Array<{ name: string; view: boolean; text: string; columns: Array<readonly [string, string]> }> = []
  let section = ""
  lines.forEach((line, i) => {
    if (line.startsWith("## ")) section = line.slice(3)
    const heading = /^### `([a-z_]+)`$/.exec(line)
    if (heading) {
      const text = lines
        .slice(i + 1)
        .find(l => l.trim() !== "")!
        .trim()
      out.push({ name: heading[1]!, view: section === "Views", text, columns: [] })
    }
    const row = /^\| `([a-z_]+)` \| [^|]+ \| (.+) \|$/.exec(line)
    if (row && out.length > 0) out.at(-1)!.columns.push([row[1]!, row[2]!])
  })
  return out
}

const asReader = <A>(f: (tx: postgres.TransactionSql) => Promise<A>) =>
  Effect.flatMap(Sql, sql =>
    Effect.tryPromise(() =>
      sql.begin(async tx => {
        await tx`set local role cliq_mirror_reader`
        return f(tx)
      })
    )
  )

const refusedForReader = (statement: string) =>
  Effect.map(Effect.either(asReader(tx => tx.unsafe(statement))), result => {
    assert.isTrue(result._tag === "Left", `${statement} must be refused`)
    if (result._tag === "Left") assert.include(String(result.left.error), "permission denied")
  })

layer(SqlLive, { timeout: "2 minutes", excludeTestServices: true })("analytics views", it => {
  it.effect("chats_current: the chats not removed, with creator, last message and flags as columns", () =>
    Effect.gen(function* () {
      const current = yield* rows(
        `select account_id, chat_id, creator_name, last_message_id, last_message_sender, last_message_text,
           last_message_type, unread, pinned, muted from chats_current order by account_id, chat_id`
      )
      assert.deepStrictEqual(current, [
        {
          account_id: "a1",
          chat_id: "c1",
          creator_name: "Ann",
          last_message_id: "m1",
          last_message_sender: "u2",
          last_message_text: "ship it",
          last_message_type: "text",
          unread: true,
          pinned: true,
          muted: false
        },
        ...[
          ["a1", "c2", "Bob", false, false],
          ["a1", "c3", "Ann", true, true],
          ["a1", "c5", "Ann", false, false],
          ["a2", "c1", "Ann", true, false]
        ].map(([account_id, chat_id, creator_name, unread, muted]) => ({
          account_id,
          chat_id,
          creator_name,
          last_message_id: null,
          last_message_sender: null,
          last_message_text: null,
          last_message_type: null,
          unread,
          pinned: false,
          muted
        }))
      ])
    })
  )

  it.effect("unread_by_chat_type: counts per account and type, removed chats left out", () =>
    Effect.gen(function* () {
      const unread = yield* rows(
        `select account_id, chat_type, chats, unread_chats, unread_messages, muted_unread_chats, oldest_unread_time
         from unread_by_chat_type order by account_id, chat_type`
      )
      assert.deepStrictEqual(unread, [
        {
          account_id: "a1",
          chat_type: "direct_message",
          chats: 2,
          unread_chats: 1,
          unread_messages: 5,
          muted_unread_chats: 1,
          oldest_unread_time: "2026-10-30T08:00:00.000Z"
        },
        {
          account_id: "a1",
          chat_type: "group_chat",
          chats: 2,
          unread_chats: 1,
          unread_messages: 3,
          muted_unread_chats: 0,
          oldest_unread_time: "2026-11-02T09:00:00.000Z"
        },
        {
          account_id: "a2",
          chat_type: "group_chat",
          chats: 1,
          unread_chats: 1,
          unread_messages: 2,
          muted_unread_chats: 0,
          oldest_unread_time: "2026-11-04T00:00:00.000Z"
        }
      ])
    })
  )

  it.effect("activity_per_day: events and distinct chats per UTC day of the change and type", () =>
    Effect.gen(function* () {
      const activity = yield* rows(
        `select account_id, day::text, type, events, chats from activity_per_day order by account_id, day, type`
      )
      assert.deepStrictEqual(
        activity.map(r => [r.account_id, r.day, r.type, r.events, r.chats]),
        [
          ["a1", "2026-11-01", "ChatRenamed", 1, 1],
          ["a1", "2026-11-01", "LastMessageChanged", 3, 2],
          ["a1", "2026-11-02", "ChatRenamed", 1, 1],
          ["a1", "2026-11-02", "CommandRequested", 1, 0],
          // 23:30 at -02:00 is 01:30 UTC the next day.
          ["a1", "2026-11-02", "LastMessageChanged", 2, 2],
          // No upstream time: the day it was recorded.
          ["a1", "2026-11-03", "ChatRenamed", 1, 1],
          ["a2", "2026-11-01", "ChatRenamed", 1, 1],
          ["a2", "2026-11-01", "LastMessageChanged", 1, 1]
        ]
      )
    })
  )

  it.effect("chat_renames: every ChatRenamed event, in log order", () =>
    Effect.gen(function* () {
      const renames = yield* rows(
        `select account_id, chat_id, old_title, new_title, renamed_at from chat_renames order by account_id, seq`
      )
      assert.deepStrictEqual(
        renames.map(r => [r.account_id, r.chat_id, r.old_title, r.new_title, r.renamed_at]),
        [
          ["a1", "c1", "A", "B", "2026-11-01T10:00:00.000Z"],
          ["a1", "c1", "B", "Roadmap", "2026-11-02T23:59:59.999Z"],
          ["a1", "c2", "X", "Ops", "2026-11-03T00:00:00.000Z"],
          ["a2", "c1", "R", "Roadmap", "2026-11-01T01:00:00.000Z"]
        ]
      )
    })
  )

  it.effect("chat_member_counts and stale_member_lists: mirrored members against the participant count", () =>
    Effect.gen(function* () {
      const counts = yield* rows(
        `select account_id, chat_id, participant_count, members_mirrored, stale_reason, stale
         from chat_member_counts order by account_id, chat_id`
      )
      assert.deepStrictEqual(
        counts.map(r => [r.account_id, r.chat_id, r.participant_count, r.members_mirrored, r.stale_reason, r.stale]),
        [
          ["a1", "c1", 3, 3, null, false],
          ["a1", "c2", 4, 2, "count_differs", true],
          ["a1", "c3", 2, 0, "never_fetched", true],
          // No participant count to compare with: a fetched list is taken as current.
          ["a1", "c5", null, 1, null, false],
          ["a2", "c1", 2, 2, null, false]
        ]
      )
      const stale = yield* rows(
        `select chat_id, stale_reason, fetched_age = now() - members_fetched_at as age_right, fetched_age is null as never
         from stale_member_lists order by account_id, chat_id`
      )
      assert.deepStrictEqual(stale, [
        { chat_id: "c2", stale_reason: "count_differs", age_right: true, never: false },
        { chat_id: "c3", stale_reason: "never_fetched", age_right: null, never: true }
      ])
    })
  )

  it.effect("command_outcomes_per_day: outcomes per UTC intake day and type", () =>
    Effect.gen(function* () {
      const outcomes = yield* rows(
        `select account_id, day::text, type, commands, succeeded, coalesced, failed, cancelled, pending, attempts,
           operator_retries, extract(epoch from mean_time_to_success)::float8 as mean_seconds
         from command_outcomes_per_day order by account_id, day, type`
      )
      assert.deepStrictEqual(outcomes, [
        {
          account_id: "a1",
          day: "2026-11-01",
          type: "mark_as_read",
          commands: 3,
          succeeded: 2,
          coalesced: 1,
          failed: 1,
          cancelled: 0,
          pending: 0,
          attempts: 7,
          operator_retries: 1,
          mean_seconds: 3
        },
        {
          account_id: "a1",
          day: "2026-11-01",
          type: "update_title",
          commands: 1,
          succeeded: 1,
          coalesced: 0,
          failed: 0,
          cancelled: 0,
          pending: 0,
          attempts: 2,
          operator_retries: 0,
          mean_seconds: 60
        },
        {
          account_id: "a1",
          day: "2026-11-02",
          type: "mark_as_read",
          commands: 4,
          succeeded: 0,
          coalesced: 0,
          failed: 0,
          cancelled: 1,
          pending: 3,
          attempts: 1,
          operator_retries: 0,
          mean_seconds: null
        },
        {
          account_id: "a2",
          day: "2026-11-01",
          type: "mute_chat",
          commands: 1,
          succeeded: 1,
          coalesced: 0,
          failed: 0,
          cancelled: 0,
          pending: 0,
          attempts: 1,
          operator_retries: 0,
          mean_seconds: 1
        }
      ])
    })
  )

  it.effect("sync_health: one row per account summing its streams", () =>
    Effect.gen(function* () {
      const health = yield* rows(
        `select account_id, streams, failing_streams, failing_stream_names, max_consecutive_failures,
           least_recent_success_at, least_recent_success_age = now() - least_recent_success_at as age_right,
           last_run_at, incremental_high_water, last_error, chats_observed, events_appended, healthy
         from sync_health order by account_id`
      )
      assert.deepStrictEqual(health, [
        {
          account_id: "a1",
          streams: 3,
          failing_streams: 2,
          failing_stream_names: ["members", "state:muted"],
          max_consecutive_failures: 2,
          least_recent_success_at: "2026-11-30T00:00:00.000Z",
          age_right: true,
          last_run_at: "2026-12-06T10:00:00.000Z",
          incremental_high_water: new Date(1796601600123).toISOString(),
          last_error: {
            code: "rate_limited",
            message: "locked",
            at: "2026-12-06T09:30:00.000Z",
            stream: "state:muted"
          },
          chats_observed: 110,
          events_appended: 155,
          healthy: false
        },
        {
          account_id: "a2",
          streams: 1,
          failing_streams: 0,
          failing_stream_names: null,
          max_consecutive_failures: 0,
          least_recent_success_at: "2026-12-06T10:00:00.000Z",
          age_right: true,
          last_run_at: "2026-12-06T10:00:00.000Z",
          incremental_high_water: new Date(1796601600000).toISOString(),
          last_error: null,
          chats_observed: 1,
          events_appended: 2,
          healthy: true
        }
      ])
    })
  )

  it.effect("cliq_mirror_reader reads every table and view, and cannot write", () =>
    Effect.gen(function* () {
      const relations = yield* rows(
        `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'v', 'p') order by 1`
      )
      assert.includeMembers(
        relations.map(r => r.relname),
        documented().map(d => d.name)
      )
      const counts = yield* asReader(async tx => {
        const out: Record<string, number> = {}
        for (const { relname } of relations) {
          const [row] = await tx.unsafe(`select count(*)::int as n from "${String(relname)}"`)
          out[String(relname)] = Number(row!.n)
        }
        return out
      })
      assert.strictEqual(counts.chats_current, 5)
      assert.strictEqual(counts.commands, 9)
      // The operational tables are granted too (leases, locks, credential state, batches, backfill progress).
      assert.includeMembers(Object.keys(counts), [
        "account_credentials",
        "account_leases",
        "lease_owners",
        "bucket_locks",
        "budget_starts",
        "backfill_progress",
        "batches"
      ])
      // What the role reads holds no credential: no column of any readable relation is named like one.
      const secretLike = yield* rows(
        `select c.relname || '.' || a.attname as col from pg_attribute a
         join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'v', 'p') and a.attnum > 0 and not a.attisdropped
           and a.attname ~* '(token|secret|password|api_key)'`
      )
      assert.deepStrictEqual(secretLike, [])

      yield* refusedForReader(`insert into accounts (id) values ('intruder')`)
      yield* refusedForReader(`update chats set name = 'x'`)
      yield* refusedForReader(`delete from events`)
      yield* refusedForReader(`truncate commands`)
      yield* refusedForReader(`create table reader_owned (id int)`)
      const [after] = yield* rows(`select count(*) as n from accounts where id = 'intruder'`)
      assert.strictEqual(after!.n, 0)
    })
  )

  it.effect("tables a later migration creates are readable by cliq_mirror_reader too", () =>
    Effect.gen(function* () {
      yield* query(`create table analytics_later (id int)`)
      yield* Effect.gen(function* () {
        yield* query(`insert into analytics_later values (1), (2)`)
        const [row] = yield* asReader(tx => tx`select count(*)::int as n from analytics_later`)
        assert.strictEqual(row!.n, 2)
      }).pipe(Effect.ensuring(query(`drop table analytics_later`)))
    })
  )

  it.effect(
    "docs/schema.md and the database's COMMENTs say the same, for every table and view, column for column",
    () =>
      Effect.gen(function* () {
        // The list comes from the database: a table or view a migration adds without documenting it fails here.
        const relations = yield* rows(
          `select c.relname as name, c.relkind = 'v' as view from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'v', 'p', 'm', 'f') order by 1`
        )
        const docs = new Map(documented().map(d => [d.name, d]))
        assert.deepStrictEqual(
          relations.filter(r => !docs.has(String(r.name))).map(r => r.name),
          [],
          "tables and views of the database that docs/schema.md does not describe"
        )
        assert.deepStrictEqual(
          [...docs.keys()].filter(name => !relations.some(r => r.name === name)),
          [],
          "relations docs/schema.md describes that the database does not have"
        )
        for (const { name, view } of relations) {
          const relation = docs.get(String(name))!
          assert.strictEqual(relation.view, view, `${relation.name}: described under the wrong heading`)
          const [described] = yield* rows(`select obj_description($1::regclass, 'pg_class') as text`, [
            `public."${relation.name}"`
          ])
          assert.strictEqual(described!.text, relation.text, relation.name)
          const columns = yield* rows(
            `select a.attname as name, col_description(a.attrelid, a.attnum) as text from pg_attribute a
           where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
            [`public."${relation.name}"`]
          )
          const inDatabase = new Map(columns.map(c => [String(c.name), c.text]))
          for (const [column, text] of relation.columns) {
            assert.strictEqual(inDatabase.get(column), text, `${relation.name}.${column}`)
          }
          // Every column is documented (a later migration may add one anywhere, so order aside).
          assert.deepStrictEqual(
            relation.columns.map(([column]) => column).sort(),
            columns.map(c => String(c.name)).sort(),
            relation.name
          )
        }
      })
  )

  it.effect("the migration can run again over itself (clones, repeated runs)", () =>
    Effect.gen(function* () {
      const file = readFileSync(new URL("../../migrations/0006_analytics.sql", import.meta.url), "utf8")
      for (const statement of file.split("--> statement-breakpoint")) {
        if (statement.trim() !== "") yield* query(statement)
      }
      const [row] = yield* rows(`select count(*) as n from chats_current`)
      assert.strictEqual(row!.n, 5)
    })
  )
})
