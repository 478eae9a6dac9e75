import { replayProjections } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { incrementalPass } from "../../apps/daemon/src/Sync/Incremental.js"
import { reconcilePass } from "../../apps/daemon/src/Sync/Reconciliation.js"
import { statePass } from "../../apps/daemon/src/Sync/StateFlags.js"
import { Simulator, sql, syncHarness } from "./harness.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

const OVERLAP = 2000

const mirrorMatchesTruth = Effect.gen(function* () {
  const sim = yield* Simulator
  const expected = visibleTruth(sim)
    .map(t => expectedRow(t))
    .sort((a, b) => (a.chat_id < b.chat_id ? -1 : 1))
  const rows = yield* sql(async s => (await s.unsafe(MIRROR_ROW_SQL)).map(normalise))
  const byId = new Map(rows.map(r => [r.chat_id as string, r]))
  for (const e of expected) assert.deepStrictEqual(byId.get(e.chat_id), e, `chat ${e.chat_id}`)
  return { expected, rows }
})

const account = Effect.map(Accounts, a => a.all[0]!)

const eventsOf = (type: string) =>
  sql(
    s => s<Array<{ chat_id: string; payload: Record<string, unknown> }>>`
    select chat_id, payload from events where type = ${type} order by seq`
  )

layer(syncHarness({ chats: 3000, users: 3, seed: 11 }), { timeout: "120 seconds", excludeTestServices: true })(
  "incremental sync",
  it => {
    it.effect("catches a burst of 300 changes between two polls, 250 of them in one millisecond", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const acc = yield* account
        yield* incrementalPass(acc, OVERLAP)
        yield* statePass(acc)
        const active = visibleTruth(sim).filter(t => !t.users[0]!.removed && !t.users[0]!.closed)
        sim.state.postMessages({ chatIds: active.slice(0, 250).map(t => t.chatId), atMs: sim.state.now() })
        for (const t of active.slice(250, 300)) sim.state.postMessage(t.chatId)
        yield* incrementalPass(acc, OVERLAP)
        yield* mirrorMatchesTruth
        const changed = yield* eventsOf("LastMessageChanged")
        assert.strictEqual(new Set(changed.map(e => e.chat_id)).size, 300)
        assert.strictEqual(sim.state.violations().length, 0)
      })
    )

    it.effect("renames and pins within one poll; mutes, closes, drafts and joins within one state cycle", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const acc = yield* account
        const groups = visibleTruth(sim).filter(
          t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed
        )
        const [a, b, c, d, e] = groups
        sim.state.renameChat(a!.chatId, "Renamed by someone else")
        sim.state.setUserState(b!.chatId, { userIndex: 0, pinned: !b!.users[0]!.pinned })
        sim.state.setUserState(c!.chatId, { userIndex: 0, muted: !c!.users[0]!.muted })
        sim.state.setUserState(d!.chatId, { userIndex: 0, closed: true })
        sim.state.setUserState(e!.chatId, { userIndex: 0, draft: "half a sentence", joined: !e!.users[0]!.joined })
        yield* incrementalPass(acc, OVERLAP)
        const renamed = yield* eventsOf("ChatRenamed")
        assert.deepInclude(renamed.at(-1)!.payload, { new_title: "Renamed by someone else" })
        yield* statePass(acc)
        yield* mirrorMatchesTruth
        const types = yield* sql(s => s<Array<{ type: string }>>`select distinct type from events`)
        const seen = new Set(types.map(t => t.type))
        for (const type of ["ChatRenamed", "ChatClosed", "ChatDraftsChanged", "ChatJoinedChanged"]) {
          assert.isTrue(seen.has(type), type)
        }
        assert.isTrue(seen.has(c!.users[0]!.muted ? "ChatUnmuted" : "ChatMuted"))
        assert.isTrue(seen.has(b!.users[0]!.pinned ? "ChatUnpinned" : "ChatPinned"))
      })
    )

    it.effect("records removals (deleted, left) only after a complete reconciliation, and restorations", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const acc = yield* account
        const groups = visibleTruth(sim).filter(
          t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed
        )
        const deleted = groups[10]!
        const left = groups[11]!
        sim.state.deleteChat(deleted.chatId)
        sim.state.removeMembers(left.chatId, [sim.state.accounts()[0]!.userId])
        yield* incrementalPass(acc, OVERLAP)
        yield* reconcilePass(acc)
        const removed = yield* eventsOf("ChatRemoved")
        assert.sameMembers(
          removed.map(e => e.chat_id),
          [deleted.chatId, left.chatId]
        )
        const flags = yield* sql(
          s => s<Array<{ chat_id: string; removed: boolean }>>`
          select chat_id, removed from chats where chat_id in (${deleted.chatId}, ${left.chatId})`
        )
        assert.isTrue(flags.every(f => f.removed))

        sim.state.restoreChat(deleted.chatId)
        sim.state.postMessage(deleted.chatId)
        yield* incrementalPass(acc, OVERLAP)
        yield* statePass(acc)
        const restored = yield* eventsOf("ChatRestored")
        assert.deepStrictEqual(
          restored.map(e => e.chat_id),
          [deleted.chatId]
        )
        yield* mirrorMatchesTruth
        const replay = yield* sql(s => replayProjections(s, { write: false }))
        assert.deepStrictEqual(replay.differences, [])
        assert.strictEqual(sim.state.violations().length, 0)
      })
    )

    it.effect("a probe answer that does not decode is recorded and retried, never probed in a loop", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const acc = yield* account
        const victim = visibleTruth(sim).filter(
          t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed
        )[20]!
        sim.state.deleteChat(victim.chatId)
        sim.state.injectFault({ operation: "getChat", kind: "wrong_shape", count: 1_000 })
        yield* reconcilePass(acc).pipe(Effect.timeout("30 seconds"))
        const rejected = yield* sql(s => s<Array<{ chat_id: string }>>`select chat_id from rejected_items`)
        assert.include(
          rejected.map(r => r.chat_id),
          victim.chatId
        )
        const rejectedEvents = yield* eventsOf("UpstreamItemRejected")
        assert.include(
          rejectedEvents.map(e => e.chat_id),
          victim.chatId
        )
        sim.state.clearFaults()
        yield* reconcilePass(acc)
        const row = yield* sql(
          s => s<Array<{ removed: boolean }>>`select removed from chats where chat_id = ${victim.chatId}`
        )
        assert.isTrue(row[0]!.removed)
      })
    )
  }
)
