import {
  type ChatEvent,
  type ChatFlag,
  type ChatState,
  diffFlag,
  diffMembers,
  diffObservation,
  evolveChat,
  flagEventTypes,
  type MemberInfo,
  type ObservedFields
} from "@cliq-mirror/core"
import type postgres from "postgres"
import { applyMemberDelta, selectMembers } from "./ChatMembersSql.js"
import { type ChatInsert, rowFromState, stateFromRow } from "./ChatRows.js"
import { appendStagedSql, chatRowsJson, peekChats, selectChatsForUpdate, stagePartSql } from "./ChatsSql.js"
import { eventRowsJson, type NewEvent, type PageEvent, type TxSql } from "./EventAppend.js"
import { type CursorUpdate, writeCursor } from "./SyncStateSql.js"

export interface ObservedChat {
  readonly raw: unknown
  readonly chat: ObservedFields
}

export interface RejectedChat {
  readonly raw: unknown
  readonly chatId: string | null
  readonly path: string
  readonly message: string
}

/**
 * `since`, on what a listing or a fetch showed: the log's head (`MirrorQueries.eventHead`) read before it began. A chat
 * whose flag (or member list) another writer — a command's settlement, another pass — changed after that event is left
 * as that writer left it: its write is newer than what was seen. Checked under the chats' locks, so a write that
 * commits while the page waits for them counts too. See docs/architecture.md, "Newer writes win".
 */
interface Seen {
  readonly since?: number
}

export interface FlagObservation extends Seen {
  readonly flag: ChatFlag
  readonly value: boolean
  readonly chatIds: ReadonlyArray<string>
}

export interface MembersObservation extends Seen {
  readonly chatId: string
  readonly members: ReadonlyArray<MemberInfo>
  readonly fetchedAt: Date
}

const MEMBER_EVENT_TYPES: ReadonlyArray<ChatEvent["type"]> = ["MembersChanged"]

/** Whether a write of one of `types` on `chatId` committed after event `since` (`newer`: from `newerWrites`). */
type ChangedSince = (chatId: string, types: ReadonlyArray<string>, since: number | undefined) => boolean

/**
 * The events that may make parts of the page stale (`Seen`): of the chats of its guarded parts, the flag and member
 * events after the oldest `since`. Sent right behind the chats' locks on the same connection, so it runs under them.
 */
const newerWrites = (tx: TxSql, page: PageWrite): Promise<ChangedSince> => {
  const guarded = [
    ...(page.flags ?? []).flatMap(f =>
      f.since === undefined ? [] : [{ since: f.since, chatIds: f.chatIds, types: flagEventTypes(f.flag) }]
    ),
    ...(page.members ?? []).flatMap(m =>
      m.since === undefined ? [] : [{ since: m.since, chatIds: [m.chatId], types: MEMBER_EVENT_TYPES }]
    )
  ]
  if (guarded.length === 0) return Promise.resolve(() => false)
  const since = Math.min(...guarded.map(g => g.since))
  const chatIds = [...new Set(guarded.flatMap(g => g.chatIds))]
  const types = [...new Set(guarded.flatMap(g => g.types))]
  return tx<Array<{ chat_id: string; type: string; seq: string }>>`
    select chat_id, type, seq from events
    where account_id = ${page.accountId} and chat_id = any(${chatIds}) and seq > ${since} and type = any(${types})`
    .execute()
    .then(rows => {
      const byChat = new Map<string, Array<{ type: string; seq: number }>>()
      for (const r of rows) {
        const list = byChat.get(r.chat_id) ?? []
        list.push({ type: r.type, seq: Number(r.seq) })
        byChat.set(r.chat_id, list)
      }
      return (chatId, wanted, after) =>
        after !== undefined && (byChat.get(chatId) ?? []).some(e => e.seq > after && wanted.includes(e.type))
    })
}

export interface PageWrite {
  readonly accountId: string
  readonly observed?: ReadonlyArray<ObservedChat>
  readonly rejected?: ReadonlyArray<RejectedChat>
  readonly flags?: ReadonlyArray<FlagObservation>
  /** Chats the upstream no longer shows to this user (probe answered "no access"). */
  readonly gone?: ReadonlyArray<string>
  /** Events decided elsewhere (e.g. a command's effect), folded like observed ones. */
  readonly events?: ReadonlyArray<{ readonly chatId: string; readonly event: ChatEvent }>
  readonly extraEvents?: ReadonlyArray<PageEvent>
  /** Events that depend on the mirrored state (e.g. a command's effect: old title → new title), decided in the tx. */
  readonly derive?: ReadonlyArray<{ readonly chatId: string; readonly derive: (s: ChatState) => ChatEvent | undefined }>
  /** Full member lists of chats (GET /chats/{id}/members), each chat once. */
  readonly members?: ReadonlyArray<MembersObservation>
  readonly cursor?: CursorUpdate
  /** Observations left out by `withoutRepeats`: counted as observed, not applied. */
  readonly repeated?: number
}

export interface PageResult {
  readonly eventsAppended: number
  readonly chatsChanged: number
  readonly chatsObserved: number
}

const occurredAt = (e: ChatEvent, s: ChatState | undefined): Date | null => {
  const p = e.payload
  if ("last_modified_time" in p && p.last_modified_time) return new Date(p.last_modified_time)
  return s?.lastModifiedTime ? new Date(s.lastModifiedTime) : null
}

/** The newest observation of a chat wins when a page (or overlapping windows) holds it twice. */
export const latestById = (observed: ReadonlyArray<ObservedChat>) => {
  const byId = new Map<string, ObservedChat>()
  for (const o of observed) {
    const seen = byId.get(o.chat.chatId)
    if (!seen || (o.chat.lastModifiedTime ?? 0) >= (seen.chat.lastModifiedTime ?? 0)) byId.set(o.chat.chatId, o)
  }
  return byId
}

/** Every chat a page locks: those it observes, flags, removes, records events of or rejects items of. */
export const chatIdsOf = (page: PageWrite): Set<string> =>
  new Set<string>([
    ...(page.observed ?? []).map(o => o.chat.chatId),
    ...(page.rejected ?? []).flatMap(r => (r.chatId === null ? [] : [r.chatId])),
    ...(page.flags ?? []).flatMap(f => f.chatIds),
    ...(page.gone ?? []),
    ...(page.events ?? []).map(e => e.chatId),
    ...(page.members ?? []).map(m => m.chatId),
    ...(page.derive ?? []).map(d => d.chatId)
  ])

/** True when the page touches one of `busy` (chats a transaction in flight holds). */
export const touchesAny = (page: PageWrite, busy: ReadonlySet<string>): boolean =>
  [...chatIdsOf(page)].some(id => busy.has(id))

/** The part of a page about the chats `keep` accepts (rejected items without a chat id: `keep(null)`). */
const partOf = (page: PageWrite, keep: (id: string | null) => boolean): PageWrite => ({
  accountId: page.accountId,
  observed: (page.observed ?? []).filter(o => keep(o.chat.chatId)),
  rejected: (page.rejected ?? []).filter(r => keep(r.chatId)),
  flags: (page.flags ?? []).map(f => ({ ...f, chatIds: f.chatIds.filter(keep) })).filter(f => f.chatIds.length > 0),
  gone: (page.gone ?? []).filter(keep),
  events: (page.events ?? []).filter(e => keep(e.chatId)),
  derive: (page.derive ?? []).filter(d => keep(d.chatId)),
  ...(page.members ? { members: page.members.filter(m => keep(m.chatId)) } : {})
})

/** What belongs to the page as a whole: the cursor, the chat-less events and the count of repeats left out. */
const pageWide = (page: PageWrite) => ({
  ...(page.extraEvents ? { extraEvents: page.extraEvents } : {}),
  ...(page.cursor ? { cursor: page.cursor } : {}),
  ...(page.repeated ? { repeated: page.repeated } : {})
})

/**
 * Most chats one transaction locks. Each takes an advisory lock, and PostgreSQL's lock table is shared and bounded
 * (max_locks_per_transaction × connections): a listing of many thousand flagged chats must not fill it.
 */
export const MAX_CHATS_PER_TRANSACTION = 500

/**
 * Splits a page into parts of at most `max` chats, to be written one after another, each in its own transaction.
 * Each chat stays whole in one part, in its order; what belongs to the page as a whole (the cursor among it) goes with
 * the last part, so the cursor moves only once every part has committed.
 */
export const chunkPage = (page: PageWrite, max = MAX_CHATS_PER_TRANSACTION): ReadonlyArray<PageWrite> => {
  const ids = [...chatIdsOf(page)]
  if (ids.length <= max) return [page]
  const groups: Array<ReadonlySet<string>> = []
  for (let i = 0; i < ids.length; i += max) groups.push(new Set(ids.slice(i, i + max)))
  return groups.map((group, i) =>
    i === groups.length - 1
      ? { ...partOf(page, id => id === null || group.has(id)), ...pageWide(page) }
      : partOf(page, id => id !== null && group.has(id))
  )
}

/**
 * Leaves out the observations that repeat, field for field, what the page before applied (`applied`, its `latestById`):
 * a walk re-reads its boundary second, and once that page has committed the same observation changes nothing.
 */
export const withoutRepeats = (page: PageWrite, applied: ReadonlyMap<string, ObservedChat>): PageWrite => {
  if (!page.observed?.some(o => applied.has(o.chat.chatId))) return page
  const repeats = (o: ObservedChat) => {
    const before = applied.get(o.chat.chatId)
    return before !== undefined && JSON.stringify(before.raw) === JSON.stringify(o.raw)
  }
  const observed = page.observed.filter(o => !repeats(o))
  return { ...page, observed, repeated: (page.repeated ?? 0) + page.observed.length - observed.length }
}

/** A page whose chats are locked and diffed, its rows ready: what remains is `commitPage`. */
export interface PreparedPage {
  readonly accountId: string
  /** Statements of the page already sent, not yet answered. */
  readonly sideWrites: ReadonlyArray<PromiseLike<unknown>>
  readonly cursor: CursorUpdate | undefined
  readonly observed: number
  readonly events: number
  readonly chatEvents: number
  readonly changed: number
  readonly eventsJson: string
  readonly chatsJson: string
}

/**
 * Everything of a page but its cursor, events and rows: locks the chats, diffs, writes the side tables, and builds
 * the rows. Holds no lock that a writer of other chats needs, so it may run while the previous page commits.
 */
export const preparePage = async (tx: TxSql, page: PageWrite): Promise<PreparedPage> => {
  const observed = latestById(page.observed ?? [])
  const ids = chatIdsOf(page)
  const locked = selectChatsForUpdate(tx, page.accountId, [...ids])
  const changedSince = newerWrites(tx, page)
  // A failure surfaces from the first await; the other must not count as unhandled meanwhile.
  changedSince.catch(() => undefined)
  const prevRows = await locked
  const newer = await changedSince
  const prev = new Map(
    prevRows.map(r => [r.chatId, { state: stateFromRow(r), lastSeq: r.lastSeq, syncedAt: r.syncedAt }])
  )
  const next = new Map<string, ChatState | undefined>()
  const pending: Array<{ chatId: string; event: ChatEvent }> = []
  const current = (id: string) => (next.has(id) ? next.get(id) : prev.get(id)?.state)
  const push = (chatId: string, event: ChatEvent) => {
    pending.push({ chatId, event })
    next.set(chatId, evolveChat(current(chatId), event))
  }
  for (const [chatId, o] of observed) for (const e of diffObservation(current(chatId), o.chat)) push(chatId, e)
  for (const f of page.flags ?? []) {
    const types = flagEventTypes(f.flag)
    for (const chatId of f.chatIds) {
      if (newer(chatId, types, f.since)) continue
      const s = current(chatId)
      const e = s && diffFlag(s, f.flag, f.value)
      if (e) push(chatId, e)
    }
  }
  for (const chatId of page.gone ?? []) {
    const s = current(chatId)
    if (s && !s.removed) push(chatId, { type: "ChatRemoved", payload: { reason: "not_accessible" } })
  }
  for (const { chatId, event } of page.events ?? [])
    if (current(chatId) || event.type === "ChatDiscovered") push(chatId, event)
  for (const d of page.derive ?? []) {
    const s = current(d.chatId)
    const e = s && d.derive(s)
    if (e) push(d.chatId, e)
  }
  const lists = (page.members ?? []).filter(m => current(m.chatId) && !newer(m.chatId, MEMBER_EVENT_TYPES, m.since))
  const stored =
    lists.length === 0
      ? new Map()
      : await selectMembers(
          tx,
          page.accountId,
          lists.map(m => m.chatId)
        )
  for (const m of lists) {
    const change = diffMembers(stored.get(m.chatId) ?? [], m.members, m.fetchedAt.toISOString())
    if (change) push(m.chatId, change)
    else next.set(m.chatId, { ...current(m.chatId)!, membersFetchedAt: m.fetchedAt.getTime() })
  }
  // Sent together: the driver pipelines them in one write.
  await Promise.all(
    pending.flatMap(({ chatId, event }) =>
      event.type === "MembersChanged" ? [applyMemberDelta(tx, page.accountId, chatId, event.payload)] : []
    )
  )

  const counters = new Map<string, number>()
  /** Chats whose new raw object an event of this page carries: the row takes it from there (sent once). */
  const rawFrom = new Map<string, string>()
  const newEvents: Array<NewEvent> = pending.map(({ chatId, event }) => {
    const base = prev.get(chatId)?.lastSeq ?? 0
    const n = counters.get(chatId) ?? 0
    counters.set(chatId, n + 1)
    const dedupeKey = `chat:${chatId}@${base}#${n}:${event.type}`
    const raw = "raw" in event.payload ? event.payload.raw : undefined
    if (raw !== undefined && raw === next.get(chatId)?.raw) rawFrom.set(chatId, dedupeKey)
    return {
      accountId: page.accountId,
      chatId,
      ...event,
      occurredAt: occurredAt(event, next.get(chatId)),
      dedupeKey
    }
  })
  for (const r of page.rejected ?? []) {
    newEvents.push({
      accountId: page.accountId,
      chatId: r.chatId,
      type: "UpstreamItemRejected",
      payload: { path: r.path, message: r.message, raw: r.raw },
      occurredAt: null,
      dedupeKey: `rejected:${r.chatId ?? "?"}:${r.path}:${JSON.stringify(r.raw).length}:${r.message}`
    })
  }
  for (const e of page.extraEvents ?? []) newEvents.push({ ...e, accountId: page.accountId })

  const now = new Date()
  const changed: Array<ChatInsert> = []
  // `synced_at` says when a listing last showed the chat (reconciliation finds removals by it): a row changed by a
  // flag, a command's effect or a member list keeps it.
  for (const [id, s] of next) {
    if (s === undefined) continue
    const before = prev.get(id)
    const syncedAt = before === undefined || observed.has(id) ? now : before.syncedAt
    changed.push(rowFromState(page.accountId, s, before?.lastSeq ?? 0, syncedAt))
  }
  const unchangedObserved = [...observed.keys()].filter(id => !next.has(id))
  // Sent now and answered by the time the page commits (`commitPage` waits for them): no round trip of their own.
  const sideWrites: Array<PromiseLike<unknown>> = []
  if (page.rejected && page.rejected.length > 0) sideWrites.push(upsertRejected(tx, page.accountId, page.rejected))
  if (observed.size > 0) {
    sideWrites.push(
      tx`delete from rejected_items where account_id = ${page.accountId} and chat_id = any(${[...observed.keys()]})`.execute()
    )
  }
  if (unchangedObserved.length > 0) {
    sideWrites.push(
      tx`update chats set synced_at = ${now.toISOString()}::timestamptz where account_id = ${page.accountId} and chat_id = any(${unchangedObserved})`.execute()
    )
  }
  // A failure surfaces at commit; until then it must not count as unhandled.
  for (const w of sideWrites) Promise.resolve(w).catch(() => undefined)
  return {
    sideWrites,
    accountId: page.accountId,
    cursor: page.cursor,
    observed: observed.size + (page.repeated ?? 0),
    events: newEvents.length,
    chatEvents: pending.length,
    changed: changed.length,
    eventsJson: eventRowsJson(newEvents),
    chatsJson: chatRowsJson(changed, rawFrom)
  }
}

/**
 * The rest of the page's transaction: the cursor, the page's data (`stagePartSql`), then the events (taking the
 * append lock, so seq order is commit order) and the rows, in one short statement. The statements are sent in that
 * order and answered in order. Call last. With `commit`,
 * COMMIT goes out right behind the appends, in the same write: the append lock is then held only while the server runs
 * them and the commit, never while this process gets round to answering (a busy event loop would otherwise stretch
 * every page's hold, and every append of the database would queue behind it). A failed statement aborts the
 * transaction, which that COMMIT then rolls back.
 */
export const commitPage = async (
  tx: TxSql,
  page: PreparedPage,
  options: { readonly commit?: boolean } = {}
): Promise<PageResult> => {
  const ahead: Array<PromiseLike<unknown>> = [...page.sideWrites]
  if (page.cursor) ahead.push(writeCursor(tx, page.accountId, page.cursor, page.observed, page.events))
  const appends = page.events > 0 || page.changed > 0
  if (appends) ahead.push(stagePartSql(tx, 0, page.eventsJson, page.chatsJson, page.chatEvents))
  const written = appends ? [appendStagedSql(tx, 0)] : []
  const committed = options.commit ? [tx`commit`.execute()] : []
  const [, results] = await Promise.all([Promise.all(ahead), Promise.all(written), Promise.all(committed)])
  const appended = results.reduce((sum, r) => sum + r.appended, 0)
  return { eventsAppended: appended, chatsChanged: page.changed, chatsObserved: page.observed }
}

export const writePage = async (tx: TxSql, page: PageWrite): Promise<PageResult> =>
  commitPage(tx, await preparePage(tx, page))

/** A page that only observes or flags chats (and may move a cursor): one that may turn out to change nothing. */
export const mayBeQuiet = (page: PageWrite): boolean =>
  !page.rejected?.length &&
  !page.gone?.length &&
  !page.events?.length &&
  !page.extraEvents?.length &&
  !page.derive?.length &&
  !page.members?.length

/** True when diffing the page against `stored` (the rows now stored, by chat id) yields no event. */
export const changesNothing = (page: PageWrite, stored: ReadonlyMap<string, ChatState>): boolean => {
  for (const [chatId, o] of latestById(page.observed ?? []))
    if (diffObservation(stored.get(chatId), o.chat).length > 0) return false
  for (const f of page.flags ?? []) {
    for (const chatId of f.chatIds) {
      const s = stored.get(chatId)
      if (s && diffFlag(s, f.flag, f.value)) return false
    }
  }
  return true
}

/**
 * A page that changes nothing, written without a transaction or a lock: its chats read unlocked and diffed; when no
 * event results and none of them has a rejected item to clear, only their `synced_at` and the cursor are written
 * (two statements, sent together). Answers undefined, having written nothing, when the page needs `writePage`. A
 * concurrent change of one of its chats is no reason for the lock: this page, observing the state before it, would
 * have appended nothing either had it been serialised first.
 */
export const quietPage = async (sql: postgres.Sql, page: PageWrite): Promise<PageResult | undefined> => {
  if (!mayBeQuiet(page)) return undefined
  const ids = [...chatIdsOf(page)]
  const peeked = await peekChats(sql, page.accountId, ids)
  if (peeked.rejected.size > 0) return undefined
  const stored = new Map(peeked.rows.map(r => [r.chatId, stateFromRow(r)]))
  if (!changesNothing(page, stored)) return undefined
  const observedIds = [...latestById(page.observed ?? []).keys()]
  const observed = observedIds.length + (page.repeated ?? 0)
  const writes: Array<PromiseLike<unknown>> = []
  if (observedIds.length > 0) {
    // Row locks in chat id order, the order page writes lock theirs (`lockChats`): a plain multi-row UPDATE locks in
    // scan order and deadlocked with a page write of the same chats (seen at 1,000 accounts in the fleet bench).
    writes.push(
      sql`
        update chats c set synced_at = ${new Date().toISOString()}::timestamptz
        from (select chat_id from chats where account_id = ${page.accountId} and chat_id = any(${observedIds})
              order by chat_id for no key update) l
        where c.account_id = ${page.accountId} and c.chat_id = l.chat_id`.execute()
    )
  }
  if (page.cursor) writes.push(writeCursor(sql, page.accountId, page.cursor, observed, 0))
  await Promise.all(writes)
  return { eventsAppended: 0, chatsChanged: 0, chatsObserved: observed }
}

const upsertRejected = (tx: TxSql, accountId: string, rejected: ReadonlyArray<RejectedChat>) => {
  const rows = rejected
    .filter(r => r.chatId !== null)
    .map(r => ({ chat_id: r.chatId, raw: r.raw, path: r.path, message: r.message }))
  if (rows.length === 0) return Promise.resolve()
  return tx`
    insert into rejected_items (account_id, chat_id, raw, path, message)
    select ${accountId}, chat_id, raw, path, message
    from json_to_recordset(${JSON.stringify(rows)}::text::json) as r(chat_id text, raw jsonb, path text, message text)
    on conflict (account_id, chat_id) do update
      set raw = excluded.raw, path = excluded.path, message = excluded.message,
          attempts = rejected_items.attempts + 1, last_seen_at = now()`.then(() => undefined)
}
