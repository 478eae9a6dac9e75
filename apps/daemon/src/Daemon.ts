import { Layer } from "effect"
import { Accounts } from "./Accounts.js"
import { DurableUpstreamLive } from "./BudgetLocks.js"
import { CommandQueue } from "./Commands/CommandQueue.js"
import { CommandWorkerLive } from "./Commands/CommandWorker.js"
import { OutboxRelayLive } from "./Commands/OutboxRelay.js"
import { HeapGrowthLive } from "./HeapGrowth.js"
import { HeartbeatLive } from "./Heartbeat.js"
import { MigrateLive, MirrorLive } from "./Infra.js"
import { MetricsServerLive } from "./MetricsServer.js"
import { RetentionLive } from "./Retention.js"
import { PollersLive } from "./Sync/Pollers.js"

/** The daemon: account pollers, the outbox relay, the command worker and the heartbeat over the shared infrastructure. */
export const DaemonLive = Layer.mergeAll(
  HeapGrowthLive,
  PollersLive,
  CommandWorkerLive,
  OutboxRelayLive,
  HeartbeatLive,
  Layer.discard(MetricsServerLive),
  RetentionLive
).pipe(
  Layer.provide(CommandQueue.Default),
  Layer.provide(Accounts.Default),
  Layer.provide(DurableUpstreamLive),
  Layer.provide(MirrorLive),
  Layer.provide(MigrateLive)
)
