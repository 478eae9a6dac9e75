import { CommandsRepo, Database } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { Credentials } from "../../apps/daemon/src/Commands/Credentials.js"
import { processCommand } from "../../apps/daemon/src/Commands/ProcessCommand.js"
import { HarnessInfo, Simulator, syncHarness } from "../sync/harness.js"
import { command } from "./harness.js"

/** One run of a command's job, as the worker makes it. */
const run = (id: string) =>
  Effect.gen(function* () {
    const info = yield* HarnessInfo
    return yield* processCommand(id).pipe(
      Effect.provide(Credentials.Default),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(info.vars))))
    )
  })

const sqlOf = Effect.map(Database, d => d.sql)

layer(syncHarness({ chats: 60, users: 1, seed: 7 }), { timeout: "120 seconds", excludeTestServices: true })(
  "the commands of one call, after it failed or its process died",
  it => {
    // A call that carried three renames of one chat (coalesced: the last title) died with its process: all three are
    // left running. Their jobs wake when the lease ends, in any order; taken over each on its own, the renames used
    // to land in that order (the chat ended titled "A"). The earliest goes first now, and each wakes the next.
    it.effect("a run of one chat's commands left running is taken over in intake order", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const repo = yield* CommandsRepo
        const sql = yield* sqlOf
        const [chat, other] = sim.state
          .chats()
          .filter(t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed)
        const accepted = yield* repo.intake(
          ["A", "B", "C"].map(title => command({ type: "update_title", chat_id: chat!.chatId, title })),
          "default"
        )
        const [c1, c2, c3] = accepted.map(a => a.command.id)
        yield* Effect.promise(
          () => sql`update commands set status = 'running', attempts = 1, lease_until = now() - interval '1 second'
            where id = any(${[c1!, c2!, c3!]}::uuid[])`
        )
        // A fresh budget counts every bucket full for one window (scaled: under a second) once it finds its state
        // missing: one command makes it look, then the window passes.
        const [warm] = yield* repo.intake(
          [command({ type: "update_title", chat_id: other!.chatId, title: "warm" })],
          "default"
        )
        yield* run(warm!.command.id)
        yield* Effect.sleep("1500 millis")
        const before = sim.state.requests().length

        // The last one's job and the middle one's wake first: both wait for the earlier commands of their chat.
        assert.strictEqual((yield* run(c3!))._tag, "Delay")
        assert.strictEqual((yield* run(c2!))._tag, "Delay")
        assert.strictEqual((yield* repo.load(c3!))?.status, "running")
        for (const id of [c1!, c2!, c3!]) assert.strictEqual((yield* run(id))._tag, "Done")

        const titles = sim.state
          .requests()
          .slice(before)
          .filter(r => r.operationId === "updateTitle")
        assert.strictEqual(titles.length, 3)
        assert.strictEqual(sim.state.chat(chat!.chatId)!.title, "C")
        for (const id of [c1!, c2!, c3!]) assert.strictEqual((yield* repo.load(id))?.status, "succeeded")
      })
    )

    // A rename kept failing during an outage (five attempts spent); a newer rename of the same chat arrived meanwhile and
    // is coalesced into the old one's call. The call fails once more: the old command has spent its attempts, the
    // new one has not and must wait for the backoff, not fail with it.
    it.effect("a failed call fails only the commands that spent their attempts; the others wait for the backoff", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const repo = yield* CommandsRepo
        const sql = yield* sqlOf
        const chats = sim.state
          .chats()
          .filter(t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.closed)
        const chat = chats[5]!
        const [warm] = yield* repo.intake(
          [command({ type: "update_title", chat_id: chats[6]!.chatId, title: "warm" })],
          "default"
        )
        yield* run(warm!.command.id)
        yield* Effect.sleep("1500 millis")
        const [old] = yield* repo.intake(
          [command({ type: "update_title", chat_id: chat.chatId, title: "old" })],
          "default"
        )
        yield* Effect.promise(() => sql`update commands set attempts = 5 where id = ${old!.command.id}::uuid`)
        const [fresh] = yield* repo.intake(
          [command({ type: "update_title", chat_id: chat.chatId, title: "new" })],
          "default"
        )
        sim.state.injectFault({ operation: "updateTitle", kind: "status", status: 503 })
        const before = sim.state.requests().length
        yield* run(old!.command.id)
        const calls = sim.state
          .requests()
          .slice(before)
          .filter(r => r.operationId === "updateTitle")
        assert.strictEqual(calls.length, 1, "one call carried both")
        const oldRow = yield* repo.load(old!.command.id)
        const freshRow = yield* repo.load(fresh!.command.id)
        assert.strictEqual(oldRow?.status, "failed")
        assert.strictEqual(freshRow?.status, "queued")
        assert.strictEqual(freshRow?.attempts, 1)
        assert.isAbove(freshRow?.eta?.getTime() ?? 0, Date.now() - 1_000)
      })
    )

    it.effect("a process that does not know the account leaves a command another process is sending alone", () =>
      Effect.gen(function* () {
        const repo = yield* CommandsRepo
        const sim = yield* Simulator
        const chat = sim.state.chats().find(t => t.chatType === "group_chat")!
        const [accepted] = yield* repo.intake([command({ type: "close_chat", chat_id: chat.chatId })], "ghost")
        // Another daemon, which knows "ghost", claimed it and is in its call.
        const [claimed] = yield* repo.claim([accepted!.command.id], 60_000)
        assert.strictEqual(claimed?.status, "running")
        assert.strictEqual((yield* run(accepted!.command.id))._tag, "Delay")
        assert.strictEqual((yield* repo.load(accepted!.command.id))?.status, "running")
      })
    )
  }
)
