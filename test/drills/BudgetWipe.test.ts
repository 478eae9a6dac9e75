import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  type Account,
  BUCKETS,
  type BucketId,
  type BucketLock,
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

// Windows of 1.2 s (margin 50 ms): chats.get locks for 18 s here (15 min scaled), much longer than the recovery from a
// wipe (1.25 s) and than a restart of the private Redis takes on a loaded machine (~1 s seen under a load of 17 on 2
// cores, up to ~5 s reported).
const SCALE = 0.02
const WINDOW = 60_000 * SCALE
// Low thresholds, the same for the simulator and the budget, so that even a loaded machine fills every window.
const THRESHOLDS = { "chats.get": 8, "chats.search": 6, "chats.list": 4, "chats.mute": 4 } as const
const TABLE: BucketTable = {
  ...BUCKETS,
  ...Object.fromEntries(
    Object.entries(THRESHOLDS).map(([b, threshold]) => [b, { ...BUCKETS[b as BucketId], threshold }])
  ),
  "chats.get": { ...BUCKETS["chats.get"], threshold: THRESHOLDS["chats.get"], lockMs: 15 * 60_000 }
}

let own: OwnRedis
let sim: RunningSimulator
let dir: string
let prefixes = 0

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "budget-wipe-"))
  await writeFile(
    join(dir, "limits.json"),
    JSON.stringify({
      ...Object.fromEntries(Object.entries(THRESHOLDS).map(([b, threshold]) => [b, { threshold }])),
      "chats.get": { threshold: THRESHOLDS["chats.get"], lock_seconds: TABLE["chats.get"].lockMs / 1000 }
    })
  )
  ;[own, sim] = await Promise.all([
    startOwnRedis(),
    startSimulator({ port: 0, chats: 300, users: 2, seed: 11, control: true, timeScale: SCALE, buckets: TABLE })
  ])
})

afterAll(async () => {
  await Promise.all([own?.close(), sim?.close(), rm(dir, { recursive: true, force: true })])
})

/** The daemon's Upstream over the durable budget, as one more daemon process would build it. */
const daemonLike = (databaseUrl: string, prefix: string, userIndex: number) =>
  Layer.build(
    Layer.mergeAll(DurableUpstreamLive, BucketLocksRepo.Default).pipe(
      Layer.provideMerge(Database.Default),
      Layer.provide(NodeContext.layer),
      Layer.provide(
        testConfig({
          DATABASE_URL: databaseUrl,
          REDIS_URL: own.url,
          REDIS_PREFIX: prefix,
          CLIQ_ACCESS_TOKEN: sim.state.accounts()[userIndex]!.token,
          CLIQ_API_BASE_URL: sim.apiBaseUrl,
          CLIQ_TIME_SCALE: String(SCALE),
          RATE_LIMITS_FILE: join(dir, "limits.json"),
          LOG_LEVEL: "warn"
        })
      )
    )
  )

/** Each case calls as its own simulator user, so the upstream's windows of one case never hold the other's calls. */
const setup = (processes: number, userIndex: number) =>
  Effect.gen(function* () {
    const db = yield* testDatabase
    const prefix = `drill${prefixes++}:`
    const contexts = yield* Effect.forEach(Array.from({ length: processes }), () =>
      daemonLike(db.url, prefix, userIndex)
    )
    const account = yield* loadAccounts.pipe(
      Effect.provide(
        Layer.mergeAll(
          NodeContext.layer,
          testConfig({ CLIQ_ACCESS_TOKEN: sim.state.accounts()[userIndex]!.token, CLIQ_API_BASE_URL: sim.apiBaseUrl })
        )
      ),
      Effect.map(accounts => accounts[0])
    )
    return { contexts, account }
  })

const memberChats = (userIndex: number) =>
  sim.state
    .chats()
    .filter(t => t.users.some(u => u.userIndex === userIndex && u.member && !u.removed))
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

const arrivals = (bucket: BucketId, fromSeq: number, userIndex = 0) =>
  sim.state
    .requests(fromSeq)
    .filter(r => r.bucket === bucket && r.userIndex === userIndex && r.status !== 0)
    .map(r => r.atMs)

describe("the budget survives Redis data loss", () => {
  it.live(
    "FLUSHALL in the middle of heavy polling and a drain: zero violations, work goes on after one window",
    () =>
      Effect.gen(function* () {
        const { contexts, account } = yield* setup(2, 0)
        const chats = memberChats(0)
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

        assert.deepStrictEqual(sim.state.violations(firstSeq), [])
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
    { timeout: 90_000 }
  )

  it.live(
    "a throttle lock outlives a Redis restart: the bucket sends nothing until the lock's end",
    () =>
      Effect.gen(function* () {
        const user = 1
        const { contexts, account } = yield* setup(1, user)
        const context = contexts[0]!
        const upstream = yield* Effect.provide(Upstream, context)
        const repo = yield* Effect.provide(BucketLocksRepo, context)
        const target = { key: `user:${account.id}`, bucket: "chats.get" } as const
        const chats = memberChats(user)
        const getChat = (i: number) => (c: Parameters<Parameters<Upstream["call"]>[3]>[0]) => c.getChat(chats[i % 7]!)
        sim.state.injectFault({ operation: "getChat", kind: "throttle", count: 1, userIndex: user })
        const firstSeq = sim.state.requests().at(-1)?.seq ?? 0
        const before = yield* Effect.fork(hammer(upstream, account, "getChat", getChat))

        let recorded: BucketLock | undefined
        while (recorded === undefined) {
          yield* Effect.sleep(20)
          const locks = yield* repo.activeSince(Date.now())
          recorded = locks.find(l => l.bucket === target.bucket && l.key === target.key)
        }
        const { lockedUntil } = recorded
        expect(lockedUntil - recorded.lockedAt).toBeGreaterThanOrEqual(TABLE["chats.get"].lockMs * SCALE)
        yield* Effect.promise(() => own.restart())
        const restartedAt = Date.now()
        // The restart must leave most of the lock to check; 18 s against restarts of ~1 s even on a loaded machine.
        expect(restartedAt).toBeLessThan(lockedUntil - 4 * WINDOW)
        // A caller that asks after the restart (a process starting, a fiber waking) meets a Redis without the lock:
        // only the loss's recovery and the lock put back from PostgreSQL hold it.
        const after = yield* Effect.fork(hammer(upstream, account, "getChat", getChat))
        yield* Effect.sleep(2 * WINDOW)
        const restored = yield* upstream.budget.usage(target)
        yield* Effect.sleep(Math.max(0, lockedUntil - Date.now()) + 2 * WINDOW)
        yield* Fiber.interruptAll([before, after])

        const calls = sim.state.requests(firstSeq).filter(r => r.operationId === "getChat" && r.userIndex === user)
        const throttled = calls.filter(r => r.status === 429)
        assert.strictEqual(throttled.length, 1, "only the injected throttle answer")
        assert.strictEqual(throttled[0]!.outcome, "fault:throttle")
        assert.deepStrictEqual(
          calls.filter(r => r.atMs > throttled[0]!.atMs && r.atMs < lockedUntil).map(r => r.atMs - restartedAt),
          [],
          "calls sent during the lock (ms after the restart)"
        )
        assert.strictEqual(restored.lockedUntil, lockedUntil)
        expect(arrivals("chats.get", firstSeq, user).filter(t => t >= lockedUntil).length).toBeGreaterThan(0)
        assert.deepStrictEqual(sim.state.violations(firstSeq), [])
      }).pipe(Effect.scoped),
    { timeout: 90_000 }
  )
})
