import { CommandsRepo, IdempotencyConflict } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { incrementalPass } from "../../apps/daemon/src/Sync/Incremental.js"
import type { ChatTruth } from "../../apps/simulator/src/index.js"
import { Simulator, sql, syncHarness } from "../sync/harness.js"
import { visibleTruth } from "../sync/truth.js"
import { command, settled, submit, WorkerLive } from "./harness.js"

const groupsOf = Effect.map(Simulator, sim =>
  visibleTruth(sim).filter(
    t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed && t.lastMessage !== null
  )
)

const strangers = (sim: Simulator["Type"], participants: ReadonlyArray<string>) =>
  sim.state
    .people()
    .filter(p => p.active && !p.guest && !p.account && !participants.includes(p.userId))
    .map(p => p.userId)

layer(syncHarness({ chats: 6000, users: 3, seed: 21 }, {}, WorkerLive), {
  timeout: "120 seconds",
  excludeTestServices: true
})("command worker", it => {
  it.effect("carries out every command type, upstream and in the mirror", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const [account] = (yield* Accounts).all
      yield* incrementalPass(account!, 2000)
      const g = yield* groupsOf
      const read = g[0]!
      const unread = g[1]!
      const clearedA = g[2]!
      const clearedB = g[3]!
      const renamed = g[4]!
      const historyOff = g[5]!
      const historyCleared = g[6]!
      const closed = g[7]!
      const grown = g[8]!
      const shrunk = g[9]!
      const forkSource = g[10]!
      const left = g[11]!
      const muted = g[12]!
      const unmuted = g[13]!
      const dmTarget = strangers(sim, [])[0]!
      const me = sim.state.accounts()[0]!.userId
      const toAdd = strangers(sim, grown.participantIds).slice(0, 2)
      const toRemove = shrunk.participantIds.filter(id => id !== me && id !== shrunk.creatorId).slice(0, 1)
      const groupMembers = strangers(sim, []).slice(1, 4)
      const forkedFrom = sim.state.chat(forkSource.chatId)!
      const dmsBefore = sim.state.chats().filter(t => t.chatType === "direct_message").length
      const commands = yield* submit(
        { type: "mark_as_read", chat_id: read.chatId, last_message_id: read.lastMessage!.messageId },
        { type: "mark_as_unread", chat_id: unread.chatId, message_id: unread.lastMessage!.messageId },
        { type: "clear_unread", chat_ids: [clearedA.chatId, clearedB.chatId] },
        { type: "update_title", chat_id: renamed.chatId, title: "Renamed through the queue" },
        { type: "update_history_status", chat_id: historyOff.chatId, history_status: "disabled" },
        { type: "clear_local_history", chat_id: historyCleared.chatId },
        { type: "close_chat", chat_id: closed.chatId },
        { type: "add_members", chat_id: grown.chatId, user_ids: toAdd },
        { type: "remove_members", chat_id: shrunk.chatId, user_ids: toRemove },
        { type: "create_chat", chat_type: "group_chat", user_ids: groupMembers, title: "Queue-made" },
        { type: "create_chat", chat_type: "direct_message", user_id: dmTarget },
        {
          type: "fork_chat",
          chat_id: forkSource.chatId,
          message_id: forkSource.lastMessage!.messageId,
          title: "Forked",
          include_participants: true
        },
        { type: "leave_chat", chat_id: left.chatId },
        { type: "mute_chat", chat_id: muted.chatId },
        { type: "unmute_chat", chat_id: unmuted.chatId }
      )
      const done = yield* settled(commands)
      for (const c of done) assert.strictEqual(c.status, "succeeded", `${c.type}: ${JSON.stringify(c.lastError)}`)

      const truth = (chat: ChatTruth) => sim.state.chat(chat.chatId)!
      const mine = (chat: ChatTruth) => truth(chat).users.find(u => u.userIndex === 0)!
      assert.strictEqual(mine(read).unreadCount, 0)
      assert.isAbove(mine(unread).unreadCount, 0)
      assert.strictEqual(mine(clearedA).unreadCount + mine(clearedB).unreadCount, 0)
      assert.strictEqual(truth(renamed).title, "Renamed through the queue")
      assert.isFalse(truth(historyOff).historyEnabled)
      assert.isNotNull(mine(historyCleared).clearedAtMs)
      assert.isTrue(mine(closed).closed)
      assert.lengthOf(toAdd, 2)
      assert.includeMembers([...truth(grown).participantIds], toAdd)
      assert.lengthOf(toRemove, 1)
      assert.notInclude([...truth(shrunk).participantIds], toRemove[0]!)
      assert.isTrue(mine(left).removed)
      assert.isTrue(mine(muted).muted)
      assert.isFalse(mine(unmuted).muted)
      const made = sim.state.chats().filter(t => t.title === "Queue-made")
      assert.strictEqual(made.length, 1)
      assert.sameMembers([...made[0]!.participantIds], [...new Set([me, ...groupMembers])])
      // A direct message that exists already is returned as it is: exactly one between the two, whoever made it.
      const dm = sim.state
        .chats()
        .filter(
          t => t.chatType === "direct_message" && t.participantIds.includes(dmTarget) && t.participantIds.includes(me)
        )
      assert.strictEqual(dm.length, 1)
      assert.isAtMost(sim.state.chats().filter(t => t.chatType === "direct_message").length, dmsBefore + 1)
      const dmCommand = done.find(c => c.type === "create_chat" && c.params.chat_type === "direct_message")!
      assert.strictEqual(dmCommand.result!.chat_id, dm[0]!.chatId)
      const forks = sim.state.chats().filter(t => t.title === "Forked")
      assert.strictEqual(forks.length, 1)
      assert.sameMembers([...forks[0]!.participantIds], [...new Set([me, ...forkedFrom.participantIds])])
      const resultOf = (type: string) => done.find(c => c.type === type)!.result
      assert.strictEqual(resultOf("fork_chat")!.chat_id, forks[0]!.chatId)
      const groupCommand = done.find(c => c.type === "create_chat" && c.params.chat_type === "group_chat")!
      assert.strictEqual(groupCommand.result!.chat_id, made[0]!.chatId)

      // the mirror shows the effects at once, through events
      const mirror = yield* sql(
        s => s<Array<{ chat_id: string; name: string; muted: boolean; closed: boolean; removed: boolean }>>`
          select chat_id, name, muted, closed, removed from chats`
      )
      const row = (chat: ChatTruth) => mirror.find(r => r.chat_id === chat.chatId)!
      assert.strictEqual(row(renamed).name, "Renamed through the queue")
      assert.isTrue(row(closed).closed)
      assert.isTrue(row(left).removed)
      assert.isTrue(row(muted).muted)
      assert.isTrue(mirror.some(r => r.name === "Queue-made"))
      const types = yield* sql(
        s => s<Array<{ type: string; n: number }>>`
        select type, count(*)::int as n from events where type like 'Command%' group by type`
      )
      const count = Object.fromEntries(types.map(t => [t.type, t.n]))
      assert.strictEqual(count.CommandRequested, commands.length)
      assert.strictEqual(count.CommandSucceeded, commands.length)
      const effects = yield* sql(
        s => s<Array<{ type: string; chat_id: string }>>`
          select type, chat_id from events
          where type in ('ChatMarkedUnread', 'ChatHistoryStatusChanged', 'ChatLocalHistoryCleared', 'MembersChanged')`
      )
      const effectOn = (type: string, i: number) => effects.some(e => e.type === type && e.chat_id === g[i]!.chatId)
      assert.isTrue(effectOn("ChatMarkedUnread", 1))
      assert.isTrue(effectOn("ChatHistoryStatusChanged", 5))
      assert.isTrue(effectOn("ChatLocalHistoryCleared", 6))
      assert.isTrue(effectOn("MembersChanged", 8))
      assert.isTrue(effectOn("MembersChanged", 9))
      assert.strictEqual(sim.state.violations().length, 0)
    })
  )

  it.effect("drains 1,000 mark_as_read in at most 20 upstream requests, each command settled on its own", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const g = (yield* groupsOf).slice(20, 270)
      const since = sim.state.requests().at(-1)?.seq ?? 0
      const bodies = Array.from({ length: 1000 }, (_, i) => {
        const chat = g[i % g.length]!
        return { type: "mark_as_read", chat_id: chat.chatId, last_message_id: chat.lastMessage!.messageId }
      })
      const commands = yield* submit(...bodies)
      const done = yield* settled(commands)
      assert.isTrue(done.every(c => c.status === "succeeded"))
      const calls = sim.state.requests(since).filter(r => r.operationId === "bulkReadStatusUpdate")
      assert.isAtMost(calls.length, 20)
      assert.isAtLeast(calls.length, 3)
      assert.isAbove(done.filter(c => c.supersededBy !== null).length, 900)
      for (const t of g)
        assert.strictEqual(sim.state.chat(t.chatId)!.users.find(u => u.userIndex === 0)!.unreadCount, 0)
      assert.strictEqual(sim.state.violations().length, 0)
    })
  )

  it.effect("keeps intake order per chat, coalescing only leading runs", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const chat = (yield* groupsOf)[300]!
      const id = chat.chatId
      const msg = chat.lastMessage!.messageId
      const since = sim.state.requests().at(-1)?.seq ?? 0
      const commands = yield* submit(
        { type: "update_title", chat_id: id, title: "first" },
        { type: "update_title", chat_id: id, title: "second" },
        { type: "mark_as_read", chat_id: id, last_message_id: msg },
        { type: "mark_as_unread", chat_id: id, message_id: msg },
        { type: "mute_chat", chat_id: id },
        { type: "unmute_chat", chat_id: id },
        { type: "update_title", chat_id: id, title: "third" }
      )
      const done = yield* settled(commands)
      assert.isTrue(done.every(c => c.status === "succeeded"))
      const [first, second, , , mute, unmute] = done
      assert.strictEqual(first!.supersededBy, second!.id)
      assert.strictEqual(mute!.supersededBy, unmute!.id)
      const ops = sim.state
        .requests(since)
        .filter(r => r.path.includes(id) || r.operationId === "bulkReadStatusUpdate")
        .map(r => r.operationId)
      assert.deepStrictEqual(ops, ["updateTitle", "bulkReadStatusUpdate", "markAsUnread", "unmuteChat", "updateTitle"])
      const truth = sim.state.chat(id)!
      assert.strictEqual(truth.title, "third")
      assert.isFalse(truth.users.find(u => u.userIndex === 0)!.muted)
      assert.isAbove(truth.users.find(u => u.userIndex === 0)!.unreadCount, 0)
    })
  )

  it.effect("a throttle answer locks only its bucket; its commands wait and then succeed", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const g = (yield* groupsOf).slice(310, 330)
      sim.state.injectFault({ operation: "updateTitle", kind: "throttle", count: 1 })
      const since = sim.state.requests().at(-1)?.seq ?? 0
      const titles = yield* submit(
        ...g.slice(0, 5).map((t, i) => ({ type: "update_title", chat_id: t.chatId, title: `T${i}` }))
      )
      const mutes = yield* submit(...g.slice(5, 10).map(t => ({ type: "mute_chat", chat_id: t.chatId })))
      // The throttled title waits for the lock to end, visibly: waiting_rate_limit with an eta.
      const repo = yield* CommandsRepo
      while (true) {
        const pending = yield* Effect.forEach(titles, c => repo.get(c.id))
        if (pending.some(c => c!.status === "waiting_rate_limit" && c!.eta !== null)) break
        assert.isFalse(
          pending.every(c => c!.status === "succeeded"),
          "every title succeeded without waiting for the lock"
        )
        yield* Effect.sleep("20 millis")
      }
      const mutesDone = yield* settled(mutes)
      assert.isTrue(mutesDone.every(c => c.status === "succeeded"))
      const titlesDone = yield* settled(titles)
      assert.isTrue(titlesDone.every(c => c.status === "succeeded"))
      const log = sim.state.requests(since)
      const throttled = log.find(r => r.outcome === "fault:throttle")!
      // Calls granted before the 429 was read may land just after it (the simulator shares this test's process, so on
      // a loaded machine its clock reads them late): at most one per other title, within a second. None is sent later
      // during the lock (10 minutes at time scale 0.01), and the bucket is used again once it ends.
      const titleCalls = log.filter(r => r.operationId === "updateTitle" && r.seq > throttled.seq)
      const inFlight = titleCalls.filter(r => r.atMs <= throttled.atMs + 1_000)
      assert.isAtMost(inFlight.length, titles.length - 1)
      const duringLock = titleCalls.filter(r => r.atMs > throttled.atMs + 1_000 && r.atMs < throttled.atMs + 6_000 - 50)
      assert.deepStrictEqual(duringLock, [])
      const afterLock = titleCalls.filter(r => r.atMs >= throttled.atMs + 6_000 - 50)
      assert.isNotEmpty(afterLock)
      assert.isTrue(log.some(r => r.operationId === "muteChat" && r.atMs < afterLock[0]!.atMs))
      assert.strictEqual(sim.state.violations().length, 0)
    })
  )

  it.effect("retries what may succeed, fails what cannot, and never creates a chat twice", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const [toClose, toMute] = (yield* groupsOf).slice(340, 342)
      const channel = visibleTruth(sim).find(t => t.chatType === "channel" && !t.users[0]!.removed)!
      sim.state.injectFault({ operation: "closeChat", kind: "error_code", code: "chat_operation_failed", count: 2 })
      sim.state.injectFault({ operation: "muteChat", kind: "status", status: 500, count: 50 })
      sim.state.injectFault({ operation: "createChat", kind: "reset", when: "after_effect", count: 1 })
      const [close, rename, mute, create] = yield* submit(
        { type: "close_chat", chat_id: toClose!.chatId },
        { type: "update_title", chat_id: channel.chatId, title: "Channels cannot be renamed here" },
        { type: "mute_chat", chat_id: toMute!.chatId },
        {
          type: "create_chat",
          chat_type: "group_chat",
          user_ids: strangers(sim, []).slice(4, 7),
          title: "Exactly once"
        }
      )
      const [c, r, m, k] = yield* settled([close!, rename!, mute!, create!], "90 seconds")
      assert.strictEqual(c!.status, "succeeded")
      assert.strictEqual(c!.attempts, 3)
      assert.strictEqual(r!.status, "failed")
      assert.strictEqual(r!.lastError!.code, "channel_title_update_not_supported")
      assert.strictEqual(m!.status, "failed")
      assert.strictEqual(m!.attempts, 6)
      assert.strictEqual(k!.status, "succeeded")
      assert.strictEqual(k!.result!.verified, true)
      assert.strictEqual(sim.state.chats().filter(t => t.title === "Exactly once").length, 1)
      sim.state.clearFaults()
    })
  )

  it.effect("a repeated idempotency key returns the first command; a different body conflicts", () =>
    Effect.gen(function* () {
      const closed = (yield* groupsOf)[370]!
      const body = { type: "close_chat", chat_id: closed.chatId, idempotency_key: "close-370" }
      const [first] = yield* submit(body)
      const repo = yield* CommandsRepo
      const again = yield* repo.intake([command(body)], "default")
      assert.strictEqual(again[0]!.command.id, first!.id)
      assert.isTrue(again[0]!.replayed)
      const conflict = yield* repo.intake([command({ ...body, type: "mute_chat" })], "default").pipe(Effect.flip)
      assert.instanceOf(conflict, IdempotencyConflict)
      yield* settled([first!])
    })
  )
})
