import { Effect } from "effect"

/**
 * A counting semaphore that hands a released permit to the longest waiter. Effect's `Semaphore` wakes every waiter on
 * each release (all but one go back to wait, at the end of the line): with a thousand accounts' fibers waiting, each
 * release costs a thousand wake-ups and the order is lost. Here a release wakes exactly one, in arrival order.
 */
export interface FairGate {
  /** Waits for a permit (first come, first served); pair with `release`, e.g. in `Effect.acquireRelease`. */
  readonly take: Effect.Effect<void>
  readonly release: Effect.Effect<void>
  readonly withPermit: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Fibers waiting for a permit now. */
  readonly waiting: () => number
}

interface Waiter {
  granted: boolean
  readonly resume: () => void
}

export const makeFairGate = (permits: number): FairGate => {
  let free = permits
  const queue = new Set<Waiter>()
  const release = () => {
    const next = queue.values().next()
    if (next.done) {
      free++
      return
    }
    queue.delete(next.value)
    next.value.granted = true
    next.value.resume()
  }
  const take = Effect.async<void>(resume => {
    if (free > 0) {
      free--
      resume(Effect.void)
      return
    }
    const waiter: Waiter = { granted: false, resume: () => resume(Effect.void) }
    queue.add(waiter)
    // Interrupted while waiting: leave the line, or pass on the permit handed over in the meantime.
    return Effect.sync(() => (waiter.granted ? release() : queue.delete(waiter)))
  })
  return {
    take,
    release: Effect.sync(release),
    withPermit: self =>
      Effect.uninterruptibleMask(restore =>
        Effect.flatMap(restore(take), () => Effect.ensuring(restore(self), Effect.sync(release)))
      ),
    waiting: () => queue.size
  }
}
