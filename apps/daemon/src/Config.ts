import { integerSetting, TimeScale } from "@cliq-mirror/core"
import { Config } from "effect"

const ms = (name: string, fallback: number, min: number) => integerSetting(name, fallback, min, " (milliseconds)")

/** The daemon's settings; CONTRACT.md lists the public ones, the rest are tuning knobs documented in README. */
export const DaemonConfig = Config.all({
  pollIntervalMs: ms("POLL_INTERVAL_MS", 10_000, 10),
  statePollIntervalMs: ms("STATE_POLL_INTERVAL_MS", 60_000, 10),
  reconcilePauseMs: ms("RECONCILE_PAUSE_MS", 60_000, 10),
  membersPollIntervalMs: ms("MEMBERS_POLL_INTERVAL_MS", 5_000, 10),
  /** Re-read window below the high-water mark: coarse body times and search-index lag (CLIQ_API.md §6.3). */
  overlapMs: ms("SYNC_OVERLAP_MS", 300_000, 0),
  timeScale: TimeScale
})
export type DaemonConfig = Config.Config.Success<typeof DaemonConfig>
