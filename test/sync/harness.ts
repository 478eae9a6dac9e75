import { Database } from "@cliq-mirror/db"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { Accounts } from "../../apps/daemon/src/Accounts.js"
import { CommandQueue } from "../../apps/daemon/src/Commands/CommandQueue.js"
import { MirrorLive, UpstreamLive } from "../../apps/daemon/src/Infra.js"
import type { RunningSimulator, SimulatorOptions } from "../../apps/simulator/src/index.js"
import { startSimulator } from "../../apps/simulator/src/index.js"
import { daemonEnv } from "../support/daemonProcess.js"
import { testDatabase } from "../support/database.js"
import { testConfig } from "../support/layers.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"

export const TIME_SCALE = 0.01

export class Simulator extends Effect.Tag("test/Simulator")<Simulator, RunningSimulator>() {}

export interface Harness {
  readonly sim: RunningSimulator
  readonly databaseUrl: string
  readonly redisPrefix: string
  readonly vars: Record<string, string>
}

export class HarnessInfo extends Effect.Tag("test/HarnessInfo")<HarnessInfo, Harness>() {}

/**
 * A simulator, a fresh database and a Redis prefix, plus the daemon's own services configured against them (the
 * passes are run directly by the tests, so every step is deterministic).
 */
export const syncHarness = (
  options: SimulatorOptions,
  extraVars: Record<string, string> = {},
  /** Background parts of the daemon to run (e.g. the command worker), built over the same services. */
  background: Layer.Layer<never, unknown, Layer.Layer.Success<typeof DaemonServicesTag>> = Layer.empty
) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const sim = yield* Effect.acquireRelease(
        Effect.promise(() => startSimulator({ port: 0, control: true, timeScale: TIME_SCALE, ...options })),
        s => Effect.promise(() => s.close())
      )
      const db = yield* testDatabase
      const redisPrefix = yield* scopedRedisPrefix("sync")
      const vars = daemonEnv(
        {
          apiBaseUrl: sim.apiBaseUrl,
          token: sim.state.accounts()[0]!.token,
          databaseUrl: db.url,
          redisUrl: testRedisUrl()
        },
        redisPrefix,
        TIME_SCALE,
        { SYNC_OVERLAP_MS: "2000", ...extraVars }
      )
      const services = Layer.mergeAll(Accounts.Default, UpstreamLive, CommandQueue.Default).pipe(
        Layer.provideMerge(MirrorLive),
        Layer.provide(testConfig(vars))
      )
      const running = Layer.provideMerge(background, services).pipe(Layer.provide(testConfig(vars)))
      return Layer.mergeAll(
        running,
        Logger.minimumLogLevel(LogLevel.Warning),
        Layer.succeed(Simulator, sim),
        Layer.succeed(HarnessInfo, { sim, databaseUrl: db.url, redisPrefix, vars })
      )
    })
  )

/** Only for typing `background`: what the harness's services provide. */
const DaemonServicesTag = Layer.mergeAll(Accounts.Default, UpstreamLive, CommandQueue.Default).pipe(
  Layer.provideMerge(MirrorLive)
)

export const sql = <A>(f: (sql: Database["sql"]) => Promise<A>) =>
  Effect.flatMap(Database, db => db.use((_, s) => f(s)))
