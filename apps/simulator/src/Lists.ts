import { LIST_TYPES, Limits, parseUpstreamTime, SEARCH_CHAT_TYPES } from "@cliq-mirror/core"
import type { Call } from "./Call.js"
import { jsonListBytes } from "./JsonBytes.js"
import type { Chat, UserView } from "./Model.js"
import { renderChat } from "./Render.js"
import { fail, type Reply } from "./Replies.js"
import type { SortedChats } from "./SortedChats.js"

/** docs/upstream.md#sim-default-limit: GET /chats without `limit` returns 20 chats, so clients that forget `limit` are caught. */
const LIST_DEFAULT_LIMIT = 20
const INTEGER = /^-?\d+$/

type Predicate = (chat: Chat, view: UserView) => boolean

class BadInput {
  constructor(readonly reply: Reply) {}
}

const bad = (code: string) => new BadInput(fail(code))

const parseLimit = (raw: string | null, fallback: number, max: number): number | BadInput => {
  if (raw === null) return fallback
  if (!INTEGER.test(raw.trim())) return bad("invalid.inputs.submitted")
  const n = Number(raw)
  return n < 1 || n > max ? bad("invalid.inputs.submitted") : n
}

const parseBool = (raw: string | null): boolean | undefined | BadInput => {
  if (raw === null || raw === "") return undefined
  if (raw === "true") return true
  if (raw === "false") return false
  return bad("invalid.inputs.submitted")
}

const csv = (raw: string | null): Array<string> =>
  raw === null
    ? []
    : raw
        .split(",")
        .map(s => s.trim())
        .filter(s => s.length > 0)

/** Walks one index from the exclusive upper bound down to the exclusive lower bound, stopping at `limit` matches. */
const scan = (
  index: SortedChats,
  call: Call,
  after: number | undefined,
  before: number | undefined,
  limit: number,
  keep: Predicate
): Array<Chat> => {
  const out: Array<Chat> = []
  const viewer = call.account.index
  for (let i = before === undefined ? 0 : index.firstBelow(before); i < index.size; i++) {
    const chat = index.at(i)!
    if (after !== undefined && index.keyOf(chat) <= after) break
    const view = chat.views[viewer]
    if (view && keep(chat, view)) {
      out.push(chat)
      if (out.length >= limit) break
    }
  }
  return out
}

const page = (call: Call, chats: ReadonlyArray<Chat>): Reply => ({
  status: 200,
  bytes: jsonListBytes(
    "chats",
    chats.map(chat =>
      renderChat(call.store, chat, call.account, chat.views[call.account.index]!, call.options.responseTimes, {
        lastMessageInfo: true
      })
    )
  )
})

const all =
  (predicates: ReadonlyArray<Predicate>): Predicate =>
  (chat, view) =>
    predicates.every(p => p(chat, view))

/** GET /chats (docs/upstream.md#list-semantics, #silent): filter key = last message time, integer ms bounds. */
export const listChats = (call: Call): Reply => {
  const q = call.query
  const limit = parseLimit(q.get("limit"), LIST_DEFAULT_LIMIT, Limits.listLimitMax)
  if (limit instanceof BadInput) return limit.reply
  const bounds: Array<number | undefined> = []
  for (const name of ["modified_after", "modified_before"] as const) {
    const raw = q.get(name)
    if (raw === null || raw === "") bounds.push(undefined)
    else if (!INTEGER.test(raw.trim())) return fail("invalid.inputs.submitted", `${name} must be epoch milliseconds.`)
    else bounds.push(Number(raw))
  }
  const flags: Record<string, boolean | undefined> = {}
  for (const name of ["muted", "drafts", "pinned", "closed", "joined"] as const) {
    const value = parseBool(q.get(name))
    if (value instanceof BadInput) return value.reply
    flags[name] = value
  }
  const type = q.get("type")
  if (type !== null && type !== "" && !(LIST_TYPES as ReadonlyArray<string>).includes(type)) {
    return fail("invalid.inputs.submitted")
  }
  const keep: Array<Predicate> = [flags.closed ? (_, v) => v.closed : (_, v) => !v.closed && !v.removed]
  if (flags.muted || type === "muted") keep.push((_, v) => v.muted)
  if (flags.pinned) keep.push((_, v) => v.pinned)
  if (flags.drafts) keep.push((_, v) => v.draft !== undefined)
  if (flags.joined) keep.push((_, v) => v.joined)
  if (type === "dm") keep.push(c => c.type === "direct_message")
  if (type === "channel" || type === "bot") keep.push(c => c.type === type)
  if (type === "threads") keep.push(c => c.type === "thread")
  if (type === "guests") keep.push(c => c.hasGuests)
  const name = q.get("name")
  if (name) {
    const needle = name.toLowerCase()
    keep.push(c => call.store.displayNameLower(c, call.account).includes(needle))
  }
  const recipient = q.get("recipient")
  if (recipient) keep.push(c => c.participants.includes(recipient))
  const parent = q.get("parent_chid")
  if (parent) keep.push(c => c.parentChatId === parent)
  const ids = csv(q.get("chat_ids"))
  if (ids.length > 0) {
    const wanted = new Set(ids)
    keep.push(c => wanted.has(c.id))
  }
  const [after, before] = bounds
  return page(call, scan(call.store.byListKey, call, after, before, limit, all(keep)))
}

/** GET /chats/search (docs/upstream.md#list-semantics, #silent): filter key = last modified time, ms or ISO bounds, each parsed alone. */
export const searchChats = (call: Call): Reply => {
  const q = call.query
  const limit = parseLimit(q.get("limit"), Limits.searchLimitMax, Limits.searchLimitMax)
  if (limit instanceof BadInput) return limit.reply
  const title = q.get("title")
  if (title !== null && title.length > Limits.searchTitleMax) return fail("invalid.inputs.submitted")
  const sortBy = q.get("sort_by") || "recent"
  if (sortBy !== "recent" && sortBy !== "usage") return fail("invalid.inputs.submitted")
  const types = csv(q.get("chat_type"))
  if (types.some(t => !(SEARCH_CHAT_TYPES as ReadonlyArray<string>).includes(t))) {
    return fail("invalid.inputs.submitted")
  }
  const bounds: Array<number | undefined> = []
  for (const name of ["modified_after", "modified_before"] as const) {
    const raw = q.get(name)
    if (raw === null || raw === "") bounds.push(undefined)
    else {
      const ms = parseUpstreamTime(raw)
      if (ms === undefined) return fail("invalid.time.submitted", `${name} is not epoch milliseconds or ISO 8601.`)
      bounds.push(ms)
    }
  }
  const [after, before] = bounds
  if (after !== undefined && before !== undefined && after >= before) {
    return fail("invalid.time.submitted", "modified_after must be earlier than modified_before.")
  }
  const keep: Array<Predicate> = [(_, v) => !v.removed]
  if (title) {
    const needle = title.toLowerCase()
    keep.push(c => call.store.displayNameLower(c, call.account).includes(needle))
  }
  if (types.length > 0) {
    const wanted = new Set<string>(types)
    keep.push(c => wanted.has(c.type))
  }
  const recipient = q.get("recipient")
  if (recipient) keep.push(c => c.participants.includes(recipient))
  const parent = q.get("parent_chat_id")
  if (parent) keep.push(c => c.parentChatId === parent)
  const predicate = all(keep)
  const index = call.store.bySearchKey
  if (sortBy === "recent") return page(call, scan(index, call, after, before, limit, predicate))
  // usage: chats the caller used, most used first, then the never-used ones in recent order.
  const viewer = call.account.index
  const used = scan(
    index,
    call,
    after,
    before,
    Number.POSITIVE_INFINITY,
    (c, v) => v.usage > 0 && predicate(c, v)
  ).sort((a, b) => b.views[viewer]!.usage - a.views[viewer]!.usage)
  if (used.length >= limit) return page(call, used.slice(0, limit))
  const rest = scan(index, call, after, before, limit - used.length, (c, v) => v.usage === 0 && predicate(c, v))
  return page(call, [...used, ...rest])
}
