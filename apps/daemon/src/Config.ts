import {
  integerSetting,
  LogSettings,
  loadAccounts,
  loadBucketTable,
  RedisPrefix,
  RedisUrl,
  TimeScale
} from "@cliq-mirror/core"
import { DatabasePoolSize, DatabaseUrl } from "@cliq-mirror/db"
import { Config } from "effect"
import { MetricsConfig } from "./MetricsConfig.js"
import { RetentionConfig } from "./Retention.js"
import { timeScaleGuard } from "./Sync/TimeScaleGuard.js"

const ms = (name: string, fallback: number, min: number) => integerSetting(name, fallback, min, " (milliseconds)")

/** The daemon's settings; README lists the public ones and the tuning knobs. */
export const DaemonConfig = Config.all({
  pollIntervalMs: ms("POLL_INTERVAL_MS", 10_000, 10),
  statePollIntervalMs: ms("STATE_POLL_INTERVAL_MS", 60_000, 10),
  reconcilePauseMs: ms("RECONCILE_PAUSE_MS", 60_000, 10),
  membersPollIntervalMs: ms("MEMBERS_POLL_INTERVAL_MS", 5_000, 10),
  /** Re-read window below the high-water mark: coarse body times and search-index lag (docs/upstream.md). */
  overlapMs: ms("SYNC_OVERLAP_MS", 300_000, 0),
  timeScale: TimeScale
})
export type DaemonConfig = Config.Config.Success<typeof DaemonConfig>

export const CommandConcurrency = integerSetting("COMMAND_CONCURRENCY", 4, 1, "", 64)

/** Sync passes of all accounts that may be between their first upstream call and their end at once (Sync/PassGate.ts). */
export const SyncConcurrency = integerSetting("SYNC_CONCURRENCY", 16, 1, "", 1024)

/** How far the heap may grow past its live set between full collections, in percent; 0 leaves V8's own (HeapGrowth.ts). */
export const HeapGrowthPercent = integerSetting("HEAP_GROWTH_PERCENT", 50, 0, " (percent)", 400)

export const HeartbeatConfig = Config.all({
  file: Config.option(Config.nonEmptyString("DAEMON_HEARTBEAT_FILE")),
  intervalMs: ms("DAEMON_HEARTBEAT_INTERVAL_MS", 10_000, 100)
})

/** Everything the daemon reads, checked as a whole before it connects to anything (core's `launch`). */
export const DaemonSettings = [
  LogSettings,
  DatabaseUrl,
  DatabasePoolSize,
  RedisUrl,
  RedisPrefix,
  DaemonConfig,
  CommandConcurrency,
  SyncConcurrency,
  HeapGrowthPercent,
  HeartbeatConfig,
  MetricsConfig,
  RetentionConfig,
  loadBucketTable,
  loadAccounts,
  timeScaleGuard
] as const
