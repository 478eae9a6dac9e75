import { Limits } from "@cliq-mirror/core"
import type { Call } from "./Call.js"
import { renderChat } from "./Render.js"
import { fail, json, type Reply } from "./Replies.js"

const csv = (raw: string | null): Array<string> =>
  (raw ?? "")
    .split(",")
    .map(s => s.trim())
    .filter(s => s.length > 0)

/** docs/upstream.md#sim-unknown-chat, #sim-visibility: a chat the caller never belonged to is "access denied"; a chat they left still answers, removed. */
export const getChat = (call: Call): Reply => {
  const chat = call.store.chats.get(call.chatId)
  const view = chat?.views[call.account.index]
  if (!chat || !view) return fail("chat_access_denied")
  const fields = csv(call.query.get("fields"))
  if (fields.length > Limits.getFieldsMax) return fail("invalid.inputs.submitted")
  const include = csv(call.query.get("include"))
  if (!view.removed) view.usage++
  const data = renderChat(call.store, chat, call.account, view, call.options.responseTimes, {
    lastMessageInfo: include.includes("last_message_info")
  })
  if (fields.length === 0) return json({ type: "chat", data })
  // docs/upstream.md#sim-unknown-params: unknown field names are ignored; the id always stays.
  const narrowed: Record<string, unknown> = { chat_id: data.chat_id }
  for (const field of fields) if (field in data) narrowed[field] = data[field]
  return json({ type: "chat", data: narrowed })
}

const MEMBER_FIELDS = ["user_id", "email_id", "name"] as const

/** docs/upstream.md#sim-members: every chat type, no paging, `fields` narrows the keys. */
export const listMembers = (call: Call): Reply => {
  const chat = call.store.chats.get(call.chatId)
  if (!chat || !call.store.memberView(chat, call.account)) return fail("chat_access_denied")
  const asked = csv(call.query.get("fields")).filter(f => (MEMBER_FIELDS as ReadonlyArray<string>).includes(f))
  const fields = asked.length > 0 ? asked : MEMBER_FIELDS
  const members = chat.participants.map(id => {
    const person = call.store.people.get(id)
    const full: Record<string, string> = { user_id: id, email_id: person?.email ?? "", name: person?.name ?? "" }
    const out: Record<string, string> = {}
    for (const field of fields) out[field] = full[field]!
    return out
  })
  return json({ members })
}
