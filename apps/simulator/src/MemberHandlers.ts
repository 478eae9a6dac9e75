import { Limits } from "@cliq-mirror/core"
import { bodyRecord, type Call, type Handler } from "./Call.js"
import type { Chat, UserView } from "./Model.js"
import { messageIndex } from "./ReadState.js"
import { renderChat } from "./Render.js"
import { emptyOk, fail, json, noContent, paramMissing, type Reply } from "./Replies.js"

const TYPING_ACTIONS = ["typing", "text_entered", "text_cleared"]

/** The caller's chat and view when they are a participant; counts as a use of the chat unless `quiet`. */
const access = (call: Call, quiet = false): { chat: Chat; view: UserView } | undefined => {
  const chat = call.store.chats.get(call.chatId)
  const view = chat ? call.store.memberView(chat, call.account) : undefined
  if (!chat || !view) return undefined
  if (!quiet) view.usage++
  return { chat, view }
}

const denied = fail("chat_access_denied")

const isStringList = (value: unknown, max: number): value is Array<string> =>
  Array.isArray(value) && value.length > 0 && value.length <= max && value.every(v => typeof v === "string" && v !== "")

const activePerson = (call: Call, id: string): boolean => call.store.people.get(id)?.active === true

const created = (call: Call, chat: Chat): Reply =>
  json({
    url: "/v3/chats",
    type: "chat",
    data: renderChat(call.store, chat, call.account, chat.views[call.account.index]!, call.options.responseTimes, {
      lastMessageInfo: false,
      nestedMembership: true
    })
  })

/** POST /chats (docs/upstream.md#sim-dm-create, #sim-group-create). */
export const createChat: Handler = call => {
  const body = bodyRecord(call.body)
  const self = call.account.person.id
  if (body.chat_type === "direct_message") {
    if (typeof body.user_id !== "string" || body.user_id === "" || body.user_id === self) return fail("invalid_inputs")
    const existing = call.store.findDirect(self, body.user_id)
    if (existing) return created(call, existing)
    const target = call.store.people.get(body.user_id)
    if (!target) return fail("no_valid_users_available_to_create_chat")
    if (!target.active) return fail("chat_not_available_with_this_inactive_user_and_cannot_create_newchat")
    const chat = call.store.newChat({
      type: "direct_message",
      title: "",
      creatorId: self,
      participants: [self, target.id],
      now: call.now
    })
    return created(call, chat)
  }
  if (body.chat_type !== "group_chat") return fail("invalid_inputs")
  if (typeof body.title !== "string" || !isStringList(body.user_ids, Limits.groupUserIdsMax)) {
    return fail("invalid_inputs")
  }
  if (body.title.trim() === "") return fail("chat_title_empty")
  if (body.title.length > Limits.titleMax) return fail("invalid_inputs")
  const others = [...new Set(body.user_ids)].filter(id => id !== self)
  const valid = others.filter(id => activePerson(call, id))
  if (valid.length === 0) return fail("no_valid_users_available_to_create_chat")
  if (valid.length < 2) return fail("insufficient_members_to_create_group_chat")
  if (valid.length + 1 > call.options.participantCap) return fail("group_chat_participants_limit_exceeded")
  const chat = call.store.newChat({
    type: "group_chat",
    title: body.title,
    creatorId: self,
    participants: [self, ...valid],
    now: call.now
  })
  return created(call, chat)
}

/** docs/upstream.md#sim-members: only group chats take new members; known members and unknown users are left out without error. */
export const addMembers: Handler = call => {
  const found = access(call)
  if (!found) return denied
  const { chat } = found
  if (chat.type === "direct_message") return fail("one_to_one_chat_add_member_not_allowed")
  if (chat.type !== "group_chat") return fail("invalid.inputs.submitted")
  const ids = bodyRecord(call.body).user_ids
  if (!isStringList(ids, Limits.addMembersMax)) return fail("invalid.inputs.submitted")
  const added = [...new Set(ids)].filter(id => activePerson(call, id) && !chat.participants.includes(id))
  if (chat.participants.length + added.length > call.options.participantCap) {
    return fail("group_chat_participants_limit_exceeded")
  }
  for (const id of added) call.store.addParticipant(chat, id, call.now)
  return json({ type: "chat.member", data: { chat_id: chat.id, added_user_ids: added } })
}

export const removeMembers: Handler = call => {
  const found = access(call)
  if (!found) return denied
  const { chat } = found
  if (chat.type === "direct_message") return fail("one_to_one_chat_delete_member_not_allowed")
  if (chat.type !== "group_chat") return fail("invalid.inputs.submitted")
  const ids = (call.query.get("user_ids") ?? "")
    .split(",")
    .map(s => s.trim())
    .filter(s => s.length > 0)
  if (ids.length === 0 || ids.length > Limits.addMembersMax) return fail("invalid.inputs.submitted")
  const removed = [...new Set(ids)].filter(id => chat.participants.includes(id))
  for (const id of removed) call.store.removeParticipant(chat, id, call.now)
  return json({ type: "chat.member", data: { chat_id: chat.id, removed_user_ids: removed } })
}

/**
 * docs/upstream.md#sim-fork: a new group chat named exactly `title`, carrying copies of the source messages from `message_id` on. Its
 * GET /chats key is its creation time: the carried messages keep their original times.
 */
export const forkChat: Handler = call => {
  const invalid = fail("invalid_request")
  const found = access(call)
  if (!found) return invalid
  const body = bodyRecord(call.body)
  const { message_id, title, user_ids, include_participants } = body
  if (typeof message_id !== "string" || typeof title !== "string") return invalid
  if (title.trim() === "" || title.length > Limits.titleMax) return invalid
  if (user_ids !== undefined && typeof user_ids !== "string") return invalid
  if (include_participants !== undefined && typeof include_participants !== "boolean") return invalid
  const index = messageIndex(found.chat, message_id)
  if (index < 0) return invalid
  const self = call.account.person.id
  const invited = include_participants
    ? [...found.chat.participants]
    : (user_ids ?? "")
        .split(",")
        .map(s => s.trim())
        .filter(id => id !== "" && activePerson(call, id))
  const participants = [...new Set([self, ...invited])]
  if (participants.length > call.options.participantCap) return invalid
  const fork = call.store.newChat({ type: "group_chat", title, creatorId: self, participants, now: call.now })
  fork.messages = found.chat.messages.slice(index)
  return json({
    type: "chat",
    data: renderChat(call.store, fork, call.account, fork.views[call.account.index]!, call.options.responseTimes, {
      lastMessageInfo: false
    })
  })
}

/** docs/upstream.md#sim-idempotent: ephemeral, no state change. */
export const sendTyping: Handler = call => {
  const action = bodyRecord(call.body).action
  if (action === undefined) return paramMissing("action")
  if (typeof action !== "string" || !TYPING_ACTIONS.includes(action)) return fail("invalid.inputs.submitted")
  return access(call, true) ? noContent : denied
}

/** docs/upstream.md#sim-leave: DMs (and other one-person chatlets) cannot be left. */
export const leaveChat: Handler = call => {
  const found = access(call)
  if (!found) return denied
  const { chat } = found
  if (chat.type !== "group_chat" && chat.type !== "channel" && chat.type !== "thread") {
    return fail("invalid.inputs.submitted")
  }
  call.store.removeParticipant(chat, call.account.person.id, call.now)
  return emptyOk
}

const setMuted =
  (muted: boolean): Handler =>
  call => {
    const found = access(call)
    if (!found) return denied
    if (found.view.muted !== muted) {
      found.view.muted = muted
      call.store.touch(found.chat, call.now)
    }
    return emptyOk
  }

export const muteChat: Handler = setMuted(true)
export const unmuteChat: Handler = setMuted(false)
