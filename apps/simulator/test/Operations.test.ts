import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type RunningSimulator, startSimulator } from "../src/index.js"
import { client, dataOf, memberChat, outsiders, request, userView } from "./helpers.js"

let sim: RunningSimulator
let api: ReturnType<typeof client>

beforeAll(async () => {
  sim = await startSimulator({ chats: 400, users: 3, seed: 7, control: true })
  api = client(sim, 0)
})
afterAll(() => sim.close())
beforeEach(() => sim.state.resetThrottle())

const group = () => memberChat(sim, 0, c => c.chatType === "group_chat" && c.lastMessage !== null)
const withMessages = (type: string) => memberChat(sim, 0, c => c.chatType === type && c.messages!.length > 0)
const foreignChat = () => sim.state.chats().find(c => !c.users.some(u => u.userIndex === 0))!

const expectCode = (res: { status: number; body: unknown }, code: string, status = 400) => {
  expect(res.status).toBe(status)
  expect(res.body).toMatchObject({ code })
  expect(typeof (res.body as { message: unknown }).message).toBe("string")
}

describe("routing", () => {
  it("answers 404 with only a message for unknown routes and 405 for a wrong method", async () => {
    const unknown = await api.get("/chats/123/nothing")
    expect(unknown.status).toBe(404)
    expect(Object.keys(unknown.body as object)).toEqual(["message"])
    const outside = await request(`${sim.url}/api/v2/chats`, { token: api.token })
    expect(outside.status).toBe(404)
    const wrong = await request(`${sim.apiBaseUrl}/chats`, { method: "DELETE", token: api.token })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get("allow")).toBe("GET, POST, PUT")
    expect(Object.keys(wrong.body as object)).toEqual(["message"])
  })

  it("answers 406 when the caller does not accept JSON", async () => {
    const res = await request(`${sim.apiBaseUrl}/chats`, { token: api.token, headers: { accept: "text/html" } })
    expect(res.status).toBe(406)
  })
})

describe("GET /chats/{id}", () => {
  it("returns the chat envelope, last_message_info only on request, fields narrowing", async () => {
    const chat = group()
    const plain = await api.get(`/chats/${chat.chatId}`)
    expect(plain.status).toBe(200)
    expect((plain.body as { type: string }).type).toBe("chat")
    expect(dataOf(plain)).toMatchObject({ chat_id: chat.chatId, chat_type: "group_chat", name: chat.title })
    expect(dataOf(plain).last_message_info).toBeUndefined()
    const full = await api.get(`/chats/${chat.chatId}`, { include: "last_message_info" })
    expect(dataOf(full).last_message_info).toMatchObject({
      message_id: chat.lastMessage!.messageId,
      sender: chat.lastMessage!.senderId,
      content: { text: chat.lastMessage!.text },
      type: "text"
    })
    const narrowed = await api.get(`/chats/${chat.chatId}`, { fields: "chat_type,participant_count,title,permissions" })
    expect(dataOf(narrowed)).toEqual({
      chat_id: chat.chatId,
      chat_type: "group_chat",
      participant_count: chat.participantCount
    })
    const tooMany = await api.get(`/chats/${chat.chatId}`, {
      fields: Array.from({ length: 21 }, (_, i) => `f${i}`).join(",")
    })
    expectCode(tooMany, "invalid.inputs.submitted")
  })

  it("denies unknown chats and chats of others", async () => {
    expectCode(await api.get("/chats/1234567890123456789"), "chat_access_denied")
    expectCode(await api.get(`/chats/${foreignChat().chatId}`), "chat_access_denied")
  })
})

describe("POST /chats", () => {
  it("creates a group chat with the create envelope and nested user_membership", async () => {
    const [a, b, c] = outsiders(sim)
    const res = await api.post("/chats", {
      chat_type: "group_chat",
      user_ids: [a, b, c, b, sim.state.userId(0)],
      title: "Q3"
    })
    expect(res.status).toBe(200)
    const body = res.body as { url: string; type: string; data: Record<string, unknown> }
    expect(body.url).toBe("/v3/chats")
    expect(body.type).toBe("chat")
    expect(body.data).toMatchObject({ name: "Q3", chat_type: "group_chat", participant_count: 4 })
    expect(body.data.user_membership).toEqual({ pinned: false, removed: false })
    expect(body.data.pinned).toBeUndefined()
    expect(body.data.removed).toBeUndefined()
    expect(body.data.creator).toMatchObject({ id: sim.state.userId(0) })
    expect(sim.state.chat(body.data.chat_id as string)!.participantIds).toEqual([sim.state.userId(0), a, b, c])
  })

  it("returns an existing DM instead of creating a second one", async () => {
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message")
    const other = dm.participantIds.find(id => id !== sim.state.userId(0))!
    const before = sim.state.chats().length
    const res = await api.post("/chats", { chat_type: "direct_message", user_id: other })
    expect(res.status).toBe(200)
    expect(dataOf(res).chat_id).toBe(dm.chatId)
    expect(sim.state.chats().length).toBe(before)
  })

  it("creates a new DM with a new contact", async () => {
    const dmPartners = new Set(
      sim.state
        .chats()
        .filter(c => c.chatType === "direct_message")
        .flatMap(c => c.participantIds)
    )
    const fresh = outsiders(sim).find(id => !dmPartners.has(id))!
    const res = await api.post("/chats", { chat_type: "direct_message", user_id: fresh })
    expect(res.status).toBe(200)
    expect(dataOf(res)).toMatchObject({ chat_type: "direct_message", participant_count: 2 })
  })

  it("validates chat_type, members and title", async () => {
    const [a, b] = outsiders(sim)
    const inactive = sim.state.people().find(p => !p.active && !p.guest)!.userId
    expectCode(await api.post("/chats", { user_id: a }), "invalid_inputs")
    expectCode(await api.post("/chats", { chat_type: "channel", user_id: a }), "invalid_inputs")
    expectCode(await api.post("/chats", { chat_type: "group_chat", user_ids: [a, b] }), "invalid_inputs")
    expectCode(await api.post("/chats", { chat_type: "group_chat", user_ids: [a, b], title: "  " }), "chat_title_empty")
    expectCode(
      await api.post("/chats", { chat_type: "group_chat", user_ids: [a, "999"], title: "x" }),
      "insufficient_members_to_create_group_chat"
    )
    expectCode(
      await api.post("/chats", { chat_type: "group_chat", user_ids: ["998", inactive], title: "x" }),
      "no_valid_users_available_to_create_chat"
    )
    expectCode(
      await api.post("/chats", { chat_type: "direct_message", user_id: "12345" }),
      "no_valid_users_available_to_create_chat"
    )
    const withoutDm = sim.state
      .people()
      .find(
        p =>
          !p.active &&
          !p.guest &&
          !sim.state.chats().some(c => c.chatType === "direct_message" && c.participantIds.includes(p.userId))
      )!
    expectCode(
      await api.post("/chats", { chat_type: "direct_message", user_id: withoutDm.userId }),
      "chat_not_available_with_this_inactive_user_and_cannot_create_newchat"
    )
  })

  it("enforces the participant cap", async () => {
    const capped = await startSimulator({ chats: 50, seed: 3, participantCap: 3 })
    try {
      const [a, b, c] = outsiders(capped)
      const res = await client(capped).post("/chats", { chat_type: "group_chat", user_ids: [a, b, c], title: "big" })
      expectCode(res, "group_chat_participants_limit_exceeded")
    } finally {
      await capped.close()
    }
  })
})

describe("PUT /chats", () => {
  it("read_status_update reports success and failure ids", async () => {
    const a = withMessages("group_chat")
    const last = a.messages!.at(-1)!
    const res = await api.put("/chats", {
      operation: "read_status_update",
      read_status: "read",
      chats: [
        { chat_id: a.chatId, last_message_id: last.messageId },
        { chat_id: foreignChat().chatId, last_message_id: last.messageId },
        { chat_id: a.chatId, last_message_id: "1_1" }
      ]
    })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({
      type: "chat.read_status",
      data: { success: [a.chatId], failure: [foreignChat().chatId, a.chatId] }
    })
    expect(userView(sim.state.chat(a.chatId)!, 0).unreadCount).toBe(0)
  })

  it("read_status_update validates its body", async () => {
    const missing = await api.put("/chats", { read_status: "read", chats: [] })
    expectCode(missing, "param_missing")
    expect((missing.body as { message: string }).message).toContain("operation")
    expectCode(await api.put("/chats", { operation: "read_status_update", chats: [] }), "param_missing")
    expectCode(await api.put("/chats", { operation: "read_status_update", read_status: "read" }), "param_missing")
    expectCode(
      await api.put("/chats", {
        operation: "read_status_update",
        read_status: "unread",
        chats: [{ chat_id: "1", last_message_id: "1" }]
      }),
      "invalid.inputs.submitted"
    )
    const noChatId = await api.put("/chats", {
      operation: "read_status_update",
      read_status: "read",
      chats: [{ last_message_id: "1" }]
    })
    expectCode(noChatId, "param_missing")
    expect((noChatId.body as { message: string }).message).toContain("chat_id")
    expectCode(
      await api.put("/chats", {
        operation: "read_status_update",
        read_status: "read",
        chats: Array.from({ length: 101 }, () => ({ chat_id: "1", last_message_id: "1" }))
      }),
      "invalid.inputs.submitted"
    )
    expectCode(await api.put("/chats", { operation: "bogus" }), "invalid.inputs.submitted")
  })

  it("clear_unread answers 204 and skips inaccessible ids", async () => {
    const unread = memberChat(sim, 0, c => userView(c, 0).unreadCount > 0)
    const res = await api.put("/chats", {
      operation: "clear_unread",
      chat_ids: [unread.chatId, foreignChat().chatId, "1"]
    })
    expect(res.status).toBe(204)
    expect(res.text).toBe("")
    expect(userView(sim.state.chat(unread.chatId)!, 0).unreadCount).toBe(0)
    expectCode(await api.put("/chats", { operation: "clear_unread" }), "param_missing")
    expectCode(await api.put("/chats", { operation: "clear_unread", chat_ids: "x" }), "invalid.inputs.submitted")
  })
})

describe("PUT /chats/{id}", () => {
  it("update_title renames, keeps previous titles and bumps only last_modified_time", async () => {
    const chat = group()
    sim.state.advanceClock(5000)
    const res = await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: "Quarterly Rewards" })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ type: "chat.title", data: { title: "Quarterly Rewards", chat_id: chat.chatId } })
    const after = sim.state.chat(chat.chatId)!
    expect(after.title).toBe("Quarterly Rewards")
    expect(after.previousTitles.at(-1)).toBe(chat.title)
    expect(after.lastModifiedMs).toBeGreaterThan(chat.lastModifiedMs)
    expect(after.lastMessageMs).toBe(chat.lastMessageMs)
    const got = await api.get(`/chats/${chat.chatId}`)
    expect(dataOf(got).previous_titles).toContain(chat.title)
  })

  it("update_title error codes", async () => {
    const chat = group()
    expectCode(await api.put(`/chats/${chat.chatId}`, { operation: "update_title" }), "param_missing")
    expectCode(await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: " " }), "chat_title_empty")
    expectCode(
      await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: "x".repeat(256) }),
      "invalid.inputs.submitted"
    )
    const channel = memberChat(sim, 0, c => c.chatType === "channel")
    expectCode(
      await api.put(`/chats/${channel.chatId}`, { operation: "update_title", title: "x" }),
      "channel_title_update_not_supported"
    )
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message")
    expectCode(
      await api.put(`/chats/${dm.chatId}`, { operation: "update_title", title: "x" }),
      "contact_rename_not_supported"
    )
    const bot = memberChat(sim, 0, c => c.chatType === "bot")
    expectCode(
      await api.put(`/chats/${bot.chatId}`, { operation: "update_title", title: "x" }),
      "chatlet_title_modification_not_allowed"
    )
    expectCode(
      await api.put(`/chats/${foreignChat().chatId}`, { operation: "update_title", title: "x" }),
      "chat_access_denied"
    )
  })

  it("update_history_status answers 204 and validates", async () => {
    const chat = group()
    const target = chat.historyEnabled ? "disabled" : "enabled"
    const res = await api.put(`/chats/${chat.chatId}`, { operation: "update_history_status", history_status: target })
    expect(res.status).toBe(204)
    expect(sim.state.chat(chat.chatId)!.historyEnabled).toBe(target === "enabled")
    expectCode(await api.put(`/chats/${chat.chatId}`, { operation: "update_history_status" }), "param_missing")
    expectCode(
      await api.put(`/chats/${chat.chatId}`, { operation: "update_history_status", history_status: "on" }),
      "invalid.inputs.submitted"
    )
  })

  it("mark_as_unread and mark_as_read move the unread marker", async () => {
    const chat = memberChat(sim, 0, c => c.messages!.length >= 3)
    const [, second] = chat.messages!
    const unread = await api.put(`/chats/${chat.chatId}`, {
      operation: "mark_as_unread",
      message_id: second!.messageId
    })
    expect(unread.status).toBe(204)
    let view = userView(sim.state.chat(chat.chatId)!, 0)
    expect(view.unreadCount).toBe(chat.messages!.length - 1)
    expect(view.unreadTimeMs).toBe(second!.timeMs)
    const read = await api.put(`/chats/${chat.chatId}`, {
      operation: "mark_as_read",
      last_message_id: second!.messageId
    })
    expect(read.status).toBe(204)
    view = userView(sim.state.chat(chat.chatId)!, 0)
    expect(view.unreadCount).toBe(chat.messages!.length - 2)
    const got = dataOf(await api.get(`/chats/${chat.chatId}`))
    expect(got.unread_message_count).toBe(chat.messages!.length - 2)
    expectCode(await api.put(`/chats/${chat.chatId}`, { operation: "mark_as_read" }), "invalid.inputs.submitted")
    expectCode(
      await api.put(`/chats/${chat.chatId}`, { operation: "mark_as_unread", message_id: "1_2" }),
      "invalid.inputs.submitted"
    )
  })

  it("clear_local_history hides past messages for the caller only", async () => {
    const chat = memberChat(
      sim,
      0,
      c => c.chatType === "group_chat" && c.lastMessage !== null && c.users.some(u => u.userIndex === 1 && u.member)
    )
    const res = await api.put(`/chats/${chat.chatId}`, { operation: "clear_local_history" })
    expect(res.status).toBe(204)
    const mine = dataOf(await api.get(`/chats/${chat.chatId}`, { include: "last_message_info" }))
    expect(mine.last_message_info).toBeUndefined()
    const theirs = dataOf(await client(sim, 1).get(`/chats/${chat.chatId}`, { include: "last_message_info" }))
    expect(theirs.last_message_info).toBeDefined()
    const channel = memberChat(sim, 0, c => c.chatType === "channel")
    expectCode(
      await api.put(`/chats/${channel.chatId}`, { operation: "clear_local_history" }),
      "chat_clear_local_history_not_supported"
    )
  })

  it("close_chat answers 204; the legacy {status: closed} body is param_missing", async () => {
    const chat = memberChat(sim, 0, c => c.chatType === "direct_message" && !userView(c, 0).closed)
    const res = await api.put(`/chats/${chat.chatId}`, { operation: "close_chat" })
    expect(res.status).toBe(204)
    expect(userView(sim.state.chat(chat.chatId)!, 0).closed).toBe(true)
    expect((await api.put(`/chats/${chat.chatId}`, { operation: "close_chat" })).status).toBe(204)
    const legacy = await api.put(`/chats/${chat.chatId}`, { status: "closed" })
    expectCode(legacy, "param_missing")
    expectCode(await api.put(`/chats/${foreignChat().chatId}`, { operation: "close_chat" }), "chat_access_denied")
  })

  it("rejects a body that is not JSON with a generic 400", async () => {
    const res = await fetch(`${sim.apiBaseUrl}/chats/${group().chatId}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json" },
      body: "{not json"
    })
    expect(res.status).toBe(400)
    expect(Object.keys((await res.json()) as object)).toEqual(["message"])
  })
})

describe("members", () => {
  it("lists members with optional field narrowing, for DMs too", async () => {
    const chat = group()
    const res = await api.get(`/chats/${chat.chatId}/members`)
    expect(res.status).toBe(200)
    const members = (res.body as { members: Array<Record<string, string>> }).members
    expect(members.map(m => m.user_id)).toEqual(chat.participantIds)
    expect(Object.keys(members[0]!)).toEqual(["user_id", "email_id", "name"])
    expect(members[0]!.email_id).toContain("@")
    const narrow = await api.get(`/chats/${chat.chatId}/members`, { fields: "name,unknown" })
    expect(Object.keys((narrow.body as { members: Array<object> }).members[0]!)).toEqual(["name"])
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message")
    expect((await api.get(`/chats/${dm.chatId}/members`)).body).toMatchObject({ members: [{}, {}] })
    expectCode(await api.get(`/chats/${foreignChat().chatId}/members`), "chat_access_denied")
  })

  it("adds and removes members of a group chat, omitting no-ops", async () => {
    const chat = group()
    const newcomer = outsiders(sim).find(id => !chat.participantIds.includes(id))!
    const existing = chat.participantIds.find(id => id !== sim.state.userId(0))!
    const added = await api.post(`/chats/${chat.chatId}/members`, { user_ids: [newcomer, existing] })
    expect(added.status).toBe(200)
    expect(added.body).toEqual({ type: "chat.member", data: { chat_id: chat.chatId, added_user_ids: [newcomer] } })
    const removed = await api.del(`/chats/${chat.chatId}/members`, { user_ids: `${newcomer},424242` })
    expect(removed.body).toEqual({ type: "chat.member", data: { chat_id: chat.chatId, removed_user_ids: [newcomer] } })
    expect(sim.state.chat(chat.chatId)!.participantIds).not.toContain(newcomer)
  })

  it("refuses DMs, channels and full chats", async () => {
    const someone = outsiders(sim)[0]!
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message")
    expectCode(
      await api.post(`/chats/${dm.chatId}/members`, { user_ids: [someone] }),
      "one_to_one_chat_add_member_not_allowed"
    )
    expectCode(
      await api.del(`/chats/${dm.chatId}/members`, { user_ids: someone }),
      "one_to_one_chat_delete_member_not_allowed"
    )
    const channel = memberChat(sim, 0, c => c.chatType === "channel")
    expectCode(await api.post(`/chats/${channel.chatId}/members`, { user_ids: [someone] }), "invalid.inputs.submitted")
    expectCode(await api.del(`/chats/${channel.chatId}/members`, { user_ids: someone }), "invalid.inputs.submitted")
    expectCode(await api.post(`/chats/${group().chatId}/members`, {}), "invalid.inputs.submitted")

    const capped = await startSimulator({ chats: 20, seed: 11, participantCap: 4 })
    try {
      const [a, b, c, d] = outsiders(capped)
      const g = capped.state.createChat({
        chatType: "group_chat",
        title: "four",
        participantIds: [capped.state.userId(0), a!, b!, c!]
      })
      expectCode(
        await client(capped).post(`/chats/${g.chatId}/members`, { user_ids: [d] }),
        "group_chat_participants_limit_exceeded"
      )
    } finally {
      await capped.close()
    }
  })
})

describe("forks", () => {
  it("forks from a message into a new group chat", async () => {
    const chat = memberChat(sim, 0, c => c.chatType === "group_chat" && c.messages!.length >= 2)
    const [a, b] = outsiders(sim)
    const res = await api.post(`/chats/${chat.chatId}/forks`, {
      message_id: chat.messages![1]!.messageId,
      title: "Fork: review",
      user_ids: `${a},${b}`
    })
    expect(res.status).toBe(200)
    const data = dataOf(res)
    expect((res.body as { type: string }).type).toBe("chat")
    expect(data).toMatchObject({ name: "Fork: review", chat_type: "group_chat", participant_count: 3 })
    const fork = sim.state.chat(data.chat_id as string)!
    expect(fork.messages!.map(m => m.messageId)).toEqual(chat.messages!.slice(1).map(m => m.messageId))
    const all = await api.post(`/chats/${chat.chatId}/forks`, {
      message_id: chat.messages![0]!.messageId,
      title: "Everyone",
      include_participants: true,
      user_ids: a
    })
    expect(dataOf(all).participant_count).toBe(chat.participantCount)
  })

  it("answers invalid_request for bad payloads and unknown chats", async () => {
    const chat = memberChat(sim, 0, c => c.messages!.length > 0 && c.chatType === "group_chat")
    const id = chat.messages![0]!.messageId
    expectCode(await api.post(`/chats/${chat.chatId}/forks`, { title: "x" }), "invalid_request")
    expectCode(await api.post(`/chats/${chat.chatId}/forks`, { message_id: id }), "invalid_request")
    expectCode(await api.post(`/chats/${chat.chatId}/forks`, { message_id: "1_1", title: "x" }), "invalid_request")
    expectCode(
      await api.post(`/chats/${chat.chatId}/forks`, { message_id: id, title: "x", user_ids: ["1"] }),
      "invalid_request"
    )
    expectCode(await api.post("/chats/1234/forks", { message_id: id, title: "x" }), "invalid_request")
  })
})

describe("activities, leave, mute, unmute", () => {
  it("typing answers 204 and validates the action", async () => {
    const chat = group()
    for (const action of ["typing", "text_entered", "text_cleared"]) {
      expect((await api.post(`/chats/${chat.chatId}/activities`, { action })).status).toBe(204)
    }
    expectCode(await api.post(`/chats/${chat.chatId}/activities`, {}), "param_missing")
    expectCode(await api.post(`/chats/${chat.chatId}/activities`, { action: "dancing" }), "invalid.inputs.submitted")
    expectCode(await api.post(`/chats/${foreignChat().chatId}/activities`, { action: "typing" }), "chat_access_denied")
  })

  it("mute and unmute answer 200 with an empty body and show under muted=true", async () => {
    const chat = memberChat(sim, 0, c => !userView(c, 0).muted && !userView(c, 0).closed && c.chatType === "group_chat")
    const muted = await api.post(`/chats/${chat.chatId}/mute`)
    expect(muted.status).toBe(200)
    expect(muted.text).toBe("")
    expect(muted.headers.get("content-type")).toBeNull()
    const list = await api.get("/chats", { muted: true, chat_ids: chat.chatId })
    expect((list.body as { chats: Array<object> }).chats).toHaveLength(1)
    const unmuted = await api.post(`/chats/${chat.chatId}/unmute`)
    expect(unmuted.status).toBe(200)
    expect(unmuted.text).toBe("")
    expect(userView(sim.state.chat(chat.chatId)!, 0).muted).toBe(false)
    expectCode(await api.post(`/chats/${foreignChat().chatId}/mute`), "chat_access_denied")
  })

  it("leave marks the chat removed and denies further mutations; DMs cannot be left", async () => {
    const chat = memberChat(sim, 0, c => c.chatType === "channel")
    const res = await api.post(`/chats/${chat.chatId}/leave`)
    expect(res.status).toBe(200)
    expect(res.text).toBe("")
    const got = await api.get(`/chats/${chat.chatId}`)
    expect(got.status).toBe(200)
    expect(dataOf(got).removed).toBe(true)
    expectCode(await api.post(`/chats/${chat.chatId}/mute`), "chat_access_denied")
    expectCode(await api.put(`/chats/${chat.chatId}`, { operation: "close_chat" }), "chat_access_denied")
    expectCode(await api.post(`/chats/${chat.chatId}/leave`), "chat_access_denied")
    const dm = memberChat(sim, 0, c => c.chatType === "direct_message")
    expectCode(await api.post(`/chats/${dm.chatId}/leave`), "invalid.inputs.submitted")
  })
})
