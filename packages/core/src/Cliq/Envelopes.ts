import { Schema } from "effect"
import { ChatDto } from "./ChatDto.js"
import { UpstreamChatId, UpstreamUserId } from "./Ids.js"

export const ChatList = Schema.Struct({ chats: Schema.Array(Schema.Unknown) })
export type ChatList = typeof ChatList.Type

export const ChatEnvelope = Schema.Struct({ type: Schema.optional(Schema.String), data: ChatDto })
export type ChatEnvelope = typeof ChatEnvelope.Type

export const CreateChatResponse = Schema.Struct({
  url: Schema.optional(Schema.String),
  type: Schema.optional(Schema.String),
  data: ChatDto
})

export const TitleResponse = Schema.Struct({
  type: Schema.optional(Schema.String),
  data: Schema.Struct({ title: Schema.String, chat_id: UpstreamChatId })
})

/** The item shape of `failure` is unpublished; chat id strings are the pick (docs/upstream.md#pick-failure-items), objects with chat_id are tolerated. */
const FailureItem = Schema.Union(
  UpstreamChatId,
  Schema.transform(Schema.Struct({ chat_id: UpstreamChatId }), UpstreamChatId.pipe(Schema.typeSchema), {
    strict: true,
    decode: item => item.chat_id,
    encode: chat_id => ({ chat_id })
  })
)

export const ReadStatusResponse = Schema.Struct({
  type: Schema.optional(Schema.String),
  data: Schema.Struct({
    success: Schema.optionalWith(Schema.Array(UpstreamChatId), { default: () => [] }),
    failure: Schema.optionalWith(Schema.Array(FailureItem), { default: () => [] })
  })
})
export type ReadStatusResponse = typeof ReadStatusResponse.Type

export const Member = Schema.Struct({
  user_id: UpstreamUserId,
  email_id: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String)
})
export type Member = typeof Member.Type

export const MembersResponse = Schema.Struct({ members: Schema.Array(Member) })

export const MembersAddedResponse = Schema.Struct({
  type: Schema.optional(Schema.String),
  data: Schema.Struct({
    chat_id: UpstreamChatId,
    added_user_ids: Schema.optionalWith(Schema.Array(UpstreamUserId), { default: () => [] })
  })
})

export const MembersRemovedResponse = Schema.Struct({
  type: Schema.optional(Schema.String),
  data: Schema.Struct({
    chat_id: UpstreamChatId,
    removed_user_ids: Schema.optionalWith(Schema.Array(UpstreamUserId), { default: () => [] })
  })
})

/** Endpoint failures carry `code`; generic ones only `message` (docs/upstream.md#errors). */
export const ErrorBody = Schema.Struct({
  message: Schema.optional(Schema.String),
  code: Schema.optional(Schema.String)
})
export type ErrorBody = typeof ErrorBody.Type

export const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  expires_in: Schema.Number,
  token_type: Schema.optional(Schema.String),
  api_domain: Schema.optional(Schema.String),
  scope: Schema.optional(Schema.String),
  refresh_token: Schema.optional(Schema.String)
})
export type TokenResponse = typeof TokenResponse.Type

/** Zoho Accounts reports refusals (bad grant, mint quota) as `error` bodies, sometimes with HTTP 200 (docs/upstream.md#token-endpoint). */
export const TokenErrorBody = Schema.Struct({
  error: Schema.String,
  error_description: Schema.optional(Schema.String)
})
export type TokenErrorBody = typeof TokenErrorBody.Type
