import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type OwnRedis, startOwnRedis } from "../../../../test/support/OwnRedis.js"
import { BUCKET_IDS, BUCKETS } from "../../src/Cliq/Buckets.js"
import { budgetKey, type Denied, type Granted, type RateBudgetShape } from "../../src/RateLimit/RateBudget.js"
import * as RateBudgetRedis from "../../src/RateLimit/RateBudgetRedis.js"
import { freshAccount, SECOND_WINDOWS, takeAll, target } from "./behaviour.js"

// A private redis-server: these tests wipe and restart it.
let own: OwnRedis
let prefixes = 0

beforeAll(async () => {
  own = await startOwnRedis()
})

afterAll(async () => {
  await own.close()
})

/** `count` processes' budgets on one prefix, each with its own connection. */
const budgets = (count: number, options: { readonly freshRedis?: boolean; readonly maxCallMs?: number } = {}) => {
  const prefix = `recovery${prefixes++}:`
  return Effect.replicateEffect(
    RateBudgetRedis.make({ buckets: BUCKETS, timeScale: SECOND_WINDOWS, redis: own.url, prefix, ...options }),
    count
  )
}

const effectiveWindow = (budget: RateBudgetShape) => budget.buckets["chats.get"].windowMs + budget.marginMs
const threshold = (budget: RateBudgetShape) => budget.buckets["chats.get"].threshold

describe("RateBudgetRedis after its state is lost", () => {
  it.scopedLive("FLUSHALL mid-window: every bucket counts as full for one window + margin, one deadline for all", () =>
    Effect.gen(function* () {
      const [a, b, c] = yield* budgets(3, { freshRedis: true })
      const request = target("chats.get")
      const before = yield* takeAll(a!, request)
      assert.strictEqual(before.grants.length, threshold(a!))
      yield* Effect.promise(() => own.flushAll())

      const account = freshAccount()
      const requests = BUCKET_IDS.map(bucket => ({ key: budgetKey(account, bucket), bucket }))
      const decisions = yield* Effect.forEach(
        [a!, b!, c!].flatMap(budget => [request, ...requests].map(r => budget.tryAcquire(r))),
        d => d,
        { concurrency: "unbounded" }
      )
      const denials = decisions.filter((d): d is Denied => d._tag === "Denied")
      assert.strictEqual(denials.length, decisions.length)
      expect(new Set(denials.map(d => d.reason))).toEqual(new Set(["recovering"]))
      // One moment of loss for every process and bucket (every bucket has the same window here).
      const deadlines = new Set(denials.map(d => d.retryAt))
      expect(deadlines.size).toBe(1)
      const [deadline] = [...deadlines]
      expect(deadline!).toBeGreaterThan(before.grants.at(-1)!.at + effectiveWindow(a!) - 1)

      const usage = yield* b!.usage(request)
      assert.strictEqual(Math.ceil(usage.recoveringUntil!), deadline)
      assert.strictEqual(usage.counted, 0)

      const first = yield* c!.acquire(request)
      expect(first.at).toBeGreaterThanOrEqual(deadline!)
      const after = yield* takeAll(a!, request)
      assert.strictEqual(after.grants.length, threshold(a!) - 1)
      assert.strictEqual((yield* b!.usage(request)).recoveringUntil, null)
    })
  )

  it.scopedLive("a lock outlasting the recovery keeps its own deadline; a shorter one is covered by the recovery", () =>
    Effect.gen(function* () {
      const [budget] = yield* budgets(1, { freshRedis: true })
      yield* Effect.promise(() => own.flushAll())
      const request = target("chats.get")
      const denied = (yield* budget!.tryAcquire(request)) as Denied
      assert.strictEqual(denied.reason, "recovering")
      const long = yield* budget!.restoreLock({ ...request, lockedUntil: denied.retryAt + 5000 })
      const locked = (yield* budget!.tryAcquire(request)) as Denied
      assert.strictEqual(locked.reason, "locked")
      assert.strictEqual(locked.retryAt, long!.lockedUntil)
      const other = target("chats.get")
      yield* budget!.restoreLock({ ...other, lockedUntil: denied.now + 10 })
      const recovering = (yield* budget!.tryAcquire(other)) as Denied
      assert.strictEqual(recovering.reason, "recovering")
      assert.strictEqual(recovering.retryAt, denied.retryAt)
    })
  )

  it.scopedLive("a call granted before the loss and ended after it counts from its end", () =>
    Effect.gen(function* () {
      const [budget] = yield* budgets(1, { freshRedis: true })
      const request = target("chats.get")
      const inFlight = (yield* budget!.tryAcquire({ ...request, cost: 10 })) as Granted
      yield* Effect.promise(() => own.flushAll())
      const recovering = (yield* budget!.tryAcquire(request)) as Denied
      assert.strictEqual(recovering.reason, "recovering")
      // Ends well after the loss, so its entries outlive the recovery by that much.
      yield* Effect.sleep(300)
      yield* budget!.settle(inFlight)
      const usage = yield* budget!.usage(request)
      assert.strictEqual(usage.counted, 10)
      yield* budget!.acquire(request)
      const rest = yield* takeAll(budget!, request)
      assert.strictEqual(rest.grants.length, threshold(budget!) - 11)
    })
  )

  it.scopedLive("a restart without persistence is a loss like a wipe", () =>
    Effect.gen(function* () {
      const [budget] = yield* budgets(1, { freshRedis: true })
      const request = target("chats.search")
      assert.strictEqual((yield* budget!.tryAcquire(request))._tag, "Granted")
      yield* Effect.promise(() => own.restart())
      const denied = (yield* budget!.tryAcquire(request)) as Denied
      assert.strictEqual(denied.reason, "recovering")
      expect(denied.retryAt - denied.now).toBeGreaterThanOrEqual(effectiveWindow(budget!))
      expect(denied.retryAt - denied.now).toBeLessThan(effectiveWindow(budget!) + 1)
    })
  )

  it.scopedLive("with maxCallMs, the slot of a call not ended yet does not age out", () =>
    Effect.gen(function* () {
      const [tracked] = yield* budgets(1, { freshRedis: true, maxCallMs: 30_000 })
      const request = target("chats.get")
      const all = (yield* tracked!.tryAcquire({ ...request, cost: threshold(tracked!) })) as Granted
      yield* Effect.sleep(effectiveWindow(tracked!) + 100)
      const held = (yield* tracked!.tryAcquire(request)) as Denied
      assert.strictEqual(held.reason, "window_full")
      yield* tracked!.settle(all)
      const counted = (yield* tracked!.tryAcquire(request)) as Denied
      expect(counted.retryAt).toBeGreaterThanOrEqual(held.now + effectiveWindow(tracked!))

      const [untracked] = yield* budgets(1, { freshRedis: true })
      const other = target("chats.get")
      yield* untracked!.tryAcquire({ ...other, cost: threshold(untracked!) })
      yield* Effect.sleep(effectiveWindow(untracked!) + 100)
      assert.strictEqual((yield* untracked!.tryAcquire(other))._tag, "Granted")
    })
  )

  it.scopedLive("with maxCallMs, a call in flight keeps its slots however long its bucket sees no other decision", () =>
    Effect.gen(function* () {
      // Under load a call can take seconds between grant and answer while nothing else touches its bucket: its slots
      // must outlive that (the log used to expire one window + 1 s after its last write, slots in flight with it).
      const [budget] = yield* budgets(1, { freshRedis: true, maxCallMs: 30_000 })
      const request = target("chats.get")
      const slow = (yield* budget!.tryAcquire({ ...request, cost: threshold(budget!) - 1 })) as Granted
      // Another call that ends at once: its settle must not cut the log's life short either.
      const quick = (yield* budget!.tryAcquire(request)) as Granted
      yield* budget!.settle(quick)
      yield* Effect.sleep(effectiveWindow(budget!) + 1500)
      const held = yield* budget!.tryAcquire({ ...request, cost: 2 })
      assert.strictEqual(held._tag, "Denied")
      assert.strictEqual((held as Denied).reason, "window_full")
      yield* budget!.settle(slow)
      const usage = yield* budget!.usage(request)
      assert.strictEqual(usage.counted, threshold(budget!) - 1)
      const after = yield* takeAll(budget!, request)
      assert.strictEqual(after.grants.length, 1)
    })
  )

  it.scopedLive("a first start waits too, unless the prefix is declared fresh", () =>
    Effect.gen(function* () {
      const [cautious] = yield* budgets(1)
      const request = target("chats.get")
      const usage = yield* cautious!.usage(request)
      expect(usage.recoveringUntil).toBeGreaterThan(usage.now)
      const denied = (yield* cautious!.tryAcquire(request)) as Denied
      assert.strictEqual(denied.reason, "recovering")
      assert.strictEqual(denied.retryAt, Math.ceil(denied.now + effectiveWindow(cautious!)))

      const [fresh] = yield* budgets(1, { freshRedis: true })
      assert.strictEqual((yield* fresh!.tryAcquire(request))._tag, "Granted")
    })
  )
})
