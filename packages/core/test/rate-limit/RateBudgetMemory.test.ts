import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { BUCKETS } from "../../src/Cliq/Buckets.js"
import { type BudgetOptions, defaultMarginMs, makeSettings } from "../../src/RateLimit/BudgetSettings.js"
import { budgetKey, type Granted, RateBudget } from "../../src/RateLimit/RateBudget.js"
import * as RateBudgetMemory from "../../src/RateLimit/RateBudgetMemory.js"
import { budgetBehaviour, SHARES, target } from "./behaviour.js"

budgetBehaviour("RateBudgetMemory", RateBudgetMemory.layer)

const onTestClock = (options: Partial<BudgetOptions> = {}) =>
  Effect.provide(RateBudgetMemory.layer({ buckets: BUCKETS, ...options }))

describe("RateBudgetMemory on the TestClock", () => {
  it.effect("acquire sleeps until exactly retryAt, with no decision in between", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget
      const request = target("chats.get")
      const window = budget.buckets["chats.get"].windowMs + budget.marginMs
      const fill = (yield* budget.tryAcquire({ ...request, cost: budget.buckets["chats.get"].threshold })) as Granted
      const fiber = yield* Effect.fork(budget.acquire(request))
      yield* Effect.yieldNow()
      yield* TestClock.adjust(window - 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust(1)
      const granted = yield* Fiber.join(fiber)
      assert.strictEqual(granted.at, fill.at + window)
    }).pipe(onTestClock())
  )

  it.effect("a lock holds for exactly the bucket's lock period", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget
      const request = target("chats.get")
      const lock = yield* budget.lock(request)
      yield* TestClock.adjust(BUCKETS["chats.get"].lockMs - 1)
      const denied = yield* budget.tryAcquire(request)
      assert.strictEqual(denied._tag === "Denied" && denied.reason, "locked")
      yield* TestClock.adjust(1)
      const granted = yield* budget.tryAcquire(request)
      assert.strictEqual(granted._tag === "Granted" && granted.at, lock.lockedUntil)
    }).pipe(onTestClock())
  )

  it.effect("random traffic never overfills a window, a cap, or another share's reserve", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget
      const bucket = "chats.list" as const
      const { threshold, windowMs } = budget.buckets[bucket]
      const window = windowMs + budget.marginMs
      const reserve = Math.floor(0.3 * threshold)
      const cap = Math.floor(0.7 * threshold)
      const key = budgetKey({ id: "prop", clientKey: "prop" }, bucket)
      const shares = ["incremental", "reconciliation", undefined] as const
      let seed = 20250601
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      const grants: Array<{ at: number; share: string | undefined; cost: number }> = []
      for (let step = 0; step < 800; step++) {
        const share = shares[random(3)]
        const cost = 1 + random(2)
        const before = yield* budget.usage({ key, bucket })
        const decision = yield* budget.tryAcquire({ key, bucket, cost, ...(share ? { share } : {}) })
        if (share === "incremental" && (before.byShare.incremental ?? 0) + cost <= reserve)
          assert.strictEqual(decision._tag, "Granted", `incremental denied within its reserve at step ${step}`)
        if (decision._tag === "Granted") grants.push({ at: decision.at, share, cost })
        yield* TestClock.adjust(random(Math.round(window / 8)))
      }
      const maxIn = (filter: (g: (typeof grants)[number]) => boolean) => {
        const picked = grants.filter(filter)
        let max = 0
        for (const g of picked)
          max = Math.max(
            max,
            picked.filter(h => h.at >= g.at && h.at < g.at + window).reduce((sum, h) => sum + h.cost, 0)
          )
        return max
      }
      expect(maxIn(() => true)).toBeLessThanOrEqual(threshold)
      expect(maxIn(g => g.share === "reconciliation")).toBeLessThanOrEqual(cap)
      expect(maxIn(g => g.share !== "incremental")).toBeLessThanOrEqual(threshold - reserve)
      expect(grants.length).toBeGreaterThan(100)
    }).pipe(onTestClock({ shares: SHARES }))
  )
})

describe("budget settings", () => {
  const failure = (options: Partial<BudgetOptions>) =>
    Effect.flip(makeSettings({ buckets: BUCKETS, ...options })).pipe(Effect.map(e => e.message))

  it.effect("rejects share tables that could starve or overflow a bucket", () =>
    Effect.gen(function* () {
      expect(yield* failure({ shares: { "chats.list": { a: { reserve: 0.6 }, b: { reserve: 0.6 } } } })).toContain(
        "more than the whole threshold"
      )
      expect(yield* failure({ shares: { "chats.nope": { a: {} } } as never })).toContain("unknown bucket")
      expect(yield* failure({ shares: { "chats.list": { a: { max: 0.01 } } } })).toContain("leaves no slot")
      expect(yield* failure({ shares: { "chats.list": { "a|b": {} } } })).toContain("name must match")
      expect(yield* failure({ shares: { "chats.list": { a: { reserve: 0.5, max: 0.4 } } } })).toContain(
        "reserve exceeds max"
      )
      expect(yield* failure({ timeScale: 0 })).toContain("timeScale")
      expect(yield* failure({ marginMs: -1 })).toContain("marginMs")
    })
  )

  it.effect("uses the scaled windows, and a margin that scales with time but not below 50 ms", () =>
    Effect.gen(function* () {
      assert.strictEqual(defaultMarginMs(1), 2000)
      assert.strictEqual(defaultMarginMs(1 / 10), 200)
      assert.strictEqual(defaultMarginMs(1 / 1000), 50)
      const settings = yield* makeSettings({ buckets: BUCKETS, timeScale: 1 / 10, marginMs: 123 })
      assert.strictEqual(settings.marginMs, 123)
      assert.strictEqual(settings.effectiveWindowUs("chats.list"), (BUCKETS["chats.list"].windowMs / 10 + 123) * 1000)
    })
  )
})

describe("budgetKey", () => {
  it("keys per-user buckets by account and the others by OAuth client", () => {
    const account = { id: "acc-1", clientKey: "1000.CLIENT" }
    assert.strictEqual(budgetKey(account, "chats.list"), "user:acc-1")
    assert.strictEqual(budgetKey(account, "chats.update"), "client:1000.CLIENT")
    assert.notStrictEqual(budgetKey({ id: "acc-2", clientKey: "1000.CLIENT" }, "chats.list"), "user:acc-1")
    assert.strictEqual(budgetKey({ id: "acc-2", clientKey: "1000.CLIENT" }, "chats.update"), "client:1000.CLIENT")
  })
})
