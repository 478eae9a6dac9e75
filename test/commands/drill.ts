import { CommandsRepo, Database, makeDatabase } from "@cliq-mirror/db"
import { Effect, Layer, Redacted } from "effect"
import type { RunningSimulator } from "../../apps/simulator/src/index.js"
import { daemonEnv, startDaemon } from "../support/daemonProcess.js"
import { testDatabase } from "../support/database.js"
import { scopedSimulator } from "../support/simulator.js"
import { visibleTruth } from "../sync/truth.js"

export const TIME_SCALE = 0.02

/** A simulator, a fresh database with CommandsRepo over it and the daemon's environment against a given Redis. */
export const drillEnvironment = (options: {
  readonly chats: number
  readonly seed: number
  readonly redisUrl: string
  readonly prefix: string
  /** A database of one's own (a private cluster); default: a fresh test database. */
  readonly databaseUrl?: string
}) =>
  Effect.gen(function* () {
    const sim = yield* scopedSimulator({
      control: true,
      timeScale: TIME_SCALE,
      chats: options.chats,
      users: 3,
      seed: options.seed
    })
    const db = options.databaseUrl === undefined ? yield* testDatabase : { url: options.databaseUrl }
    const database = yield* makeDatabase({ url: Redacted.make(db.url), max: 4 })
    const repo = yield* Effect.provide(
      CommandsRepo,
      CommandsRepo.Default.pipe(Layer.provide(Layer.succeed(Database, Database.make(database))))
    )
    const env = daemonEnv(
      {
        apiBaseUrl: sim.apiBaseUrl,
        token: sim.state.accounts()[0]!.token,
        databaseUrl: db.url,
        redisUrl: options.redisUrl
      },
      options.prefix,
      TIME_SCALE
    )
    return { sim, database, repo, env }
  })

/** A daemon process, stopped when the scope closes. */
export const daemon = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startDaemon(env)),
    d => Effect.promise(() => d.stop())
  )

type DatabaseShape = Effect.Effect.Success<ReturnType<typeof makeDatabase>>

export const countsByStatus = (database: DatabaseShape) =>
  database
    .use(
      (_, sql) =>
        sql<Array<{ status: string; n: number }>>`select status, count(*)::int as n from commands group by status`
    )
    .pipe(
      Effect.map(rows => Object.fromEntries(rows.map(r => [r.status, r.n]))),
      Effect.orDie
    )

/** Polls until `done` holds for the counts by status, or dies after `timeoutMs` with the daemon's output. */
export const until = (
  database: DatabaseShape,
  done: (counts: Record<string, number>) => boolean,
  timeoutMs: number,
  output: () => string
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const counts = yield* countsByStatus(database)
      if (done(counts)) return counts
      if (Date.now() > deadline) {
        // The runner shows only an error's first line: the daemon's output goes to the test's stdout.
        yield* Effect.sync(() => console.log(`daemon output:\n${output().slice(-8000)}`))
        return yield* Effect.die(new Error(`timed out: ${JSON.stringify(counts)}`))
      }
      yield* Effect.sleep("100 millis")
    }
  })

export const FINAL = ["succeeded", "failed", "cancelled"]
export const allFinal = (total: number) => (counts: Record<string, number>) =>
  FINAL.reduce((n, s) => n + (counts[s] ?? 0), 0) === total

export const groupChats = (sim: RunningSimulator) =>
  visibleTruth(sim).filter(
    t =>
      t.chatType === "group_chat" &&
      t.users[0]!.member &&
      !t.users[0]!.removed &&
      !t.users[0]!.closed &&
      t.lastMessage !== null &&
      t.participantCount <= 20
  )

export const strangers = (sim: RunningSimulator, participants: ReadonlyArray<string>) =>
  sim.state
    .people()
    .filter(p => p.active && !p.guest && !p.account && !participants.includes(p.userId))
    .map(p => p.userId)
