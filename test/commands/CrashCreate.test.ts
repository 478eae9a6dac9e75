import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { allFinal, daemon, drillEnvironment, strangers, until } from "./drill.js"
import { command } from "./harness.js"

const TITLE = "Exactly one after two crashes"

describe("drill: the daemon dies twice while one create_chat is in flight", () => {
  it.scopedLive(
    "kill -9 during a held request, twice: the second send follows a check, the third process finds the chat",
    () =>
      Effect.gen(function* () {
        const prefix = yield* scopedRedisPrefix("crash")
        const { sim, database, repo, env } = yield* drillEnvironment({
          chats: 60,
          seed: 42,
          redisUrl: testRedisUrl(),
          prefix
        })
        // The first send never reaches the chat store; the second creates the chat and its answer never comes.
        sim.state.injectFault({ operation: "createChat", kind: "timeout", when: "before", holdMs: 60_000 })
        sim.state.injectFault({ operation: "createChat", kind: "timeout", when: "after_effect", holdMs: 60_000 })
        const [accepted] = yield* repo.intake(
          [
            command({
              type: "create_chat",
              chat_type: "group_chat",
              user_ids: strangers(sim, []).slice(0, 3),
              title: TITLE
            })
          ],
          "default"
        )
        const creates = () => sim.state.requests().filter(r => r.operationId === "createChat")
        const inFlight = (n: number, output: () => string) =>
          Effect.gen(function* () {
            // Generous: a daemon process starting on a loaded machine, then BullMQ's stall check (lock + interval,
            // 10 s each at this scale) and the dead attempt's lease come before the next send.
            const deadline = Date.now() + 75_000
            while (creates().length < n) {
              if (Date.now() > deadline) {
                yield* Effect.sync(() => console.log(`daemon output:\n${output().slice(-8000)}`))
                return yield* Effect.die(new Error(`no create #${n}`))
              }
              yield* Effect.sleep("50 millis")
            }
          })

        const first = yield* daemon({ ...env, LOG_LEVEL: "info" })
        yield* inFlight(1, first.output)
        yield* Effect.promise(() => first.kill9())
        assert.strictEqual(sim.state.chats().filter(t => t.title === TITLE).length, 0)

        const second = yield* daemon(env)
        yield* inFlight(2, second.output)
        yield* Effect.promise(() => second.kill9())
        assert.strictEqual(sim.state.chats().filter(t => t.title === TITLE).length, 1)

        const third = yield* daemon(env)
        const counts = yield* until(database, allFinal(1), 75_000, third.output)
        assert.deepStrictEqual(counts, { succeeded: 1 })
        const made = sim.state.chats().filter(t => t.title === TITLE)
        assert.strictEqual(made.length, 1)
        assert.strictEqual(creates().length, 2)
        // Before each re-send (and before settling) the upstream state was read.
        const reads = sim.state.requests().filter(r => r.operationId === "searchChats" && r.path.includes("title="))
        assert.isAtLeast(reads.length, 2)
        const row = yield* repo.get(accepted!.command.id)
        assert.strictEqual(row!.result!.chat_id, made[0]!.chatId)
        assert.strictEqual(row!.result!.verified, true)
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 240_000 }
  )
})
