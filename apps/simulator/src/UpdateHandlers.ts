import { Limits } from "@cliq-mirror/core"
import { bodyRecord, type Call, type Handler } from "./Call.js"
import type { Chat, UserView } from "./Model.js"
import { clearUnread, markReadUpTo, markUnreadFrom, messageIndex } from "./ReadState.js"
import { fail, json, noContent, paramMissing, type Reply } from "./Replies.js"

const access = (call: Call): { chat: Chat; view: UserView } | undefined => {
  const chat = call.store.chats.get(call.chatId)
  const view = chat ? call.store.memberView(chat, call.account) : undefined
  if (!chat || !view) return undefined
  view.usage++
  return { chat, view }
}

const denied = fail("chat_access_denied")

const isStringList = (value: unknown, max: number): value is Array<string> =>
  Array.isArray(value) && value.length > 0 && value.length <= max && value.every(v => typeof v === "string" && v !== "")

/** PUT /chats read_status_update: inaccessible chats or unknown messages land in `failure` (docs/upstream.md#sim-bulk-read). */
export const bulkReadStatusUpdate: Handler = call => {
  const body = bodyRecord(call.body)
  if (body.read_status === undefined) return paramMissing("read_status")
  if (body.read_status !== "read") return fail("invalid.inputs.submitted")
  if (body.chats === undefined) return paramMissing("chats")
  const items = body.chats
  if (!Array.isArray(items) || items.length === 0 || items.length > Limits.bulkChatsMax) {
    return fail("invalid.inputs.submitted")
  }
  for (const item of items) {
    const record = bodyRecord(item)
    if (record.chat_id === undefined) return paramMissing("chat_id")
    if (record.last_message_id === undefined) return paramMissing("last_message_id")
    if (typeof record.chat_id !== "string" || typeof record.last_message_id !== "string") {
      return fail("invalid.inputs.submitted")
    }
  }
  const success: Array<string> = []
  const failure: Array<string> = []
  for (const item of items as ReadonlyArray<{ chat_id: string; last_message_id: string }>) {
    const chat = call.store.chats.get(item.chat_id)
    const view = chat ? call.store.memberView(chat, call.account) : undefined
    const index = chat ? messageIndex(chat, item.last_message_id) : -1
    if (!chat || !view || index < 0) failure.push(item.chat_id)
    else {
      markReadUpTo(chat, view, index)
      view.usage++
      success.push(item.chat_id)
    }
  }
  return json({ type: "chat.read_status", data: { success, failure } })
}

/** PUT /chats clear_unread: unknown or inaccessible ids are skipped silently (docs/upstream.md#sim-bulk-read). */
export const bulkClearUnread: Handler = call => {
  const body = bodyRecord(call.body)
  if (body.chat_ids === undefined) return paramMissing("chat_ids")
  if (!isStringList(body.chat_ids, Limits.bulkChatsMax)) return fail("invalid.inputs.submitted")
  for (const id of body.chat_ids) {
    const chat = call.store.chats.get(id)
    const view = chat ? call.store.memberView(chat, call.account) : undefined
    if (view) clearUnread(view)
  }
  return noContent
}

export const updateTitle: Handler = call => {
  const body = bodyRecord(call.body)
  if (body.title === undefined) return paramMissing("title")
  if (typeof body.title !== "string") return fail("invalid.inputs.submitted")
  if (body.title.trim() === "") return fail("chat_title_empty")
  if (body.title.length > Limits.titleMax) return fail("invalid.inputs.submitted")
  const found = access(call)
  if (!found) return denied
  const { chat } = found
  if (chat.type === "channel") return fail("channel_title_update_not_supported")
  if (chat.type === "direct_message") return fail("contact_rename_not_supported")
  if (chat.type !== "group_chat" && chat.type !== "thread") return fail("chatlet_title_modification_not_allowed")
  call.store.rename(chat, body.title, call.now)
  return json({ type: "chat.title", data: { title: body.title, chat_id: chat.id } })
}

export const updateHistoryStatus: Handler = call => {
  const body = bodyRecord(call.body)
  if (body.history_status === undefined) return paramMissing("history_status")
  if (body.history_status !== "enabled" && body.history_status !== "disabled") {
    return fail("invalid.inputs.submitted")
  }
  const found = access(call)
  if (!found) return denied
  const enabled = body.history_status === "enabled"
  if (found.chat.historyEnabled !== enabled) {
    found.chat.historyEnabled = enabled
    call.store.touch(found.chat, call.now)
  }
  return noContent
}

const markWith =
  (field: "last_message_id" | "message_id", apply: (chat: Chat, view: UserView, index: number) => void): Handler =>
  call => {
    const body = bodyRecord(call.body)
    if (typeof body[field] !== "string" || body[field] === "") return fail("invalid.inputs.submitted")
    const found = access(call)
    if (!found) return denied
    const index = messageIndex(found.chat, body[field])
    if (index < 0) return fail("invalid.inputs.submitted")
    apply(found.chat, found.view, index)
    return noContent
  }

export const markAsRead: Handler = markWith("last_message_id", markReadUpTo)
export const markAsUnread: Handler = markWith("message_id", markUnreadFrom)

export const clearLocalHistory: Handler = call => {
  const found = access(call)
  if (!found) return denied
  if (found.chat.type !== "direct_message" && found.chat.type !== "group_chat") {
    return fail("chat_clear_local_history_not_supported")
  }
  found.view.clearedAtMs = call.now
  clearUnread(found.view)
  return noContent
}

/** docs/upstream.md#sim-idempotent: idempotent; closing drops the chat from the caller's default list until a new message arrives. */
export const closeChat: Handler = (call): Reply => {
  const found = access(call)
  if (!found) return denied
  if (!found.view.closed) {
    found.view.closed = true
    call.store.touch(found.chat, call.now)
  }
  return noContent
}
