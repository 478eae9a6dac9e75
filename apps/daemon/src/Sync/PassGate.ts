import { Effect, FiberRef } from "effect"
import { SyncConcurrency } from "../Config.js"
import { observePassGate } from "../Metrics.js"

/**
 * Sync passes of every account of the process take turns here (docs/architecture.md#pass-gate). A pass starts only
 * with a permit (the scheduler asks for it when the stream is due; no fiber waits meanwhile) and holds it to its end,
 * so the passes running, and the pages fetched and not yet written, are bounded by SYNC_CONCURRENCY however many
 * accounts the process owns. A pass gives the permit up while it waits for the rate budget, so a locked or exhausted
 * bucket never holds one. When more passes are due than there are permits, incremental polls go first (`grantTo`).
 */
export const PASS_CLASSES = ["incremental", "hidden", "state", "members"] as const
/**
 * In order of precedence: `incremental` (the polls that bring new messages, renames, unread counts), `hidden` (the
 * hidden states those polls queued: four or five listings per drain, however few chats are queued, so a drain that
 * waits longer covers more chats per call), `state` (the state listings and reconciliation, which also complete a new
 * mirror's closed chats and flags), `members` (member lists, a long backlog after a backfill).
 */
export type PassClass = (typeof PASS_CLASSES)[number]

export interface GateCounts {
  readonly permits: number
  readonly held: Readonly<Record<PassClass, number>>
  readonly waiting: Readonly<Record<PassClass, number>>
  /** Permits granted to other classes in a row while this one waited with none running (absent: none). */
  readonly passedOver?: Readonly<Record<PassClass, number>>
}

/** Every class after the first holds at most half the permits at once. */
export const classCap = (permits: number): number => Math.max(1, Math.floor(permits / 2))

/** The part of the permits each class is sure of while it has passes waiting. */
const SHARES: Readonly<Record<PassClass, number>> = { incremental: 1 / 2, hidden: 1 / 8, state: 1 / 4, members: 1 / 8 }

/** The permits `cls` is sure of while it has passes waiting (at least one). */
export const classShare = (permits: number, cls: PassClass): number => Math.max(1, Math.floor(permits * SHARES[cls]))

/**
 * A class waiting with nothing running is served once this many permits in a row went to others. With 8 or more
 * permits every waiting class holds its share, so this never applies; with fewer, the shares add up to more than the
 * permits and the foremost classes would otherwise keep every permit while they have passes waiting.
 */
export const STARVED_AFTER = 8

/**
 * Which class a free permit goes to, if any: a class starved (waiting with none running, passed over STARVED_AFTER
 * times); else the foremost waiting class below its share (every class progresses, the backstops cannot crowd out
 * freshness); else the foremost waiting class, those after the first only below `classCap`.
 */
export const grantTo = (c: GateCounts): PassClass | undefined => {
  if (PASS_CLASSES.reduce((sum, cls) => sum + c.held[cls], 0) >= c.permits) return undefined
  const starved = PASS_CLASSES.find(
    cls => c.waiting[cls] > 0 && c.held[cls] === 0 && (c.passedOver?.[cls] ?? 0) >= STARVED_AFTER
  )
  if (starved !== undefined) return starved
  const short = PASS_CLASSES.find(cls => c.waiting[cls] > 0 && c.held[cls] < classShare(c.permits, cls))
  if (short !== undefined) return short
  return PASS_CLASSES.find((cls, i) => c.waiting[cls] > 0 && (i === 0 || c.held[cls] < classCap(c.permits)))
}

/** What a running pass carries (in `currentPass`): how it takes its permit back, and how it waits without one. */
export interface PassTicket {
  /** Takes the pass's permit back unless it holds one; Upstream calls it before every budget request. */
  readonly enter: Effect.Effect<void>
  /** Runs `wait` (a budget pause) without the permit, and takes it back after. */
  readonly away: (wait: Effect.Effect<void>) => Effect.Effect<void>
}

/** The ticket of the pass this fiber (or the fiber that forked it) runs; undefined outside sync passes (commands). */
export const currentPass = FiberRef.unsafeMake<PassTicket | undefined>(undefined)

interface Waiter {
  readonly cls: PassClass
  granted: boolean
  readonly resume: () => void
}

export interface PassGateStats {
  readonly permits: number
  readonly held: Record<PassClass, number>
  readonly waiting: Record<PassClass, number>
}

const perClass = <A>(f: (cls: PassClass) => A): Record<PassClass, A> =>
  Object.fromEntries(PASS_CLASSES.map(cls => [cls, f(cls)])) as Record<PassClass, A>

/** The gate itself: FIFO within a class, `grantTo` between classes; a release wakes exactly one waiter. */
export const makePassGate = (permits: number) => {
  const held = perClass(() => 0)
  const queues = perClass(() => new Set<Waiter>())
  const passedOver = perClass(() => 0)
  const counts = (): GateCounts => ({ permits, held, waiting: perClass(cls => queues[cls].size), passedOver })
  const dispatch = () => {
    for (let cls = grantTo(counts()); cls !== undefined; cls = grantTo(counts())) {
      const next = queues[cls].values().next().value!
      queues[cls].delete(next)
      for (const other of PASS_CLASSES) {
        passedOver[other] = other !== cls && queues[other].size > 0 && held[other] === 0 ? passedOver[other] + 1 : 0
      }
      held[cls]++
      next.granted = true
      next.resume()
    }
  }
  const release = (cls: PassClass) => {
    held[cls]--
    dispatch()
  }
  const take = (cls: PassClass) =>
    Effect.async<void>(resume => {
      const waiter: Waiter = { cls, granted: false, resume: () => resume(Effect.void) }
      queues[cls].add(waiter)
      dispatch()
      // Interrupted while waiting: leave the line, or pass on the permit handed over in the meantime.
      return Effect.sync(() => (waiter.granted ? release(cls) : queues[cls].delete(waiter)))
    })

  /**
   * Queues a request for a permit of `cls` without a fiber waiting: `onGranted` is called (synchronously, from the
   * release that frees it) once the permit is the caller's. The answer cancels: true if the request left the line
   * before it was granted; false if the permit was granted already and is the caller's to use or `release`.
   */
  const request = (cls: PassClass, onGranted: () => void): (() => boolean) => {
    const waiter: Waiter = { cls, granted: false, resume: onGranted }
    queues[cls].add(waiter)
    dispatch()
    return () => !waiter.granted && queues[cls].delete(waiter)
  }

  /**
   * Runs one pass that holds a permit of `cls` (granted to its `request`), under a ticket that gives the permit up
   * during budget waits and takes it back after; the permit is released when the pass ends, however it ends.
   */
  const runHeld = <A, E, R>(cls: PassClass, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      // Permits this pass holds: normally 1, 0 while it waits for the budget; two fibers of one pass coming back from
      // budget waits at once may take one each.
      let holding = 1
      const enter = Effect.suspend(() =>
        holding > 0
          ? Effect.void
          : Effect.uninterruptibleMask(restore =>
              Effect.zipRight(
                restore(take(cls)),
                Effect.sync(() => {
                  holding++
                })
              )
            )
      )
      const leave = Effect.sync(() => {
        for (; holding > 0; holding--) release(cls)
      })
      const ticket: PassTicket = {
        enter,
        away: wait =>
          Effect.suspend(() => (holding === 0 ? wait : Effect.zipRight(leave, Effect.zipRight(wait, enter))))
      }
      return Effect.locally(self, currentPass, ticket).pipe(Effect.ensuring(leave))
    })

  /** Waits for a permit of `cls` in this fiber, then runs `self` as `runHeld` does (for callers outside the scheduler). */
  const pass = <A, E, R>(cls: PassClass, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask(restore => Effect.zipRight(restore(take(cls)), runHeld(cls, restore(self))))

  const stats = (): PassGateStats => ({ permits, held: { ...held }, waiting: perClass(cls => queues[cls].size) })
  return { request, release, runHeld, pass, stats } as const
}

export class PassGate extends Effect.Service<PassGate>()("@cliq-mirror/daemon/PassGate", {
  effect: Effect.map(SyncConcurrency, permits => {
    const gate = makePassGate(permits)
    observePassGate(gate.stats)
    return gate
  })
}) {}
