import { ChatDto, observedFields } from "@cliq-mirror/core"
import { MirrorQueries, MirrorWriter } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { DatabaseTest } from "../../../test/support/layers.js"

const observe = (...ids: Array<string>) =>
  ids.map(id => {
    const raw = { chat_id: id, name: `Chat ${id}`, chat_type: "group_chat", last_modified_time: 1_700_000_100_000 }
    return { raw, chat: observedFields(Schema.decodeUnknownSync(ChatDto)(raw), raw) }
  })

const TestLayer = Layer.mergeAll(MirrorWriter.Default, MirrorQueries.Default).pipe(Layer.provideMerge(DatabaseTest))

layer(TestLayer, { timeout: "60 seconds", excludeTestServices: true })("MirrorQueries", it => {
  // A state pass settles a flag from listings that began at `since`: a flag written after that by a command or the
  // hidden pass is newer than what the listings saw, and flagState names those chats so the settlement leaves them be.
  it.effect("flagState: the flagged chats, those whose flag was written after `since`, and the log's head", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const queries = yield* MirrorQueries
      yield* writer.apply({ accountId: "acc", observed: observe("1", "2", "3") })
      yield* writer.apply({ accountId: "other", observed: observe("1") })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["2"] }] })
      const since = yield* queries.eventHead
      const before = yield* queries.flagState("acc", "muted", since)
      assert.deepStrictEqual(before, { flagged: ["2"], changed: [], head: since })

      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["3"] }] })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: false, chatIds: ["2"] }] })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "pinned", value: true, chatIds: ["1"] }] })
      yield* writer.apply({ accountId: "other", flags: [{ flag: "muted", value: true, chatIds: ["1"] }] })
      const after = yield* queries.flagState("acc", "muted", since)
      assert.deepStrictEqual(after.flagged, ["3"])
      assert.sameMembers(after.changed, ["2", "3"])
      assert.isAbove(after.head, since)
      assert.strictEqual(after.head, yield* queries.eventHead)
      // From the new head on, nothing changed since.
      assert.deepStrictEqual((yield* queries.flagState("acc", "muted", after.head)).changed, [])
    })
  )
})
