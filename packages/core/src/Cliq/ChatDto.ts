import { ParseResult, Schema } from "effect"
import { UpstreamChatId, UpstreamMessageId, UpstreamUserId } from "./Ids.js"
import { parseUpstreamTime, UpstreamTime } from "./UpstreamTime.js"

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

/** An unlisted chat_type decodes to "unknown" (docs/upstream.md#pick-chat-types); the raw payload keeps the original. */
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

/** The rules of `ChatDto`, without its shortcut. */
export const ChatDtoStruct = Schema.Struct({
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
type ChatFields = typeof ChatDtoStruct.Type

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const id = (u: unknown) => (typeof u === "string" && u.length > 0 ? u : undefined)
const str = (u: unknown) => (typeof u === "string" ? u : undefined)
const bool = (u: unknown) => (typeof u === "boolean" ? u : undefined)
const int = (u: unknown) => (typeof u === "number" && Number.isSafeInteger(u) ? u : undefined)
const time = (u: unknown) => {
  const ms = typeof u === "string" || typeof u === "number" ? parseUpstreamTime(u) : undefined
  return ms !== undefined && Number.isSafeInteger(ms) ? ms : undefined
}
const chatType = (u: unknown) =>
  typeof u === "string" ? ((CHAT_TYPES as ReadonlyArray<string>).includes(u) ? (u as ChatType) : "unknown") : undefined

const FAIL = Symbol("fail")
type Field = (u: unknown) => unknown

/** The known keys of `input` decoded by their field rules; FAIL as soon as one does not follow its simple form. */
const pick = (
  input: Record<string, unknown>,
  fields: Record<string, Field>,
  required: string | undefined
): Record<string, unknown> | typeof FAIL => {
  const out: Record<string, unknown> = {}
  for (const key in fields) {
    const value = input[key]
    if (value === undefined) {
      if (key in input || key === required) return FAIL
      continue
    }
    const decoded = fields[key]!(value)
    if (decoded === undefined || decoded === FAIL) return FAIL
    out[key] = decoded
  }
  return out
}
const struct =
  (fields: Record<string, Field>, required?: string) =>
  (u: unknown): Record<string, unknown> | typeof FAIL =>
    isObject(u) ? pick(u, fields, required) : FAIL

const quickChat = struct(
  {
    chat_id: id,
    name: str,
    chat_type: chatType,
    participant_count: int,
    created_time: time,
    last_modified_time: time,
    pinned: bool,
    removed: bool,
    creator: struct({ id, name: str }, "id"),
    last_message_info: struct({ message_id: id, sender: id, time, content: struct({ text: str }), type: str }),
    unread_time: time,
    unread_message_count: int,
    previous_titles: str,
    thread_message_id: id,
    parent_chat_id: id,
    user_membership: struct({ pinned: bool, removed: bool })
  },
  "chat_id"
)

const decodeStruct = ParseResult.decodeUnknown(ChatDtoStruct)
const encodeStruct = ParseResult.encodeUnknown(ChatDtoStruct)

/**
 * The v3 chat object (docs/upstream.md#chat-object). Unknown keys are ignored here and kept by callers in the raw payload.
 * A backfill decodes every chat, and Effect's struct, union and transformation steps cost ~20 µs per object, so a
 * chat whose every field has its plain form (string ids, times as ISO strings or epoch ms, …) is decoded by hand
 * to what `ChatDtoStruct` gives; anything else, and every failure, goes through `ChatDtoStruct` itself.
 */
export const ChatDto = Schema.declare([], {
  decode: () => (input, options) => {
    // The shortcut drops unknown keys, as the default `onExcessProperty: "ignore"` does.
    const quick = (options?.onExcessProperty ?? "ignore") === "ignore" ? quickChat(input) : FAIL
    return quick === FAIL ? decodeStruct(input, options) : ParseResult.succeed(quick as ChatFields)
  },
  encode: () => (input, options) => encodeStruct(input, options)
})
export type ChatDto = typeof ChatDto.Type
export type ChatJson = typeof ChatDto.Encoded

/** `pinned`/`removed` are top-level in get/list but nested in `user_membership` in the create response (docs/upstream.md#pick-membership-location). */
export const membershipOf = (
  chat: ChatDto
): { readonly pinned: boolean | undefined; readonly removed: boolean | undefined } => ({
  pinned: chat.pinned ?? chat.user_membership?.pinned,
  removed: chat.removed ?? chat.user_membership?.removed
})
