// One OS process hammering GET /chats/{id} through the daemon's budgeted Upstream (spawned by Budget.test.ts).
// Environment: the daemon's (CLIQ_ACCESS_TOKEN, CLIQ_API_BASE_URL, CLIQ_TIME_SCALE, REDIS_URL, REDIS_PREFIX),
// plus HAMMER_CHAT_ID and HAMMER_UNTIL (epoch ms). Prints the number of calls made.
import { type ChatId, loadAccounts } from "@cliq-mirror/core"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { UpstreamLive } from "../../apps/daemon/src/Infra.js"
import { Upstream } from "../../apps/daemon/src/Upstream.js"

Effect.gen(function* () {
  const chatId = (yield* Config.string("HAMMER_CHAT_ID")) as ChatId
  const until = yield* Config.number("HAMMER_UNTIL")
  const [account] = yield* loadAccounts
  const upstream = yield* Upstream
  let calls = 0
  const fiber = Effect.gen(function* () {
    while (Date.now() < until) {
      yield* upstream.call(account, "getChat", undefined, c => c.getChat(chatId))
      calls++
    }
  })
  yield* Effect.all([fiber, fiber, fiber], { concurrency: "unbounded" }).pipe(
    Effect.timeout(Math.max(0, until - Date.now()) + 100),
    Effect.ignore
  )
  yield* Console.log(String(calls))
}).pipe(Effect.provide(UpstreamLive.pipe(Layer.provideMerge(NodeContext.layer))), NodeRuntime.runMain)
