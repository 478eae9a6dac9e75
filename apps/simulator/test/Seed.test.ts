import { CHAT_TYPES } from "@cliq-mirror/core"
import { describe, expect, it } from "@effect/vitest"
import { resolveOptions, type SimulatorOptions } from "../src/Options.js"
import { SimulatorState } from "../src/State.js"

const seeded = (options: SimulatorOptions) => new SimulatorState(resolveOptions(options), "")

const countBy = <A>(items: ReadonlyArray<A>, key: (a: A) => number) => {
  const counts = new Map<number, number>()
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1)
  return Math.max(...counts.values())
}

describe("seeded data", () => {
  it("is the same for the same seed and different for another", () => {
    const a = seeded({ chats: 500, seed: 42 })
    const b = seeded({ chats: 500, seed: 42 })
    const c = seeded({ chats: 500, seed: 43 })
    expect(a.chats()).toEqual(b.chats())
    expect(a.people()).toEqual(b.people())
    expect(a.chats().map(x => x.chatId)).not.toEqual(c.chats().map(x => x.chatId))
  })

  it("covers every chat type, with threads under real parents", () => {
    const state = seeded({ chats: 1000, seed: 42 })
    const chats = state.chats()
    const types = new Set(chats.map(c => c.chatType))
    expect([...types].sort()).toEqual(CHAT_TYPES.filter(t => t !== "unknown").sort())
    const threads = chats.filter(c => c.chatType === "thread")
    for (const thread of threads) {
      const parent = state.chat(thread.parentChatId!)!
      expect(["channel", "group_chat"]).toContain(parent.chatType)
      expect(thread.threadMessageId).toMatch(/^\d{13}_\d+$/)
    }
    for (const dm of chats.filter(c => c.chatType === "direct_message")) expect(dm.participantCount).toBe(2)
    expect(chats.some(c => c.previousTitles.length > 0)).toBe(true)
    expect(chats.some(c => c.hasGuests)).toBe(true)
    expect(chats.some(c => c.lastMessageMs === null)).toBe(true)
    expect(chats.some(c => c.lastModifiedMs > (c.lastMessageMs ?? c.createdMs))).toBe(true)
  })

  it("uses realistic ids: 19-digit chats (or CT_…), 8–9 digit users, <ms>_<digits> messages", () => {
    const state = seeded({ chats: 300, seed: 42 })
    for (const chat of state.chats()) {
      expect(chat.chatId).toMatch(/^[1-9]\d{18}$/)
      const full = state.chat(chat.chatId)!
      for (const m of full.messages!) expect(m.messageId.startsWith(`${m.timeMs}_`)).toBe(true)
      expect(chat.createdMs).toBeLessThanOrEqual(chat.listKeyMs)
    }
    for (const person of state.people()) expect(person.userId).toMatch(/^[1-9]\d{7,8}$/)
    const ct = seeded({ chats: 50, seed: 42, chatIdStyle: "ct" })
    for (const chat of ct.chats()) expect(chat.chatId).toMatch(/^CT_[1-9]\d{18}_\d+$/)
  })

  it("puts many chats in the same second and the same millisecond, on both keys", () => {
    const state = seeded({ chats: 2000, seed: 42 })
    const chats = state.chats()
    const { sameMsBurst, sameSecondBurst } = state.options
    expect(countBy(chats, c => c.listKeyMs)).toBeGreaterThanOrEqual(sameMsBurst)
    expect(countBy(chats, c => Math.floor(c.listKeyMs / 1000))).toBeGreaterThanOrEqual(sameSecondBurst)
    expect(countBy(chats, c => c.lastModifiedMs)).toBeGreaterThanOrEqual(sameMsBurst)
    const custom = seeded({ chats: 400, seed: 1, sameMsBurst: 150 })
    expect(countBy(custom.chats(), c => c.listKeyMs)).toBeGreaterThanOrEqual(150)
  })

  it("gives each user a view of their own: flags, unread counts and zones", () => {
    const state = seeded({ chats: 1000, seed: 42 })
    const views = state.chats().flatMap(c => c.users.filter(u => u.userIndex === 0))
    for (const flag of ["pinned", "muted", "closed", "removed", "joined"] as const) {
      expect(views.filter(v => v[flag]).length).toBeGreaterThan(0)
    }
    expect(views.some(v => v.draft !== null)).toBe(true)
    const unread = state.chats().filter(c => c.users.some(u => u.userIndex === 0 && u.unreadCount > 0))
    expect(unread.length).toBeGreaterThan(0)
    for (const summary of unread.slice(0, 50)) {
      const chat = state.chat(summary.chatId)!
      const view = chat.users.find(u => u.userIndex === 0)!
      expect(view.unreadTimeMs).toBe(chat.messages!.at(-view.unreadCount)!.timeMs)
    }
    const pinnedBy = (i: number) =>
      state
        .chats()
        .filter(c => c.users.some(u => u.userIndex === i && u.pinned))
        .map(c => c.chatId)
    expect(pinnedBy(0)).not.toEqual(pinnedBy(1))
    expect(state.accounts().map(a => a.offsetMinutes)).toEqual([330, -480, 0])
  })

  it("rejects inconsistent options", () => {
    expect(() => seeded({ users: 2, tokens: ["a"] })).toThrow("one token per user")
    expect(() => seeded({ tokens: ["a", "a"] })).toThrow("must not repeat")
    expect(() =>
      seeded({ users: 1, refreshTokens: [{ refreshToken: "r", clientId: "c", clientSecret: "s", userIndex: 1 }] })
    ).toThrow("not a seeded user")
    expect(() => seeded({ timeScale: 0 })).toThrow("timeScale")
    expect(
      seeded({ tokens: ["a", "b"], chats: 5 })
        .accounts()
        .map(a => a.token)
    ).toEqual(["a", "b"])
  })

  // Its speed is measured by `npm run bench -- simulator`.
  it("seeds 100,000 chats", () => {
    const state = seeded({ chats: 100_000, seed: 42 })
    expect(state.store.chats.size).toBe(100_000)
  })
})
