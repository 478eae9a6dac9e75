import { SyncStateRepo } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"

const TestLayer = SyncStateRepo.Default.pipe(Layer.provideMerge(DatabaseTest))

/** The ids queued for an account's hidden pass, oldest first. */
const idsOf = (repo: SyncStateRepo, accountId: string) => Effect.map(repo.queued(accountId, "hidden"), q => [...q.ids])

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("SyncStateRepo queues", it => {
  // A process marks a queue it found empty, to poll it without a round trip while it holds the account. If it loses
  // the account, another process queues chats and loses it in turn, the first one must not trust its old mark when it
  // takes the account back.
  it.effect("a process taking an account back reads its queue again", () =>
    Effect.gen(function* () {
      const mine = yield* SyncStateRepo
      // Another process: a second instance of the repository over the same database.
      const theirs = Context.get(yield* Layer.build(SyncStateRepo.Default), SyncStateRepo)
      assert.deepStrictEqual(yield* idsOf(mine, "acc"), [])
      yield* theirs.enqueue("acc", "hidden", ["X", "Y"])
      assert.deepStrictEqual(yield* idsOf(mine, "acc"), [], "the mark saves the round trip")
      yield* mine.forgetAccount("acc")
      assert.deepStrictEqual(yield* idsOf(mine, "acc"), ["X", "Y"])
    }).pipe(Effect.scoped)
  )
})
