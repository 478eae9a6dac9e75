import { getTableColumns } from "drizzle-orm"
import type postgres from "postgres"
import type { ChatInsert, ChatRow } from "./ChatRows.js"
import { insertEventsLockedSql, type TxSql } from "./EventAppend.js"
import { chats } from "./schema.js"

/**
 * The columns of `chats` as the drizzle table declares them (generated columns left out: the database computes them),
 * each with its SQL name, its key in `ChatRow` and its SQL type.
 */
const COLUMNS = Object.entries(getTableColumns(chats))
  .filter(([, column]) => column.generated === undefined)
  .map(([key, column]) => [column.name, key as keyof ChatRow, column.getSQLType()] as const)

const SELECT_LIST = COLUMNS.map(([c, k]) => `${c} as "${k}"`).join(", ")
const COLUMN_LIST = COLUMNS.map(([c]) => c).join(", ")
const UPDATE_LIST = COLUMNS.filter(([c]) => c !== "account_id" && c !== "chat_id")
  .map(([c]) => `${c} = excluded.${c}`)
  .join(", ")
const indexOf = (column: string) => COLUMNS.findIndex(([c]) => c === column)
const CHAT_ID_INDEX = indexOf("chat_id")
const RAW_INDEX = indexOf("raw")
const LAST_MESSAGE_INDEX = indexOf("last_message_info")
/** Index of `raw_from` in a row of `chatRowsJson`: right after the columns; then whether `last_message_info` is raw's. */
const RAW_FROM_INDEX = COLUMNS.length
const LAST_MESSAGE_FROM_RAW_INDEX = COLUMNS.length + 1

/** Column `i` of type `type` read from `r`, one row of `chatRowsJson` (a jsonb array): a JSON null is SQL NULL. */
const fromRow = (type: string, i: number) =>
  type === "jsonb" ? `nullif(r -> ${i}, 'null'::jsonb)` : type === "text" ? `r ->> ${i}` : `(r ->> ${i})::${type}`

const FROM_ROW = COLUMNS.map(([, , type], i) => fromRow(type, i)).join(", ")

const toRow = (r: Record<string, unknown>): ChatRow => ({ ...(r as ChatRow), lastSeq: Number(r.lastSeq) })

/** Namespace of the per-chat write locks among the project's advisory locks. */
const CHAT_LOCK_NAMESPACE = 727_274_004

/**
 * Locks the page's chats so that concurrent writers (streams, command worker, other replicas) diff against one
 * committed state. Row locks cannot cover a chat nobody has stored yet, so an advisory lock per chat id comes first,
 * always taken in id order so that two writers cannot deadlock.
 */
export const selectChatsForUpdate = async (
  tx: TxSql,
  accountId: string,
  chatIds: ReadonlyArray<string>
): Promise<Array<ChatRow>> => {
  if (chatIds.length === 0) return []
  // Both sent at once (one round trip): the connection runs them in order, so the rows are read under the locks.
  const [, rows] = await Promise.all([
    tx
      .unsafe(
        `select pg_advisory_xact_lock(${CHAT_LOCK_NAMESPACE}, hashtext($1 || ':' || id))
     from (select distinct unnest($2::text[]) as id order by 1) ids`,
        [accountId, chatIds as Array<string>]
      )
      .execute(),
    tx
      .unsafe(
        `select ${SELECT_LIST} from chats where account_id = $1 and chat_id = any($2) order by chat_id for update`,
        [accountId, chatIds as Array<string>]
      )
      .execute()
  ])
  return rows.map(toRow)
}

/**
 * The stored rows of the given chats, without locking them, and which of them have a rejected item on record: what a
 * page that may change nothing is diffed against first (`quietPage`).
 */
export const peekChats = async (
  sql: postgres.Sql,
  accountId: string,
  chatIds: ReadonlyArray<string>
): Promise<{ readonly rows: Array<ChatRow>; readonly rejected: ReadonlySet<string> }> => {
  if (chatIds.length === 0) return { rows: [], rejected: new Set() }
  const rows = await sql.unsafe(
    `select ${SELECT_LIST}, exists (select 1 from rejected_items ri
       where ri.account_id = chats.account_id and ri.chat_id = chats.chat_id) as "hasRejected"
     from chats where account_id = $1 and chat_id = any($2)`,
    [accountId, chatIds as Array<string>]
  )
  return {
    rows: rows.map(toRow),
    rejected: new Set(rows.flatMap(r => (r.hasRejected === true ? [String(r.chatId)] : [])))
  }
}

export const selectChats = async (sql: postgres.Sql, accountId: string | null): Promise<Array<ChatRow>> => {
  const rows =
    accountId === null
      ? await sql.unsafe(`select ${SELECT_LIST} from chats order by account_id, chat_id`)
      : await sql.unsafe(`select ${SELECT_LIST} from chats where account_id = $1 order by chat_id`, [accountId])
  return rows.map(toRow)
}

/**
 * The rows as one JSON array of arrays, the columns in `COLUMNS` order (read positionally from a `jsonb` parameter:
 * parsed once, no column names repeated per row), then `raw_from`: a row whose chat is in `rawFrom` leaves its `raw`
 * out and names the event of the same statement whose payload carries it; its `last_message_info`, when that is the
 * raw object's own (the same object, as decoding leaves it), is left out too and flagged to be read from there.
 */
export const chatRowsJson = (
  rows: ReadonlyArray<ChatInsert>,
  rawFrom: ReadonlyMap<string, string> = new Map()
): string =>
  JSON.stringify(
    rows.map(r => {
      const from = rawFrom.get(r.chatId)
      const row: Array<unknown> = COLUMNS.map(([, k]) => r[k])
      if (from === undefined) {
        row.push(null, false)
        return row
      }
      const lastMessageFromRaw =
        r.lastMessageInfo != null && r.lastMessageInfo === (r.raw as { last_message_info?: unknown }).last_message_info
      row[RAW_INDEX] = null
      if (lastMessageFromRaw) row[LAST_MESSAGE_INDEX] = null
      row.push(from, lastMessageFromRaw)
      return row
    })
  )

const UPSERT = (from: string) => `
  insert into chats (${COLUMN_LIST}) ${from}
  on conflict (account_id, chat_id) do update set ${UPDATE_LIST}`

/** One statement for the whole page: rows travel as a single JSON parameter. */
export const chatsUpsertSql = async (tx: TxSql, rows: ReadonlyArray<ChatInsert>) => {
  if (rows.length === 0) return
  await tx.unsafe(UPSERT(`select ${FROM_ROW} from jsonb_array_elements($1::text::jsonb) r`), [chatRowsJson(rows)])
}

const fromAppended = (chatsJson: string) => `select ${COLUMNS.map(([c, , type], i) =>
  c === "last_seq"
    ? `coalesce(a.seq, ${fromRow(type, i)})`
    : c === "raw"
      ? `coalesce(${fromRow(type, i)}, e.payload -> 'raw')`
      : c === "last_message_info"
        ? `case when (r ->> ${LAST_MESSAGE_FROM_RAW_INDEX})::boolean then e.payload -> 'raw' -> 'last_message_info' else ${fromRow(type, i)} end`
        : fromRow(type, i)
).join(", ")}
  from jsonb_array_elements(${chatsJson}::text::jsonb) r
  left join (select chat_id, max(seq) as seq from appended group by chat_id) a on a.chat_id = r ->> ${CHAT_ID_INDEX}
  left join appended e on e.dedupe_key = r ->> ${RAW_FROM_INDEX}`

/** Where `stagePart` leaves part `i` of a page for `appendStagedSql`: settings local to the transaction. */
const staged = (i: number, what: "events" | "chats" | "chat_events") => `current_setting('cliq_mirror.${what}_${i}')`

/**
 * Hands a part of a page to the transaction ahead of its append (`appendStagedSql`): its events (`eventRowsJson`), its
 * changed chats (`chatRowsJson`) and how many chat events it holds, as settings local to the transaction. This is
 * the statement that carries the page's bytes; it takes no lock, so however long they take to arrive, no other writer
 * waits. (The driver stops pipelining behind a message larger than the socket's buffer: sent with the append, the
 * page would make the COMMIT behind it wait for the append's answer, with the append lock held.)
 */
export const stagePartSql = (tx: TxSql, i: number, eventsJson: string, chatsJson: string, chatEvents: number) =>
  tx
    .unsafe(
      `select set_config('cliq_mirror.events_${i}', $1, true), set_config('cliq_mirror.chats_${i}', $2, true),
        set_config('cliq_mirror.chat_events_${i}', $3, true)`,
      [eventsJson, chatsJson, String(chatEvents)]
    )
    .execute()

/**
 * Part `i` of a page as staged by `stagePartSql`, in one short statement without parameters: its events are appended
 * (taking the event log's append lock, `insertEventsLockedSql`) and its chats projected, each chat's `last_seq`
 * becoming the seq of its newest event appended here (else the row's own); a row sent without `raw` takes it from the
 * payload of the event its `raw_from` names (the upstream object crosses the wire and is parsed once). Answers how
 * many events were appended. Fails, aborting the transaction, unless exactly the staged number of them were chat
 * events (dedupe keys `chat:…`): one was appended concurrently, which cannot happen while every writer takes the chat
 * locks; if it ever does, the page rolls back and is re-applied rather than diverge from the log.
 */
export const appendStagedSql = async (tx: TxSql, i: number) => {
  // Sent at once (not on the first `await`), so statements issued one after another reach the server in that order.
  const [row] = await tx
    .unsafe<Array<{ appended: number }>>(
      `with appended as (${insertEventsLockedSql(staged(i, "events"))} returning seq, chat_id, dedupe_key, payload),
     projected as (${UPSERT(fromAppended(staged(i, "chats")))}),
     counted as (select count(*)::int as appended, (count(*) filter (where dedupe_key like 'chat:%'))::int as chat_events
       from appended)
     select case when chat_events = ${staged(i, "chat_events")}::int then appended
       else ('a chat event of this page was appended concurrently: ' || chat_events || ' of '
         || ${staged(i, "chat_events")})::int end as appended
     from counted`
    )
    .execute()
  return { appended: row!.appended }
}
