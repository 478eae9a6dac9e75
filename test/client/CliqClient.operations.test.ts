import { type AccountClient, CliqClient, isChatResult, operationOf } from "@cliq-mirror/core/Cliq/CliqClient"
import { ChatId, MessageId, UserId } from "@cliq-mirror/core/Cliq/Ids"
import { OPERATIONS } from "@cliq-mirror/core/Cliq/Operations"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { clearRedisPrefix } from "../support/redis.js"
import { clientLayer, lastSeq, requestsOf, Sim, simLayer, staticAccount, uniquePrefix } from "./support.js"

const prefix = uniquePrefix()

/** Runs `body` with a client of account 0 (static token) of the shared simulator. */
const withClient = <A, E>(body: (client: AccountClient, sim: Sim["Type"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const sim = yield* Sim
    const client = (yield* CliqClient).forAccount(staticAccount(sim, "sim-token-1"))
    return yield* body(client, sim)
  }).pipe(Effect.provide(clientLayer(prefix)), Effect.ensuring(Effect.promise(() => clearRedisPrefix(prefix))))

const others = (sim: Sim["Type"]) =>
  sim.state
    .people()
    .filter(p => p.active && !p.account && !p.guest)
    .map(p => UserId.make(p.userId))

const me = (sim: Sim["Type"]) => sim.state.accounts()[0]!.userId

const newGroup = (sim: Sim["Type"], title: string, withMessage = true) => {
  const [a, b] = others(sim)
  const truth = sim.state.createChat({
    chatType: "group_chat",
    title,
    participantIds: [me(sim), a!, b!],
    creatorId: me(sim),
    withMessage
  })
  return ChatId.make(truth.chatId)
}

const userView = (sim: Sim["Type"], chatId: string) => sim.state.chat(chatId)!.users.find(u => u.userIndex === 0)!

layer(simLayer(), { excludeTestServices: true, timeout: "60 seconds" })("CliqClient operations", it => {
  describe("reads", () => {
    it.effect("listChats decodes a page and sends the time bounds as epoch ms", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const since = lastSeq(sim)
          const page = yield* client.listChats({
            limit: 100,
            modified_after: 1,
            modified_before: Date.now() + 60_000.7
          })
          const chats = page.items.filter(isChatResult)
          expect(chats.length).toBeGreaterThan(0)
          expect(chats).toHaveLength(page.items.length)
          const truthIds = new Set(sim.state.chats().map(c => c.chatId))
          for (const item of chats) expect(truthIds.has(item.chat.chat_id)).toBe(true)
          expect(chats[0]!.raw).toMatchObject({ chat_id: chats[0]!.chat.chat_id })
          const [request] = requestsOf(sim, "listChats", since)
          expect(request?.path).toMatch(/modified_after=1(&|$)/)
          expect(request?.path).toMatch(/modified_before=\d{13}(&|$)/)
        })
      )
    )

    it.effect("the Bearer scheme works as well as Zoho-oauthtoken", () =>
      Effect.gen(function* () {
        const sim = yield* Sim
        const account = { ...staticAccount(sim, "sim-token-2"), authScheme: "Bearer" as const }
        const page = yield* Effect.flatMap(CliqClient, cliq => cliq.forAccount(account).listChats({ limit: 5 }))
        expect(page.items).toHaveLength(5)
      }).pipe(Effect.provide(clientLayer(prefix)))
    )

    it.effect("searchChats decodes a page", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const page = yield* client.searchChats({ limit: 500, chat_type: ["group_chat", "direct_message"] })
          const chats = page.items.filter(isChatResult)
          expect(chats.length).toBeGreaterThan(0)
          for (const item of chats) expect(["group_chat", "direct_message"]).toContain(item.chat.chat_type)
          expect(requestsOf(sim, "searchChats").at(-1)?.path).toContain("chat_type=group_chat%2Cdirect_message")
        })
      )
    )

    it.effect("getChat returns the chat with its last message", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Get me")
          const result = yield* client.getChat(chatId, { include: "last_message_info" })
          const truth = sim.state.chat(chatId)!
          expect(result.chat).toMatchObject({ chat_id: chatId, name: "Get me", chat_type: "group_chat" })
          expect(result.chat.last_message_info?.message_id).toBe(truth.lastMessage?.messageId)
          expect(result.chat.participant_count).toBe(truth.participantCount)
        })
      )
    )

    it.effect("listMembers returns every participant", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Members")
          const members = yield* client.listMembers(chatId)
          expect(members.map(m => m.user_id).sort()).toEqual([...sim.state.chat(chatId)!.participantIds].sort())
          const narrowed = yield* client.listMembers(chatId, { fields: ["user_id"] })
          expect(narrowed.every(m => m.name === undefined)).toBe(true)
        })
      )
    )
  })

  describe("writes", () => {
    it.effect("createChat makes a group chat and returns it", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const [a, b] = others(sim)
          const result = yield* client.createChat({ chat_type: "group_chat", user_ids: [a!, b!], title: "Fresh group" })
          const truth = sim.state.chat(result.chat.chat_id)!
          expect(truth.title).toBe("Fresh group")
          expect([...truth.participantIds].sort()).toEqual([me(sim), a!, b!].sort())
          expect(result.chat.user_membership).toMatchObject({ removed: false })
          const dm = yield* client.createChat({ chat_type: "direct_message", user_id: a! })
          expect(sim.state.chat(dm.chat.chat_id)?.chatType).toBe("direct_message")
        })
      )
    )

    it.effect("bulkReadStatusUpdate and bulkClearUnread zero the unread counters", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const first = newGroup(sim, "Bulk read")
          const second = newGroup(sim, "Bulk clear")
          const message = sim.state.postMessage(first)
          sim.state.postMessage(second)
          expect(userView(sim, first).unreadCount).toBeGreaterThan(0)
          const result = yield* client.bulkReadStatusUpdate([
            { chat_id: first, last_message_id: MessageId.make(message.messageId) }
          ])
          expect(result.success).toContain(first)
          expect(userView(sim, first).unreadCount).toBe(0)
          yield* client.bulkClearUnread([second])
          expect(userView(sim, second).unreadCount).toBe(0)
        })
      )
    )

    it.effect("updateTitle and updateHistoryStatus change the chat", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Old title")
          const renamed = yield* client.updateTitle(chatId, "New title")
          expect(renamed).toEqual({ title: "New title", chat_id: chatId })
          expect(sim.state.chat(chatId)!.title).toBe("New title")
          yield* client.updateHistoryStatus(chatId, "disabled")
          expect(sim.state.chat(chatId)!.historyEnabled).toBe(false)
        })
      )
    )

    it.effect("markAsUnread and markAsRead move the unread marker", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Read marker")
          const first = sim.state.postMessage(chatId)
          const last = sim.state.postMessage(chatId)
          yield* client.markAsRead(chatId, MessageId.make(last.messageId))
          expect(userView(sim, chatId).unreadCount).toBe(0)
          yield* client.markAsUnread(chatId, MessageId.make(first.messageId))
          expect(userView(sim, chatId).unreadCount).toBe(2)
        })
      )
    )

    it.effect("clearLocalHistory and closeChat", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Clear and close")
          yield* client.clearLocalHistory(chatId)
          expect(userView(sim, chatId).clearedAtMs).not.toBeNull()
          yield* client.closeChat(chatId)
          expect(userView(sim, chatId).closed).toBe(true)
        })
      )
    )

    it.effect("addMembers and removeMembers", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Membership")
          const outsider = others(sim).find(id => !sim.state.chat(chatId)!.participantIds.includes(id))!
          const added = yield* client.addMembers(chatId, [outsider])
          expect(added).toEqual({ chat_id: chatId, added_user_ids: [outsider] })
          expect(sim.state.chat(chatId)!.participantIds).toContain(outsider)
          const removed = yield* client.removeMembers(chatId, [outsider])
          expect(removed).toEqual({ chat_id: chatId, removed_user_ids: [outsider] })
          expect(sim.state.chat(chatId)!.participantIds).not.toContain(outsider)
        })
      )
    )

    it.effect("forkChat starts a new group chat from a message", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Fork source")
          const message = sim.state.postMessage(chatId)
          const [a] = others(sim)
          const fork = yield* client.forkChat(chatId, {
            message_id: MessageId.make(message.messageId),
            title: "Forked",
            user_ids: [a!]
          })
          expect(fork.chat).toMatchObject({ name: "Forked", chat_type: "group_chat" })
          expect(sim.state.chat(fork.chat.chat_id)!.participantIds).toContain(a)
        })
      )
    )

    it.effect("sendTyping is accepted with 204", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Typing")
          const since = lastSeq(sim)
          yield* client.sendTyping(chatId, "typing")
          expect(requestsOf(sim, "sendTyping", since).map(r => r.status)).toEqual([204])
        })
      )
    )

    it.effect("muteChat, unmuteChat and leaveChat accept 200 with an empty body", () =>
      withClient((client, sim) =>
        Effect.gen(function* () {
          const chatId = newGroup(sim, "Mute and leave")
          const since = lastSeq(sim)
          yield* client.muteChat(chatId)
          expect(userView(sim, chatId).muted).toBe(true)
          yield* client.unmuteChat(chatId)
          expect(userView(sim, chatId).muted).toBe(false)
          yield* client.leaveChat(chatId)
          expect(userView(sim, chatId)).toMatchObject({ member: false, removed: true })
          const statuses = ["muteChat", "unmuteChat", "leaveChat"].map(op => requestsOf(sim, op, since)[0]?.status)
          expect(statuses).toEqual([200, 200, 200])
        })
      )
    )
  })

  it.effect("every operation of the table has a method, and its bucket is known", () =>
    withClient(client =>
      Effect.sync(() => {
        for (const operation of OPERATIONS) expect(typeof client[operation.id]).toBe("function")
        expect(operationOf("updateTitle")).toMatchObject({ method: "PUT", bucket: "chats.update" })
        expect(operationOf("listChats").bucket).toBe("chats.list")
      })
    )
  )
})
