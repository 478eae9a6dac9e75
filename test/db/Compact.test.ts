import { EventsFeed, replayProjections } from "@cliq-mirror/db"
import { compactEvents } from "@cliq-mirror/db/Compact"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { incrementalPass } from "../../apps/daemon/src/Sync/Incremental.js"
import { membersPass } from "../../apps/daemon/src/Sync/Members.js"
import { reconcilePass } from "../../apps/daemon/src/Sync/Reconciliation.js"
import { statePass } from "../../apps/daemon/src/Sync/StateFlags.js"
import { Simulator, sql, syncHarness } from "../sync/harness.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "../sync/truth.js"

const OVERLAP = 2000
const account = Effect.map(Accounts, a => a.all[0]!)

/** The projections as a reader sees them; `last_seq` (which event wrote the row) and the bookkeeping columns aside. */
const projections = sql(async s => ({
  chats: await s`
    select * from chats order by account_id, chat_id`.then(rows =>
    rows.map(({ last_seq: _l, synced_at: _s, members_fetched_at: _m, ...rest }) => rest)
  ),
  members: await s`select * from chat_members order by account_id, chat_id, user_id`
}))

const counts = sql(s =>
  s<Array<{ chat: number; other: number; snapshots: number; max_seq: number }>>`
    select count(*) filter (where type not in ('CommandRequested', 'CommandSucceeded', 'CommandFailed',
      'CommandRetried', 'CommandCancelled', 'UpstreamItemRejected'))::int as chat,
      count(*) filter (where type in ('CommandRequested', 'CommandSucceeded', 'CommandFailed',
      'CommandRetried', 'CommandCancelled', 'UpstreamItemRejected'))::int as other,
      count(*) filter (where type = 'ChatSnapshotted')::int as snapshots,
      coalesce(max(seq), 0)::int as max_seq
    from events`.then(r => r[0]!)
)

/** Messages, renames, pins, mutes and closes on `n` chats, then every pass that observes them. */
const activity = (round: number, n: number) =>
  Effect.gen(function* () {
    const sim = yield* Simulator
    const acc = yield* account
    const groups = visibleTruth(sim).filter(
      t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed
    )
    const some = groups.slice(round * 3, round * 3 + n)
    sim.state.postMessages({ chatIds: some.map(t => t.chatId), atMs: sim.state.now() })
    for (const [i, t] of some.entries()) {
      if (i % 2 === 0) sim.state.renameChat(t.chatId, `round ${round} chat ${i}`)
      if (i % 3 === 0) sim.state.setUserState(t.chatId, { userIndex: 0, pinned: !t.users[0]!.pinned })
      if (i % 4 === 0) sim.state.setUserState(t.chatId, { userIndex: 0, muted: !t.users[0]!.muted })
      if (i % 5 === 4) sim.state.setUserState(t.chatId, { userIndex: 0, closed: true })
    }
    yield* incrementalPass(acc, OVERLAP)
    yield* statePass(acc)
    yield* membersPass(acc)
  })

const mirrorMatchesTruth = Effect.gen(function* () {
  const sim = yield* Simulator
  const rows = yield* sql(async s => (await s.unsafe(MIRROR_ROW_SQL)).map(normalise))
  const byId = new Map(rows.map(r => [r.chat_id as string, r]))
  for (const t of visibleTruth(sim)) assert.deepStrictEqual(byId.get(t.chatId), expectedRow(t), `chat ${t.chatId}`)
})

layer(syncHarness({ chats: 400, users: 3, seed: 23 }), { timeout: "240 seconds", excludeTestServices: true })(
  "event-log compaction",
  it => {
    it.effect("replaces old chat events by snapshots; replay rebuilds the same mirror; syncing goes on", () =>
      Effect.gen(function* () {
        const acc = yield* account
        yield* incrementalPass(acc, OVERLAP)
        yield* statePass(acc)
        yield* membersPass(acc)
        for (const round of [1, 2, 3]) yield* activity(round, 40)
        yield* Effect.sleep("20 millis")
        const cutoff = new Date()
        yield* Effect.sleep("20 millis")
        yield* activity(4, 20)

        const before = yield* projections
        const countsBefore = yield* counts
        const oldCursor = (yield* sql(s => s<Array<{ seq: number }>>`select min(seq)::int as seq from events`))[0]!.seq
        assert.isAbove(before.members.length, 0, "members were mirrored")

        const dry = yield* sql(s => compactEvents(s, { before: cutoff, chunk: 50, dryRun: true }))
        assert.deepStrictEqual(yield* counts, countsBefore, "a dry run writes nothing")
        assert.isAbove(dry.chatsCompacted, 100)

        const report = yield* sql(s => compactEvents(s, { before: cutoff, chunk: 50, dryRun: false }))
        assert.deepStrictEqual(report, { ...dry, snapshotsAppended: dry.chatsCompacted })
        const countsAfter = yield* counts
        assert.strictEqual(countsAfter.chat, countsBefore.chat - report.eventsDeleted + report.snapshotsAppended)
        assert.isBelow(countsAfter.chat, countsBefore.chat / 2, "the log shrank")
        assert.strictEqual(countsAfter.other, countsBefore.other, "command and rejection events are kept")
        assert.strictEqual(countsAfter.snapshots, report.chatsCompacted)
        const leftOld = yield* sql(
          s => s<Array<{ chat_id: string }>>`
          select chat_id from events where recorded_at < ${cutoff.toISOString()}::timestamptz
            and type <> 'ChatSnapshotted' and chat_id is not null
          group by chat_id having count(*) > 1`
        )
        assert.deepStrictEqual([...leftOld], [], "no chat keeps two events older than the cutoff")

        assert.deepStrictEqual(yield* projections, before, "compaction leaves the projections as they were")
        const check = yield* sql(s => replayProjections(s, { write: false }))
        assert.deepStrictEqual(check.differences, [])
        yield* sql(s => replayProjections(s, { write: true }))
        assert.deepStrictEqual(yield* projections, before, "a replay of the compacted log rebuilds the same mirror")

        // A reader whose cursor is below the compaction point gets every compacted chat's snapshot.
        const feed = yield* EventsFeed.pipe(
          Effect.flatMap(f => f.read({ after: oldCursor, limit: 100_000, types: ["ChatSnapshotted"] })),
          Effect.provide(EventsFeed.DefaultWithoutDependencies)
        )
        assert.strictEqual(feed.rows.length, report.chatsCompacted)
        const first = feed.rows[0]!
        assert.strictEqual(first.type, "ChatSnapshotted")
        if (first.type === "ChatSnapshotted") {
          assert.isAbove(first.payload.through_seq, oldCursor)
          assert.strictEqual(first.payload.compacted_before, cutoff.toISOString())
          assert.strictEqual(first.payload.state.chat_id, first.chatId)
        }

        // Re-reading every chat appends nothing: no compacted change comes back as new.
        yield* reconcilePass(acc)
        yield* incrementalPass(acc, OVERLAP)
        yield* statePass(acc)
        assert.strictEqual((yield* counts).chat, countsAfter.chat, "a full re-read after compaction appends nothing")

        // New changes are appended and projected as before, over compacted and untouched chats alike.
        yield* activity(5, 60)
        yield* mirrorMatchesTruth
        assert.isAbove((yield* counts).chat, countsAfter.chat)
        assert.deepStrictEqual((yield* sql(s => replayProjections(s, { write: false }))).differences, [])
        const duplicates = yield* sql(s => s`select event_id from events group by event_id having count(*) > 1`)
        assert.deepStrictEqual([...duplicates], [])

        // A second compaction folds the earlier snapshot in and keeps counting what the log no longer holds.
        const later = new Date()
        const again = yield* sql(s => compactEvents(s, { before: later, chunk: 500, dryRun: false }))
        assert.isAbove(again.chatsCompacted, 0)
        const totals = yield* sql(
          s => s<Array<{ compacted: number }>>`
          select coalesce(sum((payload ->> 'events_compacted')::int), 0)::int as compacted
          from events where type = 'ChatSnapshotted'`
        )
        assert.isAtLeast(totals[0]!.compacted, report.eventsDeleted)
        assert.deepStrictEqual((yield* sql(s => replayProjections(s, { write: false }))).differences, [])
        yield* mirrorMatchesTruth
      })
    )
  }
)
