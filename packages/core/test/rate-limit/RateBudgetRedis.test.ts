import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../../../../test/support/redis.js"
import { BUCKETS } from "../../src/Cliq/Buckets.js"
import type { BudgetOptions } from "../../src/RateLimit/BudgetSettings.js"
import { type Denied, RateBudget } from "../../src/RateLimit/RateBudget.js"
import * as RateBudgetRedis from "../../src/RateLimit/RateBudgetRedis.js"
import { budgetBehaviour, SECOND_WINDOWS, SHARES, SHORT_LOCKS, takeAll, target } from "./behaviour.js"

const prefix = uniqueRedisPrefix("rate-budget")
let client: Redis

beforeAll(async () => {
  client = new Redis(testRedisUrl(), { lazyConnect: true })
  await client.connect()
})

afterAll(async () => {
  await client.quit()
  await clearRedisPrefix(prefix)
})

budgetBehaviour("RateBudgetRedis", options =>
  RateBudgetRedis.layer({ ...options, redis: client, prefix, freshRedis: true })
)

/** A client of its own whose script calls are counted. */
const countingBudget = (options: Partial<BudgetOptions> = {}) => {
  const counted = new Redis(testRedisUrl(), { lazyConnect: true })
  const calls = { scripts: 0 }
  const send = counted.sendCommand.bind(counted)
  counted.sendCommand = command => {
    if (command.name === "evalsha" || command.name === "eval") calls.scripts++
    return send(command)
  }
  const layer = Layer.unwrapScoped(
    Effect.acquireRelease(
      Effect.promise(() => counted.connect()),
      () => Effect.promise(() => counted.quit())
    ).pipe(
      Effect.as(
        RateBudgetRedis.layer({
          buckets: BUCKETS,
          timeScale: SECOND_WINDOWS,
          ...options,
          redis: counted,
          prefix,
          freshRedis: true
        })
      )
    )
  )
  return { calls, layer }
}

describe("RateBudgetRedis", () => {
  it.live("acquire sleeps until retryAt instead of polling Redis", () => {
    const { calls, layer } = countingBudget()
    return Effect.gen(function* () {
      const budget = yield* RateBudget
      const request = target("chats.list")
      const threshold = budget.buckets["chats.list"].threshold
      const window = budget.buckets["chats.list"].windowMs + budget.marginMs
      const first = yield* budget.acquire(request)
      for (let i = 1; i < 3 * threshold; i++) yield* budget.acquire(request)
      const last = yield* budget.usage(request)
      expect(last.now - first.at).toBeGreaterThanOrEqual(2 * window)
      // T immediate grants, then 2T waits, each one denial plus one grant (+ one usage call).
      expect(calls.scripts).toBeLessThanOrEqual(5 * threshold + 1 + 3)
    }).pipe(Effect.provide(layer))
  })

  it.live("concurrent waiters wake at their retryAt; script calls stay proportional to grants", () => {
    const { calls, layer } = countingBudget()
    return Effect.gen(function* () {
      const budget = yield* RateBudget
      const request = target("chats.list")
      const threshold = budget.buckets["chats.list"].threshold
      yield* Effect.forEach([1, 2, 3], () => Effect.replicateEffect(budget.acquire(request), threshold), {
        concurrency: "unbounded",
        discard: true
      })
      // Worst case: every wake-up of the 2T waits finds the three fibers racing for one slot.
      expect(calls.scripts).toBeLessThanOrEqual(threshold + 2 * threshold * 3)
    }).pipe(Effect.provide(layer))
  })

  it.live("a lock taken through one connection stops every other client", () =>
    Effect.gen(function* () {
      const request = target("chats.get")
      const other = RateBudgetRedis.layer({
        buckets: BUCKETS,
        timeScale: SHORT_LOCKS,
        redis: testRedisUrl(),
        prefix,
        freshRedis: true
      })
      const mine = RateBudgetRedis.layer({
        buckets: BUCKETS,
        timeScale: SHORT_LOCKS,
        redis: client,
        prefix,
        freshRedis: true
      })
      const lock = yield* Effect.flatMap(RateBudget, budget => budget.lock(request)).pipe(Effect.provide(other))
      const seen = yield* Effect.flatMap(RateBudget, budget => budget.tryAcquire(request)).pipe(Effect.provide(mine))
      assert.strictEqual(seen._tag, "Denied")
      assert.strictEqual((seen as Denied).retryAt, Math.ceil(lock.lockedUntil))
    })
  )

  it.live("below its reserve, a share is always granted while another hammers the bucket", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget
      const key = target("chats.list").key
      const bucket = "chats.list" as const
      const { threshold, windowMs } = budget.buckets[bucket]
      const window = windowMs + budget.marginMs
      const end = (yield* budget.usage({ key, bucket })).now + 3 * window
      const sweep = Effect.gen(function* () {
        let grants = 0
        while (true) {
          const d = yield* budget.acquireWithin({ key, bucket, share: "reconciliation" }, window)
          if (d._tag === "Denied" || d.at >= end) return grants
          grants++
        }
      })
      const polls = Effect.gen(function* () {
        const denials: Array<Denied> = []
        let grants = 0
        while ((yield* budget.usage({ key, bucket })).now < end) {
          const d = yield* budget.tryAcquire({ key, bucket, share: "incremental" })
          if (d._tag === "Denied") denials.push(d)
          else grants++
          yield* Effect.sleep(window / 4)
        }
        return { denials, grants }
      })
      const [s1, s2, s3, p] = yield* Effect.all([sweep, sweep, sweep, polls], { concurrency: "unbounded" })
      assert.deepStrictEqual(p.denials, [])
      expect(p.grants).toBeGreaterThan(0)
      expect(s1 + s2 + s3).toBeLessThanOrEqual(4 * Math.floor(0.7 * threshold))
      expect(s1 + s2 + s3).toBeGreaterThanOrEqual(2 * Math.floor(0.7 * threshold))
    }).pipe(
      Effect.provide(
        RateBudgetRedis.layer({
          buckets: BUCKETS,
          timeScale: SECOND_WINDOWS,
          shares: SHARES,
          redis: client,
          prefix,
          freshRedis: true
        })
      )
    )
  )

  it.live("layerConfig reads REDIS_URL and honours its database number", () =>
    Effect.gen(function* () {
      const url = new URL(testRedisUrl())
      url.pathname = "/5"
      const request = target("chats.get")
      yield* Effect.flatMap(RateBudget, budget => budget.lock(request)).pipe(
        Effect.provide(RateBudgetRedis.layerConfig({ buckets: BUCKETS, prefix })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["REDIS_URL", url.toString()]])))
      )
      const lockKey = `${prefix}{${request.key}|${request.bucket}}:lock`
      const db5 = new Redis(url.toString())
      const inDb5 = yield* Effect.promise(() => db5.exists(lockKey))
      yield* Effect.promise(() => db5.del(lockKey).then(() => db5.quit()))
      assert.strictEqual(inDb5, 1)
      assert.strictEqual(yield* Effect.promise(() => client.exists(lockKey)), 0)
    })
  )

  it.live("Redis failures are typed RateBudgetErrors, not defects", () =>
    Effect.gen(function* () {
      const unreachable = yield* Effect.flip(
        Effect.flatMap(RateBudget, budget => budget.usage(target("chats.get"))).pipe(
          Effect.provide(RateBudgetRedis.layer({ buckets: BUCKETS, redis: "redis://127.0.0.1:1", prefix }))
        )
      )
      assert.strictEqual(unreachable._tag, "RateBudgetError")
      const offline = new Redis(testRedisUrl(), { lazyConnect: true, enableOfflineQueue: false })
      const failed = yield* Effect.flip(
        Effect.flatMap(RateBudget, budget => budget.tryAcquire(target("chats.get"))).pipe(
          Effect.provide(RateBudgetRedis.layer({ buckets: BUCKETS, redis: offline, prefix }))
        )
      )
      assert.strictEqual(failed._tag, "RateBudgetError")
      offline.disconnect()
    })
  )

  it.live("decisions of one bucket never look at another bucket's log", () =>
    Effect.gen(function* () {
      const budget = yield* RateBudget
      const a = target("chats.get")
      const full = yield* takeAll(budget, a)
      assert.strictEqual(full.denied?.reason, "window_full")
      const b = { key: a.key, bucket: "chats.search" as const }
      const other = yield* takeAll(budget, b)
      assert.strictEqual(other.grants.length, budget.buckets["chats.search"].threshold)
    }).pipe(
      Effect.provide(
        RateBudgetRedis.layer({ buckets: BUCKETS, timeScale: SECOND_WINDOWS, redis: client, prefix, freshRedis: true })
      )
    )
  )
})
