import { Schema } from "effect"

/** Ids stay opaque strings (docs/upstream.md#ids-and-times); a numeric id in a payload is accepted and turned into its text. */
const Opaque = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Number, Schema.String, { strict: true, decode: n => String(n), encode: s => Number(s) })
)

export const ChatId = Schema.String.pipe(Schema.minLength(1), Schema.brand("ChatId"))
export type ChatId = typeof ChatId.Type
export const UserId = Schema.String.pipe(Schema.minLength(1), Schema.brand("UserId"))
export type UserId = typeof UserId.Type
export const MessageId = Schema.String.pipe(Schema.minLength(1), Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

export const UpstreamChatId = Schema.compose(Opaque, ChatId)
export const UpstreamUserId = Schema.compose(Opaque, UserId)
export const UpstreamMessageId = Schema.compose(Opaque, MessageId)
