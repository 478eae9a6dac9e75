import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeOwnPostgres } from "../support/OwnPostgres.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { allFinal, daemon, drillEnvironment, groupChats, strangers, until } from "./drill.js"
import { command } from "./harness.js"

describe("drill: PostgreSQL restarts mid-drain", () => {
  it.scopedLive(
    "300 mixed commands, the database restarted while they drain: every one reaches a final state",
    () =>
      Effect.gen(function* () {
        const pg = yield* makeOwnPostgres({ database: "drill" })
        const prefix = yield* scopedRedisPrefix("pgrestart")
        const { sim, database, repo, env } = yield* drillEnvironment({
          chats: 1200,
          seed: 43,
          redisUrl: testRedisUrl(),
          prefix,
          databaseUrl: pg.url
        })
        const g = groupChats(sim)
        assert.isAtLeast(g.length, 150)
        const bodies: Array<Record<string, unknown>> = [
          ...g.slice(0, 80).map((t, i) => ({ type: "update_title", chat_id: t.chatId, title: `Restart ${i}` })),
          ...g.slice(80, 120).map(t => ({ type: "mute_chat", chat_id: t.chatId })),
          ...g
            .slice(0, 100)
            .map(t => ({ type: "mark_as_read", chat_id: t.chatId, last_message_id: t.lastMessage!.messageId })),
          ...g.slice(120, 150).map(t => ({ type: "close_chat", chat_id: t.chatId })),
          ...g.slice(100, 130).map(t => ({
            type: "add_members",
            chat_id: t.chatId,
            user_ids: strangers(sim, t.participantIds).slice(0, 1)
          })),
          ...g.slice(0, 20).map(t => ({ type: "clear_unread", chat_ids: [t.chatId] }))
        ]
        assert.lengthOf(bodies, 300)
        yield* repo.intake(bodies.map(command), "default")
        const d = yield* daemon(env)
        yield* until(database, counts => (counts.succeeded ?? 0) >= 60, 60_000, d.output)
        yield* pg.restart("immediate")

        const counts = yield* until(database, allFinal(300), 90_000, d.output)
        assert.strictEqual((counts.succeeded ?? 0) + (counts.failed ?? 0), 300, JSON.stringify(counts))
        assert.isNull(d.exitCode(), "the daemon survived the restart")
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 240_000 }
  )
})
