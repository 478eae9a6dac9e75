import { type ChatDto, type ChatType, membershipOf } from "../Cliq/ChatDto.js"

/** What the mirror knows of one chat, in upstream units (epoch ms). Filter-only flags come from state listings. */
export interface ChatState {
  readonly chatId: string
  readonly name: string
  readonly chatType: ChatType
  readonly participantCount: number | null
  readonly creatorId: string | null
  readonly creatorName: string | null
  readonly createdTime: number | null
  readonly lastModifiedTime: number | null
  readonly lastMessageTime: number | null
  readonly pinned: boolean
  readonly removed: boolean
  readonly unreadMessageCount: number
  readonly unreadTime: number | null
  readonly lastMessageInfo: Record<string, unknown> | null
  readonly previousTitles: string | null
  readonly threadMessageId: string | null
  readonly parentChatId: string | null
  readonly muted: boolean
  readonly closed: boolean
  readonly drafts: boolean
  readonly joined: boolean
  readonly membersFetchedAt: number | null
  readonly raw: Record<string, unknown>
}

export type ChatFlag = "muted" | "closed" | "drafts" | "joined" | "pinned"

/** Fields an observation of the chat object carries (everything but the filter-only flags and bookkeeping). */
export type ObservedFields = Omit<ChatState, "muted" | "closed" | "drafts" | "joined" | "membersFetchedAt">

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

export const observedFields = (dto: ChatDto, raw: unknown): ObservedFields => {
  const membership = membershipOf(dto)
  const rawRecord = isRecord(raw) ? raw : {}
  const rawLastMessage = rawRecord.last_message_info
  return {
    chatId: dto.chat_id,
    name: dto.name ?? "",
    chatType: dto.chat_type ?? "unknown",
    participantCount: dto.participant_count ?? null,
    creatorId: dto.creator?.id ?? null,
    creatorName: dto.creator?.name ?? null,
    createdTime: dto.created_time ?? null,
    lastModifiedTime: dto.last_modified_time ?? null,
    lastMessageTime: dto.last_message_info?.time ?? null,
    pinned: membership.pinned ?? false,
    removed: membership.removed ?? false,
    unreadMessageCount: dto.unread_message_count ?? 0,
    unreadTime: dto.unread_time ?? null,
    lastMessageInfo: isRecord(rawLastMessage) ? rawLastMessage : null,
    previousTitles: dto.previous_titles ?? null,
    threadMessageId: dto.thread_message_id ?? null,
    parentChatId: dto.parent_chat_id ?? null,
    raw: rawRecord
  }
}

/** The mirror's own fields of a chat just discovered: the state filters and member fetches set them later. */
export const emptyFlags = { muted: false, closed: false, drafts: false, joined: false, membersFetchedAt: null } as const

/** The mirror's cursor key for a chat: GET /chats filters on last message time, else created time (docs/upstream.md#list-assumptions). */
export const listKey = (s: Pick<ChatState, "lastMessageTime" | "createdTime" | "lastModifiedTime">): number | null =>
  s.lastMessageTime ?? s.createdTime ?? s.lastModifiedTime
