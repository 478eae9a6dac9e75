import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { WorkerLive } from "../commands/harness.js"
import { HarnessInfo, Simulator, syncHarness } from "../sync/harness.js"
import { visibleTruth } from "../sync/truth.js"
import { apiTestLayerAt, exec, send } from "./harness.js"

interface View {
  readonly status: string
  readonly attempts: number
  readonly last_error: { readonly code: string } | null
}

/** Polls GET /v1/commands/{id} until the command reaches `status`. */
const until = (id: string, status: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 30_000
    while (true) {
      const reply = yield* send("GET", `/v1/commands/${id}`)
      const view = reply.body as unknown as View
      if (view.status === status) return view
      if (Date.now() > deadline) return yield* Effect.die(new Error(`still ${JSON.stringify(view)}`))
      yield* Effect.sleep("50 millis")
    }
  })

/** The daemon's command worker and relay against the simulator, and the API over the same database and Redis. */
const RetryHarness = Layer.unwrapEffect(
  Effect.map(HarnessInfo, info => apiTestLayerAt({ databaseUrl: info.databaseUrl, redisPrefix: info.redisPrefix }))
).pipe(Layer.provideMerge(syncHarness({ chats: 300, users: 3, seed: 5 }, {}, WorkerLive)))

layer(RetryHarness, { timeout: "2 minutes", excludeTestServices: true })("retrying a failed command", it => {
  it.effect("a permanent upstream refusal fails the command; retried, the worker carries it out", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const chat = visibleTruth(sim).find(
        t => t.chatType === "group_chat" && !t.users[0]!.removed && !t.users[0]!.muted && !t.users[0]!.closed
      )!
      sim.state.injectFault({ operation: "muteChat", kind: "error_code", code: "chat_access_denied", count: 1 })

      const accepted = yield* send("POST", "/v1/commands", { type: "mute_chat", chat_id: chat.chatId })
      assert.strictEqual(accepted.status, 202)
      const id = (accepted.body as { command_id: string }).command_id
      const failed = yield* until(id, "failed")
      assert.strictEqual(failed.last_error!.code, "chat_access_denied")
      assert.strictEqual(failed.attempts, 1)
      assert.isFalse(sim.state.chat(chat.chatId)!.users[0]!.muted)

      const retried = yield* send("POST", `/v1/commands/${id}/retry`)
      assert.strictEqual(retried.status, 202)
      assert.deepStrictEqual(retried.body, { command_id: id, status: "queued" })
      const done = yield* until(id, "succeeded")
      assert.strictEqual(done.attempts, 1)
      assert.isTrue(sim.state.chat(chat.chatId)!.users[0]!.muted)

      const calls = sim.state.requests().filter(r => r.operationId === "muteChat" && r.path.includes(chat.chatId))
      assert.deepStrictEqual(
        calls.map(c => c.outcome),
        ["fault:error_code", "ok"]
      )
      const events = yield* exec(
        (_, sql) => sql<Array<{ type: string }>>`
          select type from events where payload->>'command_id' = ${id} order by seq`
      )
      assert.deepStrictEqual(
        events.map(e => e.type),
        ["CommandRequested", "CommandFailed", "CommandRetried", "CommandSucceeded"]
      )
      assert.deepStrictEqual(sim.state.violations(), [])
    })
  )
})
