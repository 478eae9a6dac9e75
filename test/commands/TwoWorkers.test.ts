import { existsSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BUCKETS, type CommandInput, maxInAnyWindow, OPERATION_BY_ID } from "@cliq-mirror/core"
import type { makeDatabase } from "@cliq-mirror/db"
import { assert, describe, it } from "@effect/vitest"
import { Queue } from "bullmq"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { recordingProxy } from "../support/proxy.js"
import { scopedRedisPrefix, testRedisUrl } from "../support/redis.js"
import { daemon, drillEnvironment, groupChats, strangers, TIME_SCALE } from "./drill.js"
import { command } from "./harness.js"

const WINDOW_MS = 60_000 * TIME_SCALE

/** The drill's simulator, database and daemon environment, under a Redis prefix of its own. */
const environment = (chats: number, seed: number) =>
  Effect.gen(function* () {
    const prefix = yield* scopedRedisPrefix("two")
    const drill = yield* drillEnvironment({ chats, seed, redisUrl: testRedisUrl(), prefix })
    return { ...drill, prefix }
  })

/** Waits until no command is queued, waiting or running; returns the count by status. */
type DatabaseShape = Effect.Effect.Success<ReturnType<typeof makeDatabase>>

const drained = (database: DatabaseShape, timeoutMs: number, output: () => string) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const rows = yield* database.use(
        (_, sql) => sql<Array<{ status: string; n: number }>>`
          select status, count(*)::int as n from commands group by status`
      )
      const counts = Object.fromEntries(rows.map(r => [r.status, r.n]))
      if ((counts.queued ?? 0) + (counts.waiting_rate_limit ?? 0) + (counts.running ?? 0) === 0) return counts
      if (Date.now() > deadline) {
        // The runner shows only an error's first line: the daemons' output goes to the test's stdout.
        yield* Effect.sync(() => console.log(`daemon output:\n${output().slice(-8000)}`))
        return yield* Effect.die(new Error(`not drained: ${JSON.stringify(counts)}`))
      }
      yield* Effect.sleep("250 millis")
    }
  }).pipe(Effect.orDie)

/** Deterministic interleaving, so that every bucket has work from the first moment on. */
const interleave = <A>(lists: ReadonlyArray<ReadonlyArray<A>>): Array<A> => {
  const out: Array<A> = []
  for (let i = 0; out.length < lists.reduce((n, l) => n + l.length, 0); i++) {
    for (const list of lists) if (i < list.length) out.push(list[i]!)
  }
  return out
}

const COMMAND_OPERATIONS = new Set([
  "updateTitle",
  "closeChat",
  "muteChat",
  "unmuteChat",
  "bulkReadStatusUpdate",
  "addMembers",
  "removeMembers"
])

describe("two daemon processes", () => {
  it.scopedLive(
    "300 mixed commands across buckets → all succeed, zero threshold violations, both processes at work",
    () =>
      Effect.gen(function* () {
        const { sim, database, repo, env } = yield* environment(1800, 31)
        const g = groupChats(sim)
        assert.isAtLeast(g.length, 230)
        const me = sim.state.accounts()[0]!.userId
        const bodies = interleave<Record<string, unknown>>([
          g.slice(0, 100).map((t, i) => ({ type: "update_title", chat_id: t.chatId, title: `Two workers ${i}` })),
          g.slice(100, 120).map(t => ({ type: "close_chat", chat_id: t.chatId })),
          g.slice(120, 170).map(t => ({ type: "mute_chat", chat_id: t.chatId })),
          g.slice(170, 200).map(t => ({ type: "unmute_chat", chat_id: t.chatId })),
          g
            .slice(0, 40)
            .map(t => ({ type: "mark_as_read", chat_id: t.chatId, last_message_id: t.lastMessage!.messageId })),
          g.slice(200, 230).map(t => ({
            type: "add_members",
            chat_id: t.chatId,
            user_ids: strangers(sim, t.participantIds).slice(0, 2)
          })),
          g.slice(40, 70).map(t => ({
            type: "remove_members",
            chat_id: t.chatId,
            user_ids: t.participantIds.filter(id => id !== me && id !== t.creatorId).slice(0, 1)
          }))
        ])
        assert.strictEqual(bodies.length, 300)
        const inputs: Array<CommandInput> = bodies.map(command)
        yield* repo.intake(inputs, "default")

        const proxies = [yield* recordingProxy(sim.url), yield* recordingProxy(sim.url)]
        const heartbeat = join(tmpdir(), `cliq-mirror-heartbeat-${process.pid}-${Date.now()}`)
        const daemons = [
          yield* daemon({
            ...env,
            CLIQ_API_BASE_URL: `${proxies[0]!.url}/api/v3`,
            DAEMON_HEARTBEAT_FILE: heartbeat,
            DAEMON_HEARTBEAT_INTERVAL_MS: "200"
          }),
          yield* daemon({ ...env, CLIQ_API_BASE_URL: `${proxies[1]!.url}/api/v3` })
        ]
        const since = sim.state.requests().at(-1)?.seq ?? 0
        const counts = yield* drained(database, 90_000, () => daemons.map(d => d.output()).join("\n---\n"))

        const failed = yield* database
          .use(
            (_, sql) => sql<Array<{ type: string; last_error: unknown }>>`
              select type, last_error from commands where status = 'failed'`
          )
          .pipe(Effect.orDie)
        assert.deepStrictEqual([...failed], [])
        assert.deepStrictEqual(counts, { succeeded: 300 })
        assert.deepStrictEqual(sim.state.violations(), [])

        const calls = sim.state
          .requests(since)
          .filter(r => r.operationId !== null && COMMAND_OPERATIONS.has(r.operationId))
        assert.isTrue(
          calls.every(r => r.outcome === "ok"),
          JSON.stringify(calls.filter(r => r.outcome !== "ok"))
        )
        for (const bucket of new Set(calls.map(r => r.bucket!))) {
          const times = calls.filter(r => r.bucket === bucket).map(r => r.atMs)
          assert.isAtMost(maxInAnyWindow(times, WINDOW_MS), BUCKETS[bucket].threshold, bucket)
        }
        for (const t of g.slice(0, 100)) assert.match(sim.state.chat(t.chatId)!.title, /^Two workers \d+$/)
        for (const t of g.slice(120, 170)) assert.isTrue(sim.state.chat(t.chatId)!.users[0]!.muted)
        assert.isTrue(calls.some(r => OPERATION_BY_ID.addMembers.bucket === r.bucket))

        // Each process made upstream calls of its own.
        const shares = proxies.map(p => p.calls.filter(c => c.method !== "GET").length)
        assert.isTrue(
          shares.every(n => n > 0),
          `mutations per process: ${shares.join(", ")}`
        )

        // The first daemon's heartbeat is fresh while it runs, and gone once it has stopped.
        const beat = JSON.parse(readFileSync(heartbeat, "utf8")) as { at: string; postgres: string; redis: string }
        // The heartbeat carries more (accounts, streams): this test needs its clock and the two connections.
        assert.deepStrictEqual({ postgres: beat.postgres, redis: beat.redis }, { postgres: "ok", redis: "ok" })
        assert.isBelow(Date.now() - Date.parse(beat.at), 5_000)
        const exitCode = yield* Effect.promise(() => daemons[0]!.stop())
        assert.strictEqual(exitCode, 0, "the daemon did not stop cleanly within 15 s of SIGTERM")
        assert.isFalse(existsSync(heartbeat))
      }),
    { timeout: 180_000 }
  )

  it.scopedLive(
    "a crash between enqueue and marking loses nothing and runs nothing twice",
    () =>
      Effect.gen(function* () {
        const { sim, database, repo, env, prefix } = yield* environment(600, 32)
        const g = groupChats(sim)
        const bodies = [
          ...g.slice(0, 30).map((t, i) => ({ type: "update_title", chat_id: t.chatId, title: `Once ${i}` })),
          ...g.slice(30, 45).map(t => ({ type: "mute_chat", chat_id: t.chatId })),
          ...g.slice(45, 55).map(t => ({
            type: "add_members",
            chat_id: t.chatId,
            user_ids: strangers(sim, t.participantIds).slice(0, 1)
          }))
        ]
        const accepted = yield* repo.intake(bodies.map(command), "default")

        // The relay added the jobs, then died before marking the rows: enqueued_at is still null for all of them.
        const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: null })
        const queue = new Queue("commands", { connection, prefix: `${prefix}bull` })
        yield* Effect.promise(() =>
          queue.addBulk(
            accepted.map(a => ({
              name: "command",
              data: { commandId: a.command.id, accountId: a.command.accountId },
              opts: { jobId: a.command.id, removeOnComplete: true, removeOnFail: true }
            }))
          )
        )
        const unmarked = yield* database
          .use((_, sql) => sql<Array<{ n: number }>>`select count(*)::int as n from commands where enqueued_at is null`)
          .pipe(Effect.orDie)
        assert.strictEqual(unmarked[0]!.n, bodies.length)
        yield* Effect.promise(async () => {
          await queue.close()
          await connection.quit()
        })

        const since = sim.state.requests().at(-1)?.seq ?? 0
        const d = yield* daemon(env)
        const counts = yield* drained(database, 60_000, d.output)
        assert.deepStrictEqual(counts, { succeeded: bodies.length })

        const calls = sim.state
          .requests(since)
          .filter(r => r.operationId !== null && COMMAND_OPERATIONS.has(r.operationId))
        for (const body of bodies) {
          const mine = calls.filter(r => r.path.includes(`/chats/${body.chat_id}`))
          assert.strictEqual(mine.length, 1, `${body.type} ${body.chat_id}: ${mine.length} upstream calls`)
          assert.strictEqual(mine[0]!.outcome, "ok")
        }
        const rows = yield* database
          .use(
            (_, sql) => sql<Array<{ n: number; marked: number; attempts: number }>>`
              select count(*)::int as n, count(enqueued_at)::int as marked, max(attempts)::int as attempts from commands`
          )
          .pipe(Effect.orDie)
        assert.deepStrictEqual(rows[0], { n: bodies.length, marked: bodies.length, attempts: 1 })
        const succeededEvents = yield* database
          .use(
            (_, sql) => sql<Array<{ n: number }>>`
              select count(*)::int as n from events where type = 'CommandSucceeded'`
          )
          .pipe(Effect.orDie)
        assert.strictEqual(succeededEvents[0]!.n, bodies.length)
        assert.deepStrictEqual(sim.state.violations(), [])
      }),
    { timeout: 120_000 }
  )
})
