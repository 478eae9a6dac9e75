import { CHAT_EVENT_TYPES } from "@cliq-mirror/core"
import type postgres from "postgres"
import { selectChatsForUpdate } from "./ChatsSql.js"
import { planCompaction, type StoredChatEvent } from "./CompactPlan.js"
import { appendEvents, type NewEvent } from "./EventAppend.js"
import { decodeStoredChatEvent } from "./Replay.js"

export interface CompactOptions {
  /** Chat events recorded before this are folded into a snapshot and deleted. */
  readonly before: Date
  /** Chats per transaction: each transaction locks at most this many chats. */
  readonly chunk: number
  /** Only count what would be compacted. */
  readonly dryRun: boolean
}

export interface CompactReport {
  readonly chatsCompacted: number
  readonly eventsDeleted: number
  readonly snapshotsAppended: number
}

const CHAT_TYPES = [...CHAT_EVENT_TYPES]

export const snapshotDedupeKey = (chatId: string, throughSeq: number) =>
  `chat:${chatId}@${throughSeq}#snapshot:ChatSnapshotted`

/**
 * One chunk of one account's chats, in one transaction: the chats with something to compact are locked as every
 * writer locks them (so no page of theirs commits in between), their chat events are folded, the old ones deleted
 * and a snapshot appended through the ordinary append (seq order stays commit order); `last_seq` of each row moves
 * to its snapshot, so the next events of the chat take dedupe keys no deleted event ever had.
 */
const compactChunk = async (
  tx: postgres.TransactionSql,
  accountId: string,
  chatIds: ReadonlyArray<string>,
  options: CompactOptions
): Promise<CompactReport> => {
  const candidates = (
    await tx<Array<{ chat_id: string }>>`
      select chat_id from events
      where account_id = ${accountId} and chat_id = any(${[...chatIds]})
        and type = any(${CHAT_TYPES}) and recorded_at < ${options.before.toISOString()}::timestamptz
      group by chat_id having count(*) >= 2`
  ).map(r => r.chat_id)
  if (candidates.length === 0) return { chatsCompacted: 0, eventsDeleted: 0, snapshotsAppended: 0 }
  await selectChatsForUpdate(tx, accountId, candidates)
  const rows = await tx<Array<{ seq: string; chat_id: string; type: string; payload: unknown; old: boolean }>>`
    select seq, chat_id, type, payload, recorded_at < ${options.before.toISOString()}::timestamptz as old from events
    where account_id = ${accountId} and chat_id = any(${candidates}) and type = any(${CHAT_TYPES})
    order by seq`
  const byChat = new Map<string, Array<StoredChatEvent>>()
  for (const r of rows) {
    const list = byChat.get(r.chat_id) ?? []
    list.push({ seq: Number(r.seq), old: r.old, event: decodeStoredChatEvent(r.seq, r.type, r.payload) })
    byChat.set(r.chat_id, list)
  }
  const deleteSeqs: Array<number> = []
  const snapshots: Array<NewEvent> = []
  for (const [chatId, events] of byChat) {
    const plan = planCompaction(events, options.before)
    if (plan._tag === "Keep") continue
    deleteSeqs.push(...plan.deleteSeqs)
    snapshots.push({
      accountId,
      chatId,
      type: "ChatSnapshotted",
      payload: plan.snapshot,
      occurredAt: null,
      dedupeKey: snapshotDedupeKey(chatId, plan.snapshot.through_seq)
    })
  }
  const report = { chatsCompacted: snapshots.length, eventsDeleted: deleteSeqs.length, snapshotsAppended: 0 }
  if (options.dryRun || snapshots.length === 0) return report
  await tx`delete from events where seq = any(${deleteSeqs})`
  const appended = await appendEvents(tx, snapshots)
  if (appended.length !== snapshots.length) {
    throw new Error(`${snapshots.length - appended.length} snapshot(s) of account ${accountId} exist already`)
  }
  const chatOf = new Map(snapshots.map(s => [s.dedupeKey, s.chatId!]))
  const moved = appended.map(a => ({ chat_id: chatOf.get(a.dedupeKey)!, seq: a.seq }))
  await tx`
    update chats c set last_seq = m.seq
    from json_to_recordset(${JSON.stringify(moved)}::text::json) as m(chat_id text, seq bigint)
    where c.account_id = ${accountId} and c.chat_id = m.chat_id`
  return { ...report, snapshotsAppended: appended.length }
}

/**
 * Compacts the chat events recorded before `options.before`: per chat, one `ChatSnapshotted` carrying its state
 * replaces them (docs/events.md#compaction). Walks the mirrored chats in key order, `options.chunk` per transaction.
 * Other events (commands, rejected items) are kept.
 */
export const compactEvents = async (
  sql: postgres.Sql,
  options: CompactOptions,
  onChunk: (report: CompactReport) => void = () => {}
): Promise<CompactReport> => {
  const total = { chatsCompacted: 0, eventsDeleted: 0, snapshotsAppended: 0 }
  let last: { readonly accountId: string; readonly chatId: string } | undefined
  while (true) {
    const keys = await sql<Array<{ account_id: string; chat_id: string }>>`
      select account_id, chat_id from chats
      ${last ? sql`where (account_id, chat_id) > (${last.accountId}, ${last.chatId})` : sql``}
      order by account_id, chat_id limit ${options.chunk}`
    if (keys.length === 0) break
    last = { accountId: keys[keys.length - 1]!.account_id, chatId: keys[keys.length - 1]!.chat_id }
    const byAccount = new Map<string, Array<string>>()
    for (const k of keys) {
      const ids = byAccount.get(k.account_id) ?? []
      ids.push(k.chat_id)
      byAccount.set(k.account_id, ids)
    }
    for (const [accountId, chatIds] of byAccount) {
      const part = await sql.begin(tx => compactChunk(tx, accountId, chatIds, options))
      total.chatsCompacted += part.chatsCompacted
      total.eventsDeleted += part.eventsDeleted
      total.snapshotsAppended += part.snapshotsAppended
      onChunk(part)
    }
  }
  return total
}
