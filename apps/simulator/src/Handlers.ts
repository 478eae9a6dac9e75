import type { Operation, OperationId } from "@cliq-mirror/core"
import { bodyRecord, type Handler } from "./Call.js"
import { listChats, searchChats } from "./Lists.js"
import {
  addMembers,
  createChat,
  forkChat,
  leaveChat,
  muteChat,
  removeMembers,
  sendTyping,
  unmuteChat
} from "./MemberHandlers.js"
import { getChat, listMembers } from "./ReadHandlers.js"
import { fail, paramMissing, type Reply } from "./Replies.js"
import {
  bulkClearUnread,
  bulkReadStatusUpdate,
  clearLocalHistory,
  closeChat,
  markAsRead,
  markAsUnread,
  updateHistoryStatus,
  updateTitle
} from "./UpdateHandlers.js"

export const HANDLERS: Readonly<Record<OperationId, Handler>> = {
  listChats,
  createChat,
  bulkReadStatusUpdate,
  bulkClearUnread,
  searchChats,
  getChat,
  updateTitle,
  updateHistoryStatus,
  markAsRead,
  markAsUnread,
  clearLocalHistory,
  closeChat,
  listMembers,
  addMembers,
  removeMembers,
  forkChat,
  sendTyping,
  leaveChat,
  muteChat,
  unmuteChat
}

/**
 * A shared endpoint whose selector field names no operation: POST /chats → `invalid_inputs`; PUT without
 * `operation` → `param_missing` (this also covers the `{"status": "closed"}` alias, docs/upstream.md#sim-close-alias); an unknown value →
 * `invalid.inputs.submitted`.
 */
export const unresolved = (candidate: Operation, body: unknown): Reply => {
  const selector = candidate.selector
  if (!selector || selector.field === "chat_type") return fail("invalid_inputs")
  const value = bodyRecord(body)[selector.field]
  return value === undefined || value === null || value === ""
    ? paramMissing(selector.field)
    : fail("invalid.inputs.submitted")
}
