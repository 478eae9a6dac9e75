import { type ChatState, ChatType } from "@cliq-mirror/core"
import { Schema } from "effect"
import type { chats } from "./schema.js"
import { toDate } from "./Timestamps.js"

export type ChatRow = typeof chats.$inferSelect
export type ChatInsert = typeof chats.$inferInsert

/** The column holds what a decoded chat carried; a value this build does not know reads as `unknown`, as upstream's would. */
const isChatType = Schema.is(ChatType)

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms))
const ms = (d: Date | string | null): number | null => toDate(d)?.getTime() ?? null

export const stateFromRow = (r: ChatRow): ChatState => ({
  chatId: r.chatId,
  name: r.name,
  chatType: isChatType(r.chatType) ? r.chatType : "unknown",
  participantCount: r.participantCount,
  creatorId: r.creatorId,
  creatorName: r.creatorName,
  createdTime: ms(r.createdTime),
  lastModifiedTime: ms(r.lastModifiedTime),
  lastMessageTime: ms(r.lastMessageTime),
  pinned: r.pinned,
  removed: r.removed,
  unreadMessageCount: r.unreadMessageCount,
  unreadTime: ms(r.unreadTime),
  lastMessageInfo: r.lastMessageInfo ?? null,
  previousTitles: r.previousTitles,
  threadMessageId: r.threadMessageId,
  parentChatId: r.parentChatId,
  muted: r.muted,
  closed: r.closed,
  drafts: r.drafts,
  joined: r.joined,
  membersFetchedAt: ms(r.membersFetchedAt),
  raw: r.raw
})

export const rowFromState = (accountId: string, s: ChatState, lastSeq: number, syncedAt: Date): ChatInsert => ({
  accountId,
  chatId: s.chatId,
  name: s.name,
  chatType: s.chatType,
  participantCount: s.participantCount,
  creatorId: s.creatorId,
  creatorName: s.creatorName,
  createdTime: date(s.createdTime),
  lastModifiedTime: date(s.lastModifiedTime),
  lastMessageTime: date(s.lastMessageTime),
  pinned: s.pinned,
  removed: s.removed,
  unreadMessageCount: s.unreadMessageCount,
  unreadTime: date(s.unreadTime),
  lastMessageInfo: s.lastMessageInfo,
  previousTitles: s.previousTitles,
  threadMessageId: s.threadMessageId,
  parentChatId: s.parentChatId,
  muted: s.muted,
  closed: s.closed,
  drafts: s.drafts,
  joined: s.joined,
  membersFetchedAt: date(s.membersFetchedAt),
  syncedAt,
  raw: s.raw,
  lastSeq
})
