import { randomUUID } from "node:crypto"
import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, type Layer } from "effect"
import { BUCKETS, type BucketId } from "../../src/Cliq/Buckets.js"
import type { BudgetOptions, ShareTable } from "../../src/RateLimit/BudgetSettings.js"
import {
  type BudgetDecision,
  type BudgetRequest,
  budgetKey,
  type Denied,
  type Granted,
  RateBudget,
  type RateBudgetError,
  type RateBudgetShape
} from "../../src/RateLimit/RateBudget.js"

export type BudgetLayer = (options: BudgetOptions) => Layer.Layer<RateBudget, RateBudgetError>

/** Windows of 1 s (margin 50 ms): long enough that a loaded machine does not age a slot out mid-assertion. */
export const SECOND_WINDOWS = 1 / 60
/** chats.get locks for 1 s here, so lock expiry is observed quickly. */
export const SHORT_LOCKS = 1 / 300

export const SHARES: ShareTable = {
  "chats.list": { incremental: { reserve: 0.3 }, reconciliation: { max: 0.7 } }
}

export const freshAccount = () => ({ id: `acc-${randomUUID()}`, clientKey: `client-${randomUUID()}` })

export const target = (bucket: BucketId, extra: Partial<BudgetRequest> = {}): BudgetRequest => ({
  key: budgetKey(freshAccount(), bucket),
  bucket,
  ...extra
})

/** Decides until the first denial (at most `limit` tries). */
export const takeAll = (budget: RateBudgetShape, request: BudgetRequest, limit = 1000) =>
  Effect.gen(function* () {
    const grants: Array<Granted> = []
    for (let i = 0; i < limit; i++) {
      const decision: BudgetDecision = yield* budget.tryAcquire(request)
      if (decision._tag === "Denied") return { grants, denied: decision as Denied | undefined }
      grants.push(decision)
    }
    return { grants, denied: undefined as Denied | undefined }
  })

const effectiveWindow = (budget: RateBudgetShape, bucket: BucketId) => budget.buckets[bucket].windowMs + budget.marginMs

export const budgetBehaviour = (name: string, makeLayer: BudgetLayer) =>
  describe(`${name}: behaviour shared by every RateBudget`, () => {
    const withBudget = <A, E>(
      options: Partial<BudgetOptions>,
      body: (budget: RateBudgetShape) => Effect.Effect<A, E>
    ): Effect.Effect<A, E | RateBudgetError> =>
      Effect.flatMap(RateBudget, body).pipe(
        Effect.provide(makeLayer({ buckets: BUCKETS, timeScale: SECOND_WINDOWS, ...options }))
      )

    it.live("applies the time scale to windows and locks, and keeps thresholds", () =>
      withBudget({}, budget =>
        Effect.sync(() => {
          assert.strictEqual(budget.buckets["chats.get"].windowMs, Math.round(BUCKETS["chats.get"].windowMs / 60))
          assert.strictEqual(budget.buckets["chats.get"].lockMs, Math.round(BUCKETS["chats.get"].lockMs / 60))
          assert.strictEqual(budget.buckets["chats.get"].threshold, BUCKETS["chats.get"].threshold)
          assert.strictEqual(budget.marginMs, 50)
        })
      )
    )

    it.live("grants the threshold, then denies with retryAt = oldest slot + window + margin", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          const { grants, denied } = yield* takeAll(budget, request)
          assert.strictEqual(grants.length, budget.buckets["chats.get"].threshold)
          assert.strictEqual(denied?.reason, "window_full")
          assert.strictEqual(denied?.retryAt, Math.ceil(grants[0]!.at + effectiveWindow(budget, "chats.get")))
          expect(denied!.now).toBeGreaterThanOrEqual(grants.at(-1)!.at)
          expect(new Set(grants.map(g => g.slotId)).size).toBe(grants.length)
        })
      )
    )

    it.live("acquire sleeps until the slot frees and is granted no earlier", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          const threshold = budget.buckets["chats.get"].threshold
          const fill = yield* budget.tryAcquire({ ...request, cost: threshold })
          assert.strictEqual(fill._tag, "Granted")
          const granted = yield* budget.acquire(request)
          const waited = granted.at - (fill as Granted).at
          expect(waited).toBeGreaterThanOrEqual(effectiveWindow(budget, "chats.get"))
          expect(waited).toBeLessThan(effectiveWindow(budget, "chats.get") + 500)
        })
      )
    )

    it.live("acquireWithin returns the denial at once when the slot comes after the wait limit", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          yield* budget.tryAcquire({ ...request, cost: budget.buckets["chats.get"].threshold })
          const [elapsed, decision] = yield* Effect.timed(budget.acquireWithin(request, "100 millis"))
          assert.strictEqual(decision._tag, "Denied")
          expect(Duration.toMillis(elapsed)).toBeLessThan(effectiveWindow(budget, "chats.get") / 2)
          const later = yield* budget.acquireWithin(request, Duration.millis(2 * effectiveWindow(budget, "chats.get")))
          assert.strictEqual(later._tag, "Granted")
        })
      )
    )

    it.live("refund gives back a slot whose call was never sent, every unit of a costly one", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          const threshold = budget.buckets["chats.get"].threshold
          const big = yield* budget.tryAcquire({ ...request, cost: threshold - 1 })
          const last = yield* budget.tryAcquire(request)
          assert.strictEqual((yield* budget.tryAcquire(request))._tag, "Denied")
          yield* budget.refund(last as Granted)
          assert.strictEqual((yield* budget.tryAcquire(request))._tag, "Granted")
          yield* budget.refund(big as Granted)
          const { grants } = yield* takeAll(budget, request)
          assert.strictEqual(grants.length, threshold - 1)
        })
      )
    )

    it.live("settle counts a slot from the end of its call; a refunded slot stays gone", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          const threshold = budget.buckets["chats.get"].threshold
          const window = effectiveWindow(budget, "chats.get")
          const all = (yield* budget.tryAcquire({ ...request, cost: threshold })) as Granted
          yield* Effect.sleep(Duration.millis(300))
          yield* budget.settle(all)
          const denied = (yield* budget.tryAcquire(request)) as Denied
          assert.strictEqual(denied._tag, "Denied")
          // Counted from the settle (≥ 300 ms after the grant), not from the grant.
          expect(denied.retryAt).toBeGreaterThanOrEqual(all.at + 300 + window)
          expect(denied.retryAt).toBeLessThanOrEqual(denied.now + window + 1)

          const other = target("chats.get")
          const one = (yield* budget.tryAcquire({ ...other, cost: threshold })) as Granted
          yield* budget.refund(one)
          yield* budget.settle(one)
          assert.strictEqual((yield* budget.tryAcquire({ ...other, cost: threshold }))._tag, "Granted")
        })
      )
    )

    it.live("rejects costs that could never be granted and undeclared shares, as typed errors", () =>
      withBudget({ shares: SHARES }, budget =>
        Effect.gen(function* () {
          const threshold = budget.buckets["chats.get"].threshold
          const tooBig = yield* Effect.flip(budget.tryAcquire(target("chats.get", { cost: threshold + 1 })))
          assert.strictEqual(tooBig._tag, "RateBudgetError")
          const unknown = yield* Effect.flip(budget.tryAcquire(target("chats.list", { share: "nope" })))
          expect(unknown.message).toContain("nope")
          const zero = yield* Effect.flip(budget.tryAcquire(target("chats.get", { cost: 0 })))
          assert.strictEqual(zero._tag, "RateBudgetError")
        })
      )
    )

    it.live("a lock stops exactly its bucket for exactly its period", () =>
      withBudget({ timeScale: SHORT_LOCKS }, budget =>
        Effect.gen(function* () {
          const account = freshAccount()
          const locked = { key: budgetKey(account, "chats.get"), bucket: "chats.get" as const }
          const sibling = { key: budgetKey(account, "chats.search"), bucket: "chats.search" as const }
          const otherUser = target("chats.get")
          const lock = yield* budget.lock(locked)
          expect(lock.lockedUntil - lock.lockedAt).toBeCloseTo(budget.buckets["chats.get"].lockMs, 3)

          const denied = yield* budget.tryAcquire(locked)
          assert.strictEqual(denied._tag, "Denied")
          assert.strictEqual((denied as Denied).reason, "locked")
          assert.strictEqual((denied as Denied).retryAt, Math.ceil(lock.lockedUntil))
          expect((denied as Denied).now).toBeLessThan(lock.lockedUntil)
          assert.strictEqual((yield* budget.tryAcquire(sibling))._tag, "Granted")
          assert.strictEqual((yield* budget.tryAcquire(otherUser))._tag, "Granted")
          assert.strictEqual((yield* budget.usage(locked)).lockedUntil, lock.lockedUntil)

          const resumed = yield* budget.acquire(locked)
          expect(resumed.at).toBeGreaterThanOrEqual(lock.lockedUntil)
          expect(resumed.at - lock.lockedUntil).toBeLessThan(500)
          assert.strictEqual((yield* budget.usage(locked)).lockedUntil, null)
        })
      )
    )

    it.live("honours a longer Retry-After, ignores a shorter one, and never shortens a lock", () =>
      withBudget({ timeScale: SHORT_LOCKS }, budget =>
        Effect.gen(function* () {
          const lockMs = budget.buckets["chats.get"].lockMs
          const short = yield* budget.lock({ ...target("chats.get"), retryAfterMs: lockMs / 2 })
          expect(short.lockedUntil - short.lockedAt).toBeCloseTo(lockMs, 3)
          const request = target("chats.get")
          const long = yield* budget.lock({ ...request, retryAfterMs: 3 * lockMs })
          expect(long.lockedUntil - long.lockedAt).toBeCloseTo(3 * lockMs, 3)
          const again = yield* budget.lock(request)
          assert.strictEqual(again.lockedUntil, long.lockedUntil)
        })
      )
    )

    it.live("restoreLock puts a lock back: extends, never shortens, ignores a past deadline", () =>
      withBudget({ timeScale: SHORT_LOCKS }, budget =>
        Effect.gen(function* () {
          const request = target("chats.get")
          const now = (yield* budget.usage(request)).now
          assert.strictEqual(yield* budget.restoreLock({ ...request, lockedUntil: now - 1000 }), null)
          assert.strictEqual((yield* budget.tryAcquire(request))._tag, "Granted")
          const until = Math.ceil(now) + 60_000
          const restored = yield* budget.restoreLock({ ...request, lockedUntil: until })
          assert.strictEqual(restored?.lockedUntil, until)
          const denied = yield* budget.tryAcquire(request)
          assert.strictEqual((denied as Denied).reason, "locked")
          assert.strictEqual((denied as Denied).retryAt, until)
          assert.strictEqual((yield* budget.restoreLock({ ...request, lockedUntil: now + 1000 }))?.lockedUntil, until)
          assert.strictEqual((yield* budget.lock(request)).lockedUntil, until)
          assert.strictEqual((yield* budget.usage(request)).lockedUntil, until)
        })
      )
    )

    it.live("a capped share stops at its cap while the reserved share still gets the rest", () =>
      withBudget({ shares: SHARES }, budget =>
        Effect.gen(function* () {
          const threshold = budget.buckets["chats.list"].threshold
          const cap = Math.floor(0.7 * threshold)
          const key = budgetKey(freshAccount(), "chats.list")
          const sweep = yield* takeAll(budget, { key, bucket: "chats.list", share: "reconciliation" })
          assert.strictEqual(sweep.grants.length, cap)
          assert.strictEqual(sweep.denied?.reason, "share_exhausted")
          assert.strictEqual(
            sweep.denied?.retryAt,
            Math.ceil(sweep.grants[0]!.at + effectiveWindow(budget, "chats.list"))
          )
          const polls = yield* takeAll(budget, { key, bucket: "chats.list", share: "incremental" })
          assert.strictEqual(polls.grants.length, threshold - cap)
          assert.strictEqual(polls.denied?.reason, "window_full")
          const usage = yield* budget.usage({ key, bucket: "chats.list" })
          assert.deepStrictEqual(usage.byShare, { reconciliation: cap, incremental: threshold - cap })
        })
      )
    )

    it.live("the high-priority share may use everything; unreserved callers leave the reserve alone", () =>
      withBudget({ shares: SHARES }, budget =>
        Effect.gen(function* () {
          const threshold = budget.buckets["chats.list"].threshold
          const reserve = Math.floor(0.3 * threshold)
          const polls = yield* takeAll(budget, target("chats.list", { share: "incremental" }))
          assert.strictEqual(polls.grants.length, threshold)
          const anyone = yield* takeAll(budget, target("chats.list"))
          assert.strictEqual(anyone.grants.length, threshold - reserve)
          assert.strictEqual(anyone.denied?.reason, "share_exhausted")
        })
      )
    )

    it.live("retryAt of a caller blocked by another share's reserve is the first expiry that admits it", () =>
      withBudget({ shares: SHARES }, budget =>
        Effect.gen(function* () {
          const key = budgetKey(freshAccount(), "chats.list")
          const sweep = yield* takeAll(budget, { key, bucket: "chats.list", share: "reconciliation" })
          yield* budget.tryAcquire({ key, bucket: "chats.list", share: "incremental", cost: 2 })
          const blocked = yield* budget.tryAcquire({ key, bucket: "chats.list" })
          assert.strictEqual(blocked._tag, "Denied")
          assert.strictEqual((blocked as Denied).reason, "share_exhausted")
          assert.strictEqual(
            (blocked as Denied).retryAt,
            Math.ceil(sweep.grants[0]!.at + effectiveWindow(budget, "chats.list"))
          )
        })
      )
    )

    it.live("usage and snapshot report threshold, calls in the window and locks", () =>
      withBudget({}, budget =>
        Effect.gen(function* () {
          const a = target("chats.get")
          const b = target("chats.create")
          yield* budget.tryAcquire(a)
          yield* budget.tryAcquire({ ...a, cost: 2 })
          yield* budget.lock(b)
          const [ua, ub] = yield* budget.snapshot([a, b])
          assert.strictEqual(ua!.threshold, budget.buckets["chats.get"].threshold)
          assert.strictEqual(ua!.windowMs, budget.buckets["chats.get"].windowMs)
          assert.strictEqual(ua!.usedInWindow, 3)
          assert.strictEqual(ua!.counted, 3)
          assert.deepStrictEqual(ua!.byShare, { "": 3 })
          assert.strictEqual(ua!.lockedUntil, null)
          assert.strictEqual(ua!.recoveringUntil, null)
          assert.strictEqual(ub!.usedInWindow, 0)
          expect(ub!.lockedUntil).toBeGreaterThan(ub!.now)
          assert.deepStrictEqual(yield* budget.snapshot([]), [])
        })
      )
    )
  })
