import type { ChatStore } from "./ChatStore.js"
import type { Chat, Message } from "./Model.js"

export interface MessageTruth {
  readonly messageId: string
  readonly senderId: string
  readonly timeMs: number
  readonly text: string
}

export interface ChatUserTruth {
  readonly userIndex: number
  readonly userId: string
  /** The name this user sees (for DMs: the other person). */
  readonly name: string
  readonly member: boolean
  readonly pinned: boolean
  readonly muted: boolean
  readonly closed: boolean
  readonly joined: boolean
  readonly removed: boolean
  readonly draft: string | null
  readonly unreadCount: number
  readonly unreadTimeMs: number | null
  readonly clearedAtMs: number | null
  readonly usage: number
}

/** Ground truth of one chat, in full precision (epoch ms), for tests and the control API. */
export interface ChatTruth {
  readonly chatId: string
  readonly chatType: Chat["type"]
  readonly title: string
  readonly participantIds: ReadonlyArray<string>
  readonly participantCount: number
  readonly creatorId: string
  readonly createdMs: number
  readonly lastMessageMs: number | null
  readonly lastModifiedMs: number
  /** The key GET /chats filters and sorts on (last message time, else created time). */
  readonly listKeyMs: number
  readonly previousTitles: ReadonlyArray<string>
  readonly historyEnabled: boolean
  readonly parentChatId: string | null
  readonly threadMessageId: string | null
  readonly hasGuests: boolean
  readonly deleted: boolean
  readonly lastMessage: MessageTruth | null
  readonly messages?: ReadonlyArray<MessageTruth>
  /** One entry per account that has (or had) a relationship with the chat. */
  readonly users: ReadonlyArray<ChatUserTruth>
}

export const messageTruth = (m: Message): MessageTruth => ({
  messageId: m.id,
  senderId: m.senderId,
  timeMs: m.timeMs,
  text: m.text
})

export const chatTruth = (store: ChatStore, chat: Chat, withMessages: boolean): ChatTruth => {
  const last = chat.messages[chat.messages.length - 1]
  const users: Array<ChatUserTruth> = []
  for (const account of store.accounts) {
    const view = chat.views[account.index]
    if (!view) continue
    users.push({
      userIndex: account.index,
      userId: account.person.id,
      name: store.displayName(chat, account),
      member: chat.participants.includes(account.person.id),
      pinned: view.pinned,
      muted: view.muted,
      closed: view.closed,
      joined: view.joined,
      removed: view.removed,
      draft: view.draft ?? null,
      unreadCount: view.unreadCount,
      unreadTimeMs: view.unreadCount > 0 ? (view.unreadFromMs ?? null) : null,
      clearedAtMs: view.clearedAtMs ?? null,
      usage: view.usage
    })
  }
  return {
    chatId: chat.id,
    chatType: chat.type,
    title: chat.title,
    participantIds: [...chat.participants],
    participantCount: chat.participants.length,
    creatorId: chat.creatorId,
    createdMs: chat.createdMs,
    lastMessageMs: chat.lastMessageMs ?? null,
    lastModifiedMs: chat.lastModifiedMs,
    listKeyMs: chat.lastMessageMs ?? chat.createdMs,
    previousTitles: [...chat.previousTitles],
    historyEnabled: chat.historyEnabled,
    parentChatId: chat.parentChatId ?? null,
    threadMessageId: chat.threadMessageId ?? null,
    hasGuests: chat.hasGuests,
    deleted: !store.chats.has(chat.id),
    lastMessage: last ? messageTruth(last) : null,
    ...(withMessages ? { messages: chat.messages.map(messageTruth) } : {}),
    users
  }
}
