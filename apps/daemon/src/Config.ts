import { Config } from "effect"

const positiveMs = (name: string, fallback: number, min = 1) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `must be an integer of at least ${min} (milliseconds)`, validation: n => n >= min })
  )

/** The daemon's settings; CONTRACT.md lists the public ones, the rest are tuning knobs documented in README. */
export const DaemonConfig = Config.all({
  pollIntervalMs: positiveMs("POLL_INTERVAL_MS", 10_000, 10),
  statePollIntervalMs: positiveMs("STATE_POLL_INTERVAL_MS", 60_000, 10),
  reconcilePauseMs: positiveMs("RECONCILE_PAUSE_MS", 60_000, 10),
  membersPollIntervalMs: positiveMs("MEMBERS_POLL_INTERVAL_MS", 5_000, 10),
  /** Re-read window below the high-water mark: coarse body times and search-index lag (CLIQ_API.md §6.3). */
  overlapMs: positiveMs("SYNC_OVERLAP_MS", 300_000, 0),
  /** Shrinks every upstream window, lock and interval; only for tests and the demo against the simulator. */
  timeScale: Config.number("CLIQ_TIME_SCALE").pipe(
    Config.withDefault(1),
    Config.validate({ message: "must be a number in (0, 1]", validation: n => n > 0 && n <= 1 })
  )
})
export type DaemonConfig = Config.Config.Success<typeof DaemonConfig>
