import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffAfter, commandBackoff, estimateEta } from "@cliq-mirror/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, TestClock } from "effect"

describe("command backoff", () => {
  it.effect("doubles from 2 s with ±20 % jitter and stops growing at 5 minutes", () =>
    Effect.gen(function* () {
      for (const [attempts, base] of [
        [1, BACKOFF_BASE_MS],
        [2, BACKOFF_BASE_MS * 2],
        [4, BACKOFF_BASE_MS * 8]
      ] as const) {
        const ms = Duration.toMillis(yield* backoffAfter(attempts, 1))
        assert.isAtLeast(ms, base * 0.8, `attempt ${attempts}`)
        assert.isAtMost(ms, base * 1.2, `attempt ${attempts}`)
      }
      assert.isAtMost(Duration.toMillis(yield* backoffAfter(12, 1)), BACKOFF_CAP_MS)
    })
  )

  it.effect("the schedule waits its delays on the clock: nothing retries before them, each retry after them", () =>
    Effect.gen(function* () {
      const tries = yield* Ref.make(0)
      const failing = Effect.zipRight(
        Ref.update(tries, n => n + 1),
        Effect.fail("down")
      )
      const fiber = yield* Effect.fork(Effect.retry(failing, commandBackoff(1)))
      yield* TestClock.adjust(Duration.millis(1))
      assert.strictEqual(yield* Ref.get(tries), 1)
      yield* TestClock.adjust(Duration.millis(BACKOFF_BASE_MS * 0.8 - 10))
      assert.strictEqual(yield* Ref.get(tries), 1)
      yield* TestClock.adjust(Duration.millis(BACKOFF_BASE_MS * 0.4 + 10))
      assert.strictEqual(yield* Ref.get(tries), 2)
      yield* TestClock.adjust(Duration.millis(BACKOFF_BASE_MS * 2 * 1.2))
      assert.strictEqual(yield* Ref.get(tries), 3)
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("scaled: the same shape in test time", () =>
    Effect.gen(function* () {
      const ms = Duration.toMillis(yield* backoffAfter(1, 0.01))
      assert.isAtLeast(ms, BACKOFF_BASE_MS * 0.01 * 0.8)
      assert.isAtMost(ms, BACKOFF_BASE_MS * 0.01 * 1.2)
    })
  )
})

describe("the eta rule (daemon and API)", () => {
  const base = { carry: 1, threshold: 20, periodMs: 62_000, now: 1_000, lockedUntil: null, stored: null }
  it("room in the window: now", () => {
    assert.strictEqual(estimateEta({ ...base, ahead: 4, counted: 10 }), 1_000)
  })
  it("a full window, next slot unknown: one period per threshold of calls beyond the free ones", () => {
    assert.strictEqual(estimateEta({ ...base, ahead: 0, counted: 20 }), 63_000)
    assert.strictEqual(estimateEta({ ...base, ahead: 20, counted: 20 }), 125_000)
  })
  it("a known next slot: from there", () => {
    assert.strictEqual(estimateEta({ ...base, ahead: 0, counted: 20, freesAt: 5_000 }), 5_000)
    assert.strictEqual(estimateEta({ ...base, ahead: 19, counted: 20, freesAt: 5_000 }), 5_000)
    assert.strictEqual(estimateEta({ ...base, ahead: 20, counted: 20, freesAt: 5_000 }), 67_000)
  })
  it("a lock: not before it ends; never before a stored backoff", () => {
    assert.strictEqual(estimateEta({ ...base, ahead: 0, counted: 0, lockedUntil: 9_000 }), 9_000)
    assert.strictEqual(estimateEta({ ...base, ahead: 0, counted: 0, stored: 20_000 }), 20_000)
  })
})
