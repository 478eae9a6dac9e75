import { replayProjections } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { incrementalPass } from "../../apps/daemon/src/Sync/Incremental.js"
import { statePass } from "../../apps/daemon/src/Sync/StateFlags.js"
import { Simulator, sql, syncHarness } from "./harness.js"
import { expectedRow, MIRROR_ROW_SQL, normalise, visibleTruth } from "./truth.js"

const mirrorRows = sql(async s => (await s.unsafe(MIRROR_ROW_SQL)).map(normalise))

layer(syncHarness({ chats: 5000, users: 3, seed: 7 }), { timeout: "120 seconds", excludeTestServices: true })(
  "initial sync",
  it => {
    it.effect("mirrors 5,000 chats, many in one second, equal to the simulator's truth field by field", () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const [account] = (yield* Accounts).all
        // 400 chats whose last activity shares one millisecond (a search page holds 500)
        const burst = visibleTruth(sim)
          .filter(t => !t.users[0]?.removed)
          .slice(0, 400)
          .map(t => t.chatId)
        sim.state.postMessages({ chatIds: burst, atMs: sim.state.now() })

        const walk = yield* incrementalPass(account!, 2000)
        yield* statePass(account!)
        assert.strictEqual(walk.overflows, 0)

        const expected = visibleTruth(sim)
          .map(t => expectedRow(t))
          .sort((a, b) => (a.chat_id < b.chat_id ? -1 : 1))
        const rows = yield* mirrorRows
        assert.strictEqual(rows.length, expected.length)
        assert.isAbove(expected.length, 1500)
        for (let i = 0; i < expected.length; i++) assert.deepStrictEqual(rows[i], expected[i])

        const discovered = yield* sql(s => s`select count(*)::int as n from events where type = 'ChatDiscovered'`)
        assert.strictEqual(discovered[0]!.n, expected.length)
        const replay = yield* sql(s => replayProjections(s, { write: false }))
        assert.deepStrictEqual(replay.differences, [])
        assert.strictEqual(sim.state.violations().length, 0)
      })
    )

    it.effect("a second pass over an unchanged account appends nothing", () =>
      Effect.gen(function* () {
        const [account] = (yield* Accounts).all
        const before = yield* sql(s => s`select count(*)::int as n from events`)
        yield* incrementalPass(account!, 2000)
        yield* statePass(account!)
        const after = yield* sql(s => s`select count(*)::int as n from events`)
        assert.strictEqual(after[0]!.n, before[0]!.n)
      })
    )
  }
)
