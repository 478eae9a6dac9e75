import type { BucketId } from "../Cliq/Buckets.js"
import { Limits } from "../Cliq/Requests.js"

/** Commands one upstream call settles: the bulk endpoint carries up to 100 chats per call, the others one. */
export const carryOf = (bucket: BucketId): number => (bucket === "chats.bulk_update" ? Limits.bulkChatsMax : 1)

export interface EtaInput {
  /** Waiting commands of the same bucket and budget key taken in before this one. */
  readonly ahead: number
  readonly carry: number
  readonly threshold: number
  /** window + safety margin: the budget admits at most `threshold` calls per period. */
  readonly periodMs: number
  /** Calls the budget counts now; `threshold` or more when it has just refused one. */
  readonly counted: number
  readonly now: number
  readonly lockedUntil: number | null
  /** When the budget said its next slot frees (a refusal's `retryAt`); unknown: one period after `start`. */
  readonly freesAt?: number | null
  /** A stored eta (a backoff, a lock end) the estimate never undercuts. */
  readonly stored: number | null
}

/**
 * The one wait-for-your-turn rule, for the daemon (when its bucket refuses a command) and the API (`eta` of a queued
 * command): calls = ceil((ahead + 1) / carry); free = threshold − counted; start = max(now, lock end); eta = start when
 * calls ≤ free, else (the next slot's freeing, or start + period) + floor((calls − free − 1) / threshold) × period;
 * never before the stored eta. Coalescing and per-chat order are not modelled.
 */
export const estimateEta = (input: EtaInput): number => {
  const calls = Math.ceil((input.ahead + 1) / input.carry)
  const free = Math.max(0, input.threshold - input.counted)
  const start = Math.max(input.now, input.lockedUntil ?? 0)
  const at =
    calls <= free
      ? start
      : Math.max(start, input.freesAt ?? start + input.periodMs) +
        Math.floor((calls - free - 1) / input.threshold) * input.periodMs
  return Math.round(Math.max(at, input.stored ?? 0))
}
