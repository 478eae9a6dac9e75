import { Limits } from "@cliq-mirror/core"
import { CommandsRepo } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { command } from "../commands/harness.js"
import { DatabaseTest } from "../support/layers.js"

const Repo = CommandsRepo.Default.pipe(Layer.provideMerge(DatabaseTest))
const LEASE_MS = 60_000

/**
 * The dry run announces ceil(chats / 100) calls. Planners used to read the waiting chats, then claim them: two planners
 * racing claimed parts of one another's plans and sent partial calls (102 calls for 10,000 chats). Planning and
 * claiming are one turn per account now: however many planners race, every call but the last is full.
 */
layer(Repo, { timeout: "2 minutes" })("coalesced mark_as_read claims", it => {
  it.effect("eight racing planners over 1,050 chats make 11 calls, each full but the last, none overlapping", () =>
    Effect.gen(function* () {
      const repo = yield* CommandsRepo
      const chats = Array.from({ length: 1_050 }, (_, i) => `chat-${String(i).padStart(4, "0")}`)
      // A chat whose earlier command is not a mark_as_read: its mark_as_read waits for it and is carried by no call.
      const blocked = "chat-blocked"
      const accepted = yield* repo.intake(
        [
          command({ type: "update_title", chat_id: blocked, title: "first" }),
          command({ type: "mark_as_read", chat_id: blocked, last_message_id: "m-blocked" }),
          ...chats.map(chat_id => command({ type: "mark_as_read", chat_id, last_message_id: `m-${chat_id}` }))
        ],
        "default"
      )
      const reads = accepted.slice(2).map(a => a.command)
      const blockedRead = accepted[1]!.command.id

      const calls: Array<ReadonlyArray<string>> = []
      // Each round, eight planners race, each for the command of a job spread over the batch (own chat first).
      for (let round = 0; calls.flat().length < reads.length && round < 20; round++) {
        const owners = Array.from({ length: 8 }, (_, k) => reads[(k * 131 + round) % reads.length]!)
        const batches = yield* Effect.forEach(
          owners,
          own => repo.claimReadBatch("default", own.id, Limits.bulkChatsMax, LEASE_MS),
          { concurrency: "unbounded" }
        )
        for (const batch of batches) if (batch.length > 0) calls.push(batch.map(c => c.id))
      }
      assert.strictEqual(calls.length, Math.ceil(chats.length / Limits.bulkChatsMax))
      assert.deepStrictEqual(
        calls.map(c => c.length).sort((a, b) => b - a),
        [...Array.from({ length: 10 }, () => 100), 50]
      )
      const carried = calls.flat()
      assert.strictEqual(new Set(carried).size, carried.length, "a command is in one call only")
      assert.deepStrictEqual(new Set(carried), new Set(reads.map(c => c.id)))
      assert.notInclude(carried, blockedRead)
      const blockedRow = yield* repo.load(blockedRead)
      assert.strictEqual(blockedRow?.status, "queued")
    })
  )

  it.effect("the job's own command is in its call; a job whose command is carried elsewhere carries the oldest", () =>
    Effect.gen(function* () {
      const repo = yield* CommandsRepo
      const accepted = yield* repo.intake(
        Array.from({ length: 150 }, (_, i) =>
          command({ type: "mark_as_read", chat_id: `own-${i}`, last_message_id: `m-${i}` })
        ),
        "default"
      )
      const ids = accepted.map(a => a.command.id)
      const first = yield* repo.claimReadBatch("default", ids[120]!, Limits.bulkChatsMax, LEASE_MS)
      assert.strictEqual(first.length, 100)
      // The own chat comes first, then the oldest: the 100th oldest waits for the next call.
      assert.deepStrictEqual(
        first.map(c => c.id),
        [...ids.slice(0, 99), ids[120]!]
      )
      // The own command is running in that call: this planner still carries a call, of the oldest that wait.
      const second = yield* repo.claimReadBatch("default", ids[120]!, Limits.bulkChatsMax, LEASE_MS)
      assert.deepStrictEqual(
        second.map(c => c.id),
        ids.filter(id => !first.some(c => c.id === id))
      )
      assert.deepStrictEqual(yield* repo.claimReadBatch("default", ids[0]!, Limits.bulkChatsMax, LEASE_MS), [])
    })
  )

  // The bulk bench's drain made 101 calls for 10,000 chats: a job refused a slot parked the command it had read as
  // waiting for the rate limit, though another call had claimed it during the slot wait; the command was claimed and
  // sent again.
  it.effect("a job refused a slot leaves its command to the call that claimed it meanwhile", () =>
    Effect.gen(function* () {
      const repo = yield* CommandsRepo
      const accepted = yield* repo.intake(
        Array.from({ length: 150 }, (_, i) =>
          command({ type: "mark_as_read", chat_id: `slot-${i}`, last_message_id: `m-${i}` })
        ),
        "default"
      )
      const ids = accepted.map(a => a.command.id)
      const read = yield* repo.load(ids[5]!)
      assert.strictEqual(read?.status, "queued")
      const first = yield* repo.claimReadBatch("default", ids[0]!, Limits.bulkChatsMax, LEASE_MS)
      assert.include(
        first.map(c => c.id),
        ids[5]!
      )
      const parking = { status: "waiting_rate_limit", eta: new Date(Date.now() + 5_000), error: null } as const
      // The refused job holds no claim on what it read: the park leaves the running command alone.
      yield* repo.park([read!], { ...parking, from: "waiting" })
      assert.strictEqual((yield* repo.load(ids[5]!))?.status, "running")
      const second = yield* repo.claimReadBatch("default", ids[120]!, Limits.bulkChatsMax, LEASE_MS)
      assert.strictEqual(second.length, 50)
      assert.notInclude(
        second.map(c => c.id),
        ids[5]!
      )
      // The attempt that claimed them parks them (a throttle answer): running commands go back to wait.
      yield* repo.park(first, { ...parking, from: "running" })
      assert.strictEqual((yield* repo.load(ids[5]!))?.status, "waiting_rate_limit")
      // And a park of claimed commands leaves one that is no longer running (waiting, or settled) as it is.
      yield* repo.park(
        first.filter(c => c.id === ids[5]),
        { from: "running", status: "queued", eta: null, error: null }
      )
      assert.strictEqual((yield* repo.load(ids[5]!))?.status, "waiting_rate_limit")
    })
  )
})
