import { Either, Schema } from "effect"
import { ChatDto } from "../Cliq/ChatDto.js"
import { type ChatState, emptyFlags, type ObservedFields, observedFields } from "./ChatState.js"
import { type ChatEventPayloads, DECODED, type SnapshotState } from "./Events.js"

export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())
export const msOrNull = (iso: string | null | undefined): number | null => (iso == null ? null : Date.parse(iso))

const decodeChat = Schema.decodeUnknownEither(ChatDto)

/**
 * A discovered chat's state: its fields are what the stored upstream object decodes to, exactly as when it was
 * observed (undefined if it no longer decodes, which replay --check then reports).
 */
export const discoveredState = (payload: ChatEventPayloads["ChatDiscovered"]): ChatState | undefined => {
  const decoded = payload[DECODED]
  if (decoded !== undefined) return withEmptyFlags(decoded)
  return Either.match(decodeChat(payload.raw), {
    onLeft: () => undefined,
    onRight: dto => withEmptyFlags(observedFields(dto, payload.raw))
  })
}

// Field by field rather than spread (`{ ...o, ...emptyFlags }`): this runs for every discovered chat of a backfill.
const withEmptyFlags = (o: ObservedFields): ChatState => ({
  chatId: o.chatId,
  name: o.name,
  chatType: o.chatType,
  participantCount: o.participantCount,
  creatorId: o.creatorId,
  creatorName: o.creatorName,
  createdTime: o.createdTime,
  lastModifiedTime: o.lastModifiedTime,
  lastMessageTime: o.lastMessageTime,
  pinned: o.pinned,
  removed: o.removed,
  unreadMessageCount: o.unreadMessageCount,
  unreadTime: o.unreadTime,
  lastMessageInfo: o.lastMessageInfo,
  previousTitles: o.previousTitles,
  threadMessageId: o.threadMessageId,
  parentChatId: o.parentChatId,
  muted: emptyFlags.muted,
  closed: emptyFlags.closed,
  drafts: emptyFlags.drafts,
  joined: emptyFlags.joined,
  membersFetchedAt: emptyFlags.membersFetchedAt,
  raw: o.raw
})

/** A chat's state as a `ChatSnapshotted` event carries it. */
export const snapshotState = (s: ChatState): SnapshotState => ({
  chat_id: s.chatId,
  name: s.name,
  chat_type: s.chatType,
  participant_count: s.participantCount,
  creator_id: s.creatorId,
  creator_name: s.creatorName,
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
  joined: s.joined,
  members_fetched_at: isoOrNull(s.membersFetchedAt),
  raw: s.raw
})

export const stateFromSnapshot = (s: SnapshotState): ChatState => ({
  chatId: s.chat_id,
  name: s.name,
  chatType: s.chat_type,
  participantCount: s.participant_count,
  creatorId: s.creator_id,
  creatorName: s.creator_name,
  createdTime: msOrNull(s.created_time),
  lastModifiedTime: msOrNull(s.last_modified_time),
  lastMessageTime: msOrNull(s.last_message_time),
  pinned: s.pinned,
  removed: s.removed,
  unreadMessageCount: s.unread_message_count,
  unreadTime: msOrNull(s.unread_time),
  lastMessageInfo: s.last_message_info,
  previousTitles: s.previous_titles,
  threadMessageId: s.thread_message_id,
  parentChatId: s.parent_chat_id,
  muted: s.muted,
  closed: s.closed,
  drafts: s.drafts,
  joined: s.joined,
  membersFetchedAt: msOrNull(s.members_fetched_at),
  raw: s.raw
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
