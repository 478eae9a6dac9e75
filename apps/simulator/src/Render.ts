import type { ChatStore } from "./ChatStore.js"
import type { Account, Chat, Message, UserView } from "./Model.js"

export type TimeStyle = "offset" | "utc"

const pad = (n: number) => String(n).padStart(2, "0")

/**
 * Whole seconds, in the caller's zone (`2025-06-15T10:30:00+05:30`, `…Z` for UTC) or as `.000Z` (§9.11). The filter
 * keys keep milliseconds, so a body value can never be fed back as an exact bound.
 */
export const formatTime = (ms: number, offsetMinutes: number, style: TimeStyle): string => {
  const seconds = Math.floor(ms / 1000) * 1000
  if (style === "utc") return new Date(seconds).toISOString()
  const local = new Date(seconds + offsetMinutes * 60_000).toISOString().slice(0, 19)
  if (offsetMinutes === 0) return `${local}Z`
  const abs = Math.abs(offsetMinutes)
  return `${local}${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

export interface RenderOptions {
  readonly lastMessageInfo: boolean
  /** The create response nests pinned/removed in `user_membership` (§3.2). */
  readonly nestedMembership?: boolean
}

export const visibleLastMessage = (chat: Chat, view: UserView): Message | undefined => {
  const last = chat.messages[chat.messages.length - 1]
  if (!last) return undefined
  return view.clearedAtMs !== undefined && last.timeMs <= view.clearedAtMs ? undefined : last
}

export const renderChat = (
  store: ChatStore,
  chat: Chat,
  viewer: Account,
  view: UserView,
  style: TimeStyle,
  options: RenderOptions
): Record<string, unknown> => {
  const time = (ms: number) => formatTime(ms, viewer.offsetMinutes, style)
  const creator = store.people.get(chat.creatorId)
  const out: Record<string, unknown> = {
    chat_id: chat.id,
    name: store.displayName(chat, viewer),
    chat_type: chat.type,
    participant_count: chat.participants.length,
    created_time: time(chat.createdMs),
    last_modified_time: time(chat.lastModifiedMs)
  }
  if (options.nestedMembership) out.user_membership = { pinned: view.pinned, removed: view.removed }
  else {
    out.pinned = view.pinned
    out.removed = view.removed
  }
  out.creator = { id: chat.creatorId, name: creator?.name ?? "" }
  const last = options.lastMessageInfo ? visibleLastMessage(chat, view) : undefined
  if (last) {
    out.last_message_info = {
      message_id: last.id,
      sender: last.senderId,
      time: time(last.timeMs),
      content: { text: last.text },
      type: "text"
    }
  }
  out.unread_message_count = view.unreadCount
  if (view.unreadCount > 0 && view.unreadFromMs !== undefined) out.unread_time = time(view.unreadFromMs)
  if (chat.previousTitles.length > 0) out.previous_titles = chat.previousTitles.join(", ")
  if (chat.parentChatId !== undefined) out.parent_chat_id = chat.parentChatId
  if (chat.threadMessageId !== undefined) out.thread_message_id = chat.threadMessageId
  return out
}
