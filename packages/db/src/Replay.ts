import { CHAT_EVENT_TYPES, type ChatEvent, firstIssue, readChatEvent } from "@cliq-mirror/core"
import { Either } from "effect"
import type postgres from "postgres"
import { replaceMembers } from "./ChatMembersSql.js"
import { type ChatInsert, rowFromState, stateFromRow } from "./ChatRows.js"
import { chatsUpsertSql, selectChats } from "./ChatsSql.js"
import { type ChatFold, foldChatEvent } from "./CompactPlan.js"

interface Rebuilt extends ChatFold {
  lastSeq: number
  lastRecordedAt: Date
}

/** A stored chat event as its schema reads it; one that does not decode stops the fold, naming it. */
export const decodeStoredChatEvent = (seq: number | string, type: string, payload: unknown): ChatEvent => {
  const decoded = readChatEvent(type, payload)
  if (Either.isLeft(decoded)) {
    const issue = firstIssue(decoded.left)
    throw new Error(`event ${seq} (${type}) does not decode: ${issue.path}: ${issue.message}`)
  }
  return decoded.right
}

const BATCH = 5_000
const CHAT_TYPES = new Set<string>(CHAT_EVENT_TYPES)

/**
 * Folds the whole log, in seq order, through the same `evolveChat` the live writer uses. A `ChatSnapshotted` (left by
 * compaction, docs/events.md#compaction) replaces the chat's state and members: the fold starts over from it.
 */
export const foldLog = async (sql: postgres.Sql) => {
  const chats = new Map<string, Rebuilt>()
  let after = 0
  while (true) {
    const rows = await sql<
      Array<{ seq: string; account_id: string; chat_id: string; type: string; payload: unknown; recorded_at: Date }>
    >`select seq, account_id, chat_id, type, payload, recorded_at from events
      where seq > ${after} and chat_id is not null order by seq limit ${BATCH}`
    if (rows.length === 0) break
    for (const r of rows) {
      after = Number(r.seq)
      if (!CHAT_TYPES.has(r.type)) continue
      const key = `${r.account_id}\u0000${r.chat_id}`
      const entry = chats.get(key) ?? {
        state: undefined,
        lastSeq: 0,
        lastRecordedAt: r.recorded_at,
        members: new Map()
      }
      foldChatEvent(entry, decodeStoredChatEvent(r.seq, r.type, r.payload))
      entry.lastSeq = after
      entry.lastRecordedAt = r.recorded_at
      chats.set(key, entry)
    }
  }
  return chats
}

const accountOf = (key: string) => key.slice(0, key.indexOf("\u0000"))

/** Columns that record when the mirror last confirmed a row, not what upstream said: not part of the comparison. */
const comparable = (row: ChatInsert) => {
  const { syncedAt: _s, membersFetchedAt: _m, ...rest } = row
  return JSON.stringify(rest)
}

export interface ReplayReport {
  readonly chats: number
  readonly members: number
  /** Chat ids whose rebuilt row differs from the live projection (check mode). */
  readonly differences: ReadonlyArray<string>
}

/**
 * Rebuilds `chats` and `chat_members` from the event log. With `write: false` it only compares the rebuilt rows with
 * the live projection (everything but the bookkeeping columns `synced_at` and `members_fetched_at`).
 */
export const replayProjections = async (
  sql: postgres.Sql,
  options: { readonly write: boolean }
): Promise<ReplayReport> => {
  const folded = await foldLog(sql)
  const rebuilt = new Map<string, ChatInsert>()
  let members = 0
  for (const [key, entry] of folded) {
    if (!entry.state) continue
    rebuilt.set(key, rowFromState(accountOf(key), entry.state, entry.lastSeq, entry.lastRecordedAt))
    members += entry.members.size
  }
  if (!options.write) {
    const live = await selectChats(sql, null)
    const differences: Array<string> = []
    const liveKeys = new Set<string>()
    for (const row of live) {
      const key = `${row.accountId}\u0000${row.chatId}`
      liveKeys.add(key)
      const fromLog = rebuilt.get(key)
      const asInsert = rowFromState(row.accountId, stateFromRow(row), row.lastSeq, row.syncedAt)
      if (!fromLog || comparable(fromLog) !== comparable(asInsert)) differences.push(row.chatId)
    }
    for (const [key, row] of rebuilt) if (!liveKeys.has(key)) differences.push(row.chatId)
    return { chats: rebuilt.size, members, differences }
  }
  await sql.begin(async tx => {
    await tx`lock table chats, chat_members in exclusive mode`
    await tx`delete from chat_members`
    await tx`delete from chats`
    const rows = [...rebuilt.values()]
    for (let i = 0; i < rows.length; i += 1_000) await chatsUpsertSql(tx, rows.slice(i, i + 1_000))
    for (const [key, entry] of folded) {
      if (entry.members.size > 0) {
        await replaceMembers(tx, accountOf(key), key.slice(key.indexOf("\u0000") + 1), [...entry.members.values()])
      }
    }
    await tx`
      insert into projection_checkpoints (name, last_seq) values ('chats', coalesce((select max(seq) from events), 0))
      on conflict (name) do update set last_seq = excluded.last_seq, updated_at = now()`
  })
  return { chats: rebuilt.size, members, differences: [] }
}
