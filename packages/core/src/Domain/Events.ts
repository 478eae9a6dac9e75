import type { ObservedFields } from "./ChatState.js"

/**
 * The public event feed. Every chat event is about one chat (the row's chat_id). Observation events carry the
 * chat's new `last_modified_time`; the last event of one observation also carries `raw`, the upstream object as
 * seen, so that replaying the log reproduces the mirror exactly. Times are ISO 8601 UTC with milliseconds.
 *
 * `DECODED` holds the fields of a ChatDiscovered's `raw` as the writer already decoded them: a symbol key, so
 * JSON.stringify leaves it out of the stored payload and a replay decodes `raw` again.
 */
export const DECODED: unique symbol = Symbol.for("@cliq-mirror/core/ChatDiscovered/decoded")

interface Observed {
  readonly last_modified_time?: string | null
  readonly raw?: Record<string, unknown>
}

export interface MemberInfo {
  readonly user_id: string
  readonly name: string | null
  readonly email_id: string | null
}

export type FieldChange = { readonly old: unknown; readonly new: unknown }

export type ChatEventPayloads = {
  /** The chat's fields are what `raw` decodes to (ChatDto), so the object is stored once. */
  readonly ChatDiscovered: {
    readonly last_modified_time?: string | null
    readonly raw: Record<string, unknown>
    readonly [DECODED]?: ObservedFields
  }
  readonly ChatRenamed: Observed & {
    readonly old_title: string
    readonly new_title: string
    readonly previous_titles: string | null
  }
  readonly ChatPinned: Observed
  readonly ChatUnpinned: Observed
  readonly ChatMuted: Observed
  readonly ChatUnmuted: Observed
  readonly ChatClosed: Observed
  readonly ChatReopened: Observed
  readonly ChatDraftsChanged: Observed & { readonly drafts: boolean }
  readonly ChatJoinedChanged: Observed & { readonly joined: boolean }
  readonly UnreadCountChanged: Observed & {
    readonly old_count: number
    readonly new_count: number
    readonly unread_time: string | null
  }
  readonly LastMessageChanged: Observed & {
    readonly old_message_id: string | null
    readonly last_message_info: Record<string, unknown> | null
    readonly last_message_time: string | null
  }
  readonly ParticipantCountChanged: Observed & { readonly old_count: number | null; readonly new_count: number | null }
  readonly MembersChanged: {
    readonly added: ReadonlyArray<MemberInfo>
    readonly removed: ReadonlyArray<string>
    readonly updated: ReadonlyArray<MemberInfo>
    /** When the list was fetched; absent when a command of ours changed the members (names then unknown). */
    readonly fetched_at?: string
  }
  readonly ChatRemoved: Observed & { readonly reason: "upstream_flag" | "not_accessible" | "left" }
  readonly ChatRestored: Observed
  /** Any other field of the chat object (type, creator, times, thread links, unknown upstream keys). */
  readonly ChatDetailsChanged: Observed & { readonly changes: Readonly<Record<string, FieldChange>> }
}

export type ChatEventType = keyof ChatEventPayloads

export type ChatEvent = {
  readonly [K in ChatEventType]: { readonly type: K; readonly payload: ChatEventPayloads[K] }
}[ChatEventType]

export type OtherEventPayloads = {
  readonly UpstreamItemRejected: { readonly path: string; readonly message: string; readonly raw: unknown }
  readonly CommandRequested: { readonly command_id: string; readonly command_type: string; readonly params: unknown }
  readonly CommandSucceeded: { readonly command_id: string; readonly command_type: string; readonly result: unknown }
  readonly CommandRetried: {
    readonly command_id: string
    readonly command_type: string
    readonly previous_attempts: number
    readonly last_error: { readonly code: string; readonly message: string } | null
  }
  readonly CommandFailed: {
    readonly command_id: string
    readonly command_type: string
    readonly code: string
    readonly message: string
  }
}

export type EventType = ChatEventType | keyof OtherEventPayloads

export const CHAT_EVENT_TYPES: ReadonlyArray<ChatEventType> = [
  "ChatDiscovered",
  "ChatRenamed",
  "ChatPinned",
  "ChatUnpinned",
  "ChatMuted",
  "ChatUnmuted",
  "ChatClosed",
  "ChatReopened",
  "ChatDraftsChanged",
  "ChatJoinedChanged",
  "UnreadCountChanged",
  "LastMessageChanged",
  "ParticipantCountChanged",
  "MembersChanged",
  "ChatRemoved",
  "ChatRestored",
  "ChatDetailsChanged"
]

export const EVENT_TYPES: ReadonlyArray<EventType> = [
  ...CHAT_EVENT_TYPES,
  "UpstreamItemRejected",
  "CommandRequested",
  "CommandSucceeded",
  "CommandFailed",
  "CommandRetried"
]
