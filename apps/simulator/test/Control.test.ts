import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type RunningSimulator, SimulatorServer, startSimulator } from "../src/index.js"
import { chatsOf, client, dataOf, memberChat, outsiders, request } from "./helpers.js"

let sim: RunningSimulator
let api: ReturnType<typeof client>

beforeAll(async () => {
  sim = await startSimulator({ chats: 200, seed: 13, control: true, defaultHoldMs: 2000 })
  api = client(sim)
})
afterAll(() => sim.close())
beforeEach(() => {
  sim.state.resetThrottle()
  sim.state.clearFaults()
  sim.state.resetLogs()
})

const control = (method: string, path: string, body?: unknown) =>
  request(`${sim.url}/_sim${path}`, { method, ...(body !== undefined ? { body } : {}) })

const group = () =>
  memberChat(sim, 0, c => c.chatType === "group_chat" && c.users.some(u => u.userIndex === 1 && u.member))

describe("control API", () => {
  it("is absent unless enabled", async () => {
    const off = await startSimulator({ chats: 5, seed: 1 })
    try {
      expect((await request(`${off.url}/_sim`)).status).toBe(404)
      expect((await request(`${off.url}/_sim/chats`)).status).toBe(404)
    } finally {
      await off.close()
    }
  })

  it("describes itself and exposes the ground truth with millisecond times and per-user state", async () => {
    const summary = (await control("GET", "")).body as Record<string, unknown>
    expect(summary).toMatchObject({ chatCount: 200, options: { seed: 13, chats: 200 } })
    expect(summary.routes).toContain("POST /_sim/faults")
    const users = (await control("GET", "/users")).body as { accounts: Array<{ token: string }>; people: Array<object> }
    expect(users.accounts.map(a => a.token)).toEqual(["sim-token-1", "sim-token-2", "sim-token-3"])
    const all = (await control("GET", "/chats")).body as { chats: Array<{ chatId: string; lastModifiedMs: number }> }
    expect(all.chats).toHaveLength(200)
    const one = (await control("GET", `/chats/${all.chats[0]!.chatId}`)).body as Record<string, unknown>
    expect(one).toEqual(JSON.parse(JSON.stringify(sim.state.chat(all.chats[0]!.chatId))))
    expect(Array.isArray(one.messages)).toBe(true)
    expect((await control("GET", "/chats/nope")).status).toBe(404)
    const picked = (await control("GET", `/chats?ids=${all.chats[1]!.chatId}`)).body as { chats: Array<object> }
    expect(picked.chats).toHaveLength(1)
  })

  it("posts messages to many chats in the same millisecond", async () => {
    const targets = [
      memberChat(sim, 0, c => c.chatType === "channel"),
      group(),
      memberChat(sim, 0, c => c.chatType === "direct_message")
    ]
    const atMs = sim.state.now() + 10_000
    const res = await control("POST", "/messages", { chatIds: targets.map(t => t.chatId), atMs })
    const messages = (res.body as { messages: Array<{ timeMs: number; messageId: string }> }).messages
    expect(messages.map(m => m.timeMs)).toEqual([atMs, atMs, atMs])
    expect(messages.every(m => m.messageId.startsWith(`${atMs}_`))).toBe(true)
    const top = chatsOf(await api.get("/chats", { limit: 3 }))
    expect(top.map(c => c.chat_id)).toEqual(
      targets
        .map(t => t.chatId)
        .sort()
        .reverse()
    )
    const single = await control("POST", `/chats/${targets[0]!.chatId}/messages`, {
      text: "hello",
      senderId: sim.state.userId(0)
    })
    expect(single.body).toMatchObject({ text: "hello", senderId: sim.state.userId(0) })
    expect((await control("POST", "/chats/nope/messages", {})).status).toBe(404)
    expect((await control("POST", "/messages", { chatIds: "x" })).status).toBe(400)
  })

  it("renames, pins, mutes, closes and sets drafts per user", async () => {
    const chat = group()
    const before = sim.state.chat(chat.chatId)!.lastModifiedMs
    sim.state.advanceClock(60_000)
    await control("POST", `/chats/${chat.chatId}/rename`, { title: "Driven" })
    expect(sim.state.chat(chat.chatId)!.lastModifiedMs).toBeGreaterThan(before)
    await control("POST", `/chats/${chat.chatId}/user-state`, { userIndex: 1, pinned: true, muted: true, draft: "wip" })
    const theirs = chatsOf(await client(sim, 1).get("/chats", { pinned: true, chat_ids: chat.chatId }))
    expect(theirs.map(c => [c.name, c.pinned])).toEqual([["Driven", true]])
    expect(chatsOf(await client(sim, 1).get("/chats", { drafts: true, chat_ids: chat.chatId }))).toHaveLength(1)
    expect(dataOf(await api.get(`/chats/${chat.chatId}`)).pinned).toBe(false)
    await control("POST", `/chats/${chat.chatId}/user-state`, { userIndex: 1, closed: true })
    expect(chatsOf(await client(sim, 1).get("/chats", { chat_ids: chat.chatId }))).toHaveLength(0)
    expect((await control("POST", `/chats/${chat.chatId}/user-state`, { userIndex: 1, pinned: "yes" })).status).toBe(
      400
    )
    await control("POST", `/chats/${chat.chatId}/history`, { enabled: false })
    expect(sim.state.chat(chat.chatId)!.historyEnabled).toBe(false)
  })

  it("moves members in and out, creates, deletes and restores chats", async () => {
    const chat = group()
    const res = await control("POST", `/chats/${chat.chatId}/members`, { remove: [sim.state.userId(1)] })
    expect(res.body).toEqual({ added: [], removed: [sim.state.userId(1)] })
    expect(dataOf(await client(sim, 1).get(`/chats/${chat.chatId}`)).removed).toBe(true)
    await control("POST", `/chats/${chat.chatId}/members`, { add: [sim.state.userId(1)] })
    expect(dataOf(await client(sim, 1).get(`/chats/${chat.chatId}`)).removed).toBe(false)

    const [a] = outsiders(sim)
    sim.state.advanceClock(60_000)
    const created = (
      await control("POST", "/chats", {
        chatType: "channel",
        title: "Launch Room",
        participantIds: [sim.state.userId(0), a],
        withMessage: "welcome"
      })
    ).body as { chatId: string; lastMessage: { text: string } }
    expect(created.lastMessage.text).toBe("welcome")
    expect(chatsOf(await api.get("/chats", { limit: 1 }))[0]!.chat_id).toBe(created.chatId)
    expect((await control("DELETE", `/chats/${created.chatId}`)).status).toBe(204)
    expect((await api.get(`/chats/${created.chatId}`)).body).toMatchObject({ code: "chat_access_denied" })
    await control("POST", `/chats/${created.chatId}/restore`)
    expect((await api.get(`/chats/${created.chatId}`)).status).toBe(200)
    expect((await control("POST", "/chats", { chatType: "thread", participantIds: [a] })).status).toBe(400)
  })

  it("issues tokens, advances the clock and shows the throttle state", async () => {
    const issued = (
      await control("POST", "/tokens", { userIndex: 2, scopes: ["ZohoCliq.Chats.READ"], lifetimeSeconds: 60 })
    ).body as { accessToken: string }
    expect((await request(`${sim.apiBaseUrl}/chats`, { token: issued.accessToken })).status).toBe(200)
    const clock = (await control("POST", "/clock/advance", { ms: 61_000 })).body as { offsetMs: number }
    expect(clock.offsetMs).toBe(sim.state.clock.offsetMs)
    expect((await request(`${sim.apiBaseUrl}/chats`, { token: issued.accessToken })).status).toBe(401)
    await api.get("/chats")
    const slots = (await control("GET", "/throttle")).body as { slots: Array<{ bucket: string; inWindow: number }> }
    expect(slots.slots).toContainEqual(expect.objectContaining({ bucket: "chats.list", inWindow: 1 }))
    await control("DELETE", "/throttle")
    expect(((await control("GET", "/throttle")).body as { slots: Array<object> }).slots).toEqual([])
    const log = (await control("GET", "/requests")).body as { requests: Array<{ operationId: string }> }
    expect(log.requests.map(r => r.operationId)).toContain("listChats")
    await control("DELETE", "/requests")
    expect(((await control("GET", "/requests")).body as { requests: Array<object> }).requests).toEqual([])
  })
})

describe("fault injection", () => {
  it("a fault before the effect leaves the state alone; count limits how many calls it hits", async () => {
    const chat = group()
    const armed = await control("POST", "/faults", { operation: "updateTitle", kind: "status", status: 500, count: 2 })
    expect(armed.body).toMatchObject({ id: expect.any(Number), remaining: 2, when: "before" })
    for (let i = 0; i < 2; i++) {
      const res = await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: `Attempt ${i}` })
      expect(res.status).toBe(500)
      expect(Object.keys(res.body as object)).toEqual(["message"])
    }
    expect(sim.state.chat(chat.chatId)!.title).toBe(chat.title)
    expect((await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: "Third" })).status).toBe(200)
    expect(sim.state.requests().map(r => r.outcome)).toEqual(["fault:status", "fault:status", "ok"])
  })

  it("a fault after the effect applies the change but hides the outcome", async () => {
    const chat = group()
    sim.state.injectFault({
      operation: "updateTitle",
      kind: "error_code",
      code: "chat_title_update_failed",
      when: "after_effect"
    })
    const res = await api.put(`/chats/${chat.chatId}`, { operation: "update_title", title: "Sent but unknown" })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ code: "chat_title_update_failed" })
    expect(sim.state.chat(chat.chatId)!.title).toBe("Sent but unknown")
    sim.state.injectFault({ operation: "addMembers", kind: "error_code", code: "service_unavailable" })
    expect((await api.post(`/chats/${chat.chatId}/members`, { user_ids: [outsiders(sim)[0]] })).status).toBe(503)
  })

  it("timeout holds the socket until the client gives up, with or without the effect", async () => {
    const chat = group()
    sim.state.injectFault({ operation: "muteChat", kind: "timeout", holdMs: 1500, when: "after_effect" })
    const started = Date.now()
    await expect(
      fetch(`${sim.apiBaseUrl}/chats/${chat.chatId}/mute`, {
        method: "POST",
        headers: { authorization: `Bearer ${api.token}` },
        signal: AbortSignal.timeout(150)
      })
    ).rejects.toThrow()
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(sim.state.chat(chat.chatId)!.users.find(u => u.userIndex === 0)!.muted).toBe(true)

    sim.state.injectFault({ operation: "unmuteChat", kind: "timeout", holdMs: 200 })
    const held = Date.now()
    await expect(
      fetch(`${sim.apiBaseUrl}/chats/${chat.chatId}/unmute`, {
        method: "POST",
        headers: { authorization: `Bearer ${api.token}` }
      })
    ).rejects.toThrow()
    expect(Date.now() - held).toBeGreaterThanOrEqual(190)
    expect(sim.state.chat(chat.chatId)!.users.find(u => u.userIndex === 0)!.muted).toBe(true)
    expect(sim.state.requests().map(r => [r.outcome, r.status])).toEqual([
      ["fault:timeout", 0],
      ["fault:timeout", 0]
    ])
  })

  it("malformed bodies: invalid JSON and valid JSON of the wrong shape", async () => {
    sim.state.injectFault({ operation: "listChats", kind: "invalid_json" })
    const broken = await fetch(`${sim.apiBaseUrl}/chats`, { headers: { authorization: `Bearer ${api.token}` } })
    expect(broken.status).toBe(200)
    expect(broken.headers.get("content-type")).toContain("application/json")
    await expect(broken.json()).rejects.toThrow()
    sim.state.injectFault({ operation: "listChats", kind: "wrong_shape" })
    const odd = await api.get("/chats")
    expect(odd.status).toBe(200)
    expect(odd.body).not.toHaveProperty("chats")
  })

  it("an injected throttle answers like the real one but records no violation", async () => {
    sim.state.injectFault({ operation: "searchChats", kind: "throttle" })
    const res = await api.get("/chats/search", { limit: 1 })
    expect(res.status).toBe(429)
    expect(res.body).toEqual({ message: "Too many requests within a certain time frame." })
    expect(sim.state.violations()).toEqual([])
    sim.state.injectFault({ operation: "searchChats", kind: "throttle", shape: "400" })
    expect((await api.get("/chats/search", { limit: 1 })).body).toMatchObject({ code: "request_limit_exceeded" })
    expect((await api.get("/chats/search", { limit: 1 })).status).toBe(200)
  })

  it("reset destroys the connection; faults can target one user or every operation", async () => {
    sim.state.injectFault({ operation: "getChat", kind: "reset", userIndex: 1 })
    const chat = group()
    expect((await api.get(`/chats/${chat.chatId}`)).status).toBe(200)
    await expect(client(sim, 1).get(`/chats/${chat.chatId}`)).rejects.toThrow()
    expect((await client(sim, 1).get(`/chats/${chat.chatId}`)).status).toBe(200)
    const any = await control("POST", "/faults", { operation: "*", kind: "status", status: 502, count: 2 })
    expect((await api.get("/chats")).status).toBe(502)
    expect((await api.get(`/chats/${chat.chatId}/members`)).status).toBe(502)
    expect((await api.get("/chats")).status).toBe(200)
    expect(((await control("GET", "/faults")).body as { faults: Array<object> }).faults).toEqual([])
    expect((any.body as { operation: string }).operation).toBe("*")
  })

  it("validates fault specs and clears them", async () => {
    expect((await control("POST", "/faults", { operation: "nope", kind: "reset" })).status).toBe(400)
    expect((await control("POST", "/faults", { operation: "listChats", kind: "explode" })).status).toBe(400)
    await control("POST", "/faults", { operation: "listChats", kind: "reset", count: 5 })
    expect((await control("DELETE", "/faults")).body).toEqual({ cleared: 1 })
    expect((await api.get("/chats")).status).toBe(200)
  })
})

describe("SimulatorServer layer", () => {
  it.scoped("starts a simulator for the scope and closes it afterwards", () =>
    Effect.gen(function* () {
      const running = yield* SimulatorServer
      const res = yield* Effect.promise(() =>
        fetch(`${running.apiBaseUrl}/chats`, { headers: { authorization: "Bearer sim-token-1" } })
      )
      expect(res.status).toBe(200)
      expect(running.state.options.chats).toBe(15)
    }).pipe(Effect.provide(SimulatorServer.layer({ chats: 15, seed: 3 })))
  )
})
