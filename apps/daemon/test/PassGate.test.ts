import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberRef, TestClock } from "effect"
import {
  classCap,
  classShare,
  currentPass,
  type GateCounts,
  grantTo,
  makePassGate,
  type PassClass
} from "../src/Sync/PassGate.js"

/** Held and waiting passes as [fresh, state, members]. */
const counts = (permits: number, held: [number, number, number], waiting: [number, number, number]): GateCounts => ({
  permits,
  held: { fresh: held[0], state: held[1], members: held[2] },
  waiting: { fresh: waiting[0], state: waiting[1], members: waiting[2] }
})

describe("grantTo", () => {
  it("keeps a permit free when nobody waits, and grants none beyond the permits", () => {
    expect(grantTo(counts(4, [0, 0, 0], [0, 0, 0]))).toBeUndefined()
    expect(grantTo(counts(4, [2, 1, 1], [5, 5, 5]))).toBeUndefined()
  })
  it("gives each waiting class its share first, foremost class first", () => {
    expect([0, 1, 2].map(rank => classShare(16, rank))).toEqual([8, 4, 2])
    expect([0, 1, 2].map(rank => classShare(2, rank))).toEqual([1, 1, 1])
    expect(grantTo(counts(16, [3, 0, 0], [9, 9, 9]))).toBe("fresh")
    expect(grantTo(counts(16, [8, 0, 0], [9, 9, 9]))).toBe("state")
    expect(grantTo(counts(16, [8, 4, 0], [9, 9, 9]))).toBe("members")
    expect(grantTo(counts(16, [8, 4, 2], [9, 9, 9]))).toBe("fresh")
    expect(grantTo(counts(16, [0, 4, 2], [0, 9, 9]))).toBe("state")
  })
  it("beyond the shares, serves the classes in order, every class but the first below half the permits", () => {
    expect(classCap(16)).toBe(8)
    expect(classCap(1)).toBe(1)
    expect(grantTo(counts(16, [0, 8, 2], [0, 4, 9]))).toBe("members")
    expect(grantTo(counts(16, [0, 8, 8], [0, 4, 9]))).toBeUndefined()
    expect(grantTo(counts(16, [0, 7, 2], [0, 4, 0]))).toBe("state")
    expect(grantTo(counts(16, [8, 0, 0], [9, 0, 0]))).toBe("fresh")
  })
})

/** A pass that takes its turn (as its first upstream call would), signals it, then waits to be let go. */
const passHolding = (
  gate: ReturnType<typeof makePassGate>,
  cls: PassClass,
  order: Array<string>,
  name: string,
  go: Deferred.Deferred<void>
) =>
  gate.pass(
    cls,
    Effect.gen(function* () {
      const ticket = yield* FiberRef.get(currentPass)
      yield* ticket!.enter
      order.push(name)
      yield* Deferred.await(go)
    })
  )

describe("makePassGate", () => {
  it.effect("bounds passes holding a turn and serves the waiting ones by class, first come first served", () =>
    Effect.gen(function* () {
      const gate = makePassGate(2)
      const order: Array<string> = []
      const go = yield* Deferred.make<void>()
      const names: Array<[PassClass, string]> = [
        ["fresh", "f1"],
        ["fresh", "f2"],
        ["state", "b1"],
        ["fresh", "f3"],
        ["state", "b2"],
        ["fresh", "f4"]
      ]
      const fibers = yield* Effect.forEach(names, ([cls, name]) => Effect.fork(passHolding(gate, cls, order, name, go)))
      yield* Effect.yieldNow()
      expect(order).toEqual(["f1", "f2"])
      expect(gate.stats()).toMatchObject({ held: { fresh: 2, state: 0 }, waiting: { fresh: 2, state: 2 } })
      // Both finish: the first state pass goes (none runs), then the next fresh one; when the state pass ends, the next
      // goes before the last fresh pass, as no state pass would run otherwise.
      yield* Deferred.succeed(go, undefined)
      yield* Effect.forEach(fibers, Fiber.join)
      expect(order).toEqual(["f1", "f2", "b1", "f3", "b2", "f4"])
      expect(gate.stats()).toMatchObject({ held: { fresh: 0, state: 0 }, waiting: { fresh: 0, state: 0 } })
    })
  )

  it("requests wait in line without a fiber: granted by class and in order, or cancelled", () => {
    const gate = makePassGate(1)
    const granted: Array<string> = []
    const ask = (cls: PassClass, name: string) => gate.request(cls, () => granted.push(name))
    ask("fresh", "f1")
    ask("members", "m1")
    ask("fresh", "f2")
    const cancelF3 = ask("fresh", "f3")
    ask("state", "s1")
    expect(granted).toEqual(["f1"])
    expect(cancelF3()).toBe(true)
    // Each release hands the permit to one request: the foremost class with nothing running.
    for (const cls of ["fresh", "fresh", "state"] as const) gate.release(cls)
    expect(granted).toEqual(["f1", "f2", "s1", "m1"])
    expect(gate.stats()).toMatchObject({ held: { fresh: 0, state: 0, members: 1 }, waiting: { fresh: 0 } })
  })

  it.effect("a pass gives its turn up while the budget makes it wait, and takes it back after", () =>
    Effect.gen(function* () {
      const gate = makePassGate(1)
      const order: Array<string> = []
      const waiting = gate.pass(
        "fresh",
        Effect.gen(function* () {
          const ticket = yield* FiberRef.get(currentPass)
          yield* ticket!.enter
          order.push("waiter entered")
          yield* ticket!.away(Effect.sleep("10 seconds"))
          order.push("waiter back")
        })
      )
      const fiber = yield* Effect.fork(waiting)
      yield* Effect.yieldNow()
      // While it sleeps on the budget, another pass runs.
      yield* gate
        .pass(
          "fresh",
          Effect.flatMap(FiberRef.get(currentPass), t => t!.enter)
        )
        .pipe(Effect.tap(() => order.push("other ran")))
      expect(gate.stats().held.fresh).toBe(0)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(order).toEqual(["waiter entered", "other ran", "waiter back"])
    })
  )

  it.effect("an interrupted pass leaves the line or hands its turn on", () =>
    Effect.gen(function* () {
      const gate = makePassGate(1)
      const go = yield* Deferred.make<void>()
      const order: Array<string> = []
      const first = yield* Effect.fork(passHolding(gate, "fresh", order, "first", go))
      yield* Effect.yieldNow()
      const queued = yield* Effect.fork(passHolding(gate, "fresh", order, "queued", go))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(queued)
      expect(gate.stats().waiting.fresh).toBe(0)
      yield* Fiber.interrupt(first)
      expect(gate.stats().held.fresh).toBe(0)
      yield* Deferred.succeed(go, undefined)
      yield* passHolding(gate, "fresh", order, "after", go)
      expect(order).toEqual(["first", "after"])
    })
  )
})
