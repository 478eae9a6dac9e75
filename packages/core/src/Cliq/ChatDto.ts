import { Schema } from "effect"
import { UpstreamChatId, UpstreamMessageId, UpstreamUserId } from "./Ids.js"
import { UpstreamTime } from "./UpstreamTime.js"

export const CHAT_TYPES = [
  "channel",
  "bot",
  "entity_chat",
  "direct_message",
  "group_chat",
  "crossproduct_custom_chat",
  "thread",
  "unknown"
] as const
export const ChatType = Schema.Literal(...CHAT_TYPES)
export type ChatType = typeof ChatType.Type

/** An unlisted chat_type decodes to "unknown" (CLIQ_API.md §8.2 #14); the raw payload keeps the original. */
export const UpstreamChatType = Schema.transform(Schema.String, ChatType, {
  strict: true,
  decode: s => ((CHAT_TYPES as ReadonlyArray<string>).includes(s) ? (s as ChatType) : "unknown"),
  encode: t => t
})

export const Creator = Schema.Struct({
  id: UpstreamUserId,
  name: Schema.optional(Schema.String)
})

export const LastMessageInfo = Schema.Struct({
  message_id: Schema.optional(UpstreamMessageId),
  sender: Schema.optional(UpstreamUserId),
  time: Schema.optional(UpstreamTime),
  content: Schema.optional(Schema.Struct({ text: Schema.optional(Schema.String) })),
  type: Schema.optional(Schema.String)
})
export type LastMessageInfo = typeof LastMessageInfo.Type

export const UserMembership = Schema.Struct({
  pinned: Schema.optional(Schema.Boolean),
  removed: Schema.optional(Schema.Boolean)
})

/** The v3 chat object (CLIQ_API.md §3.2). Unknown keys are ignored here and kept by callers in the raw payload. */
export const ChatDto = Schema.Struct({
  chat_id: UpstreamChatId,
  name: Schema.optional(Schema.String),
  chat_type: Schema.optional(UpstreamChatType),
  participant_count: Schema.optional(Schema.Int),
  created_time: Schema.optional(UpstreamTime),
  last_modified_time: Schema.optional(UpstreamTime),
  pinned: Schema.optional(Schema.Boolean),
  removed: Schema.optional(Schema.Boolean),
  creator: Schema.optional(Creator),
  last_message_info: Schema.optional(LastMessageInfo),
  unread_time: Schema.optional(UpstreamTime),
  unread_message_count: Schema.optional(Schema.Int),
  previous_titles: Schema.optional(Schema.String),
  thread_message_id: Schema.optional(UpstreamMessageId),
  parent_chat_id: Schema.optional(UpstreamChatId),
  user_membership: Schema.optional(UserMembership)
})
export type ChatDto = typeof ChatDto.Type
export type ChatJson = typeof ChatDto.Encoded

/** `pinned`/`removed` are top-level in get/list but nested in `user_membership` in the create response (§8.2 #13). */
export const membershipOf = (
  chat: ChatDto
): { readonly pinned: boolean | undefined; readonly removed: boolean | undefined } => ({
  pinned: chat.pinned ?? chat.user_membership?.pinned,
  removed: chat.removed ?? chat.user_membership?.removed
})
