import {
  type ChatEvent,
  type ChatFlag,
  type ChatState,
  diffFlag,
  diffMembers,
  diffObservation,
  evolveChat,
  type MemberInfo,
  type ObservedFields
} from "@cliq-mirror/core"
import { Effect } from "effect"
import type postgres from "postgres"
import { rowFromState, stateFromRow } from "./ChatRows.js"
import { chatsUpsertSql, selectChatsForUpdate } from "./ChatsSql.js"
import { Database, type DbError } from "./Database.js"
import { appendEvents, type NewEvent } from "./EventAppend.js"
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

export interface FlagObservation {
  readonly flag: ChatFlag
  readonly value: boolean
  readonly chatIds: ReadonlyArray<string>
}

export interface MembersObservation {
  readonly chatId: string
  readonly members: ReadonlyArray<MemberInfo>
  readonly fetchedAt: Date
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
  readonly extraEvents?: ReadonlyArray<Omit<NewEvent, "accountId">>
  /** Events that depend on the mirrored state (e.g. a command's effect: old title → new title), decided in the tx. */
  readonly derive?: ReadonlyArray<{ readonly chatId: string; readonly derive: (s: ChatState) => ChatEvent | undefined }>
  /** A full member list of a chat (GET /chats/{id}/members). */
  readonly members?: MembersObservation
  readonly cursor?: CursorUpdate
}

export interface PageResult {
  readonly eventsAppended: number
  readonly chatsChanged: number
  readonly chatsObserved: number
}

const occurredAt = (e: ChatEvent, s: ChatState | undefined): Date | null => {
  const p = e.payload as { last_modified_time?: string | null }
  if (p.last_modified_time) return new Date(p.last_modified_time)
  return s?.lastModifiedTime ? new Date(s.lastModifiedTime) : null
}

/** The newest observation of a chat wins when a page (or overlapping windows) holds it twice. */
const latestById = (observed: ReadonlyArray<ObservedChat>) => {
  const byId = new Map<string, ObservedChat>()
  for (const o of observed) {
    const seen = byId.get(o.chat.chatId)
    if (!seen || (o.chat.lastModifiedTime ?? 0) >= (seen.chat.lastModifiedTime ?? 0)) byId.set(o.chat.chatId, o)
  }
  return byId
}

export const writePage = async (tx: postgres.TransactionSql, page: PageWrite): Promise<PageResult> => {
  const observed = latestById(page.observed ?? [])
  const ids = new Set<string>([
    ...observed.keys(),
    ...(page.flags ?? []).flatMap(f => f.chatIds),
    ...(page.gone ?? []),
    ...(page.events ?? []).map(e => e.chatId),
    ...(page.members ? [page.members.chatId] : []),
    ...(page.derive ?? []).map(d => d.chatId)
  ])
  const prevRows = await selectChatsForUpdate(tx, page.accountId, [...ids])
  const prev = new Map(prevRows.map(r => [r.chatId, { state: stateFromRow(r), lastSeq: r.lastSeq }]))
  const next = new Map<string, ChatState | undefined>()
  const pending: Array<{ chatId: string; event: ChatEvent }> = []
  const current = (id: string) => (next.has(id) ? next.get(id) : prev.get(id)?.state)
  const push = (chatId: string, event: ChatEvent) => {
    pending.push({ chatId, event })
    next.set(chatId, evolveChat(current(chatId), event))
  }

  for (const [chatId, o] of observed) for (const e of diffObservation(current(chatId), o.chat)) push(chatId, e)
  for (const f of page.flags ?? []) {
    for (const chatId of f.chatIds) {
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
  const members = page.members
  if (members && current(members.chatId)) {
    const before = await selectMembers(tx, page.accountId, members.chatId)
    const change = diffMembers(before, members.members, members.fetchedAt.toISOString())
    if (change) push(members.chatId, change)
    else next.set(members.chatId, { ...current(members.chatId)!, membersFetchedAt: members.fetchedAt.getTime() })
  }
  for (const { chatId, event } of pending) {
    if (event.type === "MembersChanged") await applyMemberDelta(tx, page.accountId, chatId, event.payload)
  }

  const counters = new Map<string, number>()
  const newEvents: Array<NewEvent> = pending.map(({ chatId, event }) => {
    const base = prev.get(chatId)?.lastSeq ?? 0
    const n = counters.get(chatId) ?? 0
    counters.set(chatId, n + 1)
    return {
      accountId: page.accountId,
      chatId,
      type: event.type,
      payload: event.payload,
      occurredAt: occurredAt(event, next.get(chatId)),
      dedupeKey: `chat:${chatId}@${base}#${n}:${event.type}`
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
  const changed = [...next.entries()].filter((e): e is [string, ChatState] => e[1] !== undefined)
  const unchangedObserved = [...observed.keys()].filter(id => !next.has(id))
  if (page.rejected && page.rejected.length > 0) await upsertRejected(tx, page.accountId, page.rejected)
  if (observed.size > 0) {
    await tx`delete from rejected_items where account_id = ${page.accountId} and chat_id = any(${[...observed.keys()]})`
  }
  if (unchangedObserved.length > 0) {
    await tx`update chats set synced_at = ${now.toISOString()}::timestamptz where account_id = ${page.accountId} and chat_id = any(${unchangedObserved})`
  }
  if (page.cursor) await writeCursor(tx, page.accountId, page.cursor, observed.size, newEvents.length)
  const appended = await appendEvents(tx, newEvents)
  const appendedKeys = new Set(appended.map(a => a.dedupeKey))
  const lost = newEvents.find(e => e.dedupeKey.startsWith("chat:") && !appendedKeys.has(e.dedupeKey))
  // Cannot happen while every writer takes the chat locks; if it ever does, roll back rather than diverge from the log.
  if (lost) throw new Error(`event ${lost.dedupeKey} was appended concurrently; the page will be re-applied`)
  if (changed.length > 0) {
    const seqByChat = new Map<string, number>()
    const seqByKey = new Map(appended.map(a => [a.dedupeKey, a.seq]))
    for (const e of newEvents) {
      const seq = seqByKey.get(e.dedupeKey)
      if (e.chatId && seq !== undefined) seqByChat.set(e.chatId, Math.max(seqByChat.get(e.chatId) ?? 0, seq))
    }
    await chatsUpsertSql(
      tx,
      changed.map(([id, s]) => rowFromState(page.accountId, s, seqByChat.get(id) ?? prev.get(id)?.lastSeq ?? 0, now))
    )
  }
  return { eventsAppended: appended.length, chatsChanged: changed.length, chatsObserved: observed.size }
}

const selectMembers = async (tx: postgres.TransactionSql, accountId: string, chatId: string) =>
  (
    await tx<Array<{ user_id: string; name: string | null; email_id: string | null }>>`
      select user_id, name, email_id from chat_members where account_id = ${accountId} and chat_id = ${chatId}`
  ).map((m): MemberInfo => ({ user_id: m.user_id, name: m.name, email_id: m.email_id }))

/** The member projection follows MembersChanged events, here and in replay alike. */
export const applyMemberDelta = async (
  tx: postgres.TransactionSql,
  accountId: string,
  chatId: string,
  delta: {
    readonly added: ReadonlyArray<MemberInfo>
    readonly removed: ReadonlyArray<string>
    readonly updated: ReadonlyArray<MemberInfo>
  }
) => {
  if (delta.removed.length > 0) {
    await tx`delete from chat_members where account_id = ${accountId} and chat_id = ${chatId}
      and user_id = any(${delta.removed as Array<string>})`
  }
  const upserts = [...delta.added, ...delta.updated]
  if (upserts.length === 0) return
  await tx`
    insert into chat_members (account_id, chat_id, user_id, name, email_id)
    select ${accountId}, ${chatId}, user_id, name, email_id
    from json_to_recordset(${JSON.stringify(upserts)}::text::json) as r(user_id text, name text, email_id text)
    on conflict (account_id, chat_id, user_id) do update set name = excluded.name, email_id = excluded.email_id`
}

export const replaceMembers = async (
  tx: postgres.TransactionSql,
  accountId: string,
  chatId: string,
  members: ReadonlyArray<MemberInfo>
) => {
  await tx`delete from chat_members where account_id = ${accountId} and chat_id = ${chatId}`
  if (members.length === 0) return
  await tx`
    insert into chat_members (account_id, chat_id, user_id, name, email_id)
    select ${accountId}, ${chatId}, user_id, name, email_id
    from json_to_recordset(${JSON.stringify(members)}::text::json) as r(user_id text, name text, email_id text)
    on conflict do nothing`
}

const upsertRejected = (tx: postgres.TransactionSql, accountId: string, rejected: ReadonlyArray<RejectedChat>) => {
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

export class MirrorWriter extends Effect.Service<MirrorWriter>()("@cliq-mirror/db/MirrorWriter", {
  effect: Effect.gen(function* () {
    const database = yield* Database
    // Uninterruptible: on SIGTERM the open transaction finishes before the pool closes.
    const apply = (page: PageWrite): Effect.Effect<PageResult, DbError> =>
      Effect.uninterruptible(database.use((_, sql) => sql.begin(tx => writePage(tx, page)) as Promise<PageResult>))
    const ensureAccount = (accountId: string) =>
      database
        .use((_, sql) => sql`insert into accounts (id) values (${accountId}) on conflict do nothing`)
        .pipe(Effect.asVoid)
    /** Refreshes the planner's statistics (after the first pages of a backfill into an empty mirror). */
    const analyze = database
      .use((_, sql) => sql`analyze chats`)
      .pipe(Effect.asVoid, Effect.withSpan("MirrorWriter.analyze"))
    return {
      analyze,
      apply: Effect.fn("MirrorWriter.apply")(apply),
      ensureAccount: Effect.fn("MirrorWriter.ensureAccount")(ensureAccount)
    } as const
  })
}) {}
