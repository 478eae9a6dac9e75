import type { Chat, UserView } from "./Model.js"

/** docs/upstream.md#sim-read-markers: read up to and including the message; later messages keep their state. */
export const markReadUpTo = (chat: Chat, view: UserView, index: number): void => {
  const after = chat.messages.length - 1 - index
  view.unreadCount = Math.min(view.unreadCount, after)
  view.unreadFromMs = view.unreadCount > 0 ? chat.messages[chat.messages.length - view.unreadCount]!.timeMs : undefined
}

/** docs/upstream.md#sim-read-markers: the named message and everything after it become unread. */
export const markUnreadFrom = (chat: Chat, view: UserView, index: number): void => {
  view.unreadCount = chat.messages.length - index
  view.unreadFromMs = chat.messages[index]!.timeMs
}

export const clearUnread = (view: UserView): void => {
  view.unreadCount = 0
  view.unreadFromMs = undefined
}

export const messageIndex = (chat: Chat, messageId: unknown): number =>
  typeof messageId === "string" ? chat.messages.findIndex(m => m.hasId(messageId)) : -1
