import type { ChatState } from "./ChatState.js"
import type { ChatSnapshot } from "./Events.js"

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())
export const msOrNull = (iso: string | null | undefined): number | null => (iso == null ? null : Date.parse(iso))

export const toSnapshot = (s: ChatState): ChatSnapshot => ({
  chat_id: s.chatId,
  name: s.name,
  chat_type: s.chatType,
  participant_count: s.participantCount,
  creator: s.creatorId === null ? null : { id: s.creatorId, name: s.creatorName },
  created_time: isoOrNull(s.createdTime),
  last_modified_time: isoOrNull(s.lastModifiedTime),
  last_message_time: isoOrNull(s.lastMessageTime),
  pinned: s.pinned,
  removed: s.removed,
  unread_message_count: s.unreadMessageCount,
  unread_time: isoOrNull(s.unreadTime),
  last_message_info: s.lastMessageInfo,
  previous_titles: s.previousTitles,
  thread_message_id: s.threadMessageId,
  parent_chat_id: s.parentChatId,
  muted: s.muted,
  closed: s.closed,
  drafts: s.drafts,
  joined: s.joined
})

export const fromSnapshot = (c: ChatSnapshot, raw: Record<string, unknown>): ChatState => ({
  chatId: c.chat_id,
  name: c.name,
  chatType: c.chat_type,
  participantCount: c.participant_count,
  creatorId: c.creator?.id ?? null,
  creatorName: c.creator?.name ?? null,
  createdTime: msOrNull(c.created_time),
  lastModifiedTime: msOrNull(c.last_modified_time),
  lastMessageTime: msOrNull(c.last_message_time),
  pinned: c.pinned,
  removed: c.removed,
  unreadMessageCount: c.unread_message_count,
  unreadTime: msOrNull(c.unread_time),
  lastMessageInfo: c.last_message_info,
  previousTitles: c.previous_titles,
  threadMessageId: c.thread_message_id,
  parentChatId: c.parent_chat_id,
  muted: c.muted,
  closed: c.closed,
  drafts: c.drafts,
  joined: c.joined,
  membersFetchedAt: null,
  raw
})

/** Key-order independent JSON, so that re-serialised upstream objects compare equal. */
export const stableJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null"
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`
  const record = value as Record<string, unknown>
  return `{${Object.keys(record)
    .filter(k => record[k] !== undefined)
    .sort()
    .map(k => `${JSON.stringify(k)}:${stableJson(record[k])}`)
    .join(",")}}`
}
