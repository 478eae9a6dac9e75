/**
 * Rate-limit buckets: the conservative budget of docs/upstream.md#buckets — the lower threshold and the longer lock
 * wherever sources disagree, 10 minutes where no lock is published, and a client-wide counter wherever "per user" is
 * not stated. This table is the only place these numbers are written; daemon and simulator both read it.
 */
export type BucketScope = "user" | "client"

export interface BucketLimit {
  readonly threshold: number
  readonly windowMs: number
  readonly lockMs: number
  readonly scope: BucketScope
}

const MINUTE = 60_000
const per = (threshold: number, scope: BucketScope, lockMs: number): BucketLimit => ({
  threshold,
  windowMs: MINUTE,
  lockMs,
  scope
})

export const BUCKETS = {
  // v3 spec says 30/min, the v2 page 20/min: take 20.
  "chats.list": per(20, "user", 10 * MINUTE),
  // No lock published: assume 10 min; "per user" not stated: count across the client.
  "chats.create": per(30, "client", 10 * MINUTE),
  // Both PUT /chats modes (read_status_update, clear_unread) share one endpoint and one counter.
  "chats.bulk_update": per(60, "client", 5 * MINUTE),
  "chats.search": per(50, "user", 10 * MINUTE),
  "chats.get": per(60, "user", 5 * MINUTE),
  // All six PUT /chats/{id} variants share one endpoint: one bucket, the longest published lock.
  "chats.update": per(60, "client", 10 * MINUTE),
  "members.list": per(20, "user", 10 * MINUTE),
  "members.add": per(20, "user", 10 * MINUTE),
  "members.remove": per(20, "user", 10 * MINUTE),
  "chats.fork": per(50, "client", 10_000),
  // 50 minutes looks like a slip upstream, but it is the only published value, so it is obeyed.
  "chats.activities": per(100, "user", 50 * MINUTE),
  "chats.leave": per(20, "user", 10 * MINUTE),
  "chats.mute": per(20, "user", 10 * MINUTE),
  "chats.unmute": per(20, "user", 10 * MINUTE)
} as const satisfies Record<string, BucketLimit>

export type BucketId = keyof typeof BUCKETS
export const BUCKET_IDS = Object.keys(BUCKETS) as ReadonlyArray<BucketId>
export type BucketTable = Readonly<Record<BucketId, BucketLimit>>

/** Shrinks windows and locks by a factor (tests and the demo); thresholds stay as they are. */
export const scaleBuckets = (table: BucketTable, timeScale: number): BucketTable =>
  Object.fromEntries(
    BUCKET_IDS.map(id => {
      const b = table[id]
      return [
        id,
        {
          ...b,
          windowMs: Math.max(1, Math.round(b.windowMs * timeScale)),
          lockMs: Math.max(1, Math.round(b.lockMs * timeScale))
        }
      ]
    })
  ) as unknown as BucketTable
