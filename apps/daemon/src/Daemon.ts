import { Layer } from "effect"
import { Accounts } from "./Accounts.js"
import { CommandQueue } from "./Commands/CommandQueue.js"
import { CommandWorkerLive } from "./Commands/CommandWorker.js"
import { OutboxRelayLive } from "./Commands/OutboxRelay.js"
import { HeartbeatLive } from "./Heartbeat.js"
import { MigrateLive, MirrorLive, UpstreamLive } from "./Infra.js"
import { PollersLive } from "./Sync/Pollers.js"

/** The daemon: account pollers, the outbox relay, the command worker and the heartbeat over the shared infrastructure. */
export const DaemonLive = Layer.mergeAll(PollersLive, CommandWorkerLive, OutboxRelayLive, HeartbeatLive).pipe(
  Layer.provide(CommandQueue.Default),
  Layer.provide(Accounts.Default),
  Layer.provide(UpstreamLive),
  Layer.provide(MirrorLive),
  Layer.provide(MigrateLive)
)
