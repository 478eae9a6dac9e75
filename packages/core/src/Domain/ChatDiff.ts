import { isoOrNull, stableJson } from "./ChatSnapshot.js"
import type { ChatFlag, ChatState, ObservedFields } from "./ChatState.js"
import { type ChatEvent, DECODED, type FieldChange, type MemberInfo } from "./Events.js"

const DETAIL_FIELDS = [
  ["chat_type", "chatType"],
  ["creator_id", "creatorId"],
  ["creator_name", "creatorName"],
  ["created_time", "createdTime"],
  ["previous_titles", "previousTitles"],
  ["thread_message_id", "threadMessageId"],
  ["parent_chat_id", "parentChatId"]
] as const satisfies ReadonlyArray<readonly [string, keyof ObservedFields]>

const detailValue = (s: ObservedFields, key: keyof ObservedFields): unknown =>
  key === "createdTime" ? isoOrNull(s.createdTime) : s[key]

const second = (ms: number) => Math.floor(ms / 1000)

/**
 * An observation made before the one the mirror holds: its chat was modified in an earlier second (last_modified_time
 * only grows, and bodies carry whole seconds, docs/upstream.md#list-walk). Pages fetched earlier can commit later — a
 * state listing's observations wait for the flag's settlement, a reconciliation page for its turn — and must not take
 * a chat back to what it was. Within one second nothing tells which is newer: the later write wins, as before.
 */
export const isOlder = (obs: Pick<ObservedFields, "lastModifiedTime">, held: Pick<ChatState, "lastModifiedTime">) =>
  obs.lastModifiedTime !== null &&
  held.lastModifiedTime !== null &&
  second(obs.lastModifiedTime) < second(held.lastModifiedTime)

/**
 * The events one observation of a chat object implies, given what the mirror holds. Nothing changed, or an observation
 * older than the one held (`isOlder`) → no events.
 * The last event carries the raw upstream object so that replay reproduces the projection exactly; a discovery
 * carries nothing else, its fields being what `raw` decodes to.
 */
export const diffObservation = (prev: ChatState | undefined, obs: ObservedFields): Array<ChatEvent> => {
  const lmt = isoOrNull(obs.lastModifiedTime)
  if (prev === undefined) {
    return [{ type: "ChatDiscovered", payload: { last_modified_time: lmt, raw: obs.raw, [DECODED]: obs } }]
  }
  if (isOlder(obs, prev)) return []
  const at = { last_modified_time: lmt }
  const events: Array<ChatEvent> = []
  if (prev.name !== obs.name) {
    events.push({
      type: "ChatRenamed",
      payload: { ...at, old_title: prev.name, new_title: obs.name, previous_titles: obs.previousTitles }
    })
  }
  if (prev.pinned !== obs.pinned) events.push({ type: obs.pinned ? "ChatPinned" : "ChatUnpinned", payload: at })
  if (prev.removed !== obs.removed) {
    events.push(
      obs.removed
        ? { type: "ChatRemoved", payload: { ...at, reason: "upstream_flag" } }
        : { type: "ChatRestored", payload: at }
    )
  }
  if (prev.unreadMessageCount !== obs.unreadMessageCount || prev.unreadTime !== obs.unreadTime) {
    events.push({
      type: "UnreadCountChanged",
      payload: {
        ...at,
        old_count: prev.unreadMessageCount,
        new_count: obs.unreadMessageCount,
        unread_time: isoOrNull(obs.unreadTime)
      }
    })
  }
  if (
    prev.lastMessageTime !== obs.lastMessageTime ||
    stableJson(prev.lastMessageInfo) !== stableJson(obs.lastMessageInfo)
  ) {
    events.push({
      type: "LastMessageChanged",
      payload: {
        ...at,
        old_message_id: messageIdOf(prev.lastMessageInfo),
        last_message_info: obs.lastMessageInfo,
        last_message_time: isoOrNull(obs.lastMessageTime)
      }
    })
  }
  if (prev.participantCount !== obs.participantCount) {
    events.push({
      type: "ParticipantCountChanged",
      payload: { ...at, old_count: prev.participantCount, new_count: obs.participantCount }
    })
  }
  const changes: Record<string, FieldChange> = {}
  for (const [name, key] of DETAIL_FIELDS) {
    if (key === "previousTitles" && prev.name !== obs.name) continue
    const before = detailValue(prev, key)
    const after = detailValue(obs, key)
    if (before !== after) changes[name] = { old: before, new: after }
  }
  const rawChanged = stableJson(prev.raw) !== stableJson(obs.raw)
  const lmtChanged = prev.lastModifiedTime !== obs.lastModifiedTime
  if (Object.keys(changes).length > 0 || (events.length === 0 && (rawChanged || lmtChanged))) {
    if (lmtChanged) changes.last_modified_time = { old: isoOrNull(prev.lastModifiedTime), new: lmt }
    events.push({ type: "ChatDetailsChanged", payload: { ...at, changes } })
  }
  if (events.length > 0) {
    const last = events[events.length - 1]!
    events[events.length - 1] = { ...last, payload: { ...last.payload, raw: obs.raw } } as ChatEvent
  }
  return events
}

const messageIdOf = (info: Record<string, unknown> | null): string | null =>
  info && typeof info.message_id === "string" ? info.message_id : null

const FLAG_EVENTS = {
  muted: [
    { type: "ChatMuted", payload: {} },
    { type: "ChatUnmuted", payload: {} }
  ],
  closed: [
    { type: "ChatClosed", payload: {} },
    { type: "ChatReopened", payload: {} }
  ],
  pinned: [
    { type: "ChatPinned", payload: {} },
    { type: "ChatUnpinned", payload: {} }
  ],
  drafts: [
    { type: "ChatDraftsChanged", payload: { drafts: true } },
    { type: "ChatDraftsChanged", payload: { drafts: false } }
  ],
  joined: [
    { type: "ChatJoinedChanged", payload: { joined: true } },
    { type: "ChatJoinedChanged", payload: { joined: false } }
  ]
} as const satisfies Record<ChatFlag, readonly [ChatEvent, ChatEvent]>

/** The event types that set or clear a flag (what a writer of the flag appends). */
export const flagEventTypes = (flag: ChatFlag): ReadonlyArray<ChatEvent["type"]> => [
  ...new Set(FLAG_EVENTS[flag].map(e => e.type))
]

/** A state listing (muted=true, closed=true, …) says whether the flag holds; an unchanged flag appends nothing. */
export const diffFlag = (prev: ChatState, flag: ChatFlag, value: boolean): ChatEvent | undefined =>
  prev[flag] === value ? undefined : FLAG_EVENTS[flag][value ? 0 : 1]

const sameMember = (a: MemberInfo, b: MemberInfo) => a.name === b.name && a.email_id === b.email_id

/** A fetched member list against the mirrored one: one MembersChanged naming who joined, left or changed. */
export const diffMembers = (
  before: ReadonlyArray<MemberInfo>,
  after: ReadonlyArray<MemberInfo>,
  fetchedAt: string
): ChatEvent | undefined => {
  const old = new Map(before.map(m => [m.user_id, m]))
  const now = new Map(after.map(m => [m.user_id, m]))
  const added = [...now.values()].filter(m => !old.has(m.user_id))
  const removed = [...old.keys()].filter(id => !now.has(id))
  const updated = [...now.values()].filter(m => old.has(m.user_id) && !sameMember(old.get(m.user_id)!, m))
  if (added.length === 0 && removed.length === 0 && updated.length === 0) return undefined
  return { type: "MembersChanged", payload: { added, removed, updated, fetched_at: fetchedAt } }
}
