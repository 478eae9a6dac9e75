import {
  type ChatPage,
  isChatResult,
  listKey,
  type ObservedFields,
  observedFields,
  parseUpstreamTime
} from "@cliq-mirror/core"
import type { ObservedChat, RejectedChat } from "@cliq-mirror/db"
import type { KeyedItem } from "./WindowWalk.js"

export type KeyOf = (chat: ObservedFields) => number | null

/** Search filters on last-modified time; GET /chats on last-message time (created time without messages). */
export const searchKey: KeyOf = c => c.lastModifiedTime
export const listingKey: KeyOf = c => listKey(c)

const rawField = (raw: unknown, field: string): unknown =>
  typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>)[field] : undefined

const rawKey = (raw: unknown, key: KeyOf): number | null => {
  const t =
    key === searchKey ? rawField(raw, "last_modified_time") : rawField(rawField(raw, "last_message_info"), "time")
  return typeof t === "string" || typeof t === "number" ? (parseUpstreamTime(t) ?? null) : null
}

export interface SortedPage {
  readonly observed: Array<ObservedChat>
  readonly rejected: Array<RejectedChat>
  readonly keyed: Array<KeyedItem>
}

/** Splits a page into what the mirror applies, what it records as rejected, and what the window walk reasons on. */
export const sortPage = (page: ChatPage, key: KeyOf): SortedPage => {
  const observed: Array<ObservedChat> = []
  const rejected: Array<RejectedChat> = []
  const keyed: Array<KeyedItem> = []
  for (const item of page.items) {
    if (isChatResult(item)) {
      const chat = observedFields(item.chat, item.raw)
      observed.push({ raw: item.raw, chat })
      keyed.push({ id: chat.chatId, key: key(chat) })
    } else {
      const id = rawField(item.raw, "chat_id")
      const chatId = typeof id === "string" && id.length > 0 ? id : typeof id === "number" ? String(id) : null
      rejected.push({ raw: item.raw, chatId, path: item.error.path, message: item.error.message })
      keyed.push({ id: chatId ?? "", key: rawKey(item.raw, key) })
    }
  }
  return { observed, rejected, keyed }
}
