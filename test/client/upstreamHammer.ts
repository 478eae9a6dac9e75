// One OS process hammering GET /chats/{id} through the daemon's budgeted Upstream (spawned by Budget.test.ts).
// Environment: the daemon's (CLIQ_ACCESS_TOKEN, CLIQ_API_BASE_URL, CLIQ_TIME_SCALE, REDIS_URL, REDIS_PREFIX),
// plus HAMMER_CHAT_ID. Prints "ready" once its layers are built, then reads "<start> <until>" (epoch ms) from stdin,
// hammers from start to until and prints the number of calls made.
import { createInterface } from "node:readline"
import { type ChatId, loadAccounts } from "@cliq-mirror/core"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { UpstreamLive } from "../../apps/daemon/src/Infra.js"
import { Upstream } from "../../apps/daemon/src/Upstream.js"

const nextLine = Effect.async<string>(resume => {
  const lines = createInterface({ input: process.stdin })
  lines.once("line", line => {
    lines.close()
    resume(Effect.succeed(line))
  })
})

Effect.gen(function* () {
  const chatId = (yield* Config.string("HAMMER_CHAT_ID")) as ChatId
  const [account] = yield* loadAccounts
  const upstream = yield* Upstream
  yield* Console.log("ready")
  const [start, until] = (yield* nextLine).split(" ").map(Number) as [number, number]
  let calls = 0
  const fiber = Effect.gen(function* () {
    while (Date.now() < until) {
      yield* upstream.call(account, "getChat", undefined, c => c.getChat(chatId))
      calls++
    }
  })
  yield* Effect.sleep(Math.max(0, start - Date.now()))
  // Every loop ends on its own after `until` (its last call may wait up to a window for its slot), so every call that
  // reached the simulator is counted.
  yield* Effect.all([fiber, fiber, fiber], { concurrency: "unbounded" })
  yield* Console.log(String(calls))
}).pipe(Effect.provide(UpstreamLive.pipe(Layer.provideMerge(NodeContext.layer))), NodeRuntime.runMain)
