import { ChatDto, observedFields } from "@cliq-mirror/core"
import { Database, MirrorQueries, MirrorWriter } from "@cliq-mirror/db"
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
  it.effect("flagState: the account's flagged chats and the log's head", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const queries = yield* MirrorQueries
      yield* writer.apply({ accountId: "acc", observed: observe("1", "2", "3") })
      yield* writer.apply({ accountId: "other", observed: observe("1") })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["2"] }] })
      yield* writer.apply({ accountId: "other", flags: [{ flag: "muted", value: true, chatIds: ["1"] }] })
      assert.deepStrictEqual(yield* queries.flagState("acc", "muted"), {
        flagged: ["2"],
        head: yield* queries.eventHead
      })
    })
  )

  // A state pass settles a flag from listings that began at `since`; the hidden pass and the members pass apply what
  // they read likewise. A flag or member list written after that by another writer (a command's settlement) is newer
  // than what they saw: the page leaves those chats as that writer left them, checked under the chats' locks.
  it.effect("a flag page with `since` leaves chats whose flag another writer changed after it", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const queries = yield* MirrorQueries
      yield* writer.apply({ accountId: "acc", observed: observe("1", "2", "3", "4") })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["2"] }] })
      const since = yield* queries.eventHead
      // Newer writes, as a command's settlement makes them: 3 muted, 2 unmuted; 1 pinned (another flag); another
      // account's chat 4 muted.
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: true, chatIds: ["3"] }] })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "muted", value: false, chatIds: ["2"] }] })
      yield* writer.apply({ accountId: "acc", flags: [{ flag: "pinned", value: true, chatIds: ["1"] }] })
      yield* writer.apply({ accountId: "other", observed: observe("4") })
      yield* writer.apply({ accountId: "other", flags: [{ flag: "muted", value: true, chatIds: ["4"] }] })
      // The listings (begun at `since`) showed 1, 2 and 4 muted and not 3.
      yield* writer.apply({
        accountId: "acc",
        flags: [
          { flag: "muted", value: true, chatIds: ["1", "2", "4"], since },
          { flag: "muted", value: false, chatIds: ["3"], since }
        ]
      })
      assert.sameMembers((yield* queries.flagState("acc", "muted")).flagged, ["1", "3", "4"])
      // Listings begun after the newer writes settle them.
      const later = yield* queries.eventHead
      yield* writer.apply({
        accountId: "acc",
        flags: [
          { flag: "muted", value: true, chatIds: ["2"], since: later },
          { flag: "muted", value: false, chatIds: ["1", "3", "4"], since: later }
        ]
      })
      assert.deepStrictEqual((yield* queries.flagState("acc", "muted")).flagged, ["2"])
    })
  )

  it.effect("a member list with `since` leaves a chat whose members another writer changed after it", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const queries = yield* MirrorQueries
      const member = (user_id: string) => ({ user_id, name: null, email_id: null })
      const membersOf = Effect.flatMap(Database, db =>
        db.use(
          (_, sql) => sql<Array<{ user_id: string }>>`
          select user_id from chat_members where account_id = 'm' and chat_id = 'm1' order by user_id`
        )
      ).pipe(Effect.map(rows => rows.map(r => r.user_id)))
      yield* writer.apply({ accountId: "m", observed: observe("m1") })
      yield* writer.apply({
        accountId: "m",
        members: [{ chatId: "m1", members: [member("a")], fetchedAt: new Date() }]
      })
      // The members pass fetches the list (a only), then a command adds b and settles before the list is applied.
      const since = yield* queries.eventHead
      const fetchedAt = new Date()
      yield* writer.apply({
        accountId: "m",
        members: [{ chatId: "m1", members: [member("a"), member("b")], fetchedAt: new Date() }]
      })
      yield* writer.apply({ accountId: "m", members: [{ chatId: "m1", members: [member("a")], fetchedAt, since }] })
      assert.deepStrictEqual(yield* membersOf, ["a", "b"])
      // A list fetched after the command's write applies.
      const later = yield* queries.eventHead
      yield* writer.apply({
        accountId: "m",
        members: [{ chatId: "m1", members: [member("a")], fetchedAt: new Date(), since: later }]
      })
      assert.deepStrictEqual(yield* membersOf, ["a"])
    })
  )

  it.effect("modifiedTimes: the mirrored time of each chat held, in ms; absent chats left out", () =>
    Effect.gen(function* () {
      const writer = yield* MirrorWriter
      const queries = yield* MirrorQueries
      const untimed = { chat_id: "t3", name: "Chat t3", chat_type: "group_chat" }
      yield* writer.apply({
        accountId: "t",
        observed: [
          ...observe("t1", "t2"),
          { raw: untimed, chat: observedFields(Schema.decodeUnknownSync(ChatDto)(untimed), untimed) }
        ]
      })
      yield* writer.apply({ accountId: "other-t", observed: observe("t4") })
      const times = yield* queries.modifiedTimes("t", ["t1", "t3", "t4", "nope"])
      assert.deepStrictEqual([...times].sort(), [
        ["t1", 1_700_000_100_000],
        ["t3", null]
      ])
      assert.strictEqual((yield* queries.modifiedTimes("t", [])).size, 0)
    })
  )
})
