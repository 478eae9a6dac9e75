import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Scope } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"
import { acquireLease } from "../src/Sync/AccountLease.js"

layer(DatabaseTest, { timeout: "60 seconds", excludeTestServices: true })("AccountLease", it => {
  it.effect("one holder per account at a time; the next takes over when the first lets go", () =>
    Effect.gen(function* () {
      const first = yield* Scope.make()
      yield* acquireLease("acc-1", "20 millis").pipe(Scope.extend(first))
      const acquired = yield* Deferred.make<void>()
      const second = yield* Effect.fork(
        Effect.scoped(acquireLease("acc-1", "20 millis").pipe(Effect.zipRight(Deferred.succeed(acquired, undefined))))
      )
      // another account is not blocked
      yield* Effect.scoped(acquireLease("acc-2", "20 millis"))
      yield* Effect.sleep("200 millis")
      assert.isFalse(yield* Deferred.isDone(acquired))
      yield* Scope.close(first, Exit.void)
      yield* Deferred.await(acquired).pipe(Effect.timeout("5 seconds"))
      yield* Fiber.join(second)
    })
  )
})
