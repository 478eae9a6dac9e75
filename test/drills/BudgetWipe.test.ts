import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  type Account,
  BUCKETS,
  type BucketId,
  type BucketTable,
  ChatId,
  loadAccounts,
  maxInAnyWindow,
  type OperationId,
  windowViolations
} from "@cliq-mirror/core"
import { BucketLocksRepo, Database } from "@cliq-mirror/db"
import { NodeContext } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Schema } from "effect"
import { DurableUpstreamLive } from "../../apps/daemon/src/BudgetLocks.js"
import { Upstream } from "../../apps/daemon/src/Upstream.js"
import { type RunningSimulator, startSimulator } from "../../apps/simulator/src/index.js"
import { testDatabase } from "../support/database.js"
import { testConfig } from "../support/layers.js"
import { type OwnRedis, startOwnRedis } from "../support/OwnRedis.js"

// Windows of 1.2 s (margin 50 ms); the recovery from a wipe lasts one window + margin (1.25 s).
const SCALE = 0.02
const WINDOW = 60_000 * SCALE
// Low thresholds, the same for the simulator and the budget, so that even a loaded machine fills every window.
const THRESHOLDS = { "chats.get": 8, "chats.search": 6, "chats.list": 4, "chats.mute": 4 } as const
const TABLE: BucketTable = {
  ...BUCKETS,
  ...Object.fromEntries(
    Object.entries(THRESHOLDS).map(([b, threshold]) => [b, { ...BUCKETS[b as BucketId], threshold }])
  )
}

let own: OwnRedis
let sim: RunningSimulator
let dir: string
let prefixes = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "budget-wipe-"))
  await writeFile(
    join(dir, "limits.json"),
    JSON.stringify(Object.fromEntries(Object.entries(THRESHOLDS).map(([b, threshold]) => [b, { threshold }])))
  )
  ;[own, sim] = await Promise.all([
    startOwnRedis(),
    startSimulator({ port: 0, chats: 300, users: 1, seed: 11, control: true, timeScale: SCALE, buckets: TABLE })
  ])
})

afterAll(async () => {
  await Promise.all([own?.close(), sim?.close(), rm(dir, { recursive: true, force: true })])
})

/** The daemon's Upstream over the durable budget, as one more daemon process would build it. */
const daemonLike = (databaseUrl: string, prefix: string) =>
  Layer.build(
    Layer.mergeAll(DurableUpstreamLive, BucketLocksRepo.Default).pipe(
      Layer.provideMerge(Database.Default),
      Layer.provide(NodeContext.layer),
      Layer.provide(
        testConfig({
          DATABASE_URL: databaseUrl,
          REDIS_URL: own.url,
          REDIS_PREFIX: prefix,
          CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token,
          CLIQ_API_BASE_URL: sim.apiBaseUrl,
          CLIQ_TIME_SCALE: String(SCALE),
          RATE_LIMITS_FILE: join(dir, "limits.json"),
          LOG_LEVEL: "warn"
        })
      )
    )
  )

const setup = (processes: number) =>
  Effect.gen(function* () {
    const db = yield* testDatabase
    const prefix = `drill${prefixes++}:`
    const contexts = yield* Effect.forEach(Array.from({ length: processes }), () => daemonLike(db.url, prefix))
    const account = yield* loadAccounts.pipe(
      Effect.provide(
        Layer.mergeAll(
          NodeContext.layer,
          testConfig({ CLIQ_ACCESS_TOKEN: sim.state.accounts()[0]!.token, CLIQ_API_BASE_URL: sim.apiBaseUrl })
        )
      ),
      Effect.map(accounts => accounts[0])
    )
    return { contexts, account }
  })

const memberChats = () =>
  sim.state
    .chats()
    .filter(t => t.users.some(u => u.userIndex === 0 && u.member && !u.removed))
    .map(t => Schema.decodeSync(ChatId)(t.chatId))

/** Calls `operation` through the budget, back to back, until interrupted; throttle answers are part of the drill. */
const hammer = (
  upstream: Upstream,
  account: Account,
  operation: OperationId,
  call: (i: number) => Parameters<Upstream["call"]>[3],
  share?: string
) =>
  Effect.gen(function* () {
    for (let i = 0; ; i++)
      yield* upstream
        .call(account, operation, share, call(i))
        .pipe(
          Effect.catchAll(e =>
            e._tag === "CliqThrottled"
              ? Effect.void
              : Effect.logWarning("drill call failed", e).pipe(Effect.zipRight(Effect.sleep(50)))
          )
        )
  })

const arrivals = (bucket: BucketId, fromSeq: number) =>
  sim.state
    .requests(fromSeq)
    .filter(r => r.bucket === bucket && r.status !== 0)
    .map(r => r.atMs)

describe("the budget survives Redis data loss", () => {
  it.live(
    "FLUSHALL in the middle of heavy polling and a drain: zero violations, work goes on after one window",
    () =>
      Effect.gen(function* () {
        const { contexts, account } = yield* setup(2)
        const chats = memberChats()
        const firstSeq = sim.state.requests().at(-1)?.seq ?? 0
        const upstreams = yield* Effect.forEach(contexts, context => Effect.provide(Upstream, context))
        const load = upstreams.flatMap(upstream => {
          const run = (operation: OperationId, call: (i: number) => Parameters<Upstream["call"]>[3], share?: string) =>
            Array.from({ length: 3 }, () => hammer(upstream, account, operation, call, share))
          return [
            ...run("getChat", i => c => c.getChat(chats[i % chats.length]!)),
            ...run("searchChats", () => c => c.searchChats({ limit: 10 }), "incremental"),
            ...run("listChats", () => c => c.listChats({ limit: 10 })),
            ...run("muteChat", i => c => c.muteChat(chats[i % chats.length]!))
          ]
        })
        const fibers = yield* Effect.forEach(load, f => Effect.fork(f))

        // The wipe comes once every bucket has had a busy window, however slow the machine is to get going.
        const saturated = () =>
          Object.entries(THRESHOLDS).every(
            ([bucket, threshold]) =>
              maxInAnyWindow(arrivals(bucket as BucketId, firstSeq), WINDOW) >= Math.ceil(threshold / 2)
          )
        for (let i = 0; i < 60 && !saturated(); i++) yield* Effect.sleep(WINDOW / 4)
        yield* Effect.sleep(WINDOW / 2)
        const flushedAt = Date.now()
        yield* Effect.promise(() => own.flushAll())
        yield* Effect.sleep(5 * WINDOW)
        yield* Fiber.interruptAll(fibers)

        assert.deepStrictEqual(sim.state.violations(), [])
        for (const [bucket, threshold] of Object.entries(THRESHOLDS) as Array<[BucketId, number]>) {
          const times = arrivals(bucket, firstSeq)
          // Busy windows before the wipe: a budget that forgot them would add a whole threshold on top.
          const before = maxInAnyWindow(
            times.filter(t => t < flushedAt),
            WINDOW
          )
          expect(before, bucket).toBeGreaterThanOrEqual(Math.ceil(threshold / 2))
          assert.strictEqual(windowViolations(times, WINDOW, threshold), 0, bucket)
          expect(times.filter(t => t > flushedAt + WINDOW + 50).length, bucket).toBeGreaterThan(0)
        }
      }).pipe(Effect.scoped),
    { timeout: 40_000 }
  )
})
