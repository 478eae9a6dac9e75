import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Duration, Effect, Exit, Scheduler, Scope, TestClock } from "effect"
import { makePassGate } from "../src/Sync/PassGate.js"
import { DueHeap, makeScheduler, type StreamTask, type Turns } from "../src/Sync/Scheduler.js"
import { failureDelayMs } from "../src/Sync/StreamLoop.js"

describe("DueHeap", () => {
  it("pops by due time, and equal times in the order they were pushed", () => {
    const heap = new DueHeap<string>()
    const times = [50, 10, 30, 10, 70, 0, 30, 90, 20]
    for (const [i, at] of times.entries()) heap.push(at, `${at}#${i}`)
    const out: Array<string> = []
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) out.push(top.value)
    expect(out).toEqual(["0#5", "10#1", "10#3", "20#8", "30#2", "30#6", "50#0", "70#4", "90#7"])
    expect(heap.size).toBe(0)
  })
})

describe("failureDelayMs", () => {
  it("doubles per failure from the base, jittered, and never exceeds the cap", () => {
    expect([1, 2, 3, 4].map(n => failureDelayMs(n, 100, 10_000, 1))).toEqual([100, 200, 400, 800])
    expect(failureDelayMs(2, 100, 10_000, 0.8)).toBe(160)
    expect(failureDelayMs(30, 100, 10_000, 1.2)).toBe(10_000)
    expect(failureDelayMs(5_000, 100, 10_000, 1)).toBe(10_000)
  })
})

/** A task whose every run is recorded (by test-clock time) and answers `pause`. */
const recorded = (accountId: string, stream: string, pause: number, runs: Array<string>) =>
  ({
    accountId,
    stream,
    cls: "incremental",
    step: Effect.map(Clock.currentTimeMillis, now => {
      runs.push(`${accountId}/${stream}@${now}`)
      return Duration.millis(pause)
    })
  }) satisfies StreamTask

describe("makeScheduler", () => {
  it.scoped("runs each stream when due, again after the pause its run answered", () =>
    Effect.gen(function* () {
      const scheduler = yield* makeScheduler(yield* Effect.scope, makePassGate(4))
      const runs: Array<string> = []
      yield* scheduler.add([recorded("a", "fast", 100, runs), recorded("a", "slow", 250, runs)], "0 millis")
      yield* scheduler.add([recorded("b", "fast", 100, runs)], "50 millis")
      for (let t = 0; t < 300; t += 10) yield* TestClock.adjust("10 millis")
      expect(runs.filter(r => r.startsWith("a/fast"))).toEqual(["a/fast@0", "a/fast@100", "a/fast@200", "a/fast@300"])
      expect(runs.filter(r => r.startsWith("a/slow"))).toEqual(["a/slow@0", "a/slow@250"])
      expect(runs.filter(r => r.startsWith("b/"))).toEqual(["b/fast@50", "b/fast@150", "b/fast@250"])
    })
  )

  it.scoped("a poke makes an idle stream due at once, and a running one run again as soon as it ends", () =>
    Effect.gen(function* () {
      const scheduler = yield* makeScheduler(yield* Effect.scope, makePassGate(4))
      let runs = 0
      const gate = yield* Deferred.make<void>()
      const blocking: StreamTask = {
        accountId: "a",
        stream: "s",
        cls: "incremental",
        step: Effect.zipRight(
          Effect.sync(() => runs++),
          Effect.as(Deferred.await(gate), Duration.hours(1))
        )
      }
      yield* scheduler.add([blocking], "1 hour")
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(0)
      yield* scheduler.poke("a", "s")
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(1)
      // Poked while running: the next run follows the end of this one, not the hour it answers.
      yield* scheduler.poke("a", "s")
      yield* Deferred.succeed(gate, undefined)
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(2)
      expect(scheduler.stats()).toEqual({ streams: 1, running: 0 })
    })
  )

  it.effect("removing an account interrupts its running passes and runs none of its streams again", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const scheduler = yield* makeScheduler(scope, makePassGate(4))
      const interrupted = yield* Deferred.make<void>()
      let runs = 0
      const task: StreamTask = {
        accountId: "a",
        stream: "s",
        cls: "incremental",
        step: Effect.zipRight(
          Effect.sync(() => runs++),
          Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
        )
      }
      const other: StreamTask = {
        accountId: "b",
        stream: "s",
        cls: "incremental",
        step: Effect.succeed(Duration.millis(10))
      }
      yield* scheduler.add([task, other], "0 millis")
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(1)
      yield* scheduler.remove(["a"])
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      yield* scheduler.poke("a", "s")
      yield* TestClock.adjust("1 second")
      expect(runs).toBe(1)
      expect(scheduler.stats()).toEqual({ streams: 1, running: 0 })
      yield* Scope.close(scope, Exit.void)
    })
  )

  it.scoped("streams due beyond the gate's permits wait in line, not as fibers, and run as turns free up", () =>
    Effect.gen(function* () {
      const gate = makePassGate(2)
      const scheduler = yield* makeScheduler(yield* Effect.scope, gate)
      const go = yield* Deferred.make<void>()
      let runs = 0
      const tasks = ["a", "b", "c", "d", "e"].map(
        (accountId): StreamTask => ({
          accountId,
          stream: "s",
          cls: "incremental",
          step: Effect.zipRight(
            Effect.sync(() => runs++),
            Effect.as(Deferred.await(go), Duration.hours(1))
          )
        })
      )
      yield* scheduler.add(tasks, "0 millis")
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(2)
      expect(scheduler.stats().running).toBe(2)
      expect(gate.stats().waiting.incremental).toBe(3)
      yield* Deferred.succeed(go, undefined)
      yield* TestClock.adjust("1 millis")
      expect(runs).toBe(5)
      expect(gate.stats()).toMatchObject({ held: { incremental: 0 }, waiting: { incremental: 0 } })
    })
  )

  it.effect("a turn handed on while the dispatcher is between its steps still runs at once", () =>
    Effect.gen(function* () {
      // One permit, two streams due: `a` is granted its turn, `b` waits in line until `a`'s pass ends. The dispatcher,
      // having started `a`, yields once at its k-th step (as any fiber does every so many steps), so `a`'s pass runs
      // and hands the permit to `b` just then. Every k up to the dispatcher's going to sleep is tried, so one of them
      // falls between its draining of the granted turns and its taking of the next due time.
      for (let k = 1; ; k++) {
        let countdown = -1
        let dispatcher: unknown
        const yieldOnce = Scheduler.make(
          (task, priority, fiber) => Scheduler.defaultScheduler.scheduleTask(task, priority, fiber),
          fiber => {
            if (countdown < 0) return false
            // Armed from inside the dispatcher (by `runHeld`): the first fiber to ask is the dispatcher.
            dispatcher ??= fiber
            if (fiber !== dispatcher || --countdown > 0) return false
            countdown = -1
            return 0
          }
        )
        const gate = makePassGate(1)
        let armed = false
        const turns: Turns = {
          ...gate,
          runHeld: (cls, self) => {
            if (!armed) {
              armed = true
              countdown = k
            }
            return gate.runHeld(cls, self)
          }
        }
        const scope = yield* Scope.make()
        const scheduler = yield* makeScheduler(scope, turns).pipe(Effect.withScheduler(yieldOnce))
        const runs: Array<string> = []
        const start = yield* Clock.currentTimeMillis
        yield* scheduler.add([recorded("a", "s", 3_600_000, runs), recorded("b", "s", 3_600_000, runs)], "0 millis")
        yield* TestClock.adjust("1 millis")
        expect({ k, runs }).toEqual({ k, runs: [`a/s@${start}`, `b/s@${start}`] })
        yield* Scope.close(scope, Exit.void)
        // The dispatcher took fewer than k steps after starting `a` (it went to sleep): every point has been tried.
        if (countdown > 0) break
        expect(k).toBeLessThan(1_000)
      }
    })
  )
})
