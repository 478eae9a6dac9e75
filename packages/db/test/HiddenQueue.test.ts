import { Database, SyncStateRepo } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"

const TestLayer = SyncStateRepo.Default.pipe(Layer.provideMerge(DatabaseTest))

/** The ids queued for an account's hidden pass, oldest first. */
const idsOf = (repo: SyncStateRepo, accountId: string) => Effect.map(repo.queued(accountId, "hidden"), q => [...q.ids])

// The hidden-state queue (`sync_state.cursor->'pending'`): a pass reads it, lists the chats' hidden states (seconds),
// then dequeues what it read. Each test uses its own account.
layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("hidden queue", it => {
  it.effect("a chat enqueued again while a pass that read it lists stays queued", () =>
    Effect.gen(function* () {
      const repo = yield* SyncStateRepo
      yield* repo.enqueue("hq-again", "hidden", ["A", "B"])
      // The pass reads the queue…
      const read = yield* repo.queued("hq-again", "hidden")
      assert.deepStrictEqual(read.ids, ["A", "B"])
      // …and, while it lists, A moves again (after the listing) and C moves for the first time.
      yield* repo.enqueue("hq-again", "hidden", ["A", "C"])
      yield* repo.dequeue("hq-again", "hidden", read.ids, read.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-again"), ["A", "C"])
      // The next pass takes them, and the queue drains.
      const next = yield* repo.queued("hq-again", "hidden")
      yield* repo.dequeue("hq-again", "hidden", next.ids, next.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-again"), [])
      const state = yield* repo.read("hq-again", "hidden")
      assert.deepStrictEqual(state.cursor.gens, {}, "removed ids leave the gens map")
    })
  )

  it.effect("a row written before versioning (pending without gens) still drains", () =>
    Effect.gen(function* () {
      const repo = yield* SyncStateRepo
      const db = yield* Database
      yield* db.use(
        (_, sql) => sql`
          insert into sync_state (account_id, stream, cursor, status)
          values ('hq-old', 'hidden', '{"pending": ["X", "Y"]}'::jsonb, 'backing_off')`
      )
      const read = yield* repo.queued("hq-old", "hidden")
      assert.deepStrictEqual(read, { ids: ["X", "Y"], gen: 0 })
      // An enqueue while the pass lists: Y again (kept), Z new.
      yield* repo.enqueue("hq-old", "hidden", ["Y", "Z"])
      yield* repo.dequeue("hq-old", "hidden", read.ids, read.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-old"), ["Y", "Z"])
      const next = yield* repo.queued("hq-old", "hidden")
      yield* repo.dequeue("hq-old", "hidden", next.ids, next.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-old"), [])
      const state = yield* db.use(
        (_, sql) => sql<Array<{ status: string }>>`
          select status from sync_state where account_id = 'hq-old' and stream = 'hidden'`
      )
      assert.strictEqual(state[0]!.status, "idle", "a dequeue still records the pass's success")

      // A row with no gens at all, dequeued directly: every id read goes.
      yield* db.use(
        (_, sql) => sql`
          insert into sync_state (account_id, stream, cursor)
          values ('hq-old2', 'hidden', '{"pending": ["P", "Q", "R"]}'::jsonb)`
      )
      const old = yield* repo.queued("hq-old2", "hidden")
      yield* repo.dequeue("hq-old2", "hidden", ["P", "R"], old.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-old2"), ["Q"])
    })
  )

  it.effect("the queue keeps the order of first enqueue", () =>
    Effect.gen(function* () {
      const repo = yield* SyncStateRepo
      yield* repo.enqueue("hq-order", "hidden", ["C", "A", "C"])
      yield* repo.enqueue("hq-order", "hidden", ["B", "A"])
      yield* repo.enqueue("hq-order", "hidden", ["D", "C"])
      const read = yield* repo.queued("hq-order", "hidden")
      assert.deepStrictEqual(read.ids, ["C", "A", "B", "D"])
      assert.strictEqual(read.gen, 3, "one gen per enqueue statement")
      // A partial dequeue keeps the rest in order.
      yield* repo.dequeue("hq-order", "hidden", ["A"], read.gen)
      assert.deepStrictEqual(yield* idsOf(repo, "hq-order"), ["C", "B", "D"])
    })
  )

  it.effect("concurrent enqueues each take a gen and lose no id", () =>
    Effect.gen(function* () {
      const repo = yield* SyncStateRepo
      yield* repo.enqueue("hq-many", "hidden", ["first"])
      const read = yield* repo.queued("hq-many", "hidden")
      const ids = Array.from({ length: 12 }, (_, i) => `c${i}`)
      // Enqueues racing each other and the dequeue of what was read: "first" is enqueued again by one of them.
      yield* Effect.all(
        [
          ...ids.map(id => repo.enqueue("hq-many", "hidden", id === "c5" ? [id, "first"] : [id])),
          repo.dequeue("hq-many", "hidden", read.ids, read.gen)
        ],
        { concurrency: "unbounded" }
      )
      const after = yield* repo.queued("hq-many", "hidden")
      assert.strictEqual(after.gen, 13)
      assert.sameMembers(
        [...after.ids].filter(id => id !== "first"),
        ids
      )
    })
  )

  // A process marks a queue it found empty, to poll it without a round trip while it holds the account. If it loses
  // the account, another process queues chats and loses it in turn, the first one must not trust its old mark when it
  // takes the account back.
  it.effect("a process taking an account back reads its queue again", () =>
    Effect.gen(function* () {
      const mine = yield* SyncStateRepo
      // Another process: a second instance of the repository over the same database.
      const theirs = Context.get(yield* Layer.build(SyncStateRepo.Default), SyncStateRepo)
      assert.deepStrictEqual(yield* idsOf(mine, "hq-back"), [])
      yield* theirs.enqueue("hq-back", "hidden", ["X", "Y"])
      assert.deepStrictEqual(yield* idsOf(mine, "hq-back"), [], "the mark saves the round trip")
      yield* mine.forgetAccount("hq-back")
      assert.deepStrictEqual(yield* idsOf(mine, "hq-back"), ["X", "Y"])
    }).pipe(Effect.scoped)
  )
})
