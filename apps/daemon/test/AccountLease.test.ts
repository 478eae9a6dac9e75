import { Database } from "@cliq-mirror/db"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"
import { fairShare, leaseTiming, makeLeases, mustFence, planTick, tickAllowanceMs } from "../src/Sync/AccountLease.js"

describe("lease decisions", () => {
  it("a fair share splits the accounts evenly among the live processes", () => {
    assert.strictEqual(fairShare(1000, 0), 1000)
    assert.strictEqual(fairShare(1000, 2), 334)
    assert.strictEqual(fairShare(3, 3), 1)
  })

  it("held accounts not renewed stop, claimed ones start, and the excess over the share is handed over", () => {
    assert.deepStrictEqual(planTick(["a", "b", "c"], 4, { peers: 0, renewed: ["a", "c"], claimed: ["d"] }), {
      start: ["d"],
      stop: ["b"],
      handOver: []
    })
    assert.deepStrictEqual(
      planTick(["a", "b", "c", "d"], 4, { peers: 1, renewed: ["a", "b", "c", "d"], claimed: [] }),
      {
        start: [],
        stop: [],
        handOver: ["c", "d"]
      }
    )
  })

  it("an owner that could not renew fences itself before its leases expire", () => {
    const timing = { ttlMs: 30_000, renewEveryMs: 10_000 }
    assert.isFalse(mustFence(1_000, 20_999, timing))
    assert.isTrue(mustFence(1_000, 21_000, timing))
    assert.deepStrictEqual(leaseTiming(1), timing)
    assert.deepStrictEqual(leaseTiming(0.001), { ttlMs: 10_000, renewEveryMs: 3_333 })
  })

  // A renewal that hangs (a lock, a dead connection) gets no answer to fence on: the tick gives up when fencing is due.
  it("a tick may take until the holder must fence, and a lease period when it holds nothing", () => {
    const timing = { ttlMs: 30_000, renewEveryMs: 10_000 }
    assert.strictEqual(tickAllowanceMs(1_000, true, 11_000, timing), 10_000)
    assert.isTrue(mustFence(1_000, 11_000 + tickAllowanceMs(1_000, true, 11_000, timing), timing))
    assert.strictEqual(tickAllowanceMs(1_000, true, 25_000, timing), 0)
    assert.strictEqual(tickAllowanceMs(0, false, 25_000, timing), 30_000)
  })
})

const ACCOUNTS = ["a1", "a2", "a3", "a4"]
const timing = { ttlMs: 600, renewEveryMs: 200 }

layer(DatabaseTest, { timeout: "60 seconds", excludeTestServices: true })("account leases in PostgreSQL", it => {
  it.effect("one owner per account; a second process gets a fair share, then takes over when the first dies", () =>
    Effect.gen(function* () {
      const { sql } = yield* Database
      const a = yield* makeLeases("owner-a", timing)
      const b = yield* makeLeases("owner-b", timing)

      const first = yield* a.tick([], ACCOUNTS, ACCOUNTS.length)
      assert.deepStrictEqual([...first.claimed].sort(), ACCOUNTS)
      const second = yield* b.tick([], ACCOUNTS, ACCOUNTS.length)
      assert.deepStrictEqual(second, { peers: 1, renewed: [], claimed: [] })

      // A sees B and hands half over; B claims what A gave up, no more.
      const renewal = yield* a.tick(ACCOUNTS, [], ACCOUNTS.length)
      const plan = planTick(ACCOUNTS, ACCOUNTS.length, renewal)
      assert.strictEqual(plan.handOver.length, 2)
      yield* a.release(plan.handOver)
      const taken = yield* b.tick([], ACCOUNTS, ACCOUNTS.length)
      assert.deepStrictEqual([...taken.claimed].sort(), [...plan.handOver].sort())
      const owners = yield* Effect.promise(
        () => sql<Array<{ owner: string; n: number }>>`
          select owner, count(*)::int as n from account_leases group by owner order by owner`
      )
      assert.deepStrictEqual(
        owners.map(r => [r.owner, r.n]),
        [
          ["owner-a", 2],
          ["owner-b", 2]
        ]
      )

      // A stops renewing: once its leases and its presence expire, B claims everything.
      const kept = ACCOUNTS.filter(id => !plan.handOver.includes(id))
      const early = yield* b.tick(plan.handOver, kept, ACCOUNTS.length)
      assert.deepStrictEqual(early.claimed, [])
      yield* Effect.sleep(`${timing.ttlMs + 100} millis`)
      const takeover = yield* b.tick(plan.handOver, kept, ACCOUNTS.length)
      assert.strictEqual(takeover.peers, 0)
      assert.deepStrictEqual([...takeover.renewed].sort(), [...plan.handOver].sort())
      assert.deepStrictEqual([...takeover.claimed].sort(), [...kept].sort())

      // A, back, finds its accounts taken: its plan stops their pollers.
      const late = yield* a.tick(kept, plan.handOver, ACCOUNTS.length)
      assert.deepStrictEqual(planTick(kept, ACCOUNTS.length, late).stop, kept)
      assert.deepStrictEqual(late.claimed, [])

      yield* b.leave
      const left = yield* Effect.promise(() => sql<Array<{ n: number }>>`select count(*)::int as n from account_leases`)
      assert.strictEqual(left[0]!.n, 0)
      const again = yield* a.tick([], ACCOUNTS, ACCOUNTS.length)
      assert.strictEqual(again.claimed.length, ACCOUNTS.length)
    })
  )
})
