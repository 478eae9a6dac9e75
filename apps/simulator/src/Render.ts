import type { ChatStore } from "./ChatStore.js"
import type { Account, Chat, Message, UserView } from "./Model.js"
import { formatTime, type TimeStyle } from "./TimeFormat.js"

export interface RenderOptions {
  readonly lastMessageInfo: boolean
  /** The create response nests pinned/removed in `user_membership` (docs/upstream.md#chat-object). */
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
  const offset = viewer.offsetMinutes
  const creator = store.people.get(chat.creatorId)
  const out: Record<string, unknown> = {
    chat_id: chat.id,
    name: store.displayName(chat, viewer),
    chat_type: chat.type,
    participant_count: chat.participants.length,
    created_time: formatTime(chat.createdMs, offset, style),
    last_modified_time: formatTime(chat.lastModifiedMs, offset, style)
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
      time: formatTime(last.timeMs, offset, style),
      content: { text: last.text },
      type: "text"
    }
  }
  out.unread_message_count = view.unreadCount
  if (view.unreadCount > 0 && view.unreadFromMs !== undefined)
    out.unread_time = formatTime(view.unreadFromMs, offset, style)
  if (chat.previousTitles.length > 0) out.previous_titles = chat.previousTitles.join(", ")
  if (chat.parentChatId !== undefined) out.parent_chat_id = chat.parentChatId
  if (chat.threadMessageId !== undefined) out.thread_message_id = chat.threadMessageId
  return out
}
