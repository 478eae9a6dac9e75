import { Clock, Deferred, Duration, Effect, Exit, Fiber, FiberId, type Scope } from "effect"
import type { PassClass } from "./PassGate.js"

/**
 * When each stream of each account the process owns runs next (docs/architecture.md#scheduler). Rather than a fiber
 * per stream sleeping between passes (tens of kilobytes each, a wake-up each), one dispatcher keeps every stream's
 * due time in a heap; a stream that is due asks the pass gate for a turn (no fiber waits in line), and only a granted
 * turn forks a short-lived fiber for the pass. An idle account costs a few objects, a backlog a queue entry per stream.
 */

/** A min-heap of entries by `at`, then by insertion: the stream due first, and among equals the one queued first. */
export class DueHeap<T> {
  private readonly items: Array<{ readonly at: number; readonly seq: number; readonly value: T }> = []
  private seq = 0

  get size(): number {
    return this.items.length
  }

  push(at: number, value: T): void {
    const items = this.items
    items.push({ at, seq: this.seq++, value })
    let i = items.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if (!this.before(i, up)) break
      this.swap(i, up)
      i = up
    }
  }

  peek(): { readonly at: number; readonly value: T } | undefined {
    return this.items[0]
  }

  pop(): { readonly at: number; readonly value: T } | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    while (true) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < items.length && this.before(l, m)) m = l
      if (r < items.length && this.before(r, m)) m = r
      if (m === i) break
      this.swap(i, m)
      i = m
    }
    return top
  }

  private before(a: number, b: number): boolean {
    const x = this.items[a]!
    const y = this.items[b]!
    return x.at < y.at || (x.at === y.at && x.seq < y.seq)
  }

  private swap(a: number, b: number): void {
    const t = this.items[a]!
    this.items[a] = this.items[b]!
    this.items[b] = t
  }
}

/** One stream of one account: `step` runs a pass and answers the pause until the next one. */
export interface StreamTask {
  readonly accountId: string
  readonly stream: string
  readonly cls: PassClass
  readonly step: Effect.Effect<Duration.Duration>
}

/** The pass gate as the scheduler uses it (PassGate.ts). */
export interface Turns {
  readonly request: (cls: PassClass, onGranted: () => void) => () => boolean
  readonly release: (cls: PassClass) => void
  readonly runHeld: <A, E, R>(cls: PassClass, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Entry {
  readonly task: StreamTask
  /** The due time in force; heap entries with another time are stale (the stream was re-timed) and skipped. */
  dueAt: number
  /** Set while the stream waits in line for a turn: leaves the line (false once the turn was granted). */
  cancel: (() => boolean) | undefined
  /** Granted a turn, not started yet. */
  ready: boolean
  running: Fiber.RuntimeFiber<Duration.Duration> | undefined
  /** Asked to run again as soon as the running pass ends. */
  poked: boolean
  removed: boolean
}

export interface Scheduler {
  /** Adds the account's streams, each first due `delay` from now. */
  readonly add: (tasks: ReadonlyArray<StreamTask>, delay: Duration.DurationInput) => Effect.Effect<void>
  /** Removes every stream of these accounts; returns once their running passes have been interrupted and ended. */
  readonly remove: (accountIds: ReadonlyArray<string>) => Effect.Effect<void>
  /** Makes a stream due now (or, while it runs, again as soon as it ends). */
  readonly poke: (accountId: string, stream: string) => Effect.Effect<void>
  /** Streams known, and passes running now. */
  readonly stats: () => { readonly streams: number; readonly running: number }
}

const keyOf = (accountId: string, stream: string) => `${accountId}\u0000${stream}`

/** The scheduler and its dispatcher fiber, which lives as long as `scope`; passes run as fibers of that scope. */
export const makeScheduler = (scope: Scope.Scope, turns: Turns): Effect.Effect<Scheduler> =>
  Effect.gen(function* () {
    const heap = new DueHeap<Entry>()
    const granted: Array<Entry> = []
    const entries = new Map<string, Entry>()
    const byAccount = new Map<string, Set<Entry>>()
    let running = 0
    // The dispatcher sleeps until the earliest due time it knew of, or until this is completed by an earlier one.
    let wake = Deferred.unsafeMake<void>(FiberId.none)
    let sleepingUntil = Number.POSITIVE_INFINITY

    const due = (entry: Entry, at: number) => {
      entry.dueAt = at
      heap.push(at, entry)
      if (at < sleepingUntil) {
        sleepingUntil = at
        Deferred.unsafeDone(wake, Exit.void)
      }
    }
    const inLine = (entry: Entry) => {
      // The turn may be granted at once, inside `request`: only a request still in line keeps its cancel.
      const cancel = turns.request(entry.task.cls, () => {
        entry.cancel = undefined
        entry.ready = true
        granted.push(entry)
        sleepingUntil = Number.NEGATIVE_INFINITY
        Deferred.unsafeDone(wake, Exit.void)
      })
      if (!entry.ready) entry.cancel = cancel
    }

    const finished = (entry: Entry, exit: Exit.Exit<Duration.Duration>) =>
      Effect.flatMap(Clock.currentTimeMillis, now =>
        Effect.sync(() => {
          entry.running = undefined
          running--
          if (entry.removed) return
          // A step never fails; a defect or an interruption from elsewhere waits a minute rather than spinning.
          const pause = Exit.isSuccess(exit) ? Duration.toMillis(exit.value) : 60_000
          due(entry, entry.poked ? now : now + pause)
          entry.poked = false
        })
      )

    // Forked uninterruptible, so the pass's own release of its turn is in place before an interruption can land. The
    // pass may end (and `finished` run) before this fiber gets to note it as running; one whose account was removed
    // meanwhile is interrupted here.
    const start = (entry: Entry) =>
      Effect.gen(function* () {
        running++
        entry.ready = false
        const fiber = yield* Effect.uninterruptible(
          Effect.forkIn(
            turns
              .runHeld(entry.task.cls, Effect.interruptible(entry.task.step))
              .pipe(Effect.onExit(exit => finished(entry, exit))),
            scope
          )
        )
        if (fiber.unsafePoll() !== null) return
        entry.running = fiber
        if (entry.removed) yield* Fiber.interrupt(fiber)
      })

    // Takes the next due time and a fresh wake-up signal in one synchronous step, so that a stream made due by another
    // fiber in between is either seen here or completes the signal this dispatcher then waits on. A turn granted after
    // the dispatcher drained `granted` and before this step (the fiber may yield between them, and a pass ending
    // meanwhile hands its permit on) completed the signal replaced here and is in no heap: it is due now, or it would
    // hold its permit unstarted until the next due time.
    const plan = Effect.sync(() => {
      wake = Deferred.unsafeMake<void>(FiberId.none)
      sleepingUntil = granted.length > 0 ? Number.NEGATIVE_INFINITY : (heap.peek()?.at ?? Number.POSITIVE_INFINITY)
      return { signal: wake, until: sleepingUntil }
    })
    const dispatch = Effect.gen(function* () {
      while (true) {
        const now = yield* Clock.currentTimeMillis
        for (let top = heap.peek(); top !== undefined && top.at <= now; top = heap.peek()) {
          heap.pop()
          const entry = top.value
          const busy = entry.running !== undefined || entry.cancel !== undefined || entry.ready
          if (entry.removed || busy || entry.dueAt !== top.at) continue
          inLine(entry)
        }
        for (let entry = granted.shift(); entry !== undefined; entry = granted.shift()) {
          if (entry.removed) {
            entry.ready = false
            turns.release(entry.task.cls)
          } else yield* start(entry)
        }
        const { signal, until } = yield* plan
        if (until <= now) continue
        yield* until === Number.POSITIVE_INFINITY
          ? Deferred.await(signal)
          : Effect.raceFirst(Effect.sleep(Duration.millis(until - now)), Deferred.await(signal))
      }
    })
    yield* Effect.forkIn(dispatch, scope)

    const add = (tasks: ReadonlyArray<StreamTask>, delay: Duration.DurationInput) =>
      Effect.flatMap(Clock.currentTimeMillis, now =>
        Effect.sync(() => {
          for (const task of tasks) {
            const key = keyOf(task.accountId, task.stream)
            if (entries.has(key)) continue
            const entry: Entry = {
              task,
              dueAt: 0,
              cancel: undefined,
              ready: false,
              running: undefined,
              poked: false,
              removed: false
            }
            entries.set(key, entry)
            const own = byAccount.get(task.accountId) ?? new Set<Entry>()
            byAccount.set(task.accountId, own)
            own.add(entry)
            due(entry, now + Duration.toMillis(delay))
          }
        })
      )

    const remove = (accountIds: ReadonlyArray<string>) =>
      Effect.suspend(() => {
        const fibers: Array<Fiber.RuntimeFiber<Duration.Duration>> = []
        for (const id of accountIds) {
          for (const entry of byAccount.get(id) ?? []) {
            entry.removed = true
            entries.delete(keyOf(id, entry.task.stream))
            entry.cancel?.()
            entry.cancel = undefined
            if (entry.running !== undefined) fibers.push(entry.running)
          }
          byAccount.delete(id)
        }
        return Fiber.interruptAll(fibers)
      })

    const poke = (accountId: string, stream: string) =>
      Effect.flatMap(Clock.currentTimeMillis, now =>
        Effect.sync(() => {
          const entry = entries.get(keyOf(accountId, stream))
          if (entry === undefined || entry.removed || entry.cancel !== undefined || entry.ready) return
          if (entry.running !== undefined) entry.poked = true
          else if (entry.dueAt > now) due(entry, now)
        })
      )

    return {
      add,
      remove,
      poke,
      stats: () => ({ streams: entries.size, running })
    } satisfies Scheduler
  })
