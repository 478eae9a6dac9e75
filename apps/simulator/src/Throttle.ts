import type { BucketId, BucketTable } from "@cliq-mirror/core"

export type ThrottleDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly kind: "threshold" | "locked"; readonly lockedUntil: number }

interface Slot {
  readonly bucket: BucketId
  stamps: Array<number>
  head: number
  lockedUntil: number
}

export interface ThrottleSlotStatus {
  readonly key: string
  readonly bucket: BucketId
  readonly inWindow: number
  readonly threshold: number
  readonly lockedUntilMs: number | null
}

/** Client-scoped buckets count every user of one OAuth client together: static tokens belong to the default client. */
export const throttleKey = (table: BucketTable, bucket: BucketId, userId: string, clientId: string): string =>
  table[bucket].scope === "user" ? `user:${userId}:${bucket}` : `client:${clientId}:${bucket}`

/**
 * Strict sliding window per key (docs/upstream.md#sim-throttle): the window is (now − windowMs, now]; the call that would make it hold
 * more than `threshold` is refused and opens the lock; during the lock every call is refused; refused calls neither
 * count nor extend the lock.
 */
export class Throttle {
  private readonly slots = new Map<string, Slot>()

  constructor(readonly table: BucketTable) {}

  admit(bucket: BucketId, key: string, now: number): ThrottleDecision {
    const limit = this.table[bucket]
    let slot = this.slots.get(key)
    if (!slot) {
      slot = { bucket, stamps: [], head: 0, lockedUntil: 0 }
      this.slots.set(key, slot)
    }
    if (now < slot.lockedUntil) return { allowed: false, kind: "locked", lockedUntil: slot.lockedUntil }
    this.expire(slot, now - limit.windowMs)
    if (slot.stamps.length - slot.head >= limit.threshold) {
      slot.lockedUntil = now + limit.lockMs
      return { allowed: false, kind: "threshold", lockedUntil: slot.lockedUntil }
    }
    slot.stamps.push(now)
    return { allowed: true }
  }

  private expire(slot: Slot, cutoff: number): void {
    while (slot.head < slot.stamps.length && slot.stamps[slot.head]! <= cutoff) slot.head++
    if (slot.head > 1024 && slot.head * 2 > slot.stamps.length) {
      slot.stamps = slot.stamps.slice(slot.head)
      slot.head = 0
    }
  }

  status(now: number): Array<ThrottleSlotStatus> {
    return [...this.slots].map(([key, slot]) => {
      const limit = this.table[slot.bucket]
      this.expire(slot, now - limit.windowMs)
      return {
        key,
        bucket: slot.bucket,
        inWindow: slot.stamps.length - slot.head,
        threshold: limit.threshold,
        lockedUntilMs: slot.lockedUntil > now ? slot.lockedUntil : null
      }
    })
  }

  reset(): void {
    this.slots.clear()
  }
}
