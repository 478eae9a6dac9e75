import { randomUUID } from "node:crypto"
import { BUCKET_IDS, BUCKETS, RateBudgetRedis } from "@cliq-mirror/core"
import { schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { clearRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../support/redis.js"
import { apiTestLayer, chatRow, exec, insertChats, request } from "./harness.js"

const prefix = uniqueRedisPrefix("sync")

interface Status {
  readonly generated_at: string
  readonly accounts: ReadonlyArray<{
    readonly account_id: string
    readonly chats_mirrored: number
    readonly streams: ReadonlyArray<Record<string, unknown>>
  }>
  readonly queue: Record<string, number>
  readonly events_max_seq: number
  readonly buckets: ReadonlyArray<{
    readonly account_id: string
    readonly bucket: string
    readonly threshold: number
    readonly used_last_60s: number
    readonly locked_until: string | null
  }>
}

const commandRow = (status: string) => ({
  id: randomUUID(),
  accountId: "a1",
  type: "mute_chat",
  payload: {},
  requestHash: randomUUID(),
  status
})

layer(apiTestLayer({ redisPrefix: prefix }), { timeout: "2 minutes", excludeTestServices: true })(
  "GET /v1/sync/status",
  it => {
    it.scoped("reports streams, chats mirrored, queue depth, the event log head and every bucket's budget", () =>
      Effect.gen(function* () {
        const now = Date.now()
        yield* Effect.addFinalizer(() => Effect.promise(() => clearRedisPrefix(prefix)))
        const budget = yield* RateBudgetRedis.make({
          redis: testRedisUrl(),
          prefix: `${prefix}budget:`,
          buckets: BUCKETS,
          freshRedis: true
        })
        for (let i = 0; i < 3; i++) yield* budget.tryAcquire({ key: "user:a1", bucket: "chats.list" })
        const lock = yield* budget.lock({ key: "user:a1", bucket: "chats.list" })
        // A client-scoped bucket: without the accounts configuration the account id is the client key.
        yield* budget.tryAcquire({ key: "client:a1", bucket: "chats.update" })
        yield* budget.tryAcquire({ key: "user:a2", bucket: "chats.get" })
        yield* exec(async db => {
          await db.insert(schema.accounts).values({ id: "a1" })
          await db.insert(schema.syncState).values([
            {
              accountId: "a1",
              stream: "chats",
              highWaterMs: now - 30_000,
              status: "waiting_rate_limit",
              lastRunAt: new Date(now - 2_000),
              lastSuccessAt: new Date(now - 60_000),
              lastError: { code: "rate_limited", message: "chats.list locked", at: "2025-01-01T00:00:00.000Z" },
              consecutiveFailures: 2
            },
            { accountId: "a1", stream: "members", status: "idle" }
          ])
          await db
            .insert(schema.commands)
            .values([commandRow("queued"), commandRow("queued"), commandRow("failed"), commandRow("running")])
          await db.insert(schema.events).values(
            Array.from({ length: 3 }, (_, i) => ({
              eventId: randomUUID(),
              accountId: "a1",
              type: "chat.created",
              payload: {},
              dedupeKey: `d${i}`
            }))
          )
        })
        yield* insertChats([chatRow("a1", "c1"), chatRow("a1", "c2"), chatRow("a2", "c1")])

        const reply = yield* request("/v1/sync/status")
        assert.strictEqual(reply.status, 200, reply.text)
        const status = reply.body as Status
        assert.match(status.generated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        assert.deepStrictEqual(
          status.accounts.map(a => [a.account_id, a.chats_mirrored, a.streams.length]),
          [
            ["a1", 2, 2],
            ["a2", 1, 0]
          ]
        )
        const [chatsStream, membersStream] = status.accounts[0]!.streams
        const lag = chatsStream!.lag_seconds as number
        // seconds since the last complete pass (60 s ago)
        assert.isTrue(lag >= 59 && lag < 90, `lag ${lag}`)
        assert.deepStrictEqual(
          { ...chatsStream, lag_seconds: 0 },
          {
            stream: "chats",
            status: "waiting_rate_limit",
            high_water_mark: new Date(now - 30_000).toISOString(),
            last_run_at: new Date(now - 2_000).toISOString(),
            last_success_at: new Date(now - 60_000).toISOString(),
            lag_seconds: 0,
            last_error: { code: "rate_limited", message: "chats.list locked", at: "2025-01-01T00:00:00.000Z" },
            consecutive_failures: 2
          }
        )
        assert.deepStrictEqual(membersStream, {
          stream: "members",
          status: "idle",
          high_water_mark: null,
          last_run_at: null,
          last_success_at: null,
          lag_seconds: null,
          last_error: null,
          consecutive_failures: 0
        })
        assert.deepStrictEqual(status.queue, {
          queued: 2,
          waiting_rate_limit: 0,
          waiting_reauth: 0,
          running: 1,
          succeeded: 0,
          failed: 1,
          cancelled: 0
        })
        assert.strictEqual(status.events_max_seq, 3)

        assert.strictEqual(status.buckets.length, 2 * BUCKET_IDS.length)
        const bucket = (account: string, id: string) =>
          status.buckets.find(b => b.account_id === account && b.bucket === id)
        assert.deepStrictEqual(bucket("a1", "chats.list"), {
          account_id: "a1",
          bucket: "chats.list",
          threshold: BUCKETS["chats.list"].threshold,
          used_last_60s: 3,
          locked_until: new Date(lock.lockedUntil).toISOString()
        })
        assert.deepStrictEqual(bucket("a1", "chats.update"), {
          account_id: "a1",
          bucket: "chats.update",
          threshold: BUCKETS["chats.update"].threshold,
          used_last_60s: 1,
          locked_until: null
        })
        assert.deepStrictEqual(
          status.buckets.filter(b => b.used_last_60s > 0).map(b => [b.account_id, b.bucket, b.used_last_60s]),
          [
            ["a1", "chats.list", 3],
            ["a1", "chats.update", 1],
            ["a2", "chats.get", 1]
          ]
        )
      })
    )

    it.effect("exposes the same figures on /metrics", () =>
      Effect.gen(function* () {
        const reply = yield* request("/metrics", { token: null })
        assert.strictEqual(reply.status, 200)
        assert.include(reply.contentType, "text/plain")
        assert.notInclude(reply.text, "cliq_chats_mirrored", "counting chats scans the table")
        assert.include(reply.text, "cliq_events_max_seq 3\n")
        assert.include(reply.text, 'cliq_commands{status="queued"} 2\n')
        const lag = /cliq_sync_lag_seconds\{account_id="a1",stream="chats"\} ([\d.]+)\n/.exec(reply.text)
        assert.isNotNull(lag)
        assert.isTrue(Number(lag![1]) >= 29)
        assert.notInclude(reply.text, 'stream="members"')
      })
    )
  }
)
