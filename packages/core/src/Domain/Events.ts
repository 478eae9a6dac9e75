import { Predicate, Schema } from "effect"
import { ChatType } from "../Cliq/ChatDto.js"
import type { ObservedFields } from "./ChatState.js"

/**
 * The event log, one schema per event: `{ type, payload }`. Every chat event is about one chat (the row's chat_id).
 * Observation events carry the chat's new `last_modified_time`; the last event of one observation also carries
 * `raw`, the upstream object as seen, so that replaying the log reproduces the mirror exactly. Times are ISO 8601 UTC
 * with milliseconds. The stored payload is the schema's encoded form, which is the payload itself (every field is
 * plain JSON; `DomainEventIsJson` below keeps it so): writers append their typed events as they are, readers decode.
 *
 * To add an event: declare its schema next to its kin and add it to `ChatEvent` or `OtherEvent`.
 *
 * `DECODED` holds the fields of a ChatDiscovered's `raw` as the writer already decoded them: a symbol key, so
 * JSON.stringify leaves it out of the stored payload and a replay decodes `raw` again.
 */
export const DECODED: unique symbol = Symbol.for("@cliq-mirror/core/ChatDiscovered/decoded")

const event = <const T extends string, P extends Schema.Struct.Fields>(type: T, payload: P) =>
  Schema.Struct({ type: Schema.Literal(type), payload: Schema.Struct(payload) })

const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })

const Raw = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const Time = Schema.String

const Observed = {
  last_modified_time: optional(Schema.NullOr(Time)),
  raw: optional(Raw)
}

export const MemberInfo = Schema.Struct({
  user_id: Schema.String,
  name: Schema.NullOr(Schema.String),
  email_id: Schema.NullOr(Schema.String)
})
export type MemberInfo = typeof MemberInfo.Type

export const FieldChange = Schema.Struct({ old: Schema.Unknown, new: Schema.Unknown })
export type FieldChange = typeof FieldChange.Type

const InMemoryObservedFields = Schema.declare((u: unknown): u is ObservedFields => Predicate.isObject(u))

/** The chat's fields are what `raw` decodes to (ChatDto), so the object is stored once. */
export const ChatDiscovered = event("ChatDiscovered", {
  last_modified_time: optional(Schema.NullOr(Time)),
  raw: Raw,
  [DECODED]: optional(InMemoryObservedFields)
})
export const ChatRenamed = event("ChatRenamed", {
  ...Observed,
  old_title: Schema.String,
  new_title: Schema.String,
  previous_titles: Schema.NullOr(Schema.String)
})
export const ChatPinned = event("ChatPinned", Observed)
export const ChatUnpinned = event("ChatUnpinned", Observed)
export const ChatMuted = event("ChatMuted", Observed)
export const ChatUnmuted = event("ChatUnmuted", Observed)
export const ChatClosed = event("ChatClosed", Observed)
export const ChatReopened = event("ChatReopened", Observed)
export const ChatDraftsChanged = event("ChatDraftsChanged", { ...Observed, drafts: Schema.Boolean })
export const ChatJoinedChanged = event("ChatJoinedChanged", { ...Observed, joined: Schema.Boolean })
export const UnreadCountChanged = event("UnreadCountChanged", {
  ...Observed,
  old_count: Schema.Number,
  new_count: Schema.Number,
  unread_time: Schema.NullOr(Time)
})
export const LastMessageChanged = event("LastMessageChanged", {
  ...Observed,
  old_message_id: Schema.NullOr(Schema.String),
  last_message_info: Schema.NullOr(Raw),
  last_message_time: Schema.NullOr(Time)
})
export const ParticipantCountChanged = event("ParticipantCountChanged", {
  ...Observed,
  old_count: Schema.NullOr(Schema.Number),
  new_count: Schema.NullOr(Schema.Number)
})
export const MembersChanged = event("MembersChanged", {
  added: Schema.Array(MemberInfo),
  removed: Schema.Array(Schema.String),
  updated: Schema.Array(MemberInfo),
  /** When the list was fetched; absent when a command of ours changed the members (names then unknown). */
  fetched_at: optional(Time)
})
export const ChatRemoved = event("ChatRemoved", {
  ...Observed,
  reason: Schema.Literal("upstream_flag", "not_accessible", "left")
})
export const ChatRestored = event("ChatRestored", Observed)
/** Any other field of the chat object (type, creator, times, thread links, unknown upstream keys). */
export const ChatDetailsChanged = event("ChatDetailsChanged", {
  ...Observed,
  changes: Schema.Record({ key: Schema.String, value: FieldChange })
})

/** Commands of ours that changed the chat for this user only (the upstream object does not show them). */
export const ChatMarkedUnread = event("ChatMarkedUnread", { message_id: Schema.String })
export const ChatHistoryStatusChanged = event("ChatHistoryStatusChanged", {
  history_status: Schema.Literal("enabled", "disabled")
})
export const ChatLocalHistoryCleared = event("ChatLocalHistoryCleared", { ...Observed })

/** A chat's whole state as the mirror has it, in the wire units of the other events (ISO times, snake_case). */
export const SnapshotState = Schema.Struct({
  chat_id: Schema.String,
  name: Schema.String,
  chat_type: ChatType,
  participant_count: Schema.NullOr(Schema.Number),
  creator_id: Schema.NullOr(Schema.String),
  creator_name: Schema.NullOr(Schema.String),
  created_time: Schema.NullOr(Time),
  last_modified_time: Schema.NullOr(Time),
  last_message_time: Schema.NullOr(Time),
  pinned: Schema.Boolean,
  removed: Schema.Boolean,
  unread_message_count: Schema.Number,
  unread_time: Schema.NullOr(Time),
  last_message_info: Schema.NullOr(Raw),
  previous_titles: Schema.NullOr(Schema.String),
  thread_message_id: Schema.NullOr(Schema.String),
  parent_chat_id: Schema.NullOr(Schema.String),
  muted: Schema.Boolean,
  closed: Schema.Boolean,
  drafts: Schema.Boolean,
  joined: Schema.Boolean,
  members_fetched_at: Schema.NullOr(Time),
  raw: Raw
})
export type SnapshotState = typeof SnapshotState.Type

/**
 * Written by compaction (docs/events.md#compaction): the chat's state and members after every event of the chat up to
 * `through_seq`, which were then deleted. A fold starts over from it: it replaces whatever came before.
 */
export const ChatSnapshotted = event("ChatSnapshotted", {
  state: SnapshotState,
  members: Schema.Array(MemberInfo),
  through_seq: Schema.Number,
  events_compacted: Schema.Number,
  compacted_before: Time
})

export const ChatEvent = Schema.Union(
  ChatDiscovered,
  ChatSnapshotted,
  ChatRenamed,
  ChatPinned,
  ChatUnpinned,
  ChatMuted,
  ChatUnmuted,
  ChatClosed,
  ChatReopened,
  ChatDraftsChanged,
  ChatJoinedChanged,
  UnreadCountChanged,
  LastMessageChanged,
  ParticipantCountChanged,
  MembersChanged,
  ChatRemoved,
  ChatRestored,
  ChatDetailsChanged,
  ChatMarkedUnread,
  ChatHistoryStatusChanged,
  ChatLocalHistoryCleared
)
export type ChatEvent = typeof ChatEvent.Type
export type ChatEventType = ChatEvent["type"]
export type ChatEventPayloads = { readonly [E in ChatEvent as E["type"]]: E["payload"] }

const CommandRef = { command_id: Schema.String, command_type: Schema.String }

export const UpstreamItemRejected = event("UpstreamItemRejected", {
  path: Schema.String,
  message: Schema.String,
  raw: Schema.Unknown
})
export const CommandRequested = event("CommandRequested", { ...CommandRef, params: Schema.Unknown })
export const CommandSucceeded = event("CommandSucceeded", {
  ...CommandRef,
  result: Schema.Unknown,
  superseded_by: optional(Schema.NullOr(Schema.String))
})
export const CommandRetried = event("CommandRetried", {
  ...CommandRef,
  previous_attempts: Schema.Number,
  last_error: Schema.NullOr(Schema.Struct({ code: Schema.String, message: Schema.String }))
})
export const CommandFailed = event("CommandFailed", { ...CommandRef, code: Schema.String, message: Schema.String })
export const CommandCancelled = event("CommandCancelled", { ...CommandRef, batch_id: Schema.NullOr(Schema.String) })

export const OtherEvent = Schema.Union(
  UpstreamItemRejected,
  CommandRequested,
  CommandSucceeded,
  CommandRetried,
  CommandFailed,
  CommandCancelled
)
export type OtherEvent = typeof OtherEvent.Type

/** Every event of the log. */
export const DomainEvent = Schema.Union(ChatEvent, OtherEvent)
export type DomainEvent = typeof DomainEvent.Type
export type EventType = DomainEvent["type"]

/** Appending writes the typed event as it is: that is its encoded form (checked here, at compile time). */
export const DomainEventIsJson: Schema.Schema<DomainEvent, DomainEvent> = DomainEvent

export const CHAT_EVENT_TYPES: ReadonlyArray<ChatEventType> = ChatEvent.members.map(m => m.fields.type.literals[0])
export const EVENT_TYPES: ReadonlyArray<EventType> = [
  ...CHAT_EVENT_TYPES,
  ...OtherEvent.members.map(m => m.fields.type.literals[0])
]

const decodeOptions = { onExcessProperty: "preserve" } as const
const decodeDomainEvent = Schema.decodeUnknownEither(DomainEvent, decodeOptions)
const decodeChatEvent = Schema.decodeUnknownEither(ChatEvent, decodeOptions)

/** A stored event (`type`, `payload` columns) as its schema reads it; fields it does not know are kept. */
export const readEvent = (type: string, payload: unknown) => decodeDomainEvent({ type, payload })
export const readChatEvent = (type: string, payload: unknown) => decodeChatEvent({ type, payload })
