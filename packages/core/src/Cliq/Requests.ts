import { Schema } from "effect"
import { ChatId, MessageId, UserId } from "./Ids.js"

/** Limits published by the reference (docs/upstream.md#limits); intake and the client both check them. */
export const Limits = {
  titleMax: 255,
  searchTitleMax: 200,
  bulkChatsMax: 100,
  addMembersMax: 100,
  groupUserIdsMax: 50,
  listLimitMax: 100,
  searchLimitMax: 500,
  getFieldsMax: 20
} as const

const Title = Schema.String.pipe(
  Schema.filter(s => s.trim().length > 0, { message: () => "must not be blank" }),
  Schema.maxLength(Limits.titleMax, { message: () => `must be at most ${Limits.titleMax} characters` })
)

export const CreateDirectChatRequest = Schema.Struct({
  chat_type: Schema.Literal("direct_message"),
  user_id: UserId
})
export const CreateGroupChatRequest = Schema.Struct({
  chat_type: Schema.Literal("group_chat"),
  user_ids: Schema.Array(UserId).pipe(Schema.minItems(1), Schema.maxItems(Limits.groupUserIdsMax)),
  title: Title
})
export const CreateChatRequest = Schema.Union(CreateDirectChatRequest, CreateGroupChatRequest)
export type CreateChatRequest = typeof CreateChatRequest.Type

export const ReadStatusItem = Schema.Struct({ chat_id: ChatId, last_message_id: MessageId })
export const BulkReadStatusRequest = Schema.Struct({
  operation: Schema.Literal("read_status_update"),
  read_status: Schema.Literal("read"),
  chats: Schema.Array(ReadStatusItem).pipe(Schema.minItems(1), Schema.maxItems(Limits.bulkChatsMax))
})
export type BulkReadStatusRequest = typeof BulkReadStatusRequest.Type

export const BulkClearUnreadRequest = Schema.Struct({
  operation: Schema.Literal("clear_unread"),
  chat_ids: Schema.Array(ChatId).pipe(Schema.minItems(1), Schema.maxItems(Limits.bulkChatsMax))
})
export type BulkClearUnreadRequest = typeof BulkClearUnreadRequest.Type

export const UpdateTitleRequest = Schema.Struct({ operation: Schema.Literal("update_title"), title: Title })
export const UpdateHistoryStatusRequest = Schema.Struct({
  operation: Schema.Literal("update_history_status"),
  history_status: Schema.Literal("enabled", "disabled")
})
export const MarkAsReadRequest = Schema.Struct({
  operation: Schema.Literal("mark_as_read"),
  last_message_id: MessageId
})
export const MarkAsUnreadRequest = Schema.Struct({ operation: Schema.Literal("mark_as_unread"), message_id: MessageId })
export const ClearLocalHistoryRequest = Schema.Struct({ operation: Schema.Literal("clear_local_history") })
export const CloseChatRequest = Schema.Struct({ operation: Schema.Literal("close_chat") })

export const AddMembersRequest = Schema.Struct({
  user_ids: Schema.Array(UserId).pipe(Schema.minItems(1), Schema.maxItems(Limits.addMembersMax))
})

/** Fork takes `user_ids` as one comma-separated string, unlike add-members (docs/upstream.md#operations). */
export const ForkChatRequest = Schema.Struct({
  message_id: MessageId,
  title: Title,
  user_ids: Schema.optional(Schema.String),
  include_participants: Schema.optional(Schema.Boolean)
})
export type ForkChatRequest = typeof ForkChatRequest.Type

export const TypingAction = Schema.Literal("typing", "text_entered", "text_cleared")
export const TypingActivityRequest = Schema.Struct({ action: TypingAction })

export const SEARCH_CHAT_TYPES = ["direct_message", "group_chat", "channel", "thread"] as const
export const LIST_TYPES = ["guests", "threads", "channel", "bot", "dm", "muted"] as const

export interface ListChatsParams {
  readonly limit?: number
  readonly modified_after?: number
  readonly modified_before?: number
  readonly name?: string
  readonly recipient?: string
  readonly muted?: boolean
  readonly drafts?: boolean
  readonly pinned?: boolean
  readonly closed?: boolean
  readonly joined?: boolean
  readonly chat_ids?: ReadonlyArray<string>
  readonly parent_chid?: string
  readonly type?: (typeof LIST_TYPES)[number]
}

export interface SearchChatsParams {
  readonly limit?: number
  readonly modified_after?: number
  readonly modified_before?: number
  readonly title?: string
  readonly recipient?: string
  readonly chat_type?: ReadonlyArray<(typeof SEARCH_CHAT_TYPES)[number]>
  readonly parent_chat_id?: string
  readonly sort_by?: "usage" | "recent"
}
