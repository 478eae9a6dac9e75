import { parseUpstreamTime } from "@cliq-mirror/core"
import type { ChatMembers, MirroredChatRow } from "@cliq-mirror/db/ChatsQuery"
import { Schema } from "effect"

const Iso = Schema.String.annotations({
  description: "ISO 8601 UTC with milliseconds",
  examples: ["2025-01-02T03:04:05.678Z"]
})
const IsoOrNull = Schema.NullOr(Iso)

export const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString())

export class Chat extends Schema.Class<Chat>("Chat")({
  chat_id: Schema.String,
  name: Schema.String,
  chat_type: Schema.String,
  participant_count: Schema.NullOr(Schema.Int),
  creator: Schema.NullOr(Schema.Struct({ id: Schema.String, name: Schema.NullOr(Schema.String) })),
  created_time: IsoOrNull,
  last_modified_time: IsoOrNull,
  pinned: Schema.Boolean,
  removed: Schema.Boolean,
  unread_message_count: Schema.Int,
  unread_time: IsoOrNull,
  last_message_info: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  previous_titles: Schema.NullOr(Schema.String),
  parent_chat_id: Schema.NullOr(Schema.String),
  thread_message_id: Schema.NullOr(Schema.String),
  account_id: Schema.String,
  muted: Schema.Boolean,
  closed: Schema.Boolean,
  drafts: Schema.Boolean,
  joined: Schema.Boolean,
  members_fetched_at: IsoOrNull,
  synced_at: Iso
}) {}

/**
 * The wire form of a Chat, built directly: the hot read routes send it without a Schema pass (the `Chat` schema still
 * describes it in the OpenAPI document, and the type keeps both in step).
 */
export const toChatJson = (row: MirroredChatRow): typeof Chat.Encoded => ({
  chat_id: row.chatId,
  name: row.name,
  chat_type: row.chatType,
  participant_count: row.participantCount,
  creator: row.creatorId === null ? null : { id: row.creatorId, name: row.creatorName },
  created_time: iso(row.createdTime),
  last_modified_time: iso(row.lastModifiedTime),
  pinned: row.pinned,
  removed: row.removed,
  unread_message_count: row.unreadMessageCount,
  unread_time: iso(row.unreadTime),
  last_message_info: withUtcTime(row.lastMessageInfo ?? null),
  previous_titles: row.previousTitles,
  parent_chat_id: row.parentChatId,
  thread_message_id: row.threadMessageId,
  account_id: row.accountId,
  muted: row.muted,
  closed: row.closed,
  drafts: row.drafts,
  joined: row.joined,
  members_fetched_at: iso(row.membersFetchedAt),
  synced_at: row.syncedAt.toISOString()
})

export class ChatPage extends Schema.Class<ChatPage>("ChatPage")({
  data: Schema.Array(Chat),
  next_cursor: Schema.NullOr(Schema.String)
}) {}

export const Member = Schema.Struct({
  user_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  email_id: Schema.NullOr(Schema.String)
})

export class MembersPage extends Schema.Class<MembersPage>("MembersPage")({
  data: Schema.Array(Member),
  fetched_at: IsoOrNull
}) {}

export const toMembersDto = (members: ChatMembers): MembersPage =>
  new MembersPage({
    data: members.members.map(m => ({ user_id: m.userId, name: m.name, email_id: m.emailId })),
    fetched_at: iso(members.fetchedAt)
  })

/** The mirror keeps the upstream object as sent; the API gives its `time` in UTC with milliseconds like every time. */
const withUtcTime = (info: Record<string, unknown> | null): Record<string, unknown> | null => {
  if (info === null || (typeof info.time !== "string" && typeof info.time !== "number")) return info
  const ms = parseUpstreamTime(info.time)
  return ms === undefined ? info : { ...info, time: new Date(ms).toISOString() }
}
