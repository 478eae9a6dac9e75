import type { Timing } from "@cliq-mirror/core"

/** A claimed attempt is presumed dead after this long (covers the request timeout with room to spare). */
export const LEASE_MS = 120_000

export interface CommandTiming extends Timing {
  readonly leaseMs: number
  /** The longest a job waits in place for a slot (of its own bucket, or of the read before a re-send). */
  readonly slotWaitMs: number
  /** How often the sweeper looks for unfinished commands without a job. */
  readonly sweepIntervalMs: number
  readonly timeScale: number
}

export const commandTiming = (timeScale: number): CommandTiming => {
  const scaled = (ms: number) => Math.max(1, Math.round(ms * timeScale))
  return {
    // A successor is woken when its predecessor ends; the poll is only a safety net, and a faster one (a small time
    // scale) would let waiting jobs crowd the worker slots out.
    orderPollMs: Math.max(scaled(5_000), 1_000),
    reauthRecheckMs: scaled(60_000),
    throttleFallbackMs: scaled(60_000),
    // A live attempt renews its lease (every third of it), so only a dead process's attempt is ever taken over.
    // The floor keeps a slow event loop (a loaded machine) from losing a live lease.
    leaseMs: Math.max(scaled(LEASE_MS), 10_000),
    slotWaitMs: scaled(2_000),
    sweepIntervalMs: Math.max(250, scaled(30_000)),
    timeScale
  }
}
