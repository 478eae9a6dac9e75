import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, FiberRef, TestClock } from "effect"
import {
  classCap,
  classShare,
  currentPass,
  type GateCounts,
  grantTo,
  makePassGate,
  PASS_CLASSES,
  type PassClass,
  STARVED_AFTER
} from "../src/Sync/PassGate.js"

type Four = [number, number, number, number]
/** Held and waiting passes as [incremental, hidden, state, members]. */
const counts = (permits: number, held: Four, waiting: Four): GateCounts => ({
  permits,
  held: { incremental: held[0], hidden: held[1], state: held[2], members: held[3] },
  waiting: { incremental: waiting[0], hidden: waiting[1], state: waiting[2], members: waiting[3] }
})

describe("grantTo", () => {
  it("keeps a permit free when nobody waits, and grants none beyond the permits", () => {
    expect(grantTo(counts(4, [0, 0, 0, 0], [0, 0, 0, 0]))).toBeUndefined()
    expect(grantTo(counts(4, [2, 1, 1, 0], [5, 5, 5, 5]))).toBeUndefined()
  })
  it("gives each waiting class its share first, foremost class first", () => {
    expect(PASS_CLASSES.map(cls => classShare(16, cls))).toEqual([8, 2, 4, 2])
    expect(PASS_CLASSES.map(cls => classShare(2, cls))).toEqual([1, 1, 1, 1])
    expect(grantTo(counts(16, [3, 0, 0, 0], [9, 9, 9, 9]))).toBe("incremental")
    expect(grantTo(counts(16, [8, 0, 0, 0], [9, 9, 9, 9]))).toBe("hidden")
    expect(grantTo(counts(16, [8, 2, 0, 0], [9, 9, 9, 9]))).toBe("state")
    expect(grantTo(counts(16, [8, 2, 4, 0], [9, 9, 9, 9]))).toBe("members")
    expect(grantTo(counts(16, [8, 2, 4, 2], [9, 9, 9, 9]))).toBeUndefined()
    expect(grantTo(counts(16, [0, 2, 0, 2], [0, 9, 9, 9]))).toBe("state")
  })
  it("beyond the shares, serves the classes in order, every class but the first below half the permits", () => {
    expect(classCap(16)).toBe(8)
    expect(classCap(1)).toBe(1)
    expect(grantTo(counts(16, [0, 2, 4, 2], [0, 9, 9, 9]))).toBe("hidden")
    expect(grantTo(counts(16, [0, 8, 4, 2], [0, 4, 9, 9]))).toBe("state")
    expect(grantTo(counts(16, [0, 0, 8, 4], [0, 0, 4, 9]))).toBe("members")
    expect(grantTo(counts(16, [0, 0, 8, 8], [0, 0, 4, 9]))).toBeUndefined()
    expect(grantTo(counts(16, [0, 0, 7, 2], [0, 0, 4, 0]))).toBe("state")
    expect(grantTo(counts(16, [8, 0, 0, 0], [9, 0, 0, 0]))).toBe("incremental")
  })
  it("serves a class passed over STARVED_AFTER times while it waited with nothing running", () => {
    const passedOver = (n: number) => ({ incremental: 0, hidden: 0, state: 0, members: n })
    const c = counts(4, [2, 1, 0, 0], [9, 9, 9, 9])
    expect(grantTo({ ...c, passedOver: passedOver(STARVED_AFTER - 1) })).toBe("state")
    expect(grantTo({ ...c, passedOver: passedOver(STARVED_AFTER) })).toBe("members")
    // One running is progress: the shares decide.
    expect(grantTo({ ...counts(5, [2, 1, 0, 1], [9, 9, 9, 9]), passedOver: passedOver(99) })).toBe("state")
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
        ["incremental", "f1"],
        ["incremental", "f2"],
        ["state", "b1"],
        ["incremental", "f3"],
        ["state", "b2"],
        ["incremental", "f4"]
      ]
      const fibers = yield* Effect.forEach(names, ([cls, name]) => Effect.fork(passHolding(gate, cls, order, name, go)))
      yield* Effect.yieldNow()
      expect(order).toEqual(["f1", "f2"])
      expect(gate.stats()).toMatchObject({ held: { incremental: 2, state: 0 }, waiting: { incremental: 2, state: 2 } })
      // Both finish: the first state pass goes (none runs), then the next incremental one; when the state pass ends, the next
      // goes before the last incremental pass, as no state pass would run otherwise.
      yield* Deferred.succeed(go, undefined)
      yield* Effect.forEach(fibers, Fiber.join)
      expect(order).toEqual(["f1", "f2", "b1", "f3", "b2", "f4"])
      expect(gate.stats()).toMatchObject({ held: { incremental: 0, state: 0 }, waiting: { incremental: 0, state: 0 } })
    })
  )

  it("requests wait in line without a fiber: granted by class and in order, or cancelled", () => {
    const gate = makePassGate(1)
    const granted: Array<string> = []
    const ask = (cls: PassClass, name: string) => gate.request(cls, () => granted.push(name))
    ask("incremental", "f1")
    ask("members", "m1")
    ask("incremental", "f2")
    const cancelF3 = ask("incremental", "f3")
    ask("state", "s1")
    expect(granted).toEqual(["f1"])
    expect(cancelF3()).toBe(true)
    // Each release hands the permit to one request: the foremost class with nothing running.
    for (const cls of ["incremental", "incremental", "state"] as const) gate.release(cls)
    expect(granted).toEqual(["f1", "f2", "s1", "m1"])
    expect(gate.stats()).toMatchObject({ held: { incremental: 0, state: 0, members: 1 }, waiting: { incremental: 0 } })
  })

  it("with fewer permits than classes, every class waiting all along still gets turns", () => {
    for (const permits of [1, 2, 3, 4, 6]) {
      const gate = makePassGate(permits)
      const served = new Map<PassClass, number>()
      const running: Array<PassClass> = []
      // Every class always has a pass waiting; each granted pass runs until the next round releases it.
      const ask = (cls: PassClass) =>
        gate.request(cls, () => {
          served.set(cls, (served.get(cls) ?? 0) + 1)
          running.push(cls)
        })
      for (const cls of PASS_CLASSES) for (let i = 0; i < 3; i++) ask(cls)
      for (let round = 0; round < 200; round++) {
        const done = running.shift()!
        ask(done)
        gate.release(done)
      }
      for (const cls of PASS_CLASSES) expect(served.get(cls) ?? 0, `${cls} with ${permits} permits`).toBeGreaterThan(5)
      // Precedence still holds: incremental polls get the most turns.
      expect(served.get("incremental")).toBeGreaterThanOrEqual(Math.max(...PASS_CLASSES.map(c => served.get(c) ?? 0)))
    }
  })

  it.effect("a pass gives its turn up while the budget makes it wait, and takes it back after", () =>
    Effect.gen(function* () {
      const gate = makePassGate(1)
      const order: Array<string> = []
      const waiting = gate.pass(
        "incremental",
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
          "incremental",
          Effect.flatMap(FiberRef.get(currentPass), t => t!.enter)
        )
        .pipe(Effect.tap(() => order.push("other ran")))
      expect(gate.stats().held.incremental).toBe(0)
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
      const first = yield* Effect.fork(passHolding(gate, "incremental", order, "first", go))
      yield* Effect.yieldNow()
      const queued = yield* Effect.fork(passHolding(gate, "incremental", order, "queued", go))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(queued)
      expect(gate.stats().waiting.incremental).toBe(0)
      yield* Fiber.interrupt(first)
      expect(gate.stats().held.incremental).toBe(0)
      yield* Deferred.succeed(go, undefined)
      yield* passHolding(gate, "incremental", order, "after", go)
      expect(order).toEqual(["first", "after"])
    })
  )
})
