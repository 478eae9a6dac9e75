import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { incrementalPass } from "../../apps/daemon/src/Sync/Incremental.js"
import { apiTestLayerAt, send } from "../api/harness.js"
import { WorkerLive } from "../commands/harness.js"
import { HarnessInfo, Simulator, syncHarness } from "../sync/harness.js"

interface BatchView {
  readonly status: string
  readonly counts: Record<string, number>
  readonly progress: number
}

const untilFinished = (id: string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 90_000
    while (true) {
      const view = (yield* send("GET", `/v1/batches/${id}`)).body as BatchView
      if (view.status === "finished") return view
      if (Date.now() > deadline) return yield* Effect.die(new Error(`still ${JSON.stringify(view)}`))
      yield* Effect.sleep("100 millis")
    }
  })

/** The daemon's worker against the simulator, the API over the same database and Redis. */
const BulkHarness = Layer.unwrapEffect(
  Effect.map(HarnessInfo, info => apiTestLayerAt({ databaseUrl: info.databaseUrl, redisPrefix: info.redisPrefix }))
).pipe(Layer.provideMerge(syncHarness({ chats: 7500, users: 3, seed: 14 }, {}, WorkerLive)))

layer(BulkHarness, { timeout: "3 minutes", excludeTestServices: true })("bulk mark-as-read", it => {
  it.effect(
    "the dry run's count and calls are what the run then does: 1,000 unread chats in ≤ 10 calls",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator
        const [account] = (yield* Accounts).all
        yield* incrementalPass(account!, 2000)
        const where = { unread: true, closed: false, removed: false }
        const all = (yield* send("POST", "/v1/bulk", { type: "mark_as_read", where, dry_run: true })).body as {
          matched: number
        }
        assert.isAtLeast(all.matched, 1000)
        // The 1,000 most recent of them: modified at or after the 1,000th one's time.
        const page = (yield* send("GET", "/v1/chats?unread=true&closed=false&removed=false&limit=1000")).body as {
          data: ReadonlyArray<{ chat_id: string; last_modified_time: string }>
        }
        const cut = page.data[999]!.last_modified_time
        const before = page.data[1000 - 1]!
        const scoped = { ...where, modified_after: new Date(Date.parse(cut) - 1).toISOString() }
        const dry = (yield* send("POST", "/v1/bulk", { type: "mark_as_read", where: scoped, dry_run: true })).body as {
          matched: number
          upstream_calls: number
          sample: ReadonlyArray<unknown>
          eta: string | null
        }
        assert.strictEqual(dry.matched, 1000)
        assert.strictEqual(dry.upstream_calls, 10)
        assert.lengthOf(dry.sample, 10)
        assert.isNotNull(dry.eta)

        const since = sim.state.requests().at(-1)?.seq ?? 0
        const accepted = yield* send("POST", "/v1/bulk", { type: "mark_as_read", where: scoped })
        assert.strictEqual(accepted.status, 202)
        const batch = accepted.body as { batch_id: string; matched: number; status: string }
        assert.strictEqual(batch.matched, 1000)
        const done = yield* untilFinished(batch.batch_id)
        assert.deepStrictEqual(done.counts, { succeeded: 1000 })
        assert.strictEqual(done.progress, 1)
        const calls = sim.state.requests(since).filter(r => r.operationId === "bulkReadStatusUpdate")
        assert.isAtMost(calls.length, 10)
        assert.strictEqual(calls.length, dry.upstream_calls)
        assert.strictEqual(sim.state.chat(before.chat_id)!.users.find(u => u.userIndex === 0)!.unreadCount, 0)
        assert.strictEqual(sim.state.violations().length, 0)
      }),
    150_000
  )
})
