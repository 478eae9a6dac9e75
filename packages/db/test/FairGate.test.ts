import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { makeFairGate } from "../src/FairGate.js"

describe("FairGate", () => {
  it.effect("hands each released permit to the longest waiter, in arrival order", () =>
    Effect.gen(function* () {
      const gate = makeFairGate(2)
      const order: Array<number> = []
      const hold = yield* Deferred.make<void>()
      const holders = yield* Effect.forEach([0, 1], i =>
        Effect.fork(
          gate.withPermit(
            Effect.zipRight(
              Effect.sync(() => order.push(i)),
              Deferred.await(hold)
            )
          )
        )
      )
      yield* Effect.yieldNow()
      const waiters = yield* Effect.forEach([2, 3, 4, 5], i =>
        Effect.fork(gate.withPermit(Effect.sync(() => void order.push(i))))
      )
      yield* Effect.yieldNow()
      assert.strictEqual(gate.waiting(), 4)
      yield* Deferred.succeed(hold, undefined)
      yield* Fiber.joinAll([...holders, ...waiters])
      assert.deepStrictEqual(order, [0, 1, 2, 3, 4, 5])
      assert.strictEqual(gate.waiting(), 0)
    })
  )

  it.effect("a waiter interrupted in line leaves it, and the permit goes to the next one", () =>
    Effect.gen(function* () {
      const gate = makeFairGate(1)
      const hold = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(gate.withPermit(Deferred.await(hold)))
      yield* Effect.yieldNow()
      const quitter = yield* Effect.fork(gate.withPermit(Effect.succeed("quitter")))
      const next = yield* Effect.fork(gate.withPermit(Effect.succeed("next")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(quitter)
      assert.strictEqual(gate.waiting(), 1)
      yield* Deferred.succeed(hold, undefined)
      yield* Fiber.join(holder)
      assert.strictEqual(yield* Fiber.join(next), "next")
      // Every permit came back: two more run one after the other without waiting.
      assert.deepStrictEqual(
        yield* Effect.all([gate.withPermit(Effect.succeed(1)), gate.withPermit(Effect.succeed(2))]),
        [1, 2]
      )
      assert.strictEqual(gate.waiting(), 0)
    })
  )

  it.effect("a failing holder gives its permit back", () =>
    Effect.gen(function* () {
      const gate = makeFairGate(1)
      const failed = yield* Effect.either(gate.withPermit(Effect.fail("boom")))
      assert.strictEqual(failed._tag, "Left")
      assert.strictEqual(yield* gate.withPermit(Effect.succeed("after")), "after")
    })
  )
})
