import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ownRedis } from "../support/OwnRedis.js"
import { allFinal, daemon, drillEnvironment, groupChats, until } from "./drill.js"
import { command } from "./harness.js"

describe("drill: Redis loses its data mid-drain", () => {
  it.scopedLive(
    "FLUSHALL after half of 40 mute_chat went out: every command succeeds, none is sent twice, no violation",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        const { sim, database, repo, env } = yield* drillEnvironment({
          chats: 400,
          seed: 41,
          redisUrl: redis.url,
          prefix: "wipe:"
        })
        const chats = groupChats(sim).slice(0, 40)
        assert.lengthOf(chats, 40)
        yield* repo.intake(
          chats.map(t => command({ type: "mute_chat", chat_id: t.chatId })),
          "default"
        )
        const since = sim.state.requests().at(-1)?.seq ?? 0
        const d = yield* daemon(env)
        yield* until(database, counts => (counts.succeeded ?? 0) >= 20, 45_000, d.output)
        yield* Effect.promise(() => redis.flushAll())

        const counts = yield* until(database, allFinal(40), 45_000, d.output)
        assert.deepStrictEqual(counts, { succeeded: 40 })
        const mutes = sim.state.requests(since).filter(r => r.operationId === "muteChat")
        for (const t of chats) {
          const calls = mutes.filter(r => r.path.includes(`/chats/${t.chatId}/`))
          assert.strictEqual(calls.length, 1, `${t.chatId}: ${calls.length} mute calls`)
          assert.isTrue(sim.state.chat(t.chatId)!.users[0]!.muted)
        }
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 120_000 }
  )
})
