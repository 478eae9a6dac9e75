import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { TestDatabaseUrl, TestDatabaseUrlLive } from "../../../test/support/database.js"
import { type ChatListRequest, type ChatSortKey, ChatsQuery, escapeLike } from "../src/ChatsQuery.js"
import { Database, makeDatabase } from "../src/Database.js"
import { chatMembers, chats } from "../src/schema.js"

const DatabaseTest = Layer.scoped(
  Database,
  Effect.flatMap(TestDatabaseUrl, url => makeDatabase({ url: Redacted.make(url) })).pipe(Effect.map(Database.make))
).pipe(Layer.provide(TestDatabaseUrlLive))
const TestLayer = ChatsQuery.DefaultWithoutDependencies.pipe(Layer.provideMerge(DatabaseTest))

const rand = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

const random = rand(42)
const BASE = Date.UTC(2025, 5, 1)
const rows = Array.from({ length: 300 }, (_, i) => ({
  accountId: i % 3 === 0 ? "acc1" : "acc2",
  chatId: `id${String(i % 200).padStart(4, "0")}`,
  name: `${["alpha", "Beta", "gamma", "ALPHA"][Math.floor(random() * 4)]}${Math.floor(random() * 5)}`,
  lastModifiedTime: random() < 0.15 ? null : new Date(BASE + Math.floor(random() * 25) * 1000),
  pinned: random() < 0.5,
  raw: {}
}))
const unique = [...new Map(rows.map(r => [`${r.accountId}/${r.chatId}`, r])).values()]

type Row = (typeof unique)[number]
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0)
const oracle: Record<"recent" | "name", (a: Row, b: Row) => number> = {
  recent: (a, b) => {
    const [ta, tb] = [a.lastModifiedTime?.getTime() ?? null, b.lastModifiedTime?.getTime() ?? null]
    if (ta !== tb) return ta === null ? 1 : tb === null ? -1 : tb - ta
    return -cmp(a.chatId, b.chatId) || -cmp(a.accountId, b.accountId)
  },
  name: (a, b) =>
    cmp(a.name.toLowerCase(), b.name.toLowerCase()) || cmp(a.chatId, b.chatId) || cmp(a.accountId, b.accountId)
}

const pageAll = (request: Omit<ChatListRequest, "after">) =>
  Effect.gen(function* () {
    const query = yield* ChatsQuery
    const out: Array<string> = []
    let after: ChatSortKey | undefined
    for (let i = 0; i < 1000; i++) {
      const page = yield* query.list({ ...request, after })
      out.push(...page.rows.map(r => `${r.accountId}/${r.chatId}`))
      if (Option.isNone(page.next)) {
        assert.isAtMost(page.rows.length, request.limit)
        return out
      }
      assert.strictEqual(page.rows.length, request.limit)
      after = page.next.value
    }
    return out
  })

const Seeded = Layer.effectDiscard(Effect.flatMap(Database, db => db.use(d => d.insert(chats).values(unique)))).pipe(
  Layer.provideMerge(TestLayer)
)

layer(Seeded, { timeout: "2 minutes", excludeTestServices: true })("ChatsQuery", it => {
  it.effect("pages through both sorts, across ties, null times and ids repeated across accounts", () =>
    Effect.gen(function* () {
      for (const sort of ["recent", "name"] as const) {
        const expected = [...unique].sort(oracle[sort]).map(r => `${r.accountId}/${r.chatId}`)
        for (const limit of [1, 7, 64, 1000]) {
          assert.deepStrictEqual(yield* pageAll({ filters: {}, sort, limit }), expected, `${sort} limit ${limit}`)
        }
        const pinned = [...unique]
          .filter(r => r.pinned && r.accountId === "acc2")
          .sort(oracle[sort])
          .map(r => `${r.accountId}/${r.chatId}`)
        assert.deepStrictEqual(yield* pageAll({ filters: { pinned: true, accountId: "acc2" }, sort, limit: 9 }), pinned)
      }
    })
  )

  it.effect("get resolves a chat id held by several accounts to the lowest account id unless one is named", () =>
    Effect.gen(function* () {
      const query = yield* ChatsQuery
      const shared = unique.find(
        r => r.accountId === "acc1" && unique.some(o => o.accountId === "acc2" && o.chatId === r.chatId)
      )!
      assert.strictEqual(Option.getOrThrow(yield* query.get(shared.chatId)).accountId, "acc1")
      assert.strictEqual(Option.getOrThrow(yield* query.get(shared.chatId, "acc2")).accountId, "acc2")
      assert.isTrue(Option.isNone(yield* query.get("missing")))
      assert.isTrue(Option.isNone(yield* query.get(shared.chatId, "acc3")))
    })
  )

  it.effect("members come from the chat's own account, with the chat's members_fetched_at", () =>
    Effect.gen(function* () {
      const query = yield* ChatsQuery
      const fetchedAt = new Date("2025-06-01T00:00:00.250Z")
      yield* Effect.flatMap(Database, db =>
        db.use(async d => {
          await d.insert(chats).values({ accountId: "acc9", chatId: "m1", raw: {}, membersFetchedAt: fetchedAt })
          await d.insert(chatMembers).values([
            { accountId: "acc9", chatId: "m1", userId: "u2", name: "B", emailId: "b@x" },
            { accountId: "acc9", chatId: "m1", userId: "u1", name: null, emailId: null },
            { accountId: "acc8", chatId: "m1", userId: "u3", name: "elsewhere", emailId: null }
          ])
        })
      )
      const members = Option.getOrThrow(yield* query.members("m1"))
      assert.deepStrictEqual(members, {
        accountId: "acc9",
        fetchedAt,
        members: [
          { userId: "u1", name: null, emailId: null },
          { userId: "u2", name: "B", emailId: "b@x" }
        ]
      })
      assert.isTrue(Option.isNone(yield* query.members("m1", "acc8")))
    })
  )
})

describe("escapeLike", () => {
  it("escapes the LIKE wildcards and the escape character", () => {
    assert.strictEqual(escapeLike("50%_off\\x"), "50\\%\\_off\\\\x")
    assert.strictEqual(escapeLike("plain"), "plain")
  })
})
