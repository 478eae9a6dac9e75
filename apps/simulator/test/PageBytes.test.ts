import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { type RunningSimulator, startSimulator } from "../src/index.js"
import { renderChat } from "../src/Render.js"
import { client, memberChat } from "./helpers.js"

let sim: RunningSimulator

beforeAll(async () => {
  sim = await startSimulator({ chats: 600, users: 3, seed: 11, control: true })
})
afterAll(() => sim.close())
beforeEach(() => sim.state.resetThrottle())

/** The page as the object-then-JSON.stringify path would have sent it, rendered afresh from the current state. */
const reference = (userIndex: number, chatIds: ReadonlyArray<string>): string => {
  const store = sim.state.store
  const account = store.accounts[userIndex]!
  const chats = chatIds.map(id => {
    const chat = store.chats.get(id)!
    return renderChat(store, chat, account, chat.views[userIndex]!, sim.state.options.responseTimes, {
      lastMessageInfo: true
    })
  })
  return JSON.stringify({ chats })
}

/** Every list and search page of every user is byte for byte the reference, with a matching content-length. */
const expectPagesIdentical = async () => {
  for (let userIndex = 0; userIndex < 3; userIndex++) {
    const api = client(sim, userIndex)
    for (const [path, query] of [
      ["/chats/search", { limit: 500 }],
      ["/chats/search", { limit: 500, sort_by: "usage" }],
      ["/chats", { limit: 100 }],
      ["/chats", { limit: 100, closed: true }]
    ] as const) {
      const res = await api.get(path, query)
      expect(res.status).toBe(200)
      const ids = (res.body as { chats: Array<{ chat_id: string }> }).chats.map(c => c.chat_id)
      expect(ids.length).toBeGreaterThan(0)
      expect(res.text).toBe(reference(userIndex, ids))
      expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(res.text))
      expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8")
    }
  }
}

describe("list and search pages", () => {
  it("are the bytes of JSON.stringify of the rendered chats, before and after every kind of change", async () => {
    await expectPagesIdentical()
    const api = client(sim, 0)
    const group = memberChat(sim, 0, c => c.chatType === "group_chat" && c.lastMessage !== null)
    expect(
      (await api.put(`/chats/${group.chatId}`, { operation: "update_title", title: 'Zoë\'s "launch" 🎉' })).status
    ).toBe(200)
    const message = sim.state.postMessage(group.chatId, { text: "ça marche \u2028 🎉" })
    await expectPagesIdentical()
    expect(
      (await api.put(`/chats/${group.chatId}`, { operation: "mark_as_read", last_message_id: message.messageId }))
        .status
    ).toBe(204)
    const other = memberChat(sim, 0, c => c.chatId !== group.chatId && c.chatType === "group_chat")
    sim.state.setUserState(other.chatId, { userIndex: 0, pinned: true })
    expect((await api.post(`/chats/${other.chatId}/mute`)).status).toBe(200)
    expect((await api.put(`/chats/${other.chatId}`, { operation: "clear_local_history" })).status).toBe(204)
    await expectPagesIdentical()
    const left = memberChat(
      sim,
      0,
      c => c.chatType === "group_chat" && ![group.chatId, other.chatId].includes(c.chatId)
    )
    sim.state.removeMembers(left.chatId, [sim.state.userId(0)])
    sim.state.removeMembers(group.chatId, [sim.state.userId(1)])
    expect((await api.put(`/chats/${other.chatId}`, { operation: "close_chat" })).status).toBe(204)
    await expectPagesIdentical()
  })
})
