import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type ChatTruth, type RunningSimulator, startSimulator } from "../src/index.js"
import { formatTime } from "../src/TimeFormat.js"
import { chatsOf, client, type Json, memberChat, userView } from "./helpers.js"

let sim: RunningSimulator
let api: ReturnType<typeof client>

beforeAll(async () => {
  sim = await startSimulator({ chats: 1200, users: 3, seed: 42, control: true })
  api = client(sim, 0)
})
afterAll(() => sim.close())
beforeEach(() => sim.state.resetThrottle())

const newestFirst =
  (key: (c: ChatTruth) => number) =>
  (a: ChatTruth, b: ChatTruth): number =>
    key(b) - key(a) || (a.chatId < b.chatId ? 1 : a.chatId > b.chatId ? -1 : 0)

const view = (c: ChatTruth, userIndex = 0) => c.users.find(u => u.userIndex === userIndex)
const listed = (userIndex = 0) =>
  sim.state
    .chats()
    .filter(c => {
      const v = view(c, userIndex)
      return v !== undefined && !v.closed && !v.removed
    })
    .sort(newestFirst(c => c.listKeyMs))
const searchable = (userIndex = 0) =>
  sim.state
    .chats()
    .filter(c => {
      const v = view(c, userIndex)
      return v !== undefined && !v.removed
    })
    .sort(newestFirst(c => c.lastModifiedMs))
const ids = (chats: ReadonlyArray<Json | ChatTruth>) => chats.map(c => ("chatId" in c ? c.chatId : c.chat_id))

/** The largest group of listed chats sharing one exact filter key. */
const biggestTie = (chats: ReadonlyArray<ChatTruth>, key: (c: ChatTruth) => number) => {
  const groups = new Map<number, Array<ChatTruth>>()
  for (const c of chats) groups.set(key(c), [...(groups.get(key(c)) ?? []), c])
  return [...groups.entries()].sort((a, b) => b[1].length - a[1].length)[0]!
}

describe("GET /chats", () => {
  it("returns 20 chats by default, at most 100, and nothing but the chats", async () => {
    const res = await api.get("/chats")
    expect(res.status).toBe(200)
    expect(Object.keys(res.body as object)).toEqual(["chats"])
    expect(chatsOf(res)).toHaveLength(20)
    expect(chatsOf(await api.get("/chats", { limit: 100 }))).toHaveLength(100)
    for (const limit of [101, 0, -1, "ten"]) {
      const bad = await api.get("/chats", { limit })
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({ code: "invalid.inputs.submitted" })
    }
  })

  it("orders newest-first by last message time with ties by chat_id descending", async () => {
    const expected = listed()
    expect(ids(chatsOf(await api.get("/chats", { limit: 100 })))).toEqual(ids(expected.slice(0, 100)))
    const [key, tie] = biggestTie(expected, c => c.listKeyMs)
    expect(tie.length).toBeGreaterThan(5)
    const page = chatsOf(await api.get("/chats", { limit: 100, modified_after: key - 1, modified_before: key + 1 }))
    expect(ids(page)).toEqual(ids([...tie].sort(newestFirst(c => c.listKeyMs))))
  })

  it("treats both bounds as exclusive and truncates silently at limit", async () => {
    const [key, tie] = biggestTie(listed(), c => c.listKeyMs)
    const after = chatsOf(await api.get("/chats", { limit: 100, modified_after: key }))
    expect(after.some(c => tie.some(t => t.chatId === c.chat_id))).toBe(false)
    const before = chatsOf(await api.get("/chats", { limit: 100, modified_before: key }))
    expect(before.some(c => tie.some(t => t.chatId === c.chat_id))).toBe(false)
    expect(ids(before)).toEqual(
      ids(
        listed()
          .filter(c => c.listKeyMs < key)
          .slice(0, 100)
      )
    )
    const truncated = await api.get("/chats", { limit: 3, modified_after: key - 1, modified_before: key + 1 })
    expect(ids(chatsOf(truncated))).toEqual(ids([...tie].sort(newestFirst(c => c.listKeyMs)).slice(0, 3)))
    expect(Object.keys(truncated.body as object)).toEqual(["chats"])
    expect(truncated.headers.get("link")).toBeNull()
  })

  it("reports times in whole seconds in the caller's zone while filtering in milliseconds", async () => {
    const offsets = sim.state.accounts().map(a => a.offsetMinutes)
    expect(offsets).toContain(0)
    expect(offsets.some(o => o < 0)).toBe(true)
    for (const account of sim.state.accounts()) {
      const [first] = chatsOf(await client(sim, account.userIndex).get("/chats", { limit: 1 }))
      const truth = sim.state.chat(first!.chat_id as string)!
      const shape = account.offsetMinutes === 0 ? /T\d\d:\d\d:\d\dZ$/ : /T\d\d:\d\d:\d\d[+-]\d\d:\d\d$/
      expect(first!.created_time).toMatch(shape)
      expect(first!.created_time).toBe(formatTime(truth.createdMs, account.offsetMinutes, "offset"))
      expect(first!.last_modified_time).toBe(formatTime(truth.lastModifiedMs, account.offsetMinutes, "offset"))
      expect(Date.parse(first!.last_modified_time as string)).toBe(Math.floor(truth.lastModifiedMs / 1000) * 1000)
    }
    expect(sim.state.accounts()[0]!.offsetMinutes).toBe(330)
    const [first] = chatsOf(await api.get("/chats", { limit: 1 }))
    expect(first!.created_time).toMatch(/\+05:30$/)
  })

  it("can answer in UTC with .000Z", async () => {
    const utc = await startSimulator({ chats: 30, seed: 5, responseTimes: "utc" })
    try {
      const [first] = chatsOf(await client(utc, 1).get("/chats", { limit: 1 }))
      expect(first!.created_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    } finally {
      await utc.close()
    }
  })

  it("applies the per-user filters", async () => {
    const everything = sim.state.chats()
    const check = async (query: Record<string, string | boolean>, keep: (c: ChatTruth) => boolean) => {
      const expected = listed().filter(keep)
      const got = chatsOf(await api.get("/chats", { limit: 100, ...query }))
      expect(ids(got)).toEqual(ids(expected.slice(0, 100)))
      return got
    }
    expect((await check({ pinned: true }, c => view(c)!.pinned)).length).toBeGreaterThan(0)
    const muted = await check({ muted: true }, c => view(c)!.muted)
    expect(muted.length).toBeGreaterThan(0)
    expect(ids(chatsOf(await api.get("/chats", { limit: 100, type: "muted" })))).toEqual(ids(muted))
    await check({ drafts: true }, c => view(c)!.draft !== null)
    await check({ joined: true }, c => view(c)!.joined)
    await check({ type: "dm" }, c => c.chatType === "direct_message")
    await check({ type: "channel" }, c => c.chatType === "channel")
    await check({ type: "bot" }, c => c.chatType === "bot")
    await check({ type: "threads" }, c => c.chatType === "thread")
    await check({ type: "guests" }, c => c.hasGuests)
    await check({ name: "STANDUP" }, c => view(c)!.name.toLowerCase().includes("standup"))
    const recipient = everything.find(c => c.chatType === "group_chat")!.participantIds.at(-1)!
    await check({ recipient }, c => c.participantIds.includes(recipient))
    const parent = everything.find(c => c.chatType === "thread" && view(c)?.member)!.parentChatId!
    const threads = await check({ parent_chid: parent }, c => c.parentChatId === parent)
    expect(threads.every(t => t.parent_chat_id === parent && typeof t.thread_message_id === "string")).toBe(true)
    const some = listed().slice(3, 6)
    await check({ chat_ids: ids(some).join(",") }, c => ids(some).includes(c.chatId))
    const bad = await api.get("/chats", { type: "group" })
    expect(bad.body).toMatchObject({ code: "invalid.inputs.submitted" })
    const badFlag = await api.get("/chats", { pinned: "yes" })
    expect(badFlag.body).toMatchObject({ code: "invalid.inputs.submitted" })
    const iso = await api.get("/chats", { modified_after: "2025-01-01T00:00:00Z" })
    expect(iso.body).toMatchObject({ code: "invalid.inputs.submitted" })
  })

  it("hides closed and left chats unless closed=true; a new message reopens a closed chat", async () => {
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message" && !userView(c, 0).closed)
    await api.put(`/chats/${dm.chatId}`, { operation: "close_chat" })
    const group = memberChat(sim, 0, c => c.chatType === "group_chat" && !userView(c, 0).closed)
    await api.post(`/chats/${group.chatId}/leave`)
    const visible = ids(chatsOf(await api.get("/chats", { limit: 100, chat_ids: `${dm.chatId},${group.chatId}` })))
    expect(visible).toEqual([])
    const closed = chatsOf(
      await api.get("/chats", { limit: 100, closed: true, chat_ids: `${dm.chatId},${group.chatId}` })
    )
    expect(closed.map(c => [c.chat_id, c.removed]).sort()).toEqual(
      [
        [dm.chatId, false],
        [group.chatId, true]
      ].sort()
    )
    const search = chatsOf(await api.get("/chats/search", { title: "" }))
    expect(ids(search)).toContain(dm.chatId)
    expect(ids(search)).not.toContain(group.chatId)

    sim.state.postMessage(dm.chatId)
    const [top] = chatsOf(await api.get("/chats", { limit: 1 }))
    expect(top!.chat_id).toBe(dm.chatId)
  })

  it("files chats without messages under their creation time", async () => {
    const created = sim.state.createChat({
      chatType: "group_chat",
      title: "Empty room",
      participantIds: [sim.state.userId(0), sim.state.userId(1)]
    })
    expect(created.lastMessageMs).toBeNull()
    const page = chatsOf(await api.get("/chats", { modified_after: created.createdMs - 1, limit: 100 }))
    expect(ids(page)).toContain(created.chatId)
    expect(page.find(c => c.chat_id === created.chatId)!.last_message_info).toBeUndefined()
  })
})

describe("GET /chats/search", () => {
  it("returns up to 500 chats by default, newest-first by last modified time", async () => {
    const res = await api.get("/chats/search")
    expect(res.status).toBe(200)
    const expected = searchable()
    expect(ids(chatsOf(res))).toEqual(ids(expected.slice(0, 500)))
    expect(chatsOf(res)).toHaveLength(Math.min(500, expected.length))
    const over = await api.get("/chats/search", { limit: 501 })
    expect(over.body).toMatchObject({ code: "invalid.inputs.submitted" })
  })

  it("a rename moves the search key but not the GET /chats key; a message moves both", async () => {
    const chat = memberChat(
      sim,
      0,
      c => c.chatType === "group_chat" && !userView(c, 0).closed && c.lastMessage !== null
    )
    sim.state.advanceClock(60_000)
    const mark = sim.state.now()
    sim.state.advanceClock(1)
    await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: "Renamed for search" })
    const search = chatsOf(await api.get("/chats/search", { modified_after: mark }))
    expect(ids(search)).toEqual([chat.chatId])
    expect(search[0]!.name).toBe("Renamed for search")
    expect(ids(chatsOf(await api.get("/chats", { modified_after: mark })))).toEqual([])
    const truth = sim.state.chat(chat.chatId)!
    expect(truth.lastModifiedMs).toBeGreaterThan(mark)
    expect(truth.listKeyMs).toBe(chat.listKeyMs)

    sim.state.advanceClock(1)
    sim.state.postMessage(chat.chatId)
    expect(ids(chatsOf(await api.get("/chats", { modified_after: mark })))).toEqual([chat.chatId])
  })

  it("accepts epoch ms and ISO bounds, each parsed on its own, and rejects bad times", async () => {
    const expected = searchable()
    const hi = expected[40]!.lastModifiedMs
    const lo = expected[90]!.lastModifiedMs
    const want = ids(expected.filter(c => c.lastModifiedMs > lo && c.lastModifiedMs < hi))
    const iso = new Date(lo).toISOString()
    expect(ids(chatsOf(await api.get("/chats/search", { modified_after: iso, modified_before: hi })))).toEqual(want)
    expect(ids(chatsOf(await api.get("/chats/search", { modified_after: lo, modified_before: hi })))).toEqual(want)
    for (const query of [
      { modified_after: "yesterday" },
      { modified_before: "2025-13-45T00:00:00Z" },
      { modified_after: hi, modified_before: lo },
      { modified_after: hi, modified_before: hi }
    ]) {
      expect((await api.get("/chats/search", query)).body).toMatchObject({ code: "invalid.time.submitted" })
    }
  })

  it("filters by title, chat_type, recipient and parent_chat_id", async () => {
    const check = async (query: Record<string, string>, keep: (c: ChatTruth) => boolean) => {
      const got = chatsOf(await api.get("/chats/search", query))
      expect(ids(got)).toEqual(ids(searchable().filter(keep).slice(0, 500)))
      return got
    }
    expect(
      (await check({ title: "general" }, c => view(c)!.name.toLowerCase().includes("general"))).length
    ).toBeGreaterThan(0)
    const typed = await check({ chat_type: "channel,thread" }, c => c.chatType === "channel" || c.chatType === "thread")
    expect(new Set(typed.map(c => c.chat_type))).toEqual(new Set(["channel", "thread"]))
    const someone = searchable()
      .find(c => c.chatType === "channel")!
      .participantIds.at(-1)!
    await check({ recipient: someone }, c => c.participantIds.includes(someone))
    const parent = searchable().find(c => c.chatType === "thread")!.parentChatId!
    await check({ parent_chat_id: parent }, c => c.parentChatId === parent)
    expect((await api.get("/chats/search", { chat_type: "bot" })).body).toMatchObject({
      code: "invalid.inputs.submitted"
    })
    expect((await api.get("/chats/search", { sort_by: "name" })).body).toMatchObject({
      code: "invalid.inputs.submitted"
    })
    expect((await api.get("/chats/search", { title: "x".repeat(201) })).body).toMatchObject({
      code: "invalid.inputs.submitted"
    })
  })

  it("sort_by=usage puts the caller's most used chats first", async () => {
    const usage = (c: ChatTruth) => view(c)!.usage
    const expected = searchable().sort((a, b) => usage(b) - usage(a) || newestFirst(x => x.lastModifiedMs)(a, b))
    const got = chatsOf(await api.get("/chats/search", { sort_by: "usage", limit: 60 }))
    expect(ids(got)).toEqual(ids(expected.slice(0, 60)))
    const quiet = expected.find(c => usage(c) === 0)!
    const top = usage(expected[0]!)
    for (let i = 0; i <= top; i++) await api.get(`/chats/${quiet.chatId}`)
    sim.state.resetThrottle()
    const [first] = chatsOf(await api.get("/chats/search", { sort_by: "usage", limit: 1 }))
    expect(first!.chat_id).toBe(quiet.chatId)
  })
})
