import { BUCKETS, budgetKey, type Denied, type Granted, RateBudget, RateBudgetMemory } from "@cliq-mirror/core"
import { ChatId } from "@cliq-mirror/core/Cliq/Ids"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { afterAll } from "vitest"
import { Upstream } from "../../apps/daemon/src/Upstream.js"
import { clearRedisPrefix } from "../support/redis.js"
import { clientLayer, requestsOf, Sim, simLayer, staticAccount, uniquePrefix } from "./support.js"

const prefix = uniquePrefix()

// Windows of 1 s (margin 50 ms), on the process clock: the slot's timestamps are what is checked.
const UpstreamTest = Upstream.Default.pipe(
  Layer.provide(clientLayer(prefix)),
  Layer.provideMerge(RateBudgetMemory.layer({ buckets: BUCKETS, timeScale: 1 / 60 }))
)

layer(simLayer(), { excludeTestServices: true })("Upstream", it => {
  const setup = Effect.gen(function* () {
    const sim = yield* Sim
    const account = staticAccount(sim, "sim-token-1")
    const me = sim.state.accounts()[0]!.userIndex
    const chat = sim.state.chats().find(t => t.users.some(u => u.userIndex === me && u.member && !u.removed))!
    return { sim, account, chatId: ChatId.make(chat.chatId), upstream: yield* Upstream, budget: yield* RateBudget }
  })

  it.effect("a slot taken well before its call is counted from the call's answer, not from the grant", () =>
    Effect.gen(function* () {
      const { account, chatId, upstream, budget } = yield* setup
      const target = upstream.target(account, "getChat")
      const threshold = budget.buckets["chats.get"].threshold
      const window = budget.buckets["chats.get"].windowMs + budget.marginMs
      // The whole window in one grant, then 300 ms of other work before the call leaves (a worker claiming rows).
      const grant = (yield* budget.tryAcquire({ ...target, cost: threshold })) as Granted
      yield* Effect.sleep(Duration.millis(300))
      yield* upstream.send(account, "getChat", grant, c => c.getChat(chatId))
      const denied = (yield* budget.tryAcquire(target)) as Denied
      expect(denied._tag).toBe("Denied")
      expect(denied.retryAt).toBeGreaterThanOrEqual(grant.at + 300 + window)
    }).pipe(Effect.provide(UpstreamTest))
  )

  it.effect("a slot of another bucket is given back and one of the operation's own bucket used", () =>
    Effect.gen(function* () {
      const { sim, account, chatId, upstream, budget } = yield* setup
      const before = requestsOf(sim, "unmuteChat").length
      const muteSlot = yield* budget.acquire(upstream.target(account, "muteChat"))
      yield* upstream.send(account, "unmuteChat", muteSlot, c => c.unmuteChat(chatId))
      expect(requestsOf(sim, "unmuteChat").length).toBe(before + 1)
      const [mute, unmute] = yield* budget.snapshot([
        { key: budgetKey(account, "chats.mute"), bucket: "chats.mute" },
        { key: budgetKey(account, "chats.unmute"), bucket: "chats.unmute" }
      ])
      expect(mute!.counted).toBe(0)
      expect(unmute!.counted).toBe(1)
    }).pipe(Effect.provide(UpstreamTest))
  )
})

afterAll(() => clearRedisPrefix(prefix))
