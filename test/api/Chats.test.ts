import { CHAT_TYPES } from "@cliq-mirror/core"
import { schema } from "@cliq-mirror/db"
import { assert, layer } from "@effect/vitest"
import { and, eq } from "drizzle-orm"
import { Effect, Layer } from "effect"
import { apiTestLayer, type ChatInsert, chatRow, exec, insertChats, request } from "./harness.js"

const BASE = Date.UTC(2025, 0, 1)

/** 60 chats over two accounts with ties, nulls, wildcard characters in names and one chat id present in both accounts. */
const fixture: Array<ChatInsert> = Array.from({ length: 60 }, (_, i) =>
  chatRow(i % 3 === 0 ? "a2" : "a1", String(100 + i), {
    name: [`Sales ${i}`, `team_${i}`, `50% off ${i}`, `Project${i}`, `sALES-desk ${i}`][i % 5]!,
    chatType: CHAT_TYPES[i % CHAT_TYPES.length]!,
    pinned: i % 2 === 0,
    muted: i % 3 === 1,
    removed: i % 5 === 0,
    closed: i % 7 === 0,
    unreadMessageCount: i % 4 === 0 ? 0 : i,
    lastModifiedTime: i % 11 === 0 ? null : new Date(BASE + (i % 20) * 1000)
  })
).concat([chatRow("a2", "101", { name: "twin of 101", lastModifiedTime: new Date(BASE + 1000) })])

const recentOrder = (a: ChatInsert, b: ChatInsert) => {
  const ta = a.lastModifiedTime?.getTime() ?? null
  const tb = b.lastModifiedTime?.getTime() ?? null
  if (ta !== tb) return ta === null ? 1 : tb === null ? -1 : tb - ta
  if (a.chatId !== b.chatId) return a.chatId < b.chatId ? 1 : -1
  return a.accountId < b.accountId ? 1 : a.accountId > b.accountId ? -1 : 0
}

const idsOf = (rows: ReadonlyArray<ChatInsert>) => rows.map(r => `${r.accountId}/${r.chatId}`)

interface Page {
  readonly data: ReadonlyArray<{ readonly account_id: string; readonly chat_id: string; readonly name: string }>
  readonly next_cursor: string | null
}

const listAll = (query: string, limit = 7) =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const sep = query === "" ? "" : "&"
      const after: string = cursor === null ? "" : `&cursor=${cursor}`
      const reply = yield* request(`/v1/chats?${query}${sep}limit=${limit}${after}`)
      assert.strictEqual(reply.status, 200, reply.text)
      const page = reply.body as Page
      ids.push(...page.data.map(c => `${c.account_id}/${c.chat_id}`))
      cursor = page.next_cursor
      pages++
    } while (cursor !== null && pages < 100)
    return ids
  })

const expectFilter = (query: string, predicate: (c: ChatInsert) => boolean) =>
  Effect.gen(function* () {
    const expected = idsOf(fixture.filter(predicate).sort(recentOrder))
    assert.isAbove(expected.length, 0, `fixture has no match for ${query}`)
    assert.isBelow(expected.length, fixture.length, `filter ${query} selects everything`)
    assert.deepStrictEqual(yield* listAll(query), expected, query)
  })

const Seeded = Layer.effectDiscard(insertChats(fixture)).pipe(Layer.provideMerge(apiTestLayer()))

layer(Seeded, { timeout: "2 minutes", excludeTestServices: true })("GET /v1/chats", it => {
  it.effect("without filters returns every chat, closed and removed included, most recent first", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* listAll(""), idsOf([...fixture].sort(recentOrder)))
      const one = yield* request("/v1/chats?limit=1000")
      assert.strictEqual((one.body as Page).data.length, fixture.length)
      assert.isNull((one.body as Page).next_cursor)
    })
  )

  it.effect("filters by chat_type list", () =>
    expectFilter("chat_type=channel,%20bot", c => c.chatType === "channel" || c.chatType === "bot")
  )
  it.effect("filters by pinned", () =>
    Effect.all([expectFilter("pinned=true", c => c.pinned === true), expectFilter("pinned=false", c => !c.pinned)])
  )
  it.effect("filters by muted", () => expectFilter("muted=true", c => c.muted === true))
  it.effect("filters by removed", () => expectFilter("removed=false", c => !c.removed))
  it.effect("filters by closed", () => expectFilter("closed=true", c => c.closed === true))
  it.effect("filters by unread", () =>
    Effect.all([
      expectFilter("unread=true", c => (c.unreadMessageCount ?? 0) > 0),
      expectFilter("unread=false", c => (c.unreadMessageCount ?? 0) === 0)
    ])
  )
  it.effect("q is a case-insensitive substring with LIKE wildcards taken literally", () =>
    Effect.all([
      expectFilter("q=sAlEs", c => c.name!.toLowerCase().includes("sales")),
      expectFilter("q=%25", c => c.name!.includes("%")),
      expectFilter("q=_", c => c.name!.includes("_")),
      expectFilter("q=m_1", c => c.name!.toLowerCase().includes("m_1"))
    ])
  )
  it.effect("modified_after and modified_before are exclusive and take epoch ms or ISO 8601", () =>
    Effect.all([
      expectFilter(`modified_after=${BASE + 10_000}`, c => (c.lastModifiedTime?.getTime() ?? -1) > BASE + 10_000),
      expectFilter(
        `modified_before=${encodeURIComponent(new Date(BASE + 5_000).toISOString())}`,
        c => c.lastModifiedTime != null && c.lastModifiedTime.getTime() < BASE + 5_000
      ),
      expectFilter(
        `modified_after=2025-01-01T00:00:03%2B00:00&modified_before=2025-01-01T01:00:08.000%2B01:00`,
        c =>
          c.lastModifiedTime != null &&
          c.lastModifiedTime.getTime() > BASE + 3000 &&
          c.lastModifiedTime.getTime() < BASE + 8000
      )
    ])
  )
  it.effect("filters by account_id", () => expectFilter("account_id=a2", c => c.accountId === "a2"))
  it.effect("combines filters", () =>
    expectFilter(
      "account_id=a1&pinned=true&removed=false&q=s",
      c => c.accountId === "a1" && c.pinned === true && !c.removed && c.name!.toLowerCase().includes("s")
    )
  )

  it.effect("sort=name orders by lower(name), then chat_id, then account_id", () =>
    Effect.gen(function* () {
      const byName = (a: ChatInsert, b: ChatInsert) => {
        const [x, y] = [a.name!.toLowerCase(), b.name!.toLowerCase()]
        return x !== y
          ? x < y
            ? -1
            : 1
          : a.chatId !== b.chatId
            ? a.chatId < b.chatId
              ? -1
              : 1
            : a.accountId < b.accountId
              ? -1
              : 1
      }
      const expected = idsOf(fixture.filter(c => c.name!.toLowerCase().includes("project") && c.pinned).sort(byName))
      assert.isAbove(expected.length, 1)
      assert.deepStrictEqual(yield* listAll("sort=name&q=project&pinned=true", 2), expected)
      const all = yield* listAll("sort=name", 9)
      assert.strictEqual(all.length, fixture.length)
      assert.strictEqual(new Set(all).size, fixture.length)
    })
  )

  it.effect("a cursor only works with the filters and sort that issued it", () =>
    Effect.gen(function* () {
      const first = (yield* request("/v1/chats?pinned=true&limit=3")).body as Page
      assert.isNotNull(first.next_cursor)
      const cursor = first.next_cursor!
      const sameFilters = yield* request(`/v1/chats?pinned=true&limit=5&cursor=${cursor}`)
      assert.strictEqual(sameFilters.status, 200)
      for (const query of [
        "pinned=false",
        "pinned=true&sort=name",
        "pinned=true&q=a",
        "pinned=true&account_id=a1",
        ""
      ]) {
        const reply = yield* request(`/v1/chats?${query}&cursor=${cursor}`)
        assert.strictEqual(reply.status, 400, query)
        assert.deepStrictEqual(reply.body, {
          error: {
            code: "invalid_parameter",
            message: "cursor: foreign cursor: it was issued for other filters or another sort",
            field: "cursor"
          }
        })
      }
      for (const bad of ["not*base64", Buffer.from('{"v":1}').toString("base64url"), "eyJ2IjoxLCJzIjoicmVjZW50In0"]) {
        const reply = yield* request(`/v1/chats?cursor=${bad}`)
        assert.strictEqual(reply.status, 400)
        assert.strictEqual((reply.body as { error: { field: string } }).error.field, "cursor")
      }
    })
  )
})

const rand = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

const pageThroughWhileWriting = (sort: "recent" | "name") =>
  Effect.gen(function* () {
    const random = rand(sort === "recent" ? 7 : 11)
    const accountOf = (i: number) => (i % 2 === 0 ? "p1" : "p2")
    const initial = Array.from({ length: 150 }, (_, i) =>
      chatRow(accountOf(i), `k${String(i % 90).padStart(3, "0")}`, {
        name: `n${String(Math.floor(random() * 40)).padStart(2, "0")}`,
        lastModifiedTime: i % 17 === 0 ? null : new Date(BASE + Math.floor(random() * 30) * 1000)
      })
    )
    const unique = new Map(initial.map(r => [`${r.accountId}/${r.chatId}`, r]))
    yield* insertChats([...unique.values()])
    const moved = new Set<string>()
    const seen: Array<{ id: string; key: string }> = []
    let cursor: string | null = null
    let round = 0
    do {
      const after: string = cursor === null ? "" : `&cursor=${cursor}`
      const reply = yield* request(`/v1/chats?account_id=p1&sort=${sort}&limit=7${after}`)
      assert.strictEqual(reply.status, 200, reply.text)
      const page = reply.body as Page & { data: ReadonlyArray<{ last_modified_time: string | null }> }
      for (const c of page.data) {
        seen.push({
          id: `${c.account_id}/${c.chat_id}`,
          key: sort === "name" ? `${c.name.toLowerCase()}|${c.chat_id}` : `${c.last_modified_time ?? ""}|${c.chat_id}`
        })
      }
      cursor = page.next_cursor
      round++
      // Between pages, the daemon writes: new chats anywhere in the order, non-key updates, and moved sort keys.
      yield* insertChats(
        Array.from({ length: 4 }, (_, j) =>
          chatRow("p1", `new-${round}-${j}`, {
            name: `n${String(Math.floor(random() * 40)).padStart(2, "0")}`,
            lastModifiedTime: j === 3 ? null : new Date(BASE + Math.floor(random() * 40) * 1000)
          })
        )
      )
      const ids = [...unique.values()].filter(r => r.accountId === "p1").map(r => r.chatId)
      for (let j = 0; j < 3; j++) {
        const chatId = ids[Math.floor(random() * ids.length)]!
        yield* exec(db =>
          db
            .update(schema.chats)
            .set({ unreadMessageCount: round, muted: true })
            .where(and(eq(schema.chats.accountId, "p1"), eq(schema.chats.chatId, chatId)))
        )
      }
      const mover = ids[Math.floor(random() * ids.length)]!
      moved.add(`p1/${mover}`)
      yield* exec(db =>
        db
          .update(schema.chats)
          .set(sort === "name" ? { name: `moved ${round}` } : { lastModifiedTime: new Date(BASE + 99_000 + round) })
          .where(and(eq(schema.chats.accountId, "p1"), eq(schema.chats.chatId, mover)))
      )
    } while (cursor !== null && round < 100)

    const stable = [...unique.values()]
      .filter(r => r.accountId === "p1" && !moved.has(`p1/${r.chatId}`))
      .map(r => `p1/${r.chatId}`)
    const counts = new Map<string, number>()
    for (const s of seen) counts.set(s.id, (counts.get(s.id) ?? 0) + 1)
    assert.isAbove(round, 5)
    for (const id of stable) assert.strictEqual(counts.get(id), 1, `${id} seen ${counts.get(id) ?? 0} times`)
    assert.strictEqual(new Set(seen.map(s => s.id)).size, seen.length, "a row was returned twice")
    return seen
  })

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("GET /v1/chats keyset pagination", it => {
  it.effect("sort=recent: no unchanged row skipped or repeated while rows are inserted and updated", () =>
    Effect.gen(function* () {
      const seen = yield* pageThroughWhileWriting("recent")
      // Returned rows keep descending order across page boundaries (null times last).
      const keys = seen.map(s => s.key.replace(/^\|/, "!|"))
      for (let i = 1; i < keys.length; i++) assert.isTrue(keys[i - 1]! > keys[i]!, `${keys[i - 1]} then ${keys[i]}`)
    })
  )
})

layer(apiTestLayer(), { timeout: "2 minutes", excludeTestServices: true })("GET /v1/chats keyset by name", it => {
  it.effect("sort=name: no unchanged row skipped or repeated while rows are inserted and renamed", () =>
    Effect.gen(function* () {
      const seen = yield* pageThroughWhileWriting("name")
      for (let i = 1; i < seen.length; i++) assert.isTrue(seen[i - 1]!.key < seen[i]!.key)
    })
  )
})
